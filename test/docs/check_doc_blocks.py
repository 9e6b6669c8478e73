#!/usr/bin/env python3
"""Keeps the documentation's code and output blocks identical to real files.

In README.md and docs/*.md:
- a ```c block whose first line is "/* file: <path> */" must be byte for
  byte the file at <path> (relative to the repository), that line included:
  the file is the program ctest compiles and runs (test/docs/CMakeLists.txt);
- a fenced block right after a line "<!-- output: <path> -->" must be the
  file at <path>: the output ctest compares the program's with.
Every program in docs/examples/ must be shown by some document, so none is
compiled without a reader seeing it.

Usage: check_doc_blocks.py [--selftest] <repository>
--selftest copies the documents and files to a temporary folder, checks that
the copy passes, then breaks it in each way the check must catch and checks
that every breakage is reported.
"""
import glob
import os
import re
import shutil
import sys
import tempfile

FILE_MARK = re.compile(r"^/\* file: (\S+) \*/$")
OUTPUT_MARK = re.compile(r"^<!-- output: (\S+) -->$")


def documents(root):
    paths = [os.path.join(root, "README.md")]
    paths += sorted(glob.glob(os.path.join(root, "docs", "*.md")))
    return [p for p in paths if os.path.exists(p)]


def blocks(text):
    """Yields (line number, language, body, the line before the fence)."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        start, lang = i, m.group(1)
        i += 1
        body = []
        while i < len(lines) and lines[i] != "```":
            body.append(lines[i])
            i += 1
        before = lines[start - 1] if start > 0 else ""
        yield start + 1, lang, "".join(line + "\n" for line in body), before
        i += 1


def check(root):
    errors = []
    shown = set()
    for doc in documents(root):
        rel_doc = os.path.relpath(doc, root)
        with open(doc, encoding="utf-8") as f:
            text = f.read()
        for line, lang, body, before in blocks(text):
            target = None
            first = body.split("\n", 1)[0]
            m = FILE_MARK.match(first)
            if lang == "c" and m:
                target = m.group(1)
                shown.add(os.path.normpath(target))
            m = OUTPUT_MARK.match(before)
            if m:
                target = m.group(1)
            if target is None:
                continue
            path = os.path.join(root, target)
            where = "%s:%d" % (rel_doc, line)
            if not os.path.isfile(path):
                errors.append("%s: the block names %s, which does not exist"
                              % (where, target))
                continue
            with open(path, encoding="utf-8") as f:
                want = f.read()
            if body != want:
                errors.append("%s: the block differs from %s%s"
                              % (where, target, first_difference(body, want)))
    for prog in sorted(glob.glob(os.path.join(root, "docs", "examples", "*.c"))):
        rel = os.path.normpath(os.path.relpath(prog, root))
        if rel not in shown:
            errors.append("%s is compiled by ctest but no document shows it "
                          "(a ```c block starting with /* file: %s */)"
                          % (rel, rel))
    return errors


def first_difference(got, want):
    got_lines, want_lines = got.split("\n"), want.split("\n")
    for n, (a, b) in enumerate(zip(got_lines, want_lines)):
        if a != b:
            return " (line %d of the block: %r, the file has %r)" % (n + 1, a, b)
    return " (the block has %d lines, the file %d)" % (len(got_lines),
                                                       len(want_lines))


def copy_tree(root, dest):
    for doc in documents(root):
        rel = os.path.relpath(doc, root)
        os.makedirs(os.path.join(dest, os.path.dirname(rel)), exist_ok=True)
        shutil.copy(doc, os.path.join(dest, rel))
    src = os.path.join(root, "docs", "examples")
    if os.path.isdir(src):
        shutil.copytree(src, os.path.join(dest, "docs", "examples"))


def selftest(root):
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        copy_tree(root, tmp)
        if check(tmp):
            return ["the unmodified copy fails: %s" % check(tmp)]
        programs = sorted(glob.glob(os.path.join(tmp, "docs", "examples", "*.c")))
        outputs = sorted(glob.glob(os.path.join(tmp, "docs", "examples", "*.txt")))
        if not programs or not outputs:
            return ["docs/examples/ has no program or no output to break"]

        def breaks(name, path, edit):
            with open(path, encoding="utf-8") as f:
                saved = f.read()
            with open(path, "w", encoding="utf-8") as f:
                f.write(edit(saved))
            if not check(tmp):
                failures.append("not caught: " + name)
            with open(path, "w", encoding="utf-8") as f:
                f.write(saved)

        breaks("a program edited without its block", programs[0],
               lambda s: s.replace("\n", "\n\n", 1))
        breaks("a trailing space in a program", programs[0],
               lambda s: s.replace("\n", " \n", 1))
        breaks("an output edited without its block", outputs[0],
               lambda s: s + "one more line\n")
        # A program no document shows.
        orphan = os.path.join(tmp, "docs", "examples", "zz_orphan.c")
        with open(orphan, "w", encoding="utf-8") as f:
            f.write("/* file: docs/examples/zz_orphan.c */\nint main(void) { return 0; }\n")
        if not check(tmp):
            failures.append("not caught: a program no document shows")
        os.remove(orphan)
        # A block naming a file that does not exist.
        os.rename(programs[0], programs[0] + ".moved")
        if not check(tmp):
            failures.append("not caught: a block naming a missing file")
        os.rename(programs[0] + ".moved", programs[0])
        if check(tmp):
            failures.append("the restored copy fails")
    return failures


def main(argv):
    args = [a for a in argv[1:] if a != "--selftest"]
    root = args[0] if args else os.path.join(os.path.dirname(__file__), "..", "..")
    if "--selftest" in argv:
        failures = selftest(root)
        for f in failures:
            print("check_doc_blocks selftest: " + f, file=sys.stderr)
        return 1 if failures else 0
    errors = check(root)
    for e in errors:
        print(e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
