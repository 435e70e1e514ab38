"""fleet: the JetStream fleet (issue 20), two scenarios, each on a fresh three-node NATS cluster
(nats-server, JetStream file storage, R3 streams) on 127.0.0.1, with the requests published
before the daemons start and the rate taken from the outcome records (first acceptedAt to last
finishedAt), read back from the outcome stream by bench/jsbench/js_bench_tool:

  fleet-scale  The emulator --latency-ms away (50), each daemon api.connections = 32: one, two
               and three daemons, each with --fleet-jobs-per-daemon requests of its own share;
               jobs/s and the ratio to one daemon. Ledger: one job and one run per request.
  fleet-rate   nginx with canned answers: one daemon on the R3 stream, then the same requests
               through the spool (files of 1,000) in the same run; jobs/s side by side, and
               where the CPU went: per thread of the daemon (the I/O thread, js-fetch,
               js-settle, the journal's), nats-server, nginx.

Writes fleet-scale.md/.json or fleet-rate.md/.json.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time

from . import daemon as dmn
from .clients import run_daemon
from .machine import free_port, loadavg, machine_facts, wait_for_quiet
from .report import header, write_results
from .servers import Emulator, Nginx

NATS_SERVER = "/usr/sbin/nats-server"
FLEET = "0f6d1a52-5c3e-4c1b-9a7e-2b8f3c4d5e6f"


class NatsCluster:
    """Three nats-server nodes (JetStream, file storage), pinned to `cpu`."""

    def __init__(self, work, cpu):
        self.dir, self.cpu, self.procs = os.path.join(work, "nats"), cpu, []
        self.ports = [free_port() for _ in range(3)]
        self.routes = [free_port() for _ in range(3)]

    def urls(self):
        return ",".join(f"nats://127.0.0.1:{p}" for p in self.ports)

    def start(self, tool):
        shutil.rmtree(self.dir, ignore_errors=True)
        routes = ", ".join(f"nats://127.0.0.1:{p}" for p in self.routes)
        for i in range(3):
            d = os.path.join(self.dir, f"n{i}")
            os.makedirs(d)
            conf = os.path.join(d, "nats.conf")
            with open(conf, "w") as c:
                c.write(f'server_name: n{i}\nlisten: 127.0.0.1:{self.ports[i]}\n'
                        f'jetstream {{ store_dir: "{d}/store" }}\n'
                        f'cluster {{ name: bench, listen: 127.0.0.1:{self.routes[i]}, routes: [{routes}] }}\n')
            self.procs.append(subprocess.Popen(["taskset", "-c", str(self.cpu), NATS_SERVER, "-c", conf],
                                               stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "log"), "w")))
        # Ready when an R3 stream can be made (a JetStream leader was elected).
        for _ in range(120):
            if subprocess.run([tool, self.urls(), "setup", "3", "30"], capture_output=True).returncode == 0:
                return
            time.sleep(0.5)
        raise RuntimeError("the NATS cluster did not come up")

    def cpu_seconds(self):
        total = 0.0
        for p in self.procs:
            with open(f"/proc/{p.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def stop(self):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        self.procs = []


def thread_cpu(pid):
    """CPU seconds per thread of `pid`: {name: seconds}; the main (I/O) thread as "io"."""
    out = {}
    tick = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
        except OSError:
            continue
        name = "io" if int(tid) == pid else name
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def fleet_config(work, server, args, index):
    """A fresh spool (and so state) per daemon and round: a journal from an earlier round's
    stream would answer the new stream's sequences with the old outcomes."""
    spool = tempfile.mkdtemp(prefix=f"spool{index}-", dir=work)
    config = dmn.write_config(work, server, args, spool, name=f"daemon{index}.toml")
    with open(config, "a") as c:
        c.write(f'[intake.jetstream]\nservers = [{", ".join(json.dumps(u) for u in args.nats_urls.split(","))}]\n'
                f'stream = "BENCH"\nconsumer = "fleet"\nsubject = "bench.requests.>"\nack_wait_s = 30\n'
                f'namespace = "{FLEET}"\n')
    return config


