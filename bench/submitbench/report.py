"""report: what the scenarios write: the markdown header (exact command line, date, machine,
load, pinning, binaries), number formatting, result files, and the gnuplot plots.
"""
import datetime
import json
import os
import shutil
import subprocess
import sys


def command_line():
    return "bench/submit_bench.py " + " ".join(sys.argv[1:])


def header(title, args, facts, load_before):
    cmd = command_line()
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
    with_go = any(r["client"] == "go" for srv in results["servers"] for r in srv["runs"])
    with open(dat, "w") as f:
        f.write("# server wrk_limit daemon aiohttp" + (" go" if with_go else "") + " (jobs/s)\n")
        for srv in results["servers"]:
            row = {r["client"]: r["jobs_per_s"] for r in srv["runs"]}
            f.write(f"{srv['server']} {row.get('wrk', 0):.0f} {row.get('daemon', 0):.0f} {row.get('aiohttp', 0):.0f}"
                    + (f" {row.get('go', 0):.0f}" if with_go else "") + "\n")
    png = os.path.join(out_dir, "compare.png")
    f = results["facts"]
    if with_go:  # four bars per server
        series = ("'' using 5 title \"Go net/http peer\", \\\n     '' using ($0-0.3):2:(sprintf(\"%.0f\",$2)) with labels "
                  "offset 0,0.7 notitle, \\\n     '' using ($0-0.1):3:(sprintf(\"%.0f\",$3)) with labels offset 0,0.7 notitle, "
                  "\\\n     '' using ($0+0.1):4:(sprintf(\"%.0f\",$4)) with labels offset 0,0.7 notitle, \\\n"
                  "     '' using ($0+0.3):5:(sprintf(\"%.0f\",$5)) with labels offset 0,0.7 notitle")
    else:
        series = ("'' using ($0-0.25):2:(sprintf(\"%.0f\",$2)) with labels offset 0,0.7 notitle, \\\n"
                  "     '' using ($0):3:(sprintf(\"%.0f\",$3)) with labels offset 0,0.7 notitle, \\\n"
                  "     '' using ($0+0.25):4:(sprintf(\"%.0f\",$4)) with labels offset 0,0.7 notitle")
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
plot '{dat}' using 2:xtic(1) title "wrk limit (req/s / 4)", '' using 3 title "bytenite-submitd", '' using 4 title "aiohttp peer", \\
     {series}
"""
    return gnuplot(script, png)


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
    lpf = results.get("lines_per_file", 1000)
    files = "" if lpf == 1000 else f", {lpf}-request files"
    gnuplot(f"""
set terminal pngcairo size 900,540 font ",11"
set output '{png}'
set title "jobs/s with the API {results["latency_ms"]} ms away (emulator latency knob){files}; load {results["load_before"][0]:.2f}\\n{results['facts']['cores']} cores, {results['facts']['cpu_model']}"
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


def write_results(out_dir, stem, lines, results):
    """STEM.md (the lines) and STEM.json (results) in out_dir."""
    with open(os.path.join(out_dir, f"{stem}.md"), "w") as f:
        f.write("\n".join(lines))
    with open(os.path.join(out_dir, f"{stem}.json"), "w") as f:
        json.dump(results, f, indent=1)

