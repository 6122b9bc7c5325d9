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
from test_hf_args import PROMPTS, generate, left_pad  # noqa: E402

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


def test_cd_critic_equals_batch1_loop(setup):
    lm, critic, _ = setup
    # the authors' k 10, T 0.7, lam 1.5, raw value
    proc = hf.CDLogitsProcessor(critic, model=lm, eos_token_id=[])
    got = generate(lm, proc, PROMPTS)
    want = check_gap([ref.cd_loop(lm, p, STEPS, critic=critic) for p in PROMPTS])
    assert got.tolist() == want
    ids, mask = left_pad(PROMPTS)
    plain = lm.generate(input_ids=ids, attention_mask=mask, max_new_tokens=STEPS, do_sample=False,
                        pad_token_id=0, eos_token_id=[])[:, ids.shape[1]:]
    assert plain.tolist() != want                         # the critic changes the choice


def test_cd_value_head_equals_batch1_loop(setup):
    lm, _, head = setup
    proc = hf.CDLogitsProcessor(value_head=head, model=lm, eos_token_id=[])
    got = generate(lm, proc, PROMPTS)
    assert got.tolist() == check_gap([ref.cd_loop(lm, p, STEPS, head=head) for p in PROMPTS])
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
