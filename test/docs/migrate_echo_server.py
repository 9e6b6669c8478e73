#!/usr/bin/env python3
"""Drives docs/examples/migrate_echo_server: starts it on an ephemeral port,
echoes two messages over one connection, closes it, then stops the server
with SIGINT and checks that it shuts down cleanly (exit 0, every handle
closed, art_loop_close 0) and reports what it echoed."""
import signal
import socket
import subprocess
import sys

def main(exe):
    server = subprocess.Popen([exe, "0"], stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        prefix = "listening on 127.0.0.1:"
        if not line.startswith(prefix):
            raise SystemExit("unexpected first line: %r" % line)
        port = int(line[len(prefix):])
        with socket.create_connection(("127.0.0.1", port), timeout=20) as c:
            for message in (b"hello\n", b"world!\n"):
                c.sendall(message)
                got = b""
                while len(got) < len(message):
                    chunk = c.recv(100)
                    if not chunk:
                        break
                    got += chunk
                if got != message:
                    raise SystemExit("echo: sent %r, got %r" % (message, got))
        want = ["connection 1", "connection 1 closed"]
        for expected in want:
            line = server.stdout.readline().rstrip("\n")
            if line != expected:
                raise SystemExit("expected %r, got %r" % (expected, line))
        server.send_signal(signal.SIGINT)
        rest = server.stdout.read().splitlines()
        rc = server.wait(timeout=20)
        want = ["SIGINT: shutting down", "bye: 1 connection(s), 13 bytes echoed"]
        if rest != want or rc != 0:
            raise SystemExit("after SIGINT: exit %d, output %r, expected %r"
                             % (rc, rest, want))
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()

if __name__ == "__main__":
    main(sys.argv[1])
