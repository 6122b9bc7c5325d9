"""Thresholds and shaped rewards on NumPy arrays and PyTorch tensors: srs_thresholds and srs_shape.

A batch of prompts comes in one of three layouts:
  dense   a 2-D array (prompts, samples): every prompt has the same samples;
  ragged  a list (or tuple) of 1-D arrays, one per prompt;
  CSR     a 1-D array of every sample plus offsets (prompts + 1,): prompt i
          holds rewards[offsets[i]:offsets[i + 1]] (offsets[0] = 0,
          offsets[-1] = len(rewards), non-decreasing).
logw (base log-weights; uniform p without) comes in the layout of rewards.
float32 and float64 are passed to the library as they are (both give the
same bits); other real dtypes are converted to float64. Results are float64:
m_star and b_eff (prompts,), shaped rewards in the layout of the input.

The numbers are the command line's (`srs threshold`, `srs shape`): the same
library calls on the same doubles, bit for bit (tests/python/test_rows.py).

PyTorch tensors are taken wherever arrays are (rewards, logw, gold, offsets,
and the rows of a list), with the NumPy dtype rules: a CPU tensor of float32
or float64 is read in place (Tensor.numpy(): no copy when it is contiguous),
other real dtypes (float16, bfloat16, integers) are converted to float64,
and gradients are not tracked. When rewards are tensors, the results are
float64 tensors on rewards' device, in its layout.

CUDA tensors (device "auto" or "cuda") stay on their device: the library's
device API (srs_thresholds_device, srs_shape_device) runs the CUDA kernels on
the tensors' memory, queued on the current stream of that device
(torch.cuda.current_stream), and the results are allocated there; no row
goes through host memory. logw (and the rows of a list) must be CUDA tensors
on the same device; offsets may be a CUDA int64 tensor on that device or a
host array (it is then copied to the device: 8 bytes per prompt). A
float32/float64 contiguous tensor is read in place; other dtypes and
non-contiguous tensors are converted on the device first (a device copy, as
NumPy's path copies). The offsets' first and last entries, and (in the
library) all of them, are read to the host to check them and to group rows by
length; the call returns when the results are ready, like the host path,
because a bad row (NaN, an empty row) raises SrsError naming it. It needs a
libsrs with the CUDA backend compiled in (srs.cuda_compiled()), else SrsError
(srs.ERR_UNSUPPORTED): there is no silent host fallback. device="cpu" is the
explicit host round trip: the tensors are copied to host memory, computed on
the CPU and the results copied back to their device. max_iter > 0 with the
bisect or dinkelbach solver is not available on CUDA tensors (SrsError
ERR_UNSUPPORTED; use device="cpu" for it).
"""
import ctypes as C
import sys
import threading
from typing import Any, Optional, Tuple

from . import _check as ck
from . import _lib

_PRESETS = {"exact": 0, "paper-cd": 1, "paper-args": 2}
_SOLVERS = {"exact": 2, "dinkelbach": 1, "bisect": 0}
_DESIGNS = {"soft": 2, "hard": 1, "raw": 0, "minmax": 3, "meanstd": 4, "cap": 5, "meansoft": 6}
_DEVICES = {"auto": 0, "cpu": 1, "cuda": 2}
_F32, _F64 = 0, 1


class _Vec(C.Structure):
    # srs_vec_t
    _fields_ = [("data", C.c_void_p), ("dtype", C.c_int)]


class _Batch(C.Structure):
    # srs_batch_t
    _fields_ = [("n_prompts", C.c_int64), ("offsets", C.c_void_p), ("row_len", C.c_int64),
                ("reward", _Vec), ("logw", _Vec), ("gold", _Vec), ("first_index", C.c_int64)]


class _ThresholdOpts(C.Structure):
    # srs_threshold_opts_t
    _fields_ = [("preset", C.c_int), ("solver", C.c_int), ("B", C.c_double), ("beta", C.c_double),
                ("cap", C.c_double), ("tol", C.c_double), ("max_iter", C.c_int)]


class _ShapeOpts(C.Structure):
    # srs_shape_opts_t
    _fields_ = [("design", C.c_int), ("alpha", C.c_double), ("clip", C.c_double)]


# -- contexts: one per (device, threads) and Python thread ---------------------------
# ctypes lets other Python threads run during a call, and a context's error
# message is per context, so threads do not share one.

