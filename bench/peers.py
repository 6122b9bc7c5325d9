#!/usr/bin/python3
"""peers.py — the Python implementations bench_cpu is compared with.

    /usr/bin/python3 bench/peers.py FILE.npy [--preset P --B x --beta x --cap x]
                                    [--mstar m_star.f64] [--numpy-reps R]
                                    [--scipy-min-seconds S --scipy-min-prompts K]

Both peers compute the same m*(x) as srs, the root of

    F(m) = sum_i p_i w_i(m) (u_i - m),  w_i(m) = gamma if u_i >= m else 1,

with uniform p (a positive constant factor, so it is left out: it does not move
the root) and gamma, B_eff from the preset exactly as srs_preset_eval in
include/srs_math.h.

  numpy-bisect   what a NumPy user writes: the file memory-mapped and converted
                 to float64, then one bisection over the whole batch at once,
                 every step fully vectorised over all prompts. Same bracket and
                 stopping rule as srs: [min u, max u] per row, stop when every
                 bracket is below tol * max(1, range). F is evaluated as
                 F(m)/gamma (weight 1 above, exp(-lg) below) so that no gamma
                 can overflow.
  numpy-sort     the exact root in 15 lines of NumPy, over the whole batch: sort
                 each row descending, prefix sums S_k of the top k, and
                 m* = max over k of (S_k + eps (T - S_k)) / (k + eps (n - k)),
                 eps = 1/gamma (the root is the largest value of any active
                 set, and the top-k sets contain the best one).
  scipy-bisect   the authors' way: one prompt at a time, a Python function for
                 F per prompt, scipy.optimize.bisect(f, min u, max u,
                 xtol=2e-12). Timed on the first prompts (at least
                 --scipy-min-prompts and --scipy-min-seconds, or all) and
                 scaled linearly to the whole batch.

Output, one line per peer (same keys as bench_cpu; bytes is the size of the
float32/float64 input so GB/s compares like with like):

    RESULT impl=numpy-bisect n=.. prompts=.. samples=.. bytes=.. seconds=..
           prompts_per_s=.. gb_per_s=.. max_abs_diff=.. ...

max_abs_diff is the largest |m*| difference against --mstar (raw float64
(prompts,), the exact solver's m* written by bench_cpu), over the prompts the
peer solved.
"""
import argparse
import math
import platform
import sys
import time

import numpy as np
import scipy
from scipy.optimize import bisect


# ----------------------------------------------------------------------------
# presets: a copy of srs_preset_eval (include/srs_math.h), vectorised over rows

LOG2 = 0.69314718055994530942


def preset_eval(preset, B, beta, cap, umin, umax):
    """Per-row (b_eff, lg) for rows with reward range [umin, umax]; arrays (prompts,)."""
    rng = umax - umin
    if preset == "paper-cd":
        b_eff = np.minimum(B, 2.0 * rng)
        lg = np.minimum(b_eff / beta, cap)
    elif preset == "paper-args":
        b_eff = np.minimum(B, 1.01 * rng)
        lg = np.minimum(b_eff / beta, LOG2)   # gamma capped at 2
    elif preset == "exact":
        b_eff = np.full_like(rng, B)
        lg = np.full_like(rng, B / beta)
    else:
        raise SystemExit(f"peers.py: unknown preset {preset!r}")
    return b_eff, lg


# ----------------------------------------------------------------------------
# NumPy: one vectorised bisection over the whole batch

def numpy_bisect(u, lg, tol, max_iter=200):
    """m* of every row of u (prompts, n) float64; lg (prompts,) log gamma.

    Returns (m (prompts,), iterations)."""
    lo = u.min(axis=1)                       # (prompts,)
    hi = u.max(axis=1)                       # (prompts,)
    stop = tol * np.maximum(1.0, hi - lo)    # (prompts,) bracket width to reach
    eps = np.exp(-lg)[:, None]               # (prompts, 1) weight below, relative to above
    it = 0
    while it < max_iter and np.any(hi - lo >= stop):
        mid = 0.5 * (lo + hi)                            # (prompts,)
        d = u - mid[:, None]                             # (prompts, n)
        f = np.where(d >= 0, d, eps * d).sum(axis=1)     # (prompts,) F(mid)/gamma
        up = f > 0                                       # root lies above mid
        lo = np.where(up, mid, lo)
        hi = np.where(up, hi, mid)
        it += 1
    return 0.5 * (lo + hi), it


# ----------------------------------------------------------------------------
# NumPy: the exact root by sorting

def numpy_sort(u, lg):
    """m* of every row of u (prompts, n) float64, exactly (no tolerance); lg (prompts,)."""
    n = u.shape[1]
    top = -np.sort(-u, axis=1)                  # (prompts, n) each row descending
    S = np.cumsum(top, axis=1)                  # (prompts, n) S[:, k-1]: sum of the top k
    T = S[:, -1:]                               # (prompts, 1) row total
    eps = np.exp(-lg)[:, None]                  # (prompts, 1) weight below, relative to above
    k = np.arange(1, n + 1, dtype=np.float64)   # (n,)
    return ((S + eps * (T - S)) / (k + eps * (n - k))).max(axis=1)


# ----------------------------------------------------------------------------
# SciPy: the authors' per-prompt bisection

