"""srs.Guide.select(baselines="paper"): the authors' baseline definitions
(unweighted mean, population std clamped at 1e-6, cap not clipped), against
NumPy written from PAPER-CODE.md; baselines="srs" keeps the p-weighted ones."""
import numpy as np
import pytest


def paper_shape(design, u, B, alpha):
    mean = u.mean(axis=1, keepdims=True)
    sd = np.maximum(u.std(axis=1, keepdims=True), 1e-6)   # population std
    lo = u.min(axis=1, keepdims=True)
    rng = u.max(axis=1, keepdims=True) - lo
    if design == "meanstd":
        return (u - mean) / sd
    if design == "meansoft":
        return B / (1 + np.exp(-alpha * (u - mean)))
    if design == "minmax":
        return np.minimum(B, 1.01 * rng) * (u - lo) / np.maximum(rng, 1e-6)
    if design == "cap":
        return u - lo
    raise AssertionError(design)


@pytest.mark.parametrize("design", ["meanstd", "meansoft", "minmax", "cap"])
def test_paper_baselines(g, step_inputs, design):
    _, ids, logp, score = step_inputs
    score = score.astype(np.float64) * 3
    score[0] = 1.0 + 1e-8 * np.arange(score.shape[1])   # spread below 1e-6: the clamps act
    _, fused, _, _ = g.select(ids, logp, score, design=design, B=0.5, alpha=1.5, lam=0.5,
                              baselines="paper", return_all=True)
    want = logp + 0.5 * paper_shape(design, score.astype(np.float32).astype(np.float64), 0.5, 1.5)
    np.testing.assert_allclose(fused, want, rtol=1e-5, atol=1e-5)
    _, srs_fused, _, _ = g.select(ids, logp, score, design=design, B=0.5, alpha=1.5, lam=0.5,
                                  return_all=True)
    if design != "minmax":   # the range clamp moves minmax by < 1.01e-6 only
        assert np.abs(srs_fused - fused).max() > 1e-3


def test_baselines_option_checked(g, step_inputs):
    _, ids, logp, score = step_inputs
    with pytest.raises(ValueError, match="baselines must be one of 'srs', 'paper'"):
        g.select(ids, logp, score, baselines="authors")
