#!/usr/bin/env python3
"""instructions_per_job.py: the daemon's user-space instructions per job, build against build.

Wall-clock and CPU-time figures on this kind of VM move by 10-20% from run to run, which hides
changes of a few percent. Instructions counted by valgrind's callgrind do not depend on the
machine's load: a build's figure repeats within about 1%. For each --bins DIR, the daemon of
that build drains a spool of SMALL and then LARGE thousand-request files
(bench/spool_drain.py: emulator on CPU 0, daemon on CPU 1, 32 connections, journal fsync on)
under `valgrind --tool=callgrind`; (instructions at LARGE - instructions at SMALL) / (the
difference in jobs) leaves out start-up (TLS handshakes, opening the journal) and is the cost
of one job: parsing, journal (SQLite), TLS records, Asio, outcome lines.

What it does not count: the kernel's part (sendmsg, recvmsg, fsync), and time spent waiting.
It is a proxy for CPU per job on the daemon's own side, for comparing builds; the jobs/s and
CPU-time comparisons stay `submit_bench.py ab` (interleaved runs, medians).

Usage:
  bench/instructions_per_job.py --bins /tmp/old-bin,/tmp/new-bin [--small 2] [--large 6] [--repeat 1]
Needs valgrind (Debian package `valgrind`) and what spool_drain.py needs; exit 77 without it.
Only loopback traffic.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def total_instructions(out_file):
    """The 'summary:' or 'totals:' line of a callgrind output file (Ir, the first event)."""
    with open(out_file) as f:
        for line in f:
            m = re.match(r"(?:summary|totals):\s+(\d+)", line)
            if m:
                return int(m.group(1))
    raise RuntimeError(f"no totals in {out_file}")


def drain_under_callgrind(bin_dir, files, work):
    """Runs spool_drain.py with the daemon of `bin_dir` under callgrind; returns its Ir."""
    wrapped = tempfile.mkdtemp(prefix="wrapped-bin-", dir=work)
    os.symlink(os.path.join(bin_dir, "bytenite-emulator"), os.path.join(wrapped, "bytenite-emulator"))
    out_file = os.path.join(wrapped, "callgrind.out")
    daemon = os.path.join(wrapped, "bytenite-submitd")
    with open(daemon, "w") as f:
        f.write("#!/bin/sh\n")
        f.write(f'exec valgrind --tool=callgrind --callgrind-out-file="{out_file}" '
                f'"{os.path.join(bin_dir, "bytenite-submitd")}" "$@"\n')
    os.chmod(daemon, 0o755)
    run = subprocess.run([sys.executable, os.path.join(HERE, "spool_drain.py"), "--files", str(files),
                          "--lines", "1000", "--bin", wrapped], capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"spool_drain.py failed for {bin_dir}:\n{run.stdout}\n{run.stderr}")
    return total_instructions(out_file)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bins", required=True, help="build/bin directories, comma-separated")
    p.add_argument("--small", type=int, default=2, help="thousand-request files in the small run")
    p.add_argument("--large", type=int, default=6, help="thousand-request files in the large run")
    p.add_argument("--repeat", type=int, default=1)
    args = p.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 77
    if args.large <= args.small:
        p.error("--large must be more files than --small")
    bins = [os.path.abspath(b) for b in args.bins.split(",") if b]
    work = tempfile.mkdtemp(prefix="instructions-per-job-")
    rows = {b: [] for b in bins}
    try:
        for r in range(args.repeat):
            for b in bins:  # interleaved, as for the timed comparisons
                small = drain_under_callgrind(b, args.small, work)
                large = drain_under_callgrind(b, args.large, work)
                per_job = (large - small) / ((args.large - args.small) * 1000)
                rows[b].append(per_job)
                print(f"{r + 1} {b}: {per_job:,.0f} instructions per job", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    first = statistics.median_high(rows[bins[0]])
    print("\n| build | instructions per job (each run) | median | x first |")
    print("| --- | --- | ---: | ---: |")
    for b in bins:
        median = statistics.median_high(rows[b])
        print(f"| {b} | {' / '.join(f'{v:,.0f}' for v in rows[b])} | {median:,.0f} | {median / first:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
