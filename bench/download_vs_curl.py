#!/usr/bin/env python3
"""download_vs_curl.py: the daemon's download of a large job result against `curl -o`, same run.

Starts bytenite-emulator (results of --size-mib, 1024 by default) and bytenite-submitd with
following on and results.download_dir set, both on 127.0.0.1, then alternates, --repeat times:
  curl    a job is created and run over the API; once it has completed, `curl -o FILE LINK`
          fetches its result from the storage endpoint (curl's own time_total);
  daemon  a request is dropped into the spool; the daemon submits and follows it and, when it
          completes, downloads its result; the time is from the temp file's appearance to
          the final name's (temp file, fsync, rename: the daemon's whole download), polled
          every 5 ms.
Both fetch the same bytes from the same emulator endpoint over TLS and write them to the same
file system; curl does not fsync, the daemon does. Reports each run's seconds and MiB/s, the
ratio of the medians (daemon rate / curl rate), the daemon's peak RSS (VmHWM), and checks
every file the daemon wrote: curl fetches the same link again (untimed) and the SHA-256s must
be equal.
With --limit-mib-per-s N the daemon runs with results.max_bytes_per_second = N MiB and the
report says how close its rate came to the limit.

Usage:
  bench/download_vs_curl.py                      # 1 GiB, 3 rounds
  bench/download_vs_curl.py --size-mib 256 --repeat 5 --limit-mib-per-s 50
Options: --bin DIR (default build/bin), --keep (keep the work directory).
Only loopback traffic; needs curl and python3, both in Debian.
"""
import argparse
import hashlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from storage_bench import API_KEY, https, peak_rss_mib, start_emulator


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def curl_download(info, target, n):
    port, ca = info["port"], info["caFile"]
    token = https(port, ca, "POST", "/v1/auth/access_token", {"apiKey": API_KEY})["token"]
    job = https(port, ca, "POST", "/v1/customer/jobs", {"templateId": "bench", "name": f"curl-{n}"}, token)["job"]["id"]
    https(port, ca, "PATCH", f"/v1/customer/jobs/{job}/datasource",
          {"dataSource": {"dataSourceDescriptor": "bypass"}, "dataDestination": {"dataSourceDescriptor": "bucket"}},
          token)
    https(port, ca, "POST", f"/v1/customer/jobs/{job}/run", {}, token)
    time.sleep(0.3)  # the job runs 100 ms
    link = https(port, ca, "GET", f"/v1/customer/jobs/{job}/results", None, token)["results"][0]["link"]
    out = subprocess.run(["curl", "-sS", "--fail", "--cacert", ca, "-o", target, "-w", "%{time_total}", link],
                         check=True, capture_output=True, text=True)
    # curl does not fsync; the daemon does before it renames. The fsync after curl, timed
    # apart, gives the second reference: curl's download made as durable as the daemon's.
    started = time.monotonic()
    fd = os.open(target, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    return float(out.stdout), time.monotonic() - started


def daemon_link(spool, n):
    outcome = os.path.join(spool, "done", f"dl-{n}.json.outcome.jsonl")
    for _ in range(2000):
        if os.path.exists(outcome):
            return json.loads(open(outcome).readline())["final"]["results"][0]["link"]
        time.sleep(0.01)
    sys.exit("the daemon did not place its file")


def daemon_download(spool, results, n):
    request_id = f"daemon-{n}"
    line = json.dumps({"requestId": request_id, "templateId": "bench",
                       "dataDestination": {"dataSourceDescriptor": "bucket"}})
    name = f"dl-{n}.json"
    with open(os.path.join(spool, "tmp", name), "w") as f:
        f.write(line + "\n")
    os.rename(os.path.join(spool, "tmp", name), os.path.join(spool, "incoming", name))
    folder = os.path.join(results, request_id, "out_0")
    final = os.path.join(folder, "result.bin")
    started = None
    while not os.path.exists(final):
        if started is None and os.path.isdir(folder) and any(e.endswith(".part") for e in os.listdir(folder)):
            started = time.monotonic()
        time.sleep(0.005)
    if started is None:
        sys.exit("the temp file was never seen: make the result larger")
    return time.monotonic() - started, final


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default="build/bin")
    p.add_argument("--size-mib", type=int, default=1024)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--limit-mib-per-s", type=int, default=0)
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()
    work = tempfile.mkdtemp(prefix="download-bench-")
    spool, results = os.path.join(work, "spool"), os.path.join(work, "results")
    for d in ("tmp", "incoming"):
        os.makedirs(os.path.join(spool, d))
    emulator, info = start_emulator(args.bin, work, ["--result-bytes", str(args.size_mib << 20)])
    with open(os.path.join(work, "key"), "w") as f:
        f.write(API_KEY + "\n")
    with open(os.path.join(work, "config.toml"), "w") as f:
        f.write(f'[api]\nbase_url = "https://localhost:{info["port"]}/v1"\nca_file = "{info["caFile"]}"\n'
                f'api_key_file = "{work}/key"\n[spool]\ndir = "{spool}"\nrescan_interval_ms = 100\n'
                f'[metrics]\nlisten = ""\n[follow]\nenabled = true\npoll_interval_s = 1\n'
                f'[results]\ndownload_dir = "{results}"\nmax_concurrent = 1\n'
                f'max_bytes_per_second = {args.limit_mib_per_s << 20}\n')
    daemon = subprocess.Popen([os.path.join(args.bin, "bytenite-submitd"), "--config", os.path.join(work, "config.toml")],
                              stdout=open(os.path.join(work, "daemon.log"), "w"), stderr=subprocess.STDOUT)
    rows, bad = [], 0
    try:
        for n in range(args.repeat):
            curl_file = os.path.join(work, f"curl-{n}.bin")
            curl_s, fsync_s = curl_download(info, curl_file, n)
            daemon_s, daemon_file = daemon_download(spool, results, n)
            rows.append((curl_s, daemon_s, curl_s + fsync_s))
            print(f"round {n + 1}: curl {curl_s:.2f} s (+ fsync {fsync_s:.2f} s), daemon {daemon_s:.2f} s", flush=True)
            # Each job's bytes differ (seeded by its id): the daemon's link fetched again by curl.
            subprocess.run(["curl", "-sS", "--fail", "--cacert", info["caFile"], "-o", curl_file,
                            daemon_link(spool, n)], check=True)
            if sha256_of(daemon_file) != sha256_of(curl_file):
                bad += 1
            os.remove(curl_file)
            os.remove(daemon_file)
        rss = peak_rss_mib(daemon.pid)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)
        emulator.send_signal(signal.SIGTERM)
        emulator.wait(timeout=30)
        if not args.keep:
            shutil.rmtree(work)
    mib = args.size_mib
    print(f"\n| round | curl -o s | curl + fsync s | daemon s | curl MiB/s | daemon MiB/s |\n"
          f"| ---: | ---: | ---: | ---: | ---: | ---: |")
    for i, (c, d, cf) in enumerate(rows):
        print(f"| {i + 1} | {c:.2f} | {cf:.2f} | {d:.2f} | {mib / c:.0f} | {mib / d:.0f} |")
    curl_med, daemon_med = statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows)
    durable_med = statistics.median(r[2] for r in rows)
    print(f"\nmedian: curl {mib / curl_med:.0f} MiB/s, daemon {mib / daemon_med:.0f} MiB/s, "
          f"ratio daemon/curl {curl_med / daemon_med:.2f}, daemon/(curl + fsync) {durable_med / daemon_med:.2f}; "
          f"daemon peak RSS {rss:.1f} MiB; "
          f"SHA-256 {'all equal to curl' if not bad else f'WRONG for {bad} files'}")
    if args.limit_mib_per_s:
        print(f"limit {args.limit_mib_per_s} MiB/s: the daemon ran at {mib / daemon_med / args.limit_mib_per_s:.2f}x it")
    if args.keep:
        print(f"kept {work}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
