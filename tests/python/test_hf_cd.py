"""srs.hf.CDLogitsProcessor inside generate() on tiny float64 models: a
left-padded batch of 4 prompts equals the authors' batch-size-1 CD loop
(hf_reference.cd_loop: every candidate re-run in full, no cache) token for
token, with a critic on the candidates' own hidden states (the processor's
k-fold KV cache) and with a value head over the vocabulary; EOS and finished
rows; sampling from a seed. Float64 for the reason given in test_hf_args.py."""
import os
import sys

import pytest

torch = pytest.importorskip("torch", reason="torch is not installed: the transformers tests are skipped")
pytest.importorskip("transformers", reason="transformers is not installed: the transformers tests are skipped")

import srs.hf as hf  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import hf_reference as ref  # noqa: E402
from test_hf_args import (PROMPTS, STEP_TOL, Recorder, _first_step_diff, _two_steps,  # noqa: E402
                          check_steps, generate, left_pad)

STEPS = 6


@pytest.fixture(scope="module")
def setup():
    lm, _ = hf.tiny_models(dtype=torch.float64)
    torch.manual_seed(5)
    H = lm.config.hidden_size
    critic = torch.nn.Sequential(torch.nn.Linear(H, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)).double()
    for m in critic:
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.normal_(m.weight, std=1.0)
    head = torch.randn(H, lm.config.vocab_size, dtype=torch.float64)
    return lm, critic, head


def check_gap(runs):
    gap = min(g for _, g in runs)
    assert gap > 1e-4, "near-tie in the reference (gap %g)" % gap
    return [t for t, _ in runs]


def cd_reference(lm, steps=STEPS, **kw):
    """The reference's tokens and per-step traces of every prompt."""
    traces = [[] for _ in PROMPTS]
    toks = check_gap([ref.cd_loop(lm, p, steps, trace=tr, **kw) for p, tr in zip(PROMPTS, traces)])
    return toks, traces


def test_cd_critic_equals_batch1_loop(setup):
    lm, critic, _ = setup
    # the authors' k 10, T 0.7, lam 1.5, raw value
    proc = Recorder(hf.CDLogitsProcessor(critic, model=lm, eos_token_id=[]))
    got = generate(lm, proc, PROMPTS)
    want, traces = cd_reference(lm, critic=critic)
    assert got.tolist() == want
    check_steps(proc, traces)
    ids, mask = left_pad(PROMPTS)
    plain = lm.generate(input_ids=ids, attention_mask=mask, max_new_tokens=STEPS, do_sample=False,
                        pad_token_id=0, eos_token_id=[])[:, ids.shape[1]:]
    assert plain.tolist() != want                         # the critic changes the choice


CD_VARIANTS = [dict(T=1.0), dict(lam=0.5, k=4), dict(T=0.5, lam=3.0, k=6)]


@pytest.mark.parametrize("kw", CD_VARIANTS, ids=lambda kw: ",".join("%s=%s" % i for i in kw.items()))
def test_cd_step_scores_other_options(setup, kw):
    lm, critic, head = setup
    for value in (dict(critic=critic), dict(head=head)):
        arg = dict(value_model=critic) if "critic" in value else dict(value_head=head)
        proc = Recorder(hf.CDLogitsProcessor(model=lm, eos_token_id=[], **arg, **kw))
        got = generate(lm, proc, PROMPTS)
        want, traces = cd_reference(lm, **value, **kw)
        assert got.tolist() == want, (kw, list(value))
        check_steps(proc, traces)


def test_cd_reference_is_sensitive(setup):
    """A wrong T, lam or k changes the CD reference's step scores (or its
    candidate set) by far more than STEP_TOL; so does the value function."""
    lm, critic, head = setup
    base = cd_reference(lm, critic=critic)[1]
    for kw in (dict(T=0.8), dict(lam=1.6)):
        assert _first_step_diff(base, cd_reference(lm, critic=critic, **kw)[1]) > 50 * STEP_TOL, kw
    assert len(cd_reference(lm, critic=critic, k=9)[1][0][0][0]) == 9
    assert _first_step_diff(base, cd_reference(lm, head=head)[1]) > 50 * STEP_TOL


def test_cd_value_head_equals_batch1_loop(setup):
    lm, _, head = setup
    proc = Recorder(hf.CDLogitsProcessor(value_head=head, model=lm, eos_token_id=[]))
    got = generate(lm, proc, PROMPTS)
    want, traces = cd_reference(lm, head=head)
    assert got.tolist() == want
    check_steps(proc, traces)
    lin = torch.nn.Linear(head.shape[0], head.shape[1], bias=False).double()
    with torch.no_grad():
        lin.weight.copy_(head.t())
    again = generate(lm, hf.CDLogitsProcessor(value_head=lin, model=lm, eos_token_id=[]), PROMPTS)
    assert again.tolist() == got.tolist()


