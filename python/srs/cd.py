"""The offline steps of Controlled Decoding (CD) with SRS, in PyTorch: sample
responses with their hidden states, score them with a reward model, shape the
scores with srs.shape (soft, paper-cd), train a value function on the shaped
targets, save it for srs.hf.CDLogitsProcessor.

    samples = srs.cd.sample(lm, prompts, n=10)                     # prompts: lists of token ids
    rewards = srs.cd.score(reward_model, samples)                  # (prompts, n)
    targets = srs.cd.shape_targets(rewards)                        # soft, paper-cd, B 15, beta 0.667, alpha 1
    critic, history = srs.cd.train_value(samples, targets)         # the authors' recipe
    srs.cd.save_value(critic, "value.pt"); critic = srs.cd.load_value("value.pt")

The recipe (../shared/PAPER-CODE.md): an MLP critic on per-token hidden states
(Linear(H, 8192), tanh, Linear(8192, H), tanh, Linear(H, 1), orthogonal
initialisation); loss = MSE(value at the last token, shaped reward) + 1.0 *
MSE(V_t, V_{t+1}) over consecutive tokens; Adam, lr 1e-4, gradient norm
clipped at 1.0, batch 64, 15 epochs, early stop after 5 epochs without
improvement on a 5% validation split, seed 42.

Where this differs from the authors' scripts: sampling seeds torch once per
prompt (seed + prompt index) instead of once per sample, and the hidden states
are taken from one forward pass over prompt + response after generation (the
same definition as the CD processor's: hidden_states[-1] at each generated
token's position).
"""
import math
import numbers
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from . import hf as _hf


# The authors' offline CD settings (../shared/PAPER-CODE.md), the defaults of
# sample(), shape_targets() and train_value().
PAPER_SAMPLING = dict(n=10, temperature=0.7, top_p=0.9, max_new_tokens=128)
PAPER_SHAPING = dict(design="soft", preset="paper-cd", B=15.0, beta=0.667, cap=2.0, alpha=1.0)
PAPER_TRAINING = dict(width=8192, lr=1e-4, clip=1.0, batch_size=64, epochs=15, patience=5, val_frac=0.05,
                      seed=42, consistency=1.0)


class Sample:
    """One response: prompt (list of ids), tokens (list of generated ids, cut
    after the first EOS), hidden (len(tokens), H) float tensor (CPU)."""

    def __init__(self, prompt: List[int], tokens: List[int], hidden: torch.Tensor) -> None:
        self.prompt, self.tokens, self.hidden = prompt, tokens, hidden

    def __repr__(self):
        return "Sample(%d prompt tokens, %d generated)" % (len(self.prompt), len(self.tokens))


def _left_pad(seqs, pad):
    n = max(len(s) for s in seqs)
    ids = torch.tensor([[pad] * (n - len(s)) + list(s) for s in seqs])
    mask = torch.tensor([[0] * (n - len(s)) + [1] * len(s) for s in seqs])
    return ids, mask


@torch.no_grad()
def hidden_states(model: torch.nn.Module, seqs: Sequence[Sequence[int]], pad_token_id: int,
                  batch_size: int = 16, dtype: torch.dtype = torch.float32) -> List[torch.Tensor]:
    """Last-layer hidden states of every token of each sequence (lists of ids):
    a list of (len, H) tensors on the CPU. Left-padded batches with attention
    masks and position ids counted from each sequence's first token."""
    dev = next(model.parameters()).device
    out = []
    for s in range(0, len(seqs), batch_size):
        chunk = seqs[s:s + batch_size]
        ids, mask = _left_pad(chunk, pad_token_id)
        pos = (mask.cumsum(1) - 1).clamp(min=0)
        h = model(input_ids=ids.to(dev), attention_mask=mask.to(dev), position_ids=pos.to(dev),
                  output_hidden_states=True).hidden_states[-1]
        n = ids.shape[1]
        for i, q in enumerate(chunk):
            out.append(h[i, n - len(q):].to("cpu", dtype))
    return out


@torch.no_grad()
def sample(model: torch.nn.Module, prompts: Sequence[Sequence[int]], n: int = 10, temperature: float = 0.7,
           top_p: float = 0.9, max_new_tokens: int = 128, seed: int = 1234, eos_token_id: Any = None,
           pad_token_id: Optional[int] = None, batch_size: int = 16,
           hidden_dtype: torch.dtype = torch.float32) -> List[List[Sample]]:
    """n responses per prompt (prompts: lists of token ids) with generate()
    (sampling, temperature, top_p; top_k=0, i.e. no top-k cut, where
    generate()'s own default would be 50), each cut after its first EOS, with the
    last-layer hidden state of every generated token.
    Returns a list (prompts) of lists (n) of Sample."""
    if not prompts:
        raise ValueError("no prompts")
    if any(len(p) == 0 for p in prompts):
        raise ValueError("prompt %d is empty" % next(i for i, p in enumerate(prompts) if len(p) == 0))
    cfg = _hf._text_cfg(model.config)
    pad = pad_token_id if pad_token_id is not None else cfg.pad_token_id
    if pad is None:
        raise ValueError("pad_token_id is needed (the model's config has none)")
    if eos_token_id is None:
        eos_token_id = getattr(model.generation_config, "eos_token_id", None)
    eos = set(_hf._eos_list(eos_token_id))
    dev = next(model.parameters()).device
    out = []
    for i, p in enumerate(prompts):
        torch.manual_seed(seed + i)
        ids = torch.tensor([p], device=dev)
        gen = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=True,
                             temperature=temperature, top_p=top_p, top_k=0, max_new_tokens=max_new_tokens,
                             num_return_sequences=n, pad_token_id=pad,
                             eos_token_id=sorted(eos) if eos else None)[:, len(p):]
        toks = []
        for row in gen.tolist():
            cut = next((j + 1 for j, t in enumerate(row) if t in eos), len(row))
            toks.append(row[:cut] if cut > 0 else row[:1])
        hs = hidden_states(model, [p + t for t in toks], pad, batch_size, hidden_dtype)
        out.append([Sample(p, t, h[len(p):]) for t, h in zip(toks, hs)])
    return out


