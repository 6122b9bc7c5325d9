"""srs.hf.ARGSLogitsProcessor inside transformers' generate(), on tiny random
models built from configs (nothing downloaded): a left-padded batch of 4
prompts of different lengths gives, token for token, what the authors'
batch-size-1 loop (hf_reference.py) gives each prompt alone, for every design.

Why the greedy comparison is robust to float noise: the models are float64
(padding, attention masks and position ids change a score by ~1e-15, not by
float32's ~1e-7), the processor's reward batches are left-padded with position
ids counted from each sequence's first real token, and each case checks that
the reference's chosen fused score beats the runner-up by far more than the
float32 rounding of libsrs's fused scores (1e-5 relative); a tie there would
fail loudly rather than flip silently."""
import os
import sys

import pytest

torch = pytest.importorskip("torch", reason="torch is not installed: the transformers tests are skipped")
pytest.importorskip("transformers", reason="transformers is not installed: the transformers tests are skipped")

from transformers import LogitsProcessorList  # noqa: E402

import srs.hf as hf  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import hf_reference as ref  # noqa: E402

PROMPTS = [[1, 17, 33, 9], [1, 5], [1, 44, 12, 80, 61, 7, 23], [1, 90, 3]]
STEPS = 6


@pytest.fixture(scope="module")
def models():
    return hf.tiny_models(dtype=torch.float64)


