"""compare: the `compare` scenario: per server (nginx with canned answers, the emulator), wrk's
limit, the daemon, the aiohttp peer and (when Go and bench/go_peer/ are there) the Go peer,
side by side in one run. Writes compare.md, compare.json, compare.png.
"""
import json
import os
import shutil
import tempfile

from . import clients
from .machine import loadavg, machine_facts, wait_for_quiet
from .report import command_line, fmt, header, plot_compare, write_results
from .servers import Emulator, Nginx


def run_server(name, args, work, go_exe, notes):
    """wrk, then the daemon, then the peers against one server; a fresh emulator per client.
    A failing Go peer is noted (notes), not fatal: it is another helper's program."""
    server = Nginx(work, args.server_cpu) if name == "nginx" else Emulator(work, args.server_cpu, args.bin)
    runs = []

    def fresh():
        if name == "emulator":  # a fresh emulator per client: an empty job store and ledger
            server.stop()
            server.start()
        return loadavg()

    try:
        server.start()
        la = loadavg()
        w = clients.run_wrk(server, args, args.wrk_seconds, work)
        w["load_before"] = la
        runs.append(w)
        print(json.dumps(w), flush=True)
        jobs = args.daemon_jobs or max(1000, int(w["jobs_per_s"] * args.daemon_seconds / 1000 + 1) * 1000)
        la = fresh()
        d = clients.run_daemon(server, args, jobs, work)
        d["load_before"] = la
        runs.append(d)
        print(json.dumps(d), flush=True)
        peers = [("aiohttp", None)] + ([("go", go_exe)] if go_exe else [])
        for label, exe in peers:
            la = fresh()
            try:
                p = clients.run_peer(server, args, args.peer_seconds, work, label=label, exe=exe)
            except (RuntimeError, ValueError, KeyError, IndexError) as e:
                if label == "aiohttp":
                    raise
                notes.append(f"{name}: the {label} peer failed: {' '.join(str(e).split())[:500]}")
                print(f"# {notes[-1]}", flush=True)
                continue
            p["load_before"] = la
            runs.append(p)
            print(json.dumps(p), flush=True)
    finally:
        server.stop()
    return runs


def table_row(srv, r):
    if r["client"] == "wrk":
        lat = (f"{r['request_p50_ms']:.2f} (req)", f"{r['request_p99_ms']:.2f} (req)")
        check = f"{r['runs_acknowledged']:,} runs acked"
    else:
        lat = (fmt(r["p50_ms"], ".1f"), fmt(r["p99_ms"], ".1f"))
        check = {None: "outcomes only", True: "ledger: 1 job + 1 run each", False: "LEDGER MISMATCH"}[
            r.get("ledger_ok")]
        if r["client"] == "daemon":
            check = f"{r['submitted']:,}/{r['jobs']:,} submitted; " + check
    return (f"| {srv['server']} | {r['client']} | {r['jobs']:,} | {r['seconds']:.1f} | "
            f"{r['jobs_per_s']:,.0f} | {r['ratio_to_limit']:.2f} | {r['cpu_s_per_1000']:.3f} | "
            f"{r['server_cpu_s']:.1f} ({100 * r['server_cpu_s'] / r['seconds']:.0f}%) | "
            f"{r['other_cpu_s']:.1f} | {lat[0]} | {lat[1]} | {r['peak_rss_mib']:.1f} | "
            f"{r['errors']:,} | {check} |")


