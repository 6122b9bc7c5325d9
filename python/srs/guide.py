"""Guided decoding through libsrs: srs_guide_candidates / select / vocab / value_head.

Every method takes arrays of one kind: NumPy on a CPU context, torch tensors on
a CUDA context. Outputs are allocated here, of the same kind and device.
Row flags (uint8): FLAG_VALID when a token was chosen; see include/srs.h.
"""
import ctypes as C
import os

K_MAX = 64
FLAG_VALID, FLAG_NONFINITE, FLAG_SHORT, FLAG_BAD_SCORE, FLAG_BAD_M, FLAG_OVERFLOW = 1, 2, 4, 8, 16, 32

_DEVICES = {"auto": 0, "cpu": 1, "cuda": 2}
_ELEM = {"float32": 0, "bfloat16": 1, "float16": 2}
_DESIGNS = {"raw": 0, "hard": 1, "soft": 2, "minmax": 3, "meanstd": 4, "cap": 5, "meansoft": 6}
_PRESETS = {"exact": 0, "paper-cd": 1, "paper-args": 2}
_MODES = {"greedy": 0, "sample": 1}
_THRESHOLDS = {"step": 0, "given": 1}


class SrsError(RuntimeError):
    """A libsrs call failed: .status is the srs_status_t, the message is the library's."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class _Opts(C.Structure):
    # mirrors srs_guide_opts_t (include/srs.h), field for field
    _fields_ = [("design", C.c_int), ("threshold", C.c_int), ("preset", C.c_int),
                ("B", C.c_double), ("alpha", C.c_double), ("lam", C.c_double),
                ("cap", C.c_double), ("clip", C.c_double), ("mode", C.c_int),
                ("tau", C.c_double), ("top_p", C.c_double), ("seed", C.c_uint64),
                ("step", C.c_uint64), ("seeds", C.c_void_p), ("m_star", C.c_void_p),
                ("b_eff", C.c_void_p)]


def _find_library():
    path = os.environ.get("SRS_LIB")
    if path:
        return path
    here = os.path.dirname(os.path.abspath(__file__))
    cand = os.path.join(here, "..", "..", "build", "libsrs.so")
    return cand if os.path.exists(cand) else "libsrs.so"


_lib = None


def library():
    """The loaded libsrs (ctypes.CDLL), with argument types declared."""
    global _lib
    if _lib is not None:
        return _lib
    lib = C.CDLL(_find_library())
    P, I64, I, D, S = C.c_void_p, C.c_int64, C.c_int, C.c_double, C.c_int
    lib.srs_ctx_create.argtypes = [C.POINTER(C.c_void_p), I, I]
    lib.srs_ctx_create.restype = S
    lib.srs_ctx_free.argtypes = [P]
    lib.srs_ctx_free.restype = None
    lib.srs_last_create_error.restype = C.c_char_p
    lib.srs_ctx_last_error.argtypes = [P]
    lib.srs_ctx_last_error.restype = C.c_char_p
    lib.srs_guide_candidates.argtypes = [P, P, I, I64, I64, D, I, P, P, P, P]
    lib.srs_guide_candidates.restype = S
    lib.srs_guide_select.argtypes = [P, C.POINTER(_Opts), I64, I, P, P, P, P, P, P, P, P]
    lib.srs_guide_select.restype = S
    lib.srs_guide_vocab.argtypes = [P, C.POINTER(_Opts), P, I, P, I, I64, I64, D, I, P, P, P, P, P]
    lib.srs_guide_vocab.restype = S
    lib.srs_guide_value_head.argtypes = [P, P, P, I, P, I64, I64, I64, P, I, P, P]
    lib.srs_guide_value_head.restype = S
    _lib = lib
    return lib


# ----------------------------------------------------------------------------
# arrays: NumPy (CPU) or torch (CUDA)

def _is_torch(x):
    return hasattr(x, "data_ptr") and hasattr(x, "is_cuda")


class Guide:
    """A libsrs context for guided decoding on "cpu" or "cuda"."""

    def __init__(self, device="cpu", threads=0):
        self.lib = library()
        self.device = device
        ctx = C.c_void_p()
        st = self.lib.srs_ctx_create(C.byref(ctx), _DEVICES[device], threads)
        if st != 0:
            raise SrsError(st, self.lib.srs_last_create_error().decode())
        self.ctx = ctx

    def close(self):
        if self.ctx:
            self.lib.srs_ctx_free(self.ctx)
            self.ctx = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    # -- helpers ---------------------------------------------------------------

    def _check(self, st):
        if st != 0:
            raise SrsError(st, self.lib.srs_ctx_last_error(self.ctx).decode())

    def _cuda(self):
        return self.device == "cuda"

    def _ptr(self, x):
        if x is None:
            return None
        if self._cuda():
            if not (_is_torch(x) and x.is_cuda):
                raise TypeError("a CUDA context takes CUDA torch tensors")
            if not x.is_contiguous():
                raise ValueError("tensors must be contiguous")
            return x.data_ptr()
        import numpy as np
        if not isinstance(x, np.ndarray):
            raise TypeError("a CPU context takes NumPy arrays (got %s)" % type(x).__name__)
        if not x.flags["C_CONTIGUOUS"]:
            raise ValueError("arrays must be C-contiguous")
        return x.ctypes.data

    def _elem(self, x, dtype):
        if dtype is not None:
            return _ELEM[dtype]
        if _is_torch(x):
            import torch
            m = {torch.float32: 0, torch.bfloat16: 1, torch.float16: 2}
            if x.dtype not in m:
                raise TypeError("logits/values must be float32, bfloat16 or float16, got %s" % x.dtype)
            return m[x.dtype]
        import numpy as np
        m = {np.dtype(np.float32): 0, np.dtype(np.float16): 2}
        if x.dtype not in m:
            raise TypeError("NumPy logits must be float32 or float16 (bfloat16: uint16 with "
                            "dtype='bfloat16'), got %s" % x.dtype)
        return m[x.dtype]

    def _empty(self, like, shape, kind):
        if self._cuda():
            import torch
            t = {"i32": torch.int32, "f32": torch.float32, "f64": torch.float64, "u8": torch.uint8}[kind]
            return torch.empty(shape, dtype=t, device=like.device)
        import numpy as np
        t = {"i32": np.int32, "f32": np.float32, "f64": np.float64, "u8": np.uint8}[kind]
        return np.empty(shape, dtype=t)

    def _stream(self):
        if not self._cuda():
            return None
        import torch
        return torch.cuda.current_stream().cuda_stream

    def _as(self, x, kind):
        """x as a contiguous array of kind on this context's side (seeds, m_star)."""
        if x is None:
            return None
        if self._cuda():
            import torch
            t = {"u64": torch.int64, "f64": torch.float64}[kind]
            return torch.as_tensor(x, device="cuda").to(t).contiguous()
        import numpy as np
        t = {"u64": np.uint64, "f64": np.float64}[kind]
        return np.ascontiguousarray(x, dtype=t)

    def _opts(self, design="soft", threshold="step", preset="paper-args", B=1.0, alpha=1.0, lam=1.0,
              cap=2.0, clip=-1.0, mode="greedy", tau=1.0, top_p=1.0, seed=0, step=0, seeds=None,
              m_star=None, b_eff=None):
        keep = (self._as(seeds, "u64"), self._as(m_star, "f64"), self._as(b_eff, "f64"))
        o = _Opts(_DESIGNS[design], _THRESHOLDS[threshold], _PRESETS[preset], B, alpha, lam, cap, clip,
                  _MODES[mode], tau, top_p, seed & (2**64 - 1), step, self._ptr(keep[0]),
                  self._ptr(keep[1]), self._ptr(keep[2]))
        return o, keep   # keep: the arrays must live through the call

    # -- API -------------------------------------------------------------------

    def candidates(self, logits, k=10, T=1.0, dtype=None):
        """Top-k of log_softmax(logits / T) per row: (ids int32, logp float32, flags uint8)."""
        rows, vocab = logits.shape
        ids = self._empty(logits, (rows, k), "i32")
        logp = self._empty(logits, (rows, k), "f32")
        flags = self._empty(logits, (rows,), "u8")
        self._check(self.lib.srs_guide_candidates(self.ctx, self._ptr(logits), self._elem(logits, dtype),
                                                  rows, vocab, T, k, self._ptr(ids), self._ptr(logp),
                                                  self._ptr(flags), self._stream()))
        return ids, logp, flags

    def select(self, ids, logp, score, return_all=False, **opts):
        """Shapes candidate scores and picks a token per row (int32, -1 for an
        invalid row). Options as srs_guide_opts_t: design, threshold ("step" or
        "given" with m_star), preset, B, alpha, lam (= 1/beta), cap, clip, mode
        ("greedy"/"sample"), tau, top_p, seed, step, seeds (per row).
        return_all: (tokens, fused, m_used, flags)."""
        rows, k = ids.shape
        o, keep = self._opts(**opts)
        tok = self._empty(ids, (rows,), "i32")
        fused = self._empty(ids, (rows, k), "f32") if return_all else None
        mused = self._empty(ids, (rows,), "f64") if return_all else None
        flags = self._empty(ids, (rows,), "u8") if return_all else None
        self._check(self.lib.srs_guide_select(self.ctx, C.byref(o), rows, k, self._ptr(ids), self._ptr(logp),
                                              self._ptr(score), self._ptr(tok), self._ptr(fused),
                                              self._ptr(mused), self._ptr(flags), self._stream()))
        del keep
        return (tok, fused, mused, flags) if return_all else tok

    def vocab(self, logits, values, k=10, T=1.0, dtype=None, values_dtype=None, return_all=False, **opts):
        """Full-vocabulary values fused with the logits: selection over the top-k
        (k > 0) or the whole vocabulary (k = 0). return_all: (tokens, cand_ids,
        fused, flags) (cand_ids/fused None when k = 0)."""
        rows, vocab = logits.shape
        o, keep = self._opts(**opts)
        tok = self._empty(logits, (rows,), "i32")
        cids = self._empty(logits, (rows, k), "i32") if return_all and k > 0 else None
        fused = self._empty(logits, (rows, k), "f32") if return_all and k > 0 else None
        flags = self._empty(logits, (rows,), "u8") if return_all else None
        self._check(self.lib.srs_guide_vocab(self.ctx, C.byref(o), self._ptr(logits), self._elem(logits, dtype),
                                             self._ptr(values), self._elem(values, values_dtype), rows, vocab,
                                             T, k, self._ptr(tok), self._ptr(cids), self._ptr(fused),
                                             self._ptr(flags), self._stream()))
        del keep
        return (tok, cids, fused, flags) if return_all else tok

    def value_head(self, hidden, head, bias=None, ids=None, dtype=None):
        """values = hidden (rows, d) @ head (d, vocab) [+ bias], float32
        (rows, vocab); with ids (rows, k) only those columns, (rows, k)."""
        rows, d = hidden.shape
        d2, vocab = head.shape
        if d2 != d:
            raise ValueError("head has %d rows, hidden has %d columns" % (d2, d))
        k = ids.shape[1] if ids is not None else 0
        out = self._empty(hidden, (rows, k if ids is not None else vocab), "f32")
        self._check(self.lib.srs_guide_value_head(self.ctx, self._ptr(hidden), self._ptr(head),
                                                  self._elem(hidden, dtype), self._ptr(bias), rows, d, vocab,
                                                  self._ptr(ids), k, self._ptr(out), self._stream()))
        return out
