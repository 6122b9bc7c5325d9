"""srs.evaluate: the rows and columns of `srs eval`'s metrics.csv, bit for bit,
on ../shared/data (with gold where the data has it) and on `srs gen` data
(ragged, with logw, dense NPY), with the command line's defaults; every
column of the command line's header is compared by name, so a column the
command line gains is a failure here until evaluate has it too. Then the
invariances (layouts exactly; threads and chunks to rounding), the output
kinds, and bad options."""
import csv
import glob
import json
import math
import os
import subprocess

import numpy as np
import pytest

import srs
from conftest import REPO

SRS_BIN = os.environ.get("SRS_BIN") or os.path.join(REPO, "build", "srs")
DATA = os.path.join(os.path.dirname(REPO), "shared", "data")
FILES = sorted(glob.glob(os.path.join(DATA, "*", "*.jsonl")))
THREADS = 2   # the command line and evaluate sum per thread: the same count on both sides

need_cli = pytest.mark.skipif(not os.access(SRS_BIN, os.X_OK),
                              reason="%s not built: the command-line parity is not tested (make)" % SRS_BIN)
need_data = pytest.mark.skipif(not FILES, reason="%s absent: the shared-data parity is not tested" % DATA)


def cli_eval(path, out, *args):
    """metrics.csv of `srs eval path args` as (header, rows of text)."""
    r = subprocess.run([SRS_BIN, "eval", path, "--out", str(out), "--plot", "none", "-q", "--device", "cpu",
                        "--threads", str(THREADS)] + [str(a) for a in args], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(str(out), "metrics.csv"), newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def bits(x):
    return np.float64(x).view(np.uint64)


def assert_same_table(header, want, got):
    """Every column of the command line's header, by name, in every row:
    text "" is None or NaN, numbers are the same doubles (the command line
    prints the shortest text that reads back to the same double)."""
    assert isinstance(got, list) and len(got) == len(want)
    missing = [c for c in header if c not in got[0]]
    assert not missing, "evaluate lacks the command line's columns %s" % missing
    assert list(got[0]) == header, "the columns are not in the command line's order"
    for i, (w, g) in enumerate(zip(want, got)):
        for col, text in zip(header, w):
            v = g[col]
            where = "row %d, column %s: cli %r, python %r" % (i, col, text, v)
            if col == "design":
                assert v == text, where
            elif text == "":
                assert v is None or (isinstance(v, float) and math.isnan(v)), where
            elif col == "n":
                assert v == int(text), where
            else:
                assert bits(v) == bits(float(text)), where


def read_jsonl(path, key):
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [np.array(r[key], np.float64) for r in rows] if key in rows[0] else None


# -- the command line's numbers -------------------------------------------------------


@need_cli
@need_data
@pytest.mark.parametrize("path", FILES, ids=lambda p: os.path.relpath(p, DATA))
def test_defaults_match_the_cli_on_shared_data(tmp_path, path):
    """No options on either side: the defaults are the command line's."""
    header, want = cli_eval(path, tmp_path / "out")
    u, g = read_jsonl(path, "rewards"), read_jsonl(path, "gold")
    got = srs.evaluate(np.array(u), gold=None if g is None else np.array(g), device="cpu", threads=THREADS,
                       as_frame=False)
    assert_same_table(header, want, got)
    assert len(got) == 5 * (8 + 4)           # lambda 0.25..4 x (8 designs + best-of-2..16)
    assert all(math.isnan(r["gold"]) for r in got) == (g is None)


@need_cli
@need_data
def test_options_match_the_cli_on_shared_data(tmp_path):
    path = os.path.join(DATA, "gsm8k-overopt-qwen05b", "step-500.jsonl")
    if not os.path.exists(path):
        pytest.skip("%s absent" % path)
    header, want = cli_eval(path, tmp_path / "out", "--designs", "soft,hard,raw,cap,base", "--alpha", "0.5,2",
                            "--lambda", "0.5,1.5,3", "--best-of-n", "1,3", "--fixed-beta", "0.667",
                            "--preset", "paper-args", "--B", "12", "--clip", "1.5", "--replicates", "77",
                            "--confidence", "0.9", "--seed", "5", "--solver", "bisect", "--tol", "1e-9")
    u, g = np.array(read_jsonl(path, "rewards")), np.array(read_jsonl(path, "gold"))
    got = srs.evaluate(u, gold=g, designs=["soft", "hard", "raw", "cap", "base"], alpha=[0.5, 2],
                       lam=[0.5, 1.5, 3], best_of_n=[1, 3], fixed_beta=0.667, preset="paper-args", B=12,
                       clip=1.5, replicates=77, confidence=0.9, seed=5, solver="bisect", tol=1e-9, device="cpu",
                       threads=THREADS, as_frame=False)
    assert_same_table(header, want, got)


@need_cli
def test_ragged_rows_with_logw_and_gold_match_the_cli_in_every_layout(tmp_path):
    """srs gen --ragged --with-logw (gold too) in chunks of 37 prompts: the list
    layout and CSR give the command line's bits."""
    path = str(tmp_path / "g.jsonl")
    r = subprocess.run([SRS_BIN, "gen", "-o", path, "--prompts", "300", "--samples", "40", "--ragged",
                        "--with-logw", "--seed", "14"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    header, want = cli_eval(path, tmp_path / "out", "--beta", "0.3,1,5", "--chunk", "37", "--preset", "exact",
                            "--B", "3", "--designs", "raw,soft,meanstd,minmax,meansoft,base", "--seed", "9")
    u, lw, g = (read_jsonl(path, k) for k in ("rewards", "logw", "gold"))
    assert len({len(x) for x in u}) > 10
    kw = dict(beta=[0.3, 1, 5], chunk=37, preset="exact", B=3,
              designs=("raw", "soft", "meanstd", "minmax", "meansoft", "base"), seed=9, device="cpu",
              threads=THREADS, as_frame=False)
    got = srs.evaluate(u, logw=lw, gold=g, **kw)
    assert_same_table(header, want, got)
    offs = np.cumsum([0] + [len(x) for x in u])
    got = srs.evaluate(np.concatenate(u), offsets=offs, logw=np.concatenate(lw), gold=np.concatenate(g), **kw)
    assert_same_table(header, want, got)


@need_cli
def test_float32_npy_with_companions_matches_the_cli(tmp_path):
    path = str(tmp_path / "g.npy")
    r = subprocess.run([SRS_BIN, "gen", "-o", path, "--prompts", "500", "--samples", "12", "--with-logw",
                        "--dtype", "f32", "--seed", "3"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    u, lw, g = (np.load(str(tmp_path / n)) for n in ("g.npy", "g.logw.npy", "g.gold.npy"))
    assert u.dtype == np.float32 and g.dtype == np.float32
    header, want = cli_eval(path, tmp_path / "out", "--replicates", "31", "--chunk", "100")
    got = srs.evaluate(u, logw=lw, gold=g, replicates=31, chunk=100, device="cpu", threads=THREADS,
                       as_frame=False)
    assert_same_table(header, want, got)


# -- invariances ------------------------------------------------------------------------


def table(rows):
    """The numbers of a table, (rows, numeric columns)."""
    return np.array([[np.nan if r[k] is None else r[k] for k in list(r)[3:]] for r in rows], np.float64)


def test_layouts_give_the_same_bits_and_threads_and_chunks_agree_to_rounding():
    rng = np.random.default_rng(3)
    u = rng.normal(0, 1, (700, 9))
    g = u + rng.normal(0, 1, u.shape)
    kw = dict(replicates=40, beta=[0.5, 2], as_frame=False)
    ref = table(srs.evaluate(u, gold=g, **kw))
    offs = np.arange(0, u.size + 1, 9)
    for got in (srs.evaluate(list(u), gold=list(g), **kw),
                srs.evaluate(u.ravel(), offsets=offs, gold=g.ravel(), **kw),
                srs.evaluate(np.asfortranarray(u), gold=np.asfortranarray(g), **kw)):
        assert np.array_equal(table(got), ref, equal_nan=True)
    # per-thread and per-chunk sums are added in another order: the same to rounding
    for other in (dict(threads=1), dict(threads=3), dict(chunk=64), dict(chunk=1, threads=1)):
        got = table(srs.evaluate(u, gold=g, **kw, **other))
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12, equal_nan=True, err_msg=str(other))


def test_means_are_a_numpy_reference_on_small_rows():
    """The point estimates of raw and base from NumPy: q ∝ p exp(u/beta)."""
    rng = np.random.default_rng(4)
    rows = [rng.normal(0, 1, n) for n in rng.integers(1, 12, 60)]
    gold = [r + rng.normal(0, 1, len(r)) for r in rows]
    beta = 0.7
    got = srs.evaluate(rows, gold=gold, designs=["base", "raw"], beta=beta, best_of_n=None, as_frame=False)
    base, raw = got
    qs = [np.exp((r - r.max()) / beta) / np.exp((r - r.max()) / beta).sum() for r in rows]
    np.testing.assert_allclose(raw["proxy"], np.mean([q @ r for q, r in zip(qs, rows)]), rtol=1e-12)
    np.testing.assert_allclose(raw["gold"], np.mean([q @ g for q, g in zip(qs, gold)]), rtol=1e-12)
    np.testing.assert_allclose(raw["ess"], np.mean([1 / (q @ q) for q in qs]), rtol=1e-12)
    np.testing.assert_allclose(raw["kl"], np.mean([q @ np.log(q * len(q)) for q in qs]), atol=1e-12)
    np.testing.assert_allclose(base["proxy"], np.mean([r.mean() for r in rows]), rtol=1e-12)
    assert base["kl"] == 0 and raw["proxy_lo"] <= raw["proxy"] <= raw["proxy_hi"]


def test_paired_differences_against_raw():
    rng = np.random.default_rng(6)
    u = rng.normal(0, 1, (300, 6))
    g = u + rng.normal(0, 1, u.shape)
    rows = srs.evaluate(u, gold=g, designs=["raw", "hard", "base"], beta=[0.5, 2], best_of_n=[3], replicates=50,
                        as_frame=False)
    if "proxy_vs_raw" not in rows[0]:
        pytest.skip("this libsrs has no paired differences against raw (srs_eval_result_t.diff_raw)")
    for bi in range(2):
        raw = rows[4 * bi]
        assert raw["design"] == "raw"
        for r in rows[4 * bi: 4 * bi + 4]:
            for m in ("proxy", "gold"):
                d = r[m + "_vs_raw"]
                assert abs(d - (r[m] - raw[m])) <= 1e-12 * max(1.0, abs(r[m])), (r["design"], m)
                assert r[m + "_vs_raw_lo"] <= d <= r[m + "_vs_raw_hi"]
        assert raw["proxy_vs_raw"] == raw["gold_vs_raw_hi"] == 0
    nan = srs.evaluate(u, designs=["hard"], beta=1.0, best_of_n=None, replicates=5, as_frame=False)[0]
    assert math.isnan(nan["proxy_vs_raw"])          # no raw design to compare with


# -- what comes back ----------------------------------------------------------------------


def test_a_dataframe_with_pandas_and_a_list_without():
    pd = pytest.importorskip("pandas", reason="pandas is not installed: the DataFrame output is not tested")
    u = np.random.default_rng(0).normal(0, 1, (30, 5))
    df = srs.evaluate(u, designs=["soft", "hard"], alpha=[1, 3], beta=[1, 2], best_of_n=[4], replicates=20)
    assert isinstance(df, pd.DataFrame) and df.shape[0] == 2 * 4 and df.shape[1] >= 5 + 3 * 8
    assert list(df["design"]) == ["soft", "soft", "hard", "best-of-n"] * 2
    assert df["alpha"].isna().tolist() == [False, False, True, True] * 2
    assert df["n"].tolist()[:4] == [pd.NA, pd.NA, pd.NA, 4]
    rows = srs.evaluate(u, designs=["soft", "hard"], alpha=[1, 3], beta=[1, 2], best_of_n=[4], replicates=20,
                        as_frame=False)
    assert list(df.columns) == list(rows[0])
    assert np.array_equal(df.iloc[:, 3:].to_numpy(np.float64), table(rows), equal_nan=True)


def test_without_pandas_a_list_of_dicts(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_pandas(name, *a, **k):
        if name == "pandas":
            raise ImportError("no pandas here")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    u = np.zeros((3, 2))
    rows = srs.evaluate(u, designs=["raw"], beta=1.0, best_of_n=None, replicates=3)
    assert isinstance(rows, list) and rows[0]["design"] == "raw" and rows[0]["alpha"] is None
    with pytest.raises(ImportError, match="as_frame=True needs pandas"):
        srs.evaluate(u, designs=["raw"], beta=1.0, replicates=3, as_frame=True)


# -- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize("kw,exc,msg", [
    (dict(designs=["sotf"]), ValueError, "unknown design 'sotf'"),
    (dict(designs=[]), ValueError, "at least one design"),
    (dict(designs=5), TypeError, "designs must be a list"),
    (dict(designs=["hard"], alpha=2.0), ValueError, "alpha applies to the soft and meansoft designs"),
    (dict(designs=["hard"], clip=2.0), ValueError, "clip applies to the cap design"),
    (dict(beta=[1.0], lam=[1.0]), ValueError, "beta and lam both"),
    (dict(beta=[1.0, 0.0]), ValueError, r"beta\[1\] must be a finite number > 0"),
    (dict(lam=float("inf")), ValueError, r"lam\[0\] must be a finite number > 0"),
    (dict(beta=[]), ValueError, "non-empty list"),
    (dict(beta="1"), TypeError, "beta must be a number"),
    (dict(alpha=[-1]), ValueError, r"alpha\[0\] must be"),
    (dict(best_of_n=[0]), ValueError, r"best_of_n\[0\] must be in \[1, 1000000000\]"),
    (dict(best_of_n=[2.5]), TypeError, r"best_of_n\[0\] must be an integer"),
    (dict(best_of_n="4"), TypeError, "best_of_n must be an integer, a list of them, or None"),
    (dict(fixed_beta=0), ValueError, "fixed_beta must be a finite number > 0"),
    (dict(replicates=0), ValueError, "replicates must be in"),
    (dict(confidence=1.0), ValueError, r"confidence must be in \(0, 1\)"),
    (dict(seed=-1), ValueError, "seed must be in"),
    (dict(chunk=0), ValueError, "chunk must be in"),
    (dict(clip=-1.0), ValueError, "clip must be a finite number >= 0"),
    (dict(preset="cd"), ValueError, "preset must be one of"),
    (dict(B=-1.0), srs.SrsArgumentError, "B must"),
    (dict(as_frame="yes"), TypeError, "as_frame must be None, True or False"),
    (dict(gold=np.zeros((4, 3))), ValueError, r"gold must have the layout of rewards: shape \(4, 2\)"),
    (dict(logw=[np.zeros(2)] * 4), ValueError, "logw must have the layout of rewards"),
])
def test_bad_options(kw, exc, msg):
    with pytest.raises(exc, match=msg):
        srs.evaluate(np.zeros((4, 2)), **dict(dict(replicates=5), **kw))


def test_lists_as_arrays_and_scalars():
    u = np.random.default_rng(1).normal(0, 1, (20, 4))
    kw = dict(replicates=10, as_frame=False)
    a = srs.evaluate(u, designs=("soft", "base"), alpha=np.array([0.5, 2.0]), lam=np.array([1.0, 2.0]),
                     best_of_n=np.array([2, 3]), **kw)
    b = srs.evaluate(u, designs=["soft", "base"], alpha=[0.5, 2], lam=[1, 2], best_of_n=[2, 3], **kw)
    assert np.array_equal(table(a), table(b), equal_nan=True) and len(a) == 2 * (2 + 1 + 2)
    c = srs.evaluate(u, designs="hard", beta=0.5, best_of_n=4, **kw)
    assert [r["design"] for r in c] == ["hard", "best-of-n"] and c[1]["n"] == 4 and c[0]["beta"] == 0.5


def test_bad_data_names_the_row():
    u = np.zeros((200, 3))
    g = np.zeros((200, 3))
    g[130, 1] = np.inf
    with pytest.raises(srs.SrsError, match="row 130") as e:
        srs.evaluate(u, gold=g, replicates=5, chunk=64)    # the row's global index, in the third chunk
    assert e.value.row == 130
    with pytest.raises(srs.SrsError, match="no prompts"):
        srs.evaluate(np.zeros((0, 3)), replicates=5)
    with pytest.raises(srs.SrsError, match="row 1: empty row"):
        srs.evaluate([np.ones(2), np.ones(0)], replicates=5)
