#!/usr/bin/env python3
"""Keeps docs/deploy.md true to the example server it deploys.

docs/deploy.md marks three blocks with "<!-- checked: NAME -->" on the line
before the fence: systemd.socket, systemd.service and kubernetes. For them:
- every --flag named in ExecStart= and in the container's args is one the
  server lists in --help;
- the server starts with those very arguments (the port made 0 and --root
  a temporary folder, so that the test can run anywhere), answers the
  probes the Deployment names (/readyz and /healthz on its port), turns
  /readyz to 503 at SIGTERM, and exits 0 after a second one;
- the units agree with each other and with the flags: Type=notify with a
  watchdog, a socket with a valid FileDescriptorName, TimeoutStopSec and
  terminationGracePeriodSeconds (counting preStop) long enough for
  --drain-delay + --shutdown-timeout + the server's 200 ms of grace.

Usage: check_deploy.py [--selftest] <repository> <server binary>
--selftest breaks a copy of the document in each way the check must catch
(an unknown flag, too short a grace period, a wrong probe path) and checks
that every breakage is reported. Exit 77 (skipped) without PyYAML.
"""
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

try:
    import yaml
except ImportError:
    print("check_deploy: skipped, no PyYAML (python3-yaml)")
    sys.exit(77)

SHUTDOWN_GRACE_MS = 200  # the server's grace after its deadline (server.h)
FENCE = re.compile(r"^```(\w*)\s*$")


def checked_blocks(text):
    """{name: body} of the blocks right after "<!-- checked: name -->"."""
    lines, out, i = text.split("\n"), {}, 0
    while i < len(lines):
        m = re.match(r"^<!-- checked: (\S+) -->$", lines[i])
        if m and i + 1 < len(lines) and FENCE.match(lines[i + 1]):
            body, j = [], i + 2
            while j < len(lines) and lines[j] != "```":
                body.append(lines[j])
                j += 1
            out[m.group(1)] = "\n".join(body) + "\n"
            i = j
        i += 1
    return out


def unit_settings(body):
    """{key: value} of an INI-style unit (last assignment wins)."""
    settings = {}
    for line in body.split("\n"):
        m = re.match(r"^(\w+)=(.*)$", line.strip())
        if m:
            settings[m.group(1)] = m.group(2)
    return settings


def option_value(args, name, default=None):
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            return args[i + 1]
    return default


def port_index(args):
    """Where the positional PORT is among the server's arguments, or None."""
    i = 0
    while i < len(args):
        if args[i] in ("--log", "--count-allocs", "--no-openat2"):
            i += 1
        elif args[i].startswith("--"):
            i += 2
        elif args[i].isdigit():
            return i
        else:
            i += 1
    return None


def port_of(args):
    i = port_index(args)
    return int(args[i]) if i is not None else None


def stop_budget_ms(args):
    return (int(option_value(args, "--drain-delay", "0")) +
            int(option_value(args, "--shutdown-timeout", "5000")) +
            SHUTDOWN_GRACE_MS)


def known_flags(server):
    usage = subprocess.run([server, "--help"], capture_output=True,
                           text=True, timeout=10).stdout
    return set(re.findall(r"^\s+(--[\w-]+)", usage, re.M))


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def run_server(server, args, where, errors):
    """Starts the server with the document's arguments (port 0, a temporary
    --root), checks the probes and the drain, and that it exits 0."""
    with tempfile.TemporaryDirectory() as root:
        args = list(args)
        if "--root" in args:
            args[args.index("--root") + 1] = root
        if port_index(args) is not None:
            args[port_index(args)] = "0"
        else:
            args.append("0")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("LISTEN_", "NOTIFY_", "WATCHDOG_"))}
        p = subprocess.Popen([server] + args, stdout=subprocess.PIPE,
                             text=True, env=env)
        try:
            line = p.stdout.readline()
            m = re.search(r"listening on http://[^:]+:(\d+)", line)
            if not m:
                errors.append("%s: the server did not start with %s: %r"
                              % (where, args, line))
                return
            base = "http://127.0.0.1:%s" % m.group(1)
            for path in ("/healthz", "/readyz"):
                if get(base + path) != 200:
                    errors.append("%s: %s is not 200" % (where, path))
            p.send_signal(signal.SIGTERM)
            if int(option_value(args, "--drain-delay", "0")) > 0:
                # Liveness only: the signal is handled within a moment.
                for _ in range(500):
                    if get(base + "/readyz") == 503:
                        break
                    time.sleep(0.01)
                else:
                    errors.append("%s: /readyz not 503 while draining"
                                  % where)
                if get(base + "/healthz") != 200:
                    errors.append("%s: /healthz not 200 while draining"
                                  % where)
                p.send_signal(signal.SIGTERM)
            status = p.wait(timeout=stop_budget_ms(args) / 1000 + 10)
            if status != 0:
                errors.append("%s: exit status %d" % (where, status))
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()


def check_flags(args, flags, where, errors):
    for a in args:
        if a.startswith("--") and a not in flags:
            errors.append("%s: the server has no flag %s" % (where, a))


