"""Properties, with hypothesis: srs.thresholds and srs.shape against a NumPy
reference written here from DESIGN.md §1, over presets, solvers, layouts,
dtypes, base log-weights, threads and chunks of rows.

The reference: with p_i ∝ exp(logw_i) and u sorted in decreasing order, S_k
and P_k the prefix sums of p u and p, T and P their totals, and the preset's
gamma (exact: exp(B/beta); paper-cd: exp(min(B_eff/beta, cap)) with B_eff =
min(B, 2 range); paper-args: min(exp(B_eff/beta), 2) with B_eff = min(B, 1.01
range)),

    m* = max over k = 1..n of (S_k + (T - S_k)/gamma) / (P_k + (P - P_k)/gamma),

the best utility of rewarding a top-k set, which is the threshold's (the
leader's optimum is a threshold reward). Written with 1/gamma, it does not
overflow. Then the shaped rewards of every design from their formulas
(include/srs_math.h, srs_shape_value), at the library's m*.

Invariances, bit for bit: the layout (2-D, list, CSR), float32 given as such
or as float64, the number of threads, and the batch cut into chunks of rows.
Skipped without hypothesis (make test-python installs it)."""
import numpy as np
import pytest

import srs

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is not installed: the property tests are skipped")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SETTINGS = settings(max_examples=100, deadline=None, database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# -- the reference ----------------------------------------------------------------------


def preset_constants(preset, B, beta, cap, u):
    """(B_eff, 1/gamma) of a row (DESIGN.md, the presets' table)."""
    rng = u.max() - u.min()
    if preset == "paper-cd":
        b = min(B, 2 * rng)
        return b, np.exp(-min(b / beta, cap))
    if preset == "paper-args":
        b = min(B, 1.01 * rng)
        return b, 1 / min(np.exp(b / beta), 2.0)
    return B, np.exp(-B / beta)


def ref_threshold(u, logw, preset, B, beta, cap):
    b_eff, inv_g = preset_constants(preset, B, beta, cap, u)
    p = np.ones_like(u) if logw is None else np.exp(logw - logw.max())
    order = np.argsort(-u, kind="stable")
    us, ps = u[order], p[order]
    S, Pk = np.cumsum(ps * us), np.cumsum(ps)
    m = (S + (S[-1] - S) * inv_g) / (Pk + (Pk[-1] - Pk) * inv_g)
    return m.max(), b_eff


