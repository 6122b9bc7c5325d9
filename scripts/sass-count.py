#!/usr/bin/env python3
"""sass-count.py — static instruction counts of the threshold kernels' solver
passes, from the SASS of a built object (results/gpu-model.md).

    scripts/sass-count.py build/obj/kernels/threshold.o

Needs cuobjdump and nvdisasm on the PATH (the CUDA toolkit, or PyPI's
nvidia-cuda-cuobjdump and nvidia-cuda-nvdisasm). Disassembles with inline
line information (-gi) and, for each kernel, counts the instructions whose
inline chain passes through a solver's call site in threshold_dev.cuh: the
loop bodies appear once in the code, so a count is one pass of one thread
(all of its K samples, unrolled, plus the pass's reduction and update); read,
read-reduce and reweigh are the first pass over the row (load, validate,
min/max/sum and their reduction; weights). The collective copies of partial-
warp shuffles (after the kernel's last EXIT, run only by divergent callers)
are left out. The
rare branches that redo a pass (F(mid) == 0, the initial pass at max) are
left out. Classes: fp64 (the FP64 pipe: DADD DMUL DFMA DSETP DMNMX), conv
(F2F to or from FP64), shfl, mem (loads, stores, shared memory), other; cmp
counts the per-sample compares of TotRow::above (K per copy of a pass's loop:
gpu-model.py divides a region by the copies the compiler made, e.g. the warm
Dinkelbach passes unrolled).
"""
import os, re, subprocess, sys, tempfile, collections

def src_line(path, pattern):
    with open(path) as f:
        for i, l in enumerate(f, 1):
            if pattern in l:
                return i
    raise SystemExit(f"{pattern!r} not found in {path}")

def classify(op):
    base = op.split('.')[0]
    if base in ('DADD', 'DMUL', 'DFMA', 'DSETP', 'DMNMX'): return 'fp64'
    if base == 'F2F' and 'F64' in op: return 'conv'
    if base in ('I2F', 'F2I') and 'F64' in op: return 'conv'
    if base == 'SHFL': return 'shfl'
    if base in ('LDG', 'STG', 'LDS', 'STS', 'LDL', 'STL', 'ATOMG', 'RED', 'LD', 'ST', 'BAR'): return 'mem'
    return 'other'

