"""clients: the clients under test: wrk (the load-generator limit), the daemon draining a
pre-filled spool (run_daemon), and the peers (bench/aiohttp_peer.py; the Go twin in
bench/go_peer/, built into the run's work directory when Go and its source are there).
"""
import json
import os
import re
import shutil
import subprocess
import time

from . import API_KEY, GO, GO_PEER_DIR, HERE, PEER_PYTHON
from . import daemon as dmn
from .machine import cpu_seconds, machine_busy_seconds, peak_rss_mib, run_measured

import spool_drain  # bench/spool_drain.py: write_backlog


def parse_wrk_latency(text, pct):
    m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if not m:
        return float("nan")
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]


def run_wrk(server, args, seconds, work):
    env = dict(os.environ, BYTENITE_API_KEY=API_KEY)
    env.pop("BYTENITE_TOKEN", None)
    cmd = ["taskset", "-c", str(args.client_cpu), "wrk", "-t1", f"-c{args.connections}", f"-d{seconds}s",
           "--latency", "-s", os.path.join(HERE, "wrk", "submit_cycle.lua"), f"https://127.0.0.1:{server.port}"]
    s0, m0 = server.cpu_seconds(), machine_busy_seconds()
    text, rc, cpu, rss = run_measured(cmd, env=env, timeout=seconds + 30,
                                      stdout_path=os.path.join(work, f"wrk-{server.name}-{args.connections}.out"))
    s1, m1 = server.cpu_seconds(), machine_busy_seconds()
    if rc != 0:
        raise RuntimeError(f"wrk failed ({rc}):\n{text}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    runs = int(re.search(r"runs acknowledged: (\d+)", text).group(1))
    non200 = int(re.search(r"non-200 answers: (\d+)", text).group(1))
    sock_err = re.search(r"Socket errors: (.*)", text)
    dur = float(re.search(r"requests in ([\d.]+)(ms|s|m)", text).group(1))
    unit = re.search(r"requests in ([\d.]+)(ms|s|m)", text).group(2)
    dur *= {"ms": 0.001, "s": 1.0, "m": 60.0}[unit]
    return {"client": "wrk", "requests_per_s": rps, "jobs_per_s": rps / 4, "runs_acknowledged": runs,
            "runs_per_s": runs / dur, "jobs": runs, "seconds": dur, "errors": non200,
            "socket_errors": sock_err.group(1).strip() if sock_err else "",
            "cpu_s_per_1000": cpu / max(runs, 1) * 1000, "client_cpu_s": cpu, "peak_rss_mib": rss,
            "request_p50_ms": parse_wrk_latency(text, 50), "request_p99_ms": parse_wrk_latency(text, 99),
            "p50_ms": None, "p99_ms": None, "server_cpu_s": s1 - s0,
            "other_cpu_s": (m1 - m0) - cpu - (s1 - s0), "command": " ".join(cmd[3:])}


def run_daemon(server, args, jobs, work, lines_per_file=1000):
    """N requests in files of lines_per_file waiting in a fresh spool before the daemon starts;
    timed from the first acceptance to the last run acknowledged (the outcome records)."""
    spool = os.path.join(work, "spool")
    shutil.rmtree(spool, ignore_errors=True)
    files = max(1, (jobs + lines_per_file - 1) // lines_per_file)
    lines = jobs // files
    jobs = files * lines
    spool_drain.write_backlog(spool, files, lines)
    config = dmn.write_config(work, server, args, spool)
    log_path = os.path.join(work, f"daemon-{server.name}-{args.connections}.log")
    s0, m0 = server.cpu_seconds(), machine_busy_seconds()
    started = time.monotonic()
    daemon = dmn.start(args, config, log_path)
    try:
        dmn.wait_placed(daemon, spool, lambda: files, args.daemon_timeout, log_path, what=f"{jobs} requests")
        wall = time.monotonic() - started
        cpu = cpu_seconds(daemon.pid)
        rss = peak_rss_mib(daemon.pid)
        s1, m1 = server.cpu_seconds(), machine_busy_seconds()
    finally:
        dmn.stop_daemon(daemon, False)
    o = dmn.read_outcomes(spool)
    submitted, lat = o["submitted"], o["latencies"]
    span = (max(o["finished"]) - min(o["accepted"])) if submitted else float("nan")
    ledger = server.ledger()
    shutil.rmtree(spool, ignore_errors=True)
    return {"client": "daemon", "jobs": jobs, "outcomes": o["outcomes"], "submitted": submitted,
            "seconds": span, "wall_seconds_from_start": wall, "jobs_per_s": submitted / span,
            "cpu_s_per_1000": cpu / jobs * 1000, "client_cpu_s": cpu, "peak_rss_mib": rss,
            "p50_ms": dmn.percentile_ms(lat, 0.50), "p99_ms": dmn.percentile_ms(lat, 0.99),
            "errors": jobs - submitted,
            "ledger": None if ledger is None else ledger["totals"], "ledger_ok": dmn.ledger_check(ledger, jobs),
            "server_cpu_s": s1 - s0, "other_cpu_s": (m1 - m0) - cpu - (s1 - s0),
            "connections": args.connections, "max_inflight": args.max_inflight, "lines_per_file": lines,
            "command": f"bytenite-submitd (connections={args.connections}, max_inflight={args.max_inflight}, "
                       f"state.fsync=true; {files} files x {lines} requests)"}


def build_go_peer(work):
    """Builds bench/go_peer into work/go_peer when /usr/bin/go and its main.go exist.
    Returns (path or None, why not)."""
    if not os.access(GO, os.X_OK):
        return None, f"no {GO}"
    if not os.path.exists(os.path.join(GO_PEER_DIR, "main.go")):
        return None, "no bench/go_peer/main.go"
    exe = os.path.join(work, "go_peer")
    env = dict(os.environ, GOCACHE=os.path.join(work, "gocache"), GOPROXY="off", GOFLAGS="-mod=mod")
    print("# building bench/go_peer", flush=True)
    r = subprocess.run([GO, "build", "-o", exe, "."], cwd=GO_PEER_DIR, env=env, capture_output=True, text=True)
    if r.returncode != 0 or not os.access(exe, os.X_OK):
        return None, f"go build failed ({r.returncode}): {r.stderr.strip()[-2000:]}"
    return exe, ""


def run_peer(server, args, seconds, work, label="aiohttp", exe=None):
    """A peer (aiohttp_peer.py, or the Go twin's binary `exe` with label "go") for `seconds`."""
    if label == "aiohttp":
        prog, shown = [PEER_PYTHON, os.path.join(HERE, "aiohttp_peer.py")], [PEER_PYTHON, "bench/aiohttp_peer.py"]
    else:
        prog, shown = [exe], ["bench/go_peer (go build)"]
    flags = ["--base-url", f"https://localhost:{server.port}/v1", "--ca", server.ca, "--api-key", API_KEY,
             "--connections", str(args.connections), "--concurrency", str(args.max_inflight),
             "--duration", str(seconds)]
    cmd = ["taskset", "-c", str(args.client_cpu)] + prog + flags
    s0, m0 = server.cpu_seconds(), machine_busy_seconds()
    led0 = server.ledger()
    out_name = "peer" if label == "aiohttp" else f"peer-{label}"
    text, rc, cpu, rss = run_measured(cmd, timeout=seconds + 120,
                                      stdout_path=os.path.join(work, f"{out_name}-{server.name}-{args.connections}.out"))
    s1, m1 = server.cpu_seconds(), machine_busy_seconds()
    if rc != 0:
        raise RuntimeError(f"{label} peer failed ({rc}):\n{text}")
    r = json.loads(text.strip().splitlines()[-1])
    led1 = server.ledger()
    ledger_ok = None
    if led1 is not None:
        ledger_ok = (led1["totals"]["runs"] - led0["totals"]["runs"] == r["jobs"]
                     and led1["totals"]["rejectedRuns"] == led0["totals"]["rejectedRuns"])
    r.update({"client": label, "cpu_s_per_1000": cpu / max(r["jobs"], 1) * 1000, "client_cpu_s": cpu,
              "peak_rss_mib": rss, "server_cpu_s": s1 - s0, "other_cpu_s": (m1 - m0) - cpu - (s1 - s0),
              "ledger_ok": ledger_ok, "command": " ".join(shown + flags)})
    return r
