#!/usr/bin/env python3
"""Runs the benchmark suite and rewrites the summary of docs/performance.md.

Every benchmark of test/bench/ prints one line per workload:

    NAME   asyncrt X UNIT   libuv Y UNIT   ratio Rx

This script runs them (the list is BENCHES below: what to run, its area and
its target), collects those lines, and writes

  - the table between the markers <!-- report:begin --> and
    <!-- report:end --> of docs/performance.md: every workload with both
    figures, the ratio, the target and the command that gives it;
  - one bar chart per area, docs/perf/<area>.svg, drawn here as plain SVG
    (no plotting package needed): one bar per workload, its length the
    ratio against libuv on a log scale, a line at 1x (parity) and a tick
    at the target.

Usage: test/bench/report.sh [--quick] [--only a,b] [--rounds N] [--http]
  --quick   small counts: checks the pipeline in a minute; the figures are
            then marked as such and not meant for the doc.
"""
import argparse
import datetime
import math
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(ROOT, "docs", "performance.md")
CHART_DIR = os.path.join(ROOT, "docs", "perf")

# (binary, full args, quick args, area, {workload prefix: target ratio})
# A workload's target is the first prefix that starts its name; None: no
# target (reported for context). pin: also run under `taskset -c 0`.
BENCHES = [
    ("bench_timers", [], ["both", "100000", "200000"], "loop",
     {"timers": 3.0}),
    ("bench_loop", [], ["both", "200000"], "loop",
     {"loop_empty": 1.0, "loop_with_fd": None}),
    ("bench_queue_work", [], ["both", "2000", "100000"], "pool",
     {"": 1.25}),
    ("bench_async", [], ["both", "300", "20000"], "pool", {"": 1.25}),
    ("bench_fs_stat", [], ["20000"], "fs", {"": 1.25}),
    ("bench_tcp_ping_pong", [], [], "net",
     {"tcp_ping_pong per CPU-s vs raw": 0.95,
      "tcp_ping_pong vs raw": 0.95, "": 1.1}),
    ("bench_tcp_pump", [], [], "net", {"": 1.0}),
    ("bench_tcp_pound", [], [], "net", {"": 1.0}),
    ("bench_udp_pummel", [], ["both"], "net", {"": 1.0}),
    ("bench_spawn", [], ["50"], "process", {"": 1.0}),
    ("bench_signal", [], ["2000"], "process", {"": 1.0}),
]

LINE = re.compile(
    r"^(?P<name>\S.*?)\s+asyncrt\s+(?P<art>[\d.]+)\s+(?P<unit>\S+)\s+"
    r"(?P<other>libuv|raw epoll)\s+(?P<uv>[\d.]+)\s+\S+\s+"
    r"ratio\s+(?P<ratio>[\d.]+)x")


def run(build, bench, args, rounds):
    exe = os.path.join(build, "test", "bench", bench)
    env = dict(os.environ, BENCH_ROUNDS=str(rounds))
    cmd = [exe] + args
    out = subprocess.run(cmd, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, timeout=900)
    if out.returncode != 0:
        sys.stderr.write(out.stdout)
        raise SystemExit(f"report: {bench} failed ({out.returncode})")
    rows = []
    for line in out.stdout.splitlines():
        m = LINE.match(line.strip())
        if not m:
            continue
        r = m.groupdict()
        # "per CPU second" lines qualify the workload printed before them.
        if r["name"].startswith("per CPU") and rows:
            r["name"] = rows[-1]["name"] + ", " + r["name"]
        rows.append(r)
    return rows


