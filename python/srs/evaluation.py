"""srs.evaluate: reward designs x follower strengths with bootstrap intervals,
the rows of `srs eval`'s metrics.csv.

The same library calls as the command line (host/cli/cli_eval.c): the
designs and best-of-n sizes expanded into arms in its order (designs first,
one arm per alpha for soft and meansoft, then best-of-n), srs_eval_accumulate
over chunks of `chunk` prompts keyed by their global index, srs_eval_finalize,
and one row per beta x arm with the columns of metrics.csv. The defaults are
the command line's (configs/default.ini): every design, alpha 1, best-of-n
2, 4, 8, 16, lambda 0.25, 0.5, 1, 2, 4 (beta = 1/lambda), preset paper-cd,
B 15, cap 2, 200 replicates, confidence 0.95, seed 1. With the same options
and threads the numbers are the command line's, bit for bit
(tests/python/test_evaluate.py).
"""
import ctypes as C
import math
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Union

from . import _check as ck
from . import _lib
from . import rows as _rows

if TYPE_CHECKING:
    import pandas

DESIGNS = ("base", "raw", "hard", "soft", "minmax", "meanstd", "cap", "meansoft")
_ARM_DESIGN, _ARM_BEST_OF_N, _ARM_BASE = 0, 1, 2
_N_METRICS = 8          # SRS_MET_COUNT_
_LAMBDAS = (0.25, 0.5, 1.0, 2.0, 4.0)
_SIGMOID = ("soft", "meansoft")
_VS_RAW = (0, 1)        # the metrics with paired differences against raw in metrics.csv: proxy, gold


class _Arm(C.Structure):
    # srs_eval_arm_t
    _fields_ = [("kind", C.c_int), ("design", C.c_int), ("alpha", C.c_double), ("n", C.c_int64)]


class _EvalOpts(C.Structure):
    # srs_eval_opts_t
    _fields_ = [("arms", C.c_void_p), ("n_arms", C.c_int), ("betas", C.c_void_p), ("n_betas", C.c_int),
                ("to", _rows._ThresholdOpts), ("fixed_threshold", C.c_int), ("clip", C.c_double),
                ("replicates", C.c_int), ("confidence", C.c_double), ("seed", C.c_uint64)]


class _Est(C.Structure):
    # srs_est_t
    _fields_ = [("mean", C.c_double), ("lo", C.c_double), ("hi", C.c_double)]


class _Result(C.Structure):
    # srs_eval_result_t. raw_arm and diff_raw (the paired differences against
    # raw) were appended to it by issue 13: a library from before has no such
    # fields and leaves them as set here (diff_raw NULL: no *_vs_raw columns).
    # srs_eval_finalize clears and fills the whole struct, which may grow again
    # at its end: the reserve keeps a newer field inside this buffer.
    _fields_ = [("n_betas", C.c_int), ("n_arms", C.c_int), ("n_prompts", C.c_int64), ("has_gold", C.c_int),
                ("cells", C.POINTER(_Est)), ("raw_arm", C.c_int), ("diff_raw", C.POINTER(_Est)),
                ("_reserve", C.c_void_p * 16)]


def _num_list(name, value, what="a number > 0"):
    """value (a number or a sequence of them) as a list of finite floats > 0."""
    if isinstance(value, (str, bytes)):
        raise TypeError("%s must be %s or a list of them, got %r" % (name, what, value))
    items = list(value) if isinstance(value, (list, tuple)) or hasattr(value, "__len__") else [value]
    if not items:
        raise ValueError("%s must be %s or a non-empty list of them, got %r" % (name, what, value))
    out = []
    for i, v in enumerate(items):
        x = ck.real("%s[%d]" % (name, i), v)
        if not (x > 0) or not math.isfinite(x):
            raise ValueError("%s[%d] must be a finite number > 0, got %r" % (name, i, v))
        out.append(x)
    return out


def _design_list(designs):
    if isinstance(designs, str):
        designs = [designs]
    try:
        ds = list(designs)
    except TypeError:
        raise TypeError("designs must be a list of design names (%s), got %s"
                        % (", ".join(DESIGNS), ck.describe(designs))) from None
    if not ds:
        raise ValueError("designs must name at least one design (%s)" % ", ".join(DESIGNS))
    for d in ds:
        if not isinstance(d, str) or d not in DESIGNS:
            raise ValueError("designs: unknown design %r (choose from %s)" % (d, ", ".join(DESIGNS)))
    return ds


def _bon_list(best_of_n):
    if best_of_n is None:
        return []
    if isinstance(best_of_n, (str, bytes)):
        raise TypeError("best_of_n must be an integer, a list of them, or None; got %r" % (best_of_n,))
    items = list(best_of_n) if hasattr(best_of_n, "__len__") else [best_of_n]
    return [ck.integer("best_of_n[%d]" % i, v, 1, 1000000000) for i, v in enumerate(items)]


