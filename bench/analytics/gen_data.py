#!/usr/bin/env python3
"""Deterministic synthetic inputs for the analytics benchmark (same files for Rust and Python).

Writes into OUT_DIR:
  points.f64     N x 3 float64, little-endian, row-major: a 4-Gaussian mixture (k-means)
  baskets.csv    basket_id,item: B baskets resampled with replacement from Groceries
  ols.csv        sales,budget,tv_share,channel: N_OLS rows, sales ~ budget + tv_share + C(channel)
  arima_*.csv    value: the peer's monthly sales series (synthetic_crm) and a long simulated
                 ARIMA(1,1,1) series
Every generator is seeded, so the files are byte-identical from run to run.
Usage: gen_data.py --data ../shared/data --out DIR [--points 1000000] [--baskets 100000] [--ols 1000000]
"""
import argparse
import os

import numpy as np
import pandas as pd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--baskets", type=int, default=100_000)
    ap.add_argument("--ols", type=int, default=1_000_000)
    ap.add_argument("--arima-long", type=int, default=2_000)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)

    # k-means: 4 Gaussians in 3-D, unequal weights and spreads, some overlap.
    rng = np.random.default_rng(20240601)
    centres = np.array([[0.0, 0.0, 0.0], [4.0, 1.0, 0.0], [1.0, 4.5, 1.0], [2.0, 2.0, 5.0]])
    sds = np.array([1.0, 0.8, 1.2, 0.9])
    weights = np.array([0.4, 0.25, 0.2, 0.15])
    comp = rng.choice(4, size=a.points, p=weights)
    pts = centres[comp] + rng.standard_normal((a.points, 3)) * sds[comp, None]
    pts.astype("<f8").tofile(os.path.join(a.out, "points.f64"))

    # Association rules: Groceries baskets resampled with replacement.
    g = pd.read_csv(os.path.join(a.data, "groceries_baskets.csv"), dtype={"item": str})
    groups = [list(v) for _, v in g.groupby("basket_id", sort=True)["item"]]
    rng = np.random.default_rng(7)
    pick = rng.integers(0, len(groups), size=a.baskets)
    rows = [(b + 1, it) for b, i in enumerate(pick) for it in groups[i]]
    pd.DataFrame(rows, columns=["basket_id", "item"]).to_csv(os.path.join(a.out, "baskets.csv"), index=False)

    # OLS: marketing budget, TV share and channel -> sales.
    rng = np.random.default_rng(11)
    n = a.ols
    budget = rng.gamma(4.0, 2500.0, n)
    tv = rng.uniform(0.0, 1.0, n)
    channel = rng.choice(np.array(["email", "radio", "search", "social"]), size=n, p=[0.2, 0.2, 0.35, 0.25])
    effect = pd.Series(channel).map({"email": 0.0, "radio": 1500.0, "search": 4000.0, "social": 2500.0}).to_numpy()
    sales = 5000.0 + 1.8 * budget + 3000.0 * tv + effect + rng.standard_normal(n) * 2500.0
    pd.DataFrame({"sales": sales, "budget": budget, "tv_share": tv, "channel": channel}).to_csv(
        os.path.join(a.out, "ols.csv"), index=False, float_format="%.17g")

    # ARIMA: the peer's monthly sales series on synthetic_crm (same definition as analytics_peer.py).
    tx = pd.read_csv(os.path.join(a.data, "synthetic_crm", "transactions.csv"), parse_dates=["timestamp"])
    if "amount" not in tx:
        tx["amount"] = tx["quantity"] * tx["unit_price"]
    s = tx.set_index("timestamp")["amount"].resample("MS").sum()
    last = tx["timestamp"].max().normalize()
    if last < s.index[-1] + pd.offsets.MonthEnd(0):
        s = s.iloc[:-1]
    pd.DataFrame({"value": s.to_numpy(dtype=float)}).to_csv(
        os.path.join(a.out, "arima_monthly.csv"), index=False, float_format="%.17g")
    # A long ARIMA(1,1,1) path: phi 0.6, theta -0.3, sigma 50, level 10,000.
    rng = np.random.default_rng(3)
    m = a.arima_long
    e = rng.standard_normal(m + 1) * 50.0
    w = np.zeros(m)
    for t in range(m):
        w[t] = 0.6 * (w[t - 1] if t else 0.0) + e[t + 1] - 0.3 * e[t]
    y = 10_000.0 + np.cumsum(w)
    pd.DataFrame({"value": y}).to_csv(os.path.join(a.out, "arima_long.csv"), index=False, float_format="%.17g")
    print(f"gen_data: wrote {a.out} (points {a.points}x3, baskets {a.baskets}, ols {n}, "
          f"arima monthly {len(s)}, long {m})")


if __name__ == "__main__":
    main()
