"""srs.cd: the offline CD pipeline end to end on a tiny random model and toy
data (sample with hidden states, score, shape, train the value function, save
and load, decode with it), and its parts against direct computations."""
import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed: the transformers tests are skipped")
pytest.importorskip("transformers", reason="transformers is not installed: the transformers tests are skipped")

import srs  # noqa: E402
import srs.cd as cd  # noqa: E402
import srs.hf as hf  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import hf_reference as ref  # noqa: E402
from test_hf_args import PROMPTS, generate  # noqa: E402


@pytest.fixture(scope="module")
def models():
    return hf.tiny_models(dtype=torch.float64)


@pytest.fixture(scope="module")
def samples(models):
    lm, _ = models
    return cd.sample(lm, PROMPTS, n=6, max_new_tokens=8, eos_token_id=2)


def test_sample_hidden_states_and_eos(models, samples):
    lm, _ = models
    assert len(samples) == 4 and all(len(g) == 6 for g in samples)
    H = lm.config.hidden_size
    for p, g in zip(PROMPTS, samples):
        for s in g:
            assert s.prompt == p
            assert 1 <= len(s.tokens) <= 8
            assert 2 not in s.tokens[:-1]                  # cut after the first EOS
            assert s.hidden.shape == (len(s.tokens), H)
    # the hidden state of a generated token is the model's at its position, alone
    s = samples[2][3]
    with torch.no_grad():
        h = lm(torch.tensor([s.prompt + s.tokens]), output_hidden_states=True).hidden_states[-1][0]
    torch.testing.assert_close(s.hidden, h[len(s.prompt):].float(), rtol=1e-5, atol=1e-5)
    # reproducible from the seed
    again = cd.sample(lm, PROMPTS[:2], n=6, max_new_tokens=8, eos_token_id=2)
    assert [[s.tokens for s in g] for g in again] == [[s.tokens for s in g] for g in samples[:2]]


def test_score_and_shape(models, samples):
    _, rm = models
    r = cd.score(rm, samples)
    assert r.shape == (4, 6)
    s = samples[1][4]
    with torch.no_grad():
        want = ref.score_last(rm, torch.tensor([s.prompt + s.tokens]))[0]
    assert r[1, 4] == pytest.approx(float(want), rel=1e-9)
    t = cd.shape_targets(r)
    want, _, _ = srs.shape(r, design="soft", preset="paper-cd", B=15, beta=0.667, alpha=1.0)
    np.testing.assert_array_equal(t, want)


def test_train_value_loss_falls_save_load_decode(models, samples, tmp_path):
    lm, rm = models
    targets = cd.shape_targets(cd.score(rm, samples))
    critic, hist = cd.train_value(samples, targets, width=64, lr=1e-3, batch_size=8, epochs=30,
                                  patience=30, val_frac=0.2, dtype=torch.float64)
    assert len(hist["train"]) == 30
    assert hist["train"][-1] < 0.5 * hist["train"][0], hist["train"]
    path = str(tmp_path / "value.pt")
    cd.save_value(critic, path)
    back = cd.load_value(path)
    h = samples[0][0].hidden.double()
    torch.testing.assert_close(back(h), critic(h))
    torch.save({"x": 1}, str(tmp_path / "other.pt"))
    with pytest.raises(ValueError, match="not a value function"):
        cd.load_value(str(tmp_path / "other.pt"))
    # decoding with the trained critic: generate() equals the batch-1 loop
    proc = hf.CDLogitsProcessor(back, model=lm, eos_token_id=[])
    got = generate(lm, proc, PROMPTS, steps=4)
    want = [ref.cd_loop(lm, p, 4, critic=back)[0] for p in PROMPTS]
    assert got.tolist() == want


def test_early_stopping(models, samples):
    _, rm = models
    targets = cd.shape_targets(cd.score(rm, samples))
    _, hist = cd.train_value(samples, targets, width=16, lr=0.5, batch_size=4, epochs=40, patience=2,
                             val_frac=0.2, dtype=torch.float64)
    assert len(hist["val"]) < 40
    assert len(hist["val"]) == hist["best_epoch"] + 3


