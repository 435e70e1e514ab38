"""wan: the `wan` scenario: the emulator with added latency, several pool sizes; the daemon (and
wrk, optionally the aiohttp peer) against the Little's-law bound C / (4 x RTT). Files of
--lines-per-file requests (1,000 by default; 1 measures one-request files). Writes wan.md,
wan.json, wan.png.
"""
import json
import os
import shutil
import tempfile

from . import clients
from .machine import loadavg, machine_facts, wait_for_quiet
from .report import command_line, fmt, header, plot_wan, write_results
from .servers import Emulator


def run_pool(c, args, work, rtt, lines_per_file):
    """One pool size: wrk (optional), the daemon, the aiohttp peer (optional), each on a fresh emulator."""
    bound = c / (4 * rtt)
    server = Emulator(work, args.server_cpu, args.bin, latency_ms=args.latency_ms)
    entry = {"connections": c, "max_inflight": args.max_inflight, "bound_jobs_per_s": bound}
    try:
        if args.wan_wrk_seconds > 0:
            server.start()
            entry["wrk"] = clients.run_wrk(server, args, args.wan_wrk_seconds, work)
            server.stop()
            print(json.dumps(entry["wrk"]), flush=True)
        server.start()
        jobs = max(1000, int(bound * args.daemon_seconds / 1000 + 1) * 1000)
        entry["load_before"] = loadavg()
        entry["daemon"] = clients.run_daemon(server, args, jobs, work, lines_per_file=lines_per_file)
        print(json.dumps(entry["daemon"]), flush=True)
        if args.wan_peer_seconds > 0:
            server.stop()
            server.start()
            entry["aiohttp"] = clients.run_peer(server, args, args.wan_peer_seconds, work)
            print(json.dumps(entry["aiohttp"]), flush=True)
    finally:
        server.stop()
    return entry


def report_lines(results, args, facts, load_before):
    lpf = results["lines_per_file"]
    lines = header(f"WAN: the API {args.latency_ms} ms away (emulator --latency-ms {args.latency_ms})",
                   args, facts, load_before)
    lines += [f"Little's-law bound = connections / (4 round trips per job x {args.latency_ms} ms). The daemon keeps "
              "max_inflight jobs in flight over the pool; journal fsync on. wrk and the aiohttp peer run the same "
              "mix with the same connections for reference. The daemon's requests wait in files of "
              f"{lpf:,} request{'s' if lpf != 1 else ''} each (--lines-per-file {lpf}).", "",
              "| connections | max_inflight | bound jobs/s | requests per file | daemon jobs | daemon s | daemon jobs/s | "
              "daemon / bound | p50 ms | p99 ms | CPU s / 1000 jobs | peak RSS MiB | wrk jobs/s (req/s / 4) | "
              "wrk / bound | aiohttp jobs/s | aiohttp / bound | check |",
              "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
              "| ---: | --- |"]
    for e in results["pools"]:
        d, b = e["daemon"], e["bound_jobs_per_s"]
        e["daemon_over_bound"] = d["jobs_per_s"] / b
        w, p = e.get("wrk"), e.get("aiohttp")
        lines.append(f"| {e['connections']} | {e['max_inflight']} | {b:,.0f} | {d['lines_per_file']:,} | "
                     f"{d['jobs']:,} | {d['seconds']:.1f} | "
                     f"{d['jobs_per_s']:,.0f} | **{d['jobs_per_s'] / b:.2f}** | {d['p50_ms']:.1f} | {d['p99_ms']:.1f} | "
                     f"{d['cpu_s_per_1000']:.3f} | {d['peak_rss_mib']:.1f} | "
                     f"{fmt(w['jobs_per_s'] if w else None)} | {fmt(w['jobs_per_s'] / b if w else None, '.2f')} | "
                     f"{fmt(p['jobs_per_s'] if p else None)} | {fmt(p['jobs_per_s'] / b if p else None, '.2f')} | "
                     f"{d['submitted']:,}/{d['jobs']:,} submitted; ledger {'ok' if d['ledger_ok'] else 'MISMATCH'} |")
    lines += ["", f"Load average after the run: {' '.join(f'{x:.2f}' for x in results['load_after'])}", ""]
    return lines


def wan(args):
    facts = machine_facts()
    os.makedirs(args.out, exist_ok=True)
    load_before = wait_for_quiet(args.max_load, args.max_wait)
    work = tempfile.mkdtemp(prefix="submit-bench-wan-")
    rtt = args.latency_ms / 1000.0
    lines_per_file = getattr(args, "lines_per_file", 1000)
    results = {"facts": facts, "load_before": load_before, "latency_ms": args.latency_ms,
               "lines_per_file": lines_per_file, "command": command_line(), "pools": []}
    base_inflight = args.max_inflight
    try:
        for c in [int(x) for x in args.pools.split(",")]:
            args.connections = c
            args.max_inflight = max(base_inflight, args.inflight_factor * c)
            results["pools"].append(run_pool(c, args, work, rtt, lines_per_file))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        args.max_inflight = base_inflight
    results["load_after"] = loadavg()
    lines = report_lines(results, args, facts, load_before)
    write_results(args.out, "wan", lines, results)
    plot_wan(results, args.out)
    print("\n".join(lines))
    return results
