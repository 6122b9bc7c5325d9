"""srs.thresholds and srs.shape: bit-identical to the command line (`srs
threshold`, `srs shape`) on ../shared/data and on `srs gen` data, in every
layout (2-D, a list of 1-D rows, 1-D with offsets), against a NumPy sort-based
exact root, and every bad input raising TypeError or ValueError (SrsError with
the row for data the library rejects)."""
import glob
import json
import os
import subprocess

import numpy as np
import pytest

import srs
from conftest import REPO

SRS_BIN = os.environ.get("SRS_BIN") or os.path.join(REPO, "build", "srs")
DATA = os.path.join(os.path.dirname(REPO), "shared", "data")
FILES = sorted(glob.glob(os.path.join(DATA, "*", "*.jsonl")))

need_cli = pytest.mark.skipif(not os.access(SRS_BIN, os.X_OK),
                              reason="%s not built: the command-line parity is not tested (make)" % SRS_BIN)
need_data = pytest.mark.skipif(not FILES, reason="%s absent: the shared-data parity is not tested" % DATA)

SETTINGS = {   # the README's: the theorem, Controlled Decoding's, ARGS'
    "exact": dict(preset="exact", B=1.0, beta=1.0),
    "paper-cd": dict(preset="paper-cd", B=15.0, beta=0.667),
    "paper-args": dict(preset="paper-args", B=12.0, beta=2.0),
}


