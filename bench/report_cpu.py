#!/usr/bin/python3
"""report_cpu.py — builds results/cpu-threshold.md from the RESULT/CHECK/INFO lines
that bench_cpu and peers.py printed (bench/run_cpu.sh calls it).

    /usr/bin/python3 bench/report_cpu.py --command CMD --date DATE \
        [--detail LINE ...] LOG... > results/cpu-threshold.md

Every number in the report comes from the logs or from the machine it runs on;
the targets are judged from those numbers.
"""
import argparse
import os
import subprocess
import sys
from collections import defaultdict

# The targets.
TARGET_VS_NUMPY = 10.0      # srs at least this many times faster than NumPy
TARGET_VS_SCIPY = 1000.0    # ... and than SciPy per prompt
TARGET_VS_STREAM = 2.0      # dinkelbach and exact within this factor of one streaming read

SOLVERS = ["bisect", "dinkelbach", "exact"]
LABEL = {
    "stream": "streaming read (OpenMP sum, floor)",
    "bisect": "srs bisect",
    "dinkelbach": "srs dinkelbach",
    "exact": "srs exact",
    "numpy-bisect": "NumPy vectorised bisection",
    "scipy-bisect": "SciPy `bisect` per prompt (scaled)",
}
ORDER = ["stream", "bisect", "dinkelbach", "exact", "numpy-bisect", "scipy-bisect"]


def parse_kv(line):
    return dict(tok.split("=", 1) for tok in line.split()[1:] if "=" in tok)


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except Exception:   # a missing tool must not lose the whole report
        return ""


def machine():
    model = ""
    for line in sh("lscpu").splitlines():
        if line.startswith("Model name:"):
            model = line.split(":", 1)[1].strip()
    mem = ""
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 ** 2:.1f} GiB"
    except OSError:
        pass
    return dict(model=model or "unknown", cpus=str(os.cpu_count()), mem=mem or "unknown",
                gcc=sh("gcc --version").splitlines()[0] if sh("gcc --version") else "unknown",
                kernel=sh("uname -sr") or "unknown")


def fmt_s(x):
    return f"{x:.4g}"


def fmt_x(x):
    return f"{x:,.0f}×" if x >= 100 else f"{x:.3g}×"


