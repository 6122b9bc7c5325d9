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
min/max/sum and their reduction; weights). The
rare branches that redo a pass (F(mid) == 0, the initial pass at max) are
left out. Classes: fp64 (the FP64 pipe: DADD DMUL DFMA DSETP DMNMX), conv
(F2F to or from FP64), shfl, mem (loads, stores, shared memory), other.
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
        'exact-warm': src_line(dev, 'dinkelbach(row, g, ri, eps, ri.mean, EXACT_WARM_PASSES, &mw)'),
        'bisect': src_line(dev, 'else m = solve_bisect(row, g, ri, eps, tol, it);'),
        'bisect-totals': src_line(dev, 'm = solve_bisect_totals(row, g, ri, eps, tol, it);'),
    }
    body = os.path.join(root, 'kernels/threshold_body.cuh')
    bsites = {
        'read': src_line(body, 'row.read(u, lw, a.logw_f32, ri.ref,'),
        'read-reduce': src_line(body, '    g.reduce(s, mn);\n'.strip() + '\n') if False else None,
    }
    with open(body) as f:
        bl = f.read().split('\n')
    r0 = bsites['read']
    bsites['read-reduce'] = next(i for i in range(r0, len(bl) + 1) if bl[i - 1].strip() == 'g.reduce(s, mn);')
    bsites['reweigh'] = src_line(body, 'row.reweigh(-mn[2],')
    skip = [src_line(dev, 'row.template above<false>(hi, sa, mn);'),
            src_line(dev, 'row.template above<false>(m2, sa, mn);'),
            src_line(dev, 'else if (f_scaled(row, g, nextafter(mid, lo), eps) > 0)')]
    tmp = tempfile.mkdtemp()
    subprocess.run(['cuobjdump', '-xelf', 'all', os.path.abspath(obj)], cwd=tmp, check=True, stdout=subprocess.DEVNULL)
    cubins = [f for f in os.listdir(tmp) if f.endswith('.cubin')]
    out = collections.OrderedDict()
    for cb in cubins:
        text = subprocess.run(['nvdisasm', '-gi', os.path.join(tmp, cb)], check=True, capture_output=True,
                              text=True).stdout
        fn, chain, fresh = None, [], False
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
            op = m.group(2)
            devlines = {l for f, l in chain if f == 'threshold_dev.cuh'}
            bodylines = {l for f, l in chain if f == 'threshold_body.cuh'}
            for name, ln in bsites.items():
                if ln in bodylines and not devlines:
                    out.setdefault(fn, collections.OrderedDict()).setdefault(name, collections.Counter())[classify(op)] += 1
            if devlines & set(skip): continue
            for name, ln in sites.items():
                if ln in devlines:
                    out.setdefault(fn, collections.OrderedDict()).setdefault(name, collections.Counter())[classify(op)] += 1
    for fn, regions in out.items():
        for name, c in regions.items():
            tot = sum(c.values())
            print(f"{fn}\t{name}\ttotal {tot}\t" + ' '.join(f"{k} {c[k]}" for k in ('fp64', 'conv', 'shfl', 'mem', 'other')))

if __name__ == '__main__':
    main()
