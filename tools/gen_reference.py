#!/usr/bin/env python3
"""Generates docs/reference.md, the list of every public function, from the
headers in include/asyncrt/.

For each function: its name, linked to its line in the header, and its
summary, the first sentence of the comment right above its declaration (a
comment may serve several declarations that follow it; typedef and #define
lines may stand between). Functions are grouped by header, in the order
asyncrt.h includes them.

It also checks what the reference relies on, and fails when:
- a function has no summary comment (fix: add one in the header);
- the "Return values" list in core.h ([return-values] ... [/return-values])
  names a function that does not exist, or misses a function whose return
  type is neither int nor void (every such value means something other than
  0-or-error, so the list must say what).

Usage: gen_reference.py [--check] [repository]
Without --check it writes docs/reference.md; with --check it writes nothing
and fails if docs/reference.md differs from what it would write (ctest
docs.reference, so test/run.sh fails when a header changes without the
reference: run this script and commit its output).
"""
import difflib
import os
import re
import sys

OUTPUT = os.path.join("docs", "reference.md")

# The functions ART__PHASE_HANDLE(name) declares in core.h, with summaries
# written for them here since the macro's one comment covers all three.
PHASE_MACRO = "ART__PHASE_HANDLE"
PHASE_SUMMARIES = {
    "init": "Initialises {a} {name} handle (the caller's memory).",
    "start": "Starts the handle: cb runs once in every iteration's {name} "
             "phase, in start order.",
    "stop": "Stops the handle; stopping a stopped one does nothing.",
}


def header_order(root):
    """The area headers in the order include/asyncrt.h includes them."""
    with open(os.path.join(root, "include", "asyncrt.h"), encoding="utf-8") as f:
        text = f.read()
    return re.findall(r'#include "asyncrt/(\w+\.h)"', text)


def strip_comments(line, in_comment):
    """Removes comment text from one line; returns (code, in_comment)."""
    out = []
    i = 0
    while i < len(line):
        if in_comment:
            end = line.find("*/", i)
            if end == -1:
                return "".join(out), True
            i = end + 2
            in_comment = False
        else:
            start = line.find("/*", i)
            if start == -1:
                out.append(line[i:])
                break
            out.append(line[i:start])
            i = start + 2
            in_comment = True
    return "".join(out), in_comment


def first_sentence(comment):
    text = " ".join(comment.split())
    # A sentence ends at a full stop followed by a capital or the end.
    m = re.match(r"(.+?\.)(\s+(?=[A-Z])|$)", text)
    return m.group(1) if m else text


def comment_above(lines, index):
    """The comment block ending right above lines[index], skipping other
    declarations, typedefs and #defines; None if there is none."""
    i = index - 1
    while i >= 0:
        s = lines[i].strip()
        if s.endswith("*/"):
            end = i
            while i >= 0 and "/*" not in lines[i]:
                i -= 1
            if i < 0:
                return None
            block = "\n".join(lines[i:end + 1])
            block = block[block.find("/*") + 2:block.rfind("*/")]
            return "\n".join(l.strip().lstrip("*").strip() for l in block.split("\n"))
        if s.startswith(("ART_EXTERN", "typedef", "#define")) or is_continuation(lines, i):
            i -= 1
            continue
        return None
    return None


def is_continuation(lines, i):
    """True for a line that continues an ART_EXTERN declaration above it."""
    j = i - 1
    while j >= 0:
        s = lines[j].strip()
        if s.startswith("ART_EXTERN"):
            return ";" not in "".join(lines[j:i])
        if not s or s.endswith((";", "*/", "{", "}")):
            return False
        j -= 1
    return False


