"""Guided decoding through libsrs: srs_guide_candidates / select / vocab / value_head.

Every method takes arrays of one kind: NumPy on a CPU context, torch CUDA
tensors on a CUDA context. Outputs are allocated here, of the same kind and
device. Row flags (uint8): FLAG_VALID when a token was chosen; see include/srs.h.

Every argument is checked before the library sees it (srs/_check.py): a wrong
kind or dtype raises TypeError, a wrong shape, length or value ValueError (the
message names the argument and the shapes), and a call the library refuses
raises SrsError with the library's message (SrsArgumentError, also a
ValueError, for a bad scalar option). Conversions, never silent misreads:
integer ids of any width become int32 after a range check (PyTorch indices are
int64); float64 or float16 logp, score and bias become float32; float64 logits,
values, hidden states and heads become float32; arrays that are not
C-contiguous and aligned are copied. On CUDA, the range check of int64 ids
synchronises once (pass int32 ids to avoid it).
"""
import ctypes as C
from typing import Any, Optional, Tuple

from . import _check as ck
from . import _lib
from ._lib import SrsError  # noqa: F401  (re-exported by srs)

K_MAX = 64               # SRS_GUIDE_K_MAX: candidates per row
VOCAB_MAX = 1 << 24      # SRS_GUIDE_VOCAB_MAX: vocabulary entries per row
FLAG_VALID, FLAG_NONFINITE, FLAG_SHORT, FLAG_BAD_SCORE, FLAG_BAD_M, FLAG_OVERFLOW = 1, 2, 4, 8, 16, 32

_DEVICES = {"auto": 0, "cpu": 1, "cuda": 2}
_DEVICE_NAMES = {1: "cpu", 2: "cuda"}
_ELEM = {"float32": 0, "bfloat16": 1, "float16": 2}
_DESIGNS = {"raw": 0, "hard": 1, "soft": 2, "minmax": 3, "meanstd": 4, "cap": 5, "meansoft": 6}
_PRESETS = {"exact": 0, "paper-cd": 1, "paper-args": 2}
_MODES = {"greedy": 0, "sample": 1}
_THRESHOLDS = {"step": 0, "given": 1}
_BASELINES = {"srs": 0, "paper": 1}

# The options of select() and vocab(), with their defaults (srs_guide_opts_default).
OPTIONS = {"design": "soft", "threshold": "step", "preset": "paper-args", "B": 1.0, "alpha": 1.0,
           "lam": 1.0, "cap": 2.0, "clip": None, "mode": "greedy", "tau": 1.0, "top_p": 1.0,
           "seed": 0, "step": 0, "seeds": None, "m_star": None, "b_eff": None, "baselines": "srs"}


class _Opts(C.Structure):
    # mirrors srs_guide_opts_t (include/srs.h), field for field
    _fields_ = [("design", C.c_int), ("threshold", C.c_int), ("preset", C.c_int),
                ("B", C.c_double), ("alpha", C.c_double), ("lam", C.c_double),
                ("cap", C.c_double), ("clip", C.c_double), ("mode", C.c_int),
                ("tau", C.c_double), ("top_p", C.c_double), ("seed", C.c_uint64),
                ("step", C.c_uint64), ("seeds", C.c_void_p), ("m_star", C.c_void_p),
                ("b_eff", C.c_void_p), ("baselines", C.c_int)]


def library() -> C.CDLL:
    """The loaded libsrs (ctypes.CDLL), with argument types declared."""
    return _lib.library()


def _np():
    import numpy as np
    return np


