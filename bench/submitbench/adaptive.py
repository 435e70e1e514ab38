"""adaptive: the `adaptive` scenario (issue 17): daemons against an emulator with an account
limit of R calls/s (--rate-limit, default 400), every answer of the emulator and every daemon's
own limit sampled twice a second. Phases, each with fresh daemons on a backlog that outlasts it
(files of 1,000 requests), everything on one emulator key:

  steady   one daemon, limit R for --phase-seconds (60): accepted calls/s and the 429 share
           after the first 10 s
  step     one daemon: R, then 2R after 30 s (seconds until accepted calls reach 0.9 x 2R),
           halved to R after 40 s more, and halved again to R/2 after 20 s more (for each
           halving, seconds until the daemon's own limit is under 1.1 x the new limit)
  two      two daemons on the key for --phase-seconds: the total, each one's share, 429 share
  outage   one daemon: R for 30 s, then every call 503 for --outage-seconds (60), then R
           again: calls during the outage, seconds until accepted calls are back at 0.9 R

Writes adaptive.md, adaptive.json and adaptive.png (limit, accepted calls/s, 429s/s and each
daemon's limit over time, one panel per phase).
"""
import json
import os
import shutil
import tempfile
import time
import urllib.request

from . import daemon as dmn
from .machine import free_port, loadavg, machine_facts, wait_for_quiet
from .report import command_line, gnuplot, header, write_results
from .servers import Emulator

import spool_drain  # bench/spool_drain.py: write_backlog

PERIOD = 0.5  # seconds between samples


