#!/usr/bin/env python3
"""Checks a diagnostic report (art_loop_report) written by test_report.c.

Usage: report_check.py FILE [type=N ...] [closing=N] [pool_threads=N]
  type=N         the report lists N handles of that type that are not the
                 library's own (internal)
  closing=N      N of those handles are closing
  pool_threads=N the pool section names N threads and its histograms
Prints the fd of the one tcp handle, for the C test to check with
getsockname. Exits 1, saying why, on the first expectation not met.
"""
import json
import sys


def fail(why):
    print("report_check: " + why, file=sys.stderr)
    sys.exit(1)


def main():
    with open(sys.argv[1]) as f:
        rep = json.load(f)  # raises, failing the test, on invalid JSON
    for section in ("header", "handles", "requests", "timers", "ticks",
                    "microtasks", "immediates", "pool", "metrics",
                    "histograms"):
        if section not in rep:
            fail("no section " + section)
    if rep["header"]["backend"] not in ("epoll", "poll", "io_uring"):
        fail("backend " + repr(rep["header"]["backend"]))
    user = [h for h in rep["handles"] if not h["internal"]]
    for h in user:
        for k in ("type", "id", "active", "ref", "closing"):
            if k not in h:
                fail("handle without " + k + ": " + repr(h))
    tcp_fd = None
    for arg in sys.argv[2:]:
        name, value = arg.split("=")
        value = int(value)
        if name == "closing":
            got = sum(1 for h in user if h["closing"])
        elif name == "pool_threads":
            pool = rep["pool"]
            if pool is None:
                fail("no pool")
            got = pool["threads"]
            for lane in ("cpu", "fs", "slow"):
                if lane not in pool["queued"]:
                    fail("no queue for lane " + lane)
                for k in ("wait", "run"):
                    if "p99" not in pool["histograms"][lane][k]:
                        fail("no " + k + " histogram for lane " + lane)
        else:
            got = sum(1 for h in user if h["type"] == name)
        if got != value:
            fail("%s: %d, expected %d" % (name, got, value))
    for h in user:
        if h["type"] == "tcp" and not h["closing"]:
            if "fd" not in h:
                fail("tcp handle without fd")
            tcp_fd = h["fd"]
    print(tcp_fd if tcp_fd is not None else -1)


main()
