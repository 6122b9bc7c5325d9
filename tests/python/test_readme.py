"""The README's Python section, as written: each of its examples runs (in a
fresh interpreter, in an empty directory) and prints what its comments say,
and its one-line check is the one the install tests run."""
import importlib.util
import os
import re
import subprocess
import sys

import pytest

from conftest import REPO


def python_section():
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    return re.search(r"^## Python\n(.*?)^## ", text, re.S | re.M).group(1)


BLOCKS = re.findall(r"```python\n(.*?)```", python_section(), re.S)


def test_the_examples_cover_every_function():
    code = "\n".join(BLOCKS)
    for call in ("srs.thresholds(", "srs.shape(", "srs.evaluate(", "srs.read(", "srs.write(", "srs.Guide(",
                 ".candidates(", ".select(", ".vocab(", ".value_head("):
        assert call in code, "the README's Python examples do not show %s" % call
    assert len(BLOCKS) == 4


@pytest.mark.parametrize("i", range(len(BLOCKS)))
def test_readme_example_runs_as_written(tmp_path, i):
    block = BLOCKS[i]
    if re.search(r"^import torch", block, re.M) and importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed: the README's PyTorch example is not run")
    r = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    # each printed line is what the comment on its print() says (before a ": why")
    want = [c.strip() for c in re.findall(r"print\(.*?\)\s+# (.*)", block)]
    got = r.stdout.splitlines()
    assert want and len(want) == len(got), (want, got)
    for w, line in zip(want, got):
        assert w == line or w.startswith(line + ": "), (w, line)


def test_readme_install_commands():
    sec = python_section()
    assert "    pip install .        #" in sec
    assert 'python -c "import srs; print(srs.__version__, srs.cpu_level(), srs.cuda_compiled())"' in sec
