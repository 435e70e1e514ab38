"""shapes: the `shapes` scenario (issue 16): the same N requests in four shapes against one
server (nginx with canned answers by default), daemon on --client-cpu, everything else on
--server-cpu: (a) batched, N/1000 files of 1,000 lines; (b) N one-request NAME.json drops, all in
incoming/ before the start; (c) N one-request POST /v1/jobs from C keep-alive clients over the
control socket (post_client.py); (d) mixed: a third of each, all at once. Then a profile pass of
batched, drops and posts (N/4 by default) with the daemon under `strace -f -c`: system calls per
request. Writes shapes.md, shapes.json.
"""
import json
import os
import shutil
import socket
import tempfile
import time

from . import PEER_PYTHON
from . import daemon as dmn
from .machine import Measured, cpu_seconds, loadavg, machine_facts, peak_rss_mib, wait_for_quiet
from .report import command_line, header, write_results
from .servers import Emulator, Nginx

import spool_drain  # bench/spool_drain.py: request_line

SHAPES = ("batched", "drops", "posts", "mixed")
PROFILED = ("batched", "drops", "posts")
POST_CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "post_client.py")
SYSCALL_GROUPS = {"fsync+fdatasync": ("fsync", "fdatasync"), "sync_file_range": ("sync_file_range",),
                  "rename*": ("rename", "renameat", "renameat2"), "getdents64": ("getdents64",),
                  "openat": ("openat", "open")}


def plan(shape, n):
    """How many requests go in 1,000-line files, in one-request drops, in posts."""
    if shape == "mixed":
        third = n // 3
        return {"batched": third, "drops": third, "posts": n - 2 * third}
    return {"batched": 0, "drops": 0, "posts": 0, shape: n}


def write_inputs(spool, p):
    """The files waiting before the start (Maildir rule: tmp/ then rename); returns the number of
    1,000-line files and of drops."""
    tmp, incoming = os.path.join(spool, "tmp"), os.path.join(spool, "incoming")
    os.makedirs(tmp, exist_ok=True)
    os.makedirs(incoming, exist_ok=True)
    n, files = 0, 0
    while n < p["batched"]:
        name = f"batch-{files:05}.jsonl"
        count = min(1000, p["batched"] - n)
        with open(os.path.join(tmp, name), "w") as out:
            out.write("".join(spool_drain.request_line(i) + "\n" for i in range(n, n + count)))
        os.rename(os.path.join(tmp, name), os.path.join(incoming, name))
        n, files = n + count, files + 1
    for i in range(n, n + p["drops"]):
        name = f"drop-{i:07}.json"
        with open(os.path.join(tmp, name), "w") as out:
            out.write(spool_drain.request_line(i))
        os.rename(os.path.join(tmp, name), os.path.join(incoming, name))
    return files, p["drops"]


def wait_socket(path, proc, timeout=30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"daemon exited with {proc.returncode} before its control socket was up")
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(path)
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"no control socket at {path} after {timeout} s")


def drained(spool):
    """Nothing left in incoming/ or active/: every input and its outcome are placed."""
    for d in ("incoming", "active"):
        p = os.path.join(spool, d)
        if os.path.isdir(p) and any(not n.startswith(".") for n in os.listdir(p)):
            return False
    return True


def start_posts(args, sock, first, count, work, tag):
    cmd = ["taskset", "-c", str(args.server_cpu), PEER_PYTHON, POST_CLIENT, "--socket", sock,
           "--first", str(first), "--count", str(count), "--clients", str(args.post_clients)]
    return Measured(cmd, stdout_path=os.path.join(work, f"posts-{tag}.out"))


def finish_posts(client):
    text, rc, cpu, rss = client.result()
    if rc != 0:
        raise RuntimeError(f"post client failed ({rc}):\n{text[-3000:]}")
    r = json.loads(text.strip().splitlines()[-1])
    r.update({"client_cpu_s": cpu, "peak_rss_mib": rss})
    return r


def drive(args, server, spool, config, p, work, tag, strace_out):
    """Starts the daemon (and the posts), waits until all is placed; returns the raw figures."""
    log_path = os.path.join(work, f"daemon-shapes-{tag}.log")
    s0 = server.cpu_seconds()
    started = time.monotonic()
    proc = dmn.start(args, config, log_path, strace_out=strace_out)
    client, posts = None, None
    try:
        if p["posts"]:
            wait_socket(os.path.join(work, "control.sock"), proc)
            client = start_posts(args, os.path.join(work, "control.sock"), p["batched"] + p["drops"],
                                 p["posts"], work, tag)
        limit = started + args.daemon_timeout
        while client is not None and not client.poll() or not drained(spool):
            time.sleep(0.1)
            if proc.poll() is not None:
                raise RuntimeError(f"daemon exited with {proc.returncode}; see {log_path}")
            if time.monotonic() > limit:
                raise RuntimeError(f"shape {tag}: not done in {args.daemon_timeout} s; see {log_path}")
        wall = time.monotonic() - started
        pid = dmn.daemon_pid(proc, strace_out is not None)
        cpu, rss, s1 = cpu_seconds(pid), peak_rss_mib(pid), server.cpu_seconds()
        if client is not None:
            posts = finish_posts(client)
    finally:
        if client is not None and not client.poll():
            client.kill()
        dmn.stop_daemon(proc, strace_out is not None)
    return {"wall_seconds_from_start": wall, "daemon_cpu_s": cpu, "peak_rss_mib": rss,
            "server_cpu_s": s1 - s0, "posts": posts}