class _Ctx:
    def __init__(self, device, threads):
        self.lib = _lib.library()
        self.ptr = None
        p = C.c_void_p()
        st = self.lib.srs_ctx_create(C.byref(p), _DEVICES[device], threads)
        if st != _lib.OK:
            _lib.raise_for(st, self.lib.srs_last_create_error().decode())
        self.ptr = p

    def check(self, st):
        if st != _lib.OK:
            row = self.lib.srs_ctx_error_row(self.ptr)
            _lib.raise_for(st, self.lib.srs_ctx_last_error(self.ptr).decode(), row if row >= 0 else None)

    def __del__(self):
        if self.ptr:
            self.lib.srs_ctx_free(self.ptr)
            self.ptr = None


_local = threading.local()


def _context(device, threads):
    ck.choice("device", device, _DEVICES)
    threads = ck.integer("threads", threads, 0, ck.INT32_MAX)
    cache = getattr(_local, "ctxs", None)
    if cache is None:
        cache = _local.ctxs = {}
    key = (device, threads)
    if key not in cache:
        cache[key] = _Ctx(device, threads)
    return cache[key]


# -- layouts ----------------------------------------------------------------------

def _np():
    import numpy as np
    return np


def _reals(a, name):
    """a as a C-contiguous aligned float32 or float64 array (others -> float64)."""
    np = _np()
    if a.dtype.kind not in "fiu":
        raise TypeError("%s must be real numbers (float32 or float64), got %s" % (name, ck.describe(a)))
    dt = a.dtype if a.dtype in (np.dtype(np.float32), np.dtype(np.float64)) else np.dtype(np.float64)
    return np.require(a, dt, ["C", "A"])


class _Layout:
    """A batch in the library's terms, and how to give per-sample results back."""

    def __init__(self, kind, n, offsets, row_len, data):
        self.kind, self.n, self.offsets, self.row_len, self.data = kind, n, offsets, row_len, data

    def samples(self):
        return self.n * self.row_len if self.offsets is None else int(self.offsets[-1])

    def give_back(self, flat):
        if self.kind == "dense":
            return flat.reshape(self.n, self.row_len)
        if self.kind == "ragged":
            o = self.offsets.tolist()
            return [flat[a:b] for a, b in zip(o[:-1], o[1:])]
        return flat


def _not_an_array(x, name):
    raise TypeError("%s must be a 2-D NumPy array, a list of 1-D arrays, or a 1-D array with offsets (or the "
                    "same of PyTorch tensors); got %s" % (name, ck.describe(x)))


def _torch_device(x):
    """The torch device of rewards (a tensor, or a list of tensors), else None:
    the results are then tensors on that device."""
    if ck.is_torch(x):
        return x.device
    if isinstance(x, (list, tuple)) and x and ck.is_torch(x[0]):
        return x[0].device
    return None


def _from_torch(t, name):
    """A torch tensor as a NumPy array: a CPU float32/float64 tensor's own
    memory; other real dtypes as float64; a CUDA tensor copied to the host."""
    torch = sys.modules["torch"]
    if t.device.type == "cuda":
        if not _lib.library().srs_cuda_compiled():
            raise _lib.SrsError(_lib.ERR_UNSUPPORTED, "%s is a CUDA tensor, and this libsrs has no CUDA backend "
                                "compiled in (pip install . where nvcc is found); pass %s.cpu()" % (name, name),
                                "unsupported")
    elif t.device.type != "cpu":
        raise TypeError("%s must be a CPU or CUDA tensor, got %s" % (name, ck.describe(t)))
    if t.is_complex() or t.dtype == torch.bool:
        raise TypeError("%s must be real numbers (float32 or float64), got %s" % (name, ck.describe(t)))
    t = t.detach()
    if t.is_floating_point() and t.dtype not in (torch.float32, torch.float64):
        t = t.to(torch.float64)     # float16, bfloat16: NumPy has no bfloat16
    return t.cpu().resolve_conj().resolve_neg().numpy()


def _to_torch(a, device):
    """Results as tensors on device (a CPU tensor shares a's memory)."""
    torch = sys.modules["torch"]
    if isinstance(a, list):
        return [_to_torch(x, device) for x in a]
    t = torch.from_numpy(a)
    return t if device.type == "cpu" else t.to(device)


