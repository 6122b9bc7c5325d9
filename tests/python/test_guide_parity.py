"""Guided decoding through the checked binding gives what the library gives:
against NumPy references (top-k, log_softmax, argmax of the fused score, the
sampling law), against the tokens the binding returned before the checks
(recorded from commit 7f3acd8 on exact inputs), and the same tokens for every
accepted conversion (int64 ids, float64 scores, non-contiguous, big-endian,
unaligned arrays, lists for m_star) and any thread count."""
import numpy as np
import pytest

import srs


def log_softmax(x, T):
    z = x / T
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


def test_candidates_against_numpy(g, rng):
    R, V, K = 32, 5000, 10
    x = rng.normal(0, 3, (R, V)).astype(np.float32)
    ids, logp, flags = g.candidates(x, k=K, T=0.8)
    ref = np.argsort(-x, axis=1, kind="stable")[:, :K]
    np.testing.assert_array_equal(ids, ref)
    np.testing.assert_allclose(logp, np.take_along_axis(log_softmax(x.astype(np.float64), 0.8), ref, 1), atol=1e-5)
    assert (flags == srs.FLAG_VALID).all()
    ids16, _, _ = g.candidates(x.astype(np.float16), k=K, T=0.8)
    np.testing.assert_array_equal(ids16, np.argsort(-x.astype(np.float16).astype(np.float32), 1, kind="stable")[:, :K])


def test_bfloat16_bit_patterns(g, rng):
    x = rng.normal(0, 3, (8, 300)).astype(np.float32)
    bits = (x.view(np.uint32) >> 16).astype(np.uint16)        # truncation to bfloat16
    xb = (bits.astype(np.uint32) << 16).view(np.float32)
    ids, _, _ = g.candidates(bits, k=6, dtype="bfloat16")
    np.testing.assert_array_equal(ids, np.argsort(-xb, 1, kind="stable")[:, :6])
    ids2, _, _ = g.candidates(bits.view(np.int16), k=6, dtype="bfloat16")
    np.testing.assert_array_equal(ids2, ids)


def test_greedy_is_the_argmax_of_the_fused_score(g, step_inputs):
    _, ids, logp, score = step_inputs
    R = ids.shape[0]
    tok, fused, mused, fl = g.select(ids, logp, score, design="raw", lam=1.5, return_all=True)
    f = logp.astype(np.float64) + 1.5 * score
    np.testing.assert_array_equal(tok, ids[np.arange(R), f.argmax(axis=1)])
    np.testing.assert_allclose(fused, f, atol=1e-5)
    assert np.isnan(mused).all() and (fl & srs.FLAG_VALID).all()
    m = np.linspace(-0.5, 0.5, R)
    tok = g.select(ids, logp, score, design="soft", threshold="given", m_star=m, B=2.0, alpha=3.0, lam=1.0)
    f = logp + 2.0 / (1 + np.exp(-3.0 * (score - m[:, None])))
    np.testing.assert_array_equal(tok, ids[np.arange(R), f.argmax(axis=1)])


def test_sampling_follows_softmax_of_the_fused_score(g, rng):
    N, K = 100000, 10
    lp1 = np.sort(rng.normal(-2, 1, K)).astype(np.float32)[::-1].copy()
    sc1 = rng.normal(0, 1, K).astype(np.float32)
    tok = g.select(np.tile(np.arange(K, dtype=np.int32), (N, 1)), np.tile(lp1, (N, 1)), np.tile(sc1, (N, 1)),
                   design="raw", lam=0.7, mode="sample", tau=0.9, seed=2024, step=5)
    fz = (lp1.astype(np.float64) + 0.7 * sc1) / 0.9
    p = np.exp(fz - fz.max())
    p /= p.sum()
    cnt = np.bincount(tok, minlength=K)
    assert ((cnt - N * p) ** 2 / (N * p)).sum() < 27.88      # chi-square, df 9, p = 0.001