def parse_header(path):
    """Yields (name, return type, line number, summary or None)."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    in_comment = False
    code_lines = []
    for line in lines:
        code, in_comment = strip_comments(line, in_comment)
        code_lines.append(code)
    i = 0
    while i < len(lines):
        code = code_lines[i]
        if code.rstrip().endswith("\\"):  # macro bodies: expanded below
            i += 1
            continue
        m = re.match(r"^\s*%s\((\w+)\)\s*$" % PHASE_MACRO, code)
        if m:
            name = m.group(1)
            article = "an" if name[0] in "aeiou" else "a"
            for verb, summary in PHASE_SUMMARIES.items():
                yield ("art_%s_%s" % (name, verb), "int", i + 1,
                       summary.format(a=article, name=name))
            i += 1
            continue
        if code.strip().startswith("ART_EXTERN"):
            start = i
            decl = code
            while ";" not in decl and i + 1 < len(lines):
                i += 1
                decl += " " + code_lines[i]
            m = re.match(r"\s*ART_EXTERN\s+(.*?)\b(art_\w+)\s*\(", decl)
            if m:
                comment = comment_above(lines, start)
                summary = first_sentence(comment) if comment else None
                ret = " ".join(m.group(1).split())
                yield m.group(2), ret, start + 1, summary
        i += 1


def header_title(path):
    """The first sentence of the header's opening comment."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    m = re.match(r"\s*/\*(.*?)\*/", text, re.S)
    return first_sentence(m.group(1)) if m else ""


def return_list(root):
    path = os.path.join(root, "include", "asyncrt", "core.h")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"\[return-values\](.*?)\[/return-values\]", text, re.S)
    if m is None:
        return None
    # "art_fs_* (cb NULL)" stands for a family, not a function.
    return {n for n in re.findall(r"\bart_\w+", m.group(1)) if not n.endswith("_")}


def generate(root):
    """Returns (the reference's text, a list of problems)."""
    problems = []
    out = [
        "# API reference",
        "",
        "Every public function, with the first sentence of the comment above",
        "its declaration, grouped by header. Generated by",
        "`tools/gen_reference.py` from `include/asyncrt/*.h`: do not edit it,",
        "edit the header comment and run `python3 tools/gen_reference.py`",
        "(ctest `docs.reference` fails while this file is out of date). The",
        "headers say the rest: arguments, errors, ownership. Return values",
        "are 0 or a negative `ART_E*` code except for the functions listed",
        "under \"Return values\" in `include/asyncrt/core.h`; which functions",
        "other threads may call is the \"Thread safety\" block at the top of",
        "each header.",
        "",
    ]
    functions = {}
    for name in header_order(root):
        rel = "include/asyncrt/" + name
        path = os.path.join(root, rel)
        entries = list(parse_header(path))
        if not entries:
            continue
        out.append("## %s" % name)
        out.append("")
        out.append(header_title(path))
        out.append("")
        out.append("| function | summary |")
        out.append("|---|---|")
        for fn, ret, line, summary in entries:
            functions[fn] = ret
            if summary is None:
                problems.append("%s:%d: %s has no summary comment" % (rel, line, fn))
                summary = ""
            out.append("| [`%s`](../%s#L%d) | %s |"
                       % (fn, rel, line, summary.replace("|", "\\|")))
        out.append("")
    listed = return_list(root)
    if listed is None:
        problems.append("include/asyncrt/core.h has no [return-values] list")
    else:
        for fn in sorted(listed - set(functions)):
            problems.append("the return-value list in core.h names %s, "
                            "which is not a public function" % fn)
        for fn, ret in sorted(functions.items()):
            if ret not in ("int", "void") and fn not in listed:
                problems.append("%s returns %s but is missing from the "
                                "return-value list in core.h" % (fn, ret))
    out.append("%d functions." % len(functions))
    return "\n".join(out) + "\n", problems


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    check = "--check" in argv
    root = args[0] if args else os.path.join(os.path.dirname(__file__), "..")
    text, problems = generate(root)
    for p in problems:
        print("gen_reference: " + p, file=sys.stderr)
    path = os.path.join(root, OUTPUT)
    if check:
        try:
            with open(path, encoding="utf-8") as f:
                current = f.read()
        except FileNotFoundError:
            current = ""
        if current != text:
            sys.stderr.writelines(difflib.unified_diff(
                current.splitlines(True), text.splitlines(True),
                OUTPUT, OUTPUT + " (generated)"))
            print("gen_reference: %s is out of date: run python3 "
                  "tools/gen_reference.py and commit it" % OUTPUT, file=sys.stderr)
            return 1
    else:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