@torch.no_grad()
def score(reward_model: torch.nn.Module, samples: Sequence[Sequence[Sample]],
          pad_token_id: Optional[int] = None, max_batch_tokens: int = 1 << 16, tokenizer: Any = None,
          reward_tokenizer: Any = None, decode_kwargs: Optional[dict] = None,
          encode_kwargs: Optional[dict] = None) -> Union[np.ndarray, List[np.ndarray]]:
    """Reward-model scores (logits[:, 0]) of prompt + response for every
    sample: a float64 NumPy array (prompts, n) (ragged n: a list of arrays).

    The samples' token ids are the language model's. A reward model over
    another vocabulary needs the tokenizer pair (tokenizer: the language
    model's, reward_tokenizer: the reward model's): each prompt + response is
    decoded to text and re-tokenised, as in srs.hf.ARGSLogitsProcessor
    (decode_kwargs, encode_kwargs as there). Without it, an id outside the
    reward model's vocabulary raises ValueError. pad_token_id: unused by the
    scoring itself (masked positions); kept for compatibility."""
    proc = _hf.ARGSLogitsProcessor(reward_model, k=1, pad_token_id=pad_token_id,
                                   max_batch_tokens=max_batch_tokens, tokenizer=tokenizer,
                                   reward_tokenizer=reward_tokenizer, decode_kwargs=decode_kwargs,
                                   encode_kwargs=encode_kwargs)
    pad = proc.pad_token_id if proc.pad_token_id is not None else 0
    rm_vocab = getattr(_hf._text_cfg(getattr(reward_model, "config", None)), "vocab_size", None)
    rows = []
    for i, group in enumerate(samples):
        seqs = [s.prompt + s.tokens for s in group]
        if not proc._retok and rm_vocab is not None:
            top = max(max(q) for q in seqs)
            if top >= rm_vocab:
                raise ValueError("prompt %d: token id %d is outside the reward model's vocabulary (%d); for a "
                                 "reward model with another vocabulary pass tokenizer= and reward_tokenizer="
                                 % (i, top, rm_vocab))
        # rewards() scores prefix + candidate: the last token is the candidate
        ids, mask = _left_pad([q[:-1] for q in seqs], pad)
        pads = (mask == 0).sum(1)
        cand = torch.tensor([[q[-1]] for q in seqs])                # (n, 1): k = 1
        fn = proc.rewards_text if proc._retok else proc.rewards
        r = fn(ids, pads, cand).reshape(-1).cpu()                   # inputs go to the model's device
        rows.append(r.numpy())
    if len({len(r) for r in rows}) == 1:
        return np.stack(rows)
    return rows


def shape_targets(rewards: Any, B: float = 15.0, beta: float = 0.667, alpha: float = 1.0, cap: float = 2.0,
                  design: str = "soft", preset: str = "paper-cd") -> Any:
    """The value function's training targets: srs.shape of the rewards
    (prompts, n), by default the authors' CD setting (soft, paper-cd, B 15,
    beta 0.667, cap 2, alpha 1). Returns float64 (prompts, n)."""
    from .rows import shape
    shaped, _, _ = shape(rewards, design=design, preset=preset, B=B, beta=beta, alpha=alpha, cap=cap)
    return shaped


class ValueMLP(torch.nn.Module):
    """The authors' critic: Linear(H, width) -> tanh -> Linear(width, H) ->
    tanh -> Linear(H, 1), orthogonal weights, zero biases. forward(h (..., H))
    returns values (...)."""

    def __init__(self, hidden_size: int, width: int = 8192) -> None:
        super().__init__()
        self.hidden_size, self.width = int(hidden_size), int(width)
        self.net = torch.nn.Sequential(torch.nn.Linear(hidden_size, width), torch.nn.Tanh(),
                                       torch.nn.Linear(width, hidden_size), torch.nn.Tanh(),
                                       torch.nn.Linear(hidden_size, 1))
        for m in self.net:
            if isinstance(m, torch.nn.Linear):
                torch.nn.init.orthogonal_(m.weight)
                torch.nn.init.zeros_(m.bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h).squeeze(-1)