def test_per_row_seeds_follow_the_row(g, step_inputs):
    _, ids, logp, score = step_inputs
    seeds = np.arange(100, 116, dtype=np.uint64)
    a = g.select(ids, logp, score, mode="sample", seeds=seeds, step=3)
    b = g.select(ids[::-1], logp[::-1], score[::-1], mode="sample", seeds=seeds[::-1], step=3)
    np.testing.assert_array_equal(a, b[::-1])


def test_vocab_against_candidates_and_select(g, rng):
    R, V, K = 16, 2000, 8
    x = rng.normal(0, 3, (R, V)).astype(np.float32)
    vals = rng.normal(0, 1, (R, V)).astype(np.float32)
    ids, logp, _ = g.candidates(x, k=K, T=0.8)
    t1, cids, fused, fl = g.vocab(x, vals, k=K, T=0.8, design="raw", lam=2.0, mode="sample", seed=9,
                                  return_all=True)
    t2 = g.select(ids, logp, np.take_along_axis(vals, ids, 1), design="raw", lam=2.0, mode="sample", seed=9)
    np.testing.assert_array_equal(t1, t2)
    np.testing.assert_array_equal(cids, ids)
    t3, c3, f3, fl3 = g.vocab(x, vals, k=0, T=0.8, design="raw", lam=2.0, return_all=True)
    np.testing.assert_array_equal(t3, (x / 0.8 + 2.0 * vals).argmax(axis=1))
    assert c3 is None and f3 is None and fl3.shape == (R,)


def test_value_head_against_numpy(g, rng):
    h = rng.normal(0, 1, (4, 16)).astype(np.float32)
    W = rng.normal(0, 0.1, (16, 300)).astype(np.float32)
    b = rng.normal(0, 1, 300).astype(np.float32)
    np.testing.assert_allclose(g.value_head(h, W), h @ W, atol=1e-4)
    np.testing.assert_allclose(g.value_head(h, W, bias=b), h @ W + b, atol=1e-4)
    ids = np.array([[0, 5, 299], [1, 2, 3], [7, -1, 300], [4, 4, 4]], np.int64)
    v = g.value_head(h, W, bias=b.astype(np.float64), ids=ids)
    full = h @ W + b
    for r in range(4):
        for j in range(3):
            i = ids[r, j]
            if 0 <= i < 300:
                assert abs(v[r, j] - full[r, i]) < 1e-4
            else:
                assert np.isnan(v[r, j])
    np.testing.assert_allclose(g.value_head(h.astype(np.float64), W.astype(np.float64)), h @ W, atol=1e-4)


# -- the tokens the binding returned before the checks ------------------------------
# Inputs are exact in float32 (no libm), so the tokens do not depend on NumPy's
# version; recorded with the binding of commit 7f3acd8 (python/srs/guide.py).
R, V, K = 8, 300, 12
BEFORE = {
    "cand_ids_row0": [76, 173, 270, 55, 152, 249, 34, 131, 228, 13, 110, 207],
    "soft_step_sample": [110, 241, 39, 94, 204, 238, 57, 28],
    "hard_given": [270, 283, 5, 18, 31, 44, 57, 70],
    "minmax_sample": [270, 165, 296, 267, 259, 217, 15, 28],
    "meanstd_seeds": [228, 262, 254, 52, 162, 141, 57, 243],
    "vocab_k0_sample": [94, 115, 254, 288, 49, 133, 169, 159],
    "vocab_k5_soft_given": [270, 89, 296, 18, 107, 44, 57, 167],
}


def exact_inputs():
    r = np.arange(R)[:, None]
    c = np.arange(V)[None, :]
    x = (((c * 37 + r * 101) % 97 - 48) / 16).astype(np.float32)
    vals = (((c * 53 + r * 29) % 89 - 44) / 32).astype(np.float32)
    return x, vals, (np.arange(R) - 3.5) / 8


