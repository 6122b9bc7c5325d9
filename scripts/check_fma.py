#!/usr/bin/env python3
"""Checks the PTX of kernels/guide.cu, whose kernels run the per-row arithmetic
of include/srs_guide_math.h that the CPU backend runs too (select_kernel and
the fused top-k path: srs_guide_select_row; vocab_kernel: the per-entry terms).

  python3 scripts/check_fma.py GUIDE.ptx [KERNEL]    (default: every kernel)

Passes when no floating-point add, sub or mul of a kernel can be contracted
(each carries an explicit rounding mode, .rn, which ptxas never fuses: nvcc
writes them so under --fmad=false) and every fma comes from a source line that
asks for one: an explicit fma() or a libm call (exp, log) whose CUDA
implementation uses fma internally, as glibc's does its own way. With nvcc's
default --fmad=true the kernel holds contractable mul.f64/add.f64 and fmas on
lines of plain a*b+c: the check fails, naming them.
"""
import re
import sys


def main():
    if len(sys.argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    path = sys.argv[1]
    text = open(path).read().splitlines()
    names = [sys.argv[2]] if len(sys.argv) > 2 else \
        [m.group(1) for ln in text for m in [re.search(r"\.entry\s+(\w+)", ln)] if m]
    if not names:
        print(f"check_fma: no kernel in {path}", file=sys.stderr)
        return 1
    results = [check(text, path, n) for n in names]
    failed = [r for r in results if r is None]
    if failed:
        return 1
    print(f"check_fma: {path}: {len(names)} kernels, {sum(r[0] for r in results)} add/sub/mul, all with an "
          f"explicit rounding mode (never fused); {sum(r[1] for r in results)} fma, each from an explicit fma() "
          f"or inside exp/log")
    return 0


def check(text, path, name):
    files = {}
    for ln in text:
        m = re.match(r'\s*\.file\s+(\d+)\s+"([^"]+)"', ln)
        if m:
            files[m.group(1)] = m.group(2)
    start = next((i for i, ln in enumerate(text) if ".entry" in ln and name in ln), None)
    if start is None:
        print(f"check_fma: no kernel named {name} in {path}", file=sys.stderr)
        return None
    end = next(i for i in range(start, len(text)) if text[i].startswith("}"))
    sources = {}

    def source(fid, line):
        if fid not in sources:
            try:
                sources[fid] = open(files[fid]).read().splitlines()
            except (KeyError, OSError):
                sources[fid] = []
        s = sources[fid]
        return s[line - 1] if 0 < line <= len(s) else ""

    loc = None
    bad, fmas, ops = [], 0, 0
    for i in range(start, end):
        ln = text[i].strip()
        m = re.match(r"\.loc\s+(\d+)\s+(\d+)", ln)
        if m:
            loc = (m.group(1), int(m.group(2)))
            continue
        m = re.match(r"(?:@%p\d+\s+)?(add|sub|mul|fma)((?:\.[a-z0-9]+)*)\.(f32|f64)\s", ln)
        if not m:
            continue
        op, mods = m.group(1), m.group(2)
        where = f"{files.get(loc[0], '?')}:{loc[1]}" if loc else "?"
        if op == "fma":
            fmas += 1
            src = source(*loc) if loc else ""
            if not re.search(r"\b(fmaf?|expf?|logf?)\s*\(", src):
                bad.append(f"PTX line {i + 1}: {ln}  <- {where}: {src.strip()}")
        else:
            ops += 1
            if ".rn" not in mods and ".rz" not in mods and ".rm" not in mods and ".rp" not in mods:
                bad.append(f"PTX line {i + 1}: contractable {ln}  <- {where}")
    for b in bad[:5]:
        print("check_fma:", b, file=sys.stderr)
    if bad:
        print(f"check_fma: FAILED: {len(bad)} contracted or contractable operations in {name} "
              f"({fmas} fma, {ops} add/sub/mul); build kernels/guide.cu with --fmad=false", file=sys.stderr)
        return None
    return ops, fmas


if __name__ == "__main__":
    sys.exit(main())
