"""examples/args_decode.py and examples/cd_pipeline.py on the tiny random
models (--tiny): the ARGS script prints what the processor generates in
process, the CD pipeline trains, saves and decodes, and bad input fails with a
message and a non-zero exit."""
import json
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch", reason="torch is not installed: the transformers tests are skipped")
pytest.importorskip("transformers", reason="transformers is not installed: the transformers tests are skipped")

import srs.hf as hf  # noqa: E402
from conftest import REPO  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from test_hf_args import generate  # noqa: E402

EX = os.path.join(REPO, "examples")


def run(script, *args):
    return subprocess.run([sys.executable, os.path.join(EX, script)] + list(args), capture_output=True, text=True,
                          timeout=600)


def lines(out):
    return [json.loads(line) for line in out.splitlines()]


def test_args_decode_script_matches_processor():
    p = run("args_decode.py", "--tiny", "--prompt", "1 17 33 9", "--prompt", "1 5", "--max-new-tokens", "5",
            "--no-eos")
    assert p.returncode == 0, p.stderr
    got = [r["tokens"] for r in lines(p.stdout)]
    lm, rm = hf.tiny_models(dtype=torch.float64)
    want = generate(lm, hf.ARGSLogitsProcessor(rm, pad_token_id=0), [[1, 17, 33, 9], [1, 5]], steps=5).tolist()
    assert got == want


def test_cd_pipeline_script(tmp_path):
    v = str(tmp_path / "v.pt")
    p = run("cd_pipeline.py", "train", "--tiny", "--prompt", "1 17 33 9", "--prompt", "1 5", "--prompt", "1 8 9",
            "--n", "4", "--max-new-tokens", "4", "--width", "16", "--batch", "4", "--epochs", "3", "--out", v)
    assert p.returncode == 0, p.stderr
    assert "saved" in p.stderr and os.path.exists(v)
    p = run("cd_pipeline.py", "decode", "--tiny", "--prompt", "1 5", "--value", v, "--max-new-tokens", "3")
    assert p.returncode == 0, p.stderr
    rec = lines(p.stdout)
    assert len(rec) == 1 and rec[0]["prompt"] == "1 5" and 1 <= len(rec[0]["tokens"]) <= 3


def test_scripts_bad_input(tmp_path):
    p = run("args_decode.py", "--tiny", "--prompts-file", str(tmp_path / "missing.txt"))
    assert p.returncode == 1 and "missing.txt" in p.stderr and p.stdout == ""
    p = run("args_decode.py", "--tiny", "--prompt", "1 x 3")
    assert p.returncode == 1 and "prompt 1" in p.stderr and "token ids" in p.stderr
    p = run("args_decode.py", "--tiny", "--prompt", "1 500")
    assert p.returncode == 1 and "[0, 100)" in p.stderr
    bad = tmp_path / "bad.pt"
    torch.save({"x": 1}, str(bad))
    p = run("cd_pipeline.py", "decode", "--tiny", "--prompt", "1 5", "--value", str(bad))
    assert p.returncode == 1 and "not a value function" in p.stderr
