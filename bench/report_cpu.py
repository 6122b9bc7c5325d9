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
TARGET_VS_NUMPY = 10.0      # srs at least this many times faster than the NumPy bisection
TARGET_VS_SORT = 50.0       # ... than the NumPy sort-based exact root (dinkelbach, exact), every level
TARGET_VS_SCIPY = 1000.0    # ... and than SciPy per prompt
TARGET_VS_STREAM = 2.0      # dinkelbach and exact within this factor of one streaming read (best level)
TARGET_V3_VS_STREAM = 4.0   # ... and at v3 (AVX2) within this factor (the target for AVX2-only machines)
TARGET_V3_VS_V4 = 2.0       # v3 at most this many times the v4 time on the same machine

SOLVERS = ["bisect", "dinkelbach", "exact"]
LABEL = {
    "stream": "streaming read (OpenMP sum, floor)",
    "bisect": "srs bisect",
    "dinkelbach": "srs dinkelbach",
    "exact": "srs exact",
    "numpy-bisect": "NumPy vectorised bisection",
    "numpy-sort": "NumPy sort-based exact root",
    "scipy-bisect": "SciPy `bisect` per prompt (scaled)",
}
PEERS = ["numpy-sort", "numpy-bisect", "scipy-bisect"]


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


def cpu_flags():
    """The vector extensions the CPU reports, for the report's header."""
    have = set()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith(("flags", "Features")):
                have = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    names = [("sse4_2", "SSE4.2"), ("avx2", "AVX2"), ("fma", "FMA"), ("avx512f", "AVX-512F"),
             ("avx512bw", "AVX-512BW"), ("avx512dq", "AVX-512DQ"), ("avx512vl", "AVX-512VL"),
             ("asimd", "ASIMD"), ("sve", "SVE")]
    return ", ".join(f"{label} {'yes' if flag in have else 'no'}" for flag, label in names
                     if flag in have or flag in ("avx2", "avx512f", "asimd"))


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
    ap.add_argument("--levels", default="", help="the CPU levels measured, lowest first")
    ap.add_argument("logs", nargs="+")
    a = ap.parse_args()

    res = defaultdict(dict)       # res[n][(impl, level)] -> RESULT fields (peers: level "")
    check = defaultdict(dict)     # check[n][(impl, level)] -> max |m* - exact| from bench_cpu
    info = {}
    load = {}                     # load[n] -> 1-minute load average when n started
    for path in a.logs:
        for line in open(path):
            if line.startswith("RESULT "):
                kv = parse_kv(line)
                res[int(kv["n"])][(kv["impl"], kv.get("level", ""))] = kv
            elif line.startswith("CHECK "):
                kv = parse_kv(line)
                check[int(kv["n"])][(kv["impl"], kv.get("level", ""))] = float(kv["max_abs_diff"])
            elif line.startswith("LOAD "):
                kv = parse_kv(line)
                load[int(kv["n"])] = kv["avg1"]
            elif line.startswith("INFO "):
                info.update(parse_kv(line))
    if not res:
        sys.exit("report_cpu.py: no RESULT lines in the logs")
    ns = sorted(res)
    levels = a.levels.split() or sorted({lv for n in ns for (_, lv) in res[n] if lv})
    m = machine()
    flags = cpu_flags()

    out = []
    w = out.append
    w("# CPU threshold benchmark\n")
    w("Throughput of `srs_thresholds` (m\\*(x) for every prompt) on the CPU at every CPU level this "
      "machine runs (forced with `SRS_CPU`), against one streaming read of the same input, two NumPy "
      "peers over the whole batch (the exact root by sorting, and a vectorised bisection) and the "
      "authors' way (SciPy `bisect` per prompt), all in the same run on the same data.\n")
    w(f"- **Command:** `{a.command}`")
    w(f"- **Date (UTC):** {a.date}")
    w(f"- **Machine:** {m['model']}, {m['cpus']} CPUs, {m['mem']} memory, {m['kernel']}")
    w(f"- **CPU flags:** {flags}")
    w(f"- **CPU levels measured:** {', '.join(levels)} (compiled in: {info.get('cpu_levels', '?').replace(',', ', ')}); "
      f"a level is the same build's hot code compiled with `-march=x86-64-v2`, `-v3` or `-v4`")
    if a.loadavg:
        w(f"- **Load average at start (1, 5, 15 min):** {' '.join(a.loadavg.split()[:3])} "
          f"(anything else running on the machine shares its cores with the benchmark)")
    w(f"- **Compiler:** {m['gcc']}; `-O3 -fopenmp`, the hot code once per level, the streaming read "
      f"`-march=native`")
    w(f"- **Threads:** srs and the streaming read {info.get('threads', '?')} OpenMP threads; "
      f"NumPy/SciPy as they run (single-threaded element-wise operations)")
    w(f"- **Python peers:** Python {info.get('python', '?')}, NumPy {info.get('numpy', '?')}, "
      f"SciPy {info.get('scipy', '?')}")
    w(f"- **Configuration:** preset `{info.get('preset', '?')}`, B = {info.get('B', '?')}, "
      f"β = {info.get('beta', '?')}, cap = {info.get('cap', '?')}, bisection tol = "
      f"{info.get('tol', '?')} × max(1, range); input {info.get('dtype', '?')} NPY from "
      f"`srs gen --scenario overopt --seed 1`, memory-mapped, pages touched before timing")
    first = res[ns[0]]
    w(f"- **Timing:** srs and the streaming read best of {info.get('reps', '?')} interleaved "
      f"repetitions per level, caches flushed before each; NumPy best of "
      f"{first.get(('numpy-bisect', ''), {}).get('reps', '?')} (including the float32 → float64 "
      f"conversion a NumPy user does); SciPy timed on the first prompts (≥ 2 s) and scaled linearly "
      f"to the batch. GB/s = input bytes / seconds (1 GB = 10⁹ B).")
    w(f"- **srs version:** {info.get('srs_version', '?')}")
    if a.detail:
        w("\nCommands per n (DIR a temporary directory, deleted after the run):\n")
        w("```")
        out.extend(a.detail)
        w("```")
    w("")

    def sec(n, impl, lv=""):
        kv = res[n].get((impl, lv))
        return float(kv["seconds"]) if kv else None

    def speed(n, impl, lv, ref):
        t, r = sec(n, impl, lv), sec(n, ref)
        return r / t if t and r else None

    def stream_ratio(n, s, lv):
        t, r = sec(n, s, lv), sec(n, "stream", lv)
        return t / r if t and r else None

    # ---- one table per n
    for n in ns:
        r = res[n]
        some = next(iter(r.values()))
        w(f"## n = {n}: {int(some['prompts']):,} prompts × {n} samples = "
          f"{int(some['samples']):,} samples ({int(some['bytes']) / 2 ** 20:.0f} MiB)\n")
        w("| implementation | level | seconds | prompts/s | GB/s | vs NumPy sort | vs NumPy bisect | vs SciPy | "
          "time / streaming read | max \\|Δm\\*\\| vs srs exact |")
        w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        rows = [(impl, lv) for lv in levels for impl in ["stream"] + SOLVERS] + [(p, "") for p in PEERS]
        for impl, lv in rows:
            kv = r.get((impl, lv))
            if not kv:
                continue
            t = float(kv["seconds"])
            vs_so, vs_np, vs_sc = (speed(n, impl, lv, p) if impl != "stream" else None for p in PEERS)
            ratio = stream_ratio(n, impl, lv) if impl != "stream" and lv else None
            if impl == "stream":
                ratio = 1.0
            if (impl, lv) in check[n]:
                diff = f"{check[n][(impl, lv)]:.1e}"
            elif kv.get("max_abs_diff", "nan") != "nan":
                diff = f"{float(kv['max_abs_diff']):.1e}"
                if impl == "scipy-bisect":
                    diff += f" (first {int(kv['measured_prompts']):,})"
            else:
                diff = "—"
            w(f"| {LABEL.get(impl, impl)} | {lv or '—'} | {fmt_s(t)} | {float(kv['prompts_per_s']):.3g} | "
              f"{float(kv['gb_per_s']):.3g} | {fmt_x(vs_so) if vs_so else '—'} | {fmt_x(vs_np) if vs_np else '—'} | "
              f"{fmt_x(vs_sc) if vs_sc else '—'} | {fmt_r(ratio) if ratio else '—'} | {diff} |")
        notes = []
        if ("numpy-bisect", "") in r:
            kv = r[("numpy-bisect", "")]
            notes.append(f"NumPy bisection: {kv['iterations']} steps over the whole batch, of which "
                         f"{float(kv['convert_seconds']):.3g} s converting to float64")
        if ("scipy-bisect", "") in r:
            kv = r[("scipy-bisect", "")]
            notes.append(f"SciPy: {int(kv['measured_prompts']):,} prompts measured in "
                         f"{float(kv['measured_seconds']):.3g} s, scaled to {int(kv['prompts']):,}")
        if n in load:
            notes.append(f"1-minute load average when this n started: {load[n]}")
        if notes:
            w("\n" + "; ".join(notes) + ".")
        w("")

    # ---- targets, judged from the numbers above
    w("## Targets\n")
    w("Per srs solver, level and n: the measured value, ✓ when the target is met.\n")
    w("| target | solver | level | " + " | ".join(f"n = {n}" for n in ns) + " | met |")
    w("|---|---|---|" + "---:|" * len(ns) + "---|")
    verdicts = []

    def target_rows(title, solvers, lvs, value, ok, fmt):
        fails = {}   # "solver at level" -> the n where the target is missed
        for s in solvers:
            for lv in lvs:
                cells = []
                row_ok = True
                for n in ns:
                    v = value(n, s, lv)
                    good = v is not None and ok(v)
                    row_ok &= good
                    if not good:
                        fails.setdefault(f"{s} ({lv})", []).append(f"{n}" + (" (not measured)" if v is None else ""))
                    cells.append("—" if v is None else f"{fmt(v)} {'✓' if good else '✗'}")
                w(f"| {title} | {s} | {lv} | " + " | ".join(cells) + f" | {'yes' if row_ok else 'no'} |")
        verdicts.append((title, fails))

    target_rows(f"≥ {TARGET_VS_SORT:g}× NumPy sort-based exact", ["dinkelbach", "exact"], levels,
                lambda n, s, lv: speed(n, s, lv, "numpy-sort"), lambda v: v >= TARGET_VS_SORT, fmt_x)
    target_rows(f"≥ {TARGET_VS_NUMPY:g}× NumPy bisection", SOLVERS, levels,
                lambda n, s, lv: speed(n, s, lv, "numpy-bisect"), lambda v: v >= TARGET_VS_NUMPY, fmt_x)
    target_rows(f"≥ {TARGET_VS_SCIPY:g}× SciPy per prompt", SOLVERS, levels,
                lambda n, s, lv: speed(n, s, lv, "scipy-bisect"), lambda v: v >= TARGET_VS_SCIPY, fmt_x)
    if "v3" in levels and "v4" in levels:
        target_rows(f"v3 time ≤ {TARGET_V3_VS_V4:g}× v4 time", ["dinkelbach", "exact"], ["v3/v4"],
                    lambda n, s, lv: (sec(n, s, "v3") / sec(n, s, "v4")) if sec(n, s, "v3") and sec(n, s, "v4") else None,
                    lambda v: v <= TARGET_V3_VS_V4, lambda v: f"{fmt_r(v)}×")
    if "v3" in levels:
        target_rows(f"≤ {TARGET_V3_VS_STREAM:g}× one streaming read at v3 (AVX2)", ["dinkelbach", "exact"], ["v3"],
                    stream_ratio, lambda v: v <= TARGET_V3_VS_STREAM, lambda v: f"{fmt_r(v)}×")
    best = levels[-1:] if levels else []
    target_rows(f"≤ {TARGET_VS_STREAM:g}× one streaming read (best level)", ["dinkelbach", "exact"], best,
                stream_ratio, lambda v: v <= TARGET_VS_STREAM, lambda v: f"{fmt_r(v)}×")
    w("")
    for title, fails in verdicts:
        w(f"- **{title}**: " +
          ("met for every solver, level and n." if not fails else "not met for " +
           "; ".join(f"{k} at n = {', '.join(v)}" for k, v in fails.items()) + "."))

    # ---- agreement
    worst = defaultdict(float)
    for n in ns:
        for (impl, lv), d in check[n].items():
            if impl != "exact":
                key = f"{LABEL[impl]} ({lv})"
                worst[key] = max(worst[key], d)
        for impl in PEERS:
            kv = res[n].get((impl, ""))
            if kv and kv.get("max_abs_diff", "nan") != "nan":
                worst[LABEL[impl]] = max(worst[LABEL[impl]], float(kv["max_abs_diff"]))
    if worst:
        w("\n**Agreement.** Largest |m\\* − m\\*(srs exact, same level)| over all n (peers: against the "
          "last level's exact): " + "; ".join(f"{k} {v:.1e}" for k, v in worst.items()) +
          f". The bisections stop at a bracket of {info.get('tol', '?')} × max(1, range); SciPy is "
          f"compared on the prompts it solved.")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