def _resolve_device(device, rewards):
    """device "auto" with CUDA tensors is the CUDA backend."""
    d = _torch_device(rewards)
    return "cuda" if device == "auto" and d is not None and d.type == "cuda" else device


def _layout(x, name, offsets):
    np = _np()
    if ck.is_torch(x):
        x = _from_torch(x, name)
    if isinstance(x, (list, tuple)):
        if offsets is not None:
            raise ValueError("offsets goes with a 1-D %s array; a list of rows carries its own lengths" % name)
        rows = []
        for i, r in enumerate(x):
            if ck.is_torch(r):
                r = _from_torch(r, "%s[%d]" % (name, i))
            r = np.asarray(r)
            if r.ndim != 1:
                raise ValueError("%s[%d] must be 1-D (one prompt's samples), got shape %s"
                                 % (name, i, ck.shape_of(r)))
            if r.dtype.kind not in "fiu":
                raise TypeError("%s[%d] must be real numbers, got %s" % (name, i, ck.describe(r)))
            rows.append(r)
        offs = np.zeros(len(rows) + 1, np.int64)
        np.cumsum([len(r) for r in rows], out=offs[1:])
        f32 = rows and all(r.dtype == np.float32 for r in rows)
        dt = np.float32 if f32 else np.float64
        data = np.concatenate(rows).astype(dt, copy=False) if rows else np.zeros(0, dt)
        return _Layout("ragged", len(rows), offs, 0, np.require(data, dt, ["C", "A"]))
    if not isinstance(x, np.ndarray):
        _not_an_array(x, name)
    if offsets is None:
        if x.ndim != 2:
            raise ValueError("%s must be 2-D (prompts, samples), a list of 1-D arrays, or 1-D with offsets; "
                             "got shape %s" % (name, ck.shape_of(x)))
        return _Layout("dense", x.shape[0], None, x.shape[1], _reals(x, name))
    if x.ndim != 1:
        raise ValueError("with offsets, %s must be 1-D (every sample), got shape %s" % (name, ck.shape_of(x)))
    o = np.asarray(_from_torch(offsets, "offsets") if ck.is_torch(offsets) else offsets)
    if o.dtype.kind not in "iu":
        raise TypeError("offsets must be integers, got %s" % ck.describe(o))
    if o.ndim != 1 or o.shape[0] < 1:
        raise ValueError("offsets must be 1-D (prompts + 1,), got shape %s" % (ck.shape_of(o),))
    if o[0] != 0 or o[-1] != x.shape[0] or (o.shape[0] > 1 and (np.diff(o.astype(np.int64)) < 0).any()):
        raise ValueError("offsets must start at 0, end at len(%s) = %d and not decrease; got %s ... %s"
                         % (name, x.shape[0], o[0], o[-1]))
    return _Layout("csr", o.shape[0] - 1, np.require(o, np.int64, ["C", "A"]), 0, _reals(x, name))


def _same_layout(rw, logw, offsets, name="logw"):
    """logw (or gold: name) in the layout of rewards (rw: its _Layout)."""
    if logw is None:
        return None
    lw = _layout(logw, name, offsets if rw.kind == "csr" else None)
    same = lw.kind == rw.kind and lw.n == rw.n and lw.row_len == rw.row_len and \
        lw.samples() == rw.samples() and (rw.offsets is None or (lw.offsets == rw.offsets).all())
    if not same:
        what = {"dense": "shape (%d, %d)" % (rw.n, rw.row_len), "csr": "shape (%d,)" % rw.samples(),
                "ragged": "%d rows of the rewards' lengths" % rw.n}[rw.kind]
        raise ValueError("%s must have the layout of rewards: %s" % (name, what))
    return lw


def _vec(lay):
    return _Vec(lay.data.ctypes.data, _F32 if lay.data.dtype.itemsize == 4 else _F64)


def _batch(rw, lw, gd=None):
    """The srs_batch_t over rewards, logw and gold (_Layouts; the arrays must
    outlive it)."""
    b = _Batch()
    b.n_prompts = rw.n
    b.offsets = None if rw.offsets is None else rw.offsets.ctypes.data
    b.row_len = rw.row_len
    b.reward = _vec(rw)
    if lw is not None:
        b.logw = _vec(lw)
    if gd is not None:
        b.gold = _vec(gd)
    return b


