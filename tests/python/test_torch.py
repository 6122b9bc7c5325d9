"""PyTorch tensors: a CPU Guide refuses them with a hint; a CUDA Guide takes
CUDA tensors with the same checks and conversions as NumPy on the CPU, and
picks the CPU's tokens. srs.thresholds, srs.shape, srs.evaluate and
srs.write take CPU tensors in every layout with NumPy's dtype rules (a
contiguous float32/float64 tensor in place), give NumPy's bits, and return
tensors; CUDA tensors go to the CUDA backend. Skipped without torch (make
test-python installs it), the CUDA part also without a GPU."""
import numpy as np
import pytest

import srs

torch = pytest.importorskip("torch", reason="torch is not installed: the PyTorch tests are skipped")


def test_cpu_guide_refuses_torch_tensors(g):
    t = torch.zeros((2, 100))
    with pytest.raises(TypeError, match=r"a CPU Guide takes NumPy arrays.*t.numpy\(\)"):
        g.candidates(t, k=2)


def cuda_guide():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device: the CUDA tensor tests are skipped")
    if not srs.cuda_compiled():
        pytest.skip("libsrs has no CUDA backend compiled in")
    return srs.Guide("cuda")


def test_cuda_conversions_and_parity(g, step_inputs):
    gg = cuda_guide()
    _, ids, logp, score = step_inputs
    want = g.select(ids, logp, score, design="hard", B=1.0, lam=1.0)
    dev = lambda a: torch.from_numpy(np.ascontiguousarray(a)).cuda()   # noqa: E731
    got = gg.select(dev(ids.astype(np.int64)), dev(logp.astype(np.float64)), dev(score.astype(np.float64)),
                    design="hard", B=1.0, lam=1.0)
    np.testing.assert_array_equal(got.cpu().numpy(), want)
    with pytest.raises(ValueError, match=r"score has shape \(16, 9\)"):
        gg.select(dev(ids), dev(logp), dev(score[:, :-1]))
    with pytest.raises(ValueError, match=r"m_star has shape \(15,\)"):
        gg.select(dev(ids), dev(logp), dev(score), threshold="given", m_star=torch.zeros(15, device="cuda"))
    with pytest.raises(TypeError, match="a CUDA Guide takes torch CUDA tensors"):
        gg.select(ids, logp, score)
    x = torch.zeros((20000, 1000), device="cuda")
    with pytest.raises(ValueError, match=r"values has shape \(1, 1\)"):
        gg.vocab(x, torch.zeros((1, 1), device="cuda"), k=10, threshold="given",
                 m_star=torch.zeros(20000, device="cuda"))


# -- srs.thresholds, srs.shape, srs.evaluate, srs.write on tensors ------------------------


def bits(a):
    a = a.numpy() if isinstance(a, torch.Tensor) else a
    return np.ascontiguousarray(a, np.float64).view(np.uint64)


KW = dict(preset="paper-cd", B=15.0, beta=0.667)


@pytest.fixture
def data():
    rng = np.random.default_rng(11)
    return rng.normal(0, 1, (64, 12)), rng.normal(0, 1, (64, 12)), rng.normal(0, 1, (64, 12))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cpu_tensors_in_tensors_out_with_numpys_bits(data, dtype):
    u, lw, _ = data
    un, lwn = u.astype({torch.float32: np.float32, torch.float64: np.float64}[dtype]), lw
    m, be = srs.thresholds(torch.from_numpy(un), logw=torch.from_numpy(lwn), **KW)
    m0, be0 = srs.thresholds(un, logw=lwn, **KW)
    assert isinstance(m, torch.Tensor) and m.dtype == torch.float64 and m.shape == (64,) and m.device.type == "cpu"
    assert (bits(m) == bits(m0)).all() and (bits(be) == bits(be0)).all()
    sh, m2, _ = srs.shape(torch.from_numpy(un), logw=torch.from_numpy(lwn), design="soft", alpha=2.0, **KW)
    sh0, _, _ = srs.shape(un, logw=lwn, design="soft", alpha=2.0, **KW)
    assert isinstance(sh, torch.Tensor) and sh.shape == (64, 12) and (bits(sh) == bits(sh0)).all()
    assert (bits(m2) == bits(m0)).all()