def recorded_calls(g, x, vals, m, conv=lambda name, a: a):
    """The recorded calls; conv(name, array) may change an input's layout or dtype."""
    ids, logp, _ = g.candidates(conv("logits", x), k=K, T=0.9)
    score = np.take_along_axis(vals, ids, 1)
    ids, logp, score = conv("ids", ids), conv("logp", logp), conv("score", score)
    m = conv("m_star", m)
    return {
        "cand_ids_row0": ids[0].tolist(),
        "soft_step_sample": g.select(ids, logp, score, design="soft", lam=2.0, mode="sample", tau=0.7, seed=5,
                                     step=17, top_p=0.9).tolist(),
        "hard_given": g.select(ids, logp, score, design="hard", threshold="given", m_star=m, B=1.5,
                               lam=1.0).tolist(),
        "minmax_sample": g.select(ids, logp, score, design="minmax", lam=3.0, mode="sample", seed=11).tolist(),
        "meanstd_seeds": g.select(ids, logp, score, design="meanstd", lam=1.0, mode="sample",
                                  seeds=conv("seeds", np.arange(40, 40 + R, dtype=np.uint64)), step=2).tolist(),
        "vocab_k0_sample": g.vocab(conv("logits", x), conv("values", vals), k=0, T=0.9, design="raw", lam=1.5,
                                   mode="sample", tau=0.8, seed=3, step=2).tolist(),
        "vocab_k5_soft_given": g.vocab(conv("logits", x), conv("values", vals), k=5, T=1.0, design="soft",
                                       threshold="given", m_star=m, B=2.0, alpha=3.0, lam=1.0, mode="sample",
                                       seed=7).tolist(),
    }


def test_same_tokens_as_before_the_checks(g):
    assert recorded_calls(g, *exact_inputs()) == BEFORE


def fortran(name, a):
    return np.asfortranarray(a) if a.ndim == 2 else a


def strided(name, a):
    if a.ndim != 2:
        return a[::-1][::-1]
    b = np.zeros((a.shape[0], 2 * a.shape[1]), a.dtype)
    b[:, ::2] = a
    return b[:, ::2]


def big_endian(name, a):
    return a.astype(a.dtype.newbyteorder(">")) if a.dtype.kind in "fiu" else a


def unaligned(name, a):
    buf = np.zeros(a.nbytes + 1, np.uint8)
    u = np.frombuffer(buf.data, dtype=a.dtype, count=a.size, offset=1).reshape(a.shape)
    u[...] = a
    assert not u.flags.aligned or a.dtype.itemsize == 1
    return u


def wider(name, a):
    return {"ids": lambda: a.astype(np.int64), "logp": lambda: a.astype(np.float64),
            "score": lambda: a.astype(np.float64), "m_star": lambda: a.tolist(),
            "seeds": lambda: a.astype(np.int64), "logits": lambda: a.astype(np.float64),
            "values": lambda: a.astype(np.float64)}[name]()


@pytest.mark.parametrize("conv", [fortran, strided, big_endian, unaligned, wider])
def test_same_tokens_for_every_accepted_layout_and_dtype(g, conv):
    x, vals, m = exact_inputs()
    assert recorded_calls(g, x, vals, m, conv) == BEFORE


def test_scalar_m_star_is_one_per_row(g, step_inputs):
    _, ids, logp, score = step_inputs
    a = g.select(ids, logp, score, design="hard", threshold="given", m_star=0.25, lam=2.0)
    b = g.select(ids, logp, score, design="hard", threshold="given", m_star=np.full(16, 0.25), lam=2.0)
    np.testing.assert_array_equal(a, b)


def test_thread_count_does_not_change_tokens(step_inputs):
    x, ids, logp, score = step_inputs
    out = []
    for threads in (1, 2, 3):
        with srs.Guide("cpu", threads=threads) as g:
            out.append((g.select(ids, logp, score, mode="sample", seed=1, step=4).tolist(),
                        g.vocab(x, x, k=0, design="raw", mode="sample", seed=2).tolist()))
    assert out[0] == out[1] == out[2]


def test_zero_rows(g):
    ids, logp, flags = g.candidates(np.zeros((0, 50), np.float32), k=4)
    assert ids.shape == (0, 4) and logp.shape == (0, 4) and flags.shape == (0,)
    assert g.select(ids, logp, logp).shape == (0,)
    assert g.vocab(np.zeros((0, 50), np.float32), np.zeros((0, 50), np.float32), k=0, design="raw").shape == (0,)
