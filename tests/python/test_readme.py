"""The README's Python section, as written: its example runs and prints what
its comments say, and its one-line check is the one the install tests run."""
import os
import re
import subprocess
import sys

from conftest import REPO


def python_section():
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    return re.search(r"^## Python\n(.*?)^## ", text, re.S | re.M).group(1)


def test_readme_example_runs_as_written():
    blocks = re.findall(r"```python\n(.*?)```", python_section(), re.S)
    assert len(blocks) == 1
    r = subprocess.run([sys.executable, "-c", blocks[0]], capture_output=True, text=True, cwd="/")
    assert r.returncode == 0, r.stderr
    # each printed line is what the comment on its print() says (before a ": why")
    want = [c.strip() for c in re.findall(r"print\(.*?\)\s+# (.*)", blocks[0])]
    got = r.stdout.splitlines()
    assert len(want) == len(got) == 3, (want, got)
    for w, line in zip(want, got):
        assert w == line or w.startswith(line + ": "), (w, line)


def test_readme_install_commands():
    sec = python_section()
    assert "    pip install .        #" in sec
    assert 'python -c "import srs; print(srs.__version__, srs.cpu_level(), srs.cuda_compiled())"' in sec