def test_tensor_layouts_list_and_csr(data):
    u, lw, _ = data
    rows = [torch.from_numpy(r[: 1 + i % 12]) for i, r in enumerate(u)]
    lws = [torch.from_numpy(r[: 1 + i % 12]) for i, r in enumerate(lw)]
    sh, m, _ = srs.shape(rows, logw=lws, **KW)
    sh0, m0, _ = srs.shape([r.numpy() for r in rows], logw=[r.numpy() for r in lws], **KW)
    assert isinstance(sh, list) and all(isinstance(s, torch.Tensor) for s in sh)
    assert all((bits(a) == bits(b)).all() for a, b in zip(sh, sh0)) and (bits(m) == bits(m0)).all()
    flat, offs = torch.cat(rows), torch.tensor(np.cumsum([0] + [len(r) for r in rows]))
    sh2, m2, _ = srs.shape(flat, offsets=offs, logw=torch.cat(lws), **KW)
    assert sh2.shape == flat.shape and (bits(sh2) == bits(np.concatenate(sh0))).all()
    assert (bits(m2) == bits(m0)).all()


def test_a_contiguous_cpu_tensor_is_read_in_place(data):
    from srs import rows as R
    t = torch.from_numpy(data[0].astype(np.float32))
    assert R._layout(t, "rewards", None).data.ctypes.data == t.data_ptr()
    tt = t.T                                              # not contiguous: copied, same numbers
    assert R._layout(tt, "rewards", None).data.ctypes.data != tt.data_ptr()
    assert (bits(srs.thresholds(tt)[0]) == bits(srs.thresholds(tt.contiguous().numpy())[0])).all()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.int32, torch.int64])
def test_other_real_dtypes_become_float64(data, dtype):
    t = torch.from_numpy(data[0] * 8).to(dtype)
    m, _ = srs.thresholds(t, **KW)
    m0, _ = srs.thresholds(t.to(torch.float64).numpy(), **KW)
    assert (bits(m) == bits(m0)).all()


def test_gradients_are_not_tracked(data):
    t = torch.from_numpy(data[0]).requires_grad_()
    sh, m, _ = srs.shape(t, **KW)
    assert not sh.requires_grad and not m.requires_grad


def test_evaluate_and_write_take_tensors(tmp_path, data):
    u, lw, g = data
    kw = dict(beta=[0.5, 2.0], replicates=30, as_frame=False)
    got = srs.evaluate(torch.from_numpy(u), gold=torch.from_numpy(g), logw=torch.from_numpy(lw), **kw)
    want = srs.evaluate(u, gold=g, logw=lw, **kw)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert a.keys() == b.keys()
        for k in a:
            assert a[k] == b[k] or (a[k] != a[k] and b[k] != b[k]), k    # NaN == NaN here
    srs.write(tmp_path / "d.npy", torch.from_numpy(u), gold=torch.from_numpy(g))
    d = srs.read(tmp_path / "d.npy")
    assert (bits(d.rewards) == bits(u)).all() and (bits(d.gold) == bits(g)).all()


@pytest.mark.parametrize("t,exc,msg", [
    (lambda: torch.zeros((2, 3), device="meta"), TypeError, "must be a CPU or CUDA tensor"),
    (lambda: torch.zeros((2, 3), dtype=torch.complex64), TypeError, "must be real numbers"),
    (lambda: torch.zeros((2, 3), dtype=torch.bool), TypeError, "must be real numbers"),
    (lambda: torch.zeros(6), ValueError, "rewards must be 2-D"),
])
def test_bad_tensors(t, exc, msg):
    with pytest.raises(exc, match=msg):
        srs.thresholds(t())


def test_cuda_tensors_on_the_cuda_backend():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device: the CUDA tensor tests of thresholds, shape and evaluate are skipped")
    u = torch.randn((100, 16), dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    if not srs.cuda_compiled():
        with pytest.raises(srs.SrsError, match="no CUDA backend compiled in") as e:
            srs.thresholds(u.cuda())
        assert e.value.status == srs.ERR_UNSUPPORTED
        return
    m, be = srs.thresholds(u.cuda(), **KW)
    sh, _, _ = srs.shape(u.cuda(), **KW)
    assert m.is_cuda and sh.is_cuda and sh.shape == (100, 16)
    m0, _ = srs.thresholds(u, device="cpu", **KW)
    sh0, _, _ = srs.shape(u, device="cpu", **KW)
    np.testing.assert_allclose(m.cpu().numpy(), m0.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sh.cpu().numpy(), sh0.numpy(), rtol=1e-12, atol=1e-12)
    rows = srs.evaluate(u.cuda(), beta=1.0, replicates=20, as_frame=False)
    rows0 = srs.evaluate(u, beta=1.0, replicates=20, device="cpu", as_frame=False)
    np.testing.assert_allclose([r["proxy"] for r in rows], [r["proxy"] for r in rows0], rtol=1e-9)
