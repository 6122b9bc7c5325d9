#!/usr/bin/env python3
"""Controlled Decoding with SRS, the authors' way: shaping lives in the value
function's training targets, decoding uses the value as it is.

    train   sample N responses per prompt (with per-token hidden states), score
            them with the reward model, shape the scores (soft, paper-cd, B 15,
            beta 0.667, alpha 1), train the MLP critic, save it (--out)
    decode  srs.hf.CDLogitsProcessor with the saved critic (k 10, T 0.7,
            lambda 1.5, greedy); one JSON line per prompt

    python examples/cd_pipeline.py train --model meta-llama/Llama-3.1-8B \\
        --reward-model Skywork/Skywork-Reward-V2-Llama-3.1-8B --prompts-file train.txt --out value.pt
    python examples/cd_pipeline.py decode --model meta-llama/Llama-3.1-8B --value value.pt --prompts-file test.txt
    python examples/cd_pipeline.py train --tiny --prompt "1 17 33" --prompt "1 5" --out value.pt
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402


def train(args):
    import srs.cd
    lm, rm, tok, prompts, _ = C.load(args)
    pad = tok.pad_token_id if tok is not None else lm.config.pad_token_id
    eos = tok.eos_token_id if tok is not None else lm.config.eos_token_id
    samples = srs.cd.sample(lm, prompts, n=args.n, temperature=args.temperature, top_p=args.top_p,
                            max_new_tokens=args.max_new_tokens, seed=args.seed, eos_token_id=eos,
                            pad_token_id=pad)
    # a reward model with another vocabulary scores the text, re-tokenised
    rtok = args.reward_tokenizer
    rewards = srs.cd.score(rm, samples, pad_token_id=pad, tokenizer=tok if rtok is not None else None,
                           reward_tokenizer=rtok)
    targets = srs.cd.shape_targets(rewards, B=args.B, beta=args.beta, alpha=args.alpha)
    log = lambda m: sys.stderr.write(m + "\n")   # noqa: E731
    critic, hist = srs.cd.train_value(samples, targets, width=args.width, lr=args.lr, batch_size=args.batch,
                                      epochs=args.epochs, patience=args.patience, seed=args.value_seed, log=log)
    srs.cd.save_value(critic, args.out)
    log("saved %s (best epoch %d, validation loss %.6g)" % (args.out, hist["best_epoch"] + 1,
                                                            hist["val"][hist["best_epoch"]]))


def decode(args):
    import torch
    from transformers import LogitsProcessorList
    import srs.cd
    import srs.hf
    lm, _, tok, prompts, texts = C.load(args, reward=False)
    try:
        critic = srs.cd.load_value(args.value)
    except (OSError, ValueError) as e:
        C.fail("%s: %s" % (args.value, e))
    critic = critic.to(lm.device)
    pad = tok.pad_token_id if tok is not None else lm.config.pad_token_id
    eos = tok.eos_token_id if tok is not None else lm.config.eos_token_id
    proc = srs.hf.CDLogitsProcessor(critic, model=lm, k=args.k, T=args.T, lam=args.lam, eos_token_id=eos,
                                    pad_token_id=pad)
    torch.manual_seed(args.seed)
    for s in range(0, len(prompts), args.batch_size):
        ids, mask = C.left_pad(prompts[s:s + args.batch_size], pad)
        out = lm.generate(input_ids=ids.to(lm.device), attention_mask=mask.to(lm.device),
                          logits_processor=LogitsProcessorList([proc]), max_new_tokens=args.max_new_tokens,
                          pad_token_id=pad, eos_token_id=eos, do_sample=False)
        C.emit(texts[s:s + args.batch_size], out[:, ids.shape[1]:].tolist(), tok, eos, pad)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="sample, score, shape, train the value function")
    C.add_model_args(t)
    t.add_argument("--out", required=True, help="where to save the value function")
    t.add_argument("--n", type=int, default=10, help="samples per prompt")
    t.add_argument("--temperature", type=float, default=0.7)
    t.add_argument("--top-p", type=float, default=0.9)
    t.add_argument("--max-new-tokens", type=int, default=128)
    t.add_argument("--B", type=float, default=15.0)
    t.add_argument("--beta", type=float, default=0.667)
    t.add_argument("--alpha", type=float, default=1.0)
    t.add_argument("--width", type=int, default=8192)
    t.add_argument("--lr", type=float, default=1e-4)
    t.add_argument("--batch", type=int, default=64)
    t.add_argument("--epochs", type=int, default=15)
    t.add_argument("--patience", type=int, default=5)
    t.add_argument("--value-seed", type=int, default=42)
    d = sub.add_parser("decode", help="decode with a saved value function")
    C.add_model_args(d, reward=False)
    d.add_argument("--value", required=True)
    d.add_argument("--k", type=int, default=10)
    d.add_argument("--T", type=float, default=0.7)
    d.add_argument("--lam", type=float, default=1.5)
    d.add_argument("--max-new-tokens", type=int, default=128)
    d.add_argument("--batch-size", type=int, default=8)
    args = ap.parse_args()
    (train if args.cmd == "train" else decode)(args)


if __name__ == "__main__":
    main()
