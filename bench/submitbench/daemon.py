"""daemon: running bytenite-submitd for a benchmark: its config, its process (pinned, optionally
under `strace -f -c`), waiting for its outcome files, and reading them back.

Every scenario's daemon uses the same config: journal fsync on, the pool size and max_inflight
of the options, no metrics endpoint; `shapes` adds the control socket.
"""
import datetime
import json
import os
import signal
import subprocess
import time

from . import API_KEY
from .machine import children_of, stop


def write_config(work, server, args, spool, control_socket=None, name="daemon.toml", metrics_listen="", extra_api=""):
    key = os.path.join(work, "api_key")
    with open(key, "w") as k:
        k.write(API_KEY + "\n")
    config = os.path.join(work, name)
    with open(config, "w") as c:
        c.write(f'[api]\nbase_url = "https://localhost:{server.port}/v1"\nca_file = "{server.ca}"\n'
                f'api_key_file = "{key}"\nconnections = {args.connections}\n'
                f'max_inflight = {args.max_inflight}\n{extra_api}'
                f'[spool]\ndir = "{spool}"\n[state]\nfsync = true\n[metrics]\nlisten = "{metrics_listen}"\n')
        if control_socket:
            c.write(f'[control]\nsocket = "{control_socket}"\n')
    return config


def start(args, config, log_path, strace_out=None):
    """The daemon on --client-cpu; under `strace -f -c -o strace_out` when given."""
    cmd = ["taskset", "-c", str(args.client_cpu)]
    if strace_out:
        cmd += ["strace", "-f", "-c", "-o", strace_out]
    cmd += [os.path.join(args.bin, "bytenite-submitd"), "--config", config]
    return subprocess.Popen(cmd, stderr=open(log_path, "w"))


def daemon_pid(proc, traced):
    """The daemon's own pid (taskset execs; strace forks the daemon as its child)."""
    if not traced:
        return proc.pid
    kids = children_of(proc.pid)
    return kids[0] if kids else proc.pid


def stop_daemon(proc, traced, timeout=60):
    if not traced:
        stop(proc, timeout=timeout)
        return
    if proc.poll() is None:
        for c in children_of(proc.pid):
            os.kill(c, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)  # strace writes its summary when the daemon has exited
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def count_placed(spool):
    """Outcome files placed in done/ and failed/."""
    placed = 0
    for d in ("done", "failed"):
        p = os.path.join(spool, d)
        if os.path.isdir(p):
            placed += sum(1 for n in os.listdir(p) if n.endswith(".outcome.jsonl"))
    return placed


def wait_placed(proc, spool, expected, timeout, log_path, interval=0.1, also=None, what="its requests"):
    """Polls until `expected()` outcome files are placed; `also()` is called on every round."""
    limit = time.monotonic() + timeout
    while True:
        time.sleep(interval)
        if also:
            also()
        if proc.poll() is not None:
            raise RuntimeError(f"daemon exited with {proc.returncode}; see {log_path}")
        if time.monotonic() > limit:
            raise RuntimeError(f"daemon did not finish {what} in {timeout} s")
        want = expected()
        if want is not None and (os.path.isdir(os.path.join(spool, "done"))
                                 or os.path.isdir(os.path.join(spool, "failed"))):
            if count_placed(spool) == want:
                return


def parse_time(s):
    return datetime.datetime.fromisoformat(s[:-1] if s.endswith("Z") else s).timestamp()


def read_outcomes(spool):
    """Every outcome line in done/ and failed/: counts, acceptance and finish times, latencies."""
    accepted, finished, lat, submitted, outcomes = [], [], [], 0, 0
    for d in ("done", "failed"):
        p = os.path.join(spool, d)
        if not os.path.isdir(p):
            continue
        for name in os.listdir(p):
            if not name.endswith(".outcome.jsonl"):
                continue
            with open(os.path.join(p, name)) as f:
                for line in f:
                    o = json.loads(line)
                    outcomes += 1
                    if o["status"] != "submitted":
                        continue
                    submitted += 1
                    a, b = parse_time(o["acceptedAt"]), parse_time(o["finishedAt"])
                    accepted.append(a)
                    finished.append(b)
                    lat.append(b - a)
    lat.sort()
    return {"outcomes": outcomes, "submitted": submitted, "accepted": accepted, "finished": finished,
            "latencies": lat}


def percentile_ms(lat, q):
    return lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else float("nan")


def ledger_check(ledger, jobs):
    if ledger is None:
        return None
    t = ledger["totals"]
    return t["jobs"] == jobs and t["runs"] == jobs and t["rejectedRuns"] == 0


def parse_strace_summary(path):
    """`strace -c` table -> {syscall: calls} (the 'total' row included)."""
    calls = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 5 or not parts[0][0].isdigit():
                continue
            try:
                calls[parts[-1]] = int(parts[3])
            except ValueError:
                continue
    return calls
