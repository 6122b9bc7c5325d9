"""What the two example scripts share: loading models (or tiny random ones),
prompts, and reporting errors the command-line way (a message, exit 1)."""
import json
import sys


def fail(msg):
    sys.stderr.write("%s: %s\n" % (sys.argv[0], msg))
    sys.exit(1)


def add_model_args(ap, reward=True):
    ap.add_argument("--model", help="causal LM: a HuggingFace name or local path")
    if reward:
        ap.add_argument("--reward-model", help="sequence-classification reward model; when its tokenizer's "
                        "vocabulary differs from --model's, every sequence it scores is decoded to text and "
                        "re-tokenised with its tokenizer (both scripts)")
    ap.add_argument("--tiny", action="store_true",
                    help="tiny random models built from configs (no download); prompts are token ids")
    ap.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16", "float64"])
    ap.add_argument("--device", default="cpu", help="torch device of the models (cpu, cuda, cuda:1)")
    ap.add_argument("--prompt", action="append", default=[], help="a prompt (repeatable)")
    ap.add_argument("--prompts-file", help="one prompt per line (tiny: space-separated token ids)")
    ap.add_argument("--seed", type=int, default=0)


def load(args, reward=True):
    """(lm, reward model or None, tokenizer or None, prompts as lists of ids, texts)."""
    import torch
    dt = None if args.dtype == "auto" else getattr(torch, args.dtype)
    texts = list(args.prompt)
    if args.prompts_file:
        try:
            with open(args.prompts_file, encoding="utf-8") as f:
                texts += [line.rstrip("\n") for line in f if line.strip()]
        except OSError as e:
            fail("%s: %s" % (args.prompts_file, e.strerror))
    if not texts:
        fail("no prompts: give --prompt or --prompts-file")
    if args.tiny:
        import srs.hf
        lm, rm = srs.hf.tiny_models(dtype=dt or torch.float64)
        prompts = []
        for i, t in enumerate(texts):
            try:
                ids = [int(v) for v in t.split()]
            except ValueError:
                fail("prompt %d (%r): --tiny takes token ids separated by spaces" % (i + 1, t))
            if not ids or min(ids) < 0 or max(ids) >= lm.config.vocab_size:
                fail("prompt %d: token ids must be in [0, %d)" % (i + 1, lm.config.vocab_size))
            prompts.append(ids)
        args.reward_tokenizer = None
        return lm.to(args.device), (rm.to(args.device) if reward else None), None, prompts, texts
    if not args.model or (reward and not args.reward_model):
        fail("give --model%s, or --tiny" % (" and --reward-model" if reward else ""))
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
    tok = AutoTokenizer.from_pretrained(args.model)
    kw = {"dtype": dt} if dt is not None else {}
    lm = AutoModelForCausalLM.from_pretrained(args.model, **kw).to(args.device).eval()
    rm = rtok = None
    if reward:
        rtok = AutoTokenizer.from_pretrained(args.reward_model)
        if rtok.pad_token_id is None:
            rtok.pad_token = rtok.eos_token
        rm = AutoModelForSequenceClassification.from_pretrained(args.reward_model, num_labels=1, **kw)
        rm = rm.to(args.device).eval()
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    if rm is not None and rm.config.pad_token_id is None:
        rm.config.pad_token_id = rtok.pad_token_id
    args.reward_tokenizer = rtok
    prompts = [tok(t, add_special_tokens=True)["input_ids"] for t in texts]
    return lm, rm, tok, prompts, texts


def left_pad(prompts, pad):
    import torch
    n = max(len(p) for p in prompts)
    ids = torch.tensor([[pad] * (n - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (n - len(p)) + [1] * len(p) for p in prompts])
    return ids, mask


def emit(texts, outs, tok, eos, pad):
    for t, o in zip(texts, outs):
        o = list(o)
        if eos is not None and eos in o:
            o = o[:o.index(eos) + 1]
        rec = {"prompt": t, "tokens": o}
        if tok is not None:
            rec["text"] = tok.decode(o, skip_special_tokens=True)
        sys.stdout.write(json.dumps(rec) + "\n")
