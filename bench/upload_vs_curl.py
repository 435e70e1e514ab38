#!/usr/bin/env python3
"""upload_vs_curl.py: the daemon's upload of a large inputFile against `curl -T`, same run.

Writes one input of --size-mib (2048 by default) of random bytes, starts bytenite-emulator
and bytenite-submitd on 127.0.0.1, then alternates, --repeat times:
  curl    a job is created and given a "file" data source over the API; `curl -T FILE
          TEMPURL` PUTs the input to the storage endpoint (curl's own time_total);
  daemon  a request naming the input as inputFile is dropped into the spool; the daemon
          creates the job, uploads, completes and runs it; its upload time is the outcome's
          "upload.seconds" (the PUT, from reopening the file to the answer).
Both upload the same file from the page cache to the same emulator endpoint over TLS. Reports
each run's seconds and MiB/s, the ratio of the medians (daemon rate / curl rate), the
daemon's peak RSS (VmHWM from /proc/PID/status, over the whole run), and checks at the
emulator that every upload's SHA-256 equals the file's.

Usage:
  bench/upload_vs_curl.py                      # 2 GiB, 3 rounds
  bench/upload_vs_curl.py --size-mib 256 --repeat 5
Options: --bin DIR (default build/bin), --keep (keep the work directory).
Only loopback traffic; needs curl and python3, both in Debian.
"""
import argparse
import hashlib
import json
import os
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from storage_bench import API_KEY, https, peak_rss_mib, start_emulator


def write_input(path, size_mib):
    chunk = os.urandom(1 << 20)
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        for i in range(size_mib):
            # Different bytes per MiB (the index is mixed in), cheap to make.
            block = i.to_bytes(8, "little") + chunk[8:]
            out.write(block)
            digest.update(block)
    return digest.hexdigest()


def curl_upload(info, path, n):
    port, ca = info["port"], info["caFile"]
    token = https(port, ca, "POST", "/v1/auth/access_token", {"apiKey": API_KEY})["token"]
    job = https(port, ca, "POST", "/v1/customer/jobs", {"templateId": "bench", "name": f"curl-{n}"}, token)["job"]["id"]
    answer = https(port, ca, "PATCH", f"/v1/customer/jobs/{job}/datasource",
                   {"dataSource": {"dataSourceDescriptor": "file"}, "dataDestination": {"dataSourceDescriptor": "bucket"}},
                   token)
    url = answer["job"]["dataSource"]["params"]["tempUrl"]
    out = subprocess.run(["curl", "-sS", "--fail", "--cacert", ca, "-T", path, "-H", "Content-Disposition: attachment",
                          "-o", "/dev/null", "-w", "%{time_total}", url], check=True, capture_output=True, text=True)
    return float(out.stdout), job


def daemon_upload(spool, n):
    line = json.dumps({"requestId": f"daemon-{n}", "templateId": "bench", "inputFile": "input.bin",
                       "dataSource": {"dataSourceDescriptor": "file"},
                       "dataDestination": {"dataSourceDescriptor": "bucket"}})
    name = f"up-{n}.json"
    with open(os.path.join(spool, "tmp", name), "w") as f:
        f.write(line + "\n")
    os.rename(os.path.join(spool, "tmp", name), os.path.join(spool, "incoming", name))
    outcome = os.path.join(spool, "done", f"{name}.outcome.jsonl")
    failed = os.path.join(spool, "failed", f"{name}.outcome.jsonl")
    while not os.path.exists(outcome):
        if os.path.exists(failed):
            sys.exit("the daemon failed the upload: " + open(failed).read())
        time.sleep(0.05)
    record = json.loads(open(outcome).readline())
    return record["upload"]["seconds"], record["jobId"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default="build/bin")
    p.add_argument("--size-mib", type=int, default=2048)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()
    work = tempfile.mkdtemp(prefix="upload-bench-")
    inputs, spool = os.path.join(work, "inputs"), os.path.join(work, "spool")
    os.makedirs(inputs)
    for d in ("tmp", "incoming"):
        os.makedirs(os.path.join(spool, d))
    path = os.path.join(inputs, "input.bin")
    print(f"writing {args.size_mib} MiB input ...", flush=True)
    sha = write_input(path, args.size_mib)
    emulator, info = start_emulator(args.bin, work)
    with open(os.path.join(work, "key"), "w") as f:
        f.write(API_KEY + "\n")
    with open(os.path.join(work, "config.toml"), "w") as f:
        f.write(f'[api]\nbase_url = "https://localhost:{info["port"]}/v1"\nca_file = "{info["caFile"]}"\n'
                f'api_key_file = "{work}/key"\n[spool]\ndir = "{spool}"\nrescan_interval_ms = 100\n'
                f'[metrics]\nlisten = ""\n[upload]\ndir = "{inputs}"\nmax_concurrent = 1\n'
                f'max_bytes = {args.size_mib << 21}\n')
    daemon = subprocess.Popen([os.path.join(args.bin, "bytenite-submitd"), "--config", os.path.join(work, "config.toml")],
                              stdout=open(os.path.join(work, "daemon.log"), "w"), stderr=subprocess.STDOUT)
    rows, jobs = [], []
    try:
        for n in range(args.repeat):
            curl_s, curl_job = curl_upload(info, path, n)
            daemon_s, daemon_job = daemon_upload(spool, n)
            jobs += [curl_job, daemon_job]
            rows.append((curl_s, daemon_s))
            print(f"round {n + 1}: curl {curl_s:.2f} s, daemon {daemon_s:.2f} s", flush=True)
        rss = peak_rss_mib(daemon.pid)
        ctx = ssl.create_default_context(cafile=info["caFile"])
        with urllib.request.urlopen(f"https://localhost:{info['port']}/_emulator/ledger", context=ctx) as r:
            ledger = {j["id"]: j for j in json.load(r)["jobs"]}
        bad = [j for j in jobs if ledger[j].get("uploadSha256") != sha]
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)
        emulator.send_signal(signal.SIGTERM)
        emulator.wait(timeout=30)
        if not args.keep:
            shutil.rmtree(work)
    mib = args.size_mib
    print(f"\n| round | curl -T s | curl MiB/s | daemon s | daemon MiB/s |\n| ---: | ---: | ---: | ---: | ---: |")
    for i, (c, d) in enumerate(rows):
        print(f"| {i + 1} | {c:.2f} | {mib / c:.0f} | {d:.2f} | {mib / d:.0f} |")
    curl_med, daemon_med = statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows)
    print(f"\nmedian: curl {mib / curl_med:.0f} MiB/s, daemon {mib / daemon_med:.0f} MiB/s, "
          f"ratio daemon/curl {curl_med / daemon_med:.2f}; daemon peak RSS {rss:.1f} MiB; "
          f"SHA-256 at the emulator {'all equal to the file' if not bad else f'WRONG for {len(bad)} jobs'}")
    if args.keep:
        print(f"kept {work}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
