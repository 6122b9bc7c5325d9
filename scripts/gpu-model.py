#!/usr/bin/env python3
"""gpu-model.py — the tables of results/gpu-model.md: the predicted share of an H200's copy
bandwidth per threshold kernel (the register tiers' default kernels, which keep the row's totals)
and solver, from static SASS counts and CPU-measured pass counts. A prediction, not a measurement.

    scripts/sass-count.py build/obj/kernels/threshold.o > counts.txt
    cuobjdump --dump-resource-usage build/obj/kernels/threshold.o > resources.txt
    /tmp/thr-passes > passes.txt          # scripts/thr-passes.c
    scripts/gpu-model.py counts.txt resources.txt passes.txt

Model (per SM and clock, compute capability 9.0): 128 thread instructions issued, 64 FP64
operations, 16 conversions to or from FP64, 32 shuffle lanes; 132 SMs at 1.98 GHz; copy bandwidth
4.3e12 B/s (bytes read plus written). A sample costs its reward (4 or 8 bytes) plus 16/n bytes
of output. Instructions per sample = (first pass + passes x one pass) / K, for full rows
(n = K x threads per row); the passes are the CPU emulation's, the maximum over the rows a warp
holds. The share is the rate the busiest pipe allows over the rate the bytes allow, capped at 1.
"""
import re, sys

def short(fn):
    fn = re.sub(r'^_Z[0-9]*', '', fn)
    return re.sub(r'(EEv14srs_thr_args_tPKll?|Ev14srs_thr_args_tPKll?)$', '', fn)

cnt = {}
for l in open(sys.argv[1]):
    f = l.split()
    cnt[(short(f[0]), f[1])] = dict(zip(f[2::2], map(int, f[3::2])))
res, cur = {}, None
for l in open(sys.argv[2]):
    m = re.search(r'Function (\S+):', l)
    if m:
        cur = short(m.group(1))
        continue
    if cur and 'REG:' in l:
        res[cur] = dict(x.split(':', 1) for x in l.replace('Resource usage:', '').split())
        cur = None
passes = {}
for l in open(sys.argv[3]):
    f = l.rstrip('\n').split('\t')
    passes[(f[0], int(f[1].split()[1]), f[2], f[3])] = (float(f[4].split()[1]), float(f[5].split()[1]))

SM, CLK, BW = 132, 1.98e9, 4.3e12
BCLK = BW / SM / CLK
ISSUE, FP64, CONV, SHFL = 128.0, 64.0, 16.0, 32.0

def tiers(t, w):
    """(name, kernel, n, K, threads per row, lane group or block)"""
    b = 'Lb1' if w else 'Lb0'
    K = 16 if w else 32
    out = []
    for n in (8, 16, 32) if not w else (8, 16):
        out.append((f'thread/row, K={n}', f'thr_thread_kernelI{t}Li{n}E{b}', n, n, 1, 'thread'))
    for g in (2, 4, 8, 16, 32):
        out.append((f'{g} lanes/row, K={K}', f'thr_lanes_kernelI{t}Li{g}ELi{K}E{b}', g * K, K, g, 'lanes'))
    if not w and t == 'f':  # float rows of 2048 and 4096: 64 samples a thread
        out.append(('32 lanes/row, K=64', f'thr_lanes_kernelI{t}Li32ELi64E{b}', 2048, 64, 32, 'lanes'))
        out.append(('block 64/row, K=64', f'thr_tblock_kernelI{t}Li64ELi64E{b}', 4096, 64, 64, 'block'))
        return out
    for nt in ((64, 128) if not w else (64, 128, 256)):
        out.append((f'block {nt}/row, K={K}', f'thr_tblock_kernelI{t}Li{nt}ELi{K}E{b}', nt * K, K, nt, 'block'))
    return out

def get(fn, reg):
    return cnt.get((fn, reg), {'total': 0, 'fp64': 0, 'conv': 0, 'shfl': 0})

def shfl_per_copy(kind, g, nvals):
    if kind == 'thread': return 0
    steps = (g.bit_length() - 1) if kind == 'lanes' else 5
    return 2 * nvals * steps

