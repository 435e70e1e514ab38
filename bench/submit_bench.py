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
  wan      The emulator with --latency-ms (default 50: 25 ms each way) for several pool sizes
           (default 64,256): daemon (and wrk) jobs/s against the Little's-law bound
           C / (4 x RTT). Writes wan.md, wan.json, wan.png.
  scale    bench/spool_drain.py's backlog drain for 10k, 100k, 1M requests: jobs/s and peak RSS.
           Writes scale.md, scale.json.
  ab       Two (or more) daemon builds against one nginx, interleaved A B A B ... (--bins DIR,DIR,
           --repeat N, --daemon-jobs N), with wrk's limit measured first in the same run: which
           build is faster, and its ratio to the limit. Prints a table (jobs/s, ratio, CPU s per
           1,000 jobs, peak RSS) and the medians; writes nothing to bench/results/.
  smoke    A few seconds of `compare` (and a short `wan`) into a temp dir with assertions; used
           by the CTest label `bench` (ctest --test-dir build -L bench). Exit 77 = tools missing.

Common options: --bin DIR (default build/bin of this repository), --out DIR, --connections C,
--max-inflight I, --max-load 0.5 / --max-wait 600 (wait for the 1-min load average before
measuring; 0 = do not wait), --server-cpu 0 --client-cpu 1.
Traffic goes to 127.0.0.1 only; every process started is stopped before the command returns.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import spool_drain  # noqa: E402  (request_line, write_backlog, /proc readers)

API_KEY = "bench-key"
PEER_PYTHON = "/usr/bin/python3"
TICKS = os.sysconf("SC_CLK_TCK")
NJS_MODULE = "/usr/lib/nginx/modules/ngx_http_js_module.so"


# ---------------------------------------------------------------------------------------------
# machine facts, load, /proc


def machine_facts():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    return {"cpu_model": model, "cores": os.cpu_count(), "kernel": platform.release(),
            "mem_gib": round(mem_kib / 1024 / 1024, 1)}


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def wait_for_quiet(max_load, max_wait):
    """Polls every 15 s until the 1-min load average is below max_load; gives up after max_wait s."""
    if max_load <= 0:
        return loadavg()
    start = time.monotonic()
    while True:
        la = loadavg()
        if la[0] < max_load:
            return la
        if time.monotonic() - start >= max_wait:
            print(f"# load average still {la[0]:.2f} after {max_wait:.0f} s: measuring anyway", flush=True)
            return la
        print(f"# load average {la[0]:.2f} >= {max_load}: waiting", flush=True)
        time.sleep(15)


def cpu_seconds(pid):
    try:
        return spool_drain.proc_cpu_seconds(pid)
    except (FileNotFoundError, ProcessLookupError):
        return 0.0


def machine_busy_seconds():
    """CPU seconds all cores spent not idle since boot (from /proc/stat)."""
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + parts[4]
    return (sum(parts[:8]) - idle) / TICKS


def children_of(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except FileNotFoundError:
        return []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port}")


def stop(proc, timeout=30):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_measured(cmd, env=None, timeout=None, stdout_path=None):
    """Runs cmd to completion; returns (stdout text, returncode, cpu seconds, peak RSS MiB)."""
    out = open(stdout_path, "w+") if stdout_path else tempfile.TemporaryFile("w+")
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + timeout if timeout else None
    # Peak RSS from VmHWM while it runs: wait4's ru_maxrss would include this (large) Python
    # process's RSS at fork time, which Linux carries over the exec.
    peak_mib = 0.0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        try:
            peak_mib = max(peak_mib, spool_drain.proc_peak_rss_mib(proc.pid))
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass
        if deadline and time.monotonic() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    text = out.read()
    out.close()
    return text, proc.returncode, usage.ru_utime + usage.ru_stime, peak_mib


# ---------------------------------------------------------------------------------------------
# servers

JOB_HEAD = '{"job":{"id":"'
JOB_TAIL = ('","templateId":"img-gen-diffusers","name":"bench","description":"","state":"JOB_STATE_NEW",'
            '"errorMessage":null,"createdAt":"2026-01-01T00:00:00.000000Z","submittedAt":null,'
            '"startedAt":null,"endedAt":null,"duration":null,"dataSource":{"dataSourceDescriptor":"url",'
            '"params":{"@type":"type.googleapis.com/bytenite.data_source.HttpDataSource",'
            '"url":"https://storage.example.com/in.txt"}},"dataDestination":{"dataSourceDescriptor":"bucket"},'
            '"params":null,"config":null,"paymentAmount":"0"},"templateInfo":{"id":"img-gen-diffusers",'
            '"owner":"canned","description":"canned template","app":null,"partitioner":null,"assembler":null}}')
