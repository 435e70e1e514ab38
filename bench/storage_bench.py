"""storage_bench.py: what upload_vs_curl.py and download_vs_curl.py share: the emulator's API
key, a JSON call over its TLS API, starting bytenite-emulator on 127.0.0.1, and a process's
peak RSS. Imported by both; not run by itself."""
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.request

API_KEY = "bench-key"


def https(port, ca, method, path, body=None, token=None):
    ctx = ssl.create_default_context(cafile=ca)
    req = urllib.request.Request(f"https://localhost:{port}{path}", method=method,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", token)
    with urllib.request.urlopen(req, context=ctx) as r:
        return json.loads(r.read() or b"{}")


def start_emulator(binaries, work, extra_args=()):
    ready = os.path.join(work, "ready.json")
    proc = subprocess.Popen([os.path.join(binaries, "bytenite-emulator"), "--listen", "127.0.0.1:0",
                             "--threads", "2", "--cert-dir", work, "--ready-file", ready, "--api-key", API_KEY,
                             "--job-duration-ms", "100", "--quiet", *extra_args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(500):
        if os.path.exists(ready) and os.path.getsize(ready) > 0:
            return proc, json.load(open(ready))
        time.sleep(0.02)
    sys.exit("the emulator did not start")


def peak_rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return -1
