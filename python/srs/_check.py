"""Argument checks shared by the binding: every array is checked (kind, device,
ndim, shape, dtype, contiguity, alignment) and every option (name, value, type)
before anything reaches the library, so no argument can make it read past a
buffer or misread its elements.

Conventions: a wrong kind of object or dtype is a TypeError, a wrong shape or
value a ValueError; dtypes the library does not take are converted where that
is exact or what the caller evidently means (int64 ids after a range check,
float64 scores and log-probs to float32), and arrays that are not C-contiguous
and aligned are copied.
"""
import difflib
import operator

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
U64 = (1 << 64) - 1


def is_torch(x):
    return type(x).__module__.startswith("torch") and hasattr(x, "data_ptr") and hasattr(x, "is_cuda")


def describe(x):
    """A short description of x for messages: 'numpy.ndarray float64 (4, 10)'."""
    if is_torch(x):
        return "torch.Tensor %s %s on %s" % (str(x.dtype).replace("torch.", ""), tuple(x.shape), x.device)
    if hasattr(x, "dtype") and hasattr(x, "shape"):
        return "%s.%s %s %s" % (type(x).__module__, type(x).__name__, x.dtype, tuple(x.shape))
    return type(x).__name__


def choice(name, value, table):
    """table[value] for a string option; ValueError listing the choices otherwise."""
    if isinstance(value, str) and value in table:
        return table[value]
    raise ValueError("%s must be one of %s; got %r" % (name, ", ".join(repr(k) for k in table), value))


def real(name, value):
    """value as a float; TypeError when it is not a real number."""
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError("%s must be a real number, got %r" % (name, value))
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError("%s must be a real number, got %s" % (name, describe(value))) from None


def integer(name, value, lo=None, hi=None):
    """value as an int in [lo, hi]; TypeError when not an integer (floats
    included), ValueError when out of range."""
    if isinstance(value, bool):
        raise TypeError("%s must be an integer, got %r" % (name, value))
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError("%s must be an integer, got %s" % (name, describe(value))) from None
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ValueError("%s must be in [%s, %s], got %d" % (name, lo, hi, v))
    return v


def unknown_options(method, given, known):
    """TypeError naming the first unknown keyword (with a close match) and the known ones."""
    bad = [k for k in given if k not in known]
    if not bad:
        return
    close = difflib.get_close_matches(bad[0], list(known), 1)
    raise TypeError("%s() got an unknown option %r%s; the options are %s" % (
        method, bad[0], " (did you mean %r?)" % close[0] if close else "", ", ".join(known)))


def shape_of(x):
    return tuple(int(s) for s in x.shape)


def need_ndim(x, name, ndim, layout):
    if len(x.shape) != ndim:
        raise ValueError("%s must be %d-D %s, got shape %s" % (name, ndim, layout, shape_of(x)))


def need_shape(x, name, shape, why):
    if shape_of(x) != tuple(shape):
        raise ValueError("%s has shape %s; expected %s (%s)" % (name, shape_of(x), tuple(shape), why))