def ratios(srv):
    byc = {r["client"]: r for r in srv["runs"]}
    out = []
    if "daemon" in byc and "aiohttp" in byc:
        out.append(f"- {srv['server']}: daemon / wrk limit = **{byc['daemon']['ratio_to_limit']:.2f}**, "
                   f"daemon / aiohttp peer = **{byc['daemon']['jobs_per_s'] / byc['aiohttp']['jobs_per_s']:.1f}x**")
        srv["daemon_over_limit"] = byc["daemon"]["ratio_to_limit"]
        srv["daemon_over_peer"] = byc["daemon"]["jobs_per_s"] / byc["aiohttp"]["jobs_per_s"]
    if "daemon" in byc and "go" in byc:
        srv["daemon_over_go"] = byc["daemon"]["jobs_per_s"] / byc["go"]["jobs_per_s"]
        out.append(f"- {srv['server']}: daemon / go peer = **{srv['daemon_over_go']:.1f}x** "
                   f"(go / wrk limit = {byc['go']['ratio_to_limit']:.2f})")
    return out


def report_lines(results, args, facts, load_before):
    go = results["go_peer"]["built"]
    title = "Side by side: wrk limit, bytenite-submitd, aiohttp peer" + (", Go peer" if go else "")
    who = "the daemon and the peers" if go else "the daemon and the aiohttp peer"
    lines = header(title, args, facts, load_before)
    lines += [f"Every client uses {args.connections} TLS keep-alive connections; {who} "
              f"keep {args.max_inflight} jobs in flight over them; the daemon journals with `state.fsync = true`. "
              "jobs/s of wrk = requests/s / 4. Latency = one job from acceptance (daemon) or its first call (peer) "
              "to its run acknowledged; for wrk the per-request latency is given instead. CPU = the client's own "
              "user+system seconds; server CPU = the server's seconds during that client's run; "
              "other CPU = what the rest of the machine used meanwhile.", "",
              "| server | client | jobs | seconds | jobs/s | x wrk limit | client CPU s / 1000 jobs | "
              "server CPU s (% of run) | other CPU s | p50 ms | p99 ms | peak RSS MiB | errors | check |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    summary = []
    for srv in results["servers"]:
        limit = next(r["jobs_per_s"] for r in srv["runs"] if r["client"] == "wrk")
        for r in srv["runs"]:
            r["ratio_to_limit"] = r["jobs_per_s"] / limit
            lines.append(table_row(srv, r))
        summary += ratios(srv)
    lines += ["", "Ratios (same invocation):", ""] + summary
    if not go and results["go_peer"]["why_not"]:
        lines += ["", f"Go peer not run: {results['go_peer']['why_not']}."]
    lines += [""] + [f"- {n}" for n in results["notes"]] if results["notes"] else []
    lines += ["", f"Load average after the run: {' '.join(f'{x:.2f}' for x in results['load_after'])}", "",
              "Commands (run by the script, ports picked at run time):", ""]
    for srv in results["servers"]:
        for r in srv["runs"]:
            lines.append(f"- {srv['server']} / {r['client']}: `{r['command']}`")
    lines.append("")
    return lines


def compare(args, servers=("nginx", "emulator")):
    facts = machine_facts()
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="submit-bench-")
    go_exe, why_not = (None, "turned off") if not getattr(args, "go_peer", True) else clients.build_go_peer(work)
    if why_not:
        print(f"# Go peer not run: {why_not}", flush=True)
    load_before = wait_for_quiet(args.max_load, args.max_wait)
    print(f"# load average before: {load_before}", flush=True)
    results = {"facts": facts, "load_before": load_before, "connections": args.connections,
               "max_inflight": args.max_inflight, "server_cpu": args.server_cpu, "client_cpu": args.client_cpu,
               "command": command_line(), "go_peer": {"built": bool(go_exe), "why_not": why_not}, "notes": [], "servers": []}
    try:
        for name in servers:
            results["servers"].append({"server": name,
                                       "runs": run_server(name, args, work, go_exe, results["notes"])})
    finally:
        if args.keep:
            print(f"# kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    results["load_after"] = loadavg()
    lines = report_lines(results, args, facts, load_before)
    write_results(args.out, "compare", lines, results)
    plotted = plot_compare(results, args.out)
    print("\n".join(lines))
    print(f"# wrote {args.out}/compare.md, compare.json" + (", compare.png" if plotted else ""))
    return results
