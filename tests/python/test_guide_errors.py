"""Every bad input to the guided-decoding binding: a TypeError or ValueError
naming the argument (and the shapes) before the library is called, or an
SrsError carrying the library's message; never a wrong answer, a read past a
buffer or a crash. The first cases are the ones issue 14 reported."""
import os
import subprocess
import sys

import numpy as np
import pytest

import srs

# -- what issue 14 saw ----------------------------------------------------------


def test_int64_ids_give_the_int32_tokens(g, step_inputs):
    _, ids, logp, score = step_inputs
    want = g.select(ids, logp, score, design="hard", B=1.0, lam=1.0)
    got = g.select(ids.astype(np.int64), logp, score, design="hard", B=1.0, lam=1.0)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == np.int32


@pytest.mark.parametrize("arg", ["logp", "score"])
def test_float64_scores_give_the_float32_tokens(g, step_inputs, arg):
    _, ids, logp, score = step_inputs
    a = dict(logp=logp, score=score)
    want = g.select(ids, a["logp"], a["score"], design="soft", lam=2.0)
    a[arg] = a[arg].astype(np.float64)
    got = g.select(ids, a["logp"], a["score"], design="soft", lam=2.0)
    np.testing.assert_array_equal(got, want)


def test_score_with_a_column_missing(g, step_inputs):
    _, ids, logp, score = step_inputs
    with pytest.raises(ValueError, match=r"score has shape \(16, 9\); expected \(16, 10\)"):
        g.select(ids, logp, score[:, :-1].copy())


def test_m_star_shorter_than_rows(g, step_inputs):
    _, ids, logp, score = step_inputs
    with pytest.raises(ValueError, match=r"m_star has shape \(15,\); expected \(16,\)"):
        g.select(ids, logp, score, design="soft", threshold="given", m_star=np.zeros(15))


def test_seeds_of_the_wrong_length(g, step_inputs):
    _, ids, logp, score = step_inputs
    with pytest.raises(ValueError, match=r"seeds has shape \(3,\); expected \(16,\)"):
        g.select(ids, logp, score, mode="sample", seeds=np.arange(3, dtype=np.uint64))


CRASHERS = r"""
import sys
import numpy as np
import srs
g = srs.Guide("cpu")
R, V, K = 20000, 1000, 10
x = np.zeros((R, V), np.float32)
ids = np.zeros((R, K), np.int32); lp = np.zeros((R, K), np.float32)
cases = {
    "vocab: values (1, 1)": lambda: g.vocab(x, np.zeros((1, 1), np.float32), k=10, threshold="given",
                                            m_star=np.zeros(R)),
    "vocab: m_star (1,)": lambda: g.vocab(x, x, k=10, threshold="given", m_star=np.zeros(1)),
    "select: score (1, K)": lambda: g.select(ids, lp, np.zeros((1, K), np.float32)),
    "select: logp (1, 1)": lambda: g.select(ids, np.zeros((1, 1), np.float32), lp),
    "select: seeds (1,)": lambda: g.select(ids, lp, lp, mode="sample", seeds=np.zeros(1, np.uint64)),
    "select: b_eff (1,)": lambda: g.select(ids, lp, lp, threshold="given", m_star=np.zeros(R),
                                           b_eff=np.zeros(1)),
    "value_head: head (1, V)": lambda: g.value_head(np.zeros((R, 64), np.float32), np.zeros((1, V), np.float32)),
    "value_head: bias (1,)": lambda: g.value_head(np.zeros((4, 64), np.float32), np.zeros((64, 100000), np.float32),
                                                  bias=np.zeros(1, np.float32)),
    "value_head: ids (1, K)": lambda: g.value_head(np.zeros((R, 8), np.float32), np.zeros((8, V), np.float32),
                                                   ids=np.zeros((1, K), np.int32)),
    "closed guide": lambda: (g2.close(), g2.candidates(x, k=1)),
}
g2 = srs.Guide("cpu")
for name, f in cases.items():
    print(name, end=": ", flush=True)
    try:
        f()
        print("accepted")
    except (TypeError, ValueError) as e:
        print(type(e).__name__)
"""


