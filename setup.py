"""Builds the Python package `srs` with libsrs inside it.

The backend is plain setuptools with one custom step: build_py runs the
project's Makefile (`make <build>/libsrs.so`, the same build `make` does, so
CUDA is compiled in when nvcc is found and the CPU levels are dispatched at run
time) and copies the library into the package as srs/libsrs.so. The Makefile
stays the only build description; a CMake or Meson copy of it would drift.

Environment: SRS_NO_CUDA=1 (or NO_CUDA=1) builds the CPU-only library (make
NO_CUDA=1, into build-cpu/); everything else make reads from the environment
applies too (GPU_COMPUTE_CAPABILITY, CC, MAKEFLAGS=-j4, SRS_NO_DEPS=1, ...).
`pip install -e .` builds the library in the source tree and copies nothing:
the package then loads build/libsrs.so, or build-cpu/libsrs.so after
SRS_NO_CUDA=1 (srs/_lib.py; python/srs/_editable_build says which), so `make`
after an edit is all a rebuild takes.
"""
import os
import re
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py as _build_py
from setuptools.dist import Distribution

ROOT = os.path.dirname(os.path.abspath(__file__))


def header_version():
    with open(os.path.join(ROOT, "include", "srs.h")) as f:
        v = re.search(r'^#define SRS_VERSION_STRING "([^"]+)"', f.read(), re.M).group(1)
    with open(os.path.join(ROOT, "python", "srs", "_lib.py")) as f:
        p = re.search(r'^VERSION = "([^"]+)"', f.read(), re.M).group(1)
    if v != p:
        raise SystemExit("srs: include/srs.h is version %s but python/srs/_lib.py expects %s: "
                         "update VERSION there (and the ctypes declarations if the API changed)" % (v, p))
    return v


def no_cuda():
    return "1" in (os.environ.get("SRS_NO_CUDA", ""), os.environ.get("NO_CUDA", ""))


def build_dir():
    return "build-cpu" if no_cuda() else "build"


def build_libsrs():
    """Runs make for the shared library; returns its path (the real file)."""
    build = build_dir()
    cmd = ["make", "-C", ROOT, "BUILD=" + build] + (["NO_CUDA=1"] if no_cuda() else []) + \
          ["cuda-info", build + "/libsrs.so"]
    print("srs: " + " ".join(cmd), flush=True)
    if subprocess.call(cmd) != 0:
        raise SystemExit("srs: building libsrs failed (make's output is above); the Debian packages "
                         "it needs: scripts/install-deps.sh")
    return os.path.realpath(os.path.join(ROOT, build, "libsrs.so"))


class build_py(_build_py):
    def run(self):
        try:
            self.build_and_copy()
        except Exception as e:
            # SystemExit, not an Exception: setuptools' editable install ignores
            # failures of build_py with a warning, and a package without its
            # library must not install
            raise SystemExit("srs: %s: %s" % (type(e).__name__, e))

    def build_and_copy(self):
        super().run()
        lib = build_libsrs()
        if getattr(self, "editable_mode", False):
            # the package is python/srs itself, which loads the source tree's build
            # (srs/_lib.py); this says which one, build/ or build-cpu/
            with open(os.path.join(ROOT, "python", "srs", "_editable_build"), "w") as f:
                f.write(build_dir() + "\n")
            return
        dst = os.path.join(self.build_lib, "srs", "libsrs.so")
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(lib, dst)
        os.chmod(dst, 0o755)


class BinaryDistribution(Distribution):
    # the wheel carries a native library: platform-specific, installed in platlib
    def has_ext_modules(self):
        return True


setup(version=header_version(), cmdclass={"build_py": build_py}, distclass=BinaryDistribution,
      options={"build": {"build_base": "build/python"}})
