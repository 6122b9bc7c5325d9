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


def reference(lm, rm, design, eos=None, steps=STEPS):
    key = (design, eos, steps)
    if key not in _REF:
        runs = [ref.args_loop(lm, rm, p, steps, design=design, eos=eos) for p in PROMPTS]
        gap = min(g for _, g in runs)
        assert gap > 1e-4, "near-tie in the reference (gap %g): the comparison would hang on rounding" % gap
        _REF[key] = [toks for toks, _ in runs]
    return _REF[key]


@pytest.mark.parametrize("design", DESIGNS)
def test_args_generate_equals_batch1_loop(models, design):
    lm, rm = models
    proc = hf.ARGSLogitsProcessor(rm, k=10, design=design)   # the paper's B 12, alpha 1.5, lam 0.5
    got = generate(lm, proc, PROMPTS)
    want = reference(lm, rm, design)
    for i in range(len(PROMPTS)):
        assert got[i].tolist() == want[i], "prompt %d, design %s" % (i, design)


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
    proc = hf.ARGSLogitsProcessor(rm, k=10, max_batch_tokens=1)
    assert generate(lm, proc, PROMPTS).tolist() == reference(lm, rm, "soft")


def test_eos_and_finished_rows(models):
    """EOS = a token the reference emits at step 2 of prompt 1: that row
    finishes early and is padded (pad id 0) while the others go on; the others
    are unchanged."""
    lm, rm = models
    base = reference(lm, rm, "soft")
    eos = base[1][2]
    want = reference(lm, rm, "soft", eos=eos)
    proc = hf.ARGSLogitsProcessor(rm, k=10, eos_token_id=eos)
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
        proc = hf.ARGSLogitsProcessor(rm, k=10)
        return generate(lm, proc, PROMPTS, do_sample=True, temperature=0.7, top_k=0).tolist()

    a, b, c = run(3), run(3), run(4)
    assert a == b
    assert a != c


def test_rewards_pad_token_as_a_real_token(models):
    """A candidate equal to the pad id (and left padding around it) scores as
    the sequence alone: the batch goes in as embeddings, pooled at the end."""
    lm, rm = models
    proc = hf.ARGSLogitsProcessor(rm, k=3)
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
    with pytest.raises(ValueError, match="perturb must be one of"):
        hf.ARGSLogitsProcessor(rm, perturb="flip")
    # reversed rewards change the tokens (the reward model drives the choice)
    proc = hf.ARGSLogitsProcessor(rm, k=10, perturb="reversed")
    assert generate(lm, proc, PROMPTS).tolist() != reference(lm, rm, "soft")


def test_bad_options(models):
    _, rm = models
    with pytest.raises(ValueError, match="k must be an integer"):
        hf.ARGSLogitsProcessor(rm, k=0)
    with pytest.raises(ValueError, match="design must be one of"):
        hf.ARGSLogitsProcessor(rm, design="bogus")
    with pytest.raises(ValueError, match="baselines must be one of"):
        hf.ARGSLogitsProcessor(rm, baselines="theirs")

    with pytest.raises(ValueError, match="give both tokenizer and reward_tokenizer"):
        hf.ARGSLogitsProcessor(rm, tokenizer=word_tokenizer(list(range(100))))
    a, b = word_tokenizer(list(range(100))), word_tokenizer(PERM)
    with pytest.raises(ValueError, match="reward_cache needs"):
        hf.ARGSLogitsProcessor(rm, tokenizer=a, reward_tokenizer=b, reward_cache=True)


WORDS = ["<pad>", "<s>", "</s>"] + ["w%d" % i for i in range(3, 100)]
PERM = [0] + list(range(99, 0, -1))      # the reward tokenizer's id of each word (pad stays 0)


def word_tokenizer(ids):
    """A word-level tokenizer over WORDS with the given ids (nothing downloaded)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast
    t = Tokenizer(models.WordLevel({w: i for w, i in zip(WORDS, ids)}, unk_token="<pad>"))
    t.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=t, pad_token="<pad>", bos_token="<s>", eos_token="</s>")


def test_reward_model_with_another_vocabulary(models):
    """A reward model over a permuted vocabulary (its embedding rows permuted
    to match) with the tokenizer pair re-tokenising the text scores exactly as
    the original one on the ids, so generate() gives the reference's tokens."""
    import copy
    lm, rm = models
    rm2 = copy.deepcopy(rm)
    with torch.no_grad():
        emb = rm.get_input_embeddings().weight
        new = torch.empty_like(emb)
        new[torch.tensor(PERM)] = emb
        rm2.get_input_embeddings().weight.copy_(new)
    a, b = word_tokenizer(list(range(100))), word_tokenizer(PERM)
    keep = dict(skip_special_tokens=False)
    proc = hf.ARGSLogitsProcessor(rm2, k=10, tokenizer=a, reward_tokenizer=b, decode_kwargs=keep,
                                  encode_kwargs=dict(add_special_tokens=False), max_batch_tokens=64)
    assert generate(lm, proc, PROMPTS).tolist() == reference(lm, rm, "soft")
    # without the tokenizers the permuted model is another reward model
    assert generate(lm, hf.ARGSLogitsProcessor(rm2, k=10), PROMPTS).tolist() != reference(lm, rm, "soft")


def test_fewer_finite_scores_than_k(models):
    """Rows with fewer than k finite scores (another processor's -inf): the
    output is finite exactly at the finite entries, token 0 among them."""
    _, rm = models
    proc = hf.ARGSLogitsProcessor(rm, k=10)
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
    got = generate(lm, hf.ARGSLogitsProcessor(rm, k=10, design=design, reward_cache=True), PROMPTS)
    assert got.tolist() == reference(lm, rm, design)
    base = reference(lm, rm, "soft")
    eos = base[1][2]
    want = reference(lm, rm, "soft", eos=eos)
    got = generate(lm, hf.ARGSLogitsProcessor(rm, k=10, eos_token_id=eos, reward_cache=True), PROMPTS, eos=eos)
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
            return hf.ARGSLogitsProcessor(rm, k=10, draw=True, tau=1.0, seeds=seeds)
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
