#!/usr/bin/python3
"""Code shape of nlcl (README "Functions under 100 lines, files under 700 lines
in src/ and cli/"): lists every C function longer than --max-func lines
(signature to closing brace) and every source file longer than --max-file
lines, longest first. Generated tables (files whose first lines say
"generated") are left out of the file count. Exit status 1 when anything is
listed, 0 otherwise.

usage: scripts/shape.py [--max-func N] [--max-file N] [DIR...]   (default src cli)
"""
import os
import re
import sys


def strip(text):
    """Comments, strings and character literals blanked (newlines kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j]) + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(path):
    """(name, first line, last line) of every function definition."""
    src = strip(open(path, encoding="utf-8", errors="replace").read())
    depth, head_start, res = 0, 0, []
    lines_before = src.count
    i = 0
    open_at = None
    while i < len(src):
        c = src[i]
        if c == "#" and depth == 0 and (i == 0 or src[i - 1] == "\n"):
            j = i
            while True:  # preprocessor line with continuations
                e = src.find("\n", j)
                if e < 0:
                    e = len(src)
                    break
                if src[e - 1] != "\\":
                    break
                j = e + 1
            i = e
            head_start = i
            continue
        if c == "{":
            if depth == 0:
                head = src[head_start:i]
                m = re.search(r"([A-Za-z_]\w*)\s*\([^;]*\)\s*$", head, re.S)
                is_func = m and "=" not in head.split("(")[0] and not re.search(
                    r"\b(struct|union|enum)\s+\w*\s*$", head)
                open_at = (m.group(1), head_start + len(head) - len(head.lstrip())) if is_func else None
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                if open_at:
                    name, start = open_at
                    first = src.count("\n", 0, start) + 1
                    last = src.count("\n", 0, i) + 1
                    res.append((name, first, last))
                open_at = None
                head_start = i + 1
        elif c == ";" and depth == 0:
            head_start = i + 1
        i += 1
    return res


def main(argv):
    max_func, max_file, dirs = 100, 700, []
    it = iter(argv)
    for a in it:
        if a == "--max-func":
            max_func = int(next(it))
        elif a == "--max-file":
            max_file = int(next(it))
        else:
            dirs.append(a)
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    files = []
    for d in dirs or ["src", "cli"]:
        d = d if os.path.isabs(d) or os.path.exists(d) else os.path.join(root, d)
        for base, _, names in os.walk(d):
            files += [os.path.join(base, f) for f in names if f.endswith((".c", ".h"))]
    long_funcs, long_files = [], []
    for f in sorted(files):
        rel = os.path.relpath(f)
        text = open(f, encoding="utf-8", errors="replace").read()
        n = text.count("\n")
        if n > max_file and "generated" not in text[:400].lower():
            long_files.append((n, rel))
        for name, a, b in functions(f):
            if b - a + 1 > max_func:
                long_funcs.append((b - a + 1, f"{rel}:{a}", name))
    for n, where, name in sorted(long_funcs, reverse=True):
        print(f"function {n:5d} lines  {name}  ({where})")
    for n, rel in sorted(long_files, reverse=True):
        print(f"file     {n:5d} lines  {rel}")
    print(f"{len(long_funcs)} function(s) over {max_func} lines, {len(long_files)} file(s) over "
          f"{max_file} lines in {len(files)} files")
    return 1 if long_funcs or long_files else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
