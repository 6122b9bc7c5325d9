#!/usr/bin/env python3
"""The Python binding (python/srs) on synthetic logits.

CPU (NumPy, always): candidates against a NumPy top-k and log_softmax, greedy
selection against an argmax computed here, sampling against softmax(fused/tau)
by chi-square, per-row seeds, errors raised with the library's message
(tests/python/ has the package's own suite: install, every bad input, parity).
GPU (PyTorch with CUDA, when present): token-for-token parity of every entry
point between the CPU and CUDA backends at a fixed seed — the test that the
GPU picks the same token as the CPU.

Run by tests/test_guide.c (guide_python_binding) with SRS_LIB set; exit code 77
means NumPy is missing (the C test reports a skip).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
try:
    import numpy as np
except ImportError:
    print("numpy not installed", file=sys.stderr)
    sys.exit(77)
import srs  # noqa: E402

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("    FAIL:", msg, file=sys.stderr)


def log_softmax(x, T):
    z = x / T
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


def test_cpu():
    rng = np.random.default_rng(7)
    g = srs.Guide("cpu")
    R, V, K = 32, 5000, 10
    x = rng.normal(0, 3, (R, V)).astype(np.float32)
    ids, logp, flags = g.candidates(x, k=K, T=0.8)
    ref = np.argsort(-x, axis=1, kind="stable")[:, :K]
    check((ids == ref).all(), "candidates: ids differ from NumPy's top-k")
    ls = log_softmax(x.astype(np.float64), 0.8)
    check(np.allclose(logp, np.take_along_axis(ls, ref, 1), atol=1e-5), "candidates: logp")
    check((flags == srs.FLAG_VALID).all(), "candidates: flags")

    # float16 input
    ids16, _, _ = g.candidates(x.astype(np.float16), k=K, T=0.8)
    ref16 = np.argsort(-x.astype(np.float16).astype(np.float32), axis=1, kind="stable")[:, :K]
    check((ids16 == ref16).all(), "candidates float16")

    # greedy raw design: argmax of logp + lam * score
    score = rng.normal(0, 1, (R, K)).astype(np.float32)
    tok, fused, mused, fl = g.select(ids, logp, score, design="raw", lam=1.5, return_all=True)
    f = logp.astype(np.float64) + 1.5 * score
    check((tok == ids[np.arange(R), f.argmax(axis=1)]).all(), "greedy raw argmax")
    check(np.allclose(fused, f, atol=1e-5), "fused scores")

    # soft with a given m*: fused = logp + lam * B sigmoid(alpha (u - m))
    m = rng.normal(0, 0.5, R)
    tok = g.select(ids, logp, score, design="soft", threshold="given", m_star=m, B=2.0, alpha=3.0, lam=1.0)
    f = logp + 2.0 / (1 + np.exp(-3.0 * (score - m[:, None])))
    check((tok == ids[np.arange(R), f.argmax(axis=1)]).all(), "greedy soft argmax")

    # sampling: chi-square on 10^5 rows of one distribution (df 9, p = 0.001)
    N = 100000
    lp1 = np.sort(rng.normal(-2, 1, K)).astype(np.float32)[::-1].copy()
    sc1 = rng.normal(0, 1, K).astype(np.float32)
    idsN = np.tile(np.arange(K, dtype=np.int32), (N, 1))
    tokN = g.select(idsN, np.tile(lp1, (N, 1)), np.tile(sc1, (N, 1)), design="raw", lam=0.7,
                    mode="sample", tau=0.9, seed=2024, step=5)
    fz = (lp1.astype(np.float64) + 0.7 * sc1) / 0.9
    p = np.exp(fz - fz.max())
    p /= p.sum()
    cnt = np.bincount(tokN, minlength=K)
    chi = ((cnt - N * p) ** 2 / (N * p)).sum()
    check(chi < 27.88, "sampling chi-square %.2f >= 27.88" % chi)

    # per-row seeds: a row's draw does not depend on its position
    seeds = np.arange(100, 100 + R, dtype=np.uint64)
    a = g.select(ids, logp, score, mode="sample", seeds=seeds, step=3)
    b = g.select(ids[::-1].copy(), logp[::-1].copy(), score[::-1].copy(), mode="sample",
                 seeds=seeds[::-1].copy(), step=3)
    check((a == b[::-1]).all(), "per-row seeds follow the row")

    # full vocabulary, top-k path equals candidates + select
    vals = rng.normal(0, 1, (R, V)).astype(np.float32)
    t1 = g.vocab(x, vals, k=K, T=0.8, design="raw", lam=2.0, mode="sample", seed=9)
    sc = np.take_along_axis(vals, ids, 1)
    t2 = g.select(ids, logp, sc, design="raw", lam=2.0, mode="sample", seed=9)
    check((t1 == t2).all(), "vocab top-k path equals candidates + select")
    # whole vocabulary greedy
    t3 = g.vocab(x, vals, k=0, T=0.8, design="raw", lam=2.0)
    check((t3 == (x / 0.8 + 2.0 * vals).argmax(axis=1)).all(), "whole-vocabulary greedy")

    # value head
    h = rng.normal(0, 1, (4, 16)).astype(np.float32)
    W = rng.normal(0, 0.1, (16, 300)).astype(np.float32)
    vh = g.value_head(h, W)
    check(np.allclose(vh, h @ W, atol=1e-4), "value head")

    # bad arguments: ValueError from the binding's checks (k), or from the
    # library, then an SrsError carrying its message (top_p)
    try:
        g.candidates(x, k=65)
        check(False, "k = 65 accepted")
    except ValueError as e:
        check("k must be" in str(e), "error message: %s" % e)
    try:
        g.select(ids, logp, score, top_p=0.0)
        check(False, "top_p = 0 accepted")
    except srs.SrsError as e:
        check("top_p" in str(e) and isinstance(e, ValueError), "error message: %s" % e)
    g.close()


def test_gpu_parity():
    """CPU and CUDA pick the same tokens for the same inputs and seed."""
    try:
        import torch
    except ImportError:
        print("    torch not installed: GPU parity not tested", file=sys.stderr)
        return
    if not torch.cuda.is_available():
        print("    no CUDA device: GPU parity not tested", file=sys.stderr)
        return
    try:
        gg = srs.Guide("cuda")
    except srs.SrsError as e:
        print("    CUDA context unavailable (%s): GPU parity not tested" % e, file=sys.stderr)
        return
    gc = srs.Guide("cpu")
    rng = np.random.default_rng(11)
    for V, K in ((32000, 10), (151936, 64), (1000, 64), (50, 64)):
        R = 64
        x = rng.normal(0, 3, (R, V)).astype(np.float32)
        x[3, :] = np.nan
        x[4, :] = -np.inf
        xt = torch.from_numpy(x).cuda()
        for dt, xn in (("float32", x), ("bfloat16", None)):
            if dt == "bfloat16":
                xb = xt.to(torch.bfloat16)
                xn = xb.view(torch.int16).cpu().numpy().view(np.uint16)
                xd = xb
            else:
                xd = xt
            ic, lc, fc = gc.candidates(xn, k=K, T=0.9, dtype=dt)
            ig, lg, fg = gg.candidates(xd, k=K, T=0.9)
            torch.cuda.synchronize()
            check((ic == ig.cpu().numpy()).all(), "parity candidates ids V=%d K=%d %s" % (V, K, dt))
            check(np.allclose(lc, lg.cpu().numpy(), atol=1e-5, equal_nan=True),
                  "parity candidates logp V=%d %s" % (V, dt))
            check((fc == fg.cpu().numpy()).all(), "parity candidates flags")
            score = rng.normal(0, 1, (R, K)).astype(np.float32)
            for opts in (dict(design="soft", lam=2.0, mode="sample", tau=0.7, seed=5, step=17, top_p=0.9),
                         dict(design="hard", lam=1.0, mode="sample", seed=1),
                         dict(design="meanstd", lam=0.5, mode="greedy"),
                         dict(design="minmax", lam=1e300, mode="sample")):
                tc, fuc, mc, flc = gc.select(ic, lc, score, return_all=True, **opts)
                tg, fug, mg, flg = gg.select(torch.from_numpy(ic).cuda(), torch.from_numpy(lc).cuda(),
                                             torch.from_numpy(score).cuda(), return_all=True, **opts)
                torch.cuda.synchronize()
                check((tc == tg.cpu().numpy()).all(), "parity select tokens %s" % opts)
                check((flc == flg.cpu().numpy()).all(), "parity select flags %s" % opts)
            vals = rng.normal(0, 1, (R, V)).astype(np.float32)
            for k in (K, 0):
                o = dict(design="raw", lam=1.5, mode="sample", tau=0.8, seed=3, step=2)
                tc = gc.vocab(xn, vals, k=k, T=0.9, dtype=dt, **o)
                tg = gg.vocab(xd, torch.from_numpy(vals).cuda(), k=k, T=0.9, **o)
                torch.cuda.synchronize()
                same = (tc == tg.cpu().numpy()).mean()
                # k > 0 uses logp computed per backend (float rounding of the
                # log-sum-exp may differ by an ulp), so allow a rare difference
                check(same == 1.0 if k == 0 else same >= 0.99, "parity vocab k=%d %s: %.3f" % (k, dt, same))
    # value head: cuBLAS vs OpenBLAS
    h = rng.normal(0, 1, (8, 256)).astype(np.float32)
    W = rng.normal(0, 0.05, (256, 4096)).astype(np.float32)
    vc = gc.value_head(h, W)
    vg = gg.value_head(torch.from_numpy(h).cuda(), torch.from_numpy(W).cuda()).cpu().numpy()
    check(np.allclose(vc, vg, atol=1e-2), "parity value head")
    print("    GPU parity tested", file=sys.stderr)


if __name__ == "__main__":
    test_cpu()
    test_gpu_parity()
    print("python binding: %d failures" % len(failures), file=sys.stderr)
    sys.exit(1 if failures else 0)
