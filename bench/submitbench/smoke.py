"""smoke: the `smoke` scenario behind the CTest `bench_smoke` (label bench): a few seconds of
`compare` and a short `wan` into a temp dir, with assertions. Exit 77 = tools missing.
"""
import os
import shutil
import subprocess
import tempfile

from . import NJS_MODULE, PEER_PYTHON
from .compare import compare
from .wan import wan


def smoke(args):
    missing = [t for t in ("wrk", "nginx", "taskset", "openssl") if not shutil.which(t)]
    if not os.path.exists(NJS_MODULE):
        missing.append("libnginx-mod-http-js")
    if subprocess.run([PEER_PYTHON, "-c", "import aiohttp"], capture_output=True).returncode != 0:
        missing.append("python3-aiohttp")
    if missing:
        print(f"SKIP: missing {', '.join(missing)} (bash deploy/install-deps.sh; build first)")
        return 77
    for b in ("bytenite-submitd", "bytenite-emulator"):
        if not os.access(os.path.join(args.bin, b), os.X_OK):
            print(f"FAILED: no {os.path.join(args.bin, b)} (build first)")
            return 1
    out = tempfile.mkdtemp(prefix="submit-bench-smoke-")
    try:
        args.out = out
        args.connections, args.max_inflight = 16, 64
        args.wrk_seconds, args.peer_seconds, args.daemon_jobs = 2, 2, 2000
        args.max_load = 0
        args.go_peer = False  # the CTest has 120 s: no Go build here
        res = compare(args)
        problems = []
        for f in ("compare.md", "compare.json"):
            if not os.path.getsize(os.path.join(out, f)):
                problems.append(f"{f} is empty")
        if shutil.which("gnuplot") and not os.path.exists(os.path.join(out, "compare.png")):
            problems.append("compare.png was not written")
        for srv in res["servers"]:
            for r in srv["runs"]:
                tag = f"{srv['server']}/{r['client']}"
                if r["jobs"] <= 0 or not r["jobs_per_s"] > 0:
                    problems.append(f"{tag}: no jobs")
                if r["errors"]:
                    problems.append(f"{tag}: {r['errors']} errors")
                if r["client"] == "daemon" and (r["outcomes"] != r["jobs"] or r["submitted"] != r["jobs"]):
                    problems.append(f"{tag}: {r['outcomes']} outcomes, {r['submitted']} submitted of {r['jobs']}")
                if r.get("ledger_ok") is False:
                    problems.append(f"{tag}: ledger does not show one job and one run per request: {r.get('ledger')}")
        # a short WAN run: the latency knob must slow the daemon to about the bound, not below half
        args.pools, args.latency_ms, args.daemon_seconds = "16", 20, 2
        args.wan_wrk_seconds = args.wan_peer_seconds = 0
        w = wan(args)
        e = w["pools"][0]
        if e["daemon"]["submitted"] != e["daemon"]["jobs"] or not e["daemon"]["ledger_ok"]:
            problems.append(f"wan: {e['daemon']['submitted']} of {e['daemon']['jobs']} submitted, ledger {e['daemon']['ledger']}")
        if not 0.5 <= e["daemon_over_bound"] <= 1.05:
            problems.append(f"wan: daemon at {e['daemon_over_bound']:.2f} x the Little's-law bound")
        if problems:
            print("SMOKE FAILED:\n  " + "\n  ".join(problems))
            return 1
        print("smoke ok")
        return 0
    finally:
        shutil.rmtree(out, ignore_errors=True)
