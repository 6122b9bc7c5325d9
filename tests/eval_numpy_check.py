#!/usr/bin/python3
"""eval_numpy_check.py — an independent NumPy computation of srs eval's definitions.

    eval_numpy_check.py DATA.jsonl METRICS.csv B ALPHA CAP

Reads the JSONL data (rewards, gold), computes for the raw and soft designs under the
paper-cd preset (B_eff = min(B, 2 range), gamma = exp(min(B_eff/beta, cap)), the threshold
re-solved per beta by the sort-based formula of DESIGN.md) and every beta found in
METRICS.csv: the follower q ∝ p exp(s/beta) with p uniform, and the means over prompts of
proxy sum q u, gold sum q g and KL(q||p) = sum q log(q/p). Compares them with the `raw` and
`soft` rows of METRICS.csv, and their differences from raw with the proxy_vs_raw and
gold_vs_raw columns. No srs code is used. Exit 0 on agreement, 1 on a mismatch,
77 when NumPy is missing.
"""
import csv
import json
import sys

try:
    import numpy as np
except ImportError:
    print("numpy is not installed", file=sys.stderr)
    sys.exit(77)


def mstar(u, lg):
    """Threshold: max over top-k prefixes of (S_k + eps (T - S_k)) / (P_k + eps (1 - P_k))."""
    v = np.sort(u)[::-1]
    p = np.full(len(v), 1.0 / len(v))
    S = np.cumsum(p * v)
    P = np.cumsum(p)
    T = S[-1]
    eps = np.exp(-lg)
    return np.max((S + eps * (T - S)) / (P + eps * (1 - P)))


def main():
    data, metrics, B, alpha, cap = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
    rows = [json.loads(line) for line in open(data) if line.strip()]
    got = {}
    for r in csv.DictReader(open(metrics)):
        got[(r["design"], float(r["beta"]))] = (float(r["proxy"]), float(r["gold"]), float(r["kl"]),
                                                float(r["proxy_vs_raw"]), float(r["gold_vs_raw"]))
    betas = sorted({b for (_, b) in got})
    worst = 0.0
    bad = 0
    for beta in betas:
        acc = {"raw": np.zeros(3), "soft": np.zeros(3)}
        for r in rows:
            u = np.asarray(r["rewards"], dtype=np.float64)
            g = np.asarray(r["gold"], dtype=np.float64)
            n = len(u)
            p = np.full(n, 1.0 / n)
            rng = u.max() - u.min()
            beff = min(B, 2 * rng)
            lg = min(beff / beta, cap)
            m = mstar(u, lg)
            for name, s in (("raw", u), ("soft", beff / (1 + np.exp(-alpha * (u - m))))):
                logits = np.log(p) + s / beta
                logits -= logits.max()
                q = np.exp(logits)
                q /= q.sum()
                nz = q > 0
                kl = float(np.sum(q[nz] * np.log(q[nz] / p[nz])))
                acc[name] += np.array([q @ u, q @ g, kl])
        for name in ("raw", "soft"):
            want = acc[name] / len(rows)
            have = got.get((name, beta))
            if have is None:
                print(f"missing row {name} beta={beta}")
                bad += 1
                continue
            for k, label in enumerate(("proxy", "gold", "kl")):
                err = abs(have[k] - want[k])
                worst = max(worst, err)
                if not err <= 1e-9 * max(1.0, abs(want[k])):
                    print(f"{name} 1/beta={1 / beta:g} {label}: srs {have[k]!r} numpy {want[k]!r}")
                    bad += 1
            # the paired differences against raw: their means are the differences of the means
            for k, label in ((0, "proxy_vs_raw"), (1, "gold_vs_raw")):
                dwant = want[k] - acc["raw"][k] / len(rows)
                err = abs(have[3 + k] - dwant)
                worst = max(worst, err)
                if not err <= 1e-9 * max(1.0, abs(want[k])):
                    print(f"{name} 1/beta={1 / beta:g} {label}: srs {have[3 + k]!r} numpy {dwant!r}")
                    bad += 1
            print(f"{name:4s} 1/beta={1 / beta:<5g} proxy {want[0]: .6f} gold {want[1]:.6f} kl {want[2]:.6f}")
    print(f"{len(rows)} prompts, {len(betas)} betas, max |srs - numpy| = {worst:.3g}, {bad} mismatches")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
