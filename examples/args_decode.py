#!/usr/bin/env python3
"""ARGS with Stackelberg reward shaping in transformers' generate():
srs.hf.ARGSLogitsProcessor over a batch of prompts. One JSON line per prompt
(prompt, generated token ids, text).

    python examples/args_decode.py --model Qwen/Qwen3-8B \\
        --reward-model Skywork/Skywork-Reward-V2-Qwen3-8B --prompts-file prompts.txt
    python examples/args_decode.py --tiny --prompt "1 17 33" --prompt "1 5"

Defaults are the paper's ARGS setting: k 10, soft, paper-args, B 12, alpha 1.5,
lambda 0.5, greedy, the authors' baseline definitions, 128 new tokens. Unlike
the authors' loop, decoding stops at the tokenizer's EOS (--no-eos: never).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    C.add_model_args(ap)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--design", default="soft",
                    choices=["soft", "hard", "raw", "minmax", "meanstd", "cap", "meansoft"])
    ap.add_argument("--preset", default="paper-args", choices=["paper-args", "exact", "paper-cd"])
    ap.add_argument("--B", type=float, default=12.0)
    ap.add_argument("--alpha", type=float, default=1.5)
    ap.add_argument("--lam", type=float, default=0.5, help="lambda = 1/beta (the authors' rm_weight)")
    ap.add_argument("--baselines", default="paper", choices=["paper", "srs"])
    ap.add_argument("--perturb", default=None, choices=["noise", "random", "reversed"])
    ap.add_argument("--noise-std", type=float, default=1.0)
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--sample", action="store_true", help="sample softmax(fused / temperature)")
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-batch-tokens", type=int, default=1 << 16)
    ap.add_argument("--no-eos", action="store_true")
    ap.add_argument("--reward-cache", action="store_true",
                    help="score candidates through k copies of the reward model's KV cache")
    args = ap.parse_args()
    import torch
    from transformers import LogitsProcessorList
    import srs.hf
    lm, rm, tok, prompts, texts = C.load(args)
    pad = tok.pad_token_id if tok is not None else lm.config.pad_token_id
    eos = None if args.no_eos else (tok.eos_token_id if tok is not None else lm.config.eos_token_id)
    try:
        proc = srs.hf.ARGSLogitsProcessor(
            rm, k=args.k, design=args.design, preset=args.preset, B=args.B, alpha=args.alpha, lam=args.lam,
            baselines=args.baselines, eos_token_id=eos, pad_token_id=pad, perturb=args.perturb,
            noise_std=args.noise_std, seed=args.seed, max_batch_tokens=args.max_batch_tokens,
            reward_cache=args.reward_cache, tokenizer=tok if args.reward_tokenizer is not None else None,
            reward_tokenizer=args.reward_tokenizer)
    except ValueError as e:
        C.fail(str(e))
    torch.manual_seed(args.seed)
    for s in range(0, len(prompts), args.batch_size):
        ids, mask = C.left_pad(prompts[s:s + args.batch_size], pad)
        kw = dict(do_sample=True, temperature=args.temperature, top_k=0, top_p=1.0) if args.sample \
            else dict(do_sample=False)
        out = lm.generate(input_ids=ids.to(lm.device), attention_mask=mask.to(lm.device),
                          logits_processor=LogitsProcessorList([proc]), max_new_tokens=args.max_new_tokens,
                          pad_token_id=pad, eos_token_id=eos if eos is not None else [], **kw)
        C.emit(texts[s:s + args.batch_size], out[:, ids.shape[1]:].tolist(), tok, eos, pad)


if __name__ == "__main__":
    main()
