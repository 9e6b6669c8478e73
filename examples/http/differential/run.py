#!/usr/bin/env python3
"""Differential test of the HTTP example's request parser against Node's.

Generates a fixed set of requests (valid and invalid request lines, header
fields, Content-Length and Transfer-Encoding variants, chunk sizes,
extensions and trailers, bare CR and LF, ...), has verdict.c (this parser)
and node_verdict.js (Node's http server, strict parser) judge the first
message of each, and compares: accept with the same method, target, fields
and body, reject, or incomplete. Every disagreement must be listed in the
table of README.md beside this file, with the reason this parser is right;
a listed case that no longer disagrees fails too, so the table stays true.

Usage: run.py VERDICT_BINARY [NODE]   exit 0 pass, 1 fail, 77 no node
"""
import fnmatch
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
H = b"Host: a\r\n"


def cases():
    """The generated requests, as (name, bytes), in a fixed order."""
    out = []

    def add(name, raw):
        out.append((name, raw))

    # Request lines.
    for m in [b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS",
              b"PATCH", b"TRACE"]:
        add("line/method-" + m.decode(), m + b" /x HTTP/1.1\r\n" + H + b"\r\n")
    bad_lines = {
        "lowercase-method": b"get / HTTP/1.1",
        "unknown-method": b"FOO / HTTP/1.1",
        "bad-method-char": b"G(T / HTTP/1.1",
        "no-method": b" / HTTP/1.1",
        "two-spaces": b"GET  / HTTP/1.1",
        "tab-separator": b"GET\t/ HTTP/1.1",
        "trailing-space": b"GET / HTTP/1.1 ",
        "no-version": b"GET /",
        "lowercase-version": b"GET / http/1.1",
        "version-1.2": b"GET / HTTP/1.2",
        "version-2.0": b"GET / HTTP/2.0",
        "version-1.x": b"GET / HTTP/1.x",
        "version-11": b"GET / HTTP/11",
        "target-del": b"GET /\x7f HTTP/1.1",
        "target-ctl": b"GET /\x01 HTTP/1.1",
        "target-utf8": b"GET /caf\xc3\xa9 HTTP/1.1",
        "target-relative": b"GET x HTTP/1.1",
        "target-absolute": b"GET http://a/ HTTP/1.1",
        "target-asterisk": b"OPTIONS * HTTP/1.1",
        "target-query": b"GET /a?b=c&d=%20 HTTP/1.1",
        "target-fragment-chars": b"GET /a#b HTTP/1.1",
        "nul-in-target": b"GET /\x00 HTTP/1.1",
    }
    for name, line in bad_lines.items():
        add("line/" + name, line + b"\r\n" + H + b"\r\n")
    add("line/http10-no-host", b"GET / HTTP/1.0\r\n\r\n")
    add("line/http11-no-host", b"GET / HTTP/1.1\r\n\r\n")
    add("line/leading-crlf", b"\r\n\r\nGET / HTTP/1.1\r\n" + H + b"\r\n")
    add("line/leading-lf", b"\nGET / HTTP/1.1\r\n" + H + b"\r\n")
    add("line/leading-space", b" GET / HTTP/1.1\r\n" + H + b"\r\n")

    # Line endings: bare LF and bare CR in each place.
    add("eol/lf-after-line", b"GET / HTTP/1.1\n" + H + b"\r\n")
    add("eol/lf-after-field", b"GET / HTTP/1.1\r\nHost: a\n\r\n")
    add("eol/lf-lf-end", b"GET / HTTP/1.1\r\nHost: a\n\n")
    add("eol/cr-in-value", b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n")
    add("eol/cr-cr-lf", b"GET / HTTP/1.1\r\n" + H + b"\r\r\n")
    add("eol/all-lf", b"GET / HTTP/1.1\nHost: a\n\n")

    # Header fields.
    fields = {
        "plain": b"X-A: b",
        "no-space": b"X-A:b",
        "empty-value": b"X-A:",
        "tab-around-value": b"X-A:\t b \t",
        "trailing-spaces": b"X-A: b   ",
        "inner-spaces": b"X-A: b  c",
        "obs-text": b"X-A: caf\xc3\xa9",
        "space-before-colon": b"X-A : b",
        "tab-before-colon": b"X-A\t: b",
        "no-colon": b"X-A b",
        "empty-name": b": b",
        "bad-name-char": b"X(A: b",
        "name-with-slash": b"X/A: b",
        "ctl-in-value": b"X-A: b\x01c",
        "del-in-value": b"X-A: b\x7f",
        "nul-in-value": b"X-A: b\x00",
        "tab-in-value": b"X-A: b\tc",
        "obs-fold": b"X-A: b\r\n c",
        "obs-fold-tab": b"X-A: b\r\n\tc",
        "leading-space-line": b" X-A: b",
        "expect-continue": b"Expect: 100-continue",
        "expect-other": b"Expect: foo",
        "connection-close": b"Connection: close",
        "connection-list-empties": b"Connection: , close,",
        "host-dup": b"Host: b",
    }
    for name, f in fields.items():
        add("field/" + name, b"GET / HTTP/1.1\r\n" + H + f + b"\r\n\r\n")
    add("field/host-empty", b"GET / HTTP/1.1\r\nHost:\r\n\r\n")
    add("field/host-case", b"GET / HTTP/1.1\r\nhOsT: a\r\n\r\n")

    # Content-Length.
    cls = {
        "5": [b"5"], "05": [b"05"], "0": [b"0"], "00005": [b"00005"],
        "dup-same": [b"5", b"5"], "dup-other-text": [b"5", b"05"],
        "dup-differ": [b"5", b"6"], "list-same": [b"5, 5"],
        "list-differ": [b"5, 6"], "plus": [b"+5"], "minus": [b"-5"],
        "hex": [b"0x5"], "empty": [b""], "space-inside": [b"5 5"],
        "trailing-space": [b"5 "], "letters": [b"five"],
        "huge": [b"99999999999999999999999"],
        "u64-overflow": [b"18446744073709551616"],
    }
    for name, vals in cls.items():
        head = b"POST / HTTP/1.1\r\n" + H
        for v in vals:
            head += b"Content-Length: " + v + b"\r\n"
        add("cl/" + name, head + b"\r\nhelloWORLD")
    add("cl/short-body", b"POST / HTTP/1.1\r\n" + H +
        b"Content-Length: 10\r\n\r\nhello")
    add("cl/get-with-body", b"GET / HTTP/1.1\r\n" + H +
        b"Content-Length: 2\r\n\r\nhi")
    add("cl/http10", b"POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi")

    # Transfer-Encoding, each with a valid chunked body after it.
    body = b"5\r\nhello\r\n0\r\n\r\n"
    tes = {
        "chunked": [b"chunked"], "upper": [b"CHUNKED"],
        "spaces": [b"  chunked  "], "trailing-comma": [b"chunked,"],
        "leading-comma": [b",chunked"], "double-comma": [b"gzip,,chunked"],
        "empty-element-ws": [b" , chunked"], "gzip-chunked": [b"gzip, chunked"],
        "chunked-gzip": [b"chunked, gzip"], "identity": [b"identity"],
        "gzip": [b"gzip"], "twice-one-field": [b"chunked, chunked"],
        "two-fields": [b"chunked", b"chunked"],
        "split-fields": [b"gzip", b"chunked"], "empty": [b""],
        "chunked-param": [b"chunked;q=1"], "chunkedx": [b"chunkedx"],
        "tab": [b"\tchunked"],
    }
    for name, vals in tes.items():
        head = b"POST / HTTP/1.1\r\n" + H
        for v in vals:
            head += b"Transfer-Encoding: " + v + b"\r\n"
        add("te/" + name, head + b"\r\n" + body)
    add("te/with-cl", b"POST / HTTP/1.1\r\n" + H +
        b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n" + body)
    add("te/cl-first", b"POST / HTTP/1.1\r\n" + H +
        b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    add("te/http10", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
        + body)

    # Chunk-size lines: each is the first line of a body of "hello".
    te = b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
    sizes = {
        "plain": b"5", "upper-hex": b"A", "lower-hex": b"a",
        "leading-zeros": b"0005", "space-x": b"5 x", "space": b"5 ",
        "tab": b"5\t", "space-semi": b"5 ;a", "tab-semi": b"5\t;a",
        "semi-space-name": b"5; a", "ext-name": b"5;a",
        "ext-value": b"5;a=b", "ext-quoted": b'5;a="b c"',
        "ext-quoted-escape": b'5;a="b\\"c"', "ext-two": b"5;a=b;c",
        "ext-bws-eq": b"5;a = b", "ext-empty": b"5;",
        "ext-no-name": b"5;=b", "ext-no-value": b"5;a=",
        "ext-space-in-value": b"5;a=b c", "ext-bad-char": b"5;a\x01",
        "ext-unterminated": b'5;a="b', "ext-after-quote": b'5;a="b"c',
        "ext-trailing-space": b"5;a ", "prefix-0x": b"0x5",
        "plus": b"+5", "minus": b"-5", "empty": b"", "letters": b"zz",
        "digits-16": b"0000000000000005", "overflow": b"10000000000000000",
    }
    for name, s in sizes.items():
        data = b"hello" if name not in ("upper-hex", "lower-hex") else \
            b"0123456789"
        add("chunk/" + name, te + s + b"\r\n" + data + b"\r\n0\r\n\r\n")
    add("chunk/lf-after-size", te + b"5\nhello\r\n0\r\n\r\n")
    add("chunk/lf-after-data", te + b"5\r\nhello\n0\r\n\r\n")
    add("chunk/cr-only-after-data", te + b"5\r\nhello\r0\r\n\r\n")
    add("chunk/data-too-long", te + b"5\r\nhelloX\r\n0\r\n\r\n")
    add("chunk/data-too-short", te + b"5\r\nhell\r\n0\r\n\r\n")
    add("chunk/many", te + b"1\r\na\r\n2\r\nbc\r\n3\r\ndef\r\n0\r\n\r\n")
    add("chunk/no-last", te + b"5\r\nhello\r\n")
    add("chunk/last-ext", te + b"5\r\nhello\r\n0;a=b\r\n\r\n")
    add("chunk/last-space", te + b"5\r\nhello\r\n0 \r\n\r\n")
    add("chunk/last-lf-end", te + b"5\r\nhello\r\n0\r\n\n")

    # Trailers.
    trailers = {
        "one": b"T: v\r\n", "two": b"T: v\r\nU: w\r\n",
        "empty-value": b"T:\r\n", "space-before-colon": b"T : v\r\n",
        "no-colon": b"T v\r\n", "bad-name": b"T(: v\r\n",
        "ctl-in-value": b"T: v\x01\r\n", "obs-fold": b"T: v\r\n w\r\n",
        "bare-lf": b"T: v\n", "content-length": b"Content-Length: 5\r\n",
    }
    for name, t in trailers.items():
        add("trailer/" + name, te + b"5\r\nhello\r\n0\r\n" + t + b"\r\n")

    # Pipelining: only the first message is judged.
    add("pipe/two-gets", b"GET /1 HTTP/1.1\r\n" + H + b"\r\nGET /2 HTTP/1.1\r\n"
        + H + b"\r\n")
    add("pipe/cl-then-garbage", b"POST / HTTP/1.1\r\n" + H +
        b"Content-Length: 2\r\n\r\nhi\x00\x01")
    add("pipe/incomplete-head", b"GET / HTTP/1.1\r\nHost: a\r\n")

    # A combination grid: framing x version x connection, for breadth.
    framings = {
        "none": (b"", b""), "cl": (b"Content-Length: 3\r\n", b"abc"),
        "te": (b"Transfer-Encoding: chunked\r\n", b"3\r\nabc\r\n0\r\n\r\n"),
        "te-ext": (b"Transfer-Encoding: chunked\r\n",
                   b"3;x=\"1\"\r\nabc\r\n0\r\nT: 1\r\n\r\n"),
    }
    for fname, (fh, fb) in framings.items():
        for ver in (b"1.0", b"1.1"):
            for conn in (b"", b"Connection: close\r\n",
                         b"Connection: keep-alive\r\n"):
                for method in (b"GET", b"POST", b"PUT"):
                    name = "grid/%s-%s-%s-%s" % (
                        fname, ver.decode(), method.decode(),
                        conn.split(b":")[1].strip().decode() if conn else "-")
                    add(name, method + b" /g HTTP/" + ver + b"\r\n" + H + conn
                        + fh + b"\r\n" + fb)
    return out


def known_disagreements():
    """Case names or fnmatch patterns listed in README.md's table (first
    column, in backticks)."""
    names = []
    with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
        for line in f:
            m = re.match(r"\|\s*`([^`]+)`\s*\|", line)
            if m:
                names.append(m.group(1))
    return names


def judge(cmd, all_cases):
    text = "".join("%s\t%s\n" % (n, raw.hex()) for n, raw in all_cases)
    res = subprocess.run(cmd, input=text, capture_output=True, text=True,
                         timeout=300, check=False)
    if res.returncode != 0:
        sys.exit("%s failed (%d): %s" % (cmd[0], res.returncode, res.stderr))
    verdicts = {}
    for line in res.stdout.splitlines():
        name, v = line.split("\t", 1)
        verdicts[name] = v
    return verdicts


def kind(v):
    """What is compared: the whole accept line, or only reject/incomplete."""
    return v if v.startswith("accept") else v.split(" ")[0]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    node = shutil.which(sys.argv[2] if len(sys.argv) > 2 else "node")
    if node is None:
        print("SKIP: node is not installed; the differential test needs it "
              "(apt-get install -y nodejs)")
        return 77
    all_cases = cases()
    ours = judge([sys.argv[1]], all_cases)
    theirs = judge([node, os.path.join(HERE, "node_verdict.js")], all_cases)
    listed = known_disagreements()
    used, unlisted, agree = set(), [], 0
    for name, _ in all_cases:
        a, b = ours.get(name, "?"), theirs.get(name, "?")
        if kind(a) == kind(b):
            agree += 1
            continue
        match = [p for p in listed if fnmatch.fnmatchcase(name, p)]
        used.update(match)
        if not match:
            unlisted.append((name, a, b))
    stale = [p for p in listed if p not in used]
    print("%d cases: %d agree, %d disagree as listed in README.md" % (
        len(all_cases), agree, len(all_cases) - agree - len(unlisted)))
    for name, a, b in unlisted:
        print("UNLISTED %s\n  this parser: %s\n  node:        %s" % (name, a, b))
    for p in stale:
        print("STALE %s: listed in README.md, but no case of it disagrees" % p)
    return 1 if unlisted or stale else 0


if __name__ == "__main__":
    sys.exit(main())