def test_cd_eos_finished_rows(setup):
    lm, critic, _ = setup
    base = check_gap([ref.cd_loop(lm, p, STEPS, critic=critic) for p in PROMPTS])
    eos = base[2][1]
    want = [ref.cd_loop(lm, p, STEPS, critic=critic, eos=eos)[0] for p in PROMPTS]
    assert len(want[2]) == 2
    got = generate(lm, hf.CDLogitsProcessor(critic, model=lm, eos_token_id=eos), PROMPTS, eos=eos)
    for i, w in enumerate(want):
        row = got[i].tolist()
        assert row[:len(w)] == w and all(t == 0 for t in row[len(w):]), (i, row, w)


def test_cd_decode_time_shaping_changes_and_sampling_seed(setup):
    lm, critic, _ = setup
    raw = generate(lm, hf.CDLogitsProcessor(critic, model=lm, eos_token_id=[]), PROMPTS).tolist()
    hard = generate(lm, hf.CDLogitsProcessor(critic, model=lm, design="hard", B=50.0, m_star=0.0,
                                              eos_token_id=[]),
                    PROMPTS).tolist()
    assert hard != raw

    def run(seed):
        torch.manual_seed(seed)
        return generate(lm, hf.CDLogitsProcessor(critic, model=lm, eos_token_id=[]), PROMPTS, do_sample=True,
                        temperature=1.0, top_k=0).tolist()

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_cd_bad_options(setup):
    lm, critic, head = setup
    with pytest.raises(ValueError, match="exactly one of value_model"):
        hf.CDLogitsProcessor(critic, value_head=head, model=lm)
    with pytest.raises(ValueError, match="model="):
        hf.CDLogitsProcessor(critic)


def test_cd_processor_reused_across_generate_calls(setup):
    """A processor reused for a new generate() call starts afresh (its cache
    is rebuilt) even when the new prompts are longer than the last output."""
    lm, critic, _ = setup
    proc = hf.CDLogitsProcessor(critic, model=lm, eos_token_id=[])
    generate(lm, proc, [[1, 5]] * 4, steps=2)
    got = generate(lm, proc, PROMPTS)
    want = generate(lm, hf.CDLogitsProcessor(critic, model=lm, eos_token_id=[]), PROMPTS)
    assert got.tolist() == want.tolist()


def test_cd_linear_head_bias_counts(setup):
    """An nn.Linear(H, vocab) value head with a bias: the bias is part of the
    value (the reference adds bias[v]); it changes the step scores."""
    lm, _, head = setup
    lin = torch.nn.Linear(head.shape[0], head.shape[1], bias=True).double()
    torch.manual_seed(9)
    with torch.no_grad():
        lin.weight.copy_(head.t())
        lin.bias.copy_(3.0 * torch.randn(head.shape[1], dtype=torch.float64))
    proc = Recorder(hf.CDLogitsProcessor(value_head=lin, model=lm, eos_token_id=[]))
    got = generate(lm, proc, PROMPTS)
    want, traces = cd_reference(lm, head=head, bias=lin.bias.detach())
    assert got.tolist() == want
    check_steps(proc, traces)
    assert _first_step_diff(traces, cd_reference(lm, head=head)[1]) > 50 * STEP_TOL


@pytest.mark.parametrize("mode", ["critic", "head"])
def test_cd_finished_row_called_directly(setup, mode):
    lm, critic, head = setup
    arg = dict(value_model=critic) if mode == "critic" else dict(value_head=head)
    proc = hf.CDLogitsProcessor(model=lm, eos_token_id=2, **arg)
    out = _two_steps(proc, 2)
    assert not torch.isnan(out).any()
    assert out[1, 2] == 0 and torch.isfinite(out[1]).sum() == 1
    for i in (0, 2, 3):
        assert torch.isfinite(out[i]).sum() == 10, i
    assert not torch.isnan(torch.softmax(out, dim=-1)).any()


def test_cd_padded_batch_needs_the_pad_id(setup):
    import copy
    lm, critic, _ = setup
    lm2 = copy.deepcopy(lm)
    lm2.config.pad_token_id = None
    proc = hf.CDLogitsProcessor(critic, model=lm2, eos_token_id=[])
    with pytest.raises(ValueError, match="pad_token_id is None and the batch has 4 rows"):
        generate(lm2, proc, PROMPTS)
    proc = hf.CDLogitsProcessor(critic, model=lm2, eos_token_id=[], pad_token_id=0)
    assert generate(lm2, proc, PROMPTS).tolist() == cd_reference(lm, critic=critic)[0]
