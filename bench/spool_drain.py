#!/usr/bin/env python3
"""spool_drain.py: how fast the daemon drains a spool backlog, and with how much memory.

Writes FILES .jsonl files of LINES requests each into a fresh spool, starts bytenite-emulator
(pinned to CPU 0) and bytenite-submitd (pinned to CPU 1) on 127.0.0.1, and times the daemon
from its start (the files are already waiting) until every input has its outcome in done/.
Reports jobs/s, the daemon's CPU seconds per 1,000 jobs (from /proc/PID/stat) and its peak RSS
(VmHWM from /proc/PID/status), and checks the emulator's ledger: one job and one run per
request. Several configurations can be compared side by side in one invocation.

Usage:
  bench/spool_drain.py --files 10 --lines 1000                 # 10k requests, journal fsync on
  bench/spool_drain.py --files 10 --lines 1000 --fsync both    # fsync on and off, same run
  bench/spool_drain.py --files 1000 --lines 1000               # the 1M backlog
Options: --bin DIR (default build/bin), --connections N (32), --max-inflight N (256),
         --repeat N (1), --keep (keep the work directory).
Only loopback traffic; needs taskset (util-linux) and python3, both in Debian.
"""
import argparse
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

API_KEY = "bench-key"


def request_line(n):
    return json.dumps({
        "requestId": f"bench-{n}",
        "templateId": "img-gen-diffusers",
        "name": f"bench job {n}",
        "dataSource": {"dataSourceDescriptor": "url",
                       "params": {"@type": "type.googleapis.com/bytenite.data_source.HttpDataSource",
                                  "url": f"https://storage.example.com/in-{n}.txt"}},
        "dataDestination": {"dataSourceDescriptor": "bucket"},
        "params": {"partitioner": {"numImages": 2}, "app": {"prompt": "A sunset"}, "assembler": {}},
        "config": {"taskTimeout": 3600, "jobTimeout": 86400, "isTestJob": True},
    }, separators=(",", ":"))


def write_backlog(spool, files, lines):
    tmp, incoming = os.path.join(spool, "tmp"), os.path.join(spool, "incoming")
    os.makedirs(tmp, exist_ok=True)
    os.makedirs(incoming, exist_ok=True)
    n = 0
    for f in range(files):
        name = f"backlog-{f:05}.jsonl"
        with open(os.path.join(tmp, name), "w") as out:
            for _ in range(lines):
                out.write(request_line(n))
                out.write("\n")
                n += 1
        os.rename(os.path.join(tmp, name), os.path.join(incoming, name))


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def proc_peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def ledger_summary(port, ca):
    ctx = ssl.create_default_context(cafile=ca)
    with urllib.request.urlopen(f"https://localhost:{port}/_emulator/ledger/summary", context=ctx) as r:
        return json.load(r)


def run_once(args, fsync, work):
    spool = os.path.join(work, f"spool-{fsync}")
    shutil.rmtree(spool, ignore_errors=True)
    write_backlog(spool, args.files, args.lines)
    emu_dir = os.path.join(work, f"emulator-{fsync}")
    os.makedirs(emu_dir, exist_ok=True)
    ready = os.path.join(emu_dir, "ready.json")
    emulator = subprocess.Popen(
        ["taskset", "-c", "0", os.path.join(args.bin, "bytenite-emulator"), "--listen", "127.0.0.1:0",
         "--threads", "1", "--cert-dir", emu_dir, "--ready-file", ready, "--api-key", API_KEY,
         "--job-duration-ms", "600000", "--quiet"], stdout=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if os.path.exists(ready) and os.path.getsize(ready) > 0:
                break
            time.sleep(0.05)
        info = json.load(open(ready))
        port, ca = info["port"], info["caFile"]
        with open(os.path.join(work, "api_key"), "w") as k:
            k.write(API_KEY + "\n")
        config = os.path.join(work, f"config-{fsync}.toml")
        with open(config, "w") as c:
            c.write(f'[api]\nbase_url = "https://localhost:{port}/v1"\nca_file = "{ca}"\n'
                    f'api_key_file = "{os.path.join(work, "api_key")}"\nconnections = {args.connections}\n'
                    f'max_inflight = {args.max_inflight}\n'
                    f'[spool]\ndir = "{spool}"\n[state]\nfsync = {"true" if fsync == "on" else "false"}\n'
                    f'[metrics]\nlisten = ""\n')
        log = open(os.path.join(work, f"daemon-{fsync}.log"), "w")
        started = time.monotonic()
        daemon = subprocess.Popen(["taskset", "-c", "1", os.path.join(args.bin, "bytenite-submitd"),
                                   "--config", config], stderr=log)
        done_dir = os.path.join(spool, "done")
        try:
            while True:
                time.sleep(0.2)
                if daemon.poll() is not None:
                    raise RuntimeError(f"daemon exited with {daemon.returncode}; see {log.name}")
                if os.path.isdir(done_dir):
                    finished = sum(1 for n in os.listdir(done_dir) if n.endswith(".outcome.jsonl"))
                    if finished == args.files:
                        break
            elapsed = time.monotonic() - started
            cpu = proc_cpu_seconds(daemon.pid)
            rss = proc_peak_rss_mib(daemon.pid)
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=60)
        summary = ledger_summary(port, ca)
        jobs = args.files * args.lines
        failed = os.listdir(os.path.join(spool, "failed"))
        ok = (summary["totals"]["jobs"] == jobs and summary["totals"]["runs"] == jobs
              and summary["totals"]["rejectedRuns"] == 0 and not failed)
        return {"fsync": fsync, "jobs": jobs, "seconds": elapsed, "jobs_per_s": jobs / elapsed,
                "cpu_s_per_1000": cpu / jobs * 1000, "peak_rss_mib": rss,
                "ledger_ok": ok, "runs": summary["totals"]["runs"]}
    finally:
        emulator.send_signal(signal.SIGTERM)
        emulator.wait(timeout=30)
        shutil.rmtree(spool, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--files", type=int, default=10)
    p.add_argument("--lines", type=int, default=1000)
    p.add_argument("--fsync", choices=["on", "off", "both"], default="on")
    p.add_argument("--bin", default="build/bin")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--max-inflight", type=int, default=256)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()
    work = tempfile.mkdtemp(prefix="spool-drain-")
    modes = ["on", "off"] if args.fsync == "both" else [args.fsync]
    results = []
    try:
        for r in range(args.repeat):
            for mode in modes:
                res = run_once(args, mode, work)
                results.append(res)
                print(json.dumps(res), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print("| fsync | requests | seconds | jobs/s | CPU s / 1000 jobs | peak RSS MiB | ledger |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in results:
        print(f"| {r['fsync']} | {r['jobs']:,} | {r['seconds']:.1f} | {r['jobs_per_s']:,.0f} | "
              f"{r['cpu_s_per_1000']:.3f} | {r['peak_rss_mib']:.1f} | {'one job + one run each' if r['ledger_ok'] else 'MISMATCH'} |")
    return 0 if all(r["ledger_ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
