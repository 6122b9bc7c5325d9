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


# -- CUDA tensors through the device API (srs_thresholds_device, srs_shape_device) --------


def cuda_rows_ready():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device: the device-API tests of thresholds and shape on CUDA tensors are skipped")
    if not srs.cuda_compiled():
        pytest.skip("libsrs has no CUDA backend compiled in: the device-API tests are skipped")


def refuse_host_copies(monkeypatch):
    """The host path's way of taking a tensor fails the test if it is used."""
    from srs import rows as R

    def refuse(t, name):
        raise AssertionError("%s went through host memory" % name)
    monkeypatch.setattr(R, "_from_torch", refuse)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("layout", ["dense", "ragged", "csr"])
def test_cuda_tensors_stay_on_the_device(data, dtype, layout, monkeypatch):
    cuda_rows_ready()
    u, lw, _ = data
    ut, lwt = torch.from_numpy(u).to(dtype), torch.from_numpy(lw).to(dtype)
    if layout == "dense":
        args, kw = (ut,), dict(logw=lwt)
    elif layout == "ragged":
        args = ([r[: 1 + i % 12] for i, r in enumerate(ut)],)
        kw = dict(logw=[r[: 1 + i % 12] for i, r in enumerate(lwt)])
    else:
        lens = [1 + i % 12 for i in range(64)]
        flat = torch.cat([r[:n] for r, n in zip(ut, lens)])
        args, kw = (flat,), dict(offsets=torch.tensor(np.cumsum([0] + lens)),
                                 logw=torch.cat([r[:n] for r, n in zip(lwt, lens)]))
    cuda = lambda x: [r.cuda() for r in x] if isinstance(x, list) else x.cuda()   # noqa: E731
    dargs, dkw = [cuda(a) for a in args], {k: cuda(v) for k, v in kw.items()}
    refuse_host_copies(monkeypatch)
    m, be = srs.thresholds(*dargs, **dkw, **KW)
    sh, m2, _ = srs.shape(*dargs, **dkw, design="soft", alpha=2.0, **KW)
    monkeypatch.undo()
    assert m.is_cuda and be.is_cuda and m.dtype == torch.float64 and m.shape == (64,)
    shl = sh if isinstance(sh, list) else [sh]
    assert all(s.is_cuda and s.dtype == torch.float64 for s in shl)
    # the same kernels as the host path on the CUDA backend: the same bits
    host = dict(kw)
    m0, be0 = srs.thresholds(*args, device="cuda", **host, **KW)
    sh0, _, _ = srs.shape(*args, device="cuda", design="soft", alpha=2.0, **host, **KW)
    assert (bits(m.cpu()) == bits(m0)).all() and (bits(be.cpu()) == bits(be0)).all()
    assert (bits(m2.cpu()) == bits(m0)).all()
    if isinstance(sh, list):
        assert [tuple(s.shape) for s in sh] == [tuple(s.shape) for s in sh0]
        assert all((bits(a.cpu()) == bits(b)).all() for a, b in zip(sh, sh0))
    else:
        assert sh.shape == sh0.shape and (bits(sh.cpu()) == bits(sh0)).all()
    # and the CPU's numbers to 1e-12 of the row's range
    m1, _ = srs.thresholds(*args, device="cpu", **host, **KW)
    np.testing.assert_allclose(m.cpu().numpy(), m1.numpy(), rtol=0, atol=1e-12 * 8)


def test_cuda_tensors_on_a_side_stream(data):
    cuda_rows_ready()
    u = torch.from_numpy(data[0]).cuda()
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())   # u is ready on s
    with torch.cuda.stream(s):
        x = u * 3                    # queued on s: the library must run after it, on s
        m, _ = srs.thresholds(x, **KW)
    s.synchronize()
    m0, _ = srs.thresholds(data[0] * 3, device="cpu", **KW)
    np.testing.assert_allclose(m.cpu().numpy(), m0, rtol=0, atol=1e-11)