def check_systemd(blocks, flags, server, errors):
    sock = unit_settings(blocks.get("systemd.socket", ""))
    svc = unit_settings(blocks.get("systemd.service", ""))
    if "ListenStream" not in sock:
        errors.append("systemd.socket: no ListenStream=")
    name = sock.get("FileDescriptorName", "")
    if not (0 < len(name) <= 255 and ":" not in name and name.isprintable()):
        errors.append("systemd.socket: bad FileDescriptorName=%r" % name)
    if svc.get("Type") != "notify" or "WatchdogSec" not in svc:
        errors.append("systemd.service: wants Type=notify and WatchdogSec=")
    exec_start = shlex.split(svc.get("ExecStart", ""))
    if not exec_start:
        errors.append("systemd.service: no ExecStart=")
        return
    args = exec_start[1:]
    check_flags(args, flags, "systemd.service ExecStart", errors)
    if float(svc.get("TimeoutStopSec", "0")) * 1000 < stop_budget_ms(args):
        errors.append("systemd.service: TimeoutStopSec=%s is shorter than "
                      "the drain (%d ms)" % (svc.get("TimeoutStopSec"),
                                             stop_budget_ms(args)))
    if not errors:
        run_server(server, args, "systemd.service", errors)


def check_kubernetes(blocks, flags, server, errors):
    try:
        doc = yaml.safe_load(blocks.get("kubernetes", ""))
        pod = doc["spec"]["template"]["spec"]
        c = pod["containers"][0]
        args = [str(a) for a in c["args"]]
    except (yaml.YAMLError, KeyError, TypeError, IndexError) as e:
        errors.append("kubernetes: not a Deployment with args: %r" % e)
        return
    check_flags(args, flags, "kubernetes args", errors)
    port = port_of(args)
    ports = [p.get("containerPort") for p in c.get("ports", [])]
    if port is None or port not in ports:
        errors.append("kubernetes: PORT %s is not a containerPort %s"
                      % (port, ports))
    if option_value(args, "--host") != "0.0.0.0":
        errors.append("kubernetes: --host must be 0.0.0.0 in a pod")
    for probe, path in (("readinessProbe", "/readyz"),
                        ("livenessProbe", "/healthz")):
        got = c.get(probe, {}).get("httpGet", {})
        if got.get("path") != path or got.get("port") != port:
            errors.append("kubernetes: %s must be GET %s on port %s, is %r"
                          % (probe, path, port, got))
    pre = c.get("lifecycle", {}).get("preStop", {})
    pre_s = pre.get("sleep", {}).get("seconds")
    if pre_s is None and "exec" not in pre:
        errors.append("kubernetes: no preStop hook")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    need = (pre_s or 0) * 1000 + stop_budget_ms(args)
    if grace * 1000 < need:
        errors.append("kubernetes: terminationGracePeriodSeconds %s < "
                      "preStop + drain (%d ms)" % (grace, need))
    if not errors:
        run_server(server, args, "kubernetes", errors)


def check(text, server):
    errors = []
    blocks = checked_blocks(text)
    for name in ("systemd.socket", "systemd.service", "kubernetes"):
        if name not in blocks:
            errors.append("no block marked <!-- checked: %s -->" % name)
    flags = known_flags(server)
    if "--drain-delay" not in flags:
        errors.append("the server's --help lists no --drain-delay: %s"
                      % sorted(flags))
    check_systemd(blocks, flags, server, errors)
    check_kubernetes(blocks, flags, server, errors)
    return errors


def selftest(text, server):
    breakages = [
        ("an unknown flag in ExecStart",
         lambda t: t.replace("--drain-delay 0", "--drain-delay 0 --grace-ms 1")),
        ("a short TimeoutStopSec",
         lambda t: t.replace("TimeoutStopSec=15", "TimeoutStopSec=5")),
        ("a short terminationGracePeriodSeconds",
         lambda t: t.replace("terminationGracePeriodSeconds: 35",
                             "terminationGracePeriodSeconds: 20")),
        ("a wrong readiness path",
         lambda t: t.replace("path: /readyz", "path: /ready")),
        ("an unknown flag in args",
         lambda t: t.replace('"--idle-timeout"', '"--keepalive"')),
        ("no Type=notify", lambda t: t.replace("Type=notify", "Type=simple")),
    ]
    failed = 0
    for what, brk in breakages:
        broken = brk(text)
        if broken == text:
            print("selftest: %s: the document no longer has what it breaks"
                  % what)
            failed = 1
        elif not check(broken, server):
            print("selftest: %s was not caught" % what)
            failed = 1
    return failed


def main(argv):
    self_test = "--selftest" in argv
    argv = [a for a in argv if a != "--selftest"]
    if len(argv) != 3:
        print(__doc__)
        return 2
    with open(os.path.join(argv[1], "docs", "deploy.md"),
              encoding="utf-8") as f:
        text = f.read()
    errors = check(text, argv[2])
    for e in errors:
        print("docs/deploy.md: " + e)
    if errors:
        return 1
    if self_test and selftest(text, argv[2]):
        return 1
    print("check_deploy: docs/deploy.md matches the server%s"
          % (" (and every breakage is caught)" if self_test else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