def _arms(designs, alphas, bons):
    """srs_eval_cfg_arms: designs in order (soft and meansoft once per alpha), then best-of-n."""
    arms = []
    for d in designs:
        if d == "base":
            arms.append((_ARM_BASE, 0, 0.0, 0))
        elif d in _SIGMOID:
            arms += [(_ARM_DESIGN, _rows._DESIGNS[d], a, 0) for a in alphas]
        else:
            arms.append((_ARM_DESIGN, _rows._DESIGNS[d], 1.0, 0))
    arms += [(_ARM_BEST_OF_N, 0, 0.0, n) for n in bons]
    return arms


def _columns(vs_raw):
    """The columns of metrics.csv: the arm and strength, then each metric's
    mean and interval, in the library's metric order, then (vs_raw) the
    paired differences against raw of proxy and gold."""
    lib = _lib.library()
    cols = ["design", "alpha", "n", "beta", "inv_beta"]
    for m in range(_N_METRICS):
        nm = lib.srs_metric_name(m).decode()
        cols += [nm, nm + "_lo", nm + "_hi"]
    for m in _VS_RAW if vs_raw else ():
        nm = lib.srs_metric_name(m).decode() + "_vs_raw"
        cols += [nm, nm + "_lo", nm + "_hi"]
    return cols