def sigmoid(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


def ref_shaped(design, u, logw, m, b_eff, B, alpha, clip):
    p = np.ones_like(u) if logw is None else np.exp(logw - logw.max())
    p = p / p.sum()
    d = u - u[0]              # as the library loads a row: shifted, so equal rewards have std 0 exactly
    mean = u[0] + p @ d
    std = np.sqrt(p @ (d - p @ d) ** 2)
    rng = u.max() - u.min()
    return {
        "raw": u,
        "hard": np.where(u >= m, b_eff, 0.0),
        "soft": b_eff * sigmoid(alpha * (u - m)),
        "minmax": np.zeros_like(u) if rng == 0 else min(B, 1.01 * rng) * (u - u.min()) / rng,
        "meanstd": np.zeros_like(u) if std == 0 else (u - mean) / std,
        "cap": np.clip(u - u.min(), 0, B if clip is None else clip),
        "meansoft": b_eff * sigmoid(alpha * (u - mean)),
    }[design]


# -- inputs --------------------------------------------------------------------------------

reals = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@st.composite
def batches(draw, equal_rows=False):
    """A batch: rows of rewards (some with ties, some spread over decades of
    scale) and maybe log-weights, as float64 lists."""
    n_rows = draw(st.integers(1, 8))
    length = draw(st.integers(1, 24))
    rows, lws = [], []
    with_logw = draw(st.booleans())
    for _ in range(n_rows):
        k = length if equal_rows else draw(st.integers(1, 24))
        kind = draw(st.sampled_from(["any", "ties", "scaled"]))
        if kind == "ties":
            pool = draw(st.lists(reals, min_size=1, max_size=3))
            u = draw(st.lists(st.sampled_from(pool), min_size=k, max_size=k))
        else:
            u = draw(st.lists(reals, min_size=k, max_size=k))
            if kind == "scaled":
                u = [x * 10.0 ** draw(st.integers(-6, 3)) for x in u]
        rows.append(np.array(u, np.float64))
        lws.append(np.array(draw(st.lists(st.floats(-30, 30), min_size=k, max_size=k)), np.float64))
    return rows, (lws if with_logw else None)


options = st.fixed_dictionaries({
    "preset": st.sampled_from(["exact", "paper-cd", "paper-args"]),
    "B": st.floats(0, 40),
    "beta": st.floats(0.01, 10),
    "cap": st.floats(0.1, 5),
    "solver": st.sampled_from(["exact", "dinkelbach", "bisect"]),
})


def bits(a):
    return np.ascontiguousarray(a, np.float64).view(np.uint64)


def scale(u):
    return max(1.0, float(np.abs(u).max()))


# -- properties ----------------------------------------------------------------------------


@SETTINGS
@given(batches(), options)
def test_thresholds_are_the_sort_based_root(batch, opts):
    rows, lws = batch
    m, be = srs.thresholds(rows, logw=lws, **opts)
    for i, u in enumerate(rows):
        rm, rb = ref_threshold(u, None if lws is None else lws[i], opts["preset"], opts["B"], opts["beta"],
                               opts["cap"])
        s = scale(u)
        assert abs(m[i] - rm) <= 1e-10 * s, (i, m[i], rm)
        assert abs(be[i] - rb) <= 1e-13 * s, (i, be[i], rb)
        assert u.min() - 1e-12 * s <= m[i] <= u.max() + 1e-12 * s


@SETTINGS
@given(batches(), options, st.sampled_from(["raw", "hard", "soft", "minmax", "meanstd", "cap", "meansoft"]),
       st.floats(0.05, 20), st.one_of(st.none(), st.floats(0, 10)))
def test_shaped_rewards_are_the_formulas(batch, opts, design, alpha, clip):
    rows, lws = batch
    sh, m, be = srs.shape(rows, logw=lws, design=design, alpha=alpha, clip=clip, **opts)
    for i, u in enumerate(rows):
        want = ref_shaped(design, u, None if lws is None else lws[i], m[i], be[i], opts["B"], alpha, clip)
        tol = 1e-9 * max(1.0, opts["B"], np.abs(want).max()) if design != "meanstd" else \
            1e-7 * max(1.0, np.abs(want).max())
        assert np.abs(sh[i] - want).max() <= tol, (design, i, sh[i], want)
        if design == "hard":       # at the library's m*: exactly
            assert (sh[i] == want).all()


@SETTINGS
@given(batches(equal_rows=True), options, st.sampled_from([np.float32, np.float64]), st.integers(1, 4),
       st.integers(1, 5))
def test_layouts_dtypes_threads_and_chunks_give_the_same_bits(batch, opts, dtype, threads, chunk):
    rows, lws = batch
    rows = [r.astype(dtype) for r in rows]
    lws = None if lws is None else [x.astype(dtype) for x in lws]
    dense = np.array(rows)
    dlw = None if lws is None else np.array(lws)
    offs = np.arange(dense.shape[0] + 1) * dense.shape[1]
    ref_m, ref_b = srs.thresholds(dense, logw=dlw, **opts)
    ref_s, _, _ = srs.shape(dense, logw=dlw, **opts)
    runs = [
        srs.thresholds(rows, logw=lws, **opts),
        srs.thresholds(dense.ravel(), offsets=offs, logw=None if dlw is None else dlw.ravel(), **opts),
        srs.thresholds(dense.astype(np.float64), logw=None if dlw is None else dlw.astype(np.float64), **opts),
        srs.thresholds(dense, logw=dlw, threads=threads, **opts),
    ]
    cut = [srs.thresholds(dense[a:a + chunk], logw=None if dlw is None else dlw[a:a + chunk], **opts)
           for a in range(0, len(dense), chunk)]
    runs.append(tuple(np.concatenate(x) for x in zip(*cut)))
    for m, b in runs:
        assert (bits(m) == bits(ref_m)).all() and (bits(b) == bits(ref_b)).all()
    sh, _, _ = srs.shape(rows, logw=lws, threads=threads, **opts)
    assert (bits(np.array(sh)) == bits(ref_s)).all()