class Daemon:
    """One daemon on its own spool and backlog, with its metrics endpoint on."""

    def __init__(self, work, name, server, args, files):
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir, exist_ok=True)
        spool = os.path.join(self.dir, "spool")
        spool_drain.write_backlog(spool, files, 1000)
        self.port = free_port()
        config = dmn.write_config(self.dir, server, args, spool, metrics_listen=f"127.0.0.1:{self.port}",
                                  extra_api="adaptive = true\n")
        self.proc = dmn.start(args, config, os.path.join(self.dir, "daemon.log"))

    def limit(self):
        """The daemon's api_rate_limit gauge (0: no limit), None when it cannot be read yet."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as r:
                for line in r.read().decode().splitlines():
                    if line.startswith("bytenite_submitd_api_rate_limit "):
                        return float(line.split()[1])
        except OSError:
            return None
        return None

    def stop(self):
        dmn.stop_daemon(self.proc, False)


def sample_phase(emulator, daemons, seconds, events, t0):
    """Samples every PERIOD until `seconds` pass; `events` maps a time to an emulator config."""
    rows, pending = [], sorted(events.items())
    last = emulator.ledger()
    last_t = time.monotonic()
    end = last_t + seconds
    while time.monotonic() < end:
        time.sleep(PERIOD)
        now = time.monotonic()
        while pending and now - t0 >= pending[0][0]:
            emulator.hook("POST", "/_emulator/config", pending.pop(0)[1])
        led = emulator.ledger()
        dt = now - last_t
        refused = led["throttled429"] - last["throttled429"]
        failed = led["faults"]["injected503"] - last["faults"]["injected503"]
        calls = led["requests"] - last["requests"]
        config = emulator.hook("GET", "/_emulator/config")
        rows.append({"t": now - t0, "limit": config["rateLimitPerSecond"], "calls_per_s": calls / dt,
                     "accepted_per_s": (calls - refused - failed) / dt, "refused_per_s": refused / dt,
                     "failed_per_s": failed / dt, "daemon_limits": [d.limit() for d in daemons]})
        last, last_t = led, now
    return rows


def mean(rows, key, t_from, t_to):
    vals = [r[key] for r in rows if t_from <= r["t"] < t_to]
    return sum(vals) / len(vals) if vals else float("nan")


def refused_share(rows, t_from, t_to):
    calls = sum(r["calls_per_s"] for r in rows if t_from <= r["t"] < t_to)
    return sum(r["refused_per_s"] for r in rows if t_from <= r["t"] < t_to) / calls if calls else float("nan")


def first_time(rows, t_from, test):
    for r in rows:
        if r["t"] >= t_from and test(r):
            return r["t"] - t_from
    return None


def run_phase(name, args, work, daemons_n, seconds, events, files):
    """Fresh emulator and daemons for one phase; returns its samples."""
    r = args.rate_limit
    server = Emulator(os.path.join(work, name), args.server_cpu, args.bin, threads=1,
                      extra_args=["--rate-limit", str(r), "--rate-limit-retry-after", "true"])
    server.start()
    daemons = []
    try:
        daemons = [Daemon(os.path.join(work, name), f"daemon{i}", server, args, files) for i in range(daemons_n)]
        print(f"# {name}: {daemons_n} daemon(s), {seconds} s", flush=True)
        rows = sample_phase(server, daemons, seconds, events, time.monotonic())
    finally:
        for d in daemons:
            d.stop()
        server.stop()
    return rows


def summarize(args, phases):
    r = args.rate_limit
    s, st, two, out = phases["steady"], phases["step"], phases["two"], phases["outage"]
    o = args.outage_seconds
    shares = [sum(x["daemon_limits"][i] or 0 for x in two if x["t"] >= 20) for i in range(2)]
    return {
        "steady": {"accepted_over_R": mean(s, "accepted_per_s", 10, 1e9) / r, "refused_share": refused_share(s, 10, 1e9)},
        "step": {"seconds_to_0.9_of_2R": first_time(st, 30, lambda x: x["accepted_per_s"] >= 0.9 * 2 * r),
                 "seconds_under_halved_2R_to_R": first_time(st, 70, lambda x: 0 < (x["daemon_limits"][0] or 0) <= 1.1 * r),
                 "seconds_under_halved_R_to_half": first_time(
                     st, 90, lambda x: 0 < (x["daemon_limits"][0] or 0) <= 1.1 * r / 2)},
        "two": {"total_over_R": mean(two, "accepted_per_s", 20, 1e9) / r, "refused_share": refused_share(two, 20, 1e9),
                "limit_shares": [x / sum(shares) if sum(shares) else float("nan") for x in shares]},
        "outage": {"calls_during": sum(x["calls_per_s"] * PERIOD for x in out if 30 <= x["t"] < 30 + o),
                   "seconds_back_to_0.9R": first_time(out, 30 + o, lambda x: x["accepted_per_s"] >= 0.9 * r)},
    }


def plot(phases, out_dir):
    data = os.path.join(out_dir, "adaptive.dat")
    with open(data, "w") as f:
        for name, rows in phases.items():
            f.write(f'# {name}\n')
            for x in rows:
                lims = [v if v is not None else float("nan") for v in x["daemon_limits"]] + [float("nan")]
                f.write(f'{x["t"]:.2f} {x["limit"]} {x["accepted_per_s"]:.1f} {x["refused_per_s"]:.1f} '
                        f'{lims[0]:.1f} {lims[1]:.1f}\n')
            f.write("\n\n")
    panels = "".join(
        f'set title "{name}"; plot "{data}" index {i} u 1:2 w steps t "account limit", '
        f'"" index {i} u 1:3 w l t "accepted calls/s", "" index {i} u 1:4 w l t "429s/s", '
        f'"" index {i} u 1:5 w l dt 2 t "daemon 1 limit", "" index {i} u 1:6 w l dt 3 t "daemon 2 limit"\n'
        for i, name in enumerate(phases))
    png = os.path.join(out_dir, "adaptive.png")
    gnuplot(f'set terminal pngcairo size 1400,1000; set output "{png}"; set multiplot layout 2,2; '
            'set xlabel "s"; set ylabel "calls/s"; set key top left; set yrange [0:*]\n' + panels + "unset multiplot\n",
            png)


def adaptive(args):
    load_before = wait_for_quiet(args.max_load, args.max_wait)
    work = tempfile.mkdtemp(prefix="submit-bench-adaptive-")
    r, p, o = args.rate_limit, args.phase_seconds, args.outage_seconds
    files = max(2, int(r / 4 * (p + o + 60) / 1000) + 1)  # more than a phase can drain
    try:
        phases = {
            "steady": run_phase("steady", args, work, 1, p, {}, files),
            "step": run_phase("step", args, work, 1, 110, {30: {"rateLimitPerSecond": 2 * r},
                                                           70: {"rateLimitPerSecond": r},
                                                           90: {"rateLimitPerSecond": r / 2}}, files),
            "two": run_phase("two", args, work, 2, p, {}, files),
            "outage": run_phase("outage", args, work, 1, 30 + o + 40, {30: {"fail503": 1.0}, 30 + o: {"fail503": 0.0}},
                                files),
        }
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    summary = summarize(args, phases)
    lines = header("Adaptive rate against an account limit (emulator)", args, machine_facts(), load_before)
    lines += ["", "```json", json.dumps(summary, indent=2), "```", "", f"Load average after the run: {loadavg()}"]
    results = {"command": command_line(), "rate_limit": r, "summary": summary, "phases": phases}
    write_results(args.out, "adaptive", lines, results)
    plot(phases, args.out)
    print("\n".join(lines))
