"""ab: the `ab` scenario: two or more daemon builds interleaved A B A B ... against one nginx,
wrk's limit measured first in the same run; prints per-run figures and the medians.
"""
import shutil
import statistics
import tempfile

from . import clients
from .machine import wait_for_quiet
from .servers import Nginx


def ab(args):
    """Interleaved A/B of daemon builds against one nginx (the same machine state for all)."""
    bins = [b for b in args.bins.split(",") if b]
    if len(bins) < 2:
        raise SystemExit("ab needs --bins A,B (two or more build/bin directories)")
    load_before = wait_for_quiet(args.max_load, args.max_wait)
    work = tempfile.mkdtemp(prefix="submit-bench-ab-")
    server = Nginx(work, args.server_cpu)
    server.start()
    rows = []
    try:
        limit = clients.run_wrk(server, args, args.wrk_seconds, work)
        print(f"# load average before: {load_before}; wrk limit {limit['jobs_per_s']:,.0f} jobs/s", flush=True)
        jobs = args.daemon_jobs or int(limit["jobs_per_s"] * 0.6 * args.daemon_seconds)
        for round_ in range(args.repeat):
            for b in bins:
                args.bin = b
                r = clients.run_daemon(server, args, jobs, work)
                if r["submitted"] != r["jobs"]:
                    raise RuntimeError(f"{b}: {r['submitted']} of {r['jobs']} submitted")
                rows.append((b, r))
                print(f"{round_ + 1} {b}: {r['jobs_per_s']:,.0f} jobs/s = {r['jobs_per_s'] / limit['jobs_per_s']:.3f}"
                      f" x wrk, {r['cpu_s_per_1000']:.4f} CPU s / 1000 jobs, {r['peak_rss_mib']:.1f} MiB", flush=True)
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    median = statistics.median_high
    print(f"\n| build | jobs/s (each run) | median | x wrk ({limit['jobs_per_s']:,.0f}) | CPU s / 1000 jobs (each) | median |")
    print("| --- | --- | ---: | ---: | --- | ---: |")
    for b in bins:
        mine = [r for x, r in rows if x == b]
        rates, cpus = [r["jobs_per_s"] for r in mine], [r["cpu_s_per_1000"] for r in mine]
        print(f"| {b} | {' / '.join(f'{v:,.0f}' for v in rates)} | {median(rates):,.0f} | "
              f"{median(rates) / limit['jobs_per_s']:.2f} | {' / '.join(f'{v:.4f}' for v in cpus)} | {median(cpus):.4f} |")
    return 0