def test_train_value_bad_input(samples):
    with pytest.raises(ValueError, match="targets have 3 values, the samples 24"):
        cd.train_value(samples, np.zeros(3))
    with pytest.raises(ValueError, match="non-finite"):
        cd.train_value(samples, np.full((4, 6), np.nan))


def test_defaults_are_the_papers_settings():
    """The functions' defaults are the PAPER_* presets (PAPER-CODE.md's numbers)."""
    import inspect

    def defaults(fn):
        return {k: v.default for k, v in inspect.signature(fn).parameters.items()}

    for fn, preset in ((cd.sample, cd.PAPER_SAMPLING), (cd.shape_targets, cd.PAPER_SHAPING),
                       (cd.train_value, cd.PAPER_TRAINING), (hf.ARGSLogitsProcessor.__init__, hf.PAPER_ARGS),
                       (hf.CDLogitsProcessor.__init__, hf.PAPER_CD)):
        d = defaults(fn)
        for k, v in preset.items():
            assert d[k] == v, (fn.__qualname__, k, d[k], v)
    assert hf.PAPER_ARGS == dict(k=10, design="soft", preset="paper-args", B=12.0, alpha=1.5, lam=0.5,
                                 baselines="paper")
    assert cd.PAPER_SHAPING["B"] == 15.0 and cd.PAPER_SHAPING["beta"] == 0.667


def test_train_value_val_frac(samples):
    t = np.zeros((4, 6))
    for bad in (-0.1, 1.0, 1.5, float("nan"), "0.1"):
        with pytest.raises(ValueError, match="val_frac must be in"):
            cd.train_value(samples, t, val_frac=bad, width=4, epochs=1)
    # a split that would take every sample leaves one for training
    two = [[samples[0][0], samples[0][1]]]
    _, hist = cd.train_value(two, np.zeros((1, 2)), val_frac=0.99, width=4, epochs=2, dtype=torch.float64)
    assert len(hist["train"]) == 2 and all(np.isfinite(hist["train"]))


def test_score_with_another_vocabulary(models, samples):
    """cd.score over a reward model with a permuted vocabulary, with the
    tokenizer pair, equals the original model's scores; a reward model with
    a smaller vocabulary and no tokenizers raises."""
    from test_hf_args import PERM, permuted_reward_model, word_tokenizer
    _, rm = models
    want = cd.score(rm, samples)
    rm2 = permuted_reward_model(rm)
    got = cd.score(rm2, samples, tokenizer=word_tokenizer(list(range(100))), reward_tokenizer=word_tokenizer(PERM),
                   decode_kwargs=dict(skip_special_tokens=False), encode_kwargs=dict(add_special_tokens=False))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    assert np.abs(cd.score(rm2, samples) - want).max() > 1e-3        # ids straight in: another model
    _, small = hf.tiny_models(vocab=20, dtype=torch.float64)
    with pytest.raises(ValueError, match="outside the reward model's vocabulary"):
        cd.score(small, samples)


def test_paper_presets_hold_paper_code_numbers():
    """The presets, against the literal numbers of ../shared/PAPER-CODE.md
    (not against the functions' defaults, which test_defaults_... checks)."""
    assert hf.PAPER_CD == dict(k=10, T=0.7, lam=1.5, design="raw")         # top-10, logits / 0.7, logp + 1.5 V
    assert cd.PAPER_SAMPLING == dict(n=10, temperature=0.7, top_p=0.9, max_new_tokens=128)
    assert cd.PAPER_SHAPING == dict(design="soft", preset="paper-cd", B=15.0, beta=0.667, cap=2.0, alpha=1.0)
    assert cd.PAPER_TRAINING == dict(width=8192, lr=1e-4, clip=1.0, batch_size=64, epochs=15, patience=5,
                                     val_frac=0.05, seed=42, consistency=1.0)
    assert hf.PAPER_ARGS == dict(k=10, design="soft", preset="paper-args", B=12.0, alpha=1.5, lam=0.5,
                                 baselines="paper")
