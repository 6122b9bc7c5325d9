"""srs.read and srs.write: files written from Python are read by the command
line (`srs threshold` gives srs.thresholds' m* on the arrays, bit for bit),
`srs gen`'s files read back as the same numbers in every format, a round trip
keeps every bit and id, and bad files raise SrsError with the library's
file:line message and leave nothing behind."""
import json
import os
import subprocess

import numpy as np
import pytest

import srs
from conftest import REPO

SRS_BIN = os.environ.get("SRS_BIN") or os.path.join(REPO, "build", "srs")
DATA = os.path.join(os.path.dirname(REPO), "shared", "data")
need_cli = pytest.mark.skipif(not os.access(SRS_BIN, os.X_OK),
                              reason="%s not built: the command-line round trips are not tested (make)" % SRS_BIN)


def run(*args):
    r = subprocess.run([SRS_BIN] + [str(a) for a in args], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def bits(a):
    return np.ascontiguousarray(a, np.float64).view(np.uint64)


def ragged(seed, n=120):
    rng = np.random.default_rng(seed)
    u = [rng.normal(0, 2, k) * 10.0 ** rng.integers(-5, 5) for k in rng.integers(1, 30, n)]
    return u, [rng.normal(0, 1, len(x)) for x in u], [x + rng.normal(0, 1, len(x)) for x in u]


KW = dict(preset="paper-cd", B=15.0, beta=0.667)


# -- through the command line ---------------------------------------------------------------


@need_cli
@pytest.mark.parametrize("ext", ["jsonl", "csv"])
def test_a_written_text_file_gives_the_command_line_the_same_thresholds(tmp_path, ext):
    u, lw, g = ragged(1)
    path = str(tmp_path / ("d." + ext))
    srs.write(path, u, logw=lw, gold=g, ids=["p%d" % i for i in range(len(u))])
    run("threshold", path, "-o", tmp_path / "t.jsonl", "-q", "--device", "cpu", "--preset", "paper-cd",
        "--B", "15", "--beta", "0.667")
    want = [json.loads(line) for line in open(tmp_path / "t.jsonl")]
    m, be = srs.thresholds(u, logw=lw, device="cpu", **KW)
    assert [w["prompt_id"] for w in want] == ["p%d" % i for i in range(len(u))]
    assert (bits(m) == bits([w["m_star"] for w in want])).all()
    assert (bits(be) == bits([w["B_eff"] for w in want])).all()


@need_cli
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_written_npy_file_with_companions_gives_the_command_line_the_same_thresholds(tmp_path, dtype):
    rng = np.random.default_rng(2)
    u, lw = rng.normal(0, 1, (300, 17)).astype(dtype), rng.normal(0, 1, (300, 17)).astype(dtype)
    path = str(tmp_path / "d.npy")
    srs.write(path, u, logw=lw)
    assert np.load(path).dtype == dtype and (np.load(str(tmp_path / "d.logw.npy")) == lw).all()
    assert not os.path.exists(str(tmp_path / "d.gold.npy"))
    run("threshold", path, "-o", tmp_path / "t.npy", "-q", "--device", "cpu", "--preset", "paper-cd",
        "--B", "15", "--beta", "0.667")
    t = np.load(str(tmp_path / "t.npy"))
    m, be = srs.thresholds(u, logw=lw, device="cpu", **KW)
    assert (bits(m) == bits(t[:, 0])).all() and (bits(be) == bits(t[:, 1])).all()


@need_cli
def test_gen_files_read_as_the_same_numbers_in_every_format(tmp_path):
    """srs gen with one seed writes one data set; read from JSONL, CSV and NPY
    (with its gold and logw companions) it is the same doubles."""
    sets = {}
    for ext in ("jsonl", "csv", "npy"):
        path = str(tmp_path / ("g." + ext))
        run("gen", "-o", path, "--prompts", "80", "--samples", "9", "--with-logw", "--seed", "4")
        sets[ext] = srs.read(path)
    for ext, d in sets.items():
        assert d.layout == "dense" and d.rewards.shape == (80, 9) and d.rewards.dtype == np.float64, ext
        for k in ("rewards", "gold", "logw"):
            assert (bits(getattr(d, k)) == bits(getattr(sets["npy"], k))).all(), (ext, k)
    assert sets["npy"].ids == list(range(80))


# -- round trips --------------------------------------------------------------------------


@pytest.mark.parametrize("ext", ["jsonl", "csv"])
@pytest.mark.parametrize("layout", ["list", "csr"])
def test_text_round_trip_keeps_every_bit_and_id(tmp_path, ext, layout):
    u, lw, g = ragged(3)
    ids = ["q-%d" % i for i in range(len(u) - 1)] + [7]
    path = tmp_path / ("d." + ext)
    srs.write(path, u, logw=lw, gold=g, ids=ids)
    d = srs.read(path, layout=layout)
    assert d.layout == layout and len(d) == len(u) and d.path == str(path)
    assert d.ids[:-1] == ids[:-1] and d.ids[-1] in (7, "7")    # an int id is written as a string
    flat = lambda x: np.concatenate(x) if isinstance(x, list) else x   # noqa: E731
    for got, want in ((d.rewards, u), (d.logw, lw), (d.gold, g)):
        assert (bits(flat(got)) == bits(np.concatenate(want))).all()
    if layout == "csr":
        assert (d.offsets == np.cumsum([0] + [len(x) for x in u])).all()
    else:
        assert d.offsets is None and [len(x) for x in d.rewards] == [len(x) for x in u]
    srs.write(tmp_path / ("e." + ext), d)                    # a Data writes itself
    assert (tmp_path / ("e." + ext)).read_bytes() == path.read_bytes()


def test_numeric_ids_and_layouts(tmp_path):
    u = np.arange(12.0).reshape(3, 4)
    srs.write(tmp_path / "d.jsonl", u)                       # no ids: the row index, as numbers
    assert json.loads((tmp_path / "d.jsonl").read_text().splitlines()[2])["prompt_id"] == 2
    d = srs.read(tmp_path / "d.jsonl")
    assert d.ids == [0, 1, 2] and d.layout == "dense" and (d.rewards == u).all() and d.gold is None
    assert srs.read(tmp_path / "d.jsonl", layout="csr").rewards.shape == (12,)
    assert len(srs.read(tmp_path / "d.jsonl", layout="list").rewards) == 3
    srs.write(tmp_path / "r.jsonl", [np.ones(2), np.ones(3)])
    assert srs.read(tmp_path / "r.jsonl").layout == "list"
    with pytest.raises(ValueError, match="different numbers of samples; read it with layout='list'"):
        srs.read(tmp_path / "r.jsonl", layout="dense")
    srs.write(tmp_path / "d.data", u, format="csv")          # format= over the extension
    assert srs.read(tmp_path / "d.data", format="csv").ids == [0, 1, 2]


def test_read_shared_data_as_json_does():
    path = os.path.join(DATA, "gsm8k-overopt-qwen05b", "step-200.jsonl")
    if not os.path.exists(path):
        pytest.skip("%s absent: the shared-data read is not tested" % path)
    rows = [json.loads(line) for line in open(path)]
    d = srs.read(path)
    assert d.ids == [r["prompt_id"] for r in rows]
    assert (bits(d.rewards) == bits([r["rewards"] for r in rows])).all()
    assert (bits(d.gold) == bits([r["gold"] for r in rows])).all() and d.logw is None


def test_float32_npy_stays_float32_and_dtype_chooses(tmp_path):
    u = np.random.default_rng(0).normal(0, 1, (5, 3)).astype(np.float32)
    srs.write(tmp_path / "a.npy", u)
    d = srs.read(tmp_path / "a.npy")
    assert d.rewards.dtype == np.float32 and (d.rewards == u).all()
    srs.write(tmp_path / "b.npy", u, dtype="float64")
    assert np.load(str(tmp_path / "b.npy")).dtype == np.float64
    srs.write(tmp_path / "c.npy", u.astype(np.float64), dtype=np.float32)
    assert (np.load(str(tmp_path / "c.npy")) == u).all()


# -- bad files and arguments ------------------------------------------------------------------


@pytest.mark.parametrize("name,text,msg", [
    ("bad.jsonl", '{"prompt_id": "a", "rewards": [1]}\n{"prompt_id": "b", "rewards": [1, "x"]}\n',
     r"bad.jsonl:2: rewards\[1\] is not a number"),
    ("bad.csv", "prompt_id,reward\na,1\nb,zz\n", 'bad.csv:3: "reward" is not a number'),
    ("bad.npy", "not an array", r"bad.npy: not an NPY file"),
    ("dup.jsonl", '{"prompt_id": "a", "rewards": [1]}\n{"prompt_id": "a", "rewards": [2]}\n', "dup.jsonl:2"),
])
def test_bad_files_raise_the_library_message(tmp_path, name, text, msg):
    (tmp_path / name).write_text(text)
    with pytest.raises(srs.SrsError, match=msg) as e:
        srs.read(tmp_path / name)
    assert e.value.status == srs.ERR_BAD_INPUT


def test_missing_file_and_unknown_extension(tmp_path):
    with pytest.raises(srs.SrsError, match="nothing.csv: cannot open") as e:
        srs.read(tmp_path / "nothing.csv")
    assert e.value.status == srs.ERR_IO
    with pytest.raises(ValueError, match="cannot tell the format of .*nothing.txt.*format='jsonl'"):
        srs.read(tmp_path / "nothing.txt")
    with pytest.raises(ValueError, match="cannot tell the format of .*d.txt.*format='jsonl'"):
        srs.write(tmp_path / "d.txt", np.zeros((1, 1)))
    assert not os.path.exists(str(tmp_path / "d.txt"))


def test_a_failed_write_leaves_nothing_and_replaces_nothing(tmp_path):
    with pytest.raises(srs.SrsError, match="NPY needs equal rows: row 1 has 1 samples"):
        srs.write(tmp_path / "d.npy", [np.ones(2), np.ones(1)])
    (tmp_path / "d.csv").write_text("prompt_id,reward\nold,1\n")
    with pytest.raises(srs.SrsError, match='rows 0 and 1 have the same prompt_id "a"'):
        srs.write(tmp_path / "d.csv", np.zeros((2, 2)), ids=["a", "a"])
    with pytest.raises(srs.SrsError, match="row 1 has no samples"):
        srs.write(tmp_path / "d.jsonl", [np.ones(1), np.ones(0)])
    assert sorted(os.listdir(str(tmp_path))) == ["d.csv"]
    assert (tmp_path / "d.csv").read_text() == "prompt_id,reward\nold,1\n"


@pytest.mark.parametrize("call,exc,msg", [
    (lambda p: srs.read(p, format="parquet"), ValueError, "format must be one of 'jsonl', 'npy', 'csv'"),
    (lambda p: srs.read(p, layout="rows"), ValueError, "layout must be one of"),
    (lambda p: srs.read(None), TypeError, "path must be a path"),
    (lambda p: srs.read(""), ValueError, "non-empty path"),
    (lambda p: srs.write(p, np.zeros((2, 2)), ids=["a"]), ValueError, "ids has 1 entries for 2 prompts"),
    (lambda p: srs.write(p, np.zeros((2, 2)), ids=["a", 1.5]), TypeError, r"ids\[1\] must be a str or an int"),
    (lambda p: srs.write(p, np.zeros((2, 2)), ids=["a", "b\0"]), ValueError, r"ids\[1\] contains a NUL"),
    (lambda p: srs.write(p, np.zeros((2, 2)), dtype=np.int32), ValueError, "dtype must be float32 or float64"),
    (lambda p: srs.write(p, np.zeros((2, 2)), gold=np.zeros((2, 3))), ValueError, "gold must have the layout"),
    (lambda p: srs.write("-", np.zeros((2, 2))), ValueError, "standard input or output"),
    (lambda p: srs.read("-"), ValueError, "standard input or output"),
    (lambda p: srs.write(p, "rewards"), TypeError, "rewards must be a 2-D NumPy array"),
])
def test_bad_arguments(tmp_path, call, exc, msg):
    with pytest.raises(exc, match=msg):
        call(tmp_path / "d.jsonl")