def test_oversized_shapes_raise_instead_of_crashing():
    """Each call read (or wrote) far past a buffer before the checks; the
    first one is issue 14's segmentation fault. Run in a child process so a
    crash fails this test rather than the suite."""
    r = subprocess.run([sys.executable, "-c", CRASHERS], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, "crashed (exit %d) after:\n%s\n%s" % (r.returncode, r.stdout, r.stderr)
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 10, r.stdout
    for line in lines:
        assert line.endswith(": ValueError"), r.stdout


# -- select ---------------------------------------------------------------------


def test_ids_outside_int32(g, step_inputs):
    _, ids, logp, score = step_inputs
    big = ids.astype(np.int64)
    big[3, 4] = 1 << 40
    with pytest.raises(ValueError, match=r"ids has values outside int32"):
        g.select(big, logp, score)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.bool_, np.complex64, object])
def test_ids_must_be_integers(g, step_inputs, dtype):
    _, ids, logp, score = step_inputs
    with pytest.raises(TypeError, match="ids must be an integer array"):
        g.select(ids.astype(dtype), logp, score)


@pytest.mark.parametrize("arg", ["logp", "score"])
@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_, np.complex64, object])
def test_scores_must_be_floating(g, step_inputs, arg, dtype):
    _, ids, logp, score = step_inputs
    a = dict(logp=logp, score=score)
    a[arg] = a[arg].astype(dtype)
    with pytest.raises(TypeError, match="%s must be floating point" % arg):
        g.select(ids, a["logp"], a["score"])


@pytest.mark.parametrize("arg,shape", [("logp", (17, 10)), ("logp", (16, 11)), ("score", (16, 1)),
                                       ("score", (1, 10)), ("logp", (16, 10, 1))])
def test_select_shapes(g, step_inputs, arg, shape):
    _, ids, logp, score = step_inputs
    a = dict(logp=logp, score=score)
    a[arg] = np.zeros(shape, np.float32)
    with pytest.raises(ValueError, match=r"%s (has shape|must be 2-D)" % arg):
        g.select(ids, a["logp"], a["score"])


@pytest.mark.parametrize("shape", [(16,), (16, 10, 1), ()])
def test_ids_must_be_2d(g, shape):
    with pytest.raises(ValueError, match="ids must be 2-D"):
        g.select(np.zeros(shape, np.int32), np.zeros(shape, np.float32), np.zeros(shape, np.float32))


@pytest.mark.parametrize("k", [0, srs.K_MAX + 1])
def test_select_k_range(g, k):
    z = np.zeros((2, k), np.float32)
    with pytest.raises(ValueError, match=r"ids has %d columns; k .* must be in \[1, 64\]" % k):
        g.select(np.zeros((2, k), np.int32), z, z)


def test_select_arrays_must_be_numpy(g, step_inputs):
    _, ids, logp, score = step_inputs
    with pytest.raises(TypeError, match="a CPU Guide takes NumPy arrays, got list"):
        g.select(ids.tolist(), logp, score)
    with pytest.raises(TypeError, match="score: a CPU Guide takes NumPy arrays"):
        g.select(ids, logp, None)


@pytest.mark.parametrize("m_star", [np.zeros(17), np.zeros((16, 1)), np.zeros((1, 16))])
def test_m_star_shapes(g, step_inputs, m_star):
    _, ids, logp, score = step_inputs
    with pytest.raises(ValueError, match=r"m_star has shape .*; expected \(16,\)"):
        g.select(ids, logp, score, design="hard", threshold="given", m_star=m_star)


@pytest.mark.parametrize("m_star", [["a"] * 16, np.zeros(16, complex), np.zeros(16, bool)])
def test_m_star_must_be_real(g, step_inputs, m_star):
    _, ids, logp, score = step_inputs
    with pytest.raises(TypeError, match="m_star must be real numbers"):
        g.select(ids, logp, score, design="hard", threshold="given", m_star=m_star)


def test_b_eff_length(g, step_inputs):
    _, ids, logp, score = step_inputs
    with pytest.raises(ValueError, match=r"b_eff has shape \(4,\); expected \(16,\)"):
        g.select(ids, logp, score, threshold="given", m_star=np.zeros(16), b_eff=np.ones(4))


