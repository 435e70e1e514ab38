#!/usr/bin/python3
"""submit_bench.py: the daemon against a pure load generator and a Python peer, side by side.

Subcommands (each one command; results go to --out, default bench/results/):

  compare  For each server (nginx with canned answers, bytenite-emulator), one after the other:
             1. the limit: wrk (1 thread, C TLS keep-alive connections) running the four-request
                mix of one job (bench/wrk/submit_cycle.lua); its requests/s / 4 = jobs/s limit;
             2. the daemon: N requests dropped in a fresh spool before it starts, journal fsync
                on, C connections; timed from the first acceptance to the last run acknowledged
                (outcome files' acceptedAt / finishedAt); CPU s per 1,000 jobs, peak RSS,
                per-job latency p50/p99 (accept -> run acknowledged);
             3. the peer: bench/aiohttp_peer.py (Debian's /usr/bin/python3 + python3-aiohttp),
                same sequence, same C connections and the daemon's max_inflight jobs at once.
           Server pinned to --server-cpu, every client to --client-cpu (taskset).
           Writes compare.md, compare.json, compare.png.
           With Go (/usr/bin/go) and bench/go_peer/main.go present, the Go net/http twin of the
           peer is built into the run's work dir and runs too, labelled "go" (--no-go-peer: not).
  wan      The emulator with --latency-ms (default 50: 25 ms each way) for several pool sizes
           (default 64,256): daemon (and wrk) jobs/s against the Little's-law bound
           C / (4 x RTT), the daemon's requests in files of --lines-per-file (1000; 1 = one-request
           files). Writes wan.md, wan.json, wan.png.
  scale    bench/spool_drain.py's backlog drain for 10k, 100k, 1M requests: jobs/s and peak RSS.
           Writes scale.md, scale.json.
  ab       Two (or more) daemon builds against one nginx, interleaved A B A B ... (--bins DIR,DIR,
           --repeat N, --daemon-jobs N), with wrk's limit measured first in the same run: which
           build is faster, and its ratio to the limit. Prints a table (jobs/s, ratio, CPU s per
           1,000 jobs, peak RSS) and the medians; writes nothing to bench/results/.
  shapes   The same --shapes-jobs N requests (20000) against one nginx in four shapes: batched
           (files of 1,000), one-request drops, one-request POSTs from --post-clients C (32)
           keep-alive control-socket clients, and a third of each at once; jobs/s, x batched,
           daemon CPU ms per request, peak RSS; then batched, drops and posts again with
           --profile-jobs (N/4) under `strace -f -c`: system calls per request.
           Writes shapes.md, shapes.json.
  adaptive The adaptive rate against an emulator with an account limit of --rate-limit R calls/s
           (400): one daemon steady; the limit doubled then halved; two daemons on one key; a
           --outage-seconds outage (every call 503). Accepted calls/s, 429 share, reaction times,
           shares. Writes adaptive.md, adaptive.json, adaptive.png.
  fleet-scale, fleet-rate   The JetStream fleet (bench/submitbench/fleet.py): one, two, three
           daemons on one R3 stream against the emulator --latency-ms away; one daemon on an R3
           stream against nginx beside the spool, with a per-thread CPU profile.
  smoke    A few seconds of `compare` (and a short `wan`) into a temp dir with assertions; used
           by the CTest label `bench` (ctest --test-dir build -L bench). Exit 77 = tools missing.

Common options: --bin DIR (default build/bin of this repository), --out DIR, --connections C,
--max-inflight I, --max-load 0.5 / --max-wait 600 (wait for the 1-min load average before
measuring; 0 = do not wait), --server-cpu 0 --client-cpu 1.
The code is in bench/submitbench/ (one module per role and per scenario); this file is the
command line. Traffic goes to 127.0.0.1 only; every process started is stopped before the command returns.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from submitbench import HERE, REPO  # noqa: E402
from submitbench.ab import ab  # noqa: E402
from submitbench.adaptive import adaptive  # noqa: E402
from submitbench.compare import compare  # noqa: E402
from submitbench.fleet import fleet_rate, fleet_scale  # noqa: E402
from submitbench.scale import scale  # noqa: E402
from submitbench.shapes import shapes  # noqa: E402
from submitbench.smoke import smoke  # noqa: E402
from submitbench.wan import wan  # noqa: E402


def parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["compare", "wan", "scale", "all", "ab", "smoke", "shapes", "adaptive",
                                                 "fleet-scale", "fleet-rate"])
    p.add_argument("--bin", default=os.path.join(REPO, "build", "bin"))
    p.add_argument("--out", default=os.path.join(HERE, "results"))
    p.add_argument("--servers", default="nginx,emulator")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--max-inflight", type=int, default=256)
    p.add_argument("--server-cpu", type=int, default=0)
    p.add_argument("--client-cpu", type=int, default=1)
    p.add_argument("--wrk-seconds", type=int, default=15)
    p.add_argument("--daemon-seconds", type=float, default=22, help="size N for about this many seconds of work")
    p.add_argument("--daemon-jobs", type=int, default=0, help="N (overrides --daemon-seconds)")
    p.add_argument("--daemon-timeout", type=float, default=600)
    p.add_argument("--peer-seconds", type=float, default=20)
    p.add_argument("--no-go-peer", dest="go_peer", action="store_false", help="compare: do not build and run the Go peer")
    p.add_argument("--latency-ms", type=int, default=50, help="wan: the emulator's added latency (= RTT)")
    p.add_argument("--pools", default="64,256", help="wan: connection pool sizes")
    p.add_argument("--inflight-factor", type=int, default=2, help="wan: max_inflight = max(--max-inflight, F x C)")
    p.add_argument("--wan-wrk-seconds", type=int, default=10)
    p.add_argument("--wan-peer-seconds", type=float, default=0)
    p.add_argument("--lines-per-file", type=int, default=1000, help="wan: requests per spool file (1 = one-request files)")
    p.add_argument("--backlogs", default="10000,100000,1000000", help="scale: backlog sizes")
    p.add_argument("--shapes-jobs", type=int, default=20000, help="shapes: N, the requests in each shape")
    p.add_argument("--post-clients", type=int, default=32, help="shapes: concurrent control-socket clients")
    p.add_argument("--profile-jobs", type=int, default=-1, help="shapes: N of the strace pass (default N/4; 0 = none)")
    p.add_argument("--shapes-server", choices=["nginx", "emulator"], default="nginx",
                   help="shapes: the server (the emulator adds the ledger check)")
    p.add_argument("--rate-limit", type=float, default=400, help="adaptive: the account limit R, calls/s")
    p.add_argument("--phase-seconds", type=int, default=60, help="adaptive: length of the steady and two-daemon phases")
    p.add_argument("--outage-seconds", type=int, default=60, help="adaptive: length of the outage")
    p.add_argument("--fleet-jobs-per-daemon", type=int, default=3000, help="fleet-scale: requests per daemon")
    p.add_argument("--fleet-rate-jobs", type=int, default=20000, help="fleet-rate: requests (JetStream, then spool)")
    p.add_argument("--max-load", type=float, default=0.5)
    p.add_argument("--max-wait", type=float, default=600)
    p.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    p.add_argument("--bins", default="", help="ab: build/bin directories to compare, comma-separated")
    p.add_argument("--repeat", type=int, default=3, help="ab: rounds (each runs every build once)")
    return p


def main():
    args = parser().parse_args()
    if args.command == "smoke":
        return smoke(args)
    if args.command == "ab":
        return ab(args)
    if args.command == "shapes":
        shapes(args)
        return 0
    if args.command == "adaptive":
        adaptive(args)
        return 0
    if args.command == "fleet-scale":
        fleet_scale(args)
        return 0
    if args.command == "fleet-rate":
        fleet_rate(args)
        return 0
    if args.command in ("compare", "all"):
        compare(args, servers=tuple(args.servers.split(",")))
    if args.command in ("wan", "all"):
        connections, wan_args = args.connections, args
        wan(wan_args)
        args.connections = connections
    if args.command in ("scale", "all"):
        args.connections, args.max_inflight = 32, 256
        scale(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
