"""machine: facts about this machine, its load, CPU and RSS of processes (/proc), run_measured.

Also the small process helpers every scenario uses: free ports, waiting for a port, stopping.
"""
import os
import platform
import signal
import socket
import subprocess
import tempfile
import time

import spool_drain  # bench/spool_drain.py: the /proc readers

TICKS = os.sysconf("SC_CLK_TCK")


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


def peak_rss_mib(pid):
    try:
        return spool_drain.proc_peak_rss_mib(pid)
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return float("nan")


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


class Measured:
    """A child process whose CPU seconds (wait4's rusage) and peak RSS (VmHWM) are measured.

    Peak RSS from VmHWM while it runs: wait4's ru_maxrss would include this (large) Python
    process's RSS at fork time, which Linux carries over the exec. Call poll() often.
    """

    def __init__(self, cmd, env=None, stdout_path=None):
        self.out = open(stdout_path, "w+") if stdout_path else tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=subprocess.STDOUT, env=env)
        self.peak_mib, self.usage, self.status = 0.0, None, None

    def poll(self):
        """True once the process has ended (and was reaped)."""
        if self.usage is not None:
            return True
        pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
        if pid:
            self.status, self.usage = status, usage
            return True
        try:
            self.peak_mib = max(self.peak_mib, spool_drain.proc_peak_rss_mib(self.proc.pid))
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass
        return False

    def kill(self):
        if self.usage is None:
            self.proc.kill()
            pid, self.status, self.usage = os.wait4(self.proc.pid, 0)

    def result(self):
        """(stdout text, returncode, cpu seconds, peak RSS MiB) of the ended process."""
        self.proc.returncode = os.waitstatus_to_exitcode(self.status)
        self.out.seek(0)
        text = self.out.read()
        self.out.close()
        return text, self.proc.returncode, self.usage.ru_utime + self.usage.ru_stime, self.peak_mib


def run_measured(cmd, env=None, timeout=None, stdout_path=None):
    """Runs cmd to completion; returns (stdout text, returncode, cpu seconds, peak RSS MiB)."""
    m = Measured(cmd, env=env, stdout_path=stdout_path)
    deadline = time.monotonic() + timeout if timeout else None
    while not m.poll():
        if deadline and time.monotonic() > deadline:
            m.kill()
            break
        time.sleep(0.05)
    return m.result()
