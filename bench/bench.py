#!/usr/bin/env python3
"""synack's benchmark: synack beside tcpdump and tshark on the same deterministic captures
(../shared/bench), medians of alternating runs, wall time and peak memory of each; and a live
replay onto lo (tcpreplay --topspeed) captured by tcpdump -w and synack watch -w at once.

Usage: bench/bench.py [--workloads medium,large,flood] [--runs 3] [--no-tshark] [--no-live]
                      [--timeout 300] [--results bench/RESULTS.md]
       bench/bench.py --workloads '' (the live replay only; the file's other tables are kept)
Run through bench/run.sh, which builds synack and installs what is missing.
"""

import argparse
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared", "bench")
WORK = os.path.join(ROOT, "bench", "work")
SYNACK = os.path.join(ROOT, "target", "release", "synack")

WORKLOADS = {
    "medium": ["gen_workload.py", "--seed", "1"],
    "large": ["gen_workload.py", "--seed", "1", "--connections", "600000", "--datagrams", "600000"],
    "flood": ["gen_flood.py"],
}


def workload(name):
    path = os.path.join(WORK, name + ".pcap")
    if not os.path.exists(path):
        os.makedirs(WORK, exist_ok=True)
        script, *args = WORKLOADS[name]
        subprocess.run([sys.executable, os.path.join(SHARED, script), path] + args, check=True)
    return path


