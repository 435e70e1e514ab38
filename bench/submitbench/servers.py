"""servers: what the clients talk to: nginx with canned answers (one worker) and bytenite-emulator.

Both pinned with taskset, both on 127.0.0.1 with a throwaway CA; each has start(), stop(),
cpu_seconds() (its own CPU from /proc) and ledger() (the emulator's, None for nginx).
"""
import json
import os
import shutil
import signal
import ssl
import subprocess
import time
import urllib.request

from . import API_KEY, NJS_MODULE
from .machine import children_of, cpu_seconds, free_port, stop, wait_port


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

    def __init__(self, work, cpu, bin_dir, latency_ms=0, threads=1, extra_args=()):
        self.dir = os.path.join(work, "emulator")
        self.cpu, self.bin, self.latency_ms, self.threads = cpu, bin_dir, latency_ms, threads
        self.extra_args = list(extra_args)
        self.proc = None

    def start(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        ready = os.path.join(self.dir, "ready.json")
        self.proc = subprocess.Popen(
            ["taskset", "-c", str(self.cpu), os.path.join(self.bin, "bytenite-emulator"),
             "--listen", "127.0.0.1:0", "--threads", str(self.threads), "--cert-dir", self.dir,
             "--ready-file", ready, "--api-key", API_KEY, "--job-duration-ms", "600000",
             "--latency-ms", str(self.latency_ms), "--quiet"] + self.extra_args, stdout=subprocess.DEVNULL)
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
        return self.hook("GET", "/_emulator/ledger/summary")

    def hook(self, method, path, body=None):
        """A test hook of the emulator (/_emulator/...): its JSON answer."""
        ctx = ssl.create_default_context(cafile=self.ca)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"https://localhost:{self.port}{path}", data=data, method=method)
        with urllib.request.urlopen(req, context=ctx) as r:
            return json.load(r)

    def stop(self):
        stop(self.proc)
        self.proc = None
