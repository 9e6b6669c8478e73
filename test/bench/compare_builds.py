#!/usr/bin/env python3
"""Runs every benchmark of two builds side by side in one run.

    test/bench/compare_builds.py <before bench dir> <after bench dir>
        [--passes N] [--only bench_a,bench_b] [--pin CPU]

For each benchmark, the two builds run alternately (before, after, before,
after, ... N passes of BENCH_ROUNDS rounds each), so that a slow phase of
the shared machine weighs on both alike. Each run prints libasyncrt's rate
and libuv's, measured in the same process; the table gives, per row, the
median ratio against libuv of each build and the median of after/before of
libasyncrt's own rate. Rows without a libuv figure get only the last.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

BENCHES = ["bench_loop", "bench_timers", "bench_queue_work", "bench_async",
           "bench_fs_stat", "bench_tcp_ping_pong", "bench_tcp_pump",
           "bench_tcp_pound", "bench_udp_pummel", "bench_signal",
           "bench_spawn"]

ROW = re.compile(r"^(?P<name>\S.*?)\s{2,}asyncrt\s+(?P<art>[\d.]+)\s+(?P<unit>\S+)"
                 r"(?:\s+libuv\s+(?P<uv>[\d.]+)\s+\S+\s+ratio\s+(?P<ratio>[\d.]+)x)?")


def run(path, pin):
    cmd = [path]
    if pin is not None:
        cmd = ["taskset", "-c", str(pin)] + cmd
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900,
                         env=dict(os.environ)).stdout
    rows = {}
    for line in out.splitlines():
        m = ROW.match(line)
        if m:
            rows[m.group("name").strip()] = (
                float(m.group("art")), m.group("unit"),
                float(m.group("ratio")) if m.group("ratio") else None)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--only", default="")
    ap.add_argument("--pin", type=int, default=None)
    a = ap.parse_args()
    benches = a.only.split(",") if a.only else BENCHES
    print("| row | before vs libuv | after vs libuv | after / before |")
    print("|---|---|---|---|")
    for b in benches:
        pb, pa = os.path.join(a.before, b), os.path.join(a.after, b)
        if not (os.path.exists(pb) and os.path.exists(pa)):
            print(f"| {b} | missing | | |")
            continue
        seen = {}
        for _ in range(a.passes):
            for which, path in (("before", pb), ("after", pa)):
                for name, v in run(path, a.pin).items():
                    seen.setdefault(name, {"before": [], "after": []})
                    seen[name][which].append(v)
        for name, v in seen.items():
            if not v["before"] or not v["after"]:
                continue
            rb = [x[2] for x in v["before"] if x[2] is not None]
            ra = [x[2] for x in v["after"] if x[2] is not None]
            own = statistics.median(
                x[0] / y[0] for x, y in zip(v["after"], v["before"]) if y[0])
            fb = f"{statistics.median(rb):.2f}x" if rb else "-"
            fa = f"{statistics.median(ra):.2f}x" if ra else "-"
            print(f"| {name} | {fb} | {fa} | {own:.2f} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