def evaluate(rewards: Any, *, offsets: Any = None, gold: Any = None, logw: Any = None,
             designs: Sequence[str] = DESIGNS, alpha: Union[float, Sequence[float], None] = None,
             beta: Union[float, Sequence[float], None] = None, lam: Union[float, Sequence[float], None] = None,
             best_of_n: Union[int, Sequence[int], None] = (2, 4, 8, 16), fixed_beta: Optional[float] = None,
             replicates: int = 200, confidence: float = 0.95, seed: int = 1, preset: str = "paper-cd",
             B: float = 15.0, cap: float = 2.0, clip: Optional[float] = None, solver: str = "exact",
             tol: float = 1e-12, max_iter: int = 0, chunk: int = 65536, device: str = "auto", threads: int = 0,
             as_frame: Optional[bool] = None) -> Union["pandas.DataFrame", List[Dict[str, Any]]]:
    """Evaluates reward designs under KL-regularised followers, as `srs eval`.

    rewards: (prompts, samples), a list of 1-D arrays, or 1-D with offsets,
    NumPy arrays or PyTorch tensors (as srs.thresholds takes them); gold and
    logw in the same layout, or None. Per design x beta, means over
    prompts with percentile intervals of a Poisson bootstrap over prompts:
    proxy (sum q u), gold (sum q g; NaN without gold), kl, ess, win_tie, win,
    win_tie_raw, win_raw (see `srs eval --help`).

    designs: of "base", "raw", "hard", "soft", "minmax", "meanstd", "cap",
    "meansoft" (default all); alpha: the soft/meansoft sharpness, one arm per
    value (default 1; only with soft or meansoft); beta, or lam = 1/beta: the
    follower strengths (default lam 0.25, 0.5, 1, 2, 4); best_of_n: n values,
    or None (default 2, 4, 8, 16); fixed_beta: m* solved once at this beta
    for every beta (default: re-solved per beta); clip: the cap design's clip
    (default B; only with cap); preset, B, cap, solver, tol, max_iter: the
    threshold's (default paper-cd, B 15, cap 2, exact); replicates, confidence,
    seed: the bootstrap's; chunk: prompts per accumulation (the command line's
    --chunk: sums are added in this order); device, threads: the context's.

    Returns one row per beta x arm (betas outer, arms in the order above,
    best-of-n last) with the columns of metrics.csv: design, alpha (None
    unless soft/meansoft), n (None unless best-of-n), beta, inv_beta, then
    each metric with _lo and _hi, and with a libsrs that computes them,
    proxy_vs_raw and gold_vs_raw with _lo and _hi: the paired difference
    against the raw design at the same beta (NaN without a raw design). A
    pandas DataFrame when pandas is
    importable (as_frame None) or as_frame is True, else a list of dicts.
    """
    np = _rows._np()
    # -- options, checked as the command line checks them --------------------------
    ds = _design_list(designs)
    has_sigmoid = any(d in _SIGMOID for d in ds)
    if alpha is not None and not has_sigmoid:
        raise ValueError("alpha applies to the soft and meansoft designs, and designs has neither")
    alphas = [1.0] if alpha is None else _num_list("alpha", alpha)
    if clip is not None and "cap" not in ds:
        raise ValueError("clip applies to the cap design, and designs does not have it")
    c = -1.0 if clip is None else ck.real("clip", clip)
    if clip is not None and not (c >= 0 and math.isfinite(c)):
        raise ValueError("clip must be a finite number >= 0 (None: B), got %r" % clip)
    if beta is not None and lam is not None:
        raise ValueError("beta and lam both set the follower strengths (lam = 1/beta); give one of them")
    if beta is not None:
        betas = _num_list("beta", beta)
    else:
        betas = [1.0 / x for x in (_LAMBDAS if lam is None else _num_list("lam", lam))]
    bons = _bon_list(best_of_n)
    fixed = fixed_beta is not None
    if fixed:
        fb = ck.real("fixed_beta", fixed_beta)
        if not (fb > 0) or not math.isfinite(fb):
            raise ValueError("fixed_beta must be a finite number > 0 (None: m* per beta), got %r" % fixed_beta)
    replicates = ck.integer("replicates", replicates, 1, 1000000)
    conf = ck.real("confidence", confidence)
    if not (0 < conf < 1):
        raise ValueError("confidence must be in (0, 1), got %r" % confidence)
    seed = ck.integer("seed", seed, 0, ck.U64)
    chunk = ck.integer("chunk", chunk, 1, 1 << 62)
    if as_frame not in (None, True, False):
        raise TypeError("as_frame must be None, True or False, got %r" % (as_frame,))
    pd = None
    if as_frame is not False:
        try:
            import pandas as pd
        except ImportError:
            if as_frame:
                raise ImportError("as_frame=True needs pandas (pip install pandas)") from None

    arms = _arms(ds, alphas, bons)
    arm_arr = (_Arm * len(arms))(*[_Arm(*a) for a in arms])
    beta_arr = (C.c_double * len(betas))(*betas)
    to = _rows._topts(preset, B, fb if fixed else betas[0], cap, solver, tol, max_iter)
    o = _EvalOpts(C.cast(arm_arr, C.c_void_p), len(arms), C.cast(beta_arr, C.c_void_p), len(betas), to,
                  int(fixed), c, replicates, conf, seed)

    # -- data ------------------------------------------------------------------
    rw = _rows._layout(rewards, "rewards", offsets)
    lw = _rows._same_layout(rw, logw, offsets, "logw")
    gd = _rows._same_layout(rw, gold, offsets, "gold")
    ctx = _rows._context(_rows._resolve_device(device, rewards), threads)
    ctx.check(ctx.lib.srs_eval_opts_check(ctx.ptr, C.byref(o)))

    # -- the command line's run: chunks keyed by their global index, then finalize
    acc = np.zeros(ctx.lib.srs_eval_acc_len(C.byref(o)), np.float64)
    b = _rows._batch(rw, lw, gd)
    for i0 in range(0, rw.n, chunk):
        ctx.check(ctx.lib.srs_eval_accumulate(ctx.ptr, C.byref(_sub_batch(b, rw, lw, gd, i0, min(chunk, rw.n - i0))),
                                              C.byref(o), acc.ctypes.data))
    res = _Result()
    res.raw_arm, res.diff_raw = -2, None
    ctx.check(ctx.lib.srs_eval_finalize(ctx.ptr, C.byref(o), acc.ctypes.data, C.byref(res)))
    shape = (len(betas), len(arms), _N_METRICS, 3)     # (beta, arm, metric, mean/lo/hi)
    try:
        cells = np.ctypeslib.as_array(C.cast(res.cells, C.POINTER(C.c_double)), shape).copy()
        diff = None if not res.diff_raw else \
            np.ctypeslib.as_array(C.cast(res.diff_raw, C.POINTER(C.c_double)), shape)[:, :, _VS_RAW].copy()
    finally:
        ctx.lib.srs_eval_result_free(C.byref(res))

    # -- the rows of metrics.csv --------------------------------------------------
    cols = _columns(diff is not None)
    out = []
    for bi, bt in enumerate(betas):
        for ai, (kind, design, a, n) in enumerate(arms):
            name = "base" if kind == _ARM_BASE else "best-of-n" if kind == _ARM_BEST_OF_N else \
                _DESIGN_NAMES[design]
            row = [name, a if name in _SIGMOID else None, n if kind == _ARM_BEST_OF_N else None, bt, 1.0 / bt]
            row += cells[bi, ai].ravel().tolist()       # (metric, mean/lo/hi)
            if diff is not None:
                row += diff[bi, ai].ravel().tolist()
            out.append(dict(zip(cols, row)))
    if pd is None:
        return out
    df = pd.DataFrame(out, columns=cols)
    df["alpha"] = df["alpha"].astype("float64")
    df["n"] = df["n"].astype("Int64")
    return df


_DESIGN_NAMES = {v: k for k, v in _rows._DESIGNS.items()}


def _sub_batch(b, rw, lw, gd, i0, n):
    """Rows [i0, i0 + n) of batch b with first_index i0 (cli_sub_batch)."""
    s = _rows._Batch.from_buffer_copy(b)
    s.n_prompts = n
    s.first_index = b.first_index + i0
    if rw.offsets is not None:
        s.offsets = b.offsets + i0 * 8
        return s
    for field, lay in (("reward", rw), ("logw", lw), ("gold", gd)):
        if lay is not None:
            v = getattr(s, field)
            v.data = v.data + i0 * rw.row_len * lay.data.dtype.itemsize
    return s