def authors_threshold(row, lg):
    """m* of one prompt's rewards row (n,) float64, as in the paper's code."""
    if lg < 700.0:
        gamma = math.exp(lg)

        def f(m):
            w = np.where(row >= m, gamma, 1.0)
            return np.sum(w * (row - m))
    else:
        # exp(lg) would overflow a double: the same root with weights / gamma.
        eps = math.exp(-lg)

        def f(m):
            w = np.where(row >= m, 1.0, eps)
            return np.sum(w * (row - m))

    return bisect(f, row.min(), row.max(), xtol=2e-12)


def scipy_run(u, lg, min_seconds, min_prompts):
    """Solves rows of u one by one until both minimums are reached (or all rows).

    Returns (m (k,), k, seconds for those k)."""
    prompts = u.shape[0]
    out = np.empty(prompts)                  # (prompts,) only [:k] filled
    t0 = time.perf_counter()
    k = 0
    while k < prompts:
        out[k] = authors_threshold(u[k], float(lg[k]))
        k += 1
        # the clock is read every 16 prompts so it costs nothing to the loop
        if k % 16 == 0 and k >= min_prompts and time.perf_counter() - t0 >= min_seconds:
            break
    return out[:k], k, time.perf_counter() - t0


# ----------------------------------------------------------------------------
# main

def result(impl, n, prompts, samples, nbytes, seconds, **extra):
    fields = dict(impl=impl, n=n, prompts=prompts, samples=samples, bytes=nbytes,
                  seconds=f"{seconds:.6e}", prompts_per_s=f"{prompts / seconds:.6e}",
                  gb_per_s=f"{nbytes / seconds / 1e9:.4f}")
    fields.update(extra)
    print("RESULT " + " ".join(f"{k}={v}" for k, v in fields.items()), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file")
    ap.add_argument("--preset", default="paper-cd", choices=["exact", "paper-cd", "paper-args"])
    ap.add_argument("--B", type=float, default=15.0)
    ap.add_argument("--beta", type=float, default=0.667)
    ap.add_argument("--cap", type=float, default=2.0)
    ap.add_argument("--tol", type=float, default=1e-12)
    ap.add_argument("--mstar", help="raw float64 (prompts,) m* from bench_cpu to check against")
    ap.add_argument("--numpy-reps", type=int, default=1)
    ap.add_argument("--scipy-min-seconds", type=float, default=2.0)
    ap.add_argument("--scipy-min-prompts", type=int, default=500)
    ap.add_argument("--skip-scipy", action="store_true")
    a = ap.parse_args()

    print(f"INFO python={platform.python_version()} numpy={np.__version__} "
          f"scipy={scipy.__version__}", flush=True)

    raw = np.load(a.file, mmap_mode="r")     # (prompts, n) float32, memory-mapped
    if raw.ndim != 2:
        raise SystemExit(f"peers.py: {a.file}: expected a 2-D array, got shape {raw.shape}")
    prompts, n = raw.shape
    samples = prompts * n
    nbytes = raw.nbytes
    np.asarray(raw).sum()                    # warm-up: the file in the page cache, as for bench_cpu

    ref = None
    if a.mstar:
        ref = np.fromfile(a.mstar, dtype=np.float64)   # (prompts,)
        if ref.shape != (prompts,):
            raise SystemExit(f"peers.py: {a.mstar}: {ref.size} values for {prompts} prompts")

    def max_diff(m):
        return f"{np.max(np.abs(m - ref[:m.size])):.3e}" if ref is not None else "nan"

    # ---- NumPy: conversion to float64 is part of what the user's code does
    best, best_conv, m_np, iters = math.inf, math.inf, None, 0
    for _ in range(a.numpy_reps):
        t0 = time.perf_counter()
        u = np.asarray(raw, dtype=np.float64)          # (prompts, n) float64
        t1 = time.perf_counter()
        umin, umax = u.min(axis=1), u.max(axis=1)      # (prompts,)
        _, lg = preset_eval(a.preset, a.B, a.beta, a.cap, umin, umax)
        m_np, iters = numpy_bisect(u, lg, a.tol)
        t2 = time.perf_counter()
        if t2 - t0 < best:
            best, best_conv = t2 - t0, t1 - t0
    result("numpy-bisect", n, prompts, samples, nbytes, best, reps=a.numpy_reps,
           convert_seconds=f"{best_conv:.6e}", iterations=iters, max_abs_diff=max_diff(m_np))

    # ---- NumPy, exact by sorting (conversion included, as above)
    best_s, m_s = math.inf, None
    for _ in range(a.numpy_reps):
        t0 = time.perf_counter()
        u = np.asarray(raw, dtype=np.float64)          # (prompts, n) float64
        _, lg = preset_eval(a.preset, a.B, a.beta, a.cap, u.min(axis=1), u.max(axis=1))
        m_s = numpy_sort(u, lg)
        best_s = min(best_s, time.perf_counter() - t0)
    result("numpy-sort", n, prompts, samples, nbytes, best_s, reps=a.numpy_reps, max_abs_diff=max_diff(m_s))

    # ---- SciPy: per prompt, on a prefix, scaled to the batch
    if not a.skip_scipy:
        u = np.asarray(raw, dtype=np.float64)          # (prompts, n) float64
        _, lg = preset_eval(a.preset, a.B, a.beta, a.cap, u.min(axis=1), u.max(axis=1))
        m_sc, k, t = scipy_run(u, lg, a.scipy_min_seconds, a.scipy_min_prompts)
        result("scipy-bisect", n, prompts, samples, nbytes, t * prompts / k,
               measured_prompts=k, measured_seconds=f"{t:.6e}", scaled=int(k < prompts),
               max_abs_diff=max_diff(m_sc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