def test_cuda_bad_rows_name_the_row_as_on_the_cpu(data):
    cuda_rows_ready()
    u = data[0].copy()
    u[37, 5] = np.nan
    u[50, 0] = np.inf
    with pytest.raises(srs.SrsError) as e0:
        srs.thresholds(u, device="cpu")
    with pytest.raises(srs.SrsError) as e1:
        srs.thresholds(torch.from_numpy(u).cuda())
    assert e1.value.row == 37 == e0.value.row and str(e1.value) == str(e0.value)
    assert e1.value.status == srs.ERR_BAD_INPUT
    # an empty row of a list
    rows = [torch.ones(3, device="cuda"), torch.ones(0, device="cuda"), torch.ones(2, device="cuda")]
    with pytest.raises(srs.SrsError, match="row 1: empty row") as e2:
        srs.shape(rows)
    assert e2.value.row == 1


def test_cuda_tensor_arguments_are_checked(data):
    cuda_rows_ready()
    u = torch.from_numpy(data[0]).cuda()
    with pytest.raises(ValueError, match="logw is on cpu, rewards on cuda"):
        srs.thresholds(u, logw=torch.from_numpy(data[1]))
    with pytest.raises(ValueError, match=r"logw must have the layout of rewards: shape \(64, 12\)"):
        srs.thresholds(u, logw=u[:, :-1])
    flat = u.reshape(-1)
    with pytest.raises(ValueError, match="offsets must start at 0, end at len"):
        srs.thresholds(flat, offsets=torch.tensor([0, 5, 700], device="cuda"))
    with pytest.raises(srs.SrsError, match="offsets decrease at row 1"):
        srs.thresholds(flat, offsets=torch.tensor([0, 500, 400, 768], device="cuda"))
    with pytest.raises(TypeError, match="offsets must be integers"):
        srs.thresholds(flat, offsets=torch.tensor([0.0, 768.0], device="cuda"))
    with pytest.raises(srs.SrsError, match="max_iter") as e:
        srs.thresholds(u, solver="bisect", max_iter=3)
    assert e.value.status == srs.ERR_UNSUPPORTED
    # a non-contiguous view and a half tensor are converted on the device: the same numbers
    m, _ = srs.thresholds(u.T.contiguous().T, **KW)
    m0, _ = srs.thresholds(data[0], device="cpu", **KW)
    np.testing.assert_allclose(m.cpu().numpy(), m0, rtol=0, atol=1e-12 * 8)
    mh, _ = srs.thresholds(u.half(), **KW)
    mh0, _ = srs.thresholds(torch.from_numpy(data[0]).half(), device="cpu", **KW)
    np.testing.assert_allclose(mh.cpu().numpy(), mh0.numpy(), rtol=0, atol=1e-12 * 8)
    # device="cpu": the explicit host round trip, results back on the device
    mc, _ = srs.thresholds(u, device="cpu", **KW)
    assert mc.is_cuda and (bits(mc.cpu()) == bits(m0)).all()