def _topts(preset, B, beta, cap, solver, tol, max_iter):
    return _ThresholdOpts(ck.choice("preset", preset, _PRESETS), ck.choice("solver", solver, _SOLVERS),
                          ck.real("B", B), ck.real("beta", beta), ck.real("cap", cap), ck.real("tol", tol),
                          ck.integer("max_iter", max_iter, 0, ck.INT32_MAX))


# -- CUDA tensors: the device API ----------------------------------------------------

def _is_cuda_input(x):
    d = _torch_device(x)
    return d is not None and d.type == "cuda"


def _cuda_real(t, name, dev):
    """t (a tensor on CUDA device dev) as a contiguous float32/float64 tensor
    on dev, converted there when it is another real dtype."""
    torch = sys.modules["torch"]
    if not ck.is_torch(t):
        raise TypeError("%s must be a CUDA tensor on %s like rewards, got %s" % (name, dev, ck.describe(t)))
    if t.device != dev:
        raise ValueError("%s is on %s, rewards on %s: every tensor must be on rewards' device"
                         % (name, t.device, dev))
    if t.is_complex() or t.dtype == torch.bool:
        raise TypeError("%s must be real numbers (float32 or float64), got %s" % (name, ck.describe(t)))
    t = t.detach().resolve_conj().resolve_neg()
    if t.dtype not in (torch.float32, torch.float64):
        t = t.to(torch.float64)
    return t.contiguous()


class _CudaLayout:
    """A batch of CUDA tensors in the library's terms: data (samples,) on dev,
    offsets (prompts + 1,) int64 on dev or None (dense), and how to give
    per-sample results back."""

    def __init__(self, kind, n, row_len, data, offsets, lengths, total):
        self.kind, self.n, self.row_len, self.data = kind, n, row_len, data
        self.offsets, self.lengths, self.total = offsets, lengths, total

    def give_back(self, flat):
        if self.kind == "dense":
            return flat.view(self.n, self.row_len)
        if self.kind == "ragged":
            return list(flat.split(self.lengths))
        return flat


def _cuda_layout(x, name, offsets, dev):
    torch = sys.modules["torch"]
    if isinstance(x, (list, tuple)):
        if offsets is not None:
            raise ValueError("offsets goes with a 1-D %s tensor; a list of rows carries its own lengths" % name)
        rows = []
        for i, r in enumerate(x):
            r = _cuda_real(r, "%s[%d]" % (name, i), dev)
            if r.dim() != 1:
                raise ValueError("%s[%d] must be 1-D (one prompt's samples), got shape %s"
                                 % (name, i, tuple(r.shape)))
            rows.append(r)
        lengths = [int(r.shape[0]) for r in rows]
        dt = torch.float32 if rows and all(r.dtype == torch.float32 for r in rows) else torch.float64
        data = torch.cat([r.to(dt) for r in rows]) if rows else torch.zeros(0, dtype=dt, device=dev)
        offs = torch.zeros(len(rows) + 1, dtype=torch.int64)
        if rows:
            offs[1:] = torch.tensor(lengths, dtype=torch.int64).cumsum(0)
        return _CudaLayout("ragged", len(rows), 0, data, offs.to(dev), lengths, int(data.shape[0]))
    x = _cuda_real(x, name, dev)      # a TypeError unless a tensor on dev
    if offsets is None:
        if x.dim() != 2:
            raise ValueError("%s must be 2-D (prompts, samples), a list of 1-D arrays, or 1-D with offsets; "
                             "got shape %s" % (name, tuple(x.shape)))
        n, L = int(x.shape[0]), int(x.shape[1])
        return _CudaLayout("dense", n, L, x.reshape(-1), None, None, n * L)
    if x.dim() != 1:
        raise ValueError("with offsets, %s must be 1-D (every sample), got shape %s" % (name, tuple(x.shape)))
    if ck.is_torch(offsets):
        if offsets.device.type == "cuda" and offsets.device != dev:
            raise ValueError("offsets is on %s, rewards on %s: every tensor must be on rewards' device"
                             % (offsets.device, dev))
        o = offsets.detach()
    else:
        o = torch.as_tensor(_np().asarray(offsets))
    if o.is_complex() or o.is_floating_point() or o.dtype == torch.bool:
        raise TypeError("offsets must be integers, got %s" % ck.describe(o))
    if o.dim() != 1 or o.shape[0] < 1:
        raise ValueError("offsets must be 1-D (prompts + 1,), got shape %s" % (tuple(o.shape),))
    o = o.to(device=dev, dtype=torch.int64).contiguous()
    first, last = o[[0, -1]].tolist()     # 16 bytes to the host: the library reads len(rewards) from them
    if first != 0 or last != x.shape[0]:
        raise ValueError("offsets must start at 0, end at len(%s) = %d and not decrease; got %s ... %s"
                         % (name, x.shape[0], first, last))
    return _CudaLayout("csr", int(o.shape[0]) - 1, 0, x, o, None, int(x.shape[0]))