def main():
    obj = sys.argv[1]
    root = os.path.dirname(os.path.abspath(__file__)) + '/..'
    dev = os.path.join(root, 'kernels/threshold_dev.cuh')
    sites = {
        'dinkelbach': src_line(dev, 'dinkelbach(row, g, ri, eps, ri.mean, it, &m);'),
        'exact-warm': src_line(dev, 'dinkelbach(row, g, ri, eps, ri.mean, warm, &mw)'),
        'bisect': src_line(dev, 'else m = solve_bisect(row, g, ri, eps, tol, it);'),
        'bisect-totals': src_line(dev, 'm = solve_bisect_totals(row, g, ri, eps, tol, it);'),
    }
    body = os.path.join(root, 'kernels/threshold_body.cuh')
    with open(body) as f:
        bl = f.read().split('\n')
    r0 = src_line(body, 'row.read(u, lw, a.logw_f32, ri.ref,')
    bsites = {
        'read': {r0},
        # the first pass's reductions (weighted rows and uniform rows)
        'read-reduce': {i for i in range(r0, r0 + 30) if bl[i - 1].strip() == 'g.reduce(s, mn);'},
        'reweigh': {src_line(body, 'row.reweigh(-nlmax,')},
    }
    # a thread whose slots are not all inside the row (a partial row) reads with
    # tests; the tables are for full rows
    partial = src_line(body, 'else read_partial(u, lw, lw32, ref, f);')
    # the rare passes (bisection's first pass at max, F(mid) == 0) with their reductions
    skip = [src_line(dev, 'row.template above<false>(hi, sa);'),
            src_line(dev, 'row.template above<false>(hi, sa);') + 1,
            src_line(dev, 'row.template above<false>(m2, sa);'),
            src_line(dev, 'row.template above<false>(m2, sa);') + 1,
            src_line(dev, 'else if (f_scaled(row, g, nextafter(mid, lo), eps) > 0)')]
    # bisection with totals: the loop body is the pass; its F(mid) == 0 branch is rare
    with open(dev) as f:
        dl = f.read().split('\n')
    b0 = src_line(dev, 'SRS_DEV_HD double solve_bisect_totals(')
    loop0 = next(i for i in range(b0, len(dl)) if 'for (int it = 0;' in dl[i - 1])
    loop1 = next(i for i in range(loop0, len(dl)) if dl[i - 1].strip() == 'return lo + 0.5 * (hi - lo);')
    f0 = next(i for i in range(loop0, loop1) if dl[i - 1].strip() == 'if (f == 0) {')
    f1 = next(i for i in range(f0, loop1) if 'return mid;' in dl[i - 1]) + 1
    bisect_loop = set(range(loop0, loop1)) - set(range(f0, f1 + 1))
    # the compare of a sample in TotRow::above: one per sample and copy of a pass's loop
    cmp_line = src_line(body, 'const bool a = STRICT ? d[k] > m : d[k] >= m;')
    tmp = tempfile.mkdtemp()
    subprocess.run(['cuobjdump', '-xelf', 'all', os.path.abspath(obj)], cwd=tmp, check=True, stdout=subprocess.DEVNULL)
    cubins = [f for f in os.listdir(tmp) if f.endswith('.cubin')]
    out = collections.OrderedDict()
    for cb in cubins:
        text = subprocess.run(['nvdisasm', '-gi', os.path.join(tmp, cb)], check=True, capture_output=True,
                              text=True).stdout
        fn, chain, fresh = None, [], False
        ins = collections.defaultdict(list)  # kernel: [(op, dev lines, body lines)]
        for line in text.split('\n'):
            m = re.match(r'^\.text\.(\S+):', line)
            if m:
                fn = m.group(1)
                continue
            m = re.match(r'\s*//## File "([^"]+)", line (\d+)(?: inlined at "([^"]+)", line (\d+))?', line)
            if m:
                if not fresh: chain, fresh = [], True
                chain.append((os.path.basename(m.group(1)), int(m.group(2))))
                if m.group(3): chain.append((os.path.basename(m.group(3)), int(m.group(4))))
                continue
            m = re.match(r'\s*/\*[0-9a-f]+\*/\s+(@!?U?P\w+\s+)?([A-Z][A-Z0-9_.]*)', line)
            if not m or fn is None or not fn.startswith('_Z') or 'thr_' not in fn: continue
            fresh = False
            ins[fn].append((m.group(2), {l for f, l in chain if f == 'threshold_dev.cuh'},
                            {l for f, l in chain if f == 'threshold_body.cuh'}))
        for fn, code in ins.items():
            # Shuffles over part of a warp get a second, collective copy for
            # divergent callers (WARPSYNC.COLLECTIVE), placed after the kernel's
            # last EXIT; uniform groups never run it, so it is not counted.
            cut = len(code)
            coll = [i for i, c in enumerate(code) if c[0] == 'WARPSYNC.COLLECTIVE']
            if coll:
                cut = max(i for i, c in enumerate(code[:coll[0]]) if c[0] == 'EXIT') + 1
            for op, devlines, bodylines in code[:cut]:
                for name, ln in bsites.items():
                    if ln & bodylines and not devlines and partial not in bodylines:
                        out.setdefault(fn, collections.OrderedDict()).setdefault(name, collections.Counter())[classify(op)] += 1
                if devlines & set(skip): continue
                for name, ln in sites.items():
                    if name == 'bisect-totals' and not devlines & bisect_loop: continue
                    if ln in devlines:
                        c = out.setdefault(fn, collections.OrderedDict()).setdefault(name, collections.Counter())
                        c[classify(op)] += 1
                        if cmp_line in bodylines and op.startswith('DSETP'): c['cmp'] += 1
    for fn, regions in out.items():
        for name, c in regions.items():
            tot = sum(c.values())
            tot = sum(v for k, v in c.items() if k != 'cmp')
            print(f"{fn}\t{name}\ttotal {tot}\t" + ' '.join(f"{k} {c[k]}" for k in ('fp64', 'conv', 'shfl', 'mem', 'other', 'cmp')))

if __name__ == '__main__':
    main()
