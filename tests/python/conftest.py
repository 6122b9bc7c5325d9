"""The Python package's test suite (make test-python: tests/python/run.sh
installs the package into a fresh virtual environment and runs it there).

Run by hand from a built clone, `pytest tests/python` imports the installed
`srs` if there is one, else python/srs from this tree (with build/libsrs.so).
"""
import os
import sys

import numpy as np
import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

try:
    import srs  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(REPO, "python"))
    import srs  # noqa: F401


@pytest.fixture
def g():
    with srs.Guide("cpu") as guide:
        yield guide


@pytest.fixture
def rng():
    return np.random.default_rng(7)


@pytest.fixture
def step_inputs(g, rng):
    """A decoding step: logits (16, 500), candidates (16, 10), scores (16, 10)."""
    R, V, K = 16, 500, 10
    x = rng.normal(0, 3, (R, V)).astype(np.float32)
    ids, logp, _ = g.candidates(x, k=K, T=1.0)
    score = rng.normal(0, 1, (R, K)).astype(np.float32)
    return x, ids, logp, score