def _cuda_batch(rewards, logw, offsets):
    """(layout of rewards, layout of logw or None, srs_batch_t over device memory)."""
    if not _lib.library().srs_cuda_compiled():
        raise _lib.SrsError(_lib.ERR_UNSUPPORTED, "rewards is a CUDA tensor, and this libsrs has no CUDA backend "
                            "compiled in (pip install . where nvcc is found); pass rewards.cpu(), or device=\"cpu\" "
                            "to copy to the host explicitly", "unsupported")
    dev = _torch_device(rewards)
    rw = _cuda_layout(rewards, "rewards", offsets, dev)
    lw = None
    if logw is not None:
        if rw.kind == "ragged" and not isinstance(logw, (list, tuple)):
            raise ValueError("logw must have the layout of rewards: %d rows of the rewards' lengths" % rw.n)
        if rw.kind == "ragged":
            if len(logw) != rw.n:
                raise ValueError("logw must have the layout of rewards: %d rows of the rewards' lengths" % rw.n)
            lw = _cuda_layout(logw, "logw", None, dev)
            same = lw.lengths == rw.lengths
        else:
            lw = _cuda_layout(logw, "logw", None, dev) if rw.kind == "dense" else \
                _CudaLayout("csr", rw.n, 0, _cuda_real(logw, "logw", dev), rw.offsets, None, None)
            if lw.kind == "csr":
                if lw.data.dim() != 1:
                    raise ValueError("logw must have the layout of rewards: shape (%d,)" % rw.total)
                lw.total = int(lw.data.shape[0])
            same = lw.n == rw.n and lw.row_len == rw.row_len and lw.total == rw.total
        if not same:
            what = {"dense": "shape (%d, %d)" % (rw.n, rw.row_len), "csr": "shape (%d,)" % rw.total,
                    "ragged": "%d rows of the rewards' lengths" % rw.n}[rw.kind]
            raise ValueError("logw must have the layout of rewards: %s" % what)
    b = _Batch()
    b.n_prompts = rw.n
    b.offsets = None if rw.offsets is None else rw.offsets.data_ptr()
    b.row_len = rw.row_len
    torch = sys.modules["torch"]
    b.reward = _Vec(rw.data.data_ptr() if rw.total else None, _F32 if rw.data.dtype == torch.float32 else _F64)
    if lw is not None and lw.total:
        b.logw = _Vec(lw.data.data_ptr(), _F32 if lw.data.dtype == torch.float32 else _F64)
    return rw, lw, b, dev


def _current_stream(dev):
    """PyTorch's current stream on dev, as a cudaStream_t."""
    return sys.modules["torch"].cuda.current_stream(dev).cuda_stream


def _cuda_run(rewards, logw, offsets, o, so, threads):
    """thresholds (so None) or shape on CUDA tensors through the device API."""
    torch = sys.modules["torch"]
    rw, lw, b, dev = _cuda_batch(rewards, logw, offsets)
    ctx = _context("cuda", threads)
    m = torch.empty(rw.n, dtype=torch.float64, device=dev)
    be = torch.empty(rw.n, dtype=torch.float64, device=dev)
    stream = _current_stream(dev)
    mp = m.data_ptr() if rw.n else None
    bp = be.data_ptr() if rw.n else None
    if so is None:
        ctx.check(ctx.lib.srs_thresholds_device(ctx.ptr, C.byref(b), C.byref(o), mp, bp, stream))
        return m, be
    sh = torch.empty(rw.total, dtype=torch.float64, device=dev)
    ctx.check(ctx.lib.srs_shape_device(ctx.ptr, C.byref(b), C.byref(o), C.byref(so), mp, bp,
                                       sh.data_ptr() if rw.total else None, _F64, stream))
    return rw.give_back(sh), m, be