def per_thread(fn, reg, kind, g, nvals, K=None):
    """One copy of a region's counts: a pass loop the compiler copied (unrolled warm passes) has
    its K compares per copy; otherwise the shuffles tell (a region copied has them twice)."""
    c = get(fn, reg)
    if K and c.get('cmp', 0):
        cp = max(1, round(c['cmp'] / K))
    else:
        e = shfl_per_copy(kind, g, nvals)
        cp = max(1, round(c['shfl'] / e)) if e and c['shfl'] else 1
    return {k: c.get(k, 0) / cp for k in ('total', 'fp64', 'conv', 'shfl')}, cp

def occupancy(fn, threads):
    regs = int(res[fn]['REG'])
    per_block = threads * ((regs + 7) // 8 * 8)
    blocks = min(65536 // per_block, 32, 2048 // threads)
    return regs, int(res[fn]['STACK']), blocks * threads // 32

print(f"Bytes/clk/SM at 4.3 TB/s: {BCLK:.2f}")
for w in (0, 1):
    wname = 'logw' if w else 'uniform'
    print()
    print(f"### {'Weighted rows (logw, float)' if w else 'Uniform rows'}")
    print()
    print("| input | kernel | n | regs | stack | warps/SM | first pass instr/sample | Dinkelbach: passes, instr/sample (FP64), share | exact: passes, share | bisection: passes, instr/sample, share |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for t, bps in (('f', 4), ('d', 8)):
        if w and t == 'd': continue
        for name, fn, n, K, g, kind in tiers(t, w):
            block = 128 if kind != 'block' else g
            ns = 3 if w else 2  # sums a pass reduces
            first = {}
            rd, c1 = per_thread(fn, 'read', kind, g, 0)
            rr, c2 = per_thread(fn, 'read-reduce', kind, g, 5 if w else 3)
            rw = get(fn, 'reweigh') if w else {}
            for k in ('total', 'fp64', 'conv', 'shfl'):
                first[k] = (rd[k] + rr[k] + rw.get(k, 0)) / K
            bytes_s = bps * (2 if w else 1) + 16.0 / n
            need = BCLK / bytes_s
            out = []
            for s, reg in (('dinkelbach', 'dinkelbach'), ('exact', 'exact-warm'), ('bisect', 'bisect-totals')):
                pm = passes[(wname, n, s, 'totals')]
                P = pm[1]  # the maximum over a warp's rows (the mean where a warp holds one row)
                pc, cp = per_thread(fn, reg, kind, g, ns, K)
                tot = {k: first[k] + P * pc[k] / K for k in first}
                c = max(tot['total'] / ISSUE, tot['fp64'] / FP64, tot['conv'] / CONV, tot['shfl'] / SHFL)
                share = min(1.0, (1.0 / c) / need)
                lim = max((tot['total'] / ISSUE, 'issue'), (tot['fp64'] / FP64, 'FP64'), (tot['conv'] / CONV, 'conv'),
                          (tot['shfl'] / SHFL, 'shuffle'))[1]
                out.append((P, tot['total'], tot['fp64'], share, pc['total'] / K, lim))
            regs, stack, warps = occupancy(fn, block)
            d, e, b = out
            print(f"| {'float' if t == 'f' else 'double'} | {name} | {n} | {regs} | {stack} | {warps} | "
                  f"{first['total']:.1f} | {d[0]:.2f}, {d[1]:.0f} ({d[2]:.0f}), **{100 * d[3]:.0f}%** | "
                  f"{e[0]:.2f}, **{100 * e[3]:.0f}%** | {b[0]:.1f}, {b[1]:.0f}, **{100 * b[3]:.0f}%** |")
    print()
    print("Per pass and sample (one thread's pass over K samples, reduction and update, / K), float:")
    print()
    print("| kernel | Dinkelbach pass | bisection pass | first pass |")
    print("|---|---|---|---|")
    for name, fn, n, K, g, kind in tiers('f', w):
        ns = 3 if w else 2
        dk, _ = per_thread(fn, 'dinkelbach', kind, g, ns, K)
        bs, _ = per_thread(fn, 'bisect-totals', kind, g, ns, K)
        rd, _ = per_thread(fn, 'read', kind, g, 0)
        rr, _ = per_thread(fn, 'read-reduce', kind, g, 5 if w else 3)
        rw = get(fn, 'reweigh') if w else {'total': 0}
        print(f"| {name} | {dk['total'] / K:.1f} ({dk['fp64'] / K:.1f} FP64, {dk['shfl'] / K:.2f} shfl) | "
              f"{bs['total'] / K:.1f} | {(rd['total'] + rr['total'] + rw['total']) / K:.1f} |")