def cli(cmd, path, out, **kw):
    args = [SRS_BIN, cmd, path, "-o", out, "-q", "--device", "cpu"]
    for k, v in kw.items():
        args += ["--" + k.replace("_", "-"), str(v)]
    r = subprocess.run(args, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def read_jsonl(path, key="rewards"):
    with open(path) as f:
        return [np.array(json.loads(line)[key], np.float64) for line in f if line.strip()]


def bits(a):
    return np.ascontiguousarray(a, np.float64).view(np.uint64)


# -- the command line's numbers -------------------------------------------------------


@need_cli
@need_data
@pytest.mark.parametrize("path", FILES, ids=lambda p: os.path.relpath(p, DATA))
@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("solver", ["exact", "dinkelbach", "bisect"])
def test_thresholds_and_soft_shaping_match_the_cli_on_shared_data(tmp_path, path, setting, solver):
    rows = read_jsonl(path)
    u = np.array(rows)                                        # the shared data has equal rows
    kw = dict(SETTINGS[setting], solver=solver)
    cli("threshold", path, str(tmp_path / "t.npy"), **kw)
    t = np.load(tmp_path / "t.npy")                           # (prompts, 2): m*, B_eff
    m, be = srs.thresholds(u, device="cpu", **kw)
    assert (bits(m) == bits(t[:, 0])).all() and (bits(be) == bits(t[:, 1])).all()
    cli("shape", path, str(tmp_path / "s.npy"), design="soft", alpha=1.5, **kw)
    sh, m2, be2 = srs.shape(u, design="soft", alpha=1.5, device="cpu", **kw)
    assert (bits(sh) == bits(np.load(tmp_path / "s.npy"))).all()
    assert (bits(m2) == bits(m)).all() and (bits(be2) == bits(be)).all()


@need_cli
@need_data
@pytest.mark.parametrize("design", ["raw", "hard", "minmax", "meanstd", "cap", "meansoft"])
def test_every_design_matches_the_cli(tmp_path, design):
    path = os.path.join(DATA, "gsm8k-overopt-qwen05b", "step-500.jsonl")
    if not os.path.exists(path):
        pytest.skip("%s absent" % path)
    kw = dict(SETTINGS["paper-cd"])
    extra = {"clip": 3.0} if design == "cap" else {}
    # the command line refuses --alpha where the design has no sigmoid
    sig = {"alpha": 0.5} if design == "meansoft" else {}
    cli("shape", path, str(tmp_path / "s.npy"), design=design, **sig, **kw, **extra)
    sh, _, _ = srs.shape(np.array(read_jsonl(path)), design=design, alpha=0.5, device="cpu", **kw, **extra)
    assert (bits(sh) == bits(np.load(tmp_path / "s.npy"))).all()


@need_cli
def test_ragged_rows_with_logw_match_the_cli(tmp_path):
    """srs gen --ragged --with-logw: the list layout and the CSR layout give
    the command line's bits (JSONL, printed shortest round-trip)."""
    g = str(tmp_path / "g.jsonl")
    r = subprocess.run([SRS_BIN, "gen", "-o", g, "--prompts", "300", "--samples", "70", "--ragged",
                        "--with-logw", "--seed", "14"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    u, lw = read_jsonl(g), read_jsonl(g, "logw")
    assert len({len(x) for x in u}) > 10
    kw = dict(SETTINGS["paper-cd"])
    cli("shape", g, str(tmp_path / "s.jsonl"), design="soft", alpha=1.0, **kw)
    want = [json.loads(line) for line in open(tmp_path / "s.jsonl")]
    sh, m, be = srs.shape(u, logw=lw, design="soft", alpha=1.0, device="cpu", **kw)
    assert isinstance(sh, list) and len(sh) == 300
    assert (bits(m) == bits([w["m_star"] for w in want])).all()
    assert (bits(be) == bits([w["B_eff"] for w in want])).all()
    assert all((bits(s) == bits(w["shaped"])).all() for s, w in zip(sh, want))
    offs = np.cumsum([0] + [len(x) for x in u])
    flat, m2, _ = srs.shape(np.concatenate(u), offsets=offs, logw=np.concatenate(lw), design="soft",
                            alpha=1.0, device="cpu", **kw)
    assert (bits(flat) == bits(np.concatenate(sh))).all() and (bits(m2) == bits(m)).all()


@need_cli
def test_float32_npy_with_logw_matches_the_cli(tmp_path):
    g = str(tmp_path / "g.npy")
    r = subprocess.run([SRS_BIN, "gen", "-o", g, "--prompts", "500", "--samples", "24", "--with-logw",
                        "--dtype", "f32", "--seed", "3"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    u, lw = np.load(g), np.load(str(tmp_path / "g.logw.npy"))
    assert u.dtype == np.float32 and lw.dtype == np.float32
    kw = dict(SETTINGS["paper-args"], solver="dinkelbach")
    cli("threshold", g, str(tmp_path / "t.npy"), **kw)
    t = np.load(tmp_path / "t.npy")
    m, be = srs.thresholds(u, logw=lw, device="cpu", **kw)
    assert (bits(m) == bits(t[:, 0])).all() and (bits(be) == bits(t[:, 1])).all()
    m64, _ = srs.thresholds(u.astype(np.float64), logw=lw.astype(np.float64), device="cpu", **kw)
    assert (bits(m64) == bits(m)).all()


# -- invariances and a NumPy reference ----------------------------------------------


def random_rows(rng, n=400, max_len=50):
    return [rng.normal(rng.normal(), rng.uniform(0.1, 3), rng.integers(1, max_len)) for _ in range(n)]


def test_layouts_threads_and_chunks_give_the_same_bits():
    rng = np.random.default_rng(1)
    rows = [rng.normal(0, 2, 33) for _ in range(257)]
    dense = np.array(rows)
    offs = np.arange(0, 33 * 257 + 1, 33)
    kw = dict(preset="paper-cd", B=15.0, beta=0.667)
    ref, ref_b = srs.thresholds(dense, **kw)
    for got in (srs.thresholds(rows, **kw), srs.thresholds(dense.ravel(), offsets=offs, **kw),
                srs.thresholds(dense, threads=1, **kw), srs.thresholds(np.asfortranarray(dense), **kw),
                tuple(np.concatenate(x) for x in zip(srs.thresholds(dense[:100], **kw),
                                                      srs.thresholds(dense[100:], **kw)))):
        assert (bits(got[0]) == bits(ref)).all() and (bits(got[1]) == bits(ref_b)).all()
    sh_dense, _, _ = srs.shape(dense, **kw)
    sh_list, _, _ = srs.shape(rows, **kw)
    sh_csr, _, _ = srs.shape(dense.ravel(), offsets=offs, **kw)
    assert sh_dense.shape == (257, 33) and isinstance(sh_list, list) and sh_csr.shape == (257 * 33,)
    assert (bits(sh_dense) == bits(np.array(sh_list))).all() and (bits(sh_csr) == bits(sh_dense.ravel())).all()


def sort_root(u, logw, B, beta):
    """The exact threshold by sorting: the active set {u >= m} is a prefix of
    u in decreasing order; m(j) = (g S1 + S0) / (g P1 + P0) over the top j
    (weight g = exp(B/beta)) and the rest, and the root is the m(j) that its
    own prefix is consistent with."""
    p = np.exp(logw - logw.max())
    order = np.argsort(-u, kind="stable")
    us, ps = u[order], p[order]
    g = np.exp(B / beta)
    s1, p1 = np.cumsum(ps * us), np.cumsum(ps)
    tot_s, tot_p = s1[-1], p1[-1]
    m = (g * s1 + (tot_s - s1)) / (g * p1 + (tot_p - p1))
    nxt = np.append(us[1:], -np.inf)
    ok = (us >= m - 1e-12 * (1 + abs(m))) & (m >= nxt - 1e-12 * (1 + abs(m)))
    return m[np.argmax(ok)]


@pytest.mark.parametrize("solver", ["exact", "dinkelbach", "bisect"])
def test_against_a_numpy_sort_based_root(solver):
    rng = np.random.default_rng(5)
    rows = random_rows(rng)
    lws = [rng.normal(0, 1, len(r)) for r in rows]
    for B, beta in ((1.0, 1.0), (3.0, 0.5), (0.2, 2.0)):
        m, be = srs.thresholds(rows, logw=lws, B=B, beta=beta, solver=solver)
        ref = np.array([sort_root(u, lw, B, beta) for u, lw in zip(rows, lws)])
        scale = np.array([max(1.0, np.ptp(u)) for u in rows])
        assert (np.abs(m - ref) <= 1e-9 * scale).all(), np.max(np.abs(m - ref) / scale)
        assert (be == B).all()
    sh, m, be = srs.shape(rows, design="hard", B=2.0, beta=1.0)
    for s, u, mm in zip(sh, rows, m):
        assert (s == np.where(u >= mm, 2.0, 0.0)).all()


# -- bad inputs -----------------------------------------------------------------------


def test_data_the_library_rejects_names_the_row():
    u = np.zeros((5, 4))
    u[3, 2] = np.nan
    with pytest.raises(srs.SrsError, match="row 3, sample 2: reward is nan") as e:
        srs.thresholds(u)
    assert e.value.row == 3 and e.value.status == srs.ERR_BAD_INPUT and isinstance(e.value, ValueError)
    with pytest.raises(srs.SrsError, match="row 1: empty row") as e:
        srs.shape([np.ones(3), np.ones(0), np.ones(2)])
    assert e.value.row == 1


@pytest.mark.parametrize("kw,msg", [(dict(beta=0.0), "beta must be finite and > 0"),
                                    (dict(B=-1.0), "B must"), (dict(tol=2.0), "tol must be in"),
                                    (dict(cap=0.0), "cap must be")])
def test_option_ranges_are_the_library_messages(kw, msg):
    with pytest.raises(srs.SrsArgumentError, match=msg):
        srs.thresholds(np.zeros((2, 3)), **kw)


@pytest.mark.parametrize("kw,exc,msg", [
    (dict(preset="cd"), ValueError, "preset must be one of 'exact', 'paper-cd', 'paper-args'"),
    (dict(solver="newton"), ValueError, "solver must be one of"),
    (dict(device="gpu"), ValueError, "device must be one of"),
    (dict(B="15"), TypeError, "B must be a real number"),
    (dict(max_iter=-1), ValueError, "max_iter must be in"),
    (dict(threads=1.5), TypeError, "threads must be an integer"),
])
def test_threshold_options_checked(kw, exc, msg):
    with pytest.raises(exc, match=msg):
        srs.thresholds(np.zeros((2, 3)), **kw)


def test_shape_options_checked():
    u = np.zeros((2, 3))
    with pytest.raises(ValueError, match="design must be one of 'soft'"):
        srs.shape(u, design="sotf")
    with pytest.raises(srs.SrsArgumentError, match="alpha must be finite and > 0"):
        srs.shape(u, alpha=0.0)
    with pytest.raises(ValueError, match="clip must be >= 0"):
        srs.shape(u, design="cap", clip=-1.0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'lam'"):
        srs.shape(u, lam=2.0)


@pytest.mark.parametrize("rewards,kw,exc,msg", [
    (np.zeros(6), {}, ValueError, "rewards must be 2-D"),
    (np.zeros((2, 3, 1)), {}, ValueError, "rewards must be 2-D"),
    (np.zeros((2, 3)), dict(offsets=[0, 3, 6]), ValueError, "with offsets, rewards must be 1-D"),
    (np.zeros(6), dict(offsets=[0, 3, 5]), ValueError, "offsets must start at 0, end at len"),
    (np.zeros(6), dict(offsets=[0, 4, 3, 6]), ValueError, "not decrease"),
    (np.zeros(6), dict(offsets=[1, 6]), ValueError, "start at 0"),
    (np.zeros(6), dict(offsets=[0.0, 6.0]), TypeError, "offsets must be integers"),
    (np.zeros(6), dict(offsets=[[0, 6]]), ValueError, "offsets must be 1-D"),
    ([np.zeros(3), np.zeros((2, 2))], {}, ValueError, r"rewards\[1\] must be 1-D"),
    ([np.zeros(3)], dict(offsets=[0, 3]), ValueError, "offsets goes with a 1-D"),
    ([["a", "b"]], {}, TypeError, r"rewards\[0\] must be real numbers"),
    (np.array([["a"]]), {}, TypeError, "rewards must be real numbers"),
    (np.zeros((2, 3), complex), {}, TypeError, "rewards must be real numbers"),
    ("rewards.jsonl", {}, TypeError, "rewards must be a 2-D NumPy array, a list of 1-D arrays"),
    (None, {}, TypeError, "rewards must be"),
    (np.zeros((2, 3)), dict(logw=np.zeros((2, 4))), ValueError, r"logw must have the layout of rewards: shape \(2, 3\)"),
    (np.zeros((2, 3)), dict(logw=[np.zeros(3), np.zeros(3)]), ValueError, "logw must have the layout"),
    ([np.zeros(3), np.zeros(2)], dict(logw=[np.zeros(3), np.zeros(3)]), ValueError, "logw must have the layout"),
    (np.zeros(6), dict(offsets=[0, 3, 6], logw=np.zeros(5)), ValueError, "len.logw"),
])
def test_bad_layouts(rewards, kw, exc, msg):
    with pytest.raises(exc, match=msg):
        srs.thresholds(rewards, **kw)


def test_other_real_dtypes_are_converted():
    u = np.array([[1, 5, 3], [2, 2, 9]])
    m, _ = srs.thresholds(u.astype(np.int32))
    m2, _ = srs.thresholds(u.astype(np.float64))
    m3, _ = srs.thresholds(u.astype(">f8"))
    assert (bits(m) == bits(m2)).all() and (bits(m3) == bits(m2)).all()
    assert srs.thresholds(np.zeros((0, 4)))[0].shape == (0,)
    assert srs.shape([])[0] == []


def test_the_device_api_needs_a_cuda_context():
    # the binding reaches srs_thresholds_device, which refuses a CPU context
    from srs import rows as R
    ctx = R._context("cpu", 1)
    u = np.ones((2, 3))
    rw = R._layout(u, "rewards", None)
    b = R._batch(rw, None)
    o = R._topts("exact", 1.0, 1.0, 2.0, "exact", 1e-12, 0)
    m = np.zeros(2)
    with pytest.raises(srs.SrsError, match="srs_thresholds_device") as e:
        ctx.check(ctx.lib.srs_thresholds_device(ctx.ptr, R.C.byref(b), R.C.byref(o), m.ctypes.data, None, None))
    assert e.value.status == srs.ERR_UNSUPPORTED
