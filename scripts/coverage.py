#!/usr/bin/env python3
"""coverage.py — the share of kernels/ lines the CPU test suite executes
(make coverage). Standard library only.

Usage: scripts/coverage.py BUILD [REPO]

BUILD is a CPU-only build compiled with --coverage and -MMD whose test
program has just run (its .gcda files are fresh). gcov reads every object of
it; the counts of each kernels/ line are summed over the objects (a header
is compiled into several). The denominator is every file kernels/*.cu,
*.cuh, *.cpp and *.h (found by glob, so new files count at once), line by
line:

  executable on the host   the lines gcov reports for the file (code the
                           host compiler generated); executed when its count
                           is > 0
  not compiled for the host
                           the code lines the host compiler never sees,
                           counted unexecuted: all of a file no host object
                           includes (the .cu files and the headers only
                           they include: kernels, launchers, device glue),
                           and in host-compiled files the regions under
                           #ifdef, #if defined() or #if of __CUDACC__ /
                           __CUDA_ARCH__ (or the #else of #ifndef)

A code line, for the second kind (gcov decides the first): not blank, not
only a comment, not a preprocessor directive (with its continuation lines),
and not only braces, parentheses and semicolons, e.g. "}" or "});".
Which files a host object includes comes from the -MMD dependency files.

Not counted, so a known gap: host code the compiler emits nothing for —
templates never instantiated on the host (make coverage builds with
-fkeep-inline-functions so that unused inline functions do count).

Prints one line per file, the totals, and as its last line
"kernels/: NN% of lines executed on the CPU" (rounded down).
"""
import glob
import json
import os
import re
import subprocess
import sys


def code_lines(path):
    """Line numbers (1-based) of the code lines of path, and of those in
    device-only preprocessor regions."""
    lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    code, device = set(), set()
    in_comment = False
    in_directive = False
    stack = []  # per open #if: "dev" (device only), "host" (host only) or "other"
    dev_macros = r"(__CUDACC__|__CUDA_ARCH__)"
    for no, raw in enumerate(lines, 1):
        # comments out, string contents kept simple (no comment markers in strings here)
        text, i, out = raw, 0, []
        while i < len(text):
            if in_comment:
                j = text.find("*/", i)
                if j < 0:
                    i = len(text)
                else:
                    in_comment, i = False, j + 2
            elif text.startswith("/*", i):
                in_comment, i = True, i + 2
            elif text.startswith("//", i):
                break
            else:
                out.append(text[i])
                i += 1
        s = "".join(out).strip()
        if in_directive:
            in_directive = s.endswith("\\")
            continue
        if s.startswith("#"):
            in_directive = s.endswith("\\")
            d = re.sub(r"\s+", " ", s[1:].strip())
            if (re.match(r"ifdef " + dev_macros + r"\b", d) or re.match(r"if defined\(?" + dev_macros, d)
                    or re.match(r"if \(?" + dev_macros, d)):  # also #if __CUDA_ARCH__ >= 800
                stack.append("dev")
            elif re.match(r"ifndef " + dev_macros + r"\b", d) or re.match(r"if !defined\(?" + dev_macros, d):
                stack.append("host")
            elif d.startswith("if"):
                stack.append("other")
            elif d.startswith("elif") and stack:
                stack[-1] = "other"
            elif d.startswith("else") and stack:
                stack[-1] = {"dev": "host", "host": "dev"}.get(stack[-1], "other")
            elif d.startswith("endif") and stack:
                stack.pop()
            continue
        if not s or re.fullmatch(r"[{}();\s]*", s):
            continue
        code.add(no)
        if "dev" in stack:
            device.add(no)
    return code, device


def gcov_lines(build, root):
    """{kernels/... path: {line: count}} over every object of the build."""
    counts = {}
    objs = [p[:-5] + ".o" for p in glob.glob(os.path.join(build, "obj", "**", "*.gcda"), recursive=True)]
    for obj in sorted(objs):
        src = os.path.relpath(obj, os.path.join(build, "obj"))[:-2]
        # ISA-level objects (obj/v3/host/...) come from the same sources
        parts = src.split(os.sep)
        cand = [src + ext for ext in (".c", ".cpp")] + [os.sep.join(parts[1:]) + ".c"]
        src_path = next((c for c in cand if os.path.exists(os.path.join(root, c))), None)
        if src_path is None:
            continue
        r = subprocess.run(["gcov", "--json-format", "--stdout", "-o", os.path.dirname(obj), src_path],
                           cwd=root, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"coverage: gcov failed on {obj}: {r.stderr.strip()}")
        for doc in r.stdout.splitlines():
            doc = doc.strip()
            if not doc:
                continue
            for f in json.loads(doc).get("files", []):
                name = os.path.normpath(f["file"])
                if os.path.isabs(name):
                    name = os.path.relpath(name, root)
                if not name.startswith("kernels" + os.sep):
                    continue
                d = counts.setdefault(name, {})
                for ln in f.get("lines", []):
                    d[ln["line_number"]] = d.get(ln["line_number"], 0) + ln["count"]
    return counts


def host_included(build, root):
    """kernels/ files some host object of the build compiles (from -MMD .d files)."""
    seen = set()
    for dep in glob.glob(os.path.join(build, "obj", "**", "*.d"), recursive=True):
        text = open(dep, encoding="utf-8", errors="replace").read().replace("\\\n", " ")
        for tok in text.split():
            if tok.endswith(":"):
                continue
            p = os.path.normpath(tok if os.path.isabs(tok) else os.path.join(root, tok))
            rel = os.path.relpath(p, root)
            if rel.startswith("kernels" + os.sep):
                seen.add(rel)
    return seen


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: coverage.py BUILD [REPO]")
    build = os.path.abspath(sys.argv[1])
    root = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), ".."))
    files = sorted(p for ext in ("cu", "cuh", "cpp", "h") for p in glob.glob(os.path.join(root, "kernels", "*." + ext)))
    if not glob.glob(os.path.join(build, "obj", "**", "*.gcda"), recursive=True):
        sys.exit(f"coverage: no .gcda files under {build}/obj (build with --coverage and run the tests first)")
    counts = gcov_lines(build, root)
    host = host_included(build, root)
    tot_exec = tot_hit = tot_nc = 0
    rows = []
    for path in files:
        rel = os.path.relpath(path, root)
        code, device = code_lines(path)
        g = counts.get(rel, {})
        if rel in host or g:
            nc = {n for n in device if n not in g}
            how = "host"
        else:
            nc = code
            how = "device"
        ex = len(g) + len(nc)
        hit = sum(1 for c in g.values() if c > 0)
        tot_exec += ex
        tot_hit += hit
        tot_nc += len(nc)
        rows.append((rel, hit, ex, len(nc), how))
    w = max(len(r[0]) for r in rows)
    print(f"{'file':<{w}}  executed / lines   not compiled for the host")
    for rel, hit, ex, nc, how in rows:
        pct = f"{100 * hit / ex:5.1f}%" if ex else "    -"
        note = f"{nc:5d}" + ("  (the whole file: nvcc only)" if how == "device" else "")
        print(f"{rel:<{w}}  {hit:5d} / {ex:5d} {pct}  {note}")
    print(f"{'total':<{w}}  {tot_hit:5d} / {tot_exec:5d}          {tot_nc:5d} lines not compiled for the host, "
          f"counted unexecuted")
    pct = 100 * tot_hit // tot_exec if tot_exec else 0
    print(f"kernels/: {pct}% of lines executed on the CPU")


if __name__ == "__main__":
    main()
