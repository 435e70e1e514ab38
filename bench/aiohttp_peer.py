#!/usr/bin/python3
"""aiohttp_peer.py: what a ByteNite user would write instead of the daemon.

The same per-job sequence as bytenite-submitd (one token exchange, then for each job
POST /jobs (with its own jobId) -> PATCH datasource -> PATCH params -> POST run) with the same
bodies, over one aiohttp session: a pool of CONNECTIONS TLS keep-alive connections (certificate
verified against --ca) and CONCURRENCY jobs in flight at once. It starts new jobs until
--duration seconds or --jobs jobs, then lets the jobs in flight finish, and prints one JSON
object: jobs, seconds, jobs/s, per-job latency (first call to run acknowledged) p50/p99 in ms,
non-200 answers.

Run with Debian's interpreter (python3-aiohttp): /usr/bin/python3 bench/aiohttp_peer.py ...
"""
import argparse
import asyncio
import json
import socket
import ssl
import sys
import time
import uuid

import aiohttp


def percentile(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def main(args):
    ctx = ssl.create_default_context(cafile=args.ca)
    connector = aiohttp.TCPConnector(limit=args.connections, ssl=ctx, family=socket.AF_INET,
                                     keepalive_timeout=300)
    base = args.base_url.rstrip("/")
    jobs_url = f"{base}/{args.customer_path}/jobs"
    latencies = []
    errors = 0
    started_jobs = 0
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.post(f"{base}/auth/access_token", json={"apiKey": args.api_key}) as r:
            token = (await r.json(content_type=None))["token"]
        headers = {"Authorization": token, "Content-Type": "application/json"}
        datasource = json.dumps({
            "dataSource": {"dataSourceDescriptor": "url",
                           "params": {"@type": "type.googleapis.com/bytenite.data_source.HttpDataSource",
                                      "url": "https://storage.example.com/in.txt"}},
            "dataDestination": {"dataSourceDescriptor": "bucket"}}, separators=(",", ":"))
        params = '{"partitioner":{"numImages":2},"app":{"prompt":"A sunset"},"assembler":{}}'
        run = '{"taskTimeout":3600,"jobTimeout":86400,"isTestJob":true}'
        t0 = time.monotonic()
        deadline = t0 + args.duration

        async def call(method, url, body):
            nonlocal errors
            async with session.request(method, url, data=body, headers=headers) as r:
                await r.read()
                if r.status != 200:
                    errors += 1
                    return False
                return True

        async def worker():
            nonlocal started_jobs
            while time.monotonic() < deadline and started_jobs < args.jobs:
                started_jobs += 1
                n = started_jobs
                job_id = str(uuid.uuid4())
                begin = time.monotonic()
                create = json.dumps({"templateId": "img-gen-diffusers", "name": f"peer job {n}",
                                     "jobId": job_id}, separators=(",", ":"))
                if not await call("POST", jobs_url, create):
                    continue
                if not await call("PATCH", f"{jobs_url}/{job_id}/datasource", datasource):
                    continue
                if not await call("PATCH", f"{jobs_url}/{job_id}/params", params):
                    continue
                if not await call("POST", f"{jobs_url}/{job_id}/run", run):
                    continue
                latencies.append(time.monotonic() - begin)

        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        elapsed = time.monotonic() - t0
    return {"jobs": len(latencies), "seconds": elapsed, "jobs_per_s": len(latencies) / elapsed,
            "p50_ms": percentile(latencies, 0.50) * 1000, "p99_ms": percentile(latencies, 0.99) * 1000,
            "errors": errors, "aiohttp": aiohttp.__version__}


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base-url", required=True, help="e.g. https://localhost:8443/v1")
    p.add_argument("--ca", required=True)
    p.add_argument("--api-key", default="bench-key")
    p.add_argument("--customer-path", default="customer")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--concurrency", type=int, default=256)
    p.add_argument("--duration", type=float, default=20.0)
    p.add_argument("--jobs", type=int, default=10_000_000)
    a = p.parse_args()
    print(json.dumps(asyncio.run(main(a))))
    sys.exit(0)
