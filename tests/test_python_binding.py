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
    guide_cases(gc, gg, lambda a: torch.from_numpy(a).cuda(), lambda t: t.cpu().numpy(), torch.cuda.synchronize,
                "cpu/cuda")
    print("    GPU parity tested", file=sys.stderr)


def guide_cases(ga, gb, dev, back, sync, what):
    """ga against gb (the CPU and CUDA guides; or two CPU guides, to run this
    code where no GPU is) on the cases beyond the loop above: float16 logits,
    the gathered value head, k = 0 with the statistics designs, given m_star and
    b_eff, per-row seeds, greedy whole-vocabulary selection, and the fused and
    m_used outputs. dev moves a NumPy array to gb's device, back returns it."""
    rng = np.random.default_rng(13)
    R, V, K = 48, 4000, 16
    x = rng.normal(0, 3, (R, V)).astype(np.float16)
    x[5, :] = np.float16("nan")
    ia, la, fa = ga.candidates(x, k=K, T=0.9)
    ib, lb, fb = gb.candidates(dev(x), k=K, T=0.9)
    sync()
    check((ia == back(ib)).all(), "%s float16 candidates ids" % what)
    check(np.allclose(la, back(lb), atol=1e-5, equal_nan=True), "%s float16 candidates logp" % what)
    check((fa == back(fb)).all(), "%s float16 candidates flags" % what)
    score = rng.normal(0, 1, (R, K)).astype(np.float32)
    seeds = rng.integers(0, 2**63, R, dtype=np.int64)
    m_star = rng.normal(0, 0.5, R)
    b_eff = rng.uniform(0.5, 2, R)
    for opts in (dict(design="soft", lam=2.0, mode="sample", seeds=seeds, step=3, top_p=0.8),
                 dict(design="hard", lam=1.0, mode="sample", threshold="given", m_star=m_star, b_eff=b_eff, seed=9),
                 dict(design="soft", lam=1.0, mode="greedy", threshold="given", m_star=m_star),
                 dict(design="meansoft", lam=0.7, mode="sample", seed=2, preset="exact"),
                 dict(design="cap", lam=1.3, mode="greedy", preset="paper-cd")):
        sa, fua, ma, fla = ga.select(ia, la, score, return_all=True, **opts)
        sb, fub, mb, flb = gb.select(dev(ia), dev(la), dev(score), return_all=True, **opts)
        sync()
        name = "%s select %s" % (what, {k: v for k, v in opts.items() if k not in ("seeds", "m_star", "b_eff")})
        check((sa == back(sb)).all(), name + ": tokens")
        check((fla == back(flb)).all(), name + ": flags")
        # the same function on both sides: fused and m_used agree to rounding of exp/log
        check(np.allclose(fua, back(fub), rtol=1e-6, atol=1e-6, equal_nan=True), name + ": fused")
        check(np.allclose(ma, back(mb), rtol=1e-12, atol=1e-12, equal_nan=True), name + ": m_used")
    # whole vocabulary (k = 0): greedy and sampled, every statistics design, per-row seeds
    vals = rng.normal(0, 1, (R, V)).astype(np.float16)
    for opts in (dict(design="raw", lam=1.5, mode="greedy"),
                 dict(design="minmax", lam=1.0, mode="greedy"),
                 dict(design="meanstd", lam=0.5, mode="sample", tau=0.8, seeds=seeds),
                 dict(design="cap", lam=1.0, mode="sample", seed=4, step=1),
                 dict(design="meansoft", lam=2.0, mode="greedy")):
        ta = ga.vocab(x, vals, k=0, T=0.9, **opts)
        tb = gb.vocab(dev(x), dev(vals), k=0, T=0.9, **opts)
        sync()
        same = (ta == back(tb)).mean()
        # raw: per-entry terms only, the same arithmetic; the statistics designs add
        # sums over the vocabulary, reduced in another order on the GPU
        want = 1.0 if opts["design"] == "raw" else 0.97
        check(same >= want, "%s vocab k=0 %s: %.3f of tokens agree" % (what, opts["design"], same))
    # k > 0 with return_all: candidates and fused scores
    ta, ca, fua, fla = ga.vocab(x, vals, k=K, T=0.9, return_all=True, design="soft", lam=1.0, mode="greedy")
    tb, cb, fub, flb = gb.vocab(dev(x), dev(vals), k=K, T=0.9, return_all=True, design="soft", lam=1.0,
                                mode="greedy")
    sync()
    check((ca == back(cb)).mean() >= 0.99, "%s vocab k=%d: candidate ids" % (what, K))
    check((ta == back(tb)).mean() >= 0.97, "%s vocab k=%d: tokens" % (what, K))
    # the gathered value head: only the candidates' columns
    h = rng.normal(0, 1, (R, 128)).astype(np.float32)
    W = rng.normal(0, 0.05, (128, V)).astype(np.float32)
    bias = rng.normal(0, 0.1, V).astype(np.float32)
    va = ga.value_head(h, W, bias=bias, ids=ia)
    vb = back(gb.value_head(dev(h), dev(W), bias=dev(bias), ids=dev(ia)))
    full = h.astype(np.float64) @ W.astype(np.float64) + bias
    ref = np.where(ia >= 0, np.take_along_axis(full, np.clip(ia, 0, V - 1), 1), np.nan)
    check(np.allclose(va, ref, atol=1e-4, equal_nan=True), "%s gathered value head (first) vs NumPy" % what)
    check(np.allclose(vb, ref, atol=1e-4, equal_nan=True), "%s gathered value head (second) vs NumPy" % what)


if __name__ == "__main__":
    test_cpu()
    # the extra parity cases' code runs here on two CPU guides, so that the GPU
    # session cannot fail on them for a reason a CPU could have shown
    ident = lambda a: a  # noqa: E731
    guide_cases(srs.Guide("cpu"), srs.Guide("cpu", threads=1), ident, np.asarray, lambda: None, "cpu/cpu")
    test_gpu_parity()
    print("python binding: %d failures" % len(failures), file=sys.stderr)
    sys.exit(1 if failures else 0)
