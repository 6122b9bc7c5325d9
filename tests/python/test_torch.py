"""PyTorch tensors: a CPU Guide refuses them with a hint; a CUDA Guide takes
CUDA tensors with the same checks and conversions as NumPy on the CPU, and
picks the CPU's tokens. Skipped without torch (CI does not install it: it is
large), the CUDA part also without a GPU."""
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
