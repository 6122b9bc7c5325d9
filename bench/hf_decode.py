#!/usr/bin/env python3
"""Time per generated token of ARGS and CD inside transformers' generate()
(srs.hf processors, batches of 1, 8, 32 left-padded prompts) against the
batch-size-1 reference loops written from the authors' description
(tests/python/hf_reference.py: one prompt at a time, the prefix re-run every
step without a KV cache, the k candidates scored in one batch; the authors'
own CD loop keeps a KV cache and expands it k times, so it is not this), on
the tiny random Llama models (srs.hf.tiny_models, float32) on the CPU.

Time per token = wall time / (prompts x new tokens); the batch-1 loop runs the
same prompts one after another. Greedy, k 10, EOS off, torch threads fixed.
Writes results/hf-decode.md. Usage: python3 bench/hf_decode.py [--quick] [--threads N]
"""
import argparse
import datetime
import os
import platform
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "python"))
import torch  # noqa: E402
from transformers import LogitsProcessorList  # noqa: E402
import transformers  # noqa: E402

import srs.hf as hf  # noqa: E402
import hf_reference as ref  # noqa: E402


REF_LABEL = "reference batch-1 loop (no KV cache)"


def prompts(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        L = int(torch.randint(4, 17, (1,), generator=g))
        out.append([1] + torch.randint(3, 100, (L - 1,), generator=g).tolist())
    return out


def left_pad(ps):
    n = max(len(p) for p in ps)
    ids = torch.tensor([[0] * (n - len(p)) + p for p in ps])
    mask = torch.tensor([[0] * (n - len(p)) + [1] * len(p) for p in ps])
    return ids, mask


def srs_run(lm, proc, ps, steps):
    ids, mask = left_pad(ps)
    t = time.perf_counter()
    lm.generate(input_ids=ids, attention_mask=mask, logits_processor=LogitsProcessorList([proc]),
                max_new_tokens=steps, min_new_tokens=steps, pad_token_id=0, eos_token_id=[], do_sample=False)
    return time.perf_counter() - t


def ref_run(fn, ps):
    t = time.perf_counter()
    for p in ps:
        fn(p)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=os.path.join(HERE, "..", "results", "hf-decode.md"))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    steps = 8 if a.quick else 32
    reps = 1 if a.quick else 3
    lm, rm = hf.tiny_models(dtype=torch.float32)
    torch.manual_seed(5)
    H = lm.config.hidden_size
    critic = torch.nn.Sequential(torch.nn.Linear(H, 64), torch.nn.Tanh(), torch.nn.Linear(64, 1))
    load0 = os.getloadavg()
    rows = []
    with torch.no_grad():
        for batch in (1, 8, 32):
            ps = prompts(batch)
            ntok = batch * steps
            cases = [
                ("ARGS", "srs.hf.ARGSLogitsProcessor in generate()",
                 lambda: srs_run(lm, hf.ARGSLogitsProcessor(rm, pad_token_id=0, k=10), ps, steps)),
                ("ARGS", "same, reward_cache=True",
                 lambda: srs_run(lm, hf.ARGSLogitsProcessor(rm, pad_token_id=0, k=10, reward_cache=True), ps, steps)),
                ("ARGS", REF_LABEL,
                 lambda: ref_run(lambda p: ref.args_loop(lm, rm, p, steps), ps)),
                ("CD", "srs.hf.CDLogitsProcessor in generate()",
                 lambda: srs_run(lm, hf.CDLogitsProcessor(critic, model=lm, eos_token_id=[]), ps, steps)),
                ("CD", REF_LABEL,
                 lambda: ref_run(lambda p: ref.cd_loop(lm, p, steps, critic=critic), ps)),
            ]
            for algo, what, fn in cases:
                ts = [fn() for _ in range(reps)]
                ms = 1e3 * statistics.median(ts) / ntok
                rows.append((algo, batch, what, ms))
                print("%-4s batch %2d  %-42s %8.3f ms/token" % (algo, batch, what, ms), flush=True)
    load1 = os.getloadavg()
    with open(a.out, "w") as f:
        f.write("# ARGS and CD in transformers' generate(): time per generated token (CPU, tiny model)\n\n")
        f.write("Command: `python3 bench/hf_decode.py%s --threads %d` (%s UTC).\n\n"
                % (" --quick" if a.quick else "", a.threads,
                   datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")))
        f.write("Machine: %s, %d CPUs visible, torch %s (%d thread%s), transformers %s, Python %s. "
                "Load average %.2f before, %.2f after (the machine is shared: other jobs ran meanwhile, "
                "so treat the numbers as rough).\n\n"
                % (platform.processor() or platform.machine(), os.cpu_count(), torch.__version__, a.threads,
                   "" if a.threads == 1 else "s", transformers.__version__, platform.python_version(),
                   load0[0], load1[0]))
        f.write("Tiny random Llama (hidden 32, 2 layers, vocab 100, float32, SDPA), reward model of the same "
                "shape, critic Linear(32, 64)-tanh-Linear(64, 1); k 10, greedy, %d new tokens per prompt, "
                "no EOS; prompts of 4-16 tokens; median of %d run%s. Per token = wall / (prompts x tokens). "
                "No GPU was lent to this session: no GPU or real-model numbers.\n\n"
                % (steps, reps, "" if reps == 1 else "s"))
        f.write("| pipeline | batch | implementation | ms per token |\n|---|---:|---|---:|\n")
        for algo, batch, what, ms in rows:
            f.write("| %s | %d | %s | %.3f |\n" % (algo, batch, what, ms))
        f.write("\nThe reference loops are the tests' oracles (tests/python/hf_reference.py), batch-size-1 "
                "loops written from the authors' description (../shared/PAPER-CODE.md), not the authors' "
                "code: the prefix is re-run every step without a KV cache, the k candidates go through the "
                "reward model (ARGS) or the LM (CD) as one batch of k. The authors' own CD loop keeps a KV "
                "cache and expands it k times for the candidates (as srs's CD processor does), so the CD "
                "reference rows are not a timing of their code. On a model this small, per-call overheads "
                "dominate; the ratios at batch 1 are not what a real 8B model would show.\n")
        for algo, what in (("ARGS", "srs.hf.ARGSLogitsProcessor in generate()"), ("ARGS", "same, reward_cache=True"),
                           ("CD", "srs.hf.CDLogitsProcessor in generate()")):
            t = {(r[0], r[2]): r[3] for r in rows if r[1] == 1}
            mine, theirs = t.get((algo, what)), t.get((algo, REF_LABEL))
            if mine is not None and theirs is not None and mine > theirs:
                f.write("\nAt batch 1, %s (%s) is slower than the reference loop: %.3f against %.3f ms per "
                        "token.\n" % (algo, what, mine, theirs))
    print("wrote", a.out)


if __name__ == "__main__":
    main()