def _batch(samples, idx, dtype, dev):
    hs = [samples[i].hidden for i in idx]
    L = max(h.shape[0] for h in hs)
    H = hs[0].shape[1]
    x = torch.zeros(len(hs), L, H, dtype=dtype)
    mask = torch.zeros(len(hs), L, dtype=torch.bool)
    for j, h in enumerate(hs):
        x[j, :h.shape[0]] = h.to(dtype)
        mask[j, :h.shape[0]] = True
    return x.to(dev), mask.to(dev)


def _loss(model, x, mask, y, consistency):
    v = model(x)                                                  # (b, L)
    last = mask.sum(1) - 1
    final = v[torch.arange(v.shape[0], device=v.device), last]
    loss = torch.mean((final - y) ** 2)
    pair = mask[:, 1:] & mask[:, :-1]
    if consistency and bool(pair.any()):
        d = (v[:, :-1] - v[:, 1:])[pair]
        loss = loss + consistency * torch.mean(d ** 2)
    return loss


def train_value(samples: Sequence[Sequence[Sample]], targets: Any, width: int = 8192, lr: float = 1e-4,
                clip: float = 1.0, batch_size: int = 64, epochs: int = 15, patience: int = 5,
                val_frac: float = 0.05, seed: int = 42, consistency: float = 1.0,
                device: Union[str, torch.device, None] = None, dtype: torch.dtype = torch.float32,
                log: Optional[Callable[[str], Any]] = None) -> Tuple[ValueMLP, Dict[str, Any]]:
    """Trains a ValueMLP on the samples' hidden states (a list of lists of
    Sample, as from sample()) and their targets ((prompts, n), as from
    shape_targets()), with the authors' recipe (module docstring).
    val_frac in [0, 1): the validation split holds ceil(val_frac * samples)
    of them, at least 1 (early stopping needs one) and at most all but one.
    Returns (critic in eval mode with the best validation weights, history:
    dict with lists "train" and "val" of per-epoch mean losses and "best_epoch")."""
    if not (isinstance(val_frac, numbers.Real) and 0 <= val_frac < 1):
        raise ValueError("val_frac must be in [0, 1), got %r" % (val_frac,))
    flat = [s for group in samples for s in group]
    y = np.concatenate([np.asarray(t, np.float64).reshape(-1) for t in targets])
    if len(flat) != len(y):
        raise ValueError("targets have %d values, the samples %d" % (len(y), len(flat)))
    if not np.all(np.isfinite(y)):
        raise ValueError("targets have non-finite values")
    if len(flat) < 2:
        raise ValueError("need at least 2 samples (one for validation)")
    H = flat[0].hidden.shape[1]
    dev = torch.device(device) if device is not None else flat[0].hidden.device
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    perm = torch.randperm(len(flat), generator=gen).tolist()
    nval = min(max(1, int(math.ceil(val_frac * len(flat)))), len(flat) - 1)   # >= 1 training example
    val, train = perm[:nval], perm[nval:]
    model = ValueMLP(H, width).to(dev, dtype)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    yt = torch.tensor(y, dtype=dtype)
    hist = {"train": [], "val": [], "best_epoch": -1}
    best, best_state, since = math.inf, None, 0
    for ep in range(epochs):
        model.train()
        order = [train[i] for i in torch.randperm(len(train), generator=gen).tolist()]
        tot = 0.0
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            x, mask = _batch(flat, idx, dtype, dev)
            loss = _loss(model, x, mask, yt[idx].to(dev), consistency)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            tot += float(loss.detach()) * len(idx)
        hist["train"].append(tot / len(order))
        model.eval()
        with torch.no_grad():
            vt = 0.0
            for s in range(0, len(val), batch_size):
                idx = val[s:s + batch_size]
                x, mask = _batch(flat, idx, dtype, dev)
                vt += float(_loss(model, x, mask, yt[idx].to(dev), consistency)) * len(idx)
            hist["val"].append(vt / len(val))
        if log:
            log("epoch %d: train %.6g, validation %.6g" % (ep + 1, hist["train"][-1], hist["val"][-1]))
        if hist["val"][-1] < best:
            best, since, hist["best_epoch"] = hist["val"][-1], 0, ep
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            since += 1
            if since >= patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    return model, hist


def save_value(model: ValueMLP, path: str) -> None:
    """Saves a ValueMLP (weights and sizes) to path (torch.save)."""
    torch.save({"format": "srs-value-mlp-1", "hidden_size": model.hidden_size, "width": model.width,
                "state_dict": model.state_dict()}, path)


def load_value(path: str, map_location: Any = "cpu") -> ValueMLP:
    """A ValueMLP saved by save_value, in eval mode. ValueError for a file
    that is not one."""
    d = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(d, dict) or d.get("format") != "srs-value-mlp-1":
        raise ValueError("%s: not a value function saved by srs.cd.save_value" % path)
    m = ValueMLP(d["hidden_size"], d["width"])
    m.load_state_dict(d["state_dict"])
    m.to(next(iter(d["state_dict"].values())).dtype)
    return m.eval()