def fmt_r(x):
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--command", required=True)
    ap.add_argument("--date", required=True)
    ap.add_argument("--loadavg", default="", help="/proc/loadavg when the run started")
    ap.add_argument("--detail", action="append", default=[],
                    help="a line for the 'commands per n' list")
    ap.add_argument("logs", nargs="+")
    a = ap.parse_args()

    res = defaultdict(dict)       # res[n][impl] -> RESULT fields
    check = defaultdict(dict)     # check[n][impl] -> max |m* - exact| from bench_cpu
    info = {}
    load = {}                     # load[n] -> 1-minute load average when n started
    for path in a.logs:
        for line in open(path):
            if line.startswith("RESULT "):
                kv = parse_kv(line)
                res[int(kv["n"])][kv["impl"]] = kv
            elif line.startswith("CHECK "):
                kv = parse_kv(line)
                check[int(kv["n"])][kv["impl"]] = float(kv["max_abs_diff"])
            elif line.startswith("LOAD "):
                kv = parse_kv(line)
                load[int(kv["n"])] = kv["avg1"]
            elif line.startswith("INFO "):
                info.update(parse_kv(line))
    if not res:
        sys.exit("report_cpu.py: no RESULT lines in the logs")
    ns = sorted(res)
    m = machine()

    out = []
    w = out.append
    w("# CPU threshold benchmark\n")
    w("Throughput of `srs_thresholds` (m\\*(x) for every prompt) on the CPU against one streaming "
      "read of the same input, a NumPy vectorised bisection over the whole batch and the authors' "
      "way (SciPy `bisect` per prompt), all in the same run on the same data.\n")
    w(f"- **Command:** `{a.command}`")
    w(f"- **Date (UTC):** {a.date}")
    w(f"- **Machine:** {m['model']}, {m['cpus']} CPUs, {m['mem']} memory, {m['kernel']}")
    if a.loadavg:
        w(f"- **Load average at start (1, 5, 15 min):** {' '.join(a.loadavg.split()[:3])} "
          f"(anything else running on the machine shares its cores with the benchmark)")
    w(f"- **Compiler:** {m['gcc']}; `-O3 -march=native -fopenmp`")
    w(f"- **Threads:** srs and the streaming read {info.get('threads', '?')} OpenMP threads; "
      f"NumPy/SciPy as they run (single-threaded element-wise operations)")
    w(f"- **Python peers:** Python {info.get('python', '?')}, NumPy {info.get('numpy', '?')}, "
      f"SciPy {info.get('scipy', '?')}")
    w(f"- **Configuration:** preset `{info.get('preset', '?')}`, B = {info.get('B', '?')}, "
      f"β = {info.get('beta', '?')}, cap = {info.get('cap', '?')}, bisection tol = "
      f"{info.get('tol', '?')} × max(1, range); input {info.get('dtype', '?')} NPY from "
      f"`srs gen --scenario overopt --seed 1`, memory-mapped, pages touched before timing")
    first = res[ns[0]]
    some = next(iter(first.values()))
    w(f"- **Timing:** srs and the streaming read best of {info.get('reps', '?')} interleaved "
      f"repetitions, caches flushed before each; NumPy best of {first.get('numpy-bisect', {}).get('reps', '?')} "
      f"(including the float32 → float64 conversion a NumPy user does); SciPy timed on the first "
      f"prompts (≥ 2 s) and scaled linearly to the batch. GB/s = input bytes / seconds "
      f"(1 GB = 10⁹ B).")
    w(f"- **srs version:** {info.get('srs_version', '?')}")
    if a.detail:
        w("\nCommands per n (DIR a temporary directory, deleted after the run):\n")
        w("```")
        out.extend(a.detail)
        w("```")
    w("")

    # ---- one table per n
    def speed(n, impl, ref):
        r = res[n]
        if ref not in r or impl not in r:
            return None
        return float(r[ref]["seconds"]) / float(r[impl]["seconds"])

    for n in ns:
        r = res[n]
        some = next(iter(r.values()))
        w(f"## n = {n}: {int(some['prompts']):,} prompts × {n} samples = "
          f"{int(some['samples']):,} samples ({int(some['bytes']) / 2 ** 20:.0f} MiB)\n")
        w("| implementation | seconds | prompts/s | GB/s | vs NumPy | vs SciPy | time / streaming read | max \\|Δm\\*\\| vs srs exact |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|")
        for impl in ORDER:
            if impl not in r:
                continue
            kv = r[impl]
            t = float(kv["seconds"])
            vs_np = speed(n, impl, "numpy-bisect")
            vs_sc = speed(n, impl, "scipy-bisect")
            ratio = t / float(r["stream"]["seconds"]) if "stream" in r else None
            if impl in check[n]:
                diff = f"{check[n][impl]:.1e}"
            elif kv.get("max_abs_diff", "nan") != "nan":
                diff = f"{float(kv['max_abs_diff']):.1e}"
                if impl == "scipy-bisect":
                    diff += f" (first {int(kv['measured_prompts']):,})"
            else:
                diff = "—"
            w(f"| {LABEL.get(impl, impl)} | {fmt_s(t)} | {float(kv['prompts_per_s']):.3g} | "
              f"{float(kv['gb_per_s']):.3g} | {fmt_x(vs_np) if vs_np else '—'} | "
              f"{fmt_x(vs_sc) if vs_sc else '—'} | {fmt_r(ratio) if ratio else '—'} | {diff} |")
        notes = []
        if "numpy-bisect" in r:
            kv = r["numpy-bisect"]
            notes.append(f"NumPy: {kv['iterations']} bisection steps over the whole batch, of which "
                         f"{float(kv['convert_seconds']):.3g} s converting to float64")
        if "scipy-bisect" in r:
            kv = r["scipy-bisect"]
            notes.append(f"SciPy: {int(kv['measured_prompts']):,} prompts measured in "
                         f"{float(kv['measured_seconds']):.3g} s, scaled to {int(kv['prompts']):,}")
        if n in load:
            notes.append(f"1-minute load average when this n started: {load[n]}")
        if notes:
            w("\n" + "; ".join(notes) + ".")
        w("")

    # ---- targets, judged from the numbers above
    w("## Targets\n")
    w("Per srs solver and n: the measured value, ✓ when the target is met.\n")
    w("| target | solver | " + " | ".join(f"n = {n}" for n in ns) + " | met |")
    w("|---|---|" + "---:|" * len(ns) + "---|")
    verdicts = []

    def target_rows(title, solvers, value, ok, fmt):
        fails = {}   # solver -> the n where the target is missed
        for s in solvers:
            cells = []
            row_ok = True
            for n in ns:
                v = value(n, s)
                good = v is not None and ok(v)
                row_ok &= good
                if not good:
                    fails.setdefault(s, []).append(f"{n}" + (" (not measured)" if v is None else ""))
                cells.append("—" if v is None else f"{fmt(v)} {'✓' if good else '✗'}")
            w(f"| {title} | {s} | " + " | ".join(cells) + f" | {'yes' if row_ok else 'no'} |")
        verdicts.append((title, ", ".join(solvers), fails))

    target_rows(f"≥ {TARGET_VS_NUMPY:g}× NumPy", SOLVERS,
                lambda n, s: speed(n, s, "numpy-bisect"), lambda v: v >= TARGET_VS_NUMPY, fmt_x)
    target_rows(f"≥ {TARGET_VS_SCIPY:g}× SciPy per prompt", SOLVERS,
                lambda n, s: speed(n, s, "scipy-bisect"), lambda v: v >= TARGET_VS_SCIPY, fmt_x)

    def stream_ratio(n, s):
        r = res[n]
        if s not in r or "stream" not in r:
            return None
        return float(r[s]["seconds"]) / float(r["stream"]["seconds"])

    target_rows(f"≤ {TARGET_VS_STREAM:g}× one streaming read", ["dinkelbach", "exact"],
                stream_ratio, lambda v: v <= TARGET_VS_STREAM, lambda v: f"{fmt_r(v)}×")
    w("")
    for title, solvers, fails in verdicts:
        w(f"- **{title}** ({solvers}): " +
          ("met for every solver and n." if not fails else "not met for " +
           "; ".join(f"{k} at n = {', '.join(v)}" for k, v in fails.items()) + "."))

    # ---- agreement
    worst = defaultdict(float)
    for n in ns:
        for impl, d in check[n].items():
            if impl != "exact":
                worst[LABEL[impl]] = max(worst[LABEL[impl]], d)
        for impl in ("numpy-bisect", "scipy-bisect"):
            kv = res[n].get(impl)
            if kv and kv.get("max_abs_diff", "nan") != "nan":
                worst[LABEL[impl]] = max(worst[LABEL[impl]], float(kv["max_abs_diff"]))
    if worst:
        w("\n**Agreement.** Largest |m\\* − m\\*(srs exact)| over all n: " +
          "; ".join(f"{k} {v:.1e}" for k, v in worst.items()) +
          f". The largest over every implementation is {max(worst.values()):.1e} (the bisections "
          f"stop at a bracket of {info.get('tol', '?')} × max(1, range); SciPy is compared on the "
          f"prompts it solved).")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
