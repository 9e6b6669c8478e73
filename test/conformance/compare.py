#!/usr/bin/env python3
"""Runs a Node program and its C counterpart; their outputs must match.

Usage: compare.py CASE.js C_PROGRAM

Exit 0 when both print the same lines, 1 with a side-by-side diff when they
do not (or when either fails), 77 (ctest's skip) when node is missing.
"""
import difflib
import shutil
import subprocess
import sys


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=30)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        raise SystemExit(f"compare: {' '.join(cmd)} exited {p.returncode}")
    return p.stdout.splitlines()


def main():
    js, program = sys.argv[1], sys.argv[2]
    node = shutil.which("node")
    if node is None:
        print("compare: node is not installed (test/run.sh deps): skipped")
        return 77
    want = run([node, js])
    got = run([program])
    if want == got:
        print(f"compare: {len(got)} lines, as node prints them")
        return 0
    print("compare: the C program's output differs from node's")
    for line in difflib.unified_diff(want, got, "node", "libasyncrt",
                                     lineterm=""):
        print(line)
    return 1


if __name__ == "__main__":
    sys.exit(main())