@pytest.mark.parametrize("opt", ["m_star", "b_eff"])
def test_m_star_without_threshold_given(g, step_inputs, opt):
    _, ids, logp, score = step_inputs
    with pytest.raises(ValueError, match="%s is used only with threshold='given'" % opt):
        g.select(ids, logp, score, design="soft", **{opt: np.zeros(16)})


def test_threshold_given_needs_m_star_library_message(g, step_inputs):
    _, ids, logp, score = step_inputs
    with pytest.raises(srs.SrsError, match="needs opts.m_star") as e:
        g.select(ids, logp, score, design="soft", threshold="given")
    assert isinstance(e.value, ValueError) and e.value.status == srs.ERR_INVALID_ARG


@pytest.mark.parametrize("seeds,exc,msg", [(np.zeros(16, np.float64), TypeError, "seeds must be integers"),
                                           (np.zeros((16, 1), np.uint64), ValueError, "seeds has shape"),
                                           (["x"] * 16, TypeError, "seeds must be integers")])
def test_seeds_checked(g, step_inputs, seeds, exc, msg):
    _, ids, logp, score = step_inputs
    with pytest.raises(exc, match=msg):
        g.select(ids, logp, score, mode="sample", seeds=seeds)


@pytest.mark.parametrize("opt,value,choice", [("design", "sotf", "'soft'"), ("design", 2, "'soft'"),
                                              ("threshold", "fixed", "'given'"), ("preset", "cd", "'paper-cd'"),
                                              ("mode", "argmax", "'greedy'"), ("design", None, "'raw'")])
def test_unknown_option_values_list_the_choices(g, step_inputs, opt, value, choice):
    _, ids, logp, score = step_inputs
    with pytest.raises(ValueError, match="%s must be one of .*%s" % (opt, choice)):
        g.select(ids, logp, score, **{opt: value})


def test_unknown_option_names_are_named_with_a_suggestion(g, step_inputs):
    x, ids, logp, score = step_inputs
    with pytest.raises(TypeError, match=r"select\(\) got an unknown option 'lamda' \(did you mean 'lam'\?\); "
                                        r"the options are design, "):
        g.select(ids, logp, score, lamda=2.0)
    with pytest.raises(TypeError, match=r"vocab\(\) got an unknown option 'temperature'"):
        g.vocab(x, x, temperature=0.7)


@pytest.mark.parametrize("opt,value", [("B", "1"), ("lam", None), ("tau", [0.5]), ("alpha", 1j),
                                       ("top_p", b"1")])
def test_scalar_options_must_be_real(g, step_inputs, opt, value):
    _, ids, logp, score = step_inputs
    with pytest.raises(TypeError, match="%s must be a real number" % opt):
        g.select(ids, logp, score, **{opt: value})


@pytest.mark.parametrize("opt,value,msg", [("B", float("nan"), "B must be finite"),
                                           ("B", -1.0, "B must be finite and >= 0"),
                                           ("lam", float("inf"), "lambda"), ("alpha", 0.0, "alpha"),
                                           ("tau", -0.5, "tau"), ("top_p", 0.0, "top_p"),
                                           ("top_p", 1.5, "top_p"), ("cap", 0.0, "cap"),
                                           ("clip", float("nan"), "clip")])
def test_scalar_ranges_raise_the_library_message(g, step_inputs, opt, value, msg):
    _, ids, logp, score = step_inputs
    with pytest.raises(srs.SrsError, match=msg) as e:
        g.select(ids, logp, score, **{opt: value})
    assert isinstance(e.value, ValueError)
    assert e.value.status == srs.ERR_INVALID_ARG and e.value.status_name == "invalid argument"


@pytest.mark.parametrize("opt,value,exc", [("seed", 1.5, TypeError), ("seed", "1", TypeError),
                                           ("step", -1, ValueError), ("step", 1 << 64, ValueError),
                                           ("step", 2.0, TypeError), ("seed", True, TypeError)])
def test_seed_and_step(g, step_inputs, opt, value, exc):
    _, ids, logp, score = step_inputs
    with pytest.raises(exc, match=opt):
        g.select(ids, logp, score, mode="sample", **{opt: value})


# -- candidates -----------------------------------------------------------------


