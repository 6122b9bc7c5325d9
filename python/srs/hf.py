"""SRS inside HuggingFace transformers' generate(): logits processors for ARGS
and Controlled Decoding (CD), one decoding step for the whole batch.

    from transformers import LogitsProcessorList
    from srs.hf import ARGSLogitsProcessor
    proc = ARGSLogitsProcessor(reward_model, k=10, design="soft", preset="paper-args", B=12,
                               alpha=1.5, lam=0.5, eos_token_id=tok.eos_token_id,
                               pad_token_id=tok.pad_token_id)
    out = lm.generate(**tok(prompts, return_tensors="pt", padding=True),   # padding_side="left"
                      logits_processor=LogitsProcessorList([proc]), do_sample=False, max_new_tokens=128)

A processor receives (input_ids (rows, length), scores (rows, vocab)) and
returns new scores: the fused score logp + lam * s of each of the row's top-k
candidates, -inf elsewhere, so that generate()'s greedy argmax or its sampling
(softmax(fused / temperature), after any warpers) picks among the candidates.
Shaping and fusion run in libsrs (srs.Guide.select). Rows that have finished
(an end-of-sequence token among their generated tokens) are not scored: they
get 0 at EOS and -inf elsewhere (generate() then writes its pad token there).

Padding: a logits processor is given input_ids and scores, not the attention
mask, so the processors find each prompt's left padding from pad_token_id
(the id the prompts are left-padded with, e.g. tok.pad_token_id). For a batch
of more than one row it is required: without it the processors raise
ValueError rather than score pads as text.

Importing srs does not import torch or transformers; importing srs.hf needs
torch (transformers only to subclass its LogitsProcessor, when installed).
Sampling is reproducible from torch's seed (torch.manual_seed before
generate), as for any generate() call.
"""
import inspect
import numbers
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from .guide import Guide, K_MAX

try:   # subclass transformers' LogitsProcessor when it is there (generate() needs only __call__)
    from transformers import LogitsProcessor as _Base
except ImportError:   # pragma: no cover - transformers absent
    _Base = object

# The authors' decoding settings (../shared/PAPER-CODE.md); the processors'
# defaults are these: ARGSLogitsProcessor(rm, **PAPER_ARGS),
# CDLogitsProcessor(critic, model=lm, **PAPER_CD). Both decode greedily.
PAPER_ARGS = dict(k=10, design="soft", preset="paper-args", B=12.0, alpha=1.5, lam=0.5, baselines="paper")
PAPER_CD = dict(k=10, T=0.7, lam=1.5, design="raw")

# eos_token_id: an id, ids, or an array / tensor of them; seeds: one or one per row
EosIds = Union[None, int, Sequence[int], np.ndarray, torch.Tensor]
Seeds = Union[int, Sequence[int], np.ndarray]

PERTURBATIONS = (None, "noise", "random", "reversed")
RANDOM_STD = 5.0   # the authors' random rewards: N(0, 5^2)


