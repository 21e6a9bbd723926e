#!/usr/bin/env python3
"""Merge the JSON lines of bench_py.py and analytics_bench (Rust) and print a markdown table.

Usage: compare.py RESULTS.jsonl
Times are medians over every repeat of every round; the speed-up is Python median / Rust median.
Quality: k-means inertia (Rust must be <= scikit-learn), identical frequent itemsets (items and
counts) and rules for association rules, coefficient max relative difference for OLS, 12-step
forecast max relative difference for ARIMA.
"""
import json
import statistics
import sys
from collections import defaultdict

TARGET = {"kmeans": 2.0, "kmeans_1t": 2.0, "rules": 10.0, "rules_low": 10.0, "ols": 1.0, "ols_matrix": 1.0, "arima_monthly": 1.0, "arima_long": 1.0}
WHAT = {
    "kmeans": ("k-means k=4, n_init=10, {n} x 3", "scikit-learn KMeans"),
    "kmeans_1t": ("same, Rust on 1 thread", "scikit-learn KMeans (the run above)"),
    "rules": ("association rules, {n} baskets, support 0.02, confidence 0.2", "mlxtend apriori + association_rules"),
    "rules_low": ("association rules, {n} baskets, support 0.005, confidence 0.1", "mlxtend apriori + association_rules"),
    "ols": ("OLS formula sales ~ budget + tv_share + C(channel), {n} rows", "statsmodels smf.ols"),
    "ols_matrix": ("OLS on a prebuilt design matrix, {n} x 6", "statsmodels sm.OLS"),
    "arima_monthly": ("ARIMA(1,1,1) fit + 12-step forecast, peer monthly series", "statsmodels ARIMA"),
    "arima_long": ("ARIMA(1,1,1) fit + 12-step forecast, {n}-point series", "statsmodels ARIMA"),
}


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


def norm_name(s):
    return s.replace("C(channel)", "channel").replace("const", "Intercept")


def quality(alg, py, rs):
    if alg.startswith("kmeans"):
        ok = rs["inertia"] <= py["inertia"] * (1 + 1e-12)
        return (f"inertia {rs['inertia']:.6f} vs {py['inertia']:.6f} "
                f"({'equal or better' if ok else 'WORSE'}, rel {rs['inertia'] / py['inertia'] - 1:+.2e})"), ok
    if alg.startswith("rules"):
        pi = sorted(json.dumps(x) for x in py["itemsets"])
        ri = sorted(json.dumps(x) for x in rs["itemsets"])
        same_sets = pi == ri
        pr = {(tuple(a), tuple(c)): (conf, lift) for a, c, conf, lift in py["rules"]}
        rr = {(tuple(a), tuple(c)): (conf, lift) for a, c, conf, lift in rs["rules"]}
        same_rules = pr.keys() == rr.keys()
        md = max((max(rel(rr[k][0], v[0]), rel(rr[k][1], v[1])) for k, v in pr.items() if k in rr), default=0.0)
        ok = same_sets and same_rules and md <= 1e-12
        return (f"itemsets {len(ri)} vs {len(pi)} ({'identical' if same_sets else 'DIFFERENT'}), "
                f"rules {len(rr)} vs {len(pr)} ({'identical' if same_rules else 'DIFFERENT'}, "
                f"confidence/lift max rel diff {md:.1e})"), ok
    if alg in ("ols", "ols_matrix"):
        pn = [norm_name(n) for n in py["names"]]
        pc = dict(zip(pn, py["coef"]))
        ps = dict(zip(pn, py["std_err"]))
        md = max(rel(c, pc[n]) for n, c in zip(rs["names"], rs["coef"]))
        ms = max(rel(c, ps[n]) for n, c in zip(rs["names"], rs["std_err"]))
        ok = md <= 1e-6 and ms <= 1e-6 and set(pn) == set(rs["names"])
        return f"coef max rel diff {md:.1e}, std err {ms:.1e}", ok
    if alg.startswith("arima"):
        md = max(rel(a, b) for a, b in zip(rs["forecast"], py["forecast"]))
        ok = md <= 0.01
        return f"forecast max rel diff {md:.1e} (llf {rs['llf']:.3f} vs {py['llf']:.3f})", ok
    return "", True


def main():
    runs = defaultdict(lambda: defaultdict(list))
    for line in open(sys.argv[1]):
        line = line.strip()
        if line.startswith("{"):
            r = json.loads(line)
            runs[r["alg"]][r["side"]].append(r)
    if "kmeans_1t" in runs:
        runs["kmeans_1t"]["python"] = runs["kmeans"]["python"]
    print("| benchmark | reference | reference median s (CPU s) | Rust median s (CPU s) | speed-up | "
          "threads ref / Rust | quality | target | met |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    summary = []
    for alg in WHAT:
        if alg not in runs or not runs[alg]["python"] or not runs[alg]["rust"]:
            continue
        py_runs, rs_runs = runs[alg]["python"], runs[alg]["rust"]
        pt = [t for r in py_runs for t in r["times"]]
        rt = [t for r in rs_runs for t in r["times"]]
        pc = [t for r in py_runs for t in r.get("cpu_times", [])]
        rc = [t for r in rs_runs for t in r.get("cpu_times", [])]
        pm, rm = statistics.median(pt), statistics.median(rt)
        pcm = statistics.median(pc) if pc else float("nan")
        rcm = statistics.median(rc) if rc else float("nan")
        q, qok = quality(alg, py_runs[-1], rs_runs[-1])
        ratio = pm / rm
        met = ratio >= TARGET[alg] and qok
        pth = py_runs[-1]["threads"]
        pth_s = ", ".join(f"{k.split(':')[0]} {v}" for k, v in pth.items())
        desc, ref = WHAT[alg]
        # The sizes of this run's data (gen_data.py's defaults unless POINTS=... and so on).
        n = rs_runs[-1].get("n", py_runs[-1].get("n"))
        desc = desc.format(n=f"{n:,}" if isinstance(n, int) else "?")
        target = f">= {TARGET[alg]:g}x" if TARGET[alg] > 1 else "not slower (>= 1x)"
        print(f"| {desc} | {ref} | {pm:.4f} ({pcm:.2f}) | {rm:.4f} ({rcm:.2f}) | {ratio:.1f}x | "
              f"{pth_s} / {rs_runs[-1]['threads']} | {q} | {target} | {'yes' if met else 'NO'} |")
        summary.append({"alg": alg, "python_median_s": pm, "rust_median_s": rm, "python_cpu_s": pcm,
                        "rust_cpu_s": rcm, "speedup": ratio, "quality": q, "quality_ok": qok, "met": met,
                        "samples": [len(pt), len(rt)]})
    print()
    print(f"samples per side (repeats x rounds): " + ", ".join(f"{s['alg']} {s['samples'][0]}/{s['samples'][1]}"
                                                               for s in summary))
    kernels = {k for a in runs.values() for r in a["python"] for k in r.get("blas_kernel", [])}
    print(f"OpenBLAS kernel on the Python side (threadpoolctl): {', '.join(sorted(kernels)) or 'n/a'}")
    return summary


if __name__ == "__main__":
    main()