def test_cuda_tensor_layer_on_cpu_tensors(data, monkeypatch):
    """The Python layer of the CUDA-tensor path (layouts, checks, results in
    the layout of the input), run here on CPU tensors with the host API in
    place of the device API (the pointers are then host pointers): every
    layout must give the host path's bits. The GPU tests above run the real
    thing."""
    from srs import rows as R
    u, lw, _ = data
    if not srs.cuda_compiled():       # no CUDA backend: CUDA tensors are refused, never copied
        with pytest.raises(srs.SrsError, match="no CUDA backend compiled in") as e:
            R._cuda_run(torch.from_numpy(u), None, None, R._topts("exact", 1, 1, 2, "exact", 1e-12, 0), None, 0)
        assert e.value.status == srs.ERR_UNSUPPORTED
        return
    cpu = R._context("cpu", 0)
    lib = cpu.lib

    class HostForDevice:
        def srs_thresholds_device(self, ctx, b, o, m, be, stream):
            assert stream == 1234
            return lib.srs_thresholds(ctx, b, o, m, be)

        def srs_shape_device(self, ctx, b, o, so, m, be, sh, dt, stream):
            assert stream == 1234
            return lib.srs_shape(ctx, b, o, so, m, be, sh, dt)

    class Ctx:
        ptr, lib, check = cpu.ptr, HostForDevice(), cpu.check
    monkeypatch.setattr(R, "_context", lambda device, threads: Ctx() if device == "cuda" else cpu)
    monkeypatch.setattr(R, "_current_stream", lambda dev: 1234)
    lens = [i % 12 + 1 for i in range(64)]
    for dt in (torch.float32, torch.float64, torch.float16):
        ut, lwt = torch.from_numpy(u).to(dt), torch.from_numpy(lw).to(dt)
        rows, lws = [r[:n] for r, n in zip(ut, lens)], [r[:n] for r, n in zip(lwt, lens)]
        offs = torch.tensor(np.cumsum([0] + lens))
        cases = [((ut,), dict(logw=lwt)), ((ut.T.contiguous().T,), {}), ((rows,), dict(logw=lws)),
                 ((torch.cat(rows),), dict(offsets=offs, logw=torch.cat(lws))),
                 ((torch.cat(rows),), dict(offsets=offs.numpy().astype(np.int32)))]
        for args, kw in cases:
            m, be = R._cuda_run(*args, kw.get("logw"), kw.get("offsets"), R._topts("paper-cd", 15.0, 0.667, 2.0,
                                                                               "exact", 1e-12, 0), None, 0)
            sh, m2, _ = R._cuda_run(*args, kw.get("logw"), kw.get("offsets"),
                                    R._topts("paper-cd", 15.0, 0.667, 2.0, "exact", 1e-12, 0),
                                    R._ShapeOpts(2, 2.0, -1.0), 0)
            m0, be0 = srs.thresholds(*args, device="cpu", **kw, **KW)
            sh0, _, _ = srs.shape(*args, device="cpu", design="soft", alpha=2.0, **kw, **KW)
            assert (bits(m) == bits(m0)).all() and (bits(be) == bits(be0)).all() and (bits(m2) == bits(m0)).all()
            if isinstance(sh0, list):
                assert isinstance(sh, list) and [len(s) for s in sh] == lens
                assert all((bits(a) == bits(b)).all() for a, b in zip(sh, sh0))
            else:
                assert sh.shape == sh0.shape and (bits(sh) == bits(sh0)).all()
    # the checks of the CUDA path
    flat = torch.from_numpy(u).reshape(-1)
    with pytest.raises(ValueError, match="offsets must start at 0, end at len"):
        R._cuda_run(flat, None, torch.tensor([0, 5, 700]), R._topts("exact", 1, 1, 2, "exact", 1e-12, 0), None, 0)
    with pytest.raises(ValueError, match=r"logw must have the layout of rewards: shape \(64, 12\)"):
        R._cuda_run(torch.from_numpy(u), torch.from_numpy(lw)[:, :-1], None,
                    R._topts("exact", 1, 1, 2, "exact", 1e-12, 0), None, 0)
    with pytest.raises(ValueError, match=r"logw must have the layout of rewards: 64 rows"):
        R._cuda_run(rows, lws[:-1] + [lws[-1][:-1]], None, R._topts("exact", 1, 1, 2, "exact", 1e-12, 0), None, 0)
    with pytest.raises(TypeError, match="logw must be a CUDA tensor"):
        R._cuda_run(torch.from_numpy(u), lw, None, R._topts("exact", 1, 1, 2, "exact", 1e-12, 0), None, 0)
    with pytest.raises(srs.SrsError, match="row 3: empty row") as e:
        R._cuda_run([torch.ones(2)] * 3 + [torch.ones(0)], None, None, R._topts("exact", 1, 1, 2, "exact", 1e-12, 0),
                    None, 0)
    assert e.value.row == 3