def run_shape(shape, n, server, args, work, strace_out=None):
    """One shape on a fresh spool and a fresh daemon (and a fresh emulator: an empty ledger)."""
    if isinstance(server, Emulator):
        server.stop()
        server.start()
    p = plan(shape, n)
    spool = os.path.join(work, "spool")
    shutil.rmtree(spool, ignore_errors=True)
    batch_files, drops = write_inputs(spool, p)
    config = dmn.write_config(work, server, args, spool, control_socket=os.path.join(work, "control.sock"))
    tag = shape + ("-strace" if strace_out else "")
    raw = drive(args, server, spool, config, p, work, tag, strace_out)
    o = dmn.read_outcomes(spool)
    shutil.rmtree(spool, ignore_errors=True)
    posts = raw.pop("posts")
    starts = o["accepted"] + ([posts["t_start"]] if posts else [])
    span = (max(o["finished"]) - min(starts)) if o["submitted"] else float("nan")
    ledger = server.ledger()
    r = {"shape": shape, "jobs": n, "plan": p, "batch_files": batch_files, "input_files": batch_files + drops,
         "outcomes": o["outcomes"], "submitted": o["submitted"], "seconds": span, "jobs_per_s": o["submitted"] / span,
         "cpu_ms_per_request": raw["daemon_cpu_s"] * 1000 / n, "p50_ms": dmn.percentile_ms(o["latencies"], 0.5),
         "p99_ms": dmn.percentile_ms(o["latencies"], 0.99), "post_client": posts,
         "ledger": None if ledger is None else ledger["totals"], "ledger_ok": dmn.ledger_check(ledger, n), **raw}
    if strace_out:
        r["syscalls"] = dmn.parse_strace_summary(strace_out)
    return r


def per_request(r):
    """The profile's counts per request: total, the groups, and the ten most frequent calls."""
    calls, n = r["syscalls"], r["jobs"]
    out = {"total": calls.get("total", 0) / n}
    for g, names in SYSCALL_GROUPS.items():
        out[g] = sum(calls.get(x, 0) for x in names) / n
    top = sorted(((c, s) for s, c in calls.items() if s != "total"), reverse=True)[:10]
    out["top"] = [[s, c / n] for c, s in top]
    return out


def check(r):
    problems = []
    if r["outcomes"] != r["jobs"] or r["submitted"] != r["jobs"]:
        problems.append(f"{r['submitted']:,}/{r['jobs']:,} submitted, {r['outcomes']:,} outcomes")
    pc = r.get("post_client")
    if pc and (pc["accepted"] != pc["posts"] or pc["errors"]):
        problems.append(f"posts: {pc['accepted']:,}/{pc['posts']:,} accepted, {pc['errors']} errors")
    if r["ledger_ok"] is False:
        problems.append("LEDGER MISMATCH")
    ledger = {None: "no ledger (nginx)", True: "ledger: 1 job + 1 run each"}.get(r["ledger_ok"], "")
    return "; ".join(problems) or f"{r['submitted']:,}/{r['jobs']:,} submitted; {ledger}"


def run_all(args, server, work, n, n_profile):
    rows, profile = [], []
    for shape in SHAPES:
        la = loadavg()
        r = run_shape(shape, n, server, args, work)
        r["load_before"] = la
        rows.append(r)
        print(json.dumps(r), flush=True)
    for shape in PROFILED if n_profile > 0 else ():
        out = os.path.join(work, f"strace-{shape}.txt")
        r = run_shape(shape, n_profile, server, args, work, strace_out=out)
        r["per_request"] = per_request(r)
        profile.append(r)
        print(json.dumps({"shape": shape, "jobs": n_profile, "per_request": r["per_request"]}), flush=True)
    return rows, profile


def inputs(r):
    p, parts = r["plan"], []
    if r["batch_files"]:
        parts.append(f"{r['batch_files']:,} batch file{'s' if r['batch_files'] != 1 else ''}")
    parts += [f"{p[k]:,} {k}" for k in ("drops", "posts") if p[k]]
    return " + ".join(parts)