def left_pad(prompts, pad=0):
    n = max(len(p) for p in prompts)
    ids = torch.tensor([[pad] * (n - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (n - len(p)) + [1] * len(p) for p in prompts])
    return ids, mask


def generate(lm, proc, prompts, steps=STEPS, eos=None, **kw):
    ids, mask = left_pad(prompts)
    out = lm.generate(input_ids=ids, attention_mask=mask, logits_processor=LogitsProcessorList([proc]),
                      max_new_tokens=steps, min_new_tokens=0, pad_token_id=0,
                      eos_token_id=eos if eos is not None else [], do_sample=kw.pop("do_sample", False), **kw)
    return out[:, ids.shape[1]:]


DESIGNS = ["soft", "hard", "raw", "minmax", "meanstd", "cap", "meansoft"]


_REF = {}


def reference_run(lm, rm, design, eos=None, steps=STEPS, **kw):
    """The reference's tokens and per-step traces (candidates, normalised
    fused scores) of every prompt, cached."""
    key = (design, eos, steps, tuple(sorted(kw.items())))
    if key not in _REF:
        traces = [[] for _ in PROMPTS]
        runs = [ref.args_loop(lm, rm, p, steps, design=design, eos=eos, trace=tr, **kw)
                for p, tr in zip(PROMPTS, traces)]
        gap = min(g for _, g in runs)
        assert gap > 1e-4, "near-tie in the reference (gap %g): the comparison would hang on rounding" % gap
        _REF[key] = ([toks for toks, _ in runs], traces)
    return _REF[key]


def reference(lm, rm, design, eos=None, steps=STEPS, **kw):
    return reference_run(lm, rm, design, eos, steps, **kw)[0]


class Recorder:
    """Wraps a logits processor: keeps what it returns at every step."""

    def __init__(self, proc):
        self.proc, self.out = proc, []

    def __call__(self, input_ids, scores):
        out = self.proc(input_ids, scores)
        self.out.append(out.detach().clone())
        return out


# libsrs returns the fused scores in float32: |fused| < 20 here, so a few
# float32 ulps (2e-6 each) plus the float32 rounding of its inputs; a wrong
# lam, B, alpha, k, T or design moves them by 1e-3 or more (test_*_sensitive)
STEP_TOL = 2e-5


def check_steps(rec, traces):
    """At every step, every row: the processor's output is finite exactly at
    the reference's candidates, and equals its fused scores there."""
    worst = 0.0
    for i, tr in enumerate(traces):
        for t, (cand, want) in enumerate(tr):
            out = rec.out[t][i]
            assert sorted(torch.isfinite(out).nonzero().flatten().tolist()) == sorted(cand.tolist()), (i, t)
            err = float((out[cand].to(torch.float64) - want).abs().max())
            assert err <= STEP_TOL, "prompt %d step %d: fused scores off by %g" % (i, t, err)
            worst = max(worst, err)
    return worst


@pytest.mark.parametrize("design", DESIGNS)
def test_args_generate_equals_batch1_loop(models, design):
    lm, rm = models
    proc = Recorder(hf.ARGSLogitsProcessor(rm, pad_token_id=0, k=10, design=design))  # B 12, alpha 1.5, lam 0.5
    got = generate(lm, proc, PROMPTS)
    want, traces = reference_run(lm, rm, design)
    for i in range(len(PROMPTS)):
        assert got[i].tolist() == want[i], "prompt %d, design %s" % (i, design)
    check_steps(proc, traces)


# options other than the paper's: a small B (below 1.01 x the candidates'
# reward range, so B_eff = B), other alpha, lam and k
VARIANTS = [dict(design="soft", B=0.5), dict(design="soft", alpha=3.0, lam=1.0), dict(design="hard", k=5),
            dict(design="meansoft", B=2.0, alpha=0.7, lam=0.8), dict(design="minmax", B=0.5, k=7)]


@pytest.mark.parametrize("kw", VARIANTS, ids=lambda kw: ",".join("%s=%s" % i for i in kw.items()))
def test_args_step_scores_other_options(models, kw):
    lm, rm = models
    proc = Recorder(hf.ARGSLogitsProcessor(rm, pad_token_id=0, **kw))
    got = generate(lm, proc, PROMPTS)
    want, traces = reference_run(lm, rm, **kw)
    assert got.tolist() == want
    check_steps(proc, traces)


def _first_step_diff(a, b):
    """Largest difference of two references' normalised fused scores at the
    first step (same prefix), over the candidates they share."""
    worst = 0.0
    for (ca, fa), (cb, fb) in zip([t[0] for t in a], [t[0] for t in b]):
        common = [c for c in ca.tolist() if c in cb.tolist()]
        va = fa[[ca.tolist().index(c) for c in common]]
        vb = fb[[cb.tolist().index(c) for c in common]]
        worst = max(worst, float((va - vb).abs().max()))
    return worst


def test_args_reference_is_sensitive(models):
    """The step-level comparison can tell a wrong design, lam, B, alpha or k:
    each changes the reference's fused scores by far more than STEP_TOL."""
    lm, rm = models
    base = reference_run(lm, rm, "soft")[1]
    for d in DESIGNS[1:]:
        assert _first_step_diff(base, reference_run(lm, rm, d)[1]) > 50 * STEP_TOL, d
    for kw in (dict(lam=0.6), dict(alpha=2.0), dict(B=0.5), dict(k=5)):
        assert _first_step_diff(base, reference_run(lm, rm, "soft", **kw)[1]) > 50 * STEP_TOL, kw
    # B 12 binds for meansoft (B sigma(.)), whatever the reward range
    assert _first_step_diff(reference_run(lm, rm, "meansoft")[1],
                            reference_run(lm, rm, "meansoft", B=11.0)[1]) > 50 * STEP_TOL


def test_guidance_changes_the_output(models):
    """The reward model matters here: plain greedy decoding differs."""
    lm, rm = models
    ids, mask = left_pad(PROMPTS)
    plain = lm.generate(input_ids=ids, attention_mask=mask, max_new_tokens=STEPS, do_sample=False,
                        pad_token_id=0, eos_token_id=[])[:, ids.shape[1]:]
    assert plain.tolist() != reference(lm, rm, "soft")


def test_chunked_reward_batches(models):
    """max_batch_tokens small enough that every reward forward holds one
    sequence: the same tokens."""
    lm, rm = models
    proc = hf.ARGSLogitsProcessor(rm, pad_token_id=0, k=10, max_batch_tokens=1)
    assert generate(lm, proc, PROMPTS).tolist() == reference(lm, rm, "soft")


def test_eos_and_finished_rows(models):
    """EOS = a token the reference emits at step 2 of prompt 1: that row
    finishes early and is padded (pad id 0) while the others go on; the others
    are unchanged."""
    lm, rm = models
    base = reference(lm, rm, "soft")
    eos = base[1][2]
    want = reference(lm, rm, "soft", eos=eos)
    proc = hf.ARGSLogitsProcessor(rm, pad_token_id=0, k=10, eos_token_id=eos)
    got = generate(lm, proc, PROMPTS, eos=eos)
    assert len(want[1]) == 3
    for i, w in enumerate(want):
        row = got[i].tolist()
        assert row[:len(w)] == w, "prompt %d" % i
        assert all(t == 0 for t in row[len(w):]), "prompt %d: after EOS %s" % (i, row)
    assert proc.steps == got.shape[1]


def test_sampling_reproducible_from_seed(models):
    lm, rm = models

    def run(seed):
        torch.manual_seed(seed)
        proc = hf.ARGSLogitsProcessor(rm, pad_token_id=0, k=10)
        return generate(lm, proc, PROMPTS, do_sample=True, temperature=0.7, top_k=0).tolist()

    a, b, c = run(3), run(3), run(4)
    assert a == b
    assert a != c


def test_rewards_pad_token_as_a_real_token(models):
    """A candidate equal to the pad id (and left padding around it) scores as
    the sequence alone: the batch goes in as embeddings, pooled at the end."""
    lm, rm = models
    proc = hf.ARGSLogitsProcessor(rm, pad_token_id=0, k=3)
    ids, _ = left_pad(PROMPTS)
    proc._begin(ids)
    cand = torch.tensor([[0, 5, 7]] * len(PROMPTS))
    got = proc.rewards(ids, proc._left_pads(ids), cand)
    for i, p in enumerate(PROMPTS):
        seqs = torch.cat([torch.tensor([p] * 3), cand[i].view(3, 1)], dim=1)
        torch.testing.assert_close(got[i], ref.score_last(rm, seqs), rtol=1e-10, atol=1e-10)


def test_perturbations(models):
    lm, rm = models
    r = torch.arange(5, dtype=torch.float64)
    assert torch.equal(hf.perturb(r, "reversed"), -r)
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    assert torch.equal(hf.perturb(r, "noise", 0.5, g1), hf.perturb(r, "noise", 0.5, g2))
    assert not torch.equal(hf.perturb(r, "noise", 0.5, g1), r)
    assert float(hf.perturb(torch.zeros(20000, dtype=torch.float64), "random", generator=g1).std()) \
        == pytest.approx(5.0, rel=0.03)
    assert hf.ARGSLogitsProcessor(rm, perturb="noise", noise_var=0.25).noise_std == 0.5   # a variance
    with pytest.raises(ValueError, match="noise_var must be >= 0"):
        hf.ARGSLogitsProcessor(rm, perturb="noise", noise_var=-1.0)
    with pytest.raises(ValueError, match="perturb must be one of"):
        hf.ARGSLogitsProcessor(rm, pad_token_id=0, perturb="flip")
    # reversed rewards change the tokens (the reward model drives the choice)
    proc = hf.ARGSLogitsProcessor(rm, pad_token_id=0, k=10, perturb="reversed")
    assert generate(lm, proc, PROMPTS).tolist() != reference(lm, rm, "soft")


def test_bad_options(models):
    _, rm = models
    with pytest.raises(ValueError, match="k must be an integer"):
        hf.ARGSLogitsProcessor(rm, pad_token_id=0, k=0)
    with pytest.raises(ValueError, match="design must be one of"):
        hf.ARGSLogitsProcessor(rm, pad_token_id=0, design="bogus")
    with pytest.raises(ValueError, match="baselines must be one of"):
        hf.ARGSLogitsProcessor(rm, pad_token_id=0, baselines="theirs")

    with pytest.raises(ValueError, match="give both tokenizer and reward_tokenizer"):
        hf.ARGSLogitsProcessor(rm, pad_token_id=0, tokenizer=word_tokenizer(list(range(100))))
    a, b = word_tokenizer(list(range(100))), word_tokenizer(PERM)
    with pytest.raises(ValueError, match="reward_cache needs"):
        hf.ARGSLogitsProcessor(rm, pad_token_id=0, tokenizer=a, reward_tokenizer=b, reward_cache=True)


WORDS = ["<pad>", "<s>", "</s>"] + ["w%d" % i for i in range(3, 100)]
PERM = [0] + list(range(99, 0, -1))      # the reward tokenizer's id of each word (pad stays 0)


def word_tokenizer(ids):
    """A word-level tokenizer over WORDS with the given ids (nothing downloaded)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast
    t = Tokenizer(models.WordLevel({w: i for w, i in zip(WORDS, ids)}, unk_token="<pad>"))
    t.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=t, pad_token="<pad>", bos_token="<s>", eos_token="</s>")


def permuted_reward_model(rm):
    """A copy of rm over the vocabulary permuted by PERM: its embedding rows
    moved so that word w's row sits at PERM[w]."""
    import copy
    rm2 = copy.deepcopy(rm)
    with torch.no_grad():
        emb = rm.get_input_embeddings().weight
        new = torch.empty_like(emb)
        new[torch.tensor(PERM)] = emb
        rm2.get_input_embeddings().weight.copy_(new)
    return rm2


def test_reward_model_with_another_vocabulary(models):
    """A reward model over a permuted vocabulary (its embedding rows permuted
    to match) with the tokenizer pair re-tokenising the text scores exactly as
    the original one on the ids, so generate() gives the reference's tokens."""
    lm, rm = models
    rm2 = permuted_reward_model(rm)
    a, b = word_tokenizer(list(range(100))), word_tokenizer(PERM)
    keep = dict(skip_special_tokens=False)
    proc = hf.ARGSLogitsProcessor(rm2, pad_token_id=0, k=10, tokenizer=a, reward_tokenizer=b, decode_kwargs=keep,
                                  encode_kwargs=dict(add_special_tokens=False), max_batch_tokens=64)
    assert generate(lm, proc, PROMPTS).tolist() == reference(lm, rm, "soft")
    # without the tokenizers the permuted model is another reward model
    other = hf.ARGSLogitsProcessor(rm2, pad_token_id=0, k=10)
    assert generate(lm, other, PROMPTS).tolist() != reference(lm, rm, "soft")


def test_fewer_finite_scores_than_k(models):
    """Rows with fewer than k finite scores (another processor's -inf): the
    output is finite exactly at the finite entries, token 0 among them."""
    _, rm = models
    proc = hf.ARGSLogitsProcessor(rm, pad_token_id=0, k=10)
    ids, _ = left_pad(PROMPTS)
    scores = torch.full((4, 100), -float("inf"), dtype=torch.float64)
    keep = [0, 7, 42]
    scores[:, keep] = torch.tensor([0.5, 0.1, -0.3], dtype=torch.float64)
    out = proc(ids, scores)
    for i in range(4):
        assert torch.isfinite(out[i]).nonzero().flatten().tolist() == keep


@pytest.mark.parametrize("design", ["soft", "meanstd"])
def test_reward_cache_equals_batch1_loop(models, design):
    """reward_cache=True (the reward model's k-fold KV cache) gives the
    reference's tokens too, with and without finished rows."""
    lm, rm = models
    got = generate(lm, hf.ARGSLogitsProcessor(rm, pad_token_id=0, k=10, design=design, reward_cache=True), PROMPTS)
    assert got.tolist() == reference(lm, rm, design)
    base = reference(lm, rm, "soft")
    eos = base[1][2]
    want = reference(lm, rm, "soft", eos=eos)
    proc = hf.ARGSLogitsProcessor(rm, pad_token_id=0, k=10, eos_token_id=eos, reward_cache=True)
    got = generate(lm, proc, PROMPTS, eos=eos)
    for i, w in enumerate(want):
        row = got[i].tolist()
        assert row[:len(w)] == w and all(t == 0 for t in row[len(w):]), (i, row, w)


@pytest.mark.parametrize("kind", ["args", "cd"])
def test_draw_is_batch_independent(models, kind):
    """draw=True: libsrs samples each row from its own seed, so a row gives
    the same tokens in the batch of 4 as alone, whatever torch's seed; other
    seeds give other tokens."""
    lm, rm = models
    torch.manual_seed(0)
    critic = torch.nn.Sequential(torch.nn.Linear(32, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()

    def proc(seeds):
        if kind == "args":
            return hf.ARGSLogitsProcessor(rm, pad_token_id=0, k=10, draw=True, tau=1.0, seeds=seeds)
        return hf.CDLogitsProcessor(critic, model=lm, eos_token_id=[], draw=True, tau=1.0, seeds=seeds)

    seeds = [11, 12, 13, 14]
    torch.manual_seed(1)
    batch = generate(lm, proc(seeds), PROMPTS).tolist()
    for i, p in enumerate(PROMPTS):
        torch.manual_seed(100 + i)
        alone = generate(lm, proc([seeds[i]]), [p]).tolist()[0]
        assert alone == batch[i], i
    assert generate(lm, proc([21, 22, 23, 24]), PROMPTS).tolist() != batch
    assert generate(lm, proc(11), PROMPTS).tolist()[0] == batch[0]     # s + i


def test_padded_batch_needs_the_pad_id(models):
    """A logits processor is not given the attention mask: without a pad id
    a batch of more than one row raises (it cannot tell pads from text) ...
    """
    lm, rm = models
    proc = hf.ARGSLogitsProcessor(rm, k=10)               # no pad_token_id, no tokenizer
    assert proc.pad_token_id is None                      # not taken from the reward model's config
    with pytest.raises(ValueError, match="pad_token_id is None and the batch has 4 rows"):
        generate(lm, proc, PROMPTS)
    # ... while one row has no padding to find
    want = reference(lm, rm, "soft")
    assert generate(lm, hf.ARGSLogitsProcessor(rm, k=10), [PROMPTS[2]]).tolist() == [want[2]]


def test_lm_pad_id_is_not_the_reward_models(models):
    """The prompts are padded with the language model's pad id (here 3),
    which differs from the reward model's (0): the processor strips the LM's
    pads and still gives the reference's tokens."""
    lm, rm = models
    ids, mask = left_pad(PROMPTS, pad=3)
    proc = hf.ARGSLogitsProcessor(rm, k=10, pad_token_id=3)
    out = lm.generate(input_ids=ids, attention_mask=mask, logits_processor=LogitsProcessorList([proc]),
                      max_new_tokens=STEPS, pad_token_id=3, eos_token_id=[], do_sample=False)
    assert out[:, ids.shape[1]:].tolist() == reference(lm, rm, "soft")


def _two_steps(proc, eos, vocab=100):
    """Calls proc directly: a first step on the padded prompts, then a second
    where row 1's new token is EOS (finished) and the others are not."""
    ids, _ = left_pad(PROMPTS)
    g = torch.Generator().manual_seed(0)
    proc(ids, torch.randn(len(PROMPTS), vocab, generator=g, dtype=torch.float64))
    new = torch.tensor([[5], [eos], [7], [9]])
    ids2 = torch.cat([ids, new], dim=1)
    return proc(ids2, torch.randn(len(PROMPTS), vocab, generator=g, dtype=torch.float64))


@pytest.mark.parametrize("cache", [False, True])
def test_finished_row_called_directly(models, cache):
    """A finished row (last token EOS) gets 0 at EOS and -inf elsewhere, no
    NaN; the other rows get k finite scores; softmax of the output is a
    distribution for every row (what sampling draws from)."""
    _, rm = models
    eos = 2
    proc = hf.ARGSLogitsProcessor(rm, pad_token_id=0, k=10, eos_token_id=eos, reward_cache=cache)
    out = _two_steps(proc, eos)
    assert not torch.isnan(out).any()
    assert out[1, eos] == 0 and torch.isfinite(out[1]).sum() == 1
    for i in (0, 2, 3):
        assert torch.isfinite(out[i]).sum() == 10, i
    p = torch.softmax(out, dim=-1)
    assert not torch.isnan(p).any() and torch.allclose(p.sum(-1), torch.ones(4, dtype=p.dtype))
    assert p[1, eos] == 1


def test_sampling_with_finished_rows(models):
    """Sampling (do_sample, temperature) where rows finish at different
    steps: every step's processed scores give NaN-free probabilities, finished
    rows are padded, and the run is reproducible from the seed."""
    lm, rm = models

    def run(eos):
        torch.manual_seed(7)
        ids, mask = left_pad(PROMPTS)
        rec = Recorder(hf.ARGSLogitsProcessor(rm, pad_token_id=0, k=10, eos_token_id=eos))
        out = lm.generate(input_ids=ids, attention_mask=mask, logits_processor=LogitsProcessorList([rec]),
                          max_new_tokens=STEPS, pad_token_id=0, eos_token_id=eos if eos is not None else [],
                          do_sample=True, temperature=0.7, top_k=0)
        return out[:, ids.shape[1]:], rec

    free, _ = run(None)
    eos = int(free[1, 1])                 # a token row 1 samples at step 1: with it as EOS a row finishes
    got, rec = run(eos)
    finished = [i for i in range(4) if eos in got[i, :-1].tolist()]
    assert finished, got
    for t, out in enumerate(rec.out):
        p = torch.softmax(out / 0.7, dim=-1)
        assert not torch.isnan(p).any(), t
    for i in finished:
        row = got[i].tolist()
        assert all(v == 0 for v in row[row.index(eos) + 1:]), row
    assert run(eos)[0].tolist() == got.tolist()


def test_eos_ids_accept_numpy_integers(models):
    import numpy as np
    _, rm = models
    for e in (np.int64(2), np.int32(2), [np.int64(2), 5], np.array([2, 5]), torch.tensor([2, 5]), 2):
        assert hf.ARGSLogitsProcessor(rm, pad_token_id=0, eos_token_id=e).eos[0] == 2, e
    with pytest.raises(ValueError, match="eos_token_id must be integers"):
        hf.ARGSLogitsProcessor(rm, pad_token_id=0, eos_token_id=[2.5])