def run_http(build):
    """examples/http/server against Node's http module under wrk
    (test/bench/http_wrk.sh, short settings); [] when wrk or node is
    missing. Ratios: requests/s (higher is better), and p99 and CPU per
    request inverted so that higher is better there too."""
    import shutil
    if not shutil.which("wrk") or not shutil.which("node"):
        print("report: wrk or node missing: HTTP row skipped", flush=True)
        return []
    env = dict(os.environ, DURATION="5", ROUNDS="3", BIG_CONNS="0",
               WARMUP="1")
    out = subprocess.run([os.path.join(ROOT, "test/bench/http_wrk.sh"),
                          build], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, timeout=900)
    m = re.search(r"asyncrt/node: req/s x([\d.]+), p99 x([\d.]+), "
                  r"server CPU per request x([\d.]+)", out.stdout)
    if out.returncode != 0 or not m:
        sys.stderr.write(out.stdout)
        raise SystemExit("report: http_wrk.sh failed")
    rps, p99, cpu = (float(g) for g in m.groups())
    # The medians table: "asyncrt|node req/s p50_ms p99_ms rss_MiB cpu_us".
    med = {}
    for line in out.stdout.splitlines():
        f = line.split()
        if len(f) == 6 and f[0] in ("asyncrt", "node"):
            med[f[0]] = f[1:]
    cmd = "DURATION=5 ROUNDS=3 BIG_CONNS=0 WARMUP=1 test/bench/http_wrk.sh"
    rows = []
    for name, ratio, target, col, unit in (
            ("HTTP GET /api/fast, requests/s", rps, 4.0, 0, "req/s"),
            ("HTTP p99 latency (Node's / ours)", 1 / p99, 1.0, 2, "ms"),
            ("HTTP server CPU per request (Node's / ours)", 1 / cpu, None,
             4, "µs")):
        a, n = (med.get(k, [""] * 5)[col] for k in ("asyncrt", "node"))
        rows.append({"name": name, "art": a, "uv": n, "unit": unit,
                     "other": "node", "ratio": f"{ratio:.2f}",
                     "area": "http", "target": target, "cmd": cmd})
    return rows


def target_of(targets, name):
    for prefix, t in targets.items():
        if name.startswith(prefix):
            return t
    return None


def human(x, unit):
    if x == "":
        return "see command"
    x = float(x)
    # Scaled already by the benchmark (k/s, MB/s), or not a rate.
    if re.match(r"^([kMG]/|[A-Z]|ms|µs)", unit):
        return f"{x:,.4g} {unit}"
    for f, s in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if x >= f:
            return f"{x / f:.3g} {s}{unit}"
    return f"{x:.3g} {unit}"


def verdict(ratio, target):
    if target is None:
        return "—"
    return f"{target:g}x: {'met' if ratio >= target else 'missed'}"


