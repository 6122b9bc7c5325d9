#!/usr/bin/env python3
"""Guided-decoding step on the GPU: srs vs PyTorch eager vs torch.compile.

One step for a batch: top-k candidates of log_softmax(logits / T), shaping of
the candidates' scores (soft design, per-step paper-args threshold), fused
score, sampling at tau with top-p, and — "with values" — a value for every
vocabulary entry fused with the logits (srs_guide_vocab, top-k selection).

The PyTorch implementation is the authors' step written batched (their code
runs batch size 1); torch.compile is the same function compiled, once per
shape: dynamo's caches are reset before each configuration, the first call
(the compilation) is timed on its own and reported, and a recompilation during
the timed calls is an error (torch._dynamo.config.error_on_recompile), so the
column never silently falls back to eager. All three run in this process on
the same tensors. Timing: CUDA events, median of repeats, L2 flushed between
repeats. GB/s counts the logits (and values) read once; the bound is the
device-to-device copy bandwidth measured here.

Writes results/gpu-guide.md. Usage: python3 bench/guide_gpu.py [--quick]
(--quick: vocabulary 128256, 64 and 512 rows, bfloat16 logits, with and
without values: four configurations, for the one-call GPU session)
"""
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import torch  # noqa: E402
import srs  # noqa: E402

K = 10
T, TAU, TOP_P, LAM, B, ALPHA = 1.0, 0.7, 0.9, 2.0, 1.0, 1.0
QUICK = "--quick" in sys.argv
ROWS = [64, 512] if QUICK else [1, 8, 64, 256, 512]
VOCABS = [128256] if QUICK else [32000, 128256, 151936]
DTYPES = [torch.bfloat16] if QUICK else [torch.float32, torch.bfloat16]
REPEATS = 5 if QUICK else 30


def flush_l2(buf):
    buf.zero_()


def time_fn(fn, l2):
    ts = []
    for _ in range(3):
        fn()
    for _ in range(REPEATS):
        flush_l2(l2)
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        torch.cuda.synchronize()
        ts.append(a.elapsed_time(b) * 1e-3)
    return statistics.median(ts)


