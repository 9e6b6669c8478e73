#!/usr/bin/env python3
"""Checks a diagnostic report (art_loop_report) written by test_report.c.

Usage: report_check.py FILE [type=N ...] [closing=N] [pool_threads=N]
  type=N         the report lists N handles of that type that are not the
                 library's own (internal)
  closing=N      N of those handles are closing
  pool_threads=N the pool section names N threads and its histograms
  age.TYPE=A,B   the handles of that type are A, B, ... ms old, in order
  req.TYPE=N     N requests of that type in flight (req.total: all of them)
  path.TYPE=HEX  the one handle of that type has the path whose UTF-8
                 bytes are HEX
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
                    "microtasks", "immediates", "pool", "read_pool",
                    "metrics", "histograms"):
        if section not in rep:
            fail("no section " + section)
    if rep["header"]["backend"] not in ("epoll", "poll", "io_uring"):
        fail("backend " + repr(rep["header"]["backend"]))
    # The read pool: io_uring's, with its shape; null on the others.
    rp = rep["read_pool"]
    if (rp is None) != (rep["header"]["backend"] != "io_uring"):
        fail("read_pool " + repr(rp) + " on " + rep["header"]["backend"])
    if rp is not None and (
            sorted(rp) != ["buffer_size", "buffers", "dry_receives", "made"]
            or rp["buffers"] < 1 or rp["buffer_size"] < 512
            or rp["made"] not in (True, False) or rp["dry_receives"] < 0):
        fail("read_pool " + repr(rp))
    user = [h for h in rep["handles"] if not h["internal"]]
    for h in user:
        for k in ("type", "id", "active", "ref", "closing", "age_ms"):
            if k not in h:
                fail("handle without " + k + ": " + repr(h))
    tcp_fd = None
    for arg in sys.argv[2:]:
        name, value = arg.split("=")
        if name.startswith("age."):
            got = [h["age_ms"] for h in user if h["type"] == name[4:]]
            if got != [int(v) for v in value.split(",")]:
                fail("%s: %r, expected %s" % (name, got, value))
            continue
        if name.startswith("path."):
            got = [h.get("path") for h in user if h["type"] == name[5:]]
            want = bytes.fromhex(value).decode("utf-8")
            if got != [want]:
                fail("%s: %r, expected %r" % (name, got, want))
            continue
        value = int(value)
        if name == "req.total":
            got = rep["requests"]["active"]
        elif name.startswith("req."):
            got = rep["requests"]["by_type"].get(name[4:], 0)
        elif name == "closing":
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