@pytest.mark.parametrize("shape", [(100,), (2, 3, 100), ()])
def test_logits_must_be_2d(g, shape):
    with pytest.raises(ValueError, match="logits must be 2-D"):
        g.candidates(np.zeros(shape, np.float32), k=2)


@pytest.mark.parametrize("k,exc", [(0, ValueError), (srs.K_MAX + 1, ValueError), (-3, ValueError),
                                   ("10", TypeError), (2.0, TypeError), (None, TypeError)])
def test_candidates_k(g, k, exc):
    with pytest.raises(exc, match="k must be"):
        g.candidates(np.zeros((2, 100), np.float32), k=k)


def test_candidates_temperature(g):
    with pytest.raises(srs.SrsError, match="temperature T must be finite and >= 0"):
        g.candidates(np.zeros((2, 100), np.float32), k=2, T=-1.0)
    with pytest.raises(TypeError, match="T must be a real number"):
        g.candidates(np.zeros((2, 100), np.float32), k=2, T="hot")


def test_empty_vocabulary_is_the_library_error(g):
    with pytest.raises(srs.SrsError, match=r"vocab must be in \[1, 16777216\], got 0"):
        g.candidates(np.zeros((2, 0), np.float32), k=2)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_, np.complex64, object, np.uint8])
def test_logits_dtype_rejected(g, dtype):
    with pytest.raises(TypeError, match="logits must be float32 or float16"):
        g.candidates(np.zeros((2, 100), dtype), k=2)


def test_uint16_logits_need_dtype_bfloat16(g):
    with pytest.raises(TypeError, match="pass dtype='bfloat16'"):
        g.candidates(np.zeros((2, 100), np.uint16), k=2)


@pytest.mark.parametrize("arr,dtype,msg", [(np.zeros((2, 100), np.float32), "bfloat16", "takes the bit patterns"),
                                           (np.zeros((2, 100), np.float32), "float16", "dtype='float16'"),
                                           (np.zeros((2, 100), np.uint16), "float32", "must be float32"),
                                           (np.zeros((2, 100), np.float64), "float16", "dtype='float16'")])
def test_dtype_argument_must_agree_with_the_array(g, arr, dtype, msg):
    """Before the checks dtype= was believed: float32 logits read as bfloat16."""
    with pytest.raises(TypeError, match=msg):
        g.candidates(arr, k=2, dtype=dtype)


def test_dtype_argument_names(g):
    with pytest.raises(ValueError, match="logits dtype must be one of 'float32', 'bfloat16', 'float16'; got 'bf16'"):
        g.candidates(np.zeros((2, 100), np.uint16), k=2, dtype="bf16")


# -- vocab ----------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(16, 499), (15, 500), (1, 1), (16 * 500,)])
def test_vocab_values_shape(g, step_inputs, shape):
    x = step_inputs[0]
    with pytest.raises(ValueError, match=r"values (has shape .* expected \(16, 500\)|must be 2-D)"):
        g.vocab(x, np.zeros(shape, np.float32), k=5)


@pytest.mark.parametrize("k,exc", [(-1, ValueError), (srs.K_MAX + 1, ValueError), (1.0, TypeError)])
def test_vocab_k(g, step_inputs, k, exc):
    x = step_inputs[0]
    with pytest.raises(exc, match="k must be"):
        g.vocab(x, x, k=k)


def test_vocab_whole_vocabulary_limits_are_the_library_errors(g, step_inputs):
    x = step_inputs[0]
    with pytest.raises(srs.SrsError, match="top-p over the whole vocabulary is not supported") as e:
        g.vocab(x, x, k=0, design="raw", mode="sample", top_p=0.5)
    assert e.value.status == srs.ERR_UNSUPPORTED and not isinstance(e.value, ValueError)


def test_vocab_values_dtype_mismatch(g, step_inputs):
    x = step_inputs[0]
    with pytest.raises(TypeError, match="values: dtype='bfloat16' takes the bit patterns"):
        g.vocab(x, x, k=5, values_dtype="bfloat16")


def test_vocab_m_star_length(g, step_inputs):
    x = step_inputs[0]
    with pytest.raises(ValueError, match=r"m_star has shape \(1,\); expected \(16,\)"):
        g.vocab(x, x, k=5, threshold="given", m_star=[0.0])


