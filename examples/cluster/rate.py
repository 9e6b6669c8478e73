#!/usr/bin/env python3
"""Measures examples/cluster's server under wrk: connections per second
(every request is a new connection: the server answers HTTP/1.0 and
closes) and the server's CPU time per connection, split between the
primary and its workers.

Usage: rate.py SERVER [--mode roundrobin|reuseport] [--workers N]
               [--seconds S] [--connections C]

wrk runs on the same machine: compare CPU per connection between modes,
not the rates alone.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """User plus system time of one process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                         text=True).stdout
    return [int(p) for p in out.split()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("server")
    ap.add_argument("--mode", default="roundrobin")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=16)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        pf = os.path.join(d, "port")
        srv = subprocess.Popen([a.server, "--workers", str(a.workers),
                                "--mode", a.mode, "--port", "0",
                                "--port-file", pf],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        try:
            for _ in range(800):
                if os.path.exists(pf) or srv.poll() is not None:
                    break
                time.sleep(0.025)
            port = int(open(pf).read())
            workers = children(srv.pid)
            before = [cpu_seconds(p) for p in [srv.pid] + workers]
            out = subprocess.run(
                ["wrk", "-t1", f"-c{a.connections}", f"-d{a.seconds}s",
                 f"http://127.0.0.1:{port}/"],
                capture_output=True, text=True).stdout
            after = [cpu_seconds(p) for p in [srv.pid] + workers]
        finally:
            srv.send_signal(signal.SIGTERM)
            srv.wait(timeout=20)
    m = re.search(r"(\d+) requests in ([\d.]+)s", out)
    errors = re.search(r"Socket errors: (.*)", out)
    n, secs = int(m.group(1)), float(m.group(2))
    used = [b - a_ for a_, b in zip(before, after)]
    primary, work = used[0], sum(used[1:])
    print(f"{a.mode}, {a.workers} workers: {n / secs:,.0f} connections/s; "
          f"CPU per connection: primary {primary / n * 1e6:.1f} us, "
          f"workers {work / n * 1e6:.1f} us, "
          f"total {(primary + work) / n * 1e6:.1f} us"
          + (f"; wrk socket errors: {errors.group(1)}" if errors else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
