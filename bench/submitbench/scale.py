"""scale: the `scale` scenario: bench/spool_drain.py's backlog drain (emulator) for 10k, 100k and
1M requests in 1,000-request files: jobs/s and peak RSS against the backlog's size.
Writes scale.md, scale.json.
"""
import argparse
import json
import os
import shutil
import tempfile

from .machine import loadavg, machine_facts, wait_for_quiet
from .report import header, write_results

import spool_drain  # bench/spool_drain.py: run_once


def scale(args):
    facts = machine_facts()
    os.makedirs(args.out, exist_ok=True)
    load_before = wait_for_quiet(args.max_load, args.max_wait)
    work = tempfile.mkdtemp(prefix="submit-bench-scale-")
    rows = []
    try:
        for total in [int(x) for x in args.backlogs.split(",")]:
            lines_per_file = min(1000, total)
            ns = argparse.Namespace(files=total // lines_per_file, lines=lines_per_file, bin=args.bin,
                                    connections=args.connections, max_inflight=args.max_inflight)
            la = loadavg()
            r = spool_drain.run_once(ns, "on", work)
            r["load_before"] = la
            r["files"] = ns.files
            rows.append(r)
            print(json.dumps(r), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    lines = header("Scale: drain a spool backlog (bench/spool_drain.py, journal fsync on)", args, facts, load_before)
    lines += [f"Emulator `--threads 1` on CPU 0, daemon on CPU 1 (spool_drain.py's pinning), {args.connections} "
              f"connections, max_inflight {args.max_inflight}, files of 1,000 requests already waiting when the "
              "daemon starts; timed from the daemon's start to the last outcome file.", "",
              "| requests | files | seconds | jobs/s | CPU s / 1000 jobs | peak RSS MiB | RSS / smallest | load before | ledger |",
              "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    base = rows[0]["peak_rss_mib"] if rows else 1
    for r in rows:
        lines.append(f"| {r['jobs']:,} | {r['files']:,} | {r['seconds']:.1f} | {r['jobs_per_s']:,.0f} | "
                     f"{r['cpu_s_per_1000']:.3f} | {r['peak_rss_mib']:.1f} | {r['peak_rss_mib'] / base:.2f} | "
                     f"{r['load_before'][0]:.2f} | {'one job + one run each' if r['ledger_ok'] else 'MISMATCH'} |")
    lines += ["", f"Load average after the run: {' '.join(f'{x:.2f}' for x in loadavg())}", ""]
    write_results(args.out, "scale", lines, {"facts": facts, "load_before": load_before, "rows": rows})
    print("\n".join(lines))
    return rows
