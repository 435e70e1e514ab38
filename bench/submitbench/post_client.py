#!/usr/bin/python3
"""post_client: the control-socket load for `shapes` (run as its own process, not imported).

C asyncio clients, each one keep-alive HTTP/1.1 connection over asyncio.open_unix_connection,
post one request at a time (POST /v1/jobs, one JSON object, bench/spool_drain.py's request
lines numbered --first .. --first + --count - 1), raw HTTP written by hand, answers read by
Content-Length. A 503 is counted and its Retry-After honoured, then the same request is posted
again; a dropped connection is reopened and the request posted again. Prints one JSON object:
posts, accepted, rejected, http_503, errors, reconnects, t_start/t_end (epoch s), latency.
"""
import argparse
import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import spool_drain  # noqa: E402  (request_line)


class State:
    def __init__(self, posts):
        self.posts, self.next = posts, 0
        self.accepted = self.rejected = self.http_503 = self.errors = self.reconnects = 0
        self.retry_after_s, self.latencies, self.error_samples = 0.0, [], []


async def read_answer(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for h in lines[1:]:
        if ":" in h:
            k, v = h.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


async def post_one(st, conn, payload):
    """Posts until answered 202 or refused for good; returns the (maybe reopened) connection."""
    while True:
        reader, writer = conn
        t = time.monotonic()
        try:
            writer.write(payload)
            status, headers, body = await read_answer(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            st.reconnects += 1
            writer.close()
            conn = await asyncio.open_unix_connection(st.socket)
            continue
        if headers.get("connection", "").lower() == "close":
            writer.close()
            st.reconnects += 1
            conn = await asyncio.open_unix_connection(st.socket)
        if status == 503:
            st.http_503 += 1
            wait = float(headers.get("retry-after", "1") or 1)
            st.retry_after_s += wait
            await asyncio.sleep(wait)
            continue
        if status == 202:
            answer = json.loads(body)
            st.accepted += len(answer.get("accepted", []))
            st.rejected += len(answer.get("rejected", []))
            st.latencies.append(time.monotonic() - t)
        else:
            st.errors += 1
            if len(st.error_samples) < 5:
                st.error_samples.append(f"{status} {body[:200].decode('utf-8', 'replace')}")
        return conn


async def client(st):
    conn = await asyncio.open_unix_connection(st.socket)
    while st.next < len(st.posts):
        payload = st.posts[st.next]
        st.next += 1
        conn = await post_one(st, conn, payload)
    conn[1].close()


def percentile_ms(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


async def main(args):
    posts = []
    for n in range(args.first, args.first + args.count):
        body = spool_drain.request_line(n).encode()
        posts.append(b"POST /v1/jobs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    st = State(posts)
    st.socket = args.socket
    t_start, t0 = time.time(), time.monotonic()
    await asyncio.gather(*(client(st) for _ in range(min(args.clients, max(1, args.count)))))
    seconds = time.monotonic() - t0
    return {"posts": args.count, "accepted": st.accepted, "rejected": st.rejected, "http_503": st.http_503,
            "retry_after_s": st.retry_after_s, "errors": st.errors, "error_samples": st.error_samples,
            "reconnects": st.reconnects, "clients": args.clients, "t_start": t_start, "t_end": time.time(),
            "seconds": seconds, "posts_per_s": args.count / seconds if seconds > 0 else float("nan"),
            "p50_ms": percentile_ms(st.latencies, 0.50), "p99_ms": percentile_ms(st.latencies, 0.99)}


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--socket", required=True)
    p.add_argument("--first", type=int, default=0, help="number of the first request line")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--clients", type=int, default=32)
    print(json.dumps(asyncio.run(main(p.parse_args()))))