# -- value_head -----------------------------------------------------------------


def test_value_head_shapes(g):
    h = np.zeros((4, 16), np.float32)
    with pytest.raises(ValueError, match=r"head has shape \(15, 300\); expected \(16, vocab\)"):
        g.value_head(h, np.zeros((15, 300), np.float32))
    with pytest.raises(ValueError, match="head must be 2-D"):
        g.value_head(h, np.zeros(16 * 300, np.float32))
    W = np.zeros((16, 300), np.float32)
    with pytest.raises(ValueError, match=r"bias has shape \(299,\); expected \(300,\)"):
        g.value_head(h, W, bias=np.zeros(299, np.float32))
    with pytest.raises(ValueError, match=r"ids has shape \(3, 5\); expected \(4, k\)"):
        g.value_head(h, W, ids=np.zeros((3, 5), np.int32))
    with pytest.raises(ValueError, match=r"ids has 0 columns; k must be in \[1, 64\]"):
        g.value_head(h, W, ids=np.zeros((4, 0), np.int32))


def test_value_head_dtypes(g):
    h = np.zeros((4, 16), np.float16)
    with pytest.raises(TypeError, match="head is .*float32.* but dtype='float16'"):
        g.value_head(h, np.zeros((16, 300), np.float32))
    with pytest.raises(TypeError, match="bias must be floating point"):
        g.value_head(h, np.zeros((16, 300), np.float16), bias=np.zeros(300, np.int32))


# -- the context ----------------------------------------------------------------


def test_guide_arguments():
    with pytest.raises(ValueError, match="device must be one of 'auto', 'cpu', 'cuda'; got 'gpu'"):
        srs.Guide("gpu")
    with pytest.raises(ValueError, match="threads must be in"):
        srs.Guide("cpu", threads=-1)
    with pytest.raises(TypeError, match="threads must be an integer"):
        srs.Guide("cpu", threads="2")


def test_closed_guide(step_inputs):
    g = srs.Guide("cpu")
    g.close()
    with pytest.raises(ValueError, match="closed"):
        g.candidates(step_inputs[0], k=3)
    g.close()   # twice is fine
    assert "closed" in repr(g)


# -- anything else: only TypeError, ValueError or SrsError ------------------------

POOL_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint16, np.uint64, np.float16, np.float32,
               np.float64, np.bool_, np.complex64, object]


def _junk(rng):
    r = rng.integers(0, 10)
    if r == 0:
        return None
    if r == 1:
        return [[1, 2], [3, 4]]
    if r == 2:
        return float(rng.normal())
    shape = tuple(int(s) for s in rng.integers(0, 6, size=rng.integers(0, 4)))
    a = np.ones(shape, dtype=POOL_DTYPES[rng.integers(len(POOL_DTYPES))])
    if a.ndim == 2 and rng.integers(2):
        a = np.asfortranarray(a)
    return a


def test_random_arguments_raise_only_documented_errors(g):
    """A few thousand calls with arrays of random kinds, shapes and dtypes:
    each returns or raises TypeError, ValueError or SrsError (not KeyError,
    IndexError, AttributeError or ctypes.ArgumentError)."""
    rng = np.random.default_rng(14)
    opts_pool = [{}, {"design": "hard"}, {"threshold": "given"}, {"mode": "sample"}, {"design": "bad"}]
    calls = 0
    for _ in range(600):
        o = dict(opts_pool[rng.integers(len(opts_pool))])
        if rng.integers(3) == 0:
            o["m_star"] = _junk(rng)
        if rng.integers(4) == 0:
            o["seeds"] = _junk(rng)
        for f, nargs in ((g.select, 3), (g.vocab, 2), (g.candidates, 1), (g.value_head, 2)):
            args = [_junk(rng) for _ in range(nargs)]
            kw = o if f in (g.select, g.vocab) else {}
            if f in (g.vocab, g.candidates):
                kw = dict(kw, k=int(rng.integers(-1, 4)))
            try:
                f(*args, **kw)
            except (TypeError, ValueError, srs.SrsError):
                pass
            calls += 1
    assert calls == 2400
