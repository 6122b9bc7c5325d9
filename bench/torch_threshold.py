#!/usr/bin/env python3
"""PyTorch batched bisection for the Stackelberg threshold: the obvious GPU
implementation a researcher writes (dense [rows, n] float32 rewards, preset
exact, gamma = exp(B/beta), a fixed number of bisection steps on [min, max]).
Times with CUDA events (median of --reps after warm-up) and prints one JSON
object per row length."""
import argparse, json, math, sys
import torch

def bisect(u, gamma, iters):
    lo = u.min(dim=1).values
    hi = u.max(dim=1).values
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        w = torch.where(u >= mid[:, None], gamma, 1.0)
        f = (w * (u - mid[:, None])).sum(dim=1)
        pos = f > 0
        lo = torch.where(pos, mid, lo)
        hi = torch.where(pos, hi, mid)
    return 0.5 * (lo + hi)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="16,64,256,1024,4096")
    ap.add_argument("--total", type=int, default=1 << 28)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--iters", type=int, default=40, help="bisection steps (tol 1e-12 of a range ~10)")
    ap.add_argument("--B", type=float, default=1.0)
    ap.add_argument("--beta", type=float, default=1.0)
    a = ap.parse_args()
    dev = torch.device("cuda")
    gamma = math.exp(a.B / a.beta)
    g = torch.Generator(device=dev).manual_seed(1)
    print(json.dumps({"torch": torch.__version__, "device_name": torch.cuda.get_device_name()}), flush=True)
    for n in [int(s) for s in a.sizes.split(",")]:
        rows = a.total // n
        u = torch.randn(rows, n, device=dev, dtype=torch.float32, generator=g)
        bisect(u, gamma, a.iters)  # warm-up
        torch.cuda.synchronize()
        t = []
        for _ in range(a.reps):
            e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            e0.record()
            bisect(u, gamma, a.iters)
            e1.record()
            torch.cuda.synchronize()
            t.append(e0.elapsed_time(e1))
        t.sort()
        ms = t[len(t) // 2]
        gbs = (4.0 * rows * n + 8.0 * rows) / ms * 1e-6
        print(json.dumps({"device": "torch", "what": "bisect", "solver": "bisect", "n": n, "rows": rows,
                          "ms": ms, "gbs": gbs, "iters": a.iters}), flush=True)
        del u
        torch.cuda.empty_cache()

if __name__ == "__main__":
    sys.exit(main())
