"""Plain PyTorch re-implementations of the authors' batch-size-1 decoding loops
(ARGS and CD), written from ../shared/PAPER-CODE.md without srs: the oracles of
the transformers tests (test_hf_*.py). One prompt at a time, no padding, the
whole prefix re-run every step, every candidate scored alone."""
import math

import torch


def score_last(rm, seqs):
    """Rewards of sequences of one length, unpadded: logits[:, 0] pooled at
    the last position (embeddings in, so no pad-id detection)."""
    return rm(inputs_embeds=rm.get_input_embeddings()(seqs)).logits[:, 0].to(torch.float64)


def args_shape(design, r, logits, B, alpha, lam, bisect_steps=30):
    """The authors' ARGS shaping of rewards r (k,) given the candidates' raw
    logits (k,): soft/hard with the paper-args threshold by 30 bisection steps,
    and their baselines."""
    r = r.to(torch.float64)
    rng = float(r.max() - r.min())
    if design in ("soft", "hard"):
        p = torch.softmax(logits.to(torch.float64), dim=0)
        b_eff = min(1.01 * rng, B)
        c = min(math.exp(b_eff * lam), 2.0)        # beta = 1/lam
        lo, hi = float(r.min()), float(r.max())
        for _ in range(bisect_steps):
            m = (lo + hi) / 2
            w = torch.where(r >= m, c * p, p)
            if float((w * (r - m)).sum()) > 0:
                lo = m
            else:
                hi = m
        m = (lo + hi) / 2
        if design == "soft":
            return b_eff * torch.sigmoid(alpha * (r - m))
        return torch.where(r >= m, b_eff, 0.0).to(torch.float64)
    if design == "raw":
        return r
    mean = r.mean()
    if design == "meansoft":
        return B * torch.sigmoid(alpha * (r - mean))
    if design == "meanstd":
        return (r - mean) / max(float(r.std(unbiased=False)), 1e-6)
    if design == "minmax":
        return min(B, 1.01 * rng) * (r - r.min()) / max(rng, 1e-6)
    if design == "cap":
        return r - r.min()
    raise ValueError(design)


@torch.no_grad()
def args_loop(lm, rm, prompt, steps, k=10, design="soft", B=12.0, alpha=1.5, lam=0.5, eos=None, trace=None):
    """Greedy ARGS for one prompt (list of ids): (the generated ids, the
    smallest gap between the best and second fused score over the steps).
    trace: a list that gets, each step, (candidate ids (k,), their fused
    scores logit + lam * s minus the step's log-sum-exp of all logits (k,),
    i.e. the fused scores with log_softmax(logits) in place of the logits)."""
    ids = torch.tensor([prompt])
    out, gap = [], math.inf
    for _ in range(steps):
        logits = lm(ids).logits[0, -1]
        top, cand = torch.topk(logits, k)
        r = score_last(rm, torch.cat([ids.repeat(k, 1), cand.view(k, 1)], dim=1))
        fused = top.to(torch.float64) + lam * args_shape(design, r, top, B, alpha, lam)
        if trace is not None:
            trace.append((cand.clone(), fused - torch.logsumexp(logits.to(torch.float64), dim=0)))
        two = torch.topk(fused, 2).values
        gap = min(gap, float(two[0] - two[1]))
        nxt = int(cand[int(torch.argmax(fused))])
        out.append(nxt)
        ids = torch.cat([ids, torch.tensor([[nxt]])], dim=1)
        if eos is not None and nxt == eos:
            break
    return out, gap


@torch.no_grad()
def cd_loop(lm, prompt, steps, critic=None, head=None, k=10, T=0.7, lam=1.5, eos=None, bias=None, trace=None):
    """Greedy CD for one prompt, the authors' way: candidates the top-k of
    log_softmax(logits / T), value = critic on each candidate's own last hidden
    state (prefix + candidate re-run in full), or head[:, v] . h(prefix)
    (+ bias[v]); fused = logp + lam * V. Returns (ids, smallest best-vs-second
    gap). trace: a list that gets (candidate ids (k,), fused (k,)) each step."""
    ids = torch.tensor([prompt])
    out, gap = [], math.inf
    for _ in range(steps):
        o = lm(ids, output_hidden_states=True)
        logp = torch.log_softmax(o.logits[0, -1].to(torch.float64) / T, dim=0)
        top, cand = torch.topk(logp, k)
        if critic is not None:
            seqs = torch.cat([ids.repeat(k, 1), cand.view(k, 1)], dim=1)
            h = lm(seqs, output_hidden_states=True).hidden_states[-1][:, -1]
            v = critic(h).reshape(k).to(torch.float64)
        else:
            v = (o.hidden_states[-1][0, -1] @ head[:, cand]).to(torch.float64)
            if bias is not None:
                v = v + bias[cand].to(torch.float64)
        fused = top + lam * v
        if trace is not None:
            trace.append((cand.clone(), fused.clone()))
        two = torch.topk(fused, 2).values
        gap = min(gap, float(two[0] - two[1]))
        nxt = int(cand[int(torch.argmax(fused))])
        out.append(nxt)
        ids = torch.cat([ids, torch.tensor([[nxt]])], dim=1)
        if eos is not None and nxt == eos:
            break
    return out, gap