def perturb(r: torch.Tensor, kind: Optional[str] = None, std: float = 1.0,
            generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Rewards r (tensor) perturbed for robustness studies, as the authors'
    ARGS options: "noise" adds N(0, std^2), "random" replaces them with
    N(0, 5^2) draws, "reversed" negates them (the reward model's ranking
    reversed); None leaves them. generator: a torch.Generator (on r's device)."""
    if kind is None:
        return r
    if kind == "reversed":
        return -r
    if kind == "noise":
        if not std >= 0:
            raise ValueError("noise_std must be >= 0, got %r" % (std,))
        return r + std * torch.randn(r.shape, generator=generator, dtype=r.dtype, device=r.device)
    if kind == "random":
        return RANDOM_STD * torch.randn(r.shape, generator=generator, dtype=r.dtype, device=r.device)
    raise ValueError("perturb must be one of %s; got %r" % (", ".join(repr(p) for p in PERTURBATIONS), kind))


def _eos_list(eos: Any) -> list:
    """eos_token_id (None, an integer, a NumPy integer, or a sequence, array
    or tensor of them) as a list of ints."""
    if eos is None:
        return []
    if isinstance(eos, numbers.Integral):      # int and NumPy integers
        return [int(eos)]
    if torch.is_tensor(eos):
        return [int(v) for v in eos.flatten().tolist()]
    if isinstance(eos, np.ndarray):
        eos = eos.reshape(-1).tolist()
    out = []
    for v in eos:
        if not isinstance(v, numbers.Integral):
            raise ValueError("eos_token_id must be integers, got %r" % (v,))
        out.append(int(v))
    return out


class _GuidedProcessor(_Base):
    """What ARGS and CD share: options, the guide context, finished rows,
    selection through libsrs and the write-back."""

    def __init__(self, k, lam, design, preset, B, alpha, cap, clip, baselines, T, eos_token_id,
                 pad_token_id, device, draw=False, tau=1.0, top_p=1.0, seeds=0):
        if not isinstance(k, int) or not 1 <= k <= K_MAX:
            raise ValueError("k must be an integer in [1, %d], got %r" % (K_MAX, k))
        if not T >= 0:
            raise ValueError("T must be >= 0, got %r" % (T,))
        self.k, self.T = k, float(T)
        self.opts = dict(design=design, preset=preset, B=B, alpha=alpha, lam=lam, cap=cap, clip=clip,
                         baselines=baselines)
        self.draw, self.tau, self.top_p, self.seeds = bool(draw), tau, top_p, seeds
        if self.draw:
            if not (isinstance(seeds, int) or hasattr(seeds, "__len__")):
                raise ValueError("seeds must be an integer or one integer per row, got %r" % (seeds,))
            self.opts.update(tau=tau, top_p=top_p)
        self._active = None
        self.eos = _eos_list(eos_token_id)
        self.pad_token_id = pad_token_id
        self._device = device
        self._guides = {}
        self.reset()
        # every option is checked now, not at the first step: one dummy row
        self._select(np.zeros((1, 1), np.int32), np.zeros((1, 1), np.float32),
                     np.zeros((1, 1), np.float32), "cpu")

    def reset(self) -> None:
        """Forget the current generation. Automatic whenever input_ids is not
        the last call's plus one token per row (a new generate() call, or beam
        search reordering rows, which then costs a fresh prefill per step);
        call it between two generate() calls whose second prompts are exactly
        the first outputs plus one token, the one case it cannot tell."""
        self._prompt_len = None
        self._rows = None
        self._last_len = None
        self._last_ids = None
        self.steps = 0

    # -- state of the generation -----------------------------------------------

    def _begin(self, input_ids):
        """A step continues the current generation when input_ids is the last
        call's plus one token per row; anything else starts a new one."""
        rows, length = input_ids.shape
        cont = (self._last_ids is not None and self._rows == rows and length == self._last_len + 1
                and self._last_ids.device == input_ids.device
                and torch.equal(input_ids[:, :-1], self._last_ids))
        if not cont:
            self.reset()
            self._rows, self._prompt_len = rows, length
            self._new_generation(input_ids)
        self._last_len = length
        self._last_ids = input_ids.clone()

    def _new_generation(self, input_ids):
        pass

    def finished(self, input_ids: torch.Tensor) -> torch.Tensor:
        """(rows,) bool: rows with an EOS among their generated tokens."""
        gen = input_ids[:, self._prompt_len:]
        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        for e in self.eos:
            done |= (gen == e).any(dim=1)
        return done

    def _left_pads(self, input_ids):
        """(rows,) number of leading pad tokens of each prompt (left padding).
        A logits processor is not given the attention mask: the pad id is the
        only source, so a batch of more than one row needs it."""
        if self.pad_token_id is None:
            if input_ids.shape[0] > 1:
                raise ValueError(
                    "pad_token_id is None and the batch has %d rows: the processor cannot tell left "
                    "padding from text (generate() does not pass the attention mask to logits "
                    "processors); pass pad_token_id= the id the prompts are padded with, e.g. "
                    "pad_token_id=tok.pad_token_id" % input_ids.shape[0])
            return torch.zeros(input_ids.shape[0], dtype=torch.long, device=input_ids.device)
        prompt = input_ids[:, :self._prompt_len]
        real = (prompt != self.pad_token_id).to(torch.int64)
        # index of the first real token; a row of pads only counts as unpadded
        first = torch.argmax(real, dim=1)
        return torch.where(real.any(dim=1), first, torch.zeros_like(first))

    # -- candidates, selection, write-back --------------------------------------

    def _candidates(self, scores):
        """Top-k of log_softmax(scores / T): ids (rows, k) int64 (-1 for an
        empty slot: fewer than k finite scores), logp (rows, k) float."""
        x = scores.to(torch.float64 if scores.dtype == torch.float64 else torch.float32)
        if self.T > 0:
            logp_all = torch.log_softmax(x / self.T, dim=-1)
        else:
            logp_all = torch.where(x == x.max(dim=-1, keepdim=True).values, 0.0, -float("inf")).to(x.dtype)
        k = min(self.k, x.shape[-1])
        top, ids = torch.topk(x, k, dim=-1)
        logp = torch.gather(logp_all, 1, ids)
        ids = torch.where(torch.isfinite(top) | (top == float("inf")), ids, torch.full_like(ids, -1))
        return ids, logp

    def _guide(self, kind):
        if kind not in self._guides:
            self._guides[kind] = Guide(kind)
        return self._guides[kind]

    def _select(self, ids, logp, score, kind, **extra):
        opts = dict(self.opts, **extra)
        return self._guide(kind).select(ids, logp, score, return_all=True, **opts)

    def _row_opts(self, active):
        """Per-step options of the active rows (draw: libsrs's sampler)."""
        if not self.draw:
            return {}
        rows = active.nonzero().flatten().cpu().numpy()
        if isinstance(self.seeds, int):
            seeds = (self.seeds + rows).astype(np.uint64)
        else:
            seeds = np.asarray(self.seeds, dtype=np.uint64).reshape(-1)
            if seeds.size != active.numel():
                raise ValueError("seeds has %d values; expected one per row (%d) or a single integer"
                                 % (seeds.size, active.numel()))
            seeds = seeds[rows]
        return dict(mode="sample", tau=self.tau, top_p=self.top_p, seeds=seeds, step=self.steps)

    def _fuse(self, ids, logp, score):
        """fused (rows, k) float32 tensor on ids' device, through libsrs; the
        drawn tokens (draw=True) in self._tokens."""
        dev = ids.device
        extra = self._row_opts(self._active)
        use_cuda = dev.type == "cuda" and self._device != "cpu" and _cuda_guide_ok() and not extra
        if use_cuda:
            tok, fused, _, _ = self._select(ids.to(torch.int32), logp.float(), score.float(), "cuda")
        else:
            tok, fused, _, _ = self._select(ids.to(torch.int32).cpu().numpy(), logp.float().cpu().numpy(),
                                            score.float().cpu().numpy(), "cpu", **extra)
            tok, fused = torch.from_numpy(tok), torch.from_numpy(fused)
        self._tokens = tok.to(dev)
        return fused.to(dev)

    def _write(self, scores, active, ids, fused, done):
        """The processor's output: fused at the candidates of active rows,
        0 at EOS for finished rows, -inf elsewhere."""
        out = torch.full_like(scores, -float("inf"))
        if ids is not None and ids.shape[0]:
            # empty slots (id -1) trail the row's candidates: they write the
            # row's first candidate again, with its own value, so that no
            # scatter of duplicates can overwrite a real entry
            valid = ids >= 0
            fused = fused.to(scores.dtype)
            idx = torch.where(valid, ids, ids[:, :1].clamp(min=0))
            val = torch.where(valid, fused, torch.where(ids[:, :1] >= 0, fused[:, :1], -float("inf")))
            rows = active.nonzero().flatten()
            sub = torch.full((ids.shape[0], scores.shape[1]), -float("inf"), dtype=scores.dtype,
                             device=scores.device)
            sub.scatter_(1, idx, val)
            if self.draw:
                # libsrs drew the token: the only finite entry (-1: no token)
                tok = self._tokens.to(torch.int64)
                sub.fill_(-float("inf"))
                ok = tok >= 0
                sub[ok.nonzero().flatten(), tok[ok]] = 0.0
            out[rows] = sub
        if done.any() and self.eos:
            out[done.nonzero().flatten(), self.eos[0]] = 0.0
        return out


_CUDA_OK = None


def _cuda_guide_ok():
    global _CUDA_OK
    if _CUDA_OK is None:
        from . import cuda_compiled
        _CUDA_OK = bool(cuda_compiled())
    return _CUDA_OK


class ARGSLogitsProcessor(_GuidedProcessor):
    """ARGS with Stackelberg reward shaping, as a transformers logits processor.

    reward_model: a sequence-classification model over the language model's
      vocabulary (its logits[:, 0] is the reward of prefix + candidate).
    k: candidates per row, the top-k of the scores generate() passes in.
    design: "soft" (SRS), "hard", "raw", "minmax", "meanstd", "cap", "meansoft".
    preset ("paper-args", "exact", "paper-cd"), B, alpha, lam (= 1/beta),
      cap, clip: as srs.Guide.select. The defaults are the paper's ARGS
      setting: k 10, soft, paper-args, B 12, alpha 1.5, lam 0.5.
    baselines: "paper" (default here): the authors' baseline definitions
      (unweighted mean and population std clamped at 1e-6, cap not clipped);
      "srs": srs's p-weighted statistics and cap clipped at B.
    eos_token_id: int or list; rows that generated one are finished.
    pad_token_id: the language model's pad id, the one its prompts are
      left-padded with (default: tokenizer.pad_token_id when tokenizer is
      given); leading pads are dropped before scoring. Required for a batch of
      more than one row (ValueError at the first step otherwise): a logits
      processor is not given the attention mask. The reward model's own pad
      id (its config.pad_token_id, or the reward tokenizer's) is used only
      for the sequences it scores.
    max_batch_tokens: the reward model sees at most this many tokens (padded
      sequences x length) per forward; the rows x k sequences are chunked.
    perturb: None, "noise" (+ N(0, noise_std^2)), "random" (N(0, 5^2)) or
      "reversed" (-r), applied to the rewards before shaping; seed: the
      generator of those draws. noise_std is a standard deviation; noise_var
      (a variance, as the authors' --noise_var), when given, sets it to
      sqrt(noise_var).
    device: "auto" runs the guide step on the scores' device (CUDA when libsrs
      has it), "cpu" always on the CPU.
    tokenizer, reward_tokenizer: the language model's and the reward model's
      tokenizers, for a reward model with another vocabulary: every prefix +
      candidate is decoded to text (tokenizer.decode(ids, **decode_kwargs),
      default skip_special_tokens=True) and re-tokenised
      (reward_tokenizer(texts, **encode_kwargs)), left-padded with the reward
      tokenizer's pad id. With equal vocabularies the ids pass straight
      through and the tokenizers are not used.
    draw, tau, top_p, seeds: with draw=True libsrs draws the token itself
      from softmax(fused / tau) after top-p, from its Philox stream keyed by
      (seeds[row], step) (seeds: one integer per row, or an integer s giving
      row i the seed s + i), and the processor returns 0 at that token, -inf
      elsewhere: call generate() with do_sample=False. A row's draws then
      depend only on its own seed, not on the batch it sits in or on torch's
      random state.
    reward_cache: keep the reward model's own KV cache of the batch and score
      the k candidates of every row as one token each through k copies of it
      (the chosen copy is kept for the next step), instead of re-encoding
      every prefix + candidate each step. Much less compute on long prefixes,
      but k copies of the reward model's cache of all rows in memory at once
      (max_batch_tokens does not apply), and every row is scored, finished or
      not. The reward model must take a cache and position ids (transformers'
      decoder models do).
    """

    def __init__(self, reward_model: torch.nn.Module, k: int = 10, design: str = "soft",
                 preset: str = "paper-args", B: float = 12.0, alpha: float = 1.5, lam: float = 0.5,
                 cap: float = 2.0, clip: Optional[float] = None, baselines: str = "paper",
                 eos_token_id: EosIds = None, pad_token_id: Optional[int] = None,
                 max_batch_tokens: int = 1 << 16, perturb: Optional[str] = None, noise_std: float = 1.0,
                 noise_var: Optional[float] = None, seed: int = 0, device: str = "auto",
                 vocab_size: Optional[int] = None,
                 tokenizer: Any = None, reward_tokenizer: Any = None, reward_cache: bool = False,
                 decode_kwargs: Optional[dict] = None, encode_kwargs: Optional[dict] = None,
                 draw: bool = False, tau: float = 1.0, top_p: float = 1.0, seeds: Seeds = 0) -> None:
        if (tokenizer is None) != (reward_tokenizer is None):
            raise ValueError("give both tokenizer and reward_tokenizer (re-tokenising), or neither")
        self.tokenizer, self.reward_tokenizer = tokenizer, reward_tokenizer
        self._retok = tokenizer is not None and tokenizer.get_vocab() != reward_tokenizer.get_vocab()
        self.decode_kwargs = dict(skip_special_tokens=True) if decode_kwargs is None else dict(decode_kwargs)
        self.encode_kwargs = {} if encode_kwargs is None else dict(encode_kwargs)
        if self._retok and reward_cache:
            raise ValueError("reward_cache needs a reward model with the language model's vocabulary")
        if perturb not in PERTURBATIONS:
            raise ValueError("perturb must be one of %s; got %r" % (", ".join(repr(p) for p in PERTURBATIONS),
                                                                    perturb))
        if not isinstance(max_batch_tokens, int) or max_batch_tokens < 1:
            raise ValueError("max_batch_tokens must be a positive integer, got %r" % (max_batch_tokens,))
        cfg = getattr(reward_model, "config", None)
        self._rm_pad = _text_cfg(cfg).pad_token_id if cfg is not None else None
        if pad_token_id is None and tokenizer is not None:
            pad_token_id = tokenizer.pad_token_id
        self.reward_model = reward_model
        self.vocab_size = vocab_size
        self.max_batch_tokens = max_batch_tokens
        if noise_var is not None:
            if not noise_var >= 0:
                raise ValueError("noise_var must be >= 0, got %r" % (noise_var,))
            noise_std = float(noise_var) ** 0.5
        self.perturb, self.noise_std, self.seed = perturb, float(noise_std), int(seed)
        self._gen = None
        self._takes_positions = "position_ids" in inspect.signature(reward_model.forward).parameters
        self.reward_cache = bool(reward_cache)
        self._kc = _KFoldCache(reward_model, k) if self.reward_cache else None
        super().__init__(k, lam, design, preset, B, alpha, cap, clip, baselines, 1.0, eos_token_id,
                         pad_token_id, device, draw, tau, top_p, seeds)

    def _new_generation(self, input_ids):
        self._gen = None
        if self._kc is not None:
            self._kc.reset()
        if self.perturb in ("noise", "random"):
            self._gen = torch.Generator(device=input_ids.device)
            self._gen.manual_seed(self.seed)

    @torch.no_grad()
    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        self._begin(input_ids)
        done = self.finished(input_ids)
        active = ~done
        self._active = active
        ids = fused = None
        if self._kc is not None:
            # every row through the reward model's k-fold cache
            pads = self._left_pads(input_ids)
            self._kc.advance(input_ids, pads, done)
            ids, logp = self._candidates(scores)
            self._check_vocab(ids, input_ids)
            out = self._kc.look(ids, pads, input_ids.shape[1])
            r = out.logits[:, 0].to(device=ids.device, dtype=torch.float64).reshape(ids.shape)
            r = torch.where(ids >= 0, r, torch.zeros_like(r))
            ids, logp, r = ids[active], logp[active], r[active]
            if active.any():
                fused = self._fuse(ids, logp, perturb(r, self.perturb, self.noise_std, self._gen))
        elif active.any():
            rows = active.nonzero().flatten()
            ids, logp = self._candidates(scores[rows])
            if self._retok:
                r = self.rewards_text(input_ids[rows], self._left_pads(input_ids)[rows], ids)
            else:
                self._check_vocab(ids, input_ids)
                r = self.rewards(input_ids[rows], self._left_pads(input_ids)[rows], ids)
            r = perturb(r, self.perturb, self.noise_std, self._gen)
            fused = self._fuse(ids, logp, r)
        self.steps += 1
        return self._write(scores, active, ids, fused, done)

    def _check_vocab(self, ids, input_ids):
        rm_vocab = self.vocab_size or getattr(_text_cfg(getattr(self.reward_model, "config", None)),
                                              "vocab_size", None)
        if rm_vocab is None:
            return
        top = max(int(ids.max()), int(input_ids.max()))
        if top >= rm_vocab:
            raise ValueError("token id %d is outside the reward model's vocabulary (%d): a reward model "
                             "with another vocabulary is not supported yet" % (top, rm_vocab))

    def rewards(self, prefix: torch.Tensor, pads: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Reward of every prefix + candidate: prefix (n, length) left-padded
        token ids with pads (n,) leading pads each, ids (n, k) candidates (-1:
        empty slot, reward 0). Returns (n, k) float64 on prefix's device.

        The sequences are left-padded (the candidate is always the last
        position), with attention masks and position ids counted from each
        sequence's first real token, so a padded sequence scores as it would
        alone. The reward model pools the rightmost token that is not its pad
        id; when a real token equals the pad id (e.g. pad = EOS and an EOS
        candidate) the batch goes in as embeddings, and the pooled token is the
        last position."""
        n, k = ids.shape
        length = prefix.shape[1]
        dev = prefix.device
        seq = torch.cat([prefix.repeat_interleave(k, dim=0),
                         ids.clamp(min=0).reshape(-1, 1)], dim=1)                   # (n*k, length+1)
        npad = pads.repeat_interleave(k)                                             # (n*k,)
        out = torch.zeros(n * k, dtype=torch.float64, device=dev)
        # chunks of whole rows' sequences, sorted by nothing: rows keep their order
        per = max(1, self.max_batch_tokens // (length + 1))
        for s in range(0, n * k, per):
            e = min(n * k, s + per)
            sp = npad[s:e]
            trim = int(sp.min())                                  # columns of pads common to the chunk
            x = seq[s:e, trim:]
            pos = torch.arange(x.shape[1], device=dev).unsqueeze(0) - (sp - trim).unsqueeze(1)
            mask = (pos >= 0).to(torch.long)
            pos = pos.clamp(min=0)
            fill = self._rm_pad if self._rm_pad is not None else 0     # masked: any id of its vocabulary
            x = torch.where(mask.bool(), x, torch.full_like(x, fill))
            out[s:e] = self._score(x, mask, pos, self._rm_pad)
        out = out.reshape(n, k)
        return torch.where(ids >= 0, out, torch.zeros_like(out))

    def rewards_text(self, prefix: torch.Tensor, pads: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """rewards() for a reward model with another vocabulary: each prefix
        + candidate decoded with tokenizer and re-tokenised with
        reward_tokenizer."""
        n, k = ids.shape
        texts = []
        for r in range(n):
            pre = prefix[r, int(pads[r]):].tolist()
            for c in ids[r].tolist():
                texts.append(self.tokenizer.decode(pre + [max(c, 0)], **self.decode_kwargs))
        enc = [self.reward_tokenizer(t, **self.encode_kwargs)["input_ids"] for t in texts]
        if any(len(e) == 0 for e in enc):
            raise ValueError("the reward tokenizer gave no tokens for %r" % texts[[len(e) for e in enc].index(0)])
        pad = self.reward_tokenizer.pad_token_id
        pad = pad if pad is not None else (self._rm_pad if self._rm_pad is not None else 0)
        dev = prefix.device
        out = torch.zeros(n * k, dtype=torch.float64, device=dev)
        order = sorted(range(n * k), key=lambda i: len(enc[i]))   # similar lengths share a chunk
        s = 0
        while s < len(order):
            e, longest = s, 0
            while e < len(order) and (e == s or max(longest, len(enc[order[e]])) * (e - s + 1)
                                      <= self.max_batch_tokens):
                longest = max(longest, len(enc[order[e]]))
                e += 1
            idx = order[s:e]
            L = max(len(enc[i]) for i in idx)
            x = torch.tensor([[pad] * (L - len(enc[i])) + enc[i] for i in idx], device=dev)
            mask = torch.tensor([[0] * (L - len(enc[i])) + [1] * len(enc[i]) for i in idx], device=dev)
            pos = (mask.cumsum(1) - 1).clamp(min=0)
            out[torch.tensor(idx, device=dev)] = self._score(x, mask, pos, pad)
            s = e
        out = out.reshape(n, k)
        return torch.where(ids >= 0, out, torch.zeros_like(out))

    def _score(self, x, mask, pos, pad):
        """logits[:, 0] of the reward model on x, float64 on x's device (the
        inputs go to the reward model's device and back)."""
        rm = self.reward_model
        back = x.device
        dev = _module_device(rm, back)
        x, mask, pos = x.to(dev), mask.to(dev), pos.to(dev)
        kw = dict(attention_mask=mask)
        if self._takes_positions:
            kw["position_ids"] = pos
        real_pad = pad is not None and bool(((x == pad) & mask.bool()).any())
        if real_pad:
            emb = rm.get_input_embeddings()(x)
            # transformers warns that embeddings cannot be searched for pads:
            # that is the point here (left padding, the last position pooled)
            import logging
            lg = logging.getLogger("transformers.modeling_layers")
            level = lg.level
            lg.setLevel(logging.ERROR)
            try:
                logits = rm(inputs_embeds=emb, **kw).logits
            finally:
                lg.setLevel(level)
        else:
            logits = rm(input_ids=x, **kw).logits
        return logits[:, 0].to(device=back, dtype=torch.float64)



class _KFoldCache:
    """A model's own KV cache of the batch being generated, for lookahead:
    prefill at the first step; each step, expand() makes k copies of every
    row and look() runs one token per copy (the row's k candidates); at the
    next step advance() keeps the copy of the candidate that was chosen, so
    the prefix is never encoded twice. A chosen token that was not a
    candidate (another processor changed the choice) is fed for real."""

    def __init__(self, model, k):
        self.model, self.k = model, k
        params = inspect.signature(model.forward).parameters
        # transformers renames past_key_values to cache (deprecated in 5.x)
        self.arg = "cache" if "cache" in params else "past_key_values"
        self.reset()

    def reset(self) -> None:
        self.cache = None
        self.cand = None

    @staticmethod
    def mask_pos(length, pads, device):
        pos = torch.arange(length, device=device).unsqueeze(0) - pads.unsqueeze(1)
        return (pos >= 0).to(torch.long), pos.clamp(min=0)

    def forward(self, ids, mask, pos, hidden=False):
        kw = {self.arg: self.cache} if self.cache is not None else {}
        dev = _module_device(self.model, ids.device)
        ids, mask, pos = ids.to(dev), mask.to(dev), pos.to(dev)
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True,
                         output_hidden_states=hidden, **kw)
        new = getattr(out, "cache", None) if self.arg == "cache" else None
        self.cache = new if new is not None else out.past_key_values
        return out

    def advance(self, input_ids, pads, done, hidden=False, feed=False):
        """Brings the cache up to input_ids (rows, length). Returns the model
        output of the pass it ran (prefill or fed token), or None when the
        chosen candidates' copies were kept. feed: always feed the last token
        (no lookahead copies to keep)."""
        rows, length = input_ids.shape
        mask, pos = self.mask_pos(length, pads, input_ids.device)
        if self.cache is None:
            return self.forward(input_ids, mask, pos, hidden)
        last = input_ids[:, -1]
        if feed:
            return self.forward(last.unsqueeze(1), mask, pos[:, -1:], hidden)
        hit = self.cand == last.unsqueeze(1)                                    # (rows, k)
        found = hit.any(dim=1)
        j = torch.argmax(hit.to(torch.int64), dim=1)
        kk = self.cand.shape[1]
        keep = torch.arange(rows, device=input_ids.device) * kk + j
        self.cache.batch_select_indices(keep.to(_module_device(self.model, keep.device)))
        if bool((~found & ~done).any()):
            self.cache.crop(-1)
            return self.forward(last.unsqueeze(1), mask, pos[:, -1:], hidden)
        return None

    def look(self, cand, pads, length, hidden=False):
        """The k candidates (rows, k) of every row, one token each, through k
        copies of the cache (prefix length `length`). Returns the output."""
        kk = cand.shape[1]                      # k, or the vocabulary when smaller
        self.cache.batch_repeat_interleave(kk)
        mask, pos = self.mask_pos(length + 1, pads.repeat_interleave(kk), cand.device)
        self.cand = cand
        return self.forward(cand.clamp(min=0).reshape(-1, 1), mask, pos[:, -1:], hidden)


class CDLogitsProcessor(_GuidedProcessor):
    """Controlled Decoding (CD) as a transformers logits processor: the
    candidates are the top-k of log_softmax(scores / T) and each gets a value;
    fused = logp + lam * s(value), -inf outside the top-k.

    Two kinds of value:
    - a critic (value_model: a torch module mapping hidden states (n, H) to
      values (n,) or (n, 1), e.g. srs.cd.ValueMLP) on each candidate's own
      last-layer hidden state. That needs the language model (model=): the
      processor keeps its own KV cache of the batch, expands it k times per
      step and runs the k candidates of every row in one forward pass; the
      cache row of the chosen candidate is kept for the next step (no
      re-encoding of the prefix).
    - a value head over the vocabulary (value_head: a (H, vocab) tensor, or an
      nn.Linear(H, vocab), its bias included): the value of candidate v is
      head[:, v] . h (+ bias[v]) with h
      the prefix's last hidden state (one forward of the chosen token per row
      per step through the processor's cache).

    The authors' way is the default: the value function was trained on shaped
    targets offline (srs.cd), and decoding uses the value as it is (design
    "raw", T 0.7, k 10, lam 1.5, greedy). A shaping design at decode time stays
    available: design "soft"/"hard" with m_star (rows,) or one number (a
    per-row m*(x), e.g. from srs.thresholds over the offline samples' rewards)
    or without it the per-step threshold over the candidates (preset, B, beta
    = 1/lam), and the baselines, as ARGSLogitsProcessor.

    draw, tau, top_p, seeds: libsrs draws the token (as ARGSLogitsProcessor).

    Hidden states are model(..., output_hidden_states=True).hidden_states[-1],
    the same definition as srs.cd.sample's. The processor expects the prompts
    left-padded with pad_token_id (default: the model's config.pad_token_id;
    required for more than one row, as the processor is not given the
    attention mask) and recomputes its
    cache whenever a new generate() call starts.
    """

    def __init__(self, value_model: Optional[torch.nn.Module] = None, k: int = 10, T: float = 0.7,
                 lam: float = 1.5, model: Optional[torch.nn.Module] = None,
                 value_head: Union[torch.Tensor, torch.nn.Linear, None] = None, design: str = "raw",
                 preset: str = "paper-cd", B: float = 1.0, alpha: float = 1.0, cap: float = 2.0,
                 clip: Optional[float] = None, baselines: str = "paper", m_star: Any = None,
                 eos_token_id: EosIds = None, pad_token_id: Optional[int] = None, device: str = "auto",
                 draw: bool = False, tau: float = 1.0, top_p: float = 1.0, seeds: Seeds = 0) -> None:
        if (value_model is None) == (value_head is None):
            raise ValueError("give exactly one of value_model (a critic on hidden states) and value_head "
                             "(a value head over the vocabulary)")
        if model is None:
            raise ValueError("model= (the language model) is needed: the values come from its hidden states")
        if pad_token_id is None:
            pad_token_id = _text_cfg(model.config).pad_token_id
        if eos_token_id is None:
            eos_token_id = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
        self.value_model, self.model = value_model, model
        head, bias = value_head, None
        if head is not None and not torch.is_tensor(head):
            # nn.Linear(H, vocab): weight (vocab, H), bias (vocab,) or None
            head, bias = head.weight.detach().t(), getattr(head, "bias", None)
            bias = bias.detach() if bias is not None else None
        self.value_head, self.value_bias = head, bias
        self.m_star = m_star
        self._kc = _KFoldCache(model, k)
        super().__init__(k, lam, design, preset, B, alpha, cap, clip, baselines, T, eos_token_id,
                         pad_token_id, device, draw, tau, top_p, seeds)

    def _new_generation(self, input_ids):
        self._kc.reset()

    def _row_opts(self, active):
        extra = super()._row_opts(active)
        if self.m_star is None:
            return extra
        # per-row m*(x) of the rows of this step (the active ones)
        m = torch.as_tensor(self.m_star, dtype=torch.float64).reshape(-1)
        m = m.expand(self._rows) if m.numel() == 1 else m
        if m.numel() != self._rows:
            raise ValueError("m_star has %d values; expected one per row (%d) or a single number"
                             % (m.numel(), self._rows))
        return dict(extra, threshold="given", m_star=m.to(active.device)[active].cpu().numpy())

    def _critic(self, h):
        """The critic's values of hidden states h (n, H): float64 (n,) on h's
        device (h goes to the critic's device and dtype)."""
        params = getattr(self.value_model, "parameters", None)
        p = next(params(), None) if params is not None else None
        x = h if p is None else h.to(device=p.device, dtype=p.dtype)
        v = self.value_model(x)
        return v.reshape(h.shape[0]).to(device=h.device, dtype=torch.float64)

    @torch.no_grad()
    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        self._begin(input_ids)
        rows, length = input_ids.shape
        done = self.finished(input_ids)
        pads = self._left_pads(input_ids)
        head_mode = self.value_head is not None
        out = self._kc.advance(input_ids, pads, done, hidden=head_mode, feed=head_mode)
        ids, logp = self._candidates(scores)                                    # (rows, k)
        if head_mode:
            h = out.hidden_states[-1][:, -1].to(ids.device)                     # (rows, H): the prefix's
            head = self.value_head.to(device=h.device, dtype=h.dtype)
            cand = ids.clamp(min=0)
            values = torch.einsum("rh,hrk->rk", h, head[:, cand])
            if self.value_bias is not None:
                values = values + self.value_bias.to(device=h.device, dtype=h.dtype)[cand]
        else:
            # lookahead: every row's k candidates through the k-fold cache
            h = self._kc.look(ids, pads, length, hidden=True).hidden_states[-1][:, -1].to(ids.device)
            values = self._critic(h).reshape(ids.shape)
        values = values.to(torch.float64)
        active = ~done
        self._active = active
        fused = self._fuse(ids[active], logp[active], values[active]) if active.any() else None
        self.steps += 1
        return self._write(scores, active, ids[active], fused, done)


def _module_device(module, default):
    """The device of a module's first parameter (default when it has none)."""
    p = next(module.parameters(), None) if hasattr(module, "parameters") else None
    return p.device if p is not None else default


def _text_cfg(cfg):
    if cfg is None:
        return None
    get = getattr(cfg, "get_text_config", None)
    return get() if get is not None else cfg


def tiny_models(vocab: int = 100, hidden: int = 32, layers: int = 2, heads: int = 4, seed: int = 0,
                dtype: Optional[torch.dtype] = None, init: float = 0.3) -> Tuple[torch.nn.Module, torch.nn.Module]:
    """A tiny randomly initialised Llama-style causal LM and a sequence-
    classification reward model with the same vocabulary (num_labels 1), built
    from configs (nothing is downloaded): for tests and demonstrations.
    Token ids: 0 pad, 1 BOS, 2 EOS. dtype: e.g. torch.float64 (default
    float32). init: the weights' initialisation std (larger than
    transformers' 0.02 so that the random models have distinct preferences).
    Default (SDPA) attention: eager attention in float64 gives NaN for
    left-padded rows in transformers 5.24 (a fully masked pad query row).
    Returns (lm, reward_model), both in eval mode."""
    from transformers import LlamaConfig, LlamaForCausalLM, LlamaForSequenceClassification
    kw = dict(vocab_size=vocab, hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
              num_attention_heads=heads, num_key_value_heads=heads, max_position_embeddings=512,
              pad_token_id=0, bos_token_id=1, eos_token_id=2, tie_word_embeddings=False,
              initializer_range=init)
    torch.manual_seed(seed)
    lm = LlamaForCausalLM(LlamaConfig(**kw))
    torch.manual_seed(seed + 1)
    rm = LlamaForSequenceClassification(LlamaConfig(num_labels=1, **kw))
    for m in (lm, rm):
        if dtype is not None:
            m.to(dtype)
        m.eval()
    return lm, rm