def copy_bandwidth():
    n = 1 << 28
    src = torch.empty(n, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    for _ in range(3):
        dst.copy_(src)
    torch.cuda.synchronize()
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    a.record()
    for _ in range(20):
        dst.copy_(src)
    b.record()
    torch.cuda.synchronize()
    return 2 * n * 20 / (a.elapsed_time(b) * 1e-3)   # read + write


# ----------------------------------------------------------------------------
# the same step in PyTorch (batched version of the authors' per-token code)

def paper_args_threshold(u, p, B_, lam):
    """Per-step threshold over k candidates (exact sort-based formula), batched."""
    rng_ = u.max(1).values - u.min(1).values
    beff = torch.minimum(torch.full_like(rng_, B_), 1.01 * rng_)
    lg = torch.clamp(beff * lam, max=0.6931471805599453)
    eps = torch.exp(-lg)[:, None]
    us, idx = u.sort(1, descending=True)
    ps = p.gather(1, idx)
    S = (ps * us).cumsum(1)
    P = ps.cumsum(1)
    TS, TP = S[:, -1:], P[:, -1:]
    val = (S + eps * (TS - S)) / (P + eps * (TP - P))
    return val.max(1).values, beff


def torch_step(logits, score_fn, gen):
    lp = torch.log_softmax(logits.float() / T, dim=-1)
    logp, ids = lp.topk(K, dim=-1)
    u = score_fn(ids)
    return torch_select(ids, logp, u, gen)


# Two entry points with tensors only (no closure): what torch.compile compiles,
# once per shape.
def torch_step_cands(logits, cand_scores, gen):
    return torch_step(logits, lambda ids: cand_scores, gen)


def torch_step_values(logits, values, gen):
    return torch_step(logits, lambda ids: values.gather(1, ids).float(), gen)


def torch_select(ids, logp, u, gen):
    p = torch.softmax(logp, dim=-1)
    m, beff = paper_args_threshold(u, p, B, LAM)
    s = beff[:, None] * torch.sigmoid(ALPHA * (u - m[:, None]))
    fused = logp + LAM * s
    pr = torch.softmax(fused / TAU, dim=-1)
    sp, si = pr.sort(-1, descending=True)
    keep = (sp.cumsum(-1) - sp) < TOP_P
    sp = sp * keep
    pick = torch.multinomial(sp, 1, generator=gen)
    return ids.gather(1, si.gather(1, pick)).squeeze(1)


def write_md(lines, dev, bw, done):
    """results/gpu-guide.md with the rows so far (rewritten after each configuration,
    so a run cut short still leaves what it measured)."""
    os.makedirs("results", exist_ok=True)
    # SRS_COMMIT: the device machine gets the working tree without .git
    commit = os.environ.get("SRS_COMMIT") or subprocess.run(["git", "rev-parse", "--short", "HEAD"],
                                                            capture_output=True, text=True).stdout.strip() or "unknown"
    with open("results/gpu-guide.md", "w") as f:
        f.write("# Guided decoding step on the GPU: srs vs PyTorch eager vs torch.compile\n\n")
        f.write("Command: `python3 bench/guide_gpu.py%s`; %s; commit %s; %s; torch %s; %s.\n\n"
                % (" --quick" if QUICK else "", dev, commit, datetime.date.today().isoformat(),
                   torch.__version__, platform.node()))
        f.write("Step: top-%d of log_softmax(logits/T), soft shaping with the per-step paper-args threshold, "
                "fused score, sampling at tau=%.1f with top-p %.1f. Median of %d repeats, L2 flushed. "
                "Copy bandwidth (device-to-device, read+write): %.0f GB/s.\n\n" % (K, TAU, TOP_P, REPEATS, bw / 1e9))
        f.write("torch.compile: compiled once per configuration (dynamo reset before each, dynamic=False); "
                "'compile s' is the first call's wall time, the compilation; recompiling while timed is an "
                "error, so the compiled column is never eager in disguise (nan: compilation failed, see stderr).\n\n")
        f.write("| vocab | rows | logits | values | srs µs | rows/s | eager µs | compiled µs | compile s | × eager "
                "| × compiled | GB/s | % copy bw |\n")
        f.write("|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
        for r in lines:
            f.write("| %d | %d | %s | %s | %.1f | %.3g | %.1f | %.1f | %.1f | %.1f | %.1f | %.0f | %.0f |\n" % r)
        if not done:
            f.write("\n(Partial: the run stopped after %d configurations.)\n" % len(lines))
        f.write("\nTargets for rows >= 64: >= 5x eager, >= 2x torch.compile, >= 60% of the copy bound.\n")


def main():
    dev = torch.cuda.get_device_name()
    bw = copy_bandwidth()
    l2 = torch.empty(256 << 20, dtype=torch.uint8, device="cuda")
    g = srs.Guide("cuda")
    gen = torch.Generator(device="cuda").manual_seed(0)
    lines = []
    for V in VOCABS:
        for R in ROWS:
            for dt in DTYPES:
                for with_values in (False, True):
                    logits = torch.randn(R, V, device="cuda").mul_(3).to(dt)
                    values = torch.randn(R, V, device="cuda").to(dt) if with_values else None
                    cand_scores = torch.randn(R, K, device="cuda")
                    if with_values:
                        def score_fn(ids, values=values):
                            return values.gather(1, ids).float()

                        def srs_step():
                            return g.vocab(logits, values, k=K, T=T, design="soft", lam=LAM, B=B,
                                           mode="sample", tau=TAU, top_p=TOP_P, seed=1, step=0)
                    else:
                        def score_fn(ids, cs=cand_scores):
                            return cs

                        def srs_step():
                            ids, lp, _ = g.candidates(logits, k=K, T=T)
                            return g.select(ids, lp, cand_scores, design="soft", lam=LAM, B=B,
                                            mode="sample", tau=TAU, top_p=TOP_P, seed=1, step=0)
                    t_srs = time_fn(srs_step, l2)
                    t_eager = time_fn(lambda: torch_step(logits, score_fn, gen), l2)
                    # torch.compile: fresh caches, compiled once for this shape (the
                    # first call, timed alone), no recompilation while timed
                    second = values if with_values else cand_scores
                    t_comp, t_build = float("nan"), float("nan")
                    torch._dynamo.reset()
                    compiled = torch.compile(torch_step_values if with_values else torch_step_cands, dynamic=False)
                    try:
                        torch.cuda.synchronize()
                        c0 = time.perf_counter()
                        compiled(logits, second, gen)
                        torch.cuda.synchronize()
                        t_build = time.perf_counter() - c0
                        torch._dynamo.config.error_on_recompile = True
                        t_comp = time_fn(lambda: compiled(logits, second, gen), l2)
                    except Exception as e:  # torch.compile can fail on a setup; say so
                        print("torch.compile failed (V=%d R=%d %s values=%s): %s" % (V, R, dt, with_values, e),
                              file=sys.stderr)
                    finally:
                        torch._dynamo.config.error_on_recompile = False
                    nbytes = logits.numel() * logits.element_size() * (2 if with_values else 1)
                    gbs = nbytes / t_srs / 1e9
                    row = (V, R, str(dt).replace("torch.", ""), "yes" if with_values else "no",
                           t_srs * 1e6, R / t_srs, t_eager * 1e6, t_comp * 1e6, t_build, t_eager / t_srs,
                           t_comp / t_srs, gbs, 100 * nbytes / t_srs / bw)
                    lines.append(row)
                    print("V=%d R=%d %s values=%s: srs %.1f us, eager %.1f us, compiled %.1f us (compile %.1f s), "
                          "%.0f GB/s (%.0f%%)" % (V, R, row[2], row[3], row[4], row[6], row[7], t_build, gbs, row[12]),
                          file=sys.stderr)
                    write_md(lines, dev, bw, False)
    write_md(lines, dev, bw, True)
    print("wrote results/gpu-guide.md", file=sys.stderr)


if __name__ == "__main__":
    main()
