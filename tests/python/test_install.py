"""The installed package: import, version, CPU level, CUDA, where the library
comes from and that it loads with its dependencies.

SRS_TEST_INSTALL (set by tests/python/run.sh) says how srs was installed:
"wheel" (pip install .: the library must be inside the package, nothing may
come from the source tree), "editable" (pip install -e .: python/srs of this
tree with its build/), unset (a run by hand: no placement checked).
SRS_TEST_EXPECT_CUDA=0|1 says whether the CUDA backend must be compiled in.
"""
import os
import re
import subprocess
import sys

import pytest

import srs
from conftest import REPO

MODE = os.environ.get("SRS_TEST_INSTALL", "")


def header_version():
    with open(os.path.join(REPO, "include", "srs.h")) as f:
        return re.search(r'^#define SRS_VERSION_STRING "([^"]+)"', f.read(), re.M).group(1)


def run_python(code, env=None, cwd=None):
    e = dict(os.environ)
    e.pop("SRS_LIB", None)
    e.update(env or {})
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e,
                          cwd=cwd or os.path.dirname(REPO))


def test_version_matches_header_library_and_metadata():
    assert srs.__version__ == header_version()
    assert srs.library_version() == srs.__version__
    if MODE:
        from importlib.metadata import version
        assert version("srs") == srs.__version__


def test_cpu_level_and_levels():
    levels = srs.cpu_levels()
    assert levels and all(isinstance(s, str) for s in levels)
    assert srs.cpu_level() in levels + ["native"]


def test_cpu_level_forced_by_srs_cpu():
    low = srs.cpu_levels()[0]
    r = run_python("import srs; print(srs.cpu_level())", env={"SRS_CPU": low})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == low
    r = run_python("import srs\ntry:\n    srs.cpu_level()\nexcept srs.SrsError as e:\n    print('SrsError', e)",
                   env={"SRS_CPU": "v99"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("SrsError SRS_CPU=v99"), r.stdout


def test_readme_one_liner():
    r = run_python("import srs; print(srs.__version__, srs.cpu_level(), srs.cuda_compiled())")
    assert r.returncode == 0, r.stderr
    v, level, cuda = r.stdout.split()
    assert v == header_version() and level in srs.cpu_levels() + ["native"] and cuda in ("True", "False")


def test_cuda_compiled():
    assert isinstance(srs.cuda_compiled(), bool)
    want = os.environ.get("SRS_TEST_EXPECT_CUDA")
    if want is None:
        pytest.skip("SRS_TEST_EXPECT_CUDA not set: which build to expect is unknown (run.sh sets it)")
    assert srs.cuda_compiled() == (want == "1")


def test_guide_auto_resolves_to_a_device():
    with srs.Guide("auto") as g:
        assert g.device in ("cpu", "cuda")
        if not srs.cuda_compiled():
            assert g.device == "cpu"


def test_guide_cuda_without_cuda_raises_srs_error():
    try:
        g = srs.Guide("cuda")
    except srs.SrsError as e:
        assert e.status == srs.ERR_UNSUPPORTED
        assert "CUDA" in str(e)
        return
    g.close()
    pytest.skip("a CUDA device is present: Guide('cuda') works")


def test_library_loads_with_its_dependencies():
    r = subprocess.run(["ldd", srs.library_path()], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "not found" not in r.stdout, r.stdout
    for dep in ("libjansson", "libopenblas", "libinih", "libgomp"):
        assert dep in r.stdout, "%s not linked:\n%s" % (dep, r.stdout)
    if srs.cuda_compiled():
        assert "libcudart" in r.stdout and "libcublas" in r.stdout


@pytest.mark.skipif(MODE not in ("wheel", "wheel-cpu"), reason="not a pip install . (SRS_TEST_INSTALL)")
def test_library_is_inside_the_installed_package():
    pkg = os.path.dirname(os.path.abspath(srs.__file__))
    assert not pkg.startswith(REPO + os.sep), "srs imported from the source tree: %s" % pkg
    lib = srs.library_path()
    assert os.path.dirname(lib) == pkg and os.path.basename(lib) == "libsrs.so"
    assert not os.path.islink(lib)
    # in a fresh process, with the source tree's build/ on no path: everything
    # mapped is the package's library, nothing comes from the clone
    r = run_python("import srs; srs.Guide('cpu').candidates(__import__('numpy').zeros((1, 3), 'f4'), k=2)\n"
                   "print(''.join(l for l in open('/proc/self/maps') if 'srs' in l))", cwd="/")
    assert r.returncode == 0, r.stderr
    mapped = {line.split()[-1] for line in r.stdout.splitlines() if line.strip()}
    assert lib in mapped, r.stdout
    assert not [m for m in mapped if m.startswith(REPO + os.sep)], r.stdout


@pytest.mark.skipif(MODE not in ("wheel", "wheel-cpu"), reason="not a pip install . (SRS_TEST_INSTALL)")
def test_package_library_comes_before_srs_lib():
    r = run_python("import srs; print(srs.library_path())", env={"SRS_LIB": "/nonexistent/libsrs.so"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == srs.library_path()


@pytest.mark.skipif(MODE != "editable", reason="not a pip install -e . (SRS_TEST_INSTALL)")
def test_editable_install_uses_the_source_tree():
    assert os.path.abspath(srs.__file__) == os.path.join(REPO, "python", "srs", "__init__.py")
    lib = srs.library_path()
    assert lib in (os.path.join(REPO, "build", "libsrs.so"), os.path.join(REPO, "build-cpu", "libsrs.so"))
    assert not os.path.exists(os.path.join(REPO, "python", "srs", "libsrs.so"))


def test_source_tree_loader_honours_srs_lib():
    """From the source tree (how the C suite runs tests/test_python_binding.py):
    $SRS_LIB is used, and a wrong $SRS_LIB is an error, not a silent fallback."""
    built = os.path.join(REPO, "build", "libsrs.so")
    if not os.path.exists(built):
        pytest.skip("no build/libsrs.so in the source tree")
    code = "import sys; sys.path.insert(0, %r); import srs; print(srs.__file__, srs.library_path())" % \
        os.path.join(REPO, "python")
    r = run_python(code, env={"SRS_LIB": built})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [os.path.join(REPO, "python", "srs", "__init__.py"), built]
    r = run_python(code, env={"SRS_LIB": "/nonexistent/libsrs.so"})
    assert r.returncode != 0 and "SRS_LIB=/nonexistent/libsrs.so" in r.stderr
