#!/usr/bin/env python3
"""The layer check of docs/design.md, run by test/run.sh and by ctest.

The library is cut into layers (LAYERS below, lowest first). A file may
include and call only files of its own layer or of the layers below, and
areas that share a rank (fs and net) may not call each other. Inside a
layer no two files may call each other, directly or round a longer circle.
A call is a use of a function (art_ or art__) that another file of src/
defines; an include is a quoted #include of another file of src/.

The one callback path: the microtask drain that follows every callback is
reached only through ART__CALLBACK (src/internal.h), and from art_run once
before its first iteration (src/loop.c). Any other call of
art__callback_done is a callback that bypasses the path.

Calling up a layer through a function pointer (a handle type's operations,
an area's hook in the loop's registry, the backend's table) is how the
lower layers reach the upper ones, and is not a call here: only names are.

Usage: test/check_layers.py [repo root]   (exit 1 on a violation)
"""
import os
import re
import sys

# (layer name, rank, path prefixes or files). Longest prefix wins.
LAYERS = [
    ("base", 0, ["src/allocator.c", "src/error.c", "src/histogram.c", "src/util.c",
                 "src/queue.h", "src/base.h"]),
    ("backend", 1, ["src/backend/"]),
    ("core", 2, ["src/"]),
    ("pool", 3, ["src/pool/"]),
    ("fs", 4, ["src/fs/"]),
    ("net", 4, ["src/net/"]),
    ("process", 5, ["src/process/"]),
    ("catalog", 6, ["src/catalog/"]),
    ("cluster", 7, ["src/cluster/"]),
]

DEF_RE = re.compile(r"^[A-Za-z_][\w \t\*]*?\b(art_\w+)\s*\(([^;{]*?)\)\s*\{",
                    re.M | re.S)
TABLE_RE = re.compile(r"^(?:const\s+)?\w+\s+(art__\w+)\s*(?:\[\w*\])?\s*=",
                      re.M)
INLINE_RE = re.compile(r"^static inline [\w \t\*]*?\b(art_\w+)\s*\(", re.M)
USE_RE = re.compile(r"\b(art_\w+)\b")
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of(path):
    best = None
    for name, rank, prefixes in LAYERS:
        for p in prefixes:
            if path == p or (p.endswith("/") and path.startswith(p)):
                if best is None or len(p) > len(best[2]):
                    best = (name, rank, p)
    return best


def strip(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return re.sub(r'"(?:\\.|[^"\\\n])*"', '""', text)


def main(root):
    files = []
    for d, _, names in os.walk(os.path.join(root, "src")):
        for n in names:
            if n.endswith((".c", ".h")):
                files.append(os.path.relpath(os.path.join(d, n), root))
    files.sort()
    raw = {f: open(os.path.join(root, f), encoding="utf-8").read()
           for f in files}
    text = {f: strip(raw[f]) for f in files}

    # Where each function or table is defined.
    defined = {}
    for f in files:
        for rx in (DEF_RE, TABLE_RE, INLINE_RE):
            for m in rx.finditer(text[f]):
                defined.setdefault(m.group(1), f)

    errors = []
    edges = {f: set() for f in files}

    def check(f, g, what):
        lf, lg = layer_of(f), layer_of(g)
        if lf is None or lg is None:
            errors.append(f"{f}: not in any layer of check_layers.py")
            return
        if lg[1] > lf[1]:
            errors.append(f"{f} ({lf[0]}) {what} {g} ({lg[0]}): a layer up")
        elif lg[1] == lf[1] and lg[0] != lf[0]:
            errors.append(f"{f} ({lf[0]}) {what} {g} ({lg[0]}): a sibling area")
        elif g != f:
            edges[f].add(g)

    for f in files:
        here = os.path.dirname(f)
        for m in INCLUDE_RE.finditer(raw[f]):
            inc = m.group(1)
            for cand in (os.path.normpath(os.path.join(here, inc)),
                         os.path.normpath(os.path.join("src", inc))):
                if cand in raw:
                    check(f, cand, "includes")
                    break
        seen = set()
        for m in USE_RE.finditer(text[f]):
            name = m.group(1)
            g = defined.get(name)
            if g is None or g == f or name in seen:
                continue
            seen.add(name)
            if g.endswith(".h"):
                check(f, g, f"uses {name} of")
            else:
                check(f, g, f"calls {name} of")

    for f in files:
        if f in ("src/internal.h", "src/loop.c"):
            continue
        if re.search(r"\bart__callback_done\s*\(", text[f]):
            errors.append(f"{f}: calls art__callback_done; callbacks go "
                          "through ART__CALLBACK")

    # No circle between .c files (headers only declare what .c files do).
    graph = {f: {g for g in edges[f] if g.endswith(".c")}
             for f in files if f.endswith(".c")}
    state, stack = {}, []

    def visit(f):
        state[f] = 1
        stack.append(f)
        for g in sorted(graph[f]):
            if state.get(g) == 1:
                errors.append("circle: " + " -> ".join(
                    stack[stack.index(g):] + [g]))
            elif g not in state:
                visit(g)
        stack.pop()
        state[f] = 2

    for f in sorted(graph):
        if f not in state:
            visit(f)

    for e in errors:
        print("check_layers: " + e)
    if errors:
        print(f"check_layers: {len(errors)} violation(s); see the layer "
              "drawing in docs/design.md")
        return 1
    print(f"check_layers: {len(files)} files, no file reaches up a layer, "
          "no circle")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else
                  os.path.join(os.path.dirname(__file__), "..")))
