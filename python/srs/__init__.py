"""srs — Stackelberg reward shaping for inference-time alignment: Python binding.

ctypes over libsrs (no compile step). The library is found through $SRS_LIB,
else build/libsrs.so next to this package's repository, else the system
loader ("libsrs.so").

Arrays are NumPy arrays on a CPU context and PyTorch tensors on a CUDA context
(device memory, queued on torch.cuda.current_stream(); nothing is copied and
nothing synchronises). bfloat16 NumPy input is passed as a uint16 array with
dtype="bfloat16"; torch tensors carry their dtype.

    import srs
    g = srs.Guide("cpu")
    ids, logp, flags = g.candidates(logits, k=10, T=1.0)           # (rows, k)
    tok = g.select(ids, logp, score, design="soft", lam=2.0,
                   mode="sample", tau=0.7, seed=42, step=t)        # (rows,)
"""
from .guide import (Guide, SrsError, FLAG_VALID, FLAG_NONFINITE, FLAG_SHORT, FLAG_BAD_SCORE,
                    FLAG_BAD_M, FLAG_OVERFLOW, K_MAX, library)

__all__ = ["Guide", "SrsError", "FLAG_VALID", "FLAG_NONFINITE", "FLAG_SHORT", "FLAG_BAD_SCORE",
           "FLAG_BAD_M", "FLAG_OVERFLOW", "K_MAX", "library"]