RUN_ANSWER = '{"ok":true,"requestId":"","message":"","error":null}'
TOKEN_ANSWER = ('{"token":"0f367db7e1ef48d81c10df96ea817eaef63e216a61b6b5ff0ab5ac2813e05d34",'
                '"expiresIn":"3600","scope":"customer"}')


def make_certs(d):
    """A throwaway CA and a server certificate for localhost / 127.0.0.1 (EC P-256)."""
    ext = os.path.join(d, "server.ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n"
                "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    q = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": True}
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    subprocess.run(["openssl", "req", "-x509", *ec, "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.pem",
                    "-days", "2", "-subj", "/CN=bench throwaway CA",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign"], **q)
    subprocess.run(["openssl", "req", *ec, "-keyout", f"{d}/server.key", "-out", f"{d}/server.csr",
                    "-subj", "/CN=localhost"], **q)
    subprocess.run(["openssl", "x509", "-req", "-in", f"{d}/server.csr", "-CA", f"{d}/ca.pem",
                    "-CAkey", f"{d}/ca.key", "-CAcreateserial", "-days", "2", "-out", f"{d}/server.pem",
                    "-extfile", ext], **q)
    return f"{d}/ca.pem", f"{d}/server.pem", f"{d}/server.key"


class Nginx:
    """nginx 1 worker, canned answers shaped like the emulator's; create echoes the jobId (njs)."""
    name = "nginx"

    def __init__(self, work, cpu):
        self.dir = os.path.join(work, "nginx")
        os.makedirs(self.dir, exist_ok=True)
        self.ca, cert, key = make_certs(self.dir)
        self.port = free_port()
        with open(os.path.join(self.dir, "canned.js"), "w") as f:
            f.write("var HEAD = %s;\nvar TAIL = %s;\n" % (json.dumps(JOB_HEAD), json.dumps(JOB_TAIL)))
            f.write("function create(r) {\n"
                    "  var m = (r.requestText || '').match(/\"jobId\":\"([0-9a-fA-F-]+)\"/);\n"
                    "  r.headersOut['Content-Type'] = 'application/json';\n"
                    "  r.return(200, HEAD + (m ? m[1] : '00000000-0000-0000-0000-000000000000') + TAIL);\n"
                    "}\nexport default {create};\n")
        d = self.dir
        conf = f"""
load_module {NJS_MODULE};
worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  js_import canned from {d}/canned.js;
  keepalive_requests 100000000;
  keepalive_timeout 600s;
  default_type application/json;
  client_max_body_size 64k; client_body_buffer_size 64k; client_body_in_single_buffer on;
  server {{
    listen 127.0.0.1:{self.port} ssl;
    server_name localhost;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_session_cache shared:bench:1m;
    location = /v1/auth/access_token {{ return 200 '{TOKEN_ANSWER}'; }}
    location = /v1/customer/jobs {{ js_content canned.create; }}
    location ~ ^/v1/customer/jobs/([0-9a-f-]+)/(datasource|params)$ {{ return 200 '{JOB_HEAD}$1{JOB_TAIL}'; }}
    location ~ ^/v1/customer/jobs/([0-9a-f-]+)/run$ {{ return 200 '{RUN_ANSWER}'; }}
    location ~ ^/v1/customer/jobs/([0-9a-f-]+)$ {{ return 200 '{JOB_HEAD}$1{JOB_TAIL}'; }}
  }}
}}
"""
        self.conf = os.path.join(d, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.cpu = cpu
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["taskset", "-c", str(self.cpu), "nginx", "-p", self.dir, "-c", self.conf,
                                      "-e", os.path.join(self.dir, "error.log")],
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "stderr"), "a"))
        wait_port(self.port, self.proc, "nginx")

    def cpu_seconds(self):
        return cpu_seconds(self.proc.pid) + sum(cpu_seconds(c) for c in children_of(self.proc.pid))

    def ledger(self):
        return None

    def stop(self):
        # nginx: SIGQUIT = graceful shutdown of master and worker.
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                for c in children_of(self.proc.pid):
                    os.kill(c, signal.SIGKILL)
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class Emulator:
    name = "emulator"

    def __init__(self, work, cpu, bin_dir, latency_ms=0, threads=1):
        self.dir = os.path.join(work, "emulator")
        self.cpu, self.bin, self.latency_ms, self.threads = cpu, bin_dir, latency_ms, threads
        self.proc = None

    def start(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        ready = os.path.join(self.dir, "ready.json")
        self.proc = subprocess.Popen(
            ["taskset", "-c", str(self.cpu), os.path.join(self.bin, "bytenite-emulator"),
             "--listen", "127.0.0.1:0", "--threads", str(self.threads), "--cert-dir", self.dir,
             "--ready-file", ready, "--api-key", API_KEY, "--job-duration-ms", "600000",
             "--latency-ms", str(self.latency_ms), "--quiet"], stdout=subprocess.DEVNULL)
        for _ in range(200):
            if os.path.exists(ready) and os.path.getsize(ready) > 0:
                break
            if self.proc.poll() is not None:
                raise RuntimeError("emulator exited")
            time.sleep(0.05)
        info = json.load(open(ready))
        self.port, self.ca = info["port"], info["caFile"]

    def cpu_seconds(self):
        return cpu_seconds(self.proc.pid)

    def ledger(self):
        ctx = ssl.create_default_context(cafile=self.ca)
        with urllib.request.urlopen(f"https://localhost:{self.port}/_emulator/ledger/summary", context=ctx) as r:
            return json.load(r)

    def stop(self):
        stop(self.proc)
        self.proc = None


# ---------------------------------------------------------------------------------------------
# clients


def parse_wrk_latency(text, pct):
    m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if not m:
        return float("nan")
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]


