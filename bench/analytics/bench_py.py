#!/usr/bin/env python3
"""Python side of the analytics benchmark: the reference libraries on the files of gen_data.py.

Usage: bench_py.py --data DIR --alg kmeans|rules|rules_low|ols|ols_matrix|arima_monthly|arima_long [--repeat R]
Prints one JSON object: the timings of each repeat (seconds), their median, the thread pools in
use (threadpoolctl) and the quality outputs (inertia, itemsets, coefficients, forecasts).
Loading the files is not timed; each timed region is what a user calls, exactly as the peer
script (shared/peer/analytics_peer.py) calls it.
"""
import argparse
import json
import statistics
import time
import warnings

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_info


CPU = []


def timeit(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        c0 = time.process_time()  # CPU time of the process, all threads
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        CPU.append(time.process_time() - c0)
    return times, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--alg", required=True)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--min-support", type=float)
    ap.add_argument("--min-confidence", type=float)
    a = ap.parse_args()
    d = a.data
    res = {"alg": a.alg, "side": "python"}

    if a.alg == "kmeans":
        from sklearn.cluster import KMeans
        X = np.fromfile(f"{d}/points.f64", dtype="<f8").reshape(-1, 3)

        def run():
            return KMeans(n_clusters=4, n_init=10, random_state=0).fit(X)
        times, km = timeit(run, a.repeat)
        res.update(inertia=float(km.inertia_), n_iter=int(km.n_iter_), n=len(X),
                   params="KMeans(n_clusters=4, n_init=10, random_state=0)")
    elif a.alg in ("rules", "rules_low"):
        # rules: the peer's thresholds; rules_low: a lower support with many more itemsets.
        low = a.alg == "rules_low"
        a.min_support = a.min_support or (0.005 if low else 0.02)
        a.min_confidence = a.min_confidence or (0.1 if low else 0.2)
        from mlxtend.frequent_patterns import apriori, association_rules
        from mlxtend.preprocessing import TransactionEncoder
        g = pd.read_csv(f"{d}/baskets.csv", dtype={"item": str})
        baskets = [list(v) for _, v in g.groupby("basket_id", sort=True)["item"]]

        def run():
            te = TransactionEncoder()
            onehot = pd.DataFrame(te.fit(baskets).transform(baskets), columns=te.columns_)
            fi = apriori(onehot, min_support=a.min_support, use_colnames=True)
            rules = association_rules(fi, num_itemsets=len(baskets), metric="confidence",
                                      min_threshold=a.min_confidence)
            return fi, rules
        times, (fi, rules) = timeit(run, a.repeat)
        res.update(n=len(baskets), min_support=a.min_support, min_confidence=a.min_confidence,
                   itemsets=sorted([sorted(s), int(round(sup * len(baskets)))]
                                   for s, sup in zip(fi["itemsets"], fi["support"])),
                   rules=sorted([sorted(r.antecedents), sorted(r.consequents), r.confidence, r.lift]
                                for r in rules.itertuples()))
    elif a.alg in ("ols", "ols_matrix"):
        import statsmodels.api as sm
        import statsmodels.formula.api as smf
        df = pd.read_csv(f"{d}/ols.csv")
        if a.alg == "ols":
            # Formula interface: the dummies for C(channel) are built inside the timed region.
            def run():
                f = smf.ols("sales ~ budget + tv_share + C(channel)", data=df).fit()
                return f, [f.params, f.bse, f.tvalues, f.pvalues, f.rsquared, f.rsquared_adj, f.fvalue, f.f_pvalue]
        else:
            X = pd.get_dummies(df[["budget", "tv_share", "channel"]], columns=["channel"], drop_first=True,
                               dtype=float)
            X = sm.add_constant(X).to_numpy()
            y = df["sales"].to_numpy()

            def run():
                f = sm.OLS(y, X).fit()
                return f, [f.params, f.bse, f.tvalues, f.pvalues, f.rsquared, f.rsquared_adj, f.fvalue, f.f_pvalue]
        times, (f, _) = timeit(run, a.repeat)
        names = (list(f.params.index) if a.alg == "ols" else
                 ["Intercept", "budget", "tv_share", "channel[T.radio]", "channel[T.search]", "channel[T.social]"])
        res.update(n=len(df), names=names, coef=[float(v) for v in np.asarray(f.params)],
                   std_err=[float(v) for v in np.asarray(f.bse)],
                   p=[float(v) for v in np.asarray(f.pvalues)], r2=float(f.rsquared))
    elif a.alg.startswith("arima"):
        from statsmodels.tsa.arima.model import ARIMA
        y = pd.read_csv(f"{d}/{a.alg}.csv")["value"].to_numpy(dtype=float)

        def run():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = ARIMA(y, order=(1, 1, 1)).fit()
                fc = fit.get_forecast(12)
                return fit, fc.predicted_mean, fc.conf_int(alpha=0.05)
        times, (fit, mean, ci) = timeit(run, a.repeat)
        res.update(n=len(y), params=[float(v) for v in fit.params], llf=float(fit.llf),
                   forecast=[float(v) for v in mean])
    else:
        raise SystemExit(f"unknown --alg {a.alg}")
    res["times"] = times
    res["median"] = statistics.median(times)
    res["cpu_times"] = CPU
    res["threads"] = {p["internal_api"] + ":" + p["prefix"]: p["num_threads"] for p in threadpool_info()}
    res["blas_kernel"] = sorted({p.get("architecture", "") for p in threadpool_info() if p.get("architecture")})
    print(json.dumps(res))


if __name__ == "__main__":
    main()
