"""srs.read and srs.write: data sets in the library's formats (srs_data_read,
srs_data_from_arrays, srs_data_write), the files `srs threshold`, `srs shape`
and `srs eval` read.

  JSONL  {"prompt_id": ..., "rewards": [...], "gold": [...]?, "logw": [...]?} a line
  CSV    prompt_id,reward[,gold][,logw]: one sample a line, a prompt's lines together
  NPY    2-D float32/float64 (prompts, samples), with "<stem>.gold.npy" and
         "<stem>.logw.npy" beside it for gold and logw

The format is the path's extension (.jsonl or .json, .csv, .npy) unless
format= says otherwise. A file the library refuses raises SrsError with its
message, which names the file and the line (JSONL, CSV) or what is wrong
(NPY); nothing is read then, and a failed write leaves no file (the library
writes a temporary file and renames it into place).
"""
import ctypes as C
import os
import re
from dataclasses import dataclass, field
from typing import Any, List, Optional, Union

from . import _check as ck
from . import _lib
from . import rows as _rows

_FORMATS = {"jsonl": 1, "npy": 2, "csv": 3}
_LAYOUTS = ("auto", "dense", "csr", "list")
_INT_TEXT = re.compile(r"-?[0-9]+\Z")


class _ReadOpts(C.Structure):
    # srs_read_opts_t
    _fields_ = [("format", C.c_int), ("gold_path", C.c_char_p), ("logw_path", C.c_char_p)]


@dataclass
class Data:
    """A data set: per prompt an id and its samples' rewards, with gold and
    logw when the file has them.

    rewards, gold, logw: in one layout (`layout`): "dense" a 2-D array
    (prompts, samples); "csr" a 1-D array of every sample with `offsets`
    (prompts + 1,) int64; "list" a list of 1-D arrays. float64, or float32
    from a float32 NPY file. ids: one per prompt, a str, or an int for a
    numeric JSON id (and the row index where the file has none, as in NPY).
    The fields go straight into srs.thresholds, srs.shape and srs.evaluate:
    srs.thresholds(d.rewards, offsets=d.offsets, logw=d.logw).
    """
    rewards: Any
    gold: Any = None
    logw: Any = None
    offsets: Any = None
    ids: List[Union[str, int]] = field(default_factory=list)
    layout: str = "dense"
    path: str = ""

    def __len__(self) -> int:
        """The number of prompts."""
        if self.ids or self.rewards is None:
            return len(self.ids)
        return len(self.offsets) - 1 if self.offsets is not None else len(self.rewards)


def _copy_vec(np, vec, first, count):
    """The samples [first, first + count) of an srs_vec_t, copied out."""
    if not vec.data:
        return None
    dt = np.float32 if vec.dtype == _rows._F32 else np.float64
    if count == 0:
        return np.zeros(0, dt)
    ct = C.c_float if dt is np.float32 else C.c_double
    p = C.cast(vec.data + first * C.sizeof(ct), C.POINTER(ct))
    return np.ctypeslib.as_array(p, (count,)).copy()


def _arrange(np, flat, offsets, n, row_len, layout):
    if flat is None:
        return None
    if layout == "dense":
        return flat.reshape(n, row_len)
    if layout == "list":
        o = offsets.tolist()
        return [flat[a:b] for a, b in zip(o[:-1], o[1:])]
    return flat


def _path(name, p, none_ok=False):
    if p is None and none_ok:
        return None
    if not isinstance(p, (str, bytes, os.PathLike)):
        raise TypeError("%s must be a path (str or os.PathLike), got %s" % (name, ck.describe(p)))
    b = os.fsencode(p)
    if not b or b"\0" in b:
        raise ValueError("%s must be a non-empty path without NUL bytes, got %r" % (name, p))
    return b


def _format_known(lib, p, fmt):
    """ValueError when the format is neither given nor the extension's."""
    if p == b"-":
        raise ValueError("path '-' (standard input or output) is not read or written from Python; give a file name")
    if fmt == 0 and lib.srs_format_from_path(p) == 0:
        raise ValueError("cannot tell the format of %s from its extension (.jsonl, .csv or .npy); pass "
                         "format='jsonl', 'csv' or 'npy'" % os.fsdecode(p))