def measure(cmd, timeout):
    """Wall seconds and peak RSS (MiB) of one run, output to /dev/null; seconds None when
    the command was stopped after `timeout` seconds."""
    with tempfile.NamedTemporaryFile("r") as tf:
        full = ["/usr/bin/time", "-f", "%e %M", "-o", tf.name] + cmd
        p = subprocess.Popen(full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            # Stop the measured command (time's child), then time itself reports.
            subprocess.run(["pkill", "-TERM", "-P", str(p.pid)])
            p.wait()
            return None, 0.0
        secs, kb = tf.read().split()[-2:]
        return float(secs), int(kb) / 1024


def commands(path, tshark):
    c = [
        ("synack read --conns", [SYNACK, "read", "--conns", path]),
        ("synack read --format json", [SYNACK, "read", "--format", "json", path]),
        ("synack read (text)", [SYNACK, "read", path]),
        ("tcpdump -r F -w /dev/null", ["tcpdump", "-r", path, "-w", "/dev/null"]),
        ("tcpdump -nr F", ["tcpdump", "-nr", path]),
    ]
    if tshark:
        c.append(("tshark -q -z conv,tcp", ["tshark", "-r", path, "-q", "-z", "conv,tcp"]))
    return c


def bench_file(name, runs, tshark, timeout):
    path = workload(name)
    cmds = commands(path, tshark)
    subprocess.run(["cat", path], stdout=subprocess.DEVNULL)  # warm the page cache
    times = {n: [] for n, _ in cmds}
    mem = {n: [] for n, _ in cmds}
    stopped = set()
    # Alternating: every command once per round, so a slow minute hurts all alike. A command
    # stopped at the timeout is not run again.
    for _ in range(runs):
        for n, cmd in cmds:
            if n in stopped:
                continue
            s, m = measure(cmd, timeout)
            if s is None:
                stopped.add(n)
                continue
            times[n].append(s)
            mem[n].append(m)
    rows = []
    for n, _ in cmds:
        if n in stopped:
            rows.append((n, None, None))
        else:
            rows.append((n, statistics.median(times[n]), max(mem[n])))
    packets = subprocess.run(["capinfos", "-c", "-M", path], capture_output=True, text=True)
    count = re.search(r"Number of packets:\s+(\d+)", packets.stdout)
    return path, (int(count.group(1)) if count else None), rows


def live(path):
    """tcpreplay --topspeed onto lo, captured by tcpdump -w and synack watch -w at once."""
    tmp = tempfile.mkdtemp()
    td, sw = os.path.join(tmp, "tcpdump.pcap"), os.path.join(tmp, "synack.pcap")
    p1 = subprocess.Popen(["tcpdump", "-i", "lo", "-w", td], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    # synack's output goes to a file: a pipe read only at the end would fill up and stop
    # the analysis (which is then counted as not analysed, as it should be).
    out = open(os.path.join(tmp, "synack.jsonl"), "w+")
    p2 = subprocess.Popen([SYNACK, "watch", "-i", "lo", "-w", sw, "--format", "json"],
                          stdout=out, stderr=subprocess.DEVNULL, text=True)
    time.sleep(2)
    rep = subprocess.run(["tcpreplay", "--topspeed", "-i", "lo", path], capture_output=True,
                         text=True)
    time.sleep(3)
    p1.send_signal(signal.SIGINT)
    p2.send_signal(signal.SIGINT)
    _, e1 = p1.communicate(timeout=120)
    p2.wait(timeout=300)
    out.seek(0)
    o2 = out.read()
    out.close()
    rate = re.search(r"Rated: .*?([\d.]+) pps", rep.stdout)
    summary = {}
    for line in o2.splitlines()[::-1]:
        if line.startswith('{"type":"summary"'):
            import json
            summary = json.loads(line)
            break

    def saved(f):
        out = subprocess.run(["capinfos", "-c", "-M", f], capture_output=True, text=True).stdout
        m = re.search(r"Number of packets:\s+(\d+)", out)
        return int(m.group(1)) if m else 0

    td_drop = re.search(r"(\d+) packets dropped by kernel", e1)
    result = {
        "pps": float(rate.group(1)) if rate else None,
        "tcpdump_saved": saved(td),
        "tcpdump_dropped": int(td_drop.group(1)) if td_drop else None,
        "synack_saved": saved(sw),
        "synack_dropped": summary.get("dropped"),
        "synack_analysed": summary.get("frames"),
        "synack_not_analysed": summary.get("not_analysed"),
    }
    shutil.rmtree(tmp)
    return result


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, {platform.system()} {platform.release()}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workloads", default="medium,large,flood")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-tshark", action="store_true")
    ap.add_argument("--no-live", action="store_true")
    ap.add_argument("--timeout", type=float, default=300,
                    help="stop a command after this many seconds (tcpdump -nr on the flood)")
    ap.add_argument("--results", default=os.path.join(ROOT, "bench", "RESULTS.md"))
    a = ap.parse_args()
    lines = [
        "# synack benchmark results",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {machine()}; "
        f"`bench/run.sh` (medians of {a.runs} alternating runs; peak memory is the largest "
        "of the runs; output to /dev/null).",
        "",
    ]
    for name in filter(None, a.workloads.split(",")):
        path, count, rows = bench_file(name, a.runs, not a.no_tshark, a.timeout)
        base = dict((n, s) for n, s, _ in rows)
        ref = base.get("tcpdump -r F -w /dev/null")
        size = os.path.getsize(path) / 1e6
        lines += [f"## {name}: {count:,} packets, {size:.0f} MB", "",
                  "| command | wall time | × tcpdump -w /dev/null | peak memory |",
                  "|---|---|---|---|"]
        for n, s, m in rows:
            if s is None:
                lines.append(f"| `{n}` | stopped after {a.timeout:.0f} s | — | — |")
                continue
            ratio = f"{s / ref:.1f}×" if ref else "—"
            lines.append(f"| `{n}` | {s:.2f} s | {ratio} | {m:.0f} MiB |")
        nr = base.get("tcpdump -nr F")
        txt = base.get("synack read (text)")
        if nr and txt:
            lines += ["", f"`synack read` (text) is {nr / txt:.1f}× faster than `tcpdump -nr`."]
        lines.append("")
        print("\n".join(lines[-(len(rows) + 6):]), flush=True)
    if not a.no_live:
        r = live(workload("medium"))
        lines += [
            "## live: `tcpreplay --topspeed -i lo medium.pcap`",
            "",
            f"Replayed at {r['pps']:,.0f} packets/s on "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; both captures ran at once.",
            "",
            "| capture | packets saved | dropped by the kernel | analysed | not analysed |",
            "|---|---|---|---|---|",
            f"| `tcpdump -i lo -w` | {r['tcpdump_saved']:,} | {r['tcpdump_dropped']} | — | — |",
            f"| `synack watch -i lo -w --format json` | {r['synack_saved']:,} | "
            f"{r['synack_dropped']} | {r['synack_analysed']:,} | {r['synack_not_analysed']:,} |",
            "",
        ]
        print("\n".join(lines[-8:]), flush=True)
    if not a.workloads and os.path.exists(a.results):
        # Only the live part was run: keep the file's workload tables, replace the live one.
        with open(a.results) as f:
            old = f.read().split("## live")[0].rstrip("\n").split("\n")
        lines = old + [""] + lines[lines.index("## live: `tcpreplay --topspeed -i lo medium.pcap`"):]
    with open(a.results, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"written to {a.results}")


if __name__ == "__main__":
    main()
