"""srs — Stackelberg reward shaping for inference-time alignment: Python binding.

ctypes over libsrs (no compile step of its own: `pip install .` builds the
library with the project's Makefile and puts it inside this package). Where the
library is looked for: srs/_lib.py (the package's own, then $SRS_LIB, then the
source tree's build/, then the system's).

srs.thresholds, srs.shape and srs.evaluate take rows of NumPy arrays or
PyTorch tensors (2-D, a list of 1-D arrays, or 1-D with offsets: srs/rows.py)
and give the command line's numbers (`srs threshold`, `srs shape`, `srs
eval`'s metrics.csv); srs.read and srs.write are the library's JSONL, CSV and
NPY readers and writers (srs/data.py). Guided
decoding (srs.Guide) takes NumPy arrays on a CPU context and PyTorch tensors on
a CUDA context (device memory, queued on torch.cuda.current_stream(); inputs
already contiguous and of the library's dtypes are neither copied nor
synchronised on). bfloat16 NumPy input is passed as a uint16 array with
dtype="bfloat16"; torch tensors carry their dtype. Every argument is checked:
TypeError or ValueError before the call, SrsError with the library's message
when the library refuses it.

    import srs
    print(srs.__version__, srs.cpu_level(), srs.cuda_compiled())
    m_star, b_eff = srs.thresholds(rewards, preset="paper-cd", B=15, beta=0.667)   # (prompts, samples)
    shaped, m_star, b_eff = srs.shape(rows, design="soft", alpha=1.0)               # a list of 1-D rows
    table = srs.evaluate(rewards, gold=gold, designs=["raw", "soft"], lam=[0.5, 1, 2])   # metrics.csv's rows
    d = srs.read("data.jsonl"); srs.write("data.npy", d)
    g = srs.Guide("cpu")
    ids, logp, flags = g.candidates(logits, k=10, T=1.0)           # (rows, k)
    tok = g.select(ids, logp, score, design="soft", lam=2.0,
                   mode="sample", tau=0.7, seed=42, step=t)        # (rows,)
"""
from typing import List

from ._lib import (VERSION as __version__, SrsError, SrsArgumentError, library_path, OK, ERR_INVALID_ARG,
                   ERR_BAD_INPUT, ERR_IO, ERR_NOMEM, ERR_UNSUPPORTED, ERR_BACKEND)
from .rows import thresholds, shape
from .evaluation import evaluate
from .data import Data, read, write
from .guide import (Guide, FLAG_VALID, FLAG_NONFINITE, FLAG_SHORT, FLAG_BAD_SCORE, FLAG_BAD_M,
                    FLAG_OVERFLOW, K_MAX, VOCAB_MAX, OPTIONS, library)


def library_version() -> str:
    """The version of the loaded libsrs (srs_version()); always __version__."""
    return library().srs_version().decode()


def cuda_compiled() -> bool:
    """True when the loaded libsrs has the CUDA backend compiled in (whether a
    GPU is present is another matter: Guide("auto") resolves to "cpu" without one)."""
    return bool(library().srs_cuda_compiled())


def cpu_levels() -> List[str]:
    """The CPU levels compiled into the library, lowest first: ["v2", "v3", "v4"] on x86-64."""
    return library().srs_cpu_levels().decode().split()


def cpu_level() -> str:
    """The CPU level new contexts run ("v2", "v3", "v4", "neon" or "native"): the
    best this CPU runs, or the one $SRS_CPU forces. SrsError when $SRS_CPU
    names a level that is not compiled in or that this CPU cannot run."""
    s = library().srs_cpu_level()
    if s is None:
        import os
        raise SrsError(ERR_UNSUPPORTED, "SRS_CPU=%s: not a level this build has (%s) or this CPU runs"
                       % (os.environ.get("SRS_CPU", ""), " ".join(cpu_levels())), "unsupported")
    return s.decode()


__all__ = ["__version__", "thresholds", "shape", "evaluate", "read", "write", "Data", "Guide", "SrsError",
           "SrsArgumentError", "FLAG_VALID", "FLAG_NONFINITE",
           "FLAG_SHORT", "FLAG_BAD_SCORE", "FLAG_BAD_M", "FLAG_OVERFLOW", "K_MAX", "VOCAB_MAX", "OPTIONS",
           "library", "library_path", "library_version", "cuda_compiled", "cpu_level", "cpu_levels",
           "OK", "ERR_INVALID_ARG", "ERR_BAD_INPUT", "ERR_IO", "ERR_NOMEM", "ERR_UNSUPPORTED",
           "ERR_BACKEND"]