def read(path: Union[str, os.PathLike], *, format: Optional[str] = None, gold_path: Optional[str] = None,
         logw_path: Optional[str] = None, layout: str = "auto", threads: int = 0) -> Data:
    """Reads a data set file (JSONL, CSV or NPY), as the command line does.

    format: "jsonl" | "csv" | "npy" (None: by the extension); gold_path,
    logw_path: NPY companions (None: "<stem>.gold.npy" and "<stem>.logw.npy"
    when they exist); layout: "auto" (dense when every prompt has the same
    number of samples, else a list), "dense" (ValueError when the rows
    differ), "csr" or "list". Returns a Data. SrsError (with the file and
    line) when the library refuses the file.
    """
    np = _rows._np()
    fmt = 0 if format is None else ck.choice("format", format, _FORMATS)
    if layout not in _LAYOUTS:
        raise ValueError("layout must be one of %s; got %r" % (", ".join(repr(k) for k in _LAYOUTS), layout))
    p = _path("path", path)
    gp, lp = _path("gold_path", gold_path, True), _path("logw_path", logw_path, True)
    ctx = _rows._context("cpu", threads)
    lib = ctx.lib
    _format_known(lib, p, fmt)
    opts = _ReadOpts(fmt, gp, lp)
    d = C.c_void_p()
    ctx.check(lib.srs_data_read(ctx.ptr, p, C.byref(opts), C.byref(d)))
    try:
        b = _rows._Batch.from_address(lib.srs_data_batch(d))
        n = b.n_prompts
        if b.offsets:
            offs = np.ctypeslib.as_array(C.cast(b.offsets, C.POINTER(C.c_int64)), (n + 1,)).copy()
            first = int(offs[0])
            offs -= first
            lens = np.diff(offs)
            row_len = int(lens[0]) if n and (lens == lens[0]).all() else -1
        else:
            first, row_len = 0, b.row_len
            offs = np.arange(n + 1, dtype=np.int64) * row_len
        total = int(offs[-1])
        rw, gd, lw = (_copy_vec(np, v, first, total) for v in (b.reward, b.gold, b.logw))
        ids = []
        isnum = C.c_int()
        for i in range(n):
            s = C.string_at(lib.srs_data_id(d, i, C.byref(isnum))).decode("utf-8", "surrogateescape")
            ids.append(int(s) if isnum.value and _INT_TEXT.match(s) else s)
    finally:
        lib.srs_data_free(d)
    if layout == "auto":
        layout = "dense" if row_len >= 0 else "list"
    elif layout == "dense" and row_len < 0:
        raise ValueError("%s: the prompts have different numbers of samples; read it with layout='list' "
                         "or 'csr'" % os.fsdecode(p))
    if row_len < 0:
        row_len = 0
    return Data(*(_arrange(np, a, offs, n, row_len, layout) for a in (rw, gd, lw)),
                offsets=offs if layout == "csr" else None, ids=ids, layout=layout, path=os.fsdecode(p))


def _id_bytes(ids, n):
    """ids as a char** (None: the row index, written as numbers)."""
    if ids is None:
        return None, None
    ids = list(ids)
    if len(ids) != n:
        raise ValueError("ids has %d entries for %d prompts" % (len(ids), n))
    if all(isinstance(x, int) and not isinstance(x, bool) for x in ids) and ids == list(range(n)):
        return None, None      # the row index: the library writes it as a number
    out = []
    for i, x in enumerate(ids):
        if isinstance(x, bool) or not isinstance(x, (str, int)):
            raise TypeError("ids[%d] must be a str or an int, got %s" % (i, ck.describe(x)))
        s = str(x)
        if "\0" in s:
            raise ValueError("ids[%d] contains a NUL character" % i)
        try:
            out.append(s.encode("utf-8"))
        except UnicodeEncodeError as e:
            raise ValueError("ids[%d] is not valid Unicode text: %s" % (i, e)) from None
    arr = (C.c_char_p * n)(*out)
    return arr, out


def write(path: Union[str, os.PathLike], rewards: Any, *, offsets: Any = None, gold: Any = None, logw: Any = None,
          ids: Optional[List[Union[str, int]]] = None, format: Optional[str] = None, dtype: Any = None,
          threads: int = 0) -> None:
    """Writes a data set (JSONL, CSV or NPY) that srs.read and the command line read.

    rewards: (prompts, samples), a list of 1-D arrays, or 1-D with offsets,
    or a Data (then offsets, gold, logw and ids come from it unless given);
    gold, logw: in the layout of rewards, or None; ids: one str or int per
    prompt (None: the row index, written as a number; other ints are written
    as strings); format: "jsonl" | "csv" | "npy" (None: by the extension);
    dtype: the NPY dtype, "float32" or "float64" (None: float32 when rewards
    are float32, else float64); NPY needs equal rows and writes gold and logw
    to "<stem>.gold.npy" and "<stem>.logw.npy" (and removes such files left
    from an earlier write). Text formats print each value's shortest
    round-trip decimal, so a read gives the same doubles back.
    """
    np = _rows._np()
    if isinstance(rewards, Data):
        dset = rewards
        rewards = dset.rewards
        offsets = dset.offsets if offsets is None else offsets
        gold = dset.gold if gold is None else gold
        logw = dset.logw if logw is None else logw
        ids = dset.ids if ids is None else ids
    fmt = 0 if format is None else ck.choice("format", format, _FORMATS)
    p = _path("path", path)
    _format_known(_lib.library(), p, fmt)
    rw = _rows._layout(rewards, "rewards", offsets)
    lw = _rows._same_layout(rw, logw, offsets, "logw")
    gd = _rows._same_layout(rw, gold, offsets, "gold")
    if dtype is None:
        npy = _rows._F32 if rw.data.dtype == np.float32 else _rows._F64
    else:
        try:
            dt = np.dtype(dtype)
        except TypeError:
            raise TypeError("dtype must be float32 or float64, got %r" % (dtype,)) from None
        if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError("dtype must be float32 or float64 (the NPY dtypes srs reads), got %s" % dt)
        npy = _rows._F32 if dt == np.float32 else _rows._F64
    id_arr, _keep = _id_bytes(ids, rw.n)
    # srs_data_from_arrays copies doubles
    f64 = [None if a is None else np.require(a.data, np.float64, ["C", "A"]) for a in (rw, gd, lw)]
    ptr = [None if a is None else a.ctypes.data for a in f64]
    ctx = _rows._context("cpu", threads)
    d = C.c_void_p()
    ctx.check(ctx.lib.srs_data_from_arrays(ctx.ptr, rw.n, None if rw.offsets is None else rw.offsets.ctypes.data,
                                           rw.row_len, ptr[0], ptr[1], ptr[2],
                                           None if id_arr is None else C.cast(id_arr, C.c_void_p), C.byref(d)))
    try:
        ctx.check(ctx.lib.srs_data_write(ctx.ptr, p, d, fmt, npy))
    finally:
        ctx.lib.srs_data_free(d)
