"""submitbench: the parts of bench/submit_bench.py (the command line stays in that file).

Shared constants live here; each module has one role:
  machine   machine facts, load, CPU and RSS from /proc, run_measured, process helpers
  servers   throwaway certificates, nginx with canned answers, bytenite-emulator
  daemon    the daemon's config, its run (optionally under strace), its outcome files
  clients   wrk, the daemon on a pre-filled spool, the aiohttp and Go peers
  report    markdown headers, number formatting, gnuplot plots
  compare, wan, scale, ab, smoke, shapes   one scenario (subcommand) each
  post_client   the asyncio control-socket client that `shapes` runs as its own process
"""
import os
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # bench/
REPO = os.path.dirname(HERE)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

API_KEY = "bench-key"
PEER_PYTHON = "/usr/bin/python3"
NJS_MODULE = "/usr/lib/nginx/modules/ngx_http_js_module.so"
GO = "/usr/bin/go"
GO_PEER_DIR = os.path.join(HERE, "go_peer")
