#!/usr/bin/python3
"""eval_peer.py — the NumPy peer of `srs eval`: the same metrics, vectorised over prompts.

    eval_peer.py REWARDS.npy GOLD.npy R B CAP ALPHA LAMBDAS BON

Designs base, raw, hard, soft, minmax, meanstd, cap, meansoft (paper-cd preset, threshold per
beta by the sort-based formula), best-of-n for each n in BON, at every 1/beta in LAMBDAS; per
prompt proxy, gold, KL, ESS, win-tie and win against the base and against raw; means with
percentile intervals from R Poisson(1) bootstrap replicates (a weight matrix times the value
matrix, i.e. BLAS). Processes prompts in slices to bound memory. Prints the seconds spent
(excluding the load) and a checksum line.
"""
import sys
import time

import numpy as np


def sig(x):
    return 0.5 * (1 + np.tanh(0.5 * x))


def softmax_q(s, beta):
    t = s / beta
    t = t - t.max(axis=1, keepdims=True)
    e = np.exp(t)
    z = e.sum(axis=1, keepdims=True)
    q = e / z
    kl = (q * t).sum(axis=1) - np.log(z[:, 0] / s.shape[1])
    return q, kl


def metrics(q, kl, u, g, cle, clt, qraw_le, qraw_lt):
    return [(q * u).sum(1), (q * g).sum(1), kl, 1 / (q * q).sum(1), (q * cle).sum(1), (q * clt).sum(1),
            (q * qraw_le).sum(1), (q * qraw_lt).sum(1)]


def slice_values(u, g, B, cap, alpha, betas, bons):
    P, n = u.shape
    p = 1.0 / n
    ge = (g[:, :, None] >= g[:, None, :])               # (P, n, n)
    gt = (g[:, :, None] > g[:, None, :])
    cle, clt = ge.mean(2), gt.mean(2)
    ule = (u[:, :, None] >= u[:, None, :]).mean(2)
    ult = (u[:, :, None] > u[:, None, :]).mean(2)
    umin, umax = u.min(1, keepdims=True), u.max(1, keepdims=True)
    rng = umax - umin
    mean = u.mean(1, keepdims=True)
    std = u.std(1, keepdims=True)
    beff = np.minimum(B, 2 * rng)
    fixed = {
        "minmax": np.where(rng > 0, np.minimum(B, 1.01 * rng) * (u - umin) / np.where(rng > 0, rng, 1), 0),
        "meanstd": np.where(std > 0, (u - mean) / np.where(std > 0, std, 1), 0),
        "cap": np.clip(u - umin, 0, B),
        "meansoft": beff * sig(alpha * (u - mean)),
    }
    # best-of-n: P(max in tie group) shared equally among the group's samples
    cnt = np.rint((ule - ult) * n)
    bonq = {N: (ule ** N - ult ** N) / cnt for N in bons}
    srt = -np.sort(-u, axis=1)
    S = np.cumsum(srt * p, axis=1)
    Pk = np.cumsum(np.full_like(srt, p), axis=1)
    T = S[:, -1:]
    cols = []
    for beta in betas:
        lg = np.minimum(beff / beta, cap)
        eps = np.exp(-lg)
        m = np.max((S + eps * (T - S)) / (Pk + eps * (1 - Pk)), axis=1, keepdims=True)
        qraw, klraw = softmax_q(u, beta)
        rle = (ge * qraw[:, None, :]).sum(2)
        rlt = (gt * qraw[:, None, :]).sum(2)
        base = np.full_like(u, p)
        cols += metrics(base, np.zeros(P), u, g, cle, clt, rle, rlt)
        cols += metrics(qraw, klraw, u, g, cle, clt, rle, rlt)
        for s in (np.where(u >= m, beff, 0.0), beff * sig(alpha * (u - m))):
            q, kl = softmax_q(s, beta)
            cols += metrics(q, kl, u, g, cle, clt, rle, rlt)
        for s in fixed.values():
            q, kl = softmax_q(s, beta)
            cols += metrics(q, kl, u, g, cle, clt, rle, rlt)
        for N in bons:
            q = bonq[N]
            kl = np.where(q > 0, q * np.log(np.where(q > 0, q * n, 1)), 0).sum(1)
            cols += metrics(q, kl, u, g, cle, clt, rle, rlt)
    return np.stack(cols, axis=1)                        # (P, K)


def main():
    u_all = np.load(sys.argv[1]).astype(np.float64)
    g_all = np.load(sys.argv[2]).astype(np.float64)
    R, B, cap, alpha = int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
    betas = [1 / float(x) for x in sys.argv[7].split(",")]
    bons = [int(x) for x in sys.argv[8].split(",")] if sys.argv[8] != "none" else []
    t0 = time.perf_counter()
    rng = np.random.default_rng(1)
    P = u_all.shape[0]
    sums, wsum, point = None, np.zeros(R), None
    for a in range(0, P, 8192):
        V = slice_values(u_all[a:a + 8192], g_all[a:a + 8192], B, cap, alpha, betas, bons)
        W = rng.poisson(1.0, size=(R, V.shape[0])).astype(np.float64)
        sums = W @ V if sums is None else sums + W @ V
        point = V.sum(0) if point is None else point + V.sum(0)
        wsum += W.sum(1)
    means = point / P
    reps = sums / wsum[:, None]
    lo, hi = np.percentile(reps, [2.5, 97.5], axis=0)
    dt = time.perf_counter() - t0
    print(f"seconds {dt:.4f}")
    print(f"cells {means.size // 8} checksum {np.nansum(means):.6f} ci {np.nansum(hi - lo):.6f}")


if __name__ == "__main__":
    main()