def run_wrk(server, args, seconds, work):
    env = dict(os.environ, BYTENITE_API_KEY=API_KEY)
    env.pop("BYTENITE_TOKEN", None)
    cmd = ["taskset", "-c", str(args.client_cpu), "wrk", "-t1", f"-c{args.connections}", f"-d{seconds}s",
           "--latency", "-s", os.path.join(HERE, "wrk", "submit_cycle.lua"), f"https://127.0.0.1:{server.port}"]
    s0, m0 = server.cpu_seconds(), machine_busy_seconds()
    text, rc, cpu, rss = run_measured(cmd, env=env, timeout=seconds + 30,
                                      stdout_path=os.path.join(work, f"wrk-{server.name}-{args.connections}.out"))
    s1, m1 = server.cpu_seconds(), machine_busy_seconds()
    if rc != 0:
        raise RuntimeError(f"wrk failed ({rc}):\n{text}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    runs = int(re.search(r"runs acknowledged: (\d+)", text).group(1))
    non200 = int(re.search(r"non-200 answers: (\d+)", text).group(1))
    sock_err = re.search(r"Socket errors: (.*)", text)
    dur = float(re.search(r"requests in ([\d.]+)(ms|s|m)", text).group(1))
    unit = re.search(r"requests in ([\d.]+)(ms|s|m)", text).group(2)
    dur *= {"ms": 0.001, "s": 1.0, "m": 60.0}[unit]
    return {"client": "wrk", "requests_per_s": rps, "jobs_per_s": rps / 4, "runs_acknowledged": runs,
            "runs_per_s": runs / dur, "jobs": runs, "seconds": dur, "errors": non200,
            "socket_errors": sock_err.group(1).strip() if sock_err else "",
            "cpu_s_per_1000": cpu / max(runs, 1) * 1000, "client_cpu_s": cpu, "peak_rss_mib": rss,
            "request_p50_ms": parse_wrk_latency(text, 50), "request_p99_ms": parse_wrk_latency(text, 99),
            "p50_ms": None, "p99_ms": None, "server_cpu_s": s1 - s0,
            "other_cpu_s": (m1 - m0) - cpu - (s1 - s0), "command": " ".join(cmd[3:])}


def parse_time(s):
    return datetime.datetime.fromisoformat(s[:-1] if s.endswith("Z") else s).timestamp()


def run_daemon(server, args, jobs, work, lines_per_file=1000):
    spool = os.path.join(work, "spool")
    shutil.rmtree(spool, ignore_errors=True)
    files = max(1, (jobs + lines_per_file - 1) // lines_per_file)
    lines = jobs // files
    jobs = files * lines
    spool_drain.write_backlog(spool, files, lines)
    key = os.path.join(work, "api_key")
    with open(key, "w") as k:
        k.write(API_KEY + "\n")
    config = os.path.join(work, "daemon.toml")
    with open(config, "w") as c:
        c.write(f'[api]\nbase_url = "https://localhost:{server.port}/v1"\nca_file = "{server.ca}"\n'
                f'api_key_file = "{key}"\nconnections = {args.connections}\n'
                f'max_inflight = {args.max_inflight}\n'
                f'[spool]\ndir = "{spool}"\n[state]\nfsync = true\n[metrics]\nlisten = ""\n')
    log_path = os.path.join(work, f"daemon-{server.name}-{args.connections}.log")
    cmd = ["taskset", "-c", str(args.client_cpu), os.path.join(args.bin, "bytenite-submitd"), "--config", config]
    done_dir = os.path.join(spool, "done")
    s0, m0 = server.cpu_seconds(), machine_busy_seconds()
    started = time.monotonic()
    daemon = subprocess.Popen(cmd, stderr=open(log_path, "w"))
    try:
        limit = started + args.daemon_timeout
        while True:
            time.sleep(0.1)
            if daemon.poll() is not None:
                raise RuntimeError(f"daemon exited with {daemon.returncode}; see {log_path}")
            if time.monotonic() > limit:
                raise RuntimeError(f"daemon did not finish {jobs} requests in {args.daemon_timeout} s")
            if os.path.isdir(done_dir) or os.path.isdir(os.path.join(spool, "failed")):
                placed = sum(1 for n in os.listdir(done_dir) if n.endswith(".outcome.jsonl")) \
                    if os.path.isdir(done_dir) else 0
                failed_dir = os.path.join(spool, "failed")
                placed += sum(1 for n in os.listdir(failed_dir) if n.endswith(".outcome.jsonl")) \
                    if os.path.isdir(failed_dir) else 0
                if placed == files:
                    break
        wall = time.monotonic() - started
        cpu = cpu_seconds(daemon.pid)
        rss = spool_drain.proc_peak_rss_mib(daemon.pid)
        s1, m1 = server.cpu_seconds(), machine_busy_seconds()
    finally:
        stop(daemon, timeout=60)
    accepted, finished, lat, submitted, outcomes = [], [], [], 0, 0
    for d in ("done", "failed"):
        p = os.path.join(spool, d)
        if not os.path.isdir(p):
            continue
        for name in os.listdir(p):
            if not name.endswith(".outcome.jsonl"):
                continue
            with open(os.path.join(p, name)) as f:
                for line in f:
                    o = json.loads(line)
                    outcomes += 1
                    if o["status"] != "submitted":
                        continue
                    submitted += 1
                    a, b = parse_time(o["acceptedAt"]), parse_time(o["finishedAt"])
                    accepted.append(a)
                    finished.append(b)
                    lat.append(b - a)
    lat.sort()
    span = (max(finished) - min(accepted)) if submitted else float("nan")
    ledger = server.ledger()
    ledger_ok = None if ledger is None else (ledger["totals"]["jobs"] == jobs and ledger["totals"]["runs"] == jobs
                                             and ledger["totals"]["rejectedRuns"] == 0)
    shutil.rmtree(spool, ignore_errors=True)
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else float("nan")  # noqa: E731
    return {"client": "daemon", "jobs": jobs, "outcomes": outcomes, "submitted": submitted,
            "seconds": span, "wall_seconds_from_start": wall, "jobs_per_s": submitted / span,
            "cpu_s_per_1000": cpu / jobs * 1000, "client_cpu_s": cpu, "peak_rss_mib": rss,
            "p50_ms": pct(0.50), "p99_ms": pct(0.99), "errors": jobs - submitted,
            "ledger": None if ledger is None else ledger["totals"], "ledger_ok": ledger_ok,
            "server_cpu_s": s1 - s0, "other_cpu_s": (m1 - m0) - cpu - (s1 - s0),
            "connections": args.connections, "max_inflight": args.max_inflight,
            "command": f"bytenite-submitd (connections={args.connections}, max_inflight={args.max_inflight}, "
                       f"state.fsync=true; {files} files x {lines} requests)"}


def run_peer(server, args, seconds, work):
    cmd = ["taskset", "-c", str(args.client_cpu), PEER_PYTHON, os.path.join(HERE, "aiohttp_peer.py"),
           "--base-url", f"https://localhost:{server.port}/v1", "--ca", server.ca, "--api-key", API_KEY,
           "--connections", str(args.connections), "--concurrency", str(args.max_inflight),
           "--duration", str(seconds)]
    s0, m0 = server.cpu_seconds(), machine_busy_seconds()
    led0 = server.ledger()
    text, rc, cpu, rss = run_measured(cmd, timeout=seconds + 120,
                                      stdout_path=os.path.join(work, f"peer-{server.name}-{args.connections}.out"))
    s1, m1 = server.cpu_seconds(), machine_busy_seconds()
    if rc != 0:
        raise RuntimeError(f"aiohttp peer failed ({rc}):\n{text}")
    r = json.loads(text.strip().splitlines()[-1])
    led1 = server.ledger()
    ledger_ok = None
    if led1 is not None:
        ledger_ok = (led1["totals"]["runs"] - led0["totals"]["runs"] == r["jobs"]
                     and led1["totals"]["rejectedRuns"] == led0["totals"]["rejectedRuns"])
    r.update({"client": "aiohttp", "cpu_s_per_1000": cpu / max(r["jobs"], 1) * 1000, "client_cpu_s": cpu,
              "peak_rss_mib": rss, "server_cpu_s": s1 - s0, "other_cpu_s": (m1 - m0) - cpu - (s1 - s0),
              "ledger_ok": ledger_ok, "command": " ".join(cmd[3:4] + ["bench/aiohttp_peer.py"] + cmd[5:])})
    return r


# ---------------------------------------------------------------------------------------------
# reports


def header(title, args, facts, load_before):
    cmd = "bench/submit_bench.py " + " ".join(sys.argv[1:])
    return [f"# {title}", "",
            f"- command: `{cmd}`",
            f"- date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M:%S UTC')}",
            f"- machine: {facts['cores']} cores, {facts['cpu_model']}, {facts['mem_gib']} GiB RAM, "
            f"Linux {facts['kernel']}",
            f"- load average before the run (1/5/15 min): {' '.join(f'{x:.2f}' for x in load_before)}",
            f"- pinning: server on CPU {args.server_cpu}, the client under test on CPU {args.client_cpu} (taskset)",
            f"- binaries: {os.path.abspath(args.bin)}", ""]


def fmt(v, spec=",.0f"):
    if v is None:
        return "-"
    if isinstance(v, float) and v != v:
        return "n/a"
    return format(v, spec)


def gnuplot(script, out_png):
    if not shutil.which("gnuplot"):
        print("# gnuplot not installed: no plot", flush=True)
        return False
    r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if r.returncode != 0 or not os.path.exists(out_png):
        print(f"# gnuplot failed: {r.stderr}", flush=True)
        return False
    return True


def plot_compare(results, out_dir):
    dat = os.path.join(out_dir, "compare.dat")
    with open(dat, "w") as f:
        f.write("# server wrk_limit daemon aiohttp (jobs/s)\n")
        for srv in results["servers"]:
            row = {r["client"]: r["jobs_per_s"] for r in srv["runs"]}
            f.write(f"{srv['server']} {row.get('wrk', 0):.0f} {row.get('daemon', 0):.0f} {row.get('aiohttp', 0):.0f}\n")
    png = os.path.join(out_dir, "compare.png")
    f = results["facts"]
    script = f"""
set terminal pngcairo size 900,540 font ",11"
set output '{png}'
set title "jobs/s, {results['connections']} TLS connections, server CPU {results['server_cpu']} / client CPU {results['client_cpu']}\\n{f['cores']} cores, {f['cpu_model']}, load {results['load_before'][0]:.2f}"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set ylabel "jobs/s (higher is better)"
set yrange [0:*]
set grid ytics
set key top right
set xrange [-0.6:{len(results['servers']) - 0.4}]
plot '{dat}' using 2:xtic(1) title "wrk limit (req/s / 4)", '' using 3 title "bytenite-submitd", '' using 4 title "aiohttp peer", \
     '' using ($0-0.25):2:(sprintf("%.0f",$2)) with labels offset 0,0.7 notitle, \
     '' using ($0):3:(sprintf("%.0f",$3)) with labels offset 0,0.7 notitle, \
     '' using ($0+0.25):4:(sprintf("%.0f",$4)) with labels offset 0,0.7 notitle
"""
    return gnuplot(script, png)


def compare(args, servers=("nginx", "emulator")):
    facts = machine_facts()
    os.makedirs(args.out, exist_ok=True)
    load_before = wait_for_quiet(args.max_load, args.max_wait)
    print(f"# load average before: {load_before}", flush=True)
    work = tempfile.mkdtemp(prefix="submit-bench-")
    results = {"facts": facts, "load_before": load_before, "connections": args.connections,
               "max_inflight": args.max_inflight, "server_cpu": args.server_cpu, "client_cpu": args.client_cpu,
               "command": "bench/submit_bench.py " + " ".join(sys.argv[1:]), "servers": []}
    try:
        for name in servers:
            if name == "nginx":
                server = Nginx(work, args.server_cpu)
            else:
                server = Emulator(work, args.server_cpu, args.bin)
            runs = []
            try:
                server.start()
                la = loadavg()
                w = run_wrk(server, args, args.wrk_seconds, work)
                w["load_before"] = la
                runs.append(w)
                print(json.dumps(w), flush=True)
                jobs = args.daemon_jobs or max(1000, int(w["jobs_per_s"] * args.daemon_seconds / 1000 + 1) * 1000)
                if name == "emulator":  # a fresh emulator per client: an empty job store and ledger
                    server.stop()
                    server.start()
                la = loadavg()
                d = run_daemon(server, args, jobs, work)
                d["load_before"] = la
                runs.append(d)
                print(json.dumps(d), flush=True)
                if name == "emulator":
                    server.stop()
                    server.start()
                la = loadavg()
                p = run_peer(server, args, args.peer_seconds, work)
                p["load_before"] = la
                runs.append(p)
                print(json.dumps(p), flush=True)
            finally:
                server.stop()
            results["servers"].append({"server": name, "runs": runs})
    finally:
        if args.keep:
            print(f"# kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    results["load_after"] = loadavg()
    lines = header("Side by side: wrk limit, bytenite-submitd, aiohttp peer", args, facts, load_before)
    lines += [f"Every client uses {args.connections} TLS keep-alive connections; the daemon and the aiohttp peer "
              f"keep {args.max_inflight} jobs in flight over them; the daemon journals with `state.fsync = true`. "
              "jobs/s of wrk = requests/s / 4. Latency = one job from acceptance (daemon) or its first call (peer) "
              "to its run acknowledged; for wrk the per-request latency is given instead. CPU = the client's own "
              "user+system seconds; server CPU = the server's seconds during that client's run; "
              "other CPU = what the rest of the machine used meanwhile.", "",
              "| server | client | jobs | seconds | jobs/s | x wrk limit | client CPU s / 1000 jobs | "
              "server CPU s (% of run) | other CPU s | p50 ms | p99 ms | peak RSS MiB | errors | check |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    summary = []
    for srv in results["servers"]:
        limit = next(r["jobs_per_s"] for r in srv["runs"] if r["client"] == "wrk")
        for r in srv["runs"]:
            r["ratio_to_limit"] = r["jobs_per_s"] / limit
            if r["client"] == "wrk":
                lat = (f"{r['request_p50_ms']:.2f} (req)", f"{r['request_p99_ms']:.2f} (req)")
                check = f"{r['runs_acknowledged']:,} runs acked"
            else:
                lat = (fmt(r["p50_ms"], ".1f"), fmt(r["p99_ms"], ".1f"))
                check = {None: "outcomes only", True: "ledger: 1 job + 1 run each", False: "LEDGER MISMATCH"}[
                    r.get("ledger_ok")]
                if r["client"] == "daemon":
                    check = f"{r['submitted']:,}/{r['jobs']:,} submitted; " + check
            lines.append(f"| {srv['server']} | {r['client']} | {r['jobs']:,} | {r['seconds']:.1f} | "
                         f"{r['jobs_per_s']:,.0f} | {r['ratio_to_limit']:.2f} | {r['cpu_s_per_1000']:.3f} | "
                         f"{r['server_cpu_s']:.1f} ({100 * r['server_cpu_s'] / r['seconds']:.0f}%) | "
                         f"{r['other_cpu_s']:.1f} | {lat[0]} | {lat[1]} | {r['peak_rss_mib']:.1f} | "
                         f"{r['errors']:,} | {check} |")
        byc = {r["client"]: r for r in srv["runs"]}
        if "daemon" in byc and "aiohttp" in byc:
            summary.append(f"- {srv['server']}: daemon / wrk limit = **{byc['daemon']['ratio_to_limit']:.2f}**, "
                           f"daemon / aiohttp peer = **{byc['daemon']['jobs_per_s'] / byc['aiohttp']['jobs_per_s']:.1f}x**")
            srv["daemon_over_limit"] = byc["daemon"]["ratio_to_limit"]
            srv["daemon_over_peer"] = byc["daemon"]["jobs_per_s"] / byc["aiohttp"]["jobs_per_s"]
    lines += ["", "Ratios (same invocation):", ""] + summary
    lines += ["", f"Load average after the run: {' '.join(f'{x:.2f}' for x in results['load_after'])}", "",
              "Commands (run by the script, ports picked at run time):", ""]
    for srv in results["servers"]:
        for r in srv["runs"]:
            lines.append(f"- {srv['server']} / {r['client']}: `{r['command']}`")
    lines.append("")
    with open(os.path.join(args.out, "compare.md"), "w") as f:
        f.write("\n".join(lines))
    with open(os.path.join(args.out, "compare.json"), "w") as f:
        json.dump(results, f, indent=1)
    plotted = plot_compare(results, args.out)
    print("\n".join(lines))
    print(f"# wrote {args.out}/compare.md, compare.json" + (", compare.png" if plotted else ""))
    return results


# ---------------------------------------------------------------------------------------------
# WAN


def plot_wan(results, out_dir):
    dat = os.path.join(out_dir, "wan.dat")
    with open(dat, "w") as f:
        f.write("# connections bound daemon wrk aiohttp (jobs/s)\n")
        for e in results["pools"]:
            f.write(f"{e['connections']} {e['bound_jobs_per_s']:.0f} {e['daemon']['jobs_per_s']:.0f} "
                    f"{e['wrk']['jobs_per_s'] if 'wrk' in e else 0:.0f} "
                    f"{e['aiohttp']['jobs_per_s'] if 'aiohttp' in e else 0:.0f}\n")
    png = os.path.join(out_dir, "wan.png")
    peer = ", '' using 5 title \"aiohttp peer\"" if any("aiohttp" in e for e in results["pools"]) else ""
    gnuplot(f"""
set terminal pngcairo size 900,540 font ",11"
set output '{png}'
set title "jobs/s with the API {results["latency_ms"]} ms away (emulator latency knob); load {results["load_before"][0]:.2f}\\n{results['facts']['cores']} cores, {results['facts']['cpu_model']}"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set ylabel "jobs/s"
set xlabel "TLS connections"
set yrange [0:*]
set grid ytics
set key top left
set xrange [-0.6:{len(results['pools']) - 0.4}]
plot '{dat}' using 2:xtic(1) title "Little's-law bound", '' using 3 title "bytenite-submitd", '' using 4 title "wrk (req/s / 4)"{peer}
""", png)


def wan(args):
    facts = machine_facts()
    os.makedirs(args.out, exist_ok=True)
    load_before = wait_for_quiet(args.max_load, args.max_wait)
    work = tempfile.mkdtemp(prefix="submit-bench-wan-")
    rtt = args.latency_ms / 1000.0
    results = {"facts": facts, "load_before": load_before, "latency_ms": args.latency_ms,
               "command": "bench/submit_bench.py " + " ".join(sys.argv[1:]), "pools": []}
    base_inflight = args.max_inflight
    try:
        for c in [int(x) for x in args.pools.split(",")]:
            args.connections = c
            args.max_inflight = max(base_inflight, args.inflight_factor * c)
            bound = c / (4 * rtt)
            server = Emulator(work, args.server_cpu, args.bin, latency_ms=args.latency_ms)
            entry = {"connections": c, "max_inflight": args.max_inflight, "bound_jobs_per_s": bound}
            try:
                if args.wan_wrk_seconds > 0:
                    server.start()
                    entry["wrk"] = run_wrk(server, args, args.wan_wrk_seconds, work)
                    server.stop()
                    print(json.dumps(entry["wrk"]), flush=True)
                server.start()
                jobs = max(1000, int(bound * args.daemon_seconds / 1000 + 1) * 1000)
                entry["load_before"] = loadavg()
                entry["daemon"] = run_daemon(server, args, jobs, work)
                print(json.dumps(entry["daemon"]), flush=True)
                if args.wan_peer_seconds > 0:
                    server.stop()
                    server.start()
                    entry["aiohttp"] = run_peer(server, args, args.wan_peer_seconds, work)
                    print(json.dumps(entry["aiohttp"]), flush=True)
            finally:
                server.stop()
            results["pools"].append(entry)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        args.max_inflight = base_inflight
    results["load_after"] = loadavg()
    lines = header(f"WAN: the API {args.latency_ms} ms away (emulator --latency-ms {args.latency_ms})",
                   args, facts, load_before)
    lines += [f"Little's-law bound = connections / (4 round trips per job x {args.latency_ms} ms). The daemon keeps "
              "max_inflight jobs in flight over the pool; journal fsync on. wrk and the aiohttp peer run the same "
              "mix with the same connections for reference.", "",
              "| connections | max_inflight | bound jobs/s | daemon jobs | daemon s | daemon jobs/s | daemon / bound | "
              "p50 ms | p99 ms | CPU s / 1000 jobs | peak RSS MiB | wrk jobs/s (req/s / 4) | wrk / bound | "
              "aiohttp jobs/s | aiohttp / bound | check |",
              "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for e in results["pools"]:
        d, b = e["daemon"], e["bound_jobs_per_s"]
        e["daemon_over_bound"] = d["jobs_per_s"] / b
        w, p = e.get("wrk"), e.get("aiohttp")
        lines.append(f"| {e['connections']} | {e['max_inflight']} | {b:,.0f} | {d['jobs']:,} | {d['seconds']:.1f} | "
                     f"{d['jobs_per_s']:,.0f} | **{d['jobs_per_s'] / b:.2f}** | {d['p50_ms']:.1f} | {d['p99_ms']:.1f} | "
                     f"{d['cpu_s_per_1000']:.3f} | {d['peak_rss_mib']:.1f} | "
                     f"{fmt(w['jobs_per_s'] if w else None)} | {fmt(w['jobs_per_s'] / b if w else None, '.2f')} | "
                     f"{fmt(p['jobs_per_s'] if p else None)} | {fmt(p['jobs_per_s'] / b if p else None, '.2f')} | "
                     f"{d['submitted']:,}/{d['jobs']:,} submitted; ledger {'ok' if d['ledger_ok'] else 'MISMATCH'} |")
    lines += ["", f"Load average after the run: {' '.join(f'{x:.2f}' for x in results['load_after'])}", ""]
    with open(os.path.join(args.out, "wan.md"), "w") as f:
        f.write("\n".join(lines))
    with open(os.path.join(args.out, "wan.json"), "w") as f:
        json.dump(results, f, indent=1)
    plot_wan(results, args.out)
    print("\n".join(lines))
    return results


# ---------------------------------------------------------------------------------------------
# scale


def scale(args):
    facts = machine_facts()
    os.makedirs(args.out, exist_ok=True)
    load_before = wait_for_quiet(args.max_load, args.max_wait)
    work = tempfile.mkdtemp(prefix="submit-bench-scale-")
    rows = []
    try:
        for total in [int(x) for x in args.backlogs.split(",")]:
            lines_per_file = min(1000, total)
            ns = argparse.Namespace(files=total // lines_per_file, lines=lines_per_file, bin=args.bin,
                                    connections=args.connections, max_inflight=args.max_inflight)
            la = loadavg()
            r = spool_drain.run_once(ns, "on", work)
            r["load_before"] = la
            r["files"] = ns.files
            rows.append(r)
            print(json.dumps(r), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    lines = header("Scale: drain a spool backlog (bench/spool_drain.py, journal fsync on)", args, facts, load_before)
    lines += [f"Emulator `--threads 1` on CPU 0, daemon on CPU 1 (spool_drain.py's pinning), {args.connections} "
              f"connections, max_inflight {args.max_inflight}, files of 1,000 requests already waiting when the "
              "daemon starts; timed from the daemon's start to the last outcome file.", "",
              "| requests | files | seconds | jobs/s | CPU s / 1000 jobs | peak RSS MiB | RSS / smallest | load before | ledger |",
              "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    base = rows[0]["peak_rss_mib"] if rows else 1
    for r in rows:
        lines.append(f"| {r['jobs']:,} | {r['files']:,} | {r['seconds']:.1f} | {r['jobs_per_s']:,.0f} | "
                     f"{r['cpu_s_per_1000']:.3f} | {r['peak_rss_mib']:.1f} | {r['peak_rss_mib'] / base:.2f} | "
                     f"{r['load_before'][0]:.2f} | {'one job + one run each' if r['ledger_ok'] else 'MISMATCH'} |")
    lines += ["", f"Load average after the run: {' '.join(f'{x:.2f}' for x in loadavg())}", ""]
    with open(os.path.join(args.out, "scale.md"), "w") as f:
        f.write("\n".join(lines))
    with open(os.path.join(args.out, "scale.json"), "w") as f:
        json.dump({"facts": facts, "load_before": load_before, "rows": rows}, f, indent=1)
    print("\n".join(lines))
    return rows


# ---------------------------------------------------------------------------------------------
# smoke (CTest label bench)


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
        limit = run_wrk(server, args, args.wrk_seconds, work)
        print(f"# load average before: {load_before}; wrk limit {limit['jobs_per_s']:,.0f} jobs/s", flush=True)
        jobs = args.daemon_jobs or int(limit["jobs_per_s"] * 0.6 * args.daemon_seconds)
        for round_ in range(args.repeat):
            for b in bins:
                args.bin = b
                r = run_daemon(server, args, jobs, work)
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


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["compare", "wan", "scale", "all", "ab", "smoke"])
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
    p.add_argument("--latency-ms", type=int, default=50, help="wan: the emulator's added latency (= RTT)")
    p.add_argument("--pools", default="64,256", help="wan: connection pool sizes")
    p.add_argument("--inflight-factor", type=int, default=2, help="wan: max_inflight = max(--max-inflight, F x C)")
    p.add_argument("--wan-wrk-seconds", type=int, default=10)
    p.add_argument("--wan-peer-seconds", type=float, default=0)
    p.add_argument("--backlogs", default="10000,100000,1000000", help="scale: backlog sizes")
    p.add_argument("--max-load", type=float, default=0.5)
    p.add_argument("--max-wait", type=float, default=600)
    p.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    p.add_argument("--bins", default="", help="ab: build/bin directories to compare, comma-separated")
    p.add_argument("--repeat", type=int, default=3, help="ab: rounds (each runs every build once)")
    args = p.parse_args()
    if args.command == "smoke":
        return smoke(args)
    if args.command == "ab":
        return ab(args)
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