class Guide:
    """A libsrs context for guided decoding on "cpu", "cuda" or "auto" (CUDA
    when compiled in and a GPU is present, else the CPU); .device is the one it
    resolved to. threads: CPU threads (0 = all cores). Usable as a context
    manager; close() frees it."""

    def __init__(self, device: str = "cpu", threads: int = 0) -> None:
        code = ck.choice("device", device, _DEVICES)
        threads = ck.integer("threads", threads, 0, ck.INT32_MAX)
        self.lib = library()
        self.ctx = None
        ctx = C.c_void_p()
        st = self.lib.srs_ctx_create(C.byref(ctx), code, threads)
        if st != _lib.OK:
            _lib.raise_for(st, self.lib.srs_last_create_error().decode())
        self.ctx = ctx
        self.device = _DEVICE_NAMES[self.lib.srs_ctx_device(ctx)]

    def close(self) -> None:
        """Frees the context (again: nothing); the Guide is unusable after."""
        if self.ctx:
            self.lib.srs_ctx_free(self.ctx)
            self.ctx = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self):
        return "srs.Guide(%r%s)" % (self.device, "" if self.ctx else ", closed")

    # -- helpers ---------------------------------------------------------------

    def _handle(self):
        if not self.ctx:
            raise ValueError("this srs.Guide is closed")
        return self.ctx

    def _check(self, st):
        if st != _lib.OK:
            _lib.raise_for(st, self.lib.srs_ctx_last_error(self.ctx).decode())

    def _cuda(self):
        return self.device == "cuda"

    def _kind(self, x, name, ref=None):
        """TypeError unless x is this context's kind of array (NumPy on the CPU,
        a CUDA tensor on CUDA, on the same device as ref)."""
        if self._cuda():
            if not (ck.is_torch(x) and x.is_cuda):
                raise TypeError("%s: a CUDA Guide takes torch CUDA tensors, got %s" % (name, ck.describe(x)))
            if ref is not None and x.device != ref.device:
                raise ValueError("%s is on %s, the other arrays on %s" % (name, x.device, ref.device))
            return
        np = _np()
        if not isinstance(x, np.ndarray):
            hint = ""
            if ck.is_torch(x):
                hint = " (a CPU Guide takes NumPy arrays: pass t.numpy(); CUDA tensors go to Guide('cuda'))"
            raise TypeError("%s: a CPU Guide takes NumPy arrays, got %s%s" % (name, ck.describe(x), hint))

    def _ptr(self, x):
        if x is None:
            return None
        return x.data_ptr() if self._cuda() else x.ctypes.data

    def _contig(self, x, dtype):
        """x as a C-contiguous, aligned array of dtype (a copy when needed)."""
        if self._cuda():
            return x.to(dtype).contiguous()
        return _np().require(x, dtype, ["C", "A"])

    def _floats(self, x, name, shape, why, ref=None):
        """logp, score, bias: any floating dtype, as float32 (rows, k) etc."""
        self._kind(x, name, ref)
        ck.need_ndim(x, name, len(shape), "%s" % (tuple(shape),))
        ck.need_shape(x, name, shape, why)
        if self._cuda():
            import torch
            if not x.is_floating_point():
                raise TypeError("%s must be floating point (float32; float64, float16 and bfloat16 are "
                                "converted), got %s" % (name, ck.describe(x)))
            return self._contig(x, torch.float32)
        np = _np()
        if x.dtype.kind != "f":
            raise TypeError("%s must be floating point (float32; float64 and float16 are converted), "
                            "got %s" % (name, ck.describe(x)))
        return self._contig(x, np.float32)

    def _ids(self, x, name, ndim_layout, ref=None):
        """Token ids (2-D) of any integer dtype as int32, after a range check."""
        self._kind(x, name, ref)
        ck.need_ndim(x, name, 2, ndim_layout)
        if self._cuda():
            import torch
            if x.dtype == torch.int32:
                return x.contiguous()
            if x.dtype not in (torch.int64, torch.int16, torch.int8, torch.uint8):
                raise TypeError("%s must be an integer tensor (int32; int64 is converted), got %s"
                                % (name, ck.describe(x)))
            if x.dtype == torch.int64 and x.numel():
                lo, hi = (int(v) for v in torch.aminmax(x))
                if lo < ck.INT32_MIN or hi > ck.INT32_MAX:
                    raise ValueError("%s has values outside int32 ([%d, %d])" % (name, lo, hi))
            return self._contig(x, torch.int32)
        np = _np()
        if x.dtype.kind not in "iu":
            raise TypeError("%s must be an integer array (int32; other integer dtypes are converted), "
                            "got %s" % (name, ck.describe(x)))
        if x.dtype != np.int32 and x.size:
            lo, hi = int(x.min()), int(x.max())
            if lo < ck.INT32_MIN or hi > ck.INT32_MAX:
                raise ValueError("%s has values outside int32 ([%d, %d])" % (name, lo, hi))
        return self._contig(x, np.int32)

    def _elems(self, x, name, dtype, ref=None, shape=None, why=""):
        """Logits, values, hidden states, heads (2-D): float32, bfloat16 or
        float16, as (array, srs_elem_t). dtype names the element type where
        NumPy has none (bfloat16 as uint16 bit patterns); otherwise it must
        agree with the array. Other floating dtypes become float32."""
        want = None if dtype is None else ck.choice("%s dtype" % name, dtype, _ELEM)
        self._kind(x, name, ref)
        ck.need_ndim(x, name, 2, "(rows, columns)")
        if shape is not None:
            ck.need_shape(x, name, shape, why)
        if self._cuda():
            import torch
            have = {torch.float32: 0, torch.bfloat16: 1, torch.float16: 2}.get(x.dtype)
            if have is None and x.is_floating_point():
                x, have = x.to(torch.float32), 0
            if have is None:
                raise TypeError("%s must be float32, bfloat16 or float16 (float64 is converted), got %s"
                                % (name, ck.describe(x)))
            if want is not None and want != have:
                raise TypeError("%s is %s but dtype=%r" % (name, ck.describe(x), dtype))
            return x.contiguous(), have
        np = _np()
        dt = x.dtype
        if want == 1 or (want is None and dt.name == "bfloat16"):
            # bfloat16: 16-bit patterns (uint16/int16), or ml_dtypes' bfloat16
            if dt.itemsize != 2 or not (dt.kind in "iu" or dt.name == "bfloat16"):
                raise TypeError("%s: dtype='bfloat16' takes the bit patterns as a uint16 array, got %s"
                                % (name, ck.describe(x)))
            return self._contig(x, np.dtype(np.uint16) if dt.kind in "iu" else dt.newbyteorder("=")), 1
        if dt.kind != "f":
            hint = " (bfloat16 bit patterns: pass dtype='bfloat16')" if dt.kind in "iu" and dt.itemsize == 2 else ""
            raise TypeError("%s must be float32 or float16 (float64 is converted), got %s%s"
                            % (name, ck.describe(x), hint))
        if want == 2 or (want is None and dt == np.float16):
            if dt.itemsize != 2:
                raise TypeError("%s is %s but dtype='float16'" % (name, ck.describe(x)))
            return self._contig(x, np.float16), 2
        return self._contig(x, np.float32), 0

    def _empty(self, like, shape, kind):
        if self._cuda():
            import torch
            t = {"i32": torch.int32, "f32": torch.float32, "f64": torch.float64, "u8": torch.uint8}[kind]
            return torch.empty(shape, dtype=t, device=like.device)
        np = _np()
        t = {"i32": np.int32, "f32": np.float32, "f64": np.float64, "u8": np.uint8}[kind]
        return np.empty(shape, dtype=t)

    def _stream(self, like):
        if not self._cuda():
            return None
        import torch
        return torch.cuda.current_stream(like.device).cuda_stream

    def _per_row(self, x, name, rows, like):
        """m_star, b_eff: a real number or (rows,) reals, as float64 (rows,)."""
        if self._cuda():
            import torch
            if ck.is_torch(x):
                if x.dtype.is_complex or x.dtype == torch.bool:
                    raise TypeError("%s must be real numbers, got %s" % (name, ck.describe(x)))
                t = x.to(device=like.device, dtype=torch.float64)
            else:
                t = torch.from_numpy(self._per_row_np(x, name, rows)).to(like.device)
        else:
            t = self._per_row_np(x, name, rows)
        if len(t.shape) == 0:
            return t.reshape(1).expand(rows).contiguous() if self._cuda() else _np().full(rows, float(t))
        if len(t.shape) != 1 or t.shape[0] != rows:
            raise ValueError("%s has shape %s; expected (%d,), one per row, or a single number"
                             % (name, ck.shape_of(t), rows))
        return t.contiguous() if self._cuda() else t

    def _per_row_np(self, x, name, rows):
        np = _np()
        a = np.asarray(x)
        if a.dtype.kind not in "fiu":
            raise TypeError("%s must be real numbers, got %s" % (name, ck.describe(a)))
        return np.require(a, np.float64, ["C", "A"])

    def _seeds(self, x, rows, like):
        """Per-row seeds: (rows,) integers, taken modulo 2^64."""
        if self._cuda():
            import torch
            if ck.is_torch(x):
                if x.is_floating_point() or x.dtype == torch.bool or x.dtype.is_complex:
                    raise TypeError("seeds must be integers, got %s" % ck.describe(x))
                t = x.to(device=like.device, dtype=torch.int64)
            else:
                t = torch.from_numpy(self._seeds_np(x).view(_np().int64)).to(like.device)
        else:
            t = self._seeds_np(x)
        if len(t.shape) != 1 or t.shape[0] != rows:
            raise ValueError("seeds has shape %s; expected (%d,), one per row (seed= takes one seed)"
                             % (ck.shape_of(t), rows))
        return t.contiguous() if self._cuda() else t

    def _seeds_np(self, x):
        np = _np()
        a = np.asarray(x)
        if a.dtype.kind not in "iu":
            raise TypeError("seeds must be integers, got %s" % ck.describe(a))
        return np.require(a.astype(np.uint64, copy=False), np.uint64, ["C", "A"])

    def _opts(self, method, rows, like, opts):
        """srs_guide_opts_t from keyword options, and the arrays it points to
        (keep them alive through the call)."""
        ck.unknown_options(method, opts, OPTIONS)
        o = dict(OPTIONS, **opts)
        design = ck.choice("design", o["design"], _DESIGNS)
        threshold = ck.choice("threshold", o["threshold"], _THRESHOLDS)
        preset = ck.choice("preset", o["preset"], _PRESETS)
        mode = ck.choice("mode", o["mode"], _MODES)
        baselines = ck.choice("baselines", o["baselines"], _BASELINES)
        B, alpha, lam, cap, tau, top_p = (ck.real(k, o[k]) for k in ("B", "alpha", "lam", "cap", "tau", "top_p"))
        clip = -1.0 if o["clip"] is None else ck.real("clip", o["clip"])
        seed = ck.integer("seed", o["seed"]) & ck.U64
        step = ck.integer("step", o["step"], 0, ck.U64)
        if threshold != _THRESHOLDS["given"]:
            for k in ("m_star", "b_eff"):
                if o[k] is not None:
                    raise ValueError("%s is used only with threshold='given' (threshold=%r)"
                                     % (k, o["threshold"]))
        seeds = None if o["seeds"] is None else self._seeds(o["seeds"], rows, like)
        m_star = None if o["m_star"] is None else self._per_row(o["m_star"], "m_star", rows, like)
        b_eff = None if o["b_eff"] is None else self._per_row(o["b_eff"], "b_eff", rows, like)
        s = _Opts(design, threshold, preset, B, alpha, lam, cap, clip, mode, tau, top_p, seed, step,
                  self._ptr(seeds), self._ptr(m_star), self._ptr(b_eff), baselines)
        return s, (seeds, m_star, b_eff)

    # -- API -------------------------------------------------------------------

    def candidates(self, logits: Any, k: int = 10, T: float = 1.0, dtype: Optional[str] = None) -> Tuple[Any, Any, Any]:
        """Top-k of log_softmax(logits / T) per row.

        logits: (rows, vocab) float32, float16 or bfloat16 (NumPy: uint16 bit
        patterns with dtype="bfloat16"; float64 is converted to float32).
        k: 1..K_MAX. T: temperature >= 0.
        Returns (ids int32 (rows, k), logp float32 (rows, k), flags uint8 (rows,)).
        """
        ctx = self._handle()
        logits, elem = self._elems(logits, "logits", dtype)
        rows, vocab = ck.shape_of(logits)
        k = ck.integer("k", k, 1, K_MAX)
        T = ck.real("T", T)
        ids = self._empty(logits, (rows, k), "i32")
        logp = self._empty(logits, (rows, k), "f32")
        flags = self._empty(logits, (rows,), "u8")
        self._check(self.lib.srs_guide_candidates(ctx, self._ptr(logits), elem, rows, vocab, T, k,
                                                  self._ptr(ids), self._ptr(logp), self._ptr(flags),
                                                  self._stream(logits)))
        return ids, logp, flags

    def select(self, ids: Any, logp: Any, score: Any, return_all: bool = False, **opts: Any) -> Any:
        """Shapes candidate scores and picks a token per row.

        ids (rows, k) integers (int32; int64 converted after a range check;
        negative marks an empty slot), logp and score (rows, k) floating point
        (float32; others converted), k in 1..K_MAX.
        Options (see OPTIONS for the defaults), as srs_guide_opts_t: design
        ("raw", "hard", "soft", "minmax", "meanstd", "cap", "meansoft"),
        threshold ("step", or "given" with m_star (rows,) and optionally b_eff),
        preset ("exact", "paper-cd", "paper-args"), B, alpha, lam (= 1/beta),
        cap, clip (None: B), mode ("greedy" or "sample"), tau, top_p, seed,
        step, seeds (rows,) per-row seeds, baselines ("srs": p-weighted mean
        and std, cap clipped at B; "paper": the authors' unweighted mean and
        population std clamped at 1e-6, minmax's range clamped at 1e-6, cap
        clipped only at a given clip).
        Returns tokens int32 (rows,) (-1 for an invalid row); with return_all
        (tokens, fused float32 (rows, k), m_used float64 (rows,), flags uint8 (rows,)).
        """
        ctx = self._handle()
        ids = self._ids(ids, "ids", "(rows, k)")
        rows, k = ck.shape_of(ids)
        if not 1 <= k <= K_MAX:
            raise ValueError("ids has %d columns; k (candidates per row) must be in [1, %d]" % (k, K_MAX))
        logp = self._floats(logp, "logp", (rows, k), "(rows, k) like ids", ref=ids)
        score = self._floats(score, "score", (rows, k), "(rows, k) like ids", ref=ids)
        o, keep = self._opts("select", rows, ids, opts)
        tok = self._empty(ids, (rows,), "i32")
        fused = self._empty(ids, (rows, k), "f32") if return_all else None
        mused = self._empty(ids, (rows,), "f64") if return_all else None
        flags = self._empty(ids, (rows,), "u8") if return_all else None
        self._check(self.lib.srs_guide_select(ctx, C.byref(o), rows, k, self._ptr(ids), self._ptr(logp),
                                              self._ptr(score), self._ptr(tok), self._ptr(fused),
                                              self._ptr(mused), self._ptr(flags), self._stream(ids)))
        del keep
        return (tok, fused, mused, flags) if return_all else tok

    def vocab(self, logits: Any, values: Any, k: int = 10, T: float = 1.0, dtype: Optional[str] = None,
              values_dtype: Optional[str] = None, return_all: bool = False, **opts: Any) -> Any:
        """Full-vocabulary values fused with the logits: selection over the
        top-k of the base policy (k in 1..K_MAX) or the whole vocabulary (k = 0).

        logits and values: (rows, vocab), each float32, float16 or bfloat16
        (as candidates()). Options as select().
        Returns tokens int32 (rows,); with return_all (tokens, cand_ids int32
        (rows, k), fused float32 (rows, k), flags uint8 (rows,)), cand_ids and
        fused None when k = 0.
        """
        ctx = self._handle()
        logits, le = self._elems(logits, "logits", dtype)
        rows, vocab = ck.shape_of(logits)
        values, ve = self._elems(values, "values", values_dtype, ref=logits, shape=(rows, vocab),
                                 why="(rows, vocab) like logits")
        k = ck.integer("k", k, 0, K_MAX)
        T = ck.real("T", T)
        o, keep = self._opts("vocab", rows, logits, opts)
        tok = self._empty(logits, (rows,), "i32")
        cids = self._empty(logits, (rows, k), "i32") if return_all and k > 0 else None
        fused = self._empty(logits, (rows, k), "f32") if return_all and k > 0 else None
        flags = self._empty(logits, (rows,), "u8") if return_all else None
        self._check(self.lib.srs_guide_vocab(ctx, C.byref(o), self._ptr(logits), le, self._ptr(values), ve,
                                             rows, vocab, T, k, self._ptr(tok), self._ptr(cids),
                                             self._ptr(fused), self._ptr(flags), self._stream(logits)))
        del keep
        return (tok, cids, fused, flags) if return_all else tok

    def value_head(self, hidden: Any, head: Any, bias: Any = None, ids: Any = None, dtype: Optional[str] = None) -> Any:
        """values = hidden (rows, d) @ head (d, vocab) [+ bias (vocab,)], float32
        (rows, vocab); with ids (rows, k), k in 1..K_MAX, only those columns
        (rows, k), NaN for ids outside [0, vocab).

        hidden and head: float32, float16 or bfloat16, the same (dtype as in
        candidates(); float64 is converted to float32); bias floating point.
        """
        ctx = self._handle()
        hidden, elem = self._elems(hidden, "hidden", dtype)
        rows, d = ck.shape_of(hidden)
        name = {0: "float32", 1: "bfloat16", 2: "float16"}[elem]
        self._kind(head, "head", hidden)
        ck.need_ndim(head, "head", 2, "(d, vocab)")
        if ck.shape_of(head)[0] != d:
            raise ValueError("head has shape %s; expected (%d, vocab): hidden is %s"
                             % (ck.shape_of(head), d, ck.shape_of(hidden)))
        head, _ = self._elems(head, "head", name, ref=hidden)
        vocab = ck.shape_of(head)[1]
        if bias is not None:
            bias = self._floats(bias, "bias", (vocab,), "(vocab,) like head's columns", ref=hidden)
        k = 0
        if ids is not None:
            ids = self._ids(ids, "ids", "(rows, k)", ref=hidden)
            if ck.shape_of(ids)[0] != rows:
                raise ValueError("ids has shape %s; expected (%d, k) like hidden" % (ck.shape_of(ids), rows))
            k = ck.shape_of(ids)[1]
            if not 1 <= k <= K_MAX:
                raise ValueError("ids has %d columns; k must be in [1, %d]" % (k, K_MAX))
        out = self._empty(hidden, (rows, k if ids is not None else vocab), "f32")
        self._check(self.lib.srs_guide_value_head(ctx, self._ptr(hidden), self._ptr(head), elem,
                                                  self._ptr(bias), rows, d, vocab, self._ptr(ids), k,
                                                  self._ptr(out), self._stream(hidden)))
        return out