def svg_chart(area, rows):
    """One horizontal bar per workload, log scale from 0.25x to 16x."""
    lo, hi = math.log2(0.25), math.log2(16)
    label_w, bar_w, row_h, top = 300, 420, 22, 30
    width, height = label_w + bar_w + 70, top + row_h * len(rows) + 30

    def x(r):
        v = min(max(math.log2(max(r, 1e-9)), lo), hi)
        return label_w + (v - lo) / (hi - lo) * bar_w

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="8" y="18" font-weight="bold">{area}: libasyncrt / '
           f'libuv, same run (log scale; line at 1x)</text>']
    for i, r in enumerate(rows):
        y = top + i * row_h
        ratio = float(r["ratio"])
        good = r["target"] is None or ratio >= r["target"]
        colour = "#3a7d44" if good else "#c0392b"
        x0 = x(1.0)
        x1 = x(ratio)
        out.append(f'<text x="{label_w - 6}" y="{y + 15}" '
                   f'text-anchor="end">{esc(r["name"])}</text>')
        out.append(f'<rect x="{min(x0, x1):.1f}" y="{y + 4}" '
                   f'width="{abs(x1 - x0):.1f}" height="{row_h - 8}" '
                   f'fill="{colour}"/>')
        if r["target"] is not None:
            xt = x(r["target"])
            out.append(f'<line x1="{xt:.1f}" x2="{xt:.1f}" y1="{y + 2}" '
                       f'y2="{y + row_h - 2}" stroke="black" '
                       f'stroke-dasharray="2,2"/>')
        out.append(f'<text x="{max(x0, x1) + 4:.1f}" y="{y + 15}">'
                   f'{ratio:.2f}x</text>')
    x1 = x(1.0)
    out.append(f'<line x1="{x1:.1f}" x2="{x1:.1f}" y1="{top}" '
               f'y2="{height - 26}" stroke="black"/>')
    for tick in (0.25, 0.5, 1, 2, 4, 8, 16):
        out.append(f'<text x="{x(tick):.1f}" y="{height - 10}" '
                   f'text-anchor="middle">{tick:g}x</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def table(rows, quick, rounds, load):
    when = datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Generated by `test/bench/report.sh` on {when}: Release build, "
        f"medians of {rounds} alternating rounds, libuv in the same process "
        f"run, placement left to the scheduler (not pinned), load average "
        f"{load} at the start."
        + (" **Quick run (small counts): not representative.**" if quick else ""),
        "",
        "| area | workload | libasyncrt | libuv | ratio | target | command |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['area']} | {r['name']} | {human(r['art'], r['unit'])} | "
            f"{human(r['uv'], r['unit'])}{' (' + r['other'] + ')' if r['other'] != 'libuv' else ''} | {float(r['ratio']):.2f}x | "
            f"{verdict(float(r['ratio']), r['target'])} | `{r['cmd']}` |")
    lines.append("")
    areas = []
    for r in rows:
        if r["area"] not in areas:
            areas.append(r["area"])
    for a in areas:
        lines.append(f"![{a}: ratio against libuv](perf/{a}.svg)")
    return "\n".join(lines) + "\n", areas


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "report"))
    ap.add_argument("--only", default="",
                    help="these benchmarks only; prints, writes nothing")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--http", action="store_true",
                    help="also the HTTP server against Node (wrk, node)")
    ap.add_argument("--no-write", action="store_true",
                    help="print the table, leave the doc alone")
    a = ap.parse_args()
    only = set(filter(None, a.only.split(",")))
    load = open("/proc/loadavg").read().split()[0]
    rows = []
    for bench, full, quick, area, targets in BENCHES:
        if only and bench not in only:
            continue
        args = quick if a.quick else full
        print(f"report: {bench} {' '.join(args)}", flush=True)
        for r in run(a.build, bench, args, a.rounds):
            r["area"] = area
            r["target"] = target_of(targets, r["name"])
            r["cmd"] = " ".join([f"BENCH_ROUNDS={a.rounds}",
                                 f"build/report/test/bench/{bench}"] + args)
            rows.append(r)
            print(f"  {r['name']}: {float(r['ratio']):.2f}x", flush=True)
    if a.http:
        rows += run_http(a.build)
    if not rows:
        raise SystemExit("report: no benchmark printed a comparison "
                         "(is libuv1-dev installed?)")
    text, areas = table(rows, a.quick, a.rounds, load)
    if a.no_write or only:  # a partial run never replaces the whole table
        print(text)
        return
    os.makedirs(CHART_DIR, exist_ok=True)
    for area in areas:
        with open(os.path.join(CHART_DIR, f"{area}.svg"), "w") as f:
            f.write(svg_chart(area, [r for r in rows if r["area"] == area]))
    doc = open(DOC).read()
    begin, end = "<!-- report:begin -->\n", "<!-- report:end -->"
    if begin not in doc or end not in doc:
        raise SystemExit("report: docs/performance.md lacks the markers")
    head, rest = doc.split(begin, 1)
    _, tail = rest.split(end, 1)
    with open(DOC, "w") as f:
        f.write(head + begin + text + end + tail)
    print(f"report: wrote docs/performance.md and docs/perf/*.svg "
          f"({len(rows)} workloads)")


if __name__ == "__main__":
    main()
