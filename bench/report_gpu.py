#!/usr/bin/env python3
"""Merges srs's and PyTorch's JSON lines into results/gpu-threshold.md:
device, driver, command, date, raw numbers, and the issue's targets
(Dinkelbach and exact >= 80% of copy bandwidth for n >= 64, bisection
>= 50%, all >= 20x the PyTorch bisection)."""
import json, sys, datetime

def load(path):
    out = []
    try:
        for line in open(path):
            line = line.strip()
            if line.startswith("{"):
                out.append(json.loads(line))
    except FileNotFoundError:
        pass
    return out

srs, torch_rows, out, cmd, smi = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
S, T = load(srs), load(torch_rows)
head = next((r for r in S if "device_name" in r), {})
th = next((r for r in T if "torch" in r), {})
tb = {r["n"]: r for r in T if r.get("what") == "bisect"}
L = ["# GPU threshold benchmark", "",
     f"- date: {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}",
     f"- device: {head.get('device_name', '?')} (sm_{head.get('sm', '?')}, {head.get('sms', '?')} SMs, "
     f"L2 {head.get('l2_mb', '?')} MB); CUDA driver API {head.get('driver', '?')}, runtime {head.get('runtime', '?')}",
     f"- nvidia-smi: {smi}",
     f"- PyTorch: {th.get('torch', 'not run')}",
     f"- command: `{cmd}`",
     f"- samples per size: {head.get('total', '?')} float32, dense rows, preset exact, B = beta = 1", "",
     "Kernel: CUDA events around the launch, L2 flushed before each repeat, median. GB/s counts rewards read",
     "and (m*, B_eff) written; % of copy: against the faster, in this run, of a device-to-device cudaMemcpy "
     "and srs's copy kernel (kernels/common.cu) on the same bytes (read + write).",
     "e2e: srs_thresholds from host memory (pinned staging, copy in, kernel, copy out).", "",
     "| n | solver | kernel ms | GB/s | % of copy | target | e2e ms | PyTorch ms | speed-up | target 20x |",
     "|---|---|---|---|---|---|---|---|---|---|"]
kern = [r for r in S if r.get("what") == "kernel"]
e2e = {(r["n"], r["solver"]): r for r in S if r.get("what") == "e2e"}
for r in kern:
    n, s = r["n"], r["solver"]
    tgt = 50 if s == "bisect" else (80 if n >= 64 else 0)
    ok = "-" if tgt == 0 else ("met" if r["pct_copy"] >= tgt else f"MISSED (<{tgt}%)")
    t = tb.get(n)
    sp = t["ms"] / r["ms"] if t else float("nan")
    L.append(f"| {n} | {s} | {r['ms']:.4f} | {r['gbs']:.0f} | {r['pct_copy']:.1f} | {ok} | "
             f"{e2e.get((n, s), {}).get('ms', float('nan')):.2f} | {t['ms'] if t else float('nan'):.3f} | "
             f"{sp:.1f}x | {'met' if sp >= 20 else 'MISSED'} |")
L += ["", "Copy bandwidth per size (GB/s, read + write):", ""]
L += [f"- n = {r['n']}, {r['what']}: {r['gbs']:.0f} GB/s ({r['ms']:.4f} ms)" for r in S
      if r.get("what") in ("copy", "copy-kernel")]
L += ["", "## Raw", "", "```"] + [json.dumps(r) for r in S + T] + ["```", ""]
open(out, "w").write("\n".join(L))
print("\n".join(L[:40]))
