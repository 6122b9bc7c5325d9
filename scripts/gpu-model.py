#!/usr/bin/env python3
"""gpu-model.py — the table of results/gpu-model.md: the predicted share of an H200's copy
bandwidth per threshold tier and solver, from static SASS counts and CPU-measured pass counts.

    scripts/sass-count.py build/obj/kernels/threshold.o > counts.txt
    cuobjdump --dump-resource-usage build/obj/kernels/threshold.o > resources.txt
    /tmp/thr-passes > passes.txt          # scripts/thr-passes.c
    scripts/gpu-model.py counts.txt resources.txt passes.txt
"""
import re, sys, math
def short(fn):
    fn = re.sub(r'^_Z[0-9]*', '', fn)
    return re.sub(r'(EEv14srs_thr_args_tPKll?|Ev14srs_thr_args_tPKl)$', '', fn)
cnt={}
for l in open(sys.argv[1]):
    f=l.replace('total','total').split()
    fn,reg=short(f[0]),f[1]; d=dict(zip(f[2::2],map(int,f[3::2])))
    cnt[(fn,reg)]=d
res={}
cur=None
for l in open(sys.argv[2]):
    m=re.search(r'Function (\S+):', l)
    if m: cur=short(m.group(1)); continue
    if cur and 'REG:' in l:
        res[cur]=dict(x.split(':',1) for x in l.replace('Resource usage:','').split()); cur=None
passes={}
for l in open(sys.argv[3]):
    f=l.split('\t')
    w=f[0]; n=int(f[1].split()[1]); s=f[2]; kind=f[3]
    passes[(w,n,s,kind)]=(float(f[4].split()[1]),float(f[5].split()[1]))
# H200: 132 SMs, 1.98 GHz assumed; copy 4.3e12 B/s read+write
SM=132; CLK=1.98e9; BW=4.3e12
Bclk=BW/SM/CLK
ISSUE=128.0; FP64=64.0; CONV=16.0; SHFL=32.0
def tiers(T):
    t=T
    return [
     ('thread 8 (1 thread/row)', f'thr_thread_kernelI{t}Li8ELb0', 8, 8, 'thread', 8),
     ('thread 16', f'thr_thread_kernelI{t}Li16ELb0', 16, 16, 'thread', 16),
     ('thread 32', f'thr_thread_kernelI{t}Li32ELb0', 32, 32, 'thread', 32),
     ('G8 (8 lanes/row, old)', f'thr_group_kernelI{t}Li8ELi1', 8, 1, 'lanes', 1),
     ('G16 (old)', f'thr_group_kernelI{t}Li16ELi1', 16, 1, 'lanes', 1),
     ('W1 (warp/row, old)', f'thr_group_kernelI{t}Li32ELi1', 32, 1, 'lanes', 1),
     ('W2 (warp/row)', f'thr_group_kernelI{t}Li32ELi2', 64, 2, 'lanes', 2),
     ('W4', f'thr_group_kernelI{t}Li32ELi4', 128, 4, 'lanes', 4),
     ('W8', f'thr_group_kernelI{t}Li32ELi8', 256, 8, 'lanes', 8),
     ('B2 (256-thread block/row)', f'thr_block_kernelI{t}Li2', 512, 2, 'lanes', 2),
     ('B4', f'thr_block_kernelI{t}Li4', 1024, 4, 'lanes', 4),
     ('B8', f'thr_block_kernelI{t}Li8', 2048, 8, 'lanes', 8),
     ('B16', f'thr_block_kernelI{t}Li16', 4096, 16, 'lanes', 16),
    ]
def get(fn,reg):
    return cnt.get((fn,reg),{'total':0,'fp64':0,'conv':0,'shfl':0})
rows=[]
for T,bytes_s in (('f',4),('d',8)):
    for name,fn,n,K,kind,spl in tiers(T):
        # samples per lane-slot: thread rows hold K samples per thread; lane tiers K per lane
        per = K  # samples per thread for instruction amortisation (n == K*lanes, full rows)
        lanes = 1 if kind=='thread' else (8 if 'Li8ELi1' in fn and 'group' in fn else 16 if 'Li16ELi1' in fn and 'group' in fn else 32)
        steps = 0 if kind=='thread' else int(math.log2(lanes))
        def copies(reg, nvals):
            c=get(fn,reg)
            if kind=='thread':
                if reg=='exact-warm': return max(1, round(c['fp64']/max(1,get(fn,'dinkelbach')['fp64'])))
                return 1
            if reg=='read': return 2   # versioned on logw (two copies; one runs)
            return max(1, round(c['shfl']/(2*nvals*steps)))
        COP={'read':copies('read',0),'read-reduce':copies('read-reduce',6)}
        rd={k:(get(fn,'read')[k]/COP['read']+get(fn,'read-reduce')[k]/COP['read-reduce'])/per for k in ('total','fp64','conv','shfl')}
        bw=bytes_s+16.0/n
        need=Bclk/bw  # samples per clk per SM at copy bandwidth
        out=[]
        for s,reg in (('dinkelbach','dinkelbach'),('exact','exact-warm'),('bisect','bisect-totals' if kind=='thread' else 'bisect')):
            pm=passes[('uniform',n,s,kind)]
            P=pm[1] if kind=='thread' else pm[0]
            pc=dict(get(fn,reg))
            cp=copies(reg, 1 if s=='bisect' else 5)
            pc={k:v/cp for k,v in pc.items()}
            if s=='bisect' and kind=='thread':
                P=pm[1]
            tot=rd['total']+P*pc['total']/per
            f64=rd['fp64']+P*pc['fp64']/per
            cv=rd['conv']+P*pc['conv']/per
            sh=rd['shfl']+P*pc['shfl']/per
            # cycles per sample per SM by pipe
            c=max(tot/ISSUE, f64/FP64, cv/CONV, sh/SHFL)
            share=min(1.0,(1.0/c)/need)
            out.append((s,P,tot,f64,share))
        rows.append((T,name,n,res[fn]['REG'],res[fn]['STACK'],out))
print(f"Bytes/clk/SM at 4.3 TB/s: {Bclk:.2f}")
print("| input | tier | n | regs | stack B | Dinkelbach: passes, instr/sample (fp64), share | exact: share | bisection: passes, instr/sample, share |")
print("|---|---|---|---|---|---|---|---|")
for T,name,n,reg,st,out in rows:
    d,e,b=out
    print(f"| {'float' if T=='f' else 'double'} | {name} | {n} | {reg} | {st} | {d[1]:.2f}, {d[2]:.0f} ({d[3]:.0f}), **{100*d[4]:.0f}%** | **{100*e[4]:.0f}%** | {b[1]:.1f}, {b[2]:.0f}, **{100*b[4]:.0f}%** |")
