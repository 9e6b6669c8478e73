#!/usr/bin/env python3
"""Drives docs/examples/service_greeter under systemd-socket-activate: the
tool binds a port and starts the program at the first connection, with the
socket as fd 3 named "greeting" and NOTIFY_SOCKET pointing at a datagram
socket bound here. The connection gets "hello from greeting", the notify
socket hears READY=1 then STOPPING=1, the program exits 0 and says which
fd it served. Skipped (77) without systemd-socket-activate."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(exe):
    tool = shutil.which("systemd-socket-activate")
    if tool is None:
        print("service_greeter: skipped, no systemd-socket-activate")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "notify")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(path)
        notify.settimeout(20)
        port = free_port()
        proc = subprocess.Popen(
            [tool, "-l", "127.0.0.1:%d" % port, "--fdname=greeting",
             "-E", "NOTIFY_SOCKET=" + path, "-E", "WATCHDOG_USEC=2000000",
             exe], stdout=subprocess.PIPE, text=True)
        try:
            for _ in range(500):  # liveness only: until the tool listens
                try:
                    conn = socket.create_connection(("127.0.0.1", port),
                                                    timeout=20)
                    break
                except ConnectionRefusedError:
                    time.sleep(0.01)
            else:
                raise SystemExit("systemd-socket-activate never listened")
            with conn:
                got = b""
                while not got.endswith(b"\n"):
                    chunk = conn.recv(100)
                    if not chunk:
                        break
                    got += chunk
            if got != b"hello from greeting\n":
                raise SystemExit("greeting: %r" % got)
            said = [notify.recv(4096), notify.recv(4096)]
            if said != [b"READY=1", b"STOPPING=1"]:
                raise SystemExit("notify socket heard %r" % said)
            out = proc.stdout.read()
            rc = proc.wait(timeout=20)
            want = "served fd 3 (greeting), watchdog every 1000 ms\n"
            if rc != 0 or out != want:
                raise SystemExit("exit %d, output %r, expected %r"
                                 % (rc, out, want))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            notify.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