# -- API --------------------------------------------------------------------------

def thresholds(rewards: Any, *, offsets: Any = None, logw: Any = None, preset: str = "exact", B: float = 1.0,
               beta: float = 1.0, cap: float = 2.0, solver: str = "exact", tol: float = 1e-12, max_iter: int = 0,
               device: str = "auto", threads: int = 0) -> Tuple[Any, Any]:
    """Per-prompt thresholds m*(x) and B_eff, as `srs threshold`.

    rewards: (prompts, samples), a list of 1-D arrays, or 1-D with offsets
    (see the module's doc), NumPy arrays or PyTorch tensors; logw in the
    same layout, or None (uniform).
    preset "exact" | "paper-cd" | "paper-args"; solver "exact" | "dinkelbach" |
    "bisect"; B >= 0, beta > 0, cap > 0, tol in (0, 1), max_iter >= 0 (0:
    enough); device "auto" | "cpu" | "cuda"; threads (0: all cores).
    Returns (m_star, b_eff), float64 (prompts,) each (tensors on rewards'
    device when rewards are tensors). A row the library
    rejects (NaN, an empty row) raises SrsError naming it (.row).
    """
    np = _np()
    o = _topts(preset, B, beta, cap, solver, tol, max_iter)
    if _is_cuda_input(rewards) and ck.choice("device", device, _DEVICES) != _DEVICES["cpu"]:
        return _cuda_run(rewards, logw, offsets, o, None, threads)
    rw = _layout(rewards, "rewards", offsets)
    lw = _same_layout(rw, logw, offsets)
    ctx = _context(_resolve_device(device, rewards), threads)
    m = np.empty(rw.n, np.float64)
    be = np.empty(rw.n, np.float64)
    b = _batch(rw, lw)
    ctx.check(ctx.lib.srs_thresholds(ctx.ptr, C.byref(b), C.byref(o), m.ctypes.data, be.ctypes.data))
    dev = _torch_device(rewards)
    return (m, be) if dev is None else (_to_torch(m, dev), _to_torch(be, dev))


def shape(rewards: Any, *, offsets: Any = None, logw: Any = None, design: str = "soft", alpha: float = 1.0,
          clip: Optional[float] = None, preset: str = "exact", B: float = 1.0, beta: float = 1.0, cap: float = 2.0,
          solver: str = "exact", tol: float = 1e-12, max_iter: int = 0, device: str = "auto",
          threads: int = 0) -> Tuple[Any, Any, Any]:
    """Shaped rewards with m*(x) and B_eff, as `srs shape`.

    design "soft" (B_eff sigmoid(alpha (u - m*))) | "hard" | "raw" | "minmax" |
    "meanstd" | "cap" (clip(u - min, 0, clip), clip None: B) | "meansoft";
    alpha > 0; the other arguments as thresholds().
    Returns (shaped, m_star, b_eff): shaped float64 in the layout of rewards
    (a 2-D array, a list of 1-D arrays, or 1-D), m_star and b_eff (prompts,).
    """
    np = _np()
    o = _topts(preset, B, beta, cap, solver, tol, max_iter)
    c = -1.0 if clip is None else ck.real("clip", clip)
    if clip is not None and c < 0:
        raise ValueError("clip must be >= 0 (None: B), got %g" % c)
    so = _ShapeOpts(ck.choice("design", design, _DESIGNS), ck.real("alpha", alpha), c)
    if _is_cuda_input(rewards) and ck.choice("device", device, _DEVICES) != _DEVICES["cpu"]:
        return _cuda_run(rewards, logw, offsets, o, so, threads)
    rw = _layout(rewards, "rewards", offsets)
    lw = _same_layout(rw, logw, offsets)
    ctx = _context(_resolve_device(device, rewards), threads)
    m = np.empty(rw.n, np.float64)
    be = np.empty(rw.n, np.float64)
    sh = np.empty(rw.samples(), np.float64)
    b = _batch(rw, lw)
    ctx.check(ctx.lib.srs_shape(ctx.ptr, C.byref(b), C.byref(o), C.byref(so), m.ctypes.data, be.ctypes.data,
                                sh.ctypes.data, _F64))
    dev = _torch_device(rewards)
    if dev is None:
        return rw.give_back(sh), m, be
    return _to_torch(rw.give_back(sh), dev), _to_torch(m, dev), _to_torch(be, dev)