def shape_row(r, base):
    pc = r["post_client"]
    client = (f"{pc['client_cpu_s']:.1f} ({100 * pc['client_cpu_s'] / pc['seconds']:.0f}% of its {pc['seconds']:.1f} s)"
              if pc else "-")
    post_lat = f"{pc['p50_ms']:.0f} / {pc['p99_ms']:.0f}" if pc else "-"
    return (f"| {r['shape']} | {r['jobs']:,} | {inputs(r)} | "
            f"{r['seconds']:.1f} | {r['wall_seconds_from_start']:.1f} | {r['jobs_per_s']:,.0f} | "
            f"**{r['jobs_per_s'] / base:.2f}** | {r['cpu_ms_per_request']:.3f} | {r['peak_rss_mib']:.1f} | "
            f"{r['p50_ms']:.0f} / {r['p99_ms']:.0f} | {post_lat} | {r['server_cpu_s']:.1f} | {client} | "
            f"{pc['http_503'] if pc else '-'} | {check(r)} |")


def profile_row(r):
    q = r["per_request"]
    top = ", ".join(f"{s} {v:.2f}" for s, v in q["top"][:6])
    return (f"| {r['shape']} | {r['jobs']:,} | {q['total']:.1f} | {q['fsync+fdatasync']:.2f} | "
            f"{q['sync_file_range']:.2f} | {q['rename*']:.2f} | {q['getdents64']:.2f} | {q['openat']:.2f} | {top} |")


def report_lines(results, args, facts, load_before):
    rows, base = results["shapes"], results["shapes"][0]["jobs_per_s"]
    lines = header(f"Request shapes: the same {results['jobs']:,} requests batched, dropped, posted, mixed "
                   f"({results['server']})", args, facts, load_before)
    lines += [f"One {results['server']} (canned answers) on CPU {args.server_cpu}; the daemon on CPU {args.client_cpu} "
              f"with {args.connections} connections, max_inflight {args.max_inflight}, `state.fsync = true`, the "
              "control socket on; a fresh spool and daemon per shape. The posting client (post_client.py: asyncio, "
              f"{args.post_clients} keep-alive connections, one request per POST, 503s waited out by Retry-After) "
              f"and this script run on CPU {args.server_cpu} beside the server. Seconds = first acceptance (or the "
              "first post) to the last run acknowledged, from the outcome records; wall = daemon start to the last "
              "file placed. Daemon CPU from /proc (user+system). POST answer = from writing a POST to reading its 202 "
              "(the request is durable by then); with C clients posting one at a time, posts/s <= C / that time.", "",
              "| shape | requests | inputs | seconds | wall s | jobs/s | x batched | daemon CPU ms / request | "
              "peak RSS MiB | accept -> run p50 / p99 ms | POST answer p50 / p99 ms | server CPU s | "
              "post client CPU s | 503s | check |",
              "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    lines += [shape_row(r, base) for r in rows]
    if results["profile"]:
        lines += ["", f"Profile: the daemon under `strace -f -c` (all its threads; start-up and shutdown included), "
                  f"{results['profile'][0]['jobs']:,} requests per shape; system calls per request "
                  "(rename* = rename + renameat + renameat2; openat includes open):", "",
                  "| shape | requests | syscalls | fsync+fdatasync | sync_file_range | rename* | getdents64 | openat | "
                  "most frequent |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
        lines += [profile_row(r) for r in results["profile"]]
    lines += ["", f"Load average after the run: {' '.join(f'{x:.2f}' for x in results['load_after'])}", ""]
    return lines


def shapes(args):
    facts = machine_facts()
    os.makedirs(args.out, exist_ok=True)
    load_before = wait_for_quiet(args.max_load, args.max_wait)
    n = args.shapes_jobs
    n_profile = n // 4 if args.profile_jobs < 0 else args.profile_jobs
    work = tempfile.mkdtemp(prefix="submit-bench-shapes-")
    affinity = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {args.server_cpu})  # keep this script's polling off the daemon's core
    server = Nginx(work, args.server_cpu) if args.shapes_server == "nginx" else \
        Emulator(work, args.server_cpu, args.bin)
    try:
        server.start()
        rows, profile = run_all(args, server, work, n, n_profile)
    finally:
        server.stop()
        os.sched_setaffinity(0, affinity)
        if args.keep:
            print(f"# kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    results = {"facts": facts, "load_before": load_before, "command": command_line(), "server": server.name,
               "jobs": n, "post_clients": args.post_clients, "connections": args.connections,
               "max_inflight": args.max_inflight, "shapes": rows, "profile": profile, "load_after": loadavg()}
    for r in rows:
        r["ratio_to_batched"] = r["jobs_per_s"] / rows[0]["jobs_per_s"]
    lines = report_lines(results, args, facts, load_before)
    write_results(args.out, "shapes", lines, results)
    print("\n".join(lines))
    return results
