#!/usr/bin/env python3
"""Starts examples/cluster's server, makes connections one after another
and counts which worker answered each; then stops the server with SIGTERM
and checks that it exits 0.

Usage: spread.py SERVER [--mode roundrobin|reuseport] [--workers N]
                 [--connections C] [--ctrl-c] [--check]

--ctrl-c stops the server as a terminal's Ctrl-C does: SIGINT to its whole
process group, workers included, instead of SIGTERM to the primary.
--check fails (exit 1) unless every connection was answered, every worker
answered at least one, and every worker ended by draining (exit status 0,
no signal) (ctest examples.cluster_*).
"""
import argparse
import collections
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("server")
    ap.add_argument("--mode", default="roundrobin")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--connections", type=int, default=100)
    ap.add_argument("--ctrl-c", action="store_true")
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        pf = os.path.join(d, "port")
        srv = subprocess.Popen([a.server, "--workers", str(a.workers),
                                "--mode", a.mode, "--port", "0",
                                "--port-file", pf],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE,
                               start_new_session=a.ctrl_c)
        try:
            for _ in range(800):
                if os.path.exists(pf) or srv.poll() is not None:
                    break
                time.sleep(0.025)
            port = int(open(pf).read())  # written once every worker is ready
            counts = collections.Counter()
            failed = 0
            for _ in range(a.connections):
                try:
                    with socket.create_connection(("127.0.0.1", port), 5) as s:
                        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                        data = b""
                        while True:
                            chunk = s.recv(4096)
                            if not chunk:
                                break
                            data += chunk
                    body = data.split(b"\r\n\r\n", 1)[1].decode()
                    counts[int(body.split()[1])] += 1
                except (OSError, IndexError, ValueError):
                    failed += 1
        finally:
            if a.ctrl_c:
                os.killpg(srv.pid, signal.SIGINT)
            else:
                srv.send_signal(signal.SIGTERM)
            try:
                _, err = srv.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                srv.kill()
                _, err = srv.communicate()
    spread = " ".join(f"worker {w}: {counts[w]}" for w in range(a.workers))
    print(f"{a.mode}, {a.workers} workers, {a.connections} connections: "
          f"{spread}, failed {failed}")
    if not a.check:
        return 0
    log = err.decode(errors="replace")
    drained = log.count("ended: status 0 signal 0, not restarted")
    ok = (failed == 0 and srv.returncode == 0 and drained == a.workers and
          all(counts[w] > 0 for w in range(a.workers)))
    if not ok:
        sys.stderr.write(log)
        sys.stderr.write(f"server exit {srv.returncode}\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
