"""Loading libsrs and turning its status codes into exceptions.

The library is looked for, first found wins:
  1. inside this package (srs/libsrs.so): what `pip install .` puts there;
  2. $SRS_LIB: a library of your choice when the package has none of its own
     (the C suite's Python test points it at the build it tests);
  3. the source tree this package sits in: build/libsrs.so, else
     build-cpu/libsrs.so (`pip install -e .` and running from a clone; after
     `SRS_NO_CUDA=1 pip install -e .`, srs/_editable_build puts build-cpu first);
  4. the system loader: libsrs.so.<major> from `make install`.
An installed package therefore never depends on a source tree's build/.
"""
import ctypes as C
import os

# The libsrs version this package is written against (SRS_VERSION_STRING in
# include/srs.h; setup.py refuses to build when the two differ). The ctypes
# declarations below mirror that header's structs, so a library of another
# version is refused rather than called with the wrong layout.
VERSION = "0.1.0"

# srs_status_t
OK, ERR_INVALID_ARG, ERR_BAD_INPUT, ERR_IO, ERR_NOMEM, ERR_UNSUPPORTED, ERR_BACKEND = range(7)


class SrsError(RuntimeError):
    """A libsrs call failed. The message is the library's; .status is the
    srs_status_t (srs.ERR_*), .status_name its name ("invalid argument", ...),
    .row the index of the prompt the message is about (None when none)."""

    def __init__(self, status, message, status_name="", row=None):
        super().__init__(message)
        self.status = status
        self.status_name = status_name
        self.row = row


class SrsArgumentError(SrsError, ValueError):
    """The library rejected an argument: a parameter out of range
    (SRS_ERR_INVALID_ARG) or data it cannot take, such as a NaN reward or an
    empty row (SRS_ERR_BAD_INPUT). Both an SrsError carrying the library's
    message and a ValueError, like every other bad argument."""


_HERE = os.path.dirname(os.path.abspath(__file__))
_lib = None
_lib_path = None


def _candidates():
    """(where, path) in the order the library is looked for."""
    yield "package", os.path.join(_HERE, "libsrs.so")
    env = os.environ.get("SRS_LIB")
    if env:
        yield "$SRS_LIB", env
    root = os.path.dirname(os.path.dirname(_HERE))
    if os.path.exists(os.path.join(root, "include", "srs.h")):
        dirs = ["build", "build-cpu"]
        try:
            with open(os.path.join(_HERE, "_editable_build")) as f:
                first = f.read().strip()
            if first in dirs:
                dirs.remove(first)
                dirs.insert(0, first)
        except OSError:
            pass
        for b in dirs:
            yield "source tree", os.path.join(root, b, "libsrs.so")
    yield "system", "libsrs.so." + VERSION.split(".")[0]


def _open():
    tried = []
    for where, path in _candidates():
        if where == "system":
            try:
                return C.CDLL(path), path
            except OSError as e:
                tried.append("%s (%s)" % (path, e))
                break
        if not os.path.exists(path):
            if where == "$SRS_LIB":
                raise OSError("SRS_LIB=%s: no such file" % path)
            tried.append(path)
            continue
        # a library that exists but fails to load (a missing dependency) is an
        # error here, not a reason to try the next one
        return C.CDLL(os.path.abspath(path)), os.path.abspath(path)
    raise OSError("libsrs not found; tried: %s. Install the package with `pip install .` "
                  "from a clone of srs, or set SRS_LIB to a libsrs.so" % "; ".join(tried))


def _declare(lib):
    P, I64, I, D, S, STR = C.c_void_p, C.c_int64, C.c_int, C.c_double, C.c_int, C.c_char_p
    sig = {
        "srs_version": ([], STR),
        "srs_status_str": ([I], STR),
        "srs_cuda_compiled": ([], I),
        "srs_cpu_level": ([], STR),
        "srs_cpu_levels": ([], STR),
        "srs_ctx_create": ([C.POINTER(P), I, I], S),
        "srs_ctx_free": ([P], None),
        "srs_last_create_error": ([], STR),
        "srs_ctx_last_error": ([P], STR),
        "srs_ctx_device": ([P], I),
        "srs_ctx_threads": ([P], I),
        "srs_ctx_error_row": ([P], I64),
        "srs_thresholds": ([P, P, P, P, P], S),
        "srs_shape": ([P, P, P, P, P, P, P, I], S),
        "srs_thresholds_device": ([P, P, P, P, P, P], S),
        "srs_shape_device": ([P, P, P, P, P, P, P, I, P], S),
        "srs_guide_candidates": ([P, P, I, I64, I64, D, I, P, P, P, P], S),
        "srs_guide_select": ([P, P, I64, I, P, P, P, P, P, P, P, P], S),
        "srs_guide_vocab": ([P, P, P, I, P, I, I64, I64, D, I, P, P, P, P, P], S),
        "srs_guide_value_head": ([P, P, P, I, P, I64, I64, I64, P, I, P, P], S),
        "srs_eval_opts_check": ([P, P], S),
        "srs_eval_acc_len": ([P], C.c_size_t),
        "srs_eval_accumulate": ([P, P, P, P], S),
        "srs_eval_finalize": ([P, P, P, P], S),
        "srs_eval_result_free": ([P], None),
        "srs_metric_name": ([I], STR),
        "srs_format_from_path": ([STR], I),
        "srs_data_read": ([P, STR, P, C.POINTER(P)], S),
        "srs_data_from_arrays": ([P, I64, P, I64, P, P, P, P, C.POINTER(P)], S),
        "srs_data_free": ([P], None),
        "srs_data_batch": ([P], P),
        "srs_data_id": ([P, I64, C.POINTER(I)], P),
        "srs_data_line": ([P, I64], I64),
        "srs_data_write": ([P, STR, P, I, I], S),
    }
    for name, (args, res) in sig.items():
        f = getattr(lib, name)
        f.argtypes = args
        f.restype = res


def library() -> C.CDLL:
    """The loaded libsrs (a ctypes.CDLL with argument types declared)."""
    global _lib, _lib_path
    if _lib is None:
        lib, path = _open()
        _declare(lib)
        have = lib.srs_version().decode()
        if have != VERSION:
            raise ImportError("%s is libsrs %s; this srs package needs %s (rebuild, or reinstall "
                              "the package)" % (path, have, VERSION))
        _lib, _lib_path = lib, path
    return _lib


def library_path() -> str:
    """The file the library was loaded from (loads it if needed)."""
    library()
    return _lib_path


def raise_for(status, message, row=None):
    """Raises the exception for a failed call: SrsArgumentError (a ValueError)
    for SRS_ERR_INVALID_ARG and SRS_ERR_BAD_INPUT, else SrsError."""
    if status == OK:
        return
    name = library().srs_status_str(status).decode()
    cls = SrsArgumentError if status in (ERR_INVALID_ARG, ERR_BAD_INPUT) else SrsError
    raise cls(status, message or name, name, row)