def run_fleet(server, args, daemons, jobs, work, tool):
    """`jobs` requests published, then `daemons` daemons; the rate from the outcome records."""
    cluster = NatsCluster(work, args.server_cpu)
    cluster.start(tool)
    args.nats_urls = cluster.urls()
    procs = []
    try:
        r = subprocess.run([tool, args.nats_urls, "publish", "0", str(jobs)], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"publishing failed: {r.stdout} {r.stderr}")
        n0, s0 = cluster.cpu_seconds(), server.cpu_seconds()
        for i in range(daemons):
            config = fleet_config(work, server, args, i)
            procs.append(dmn.start(args, config, os.path.join(work, f"daemon{i}.log")))
        r = subprocess.run([tool, args.nats_urls, "outcomes", str(jobs), str(int(args.daemon_timeout))],
                           capture_output=True, text=True)
        seen = json.loads(r.stdout)
        threads = [thread_cpu(p.pid) for p in procs]
        n1, s1 = cluster.cpu_seconds(), server.cpu_seconds()
    finally:
        for p in procs:
            dmn.stop_daemon(p, False)
        cluster.stop()
    span = dmn.parse_time(seen["lastFinished"]) - dmn.parse_time(seen["firstAccepted"])
    ledger = server.ledger()
    return {"daemons": daemons, "jobs": jobs, "outcomes": seen["outcomes"], "submitted": seen["submitted"],
            "outcome_records": seen["records"], "seconds": span, "jobs_per_s": seen["submitted"] / span,
            "daemon_threads_cpu_s": threads, "nats_cpu_s": n1 - n0, "server_cpu_s": s1 - s0,
            "ledger_ok": dmn.ledger_check(ledger, jobs)}


def tool_path(args):
    tool = os.path.join(args.bin, "js_bench_tool")
    if not os.access(tool, os.X_OK) or not os.access(NATS_SERVER, os.X_OK):
        raise SystemExit(f"needs {tool} (cmake --build build) and {NATS_SERVER} (deploy/install-deps.sh)")
    return tool


def fleet_scale(args):
    tool = tool_path(args)
    facts, load = machine_facts(), wait_for_quiet(args.max_load, args.max_wait)
    args.connections, args.max_inflight = 32, 256
    work = tempfile.mkdtemp(prefix="fleet-scale-")
    results = []
    try:
        for daemons in (1, 2, 3):
            emulator = Emulator(work, args.server_cpu, args.bin, latency_ms=args.latency_ms, threads=1)
            emulator.start()
            try:
                r = run_fleet(emulator, args, daemons, daemons * args.fleet_jobs_per_daemon, work, tool)
            finally:
                emulator.stop()
            r["ratio"] = r["jobs_per_s"] / results[0]["jobs_per_s"] if results else 1.0
            results.append(r)
            print(f"# {daemons} daemon(s): {r['jobs_per_s']:.1f} jobs/s (x{r['ratio']:.2f}), ledger ok: {r['ledger_ok']}",
                  flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    lines = header("fleet-scale: daemons sharing one R3 stream, the emulator "
                   f"{args.latency_ms} ms away, 32 connections each", args, facts, load)
    lines += ["| daemons | requests | jobs/s | x one daemon | nats-server CPU s | emulator CPU s | ledger ok |",
              "| ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in results:
        lines.append(f"| {r['daemons']} | {r['jobs']:,} | {r['jobs_per_s']:,.1f} | {r['ratio']:.2f} | "
                     f"{r['nats_cpu_s']:.1f} | {r['server_cpu_s']:.1f} | {r['ledger_ok']} |")
    write_results(args.out, "fleet-scale", lines, results)


def fleet_rate(args):
    tool = tool_path(args)
    facts, load = machine_facts(), wait_for_quiet(args.max_load, args.max_wait)
    work = tempfile.mkdtemp(prefix="fleet-rate-")
    try:
        nginx = Nginx(work, args.server_cpu)
        nginx.start()
        try:
            js = run_fleet(nginx, args, 1, args.fleet_rate_jobs, work, tool)
            spool = run_daemon(nginx, args, args.fleet_rate_jobs, work)
        finally:
            nginx.stop()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    js["ratio_to_spool"] = js["jobs_per_s"] / spool["jobs_per_s"]
    threads = js["daemon_threads_cpu_s"][0]
    lines = header("fleet-rate: one daemon on an R3 stream against nginx's canned answers, and the spool "
                   "in the same run", args, facts, load)
    lines += ["| intake | requests | jobs/s | x spool |", "| --- | ---: | ---: | ---: |",
              f"| JetStream (R3) | {js['jobs']:,} | {js['jobs_per_s']:,.0f} | {js['ratio_to_spool']:.2f} |",
              f"| spool (files of 1,000) | {spool['jobs']:,} | {spool['jobs_per_s']:,.0f} | 1.00 |", "",
              "Where the CPU went in the JetStream run (seconds over the run):", "",
              "| process / thread | CPU s |", "| --- | ---: |"]
    for name, sec in sorted(threads.items(), key=lambda kv: -kv[1]):
        lines.append(f"| daemon: {name} | {sec:.2f} |")
    lines += [f"| nats-server x3 | {js['nats_cpu_s']:.2f} |", f"| nginx | {js['server_cpu_s']:.2f} |",
              f"| (run length) | {js['seconds']:.2f} |"]
    write_results(args.out, "fleet-rate", lines, {"jetstream": js, "spool": spool})
