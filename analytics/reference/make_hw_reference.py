#!/usr/bin/env python3
"""statsmodels Holt-Winters reference (see README.md for the command).

Series: the peer's monthly synthetic sales series (synthetic/peer.json, 36 months).
Initial states: classical rule (level = mean of season 1, trend = (mean season 2 - mean season 1)/m,
seasonals = season-1 values - level), passed as initialization_method="known".
Writes one fit with fixed smoothing parameters and one with optimized parameters.
"""
import argparse, json, warnings
import numpy as np
from statsmodels.tsa.holtwinters import ExponentialSmoothing

ap = argparse.ArgumentParser()
ap.add_argument("--peer-json", required=True)
ap.add_argument("--out", required=True)
a = ap.parse_args()
y = np.array(json.load(open(a.peer_json))["arima"]["series"], dtype=float)
m = 12
level = y[:m].mean()
trend = (y[m:2 * m].mean() - y[:m].mean()) / m
seasonal = y[:m] - level
def model():
    return ExponentialSmoothing(y, trend="add", seasonal="add", seasonal_periods=m,
                                initialization_method="known", initial_level=level,
                                initial_trend=trend, initial_seasonal=seasonal)
warnings.simplefilter("ignore")
fixed = model().fit(smoothing_level=0.3, smoothing_trend=0.1, smoothing_seasonal=0.2, optimized=False)
opt = model().fit()
out = {"period": m, "series": y.tolist(),
       "initial": {"level": level, "trend": trend, "seasonal": seasonal.tolist()},
       "fixed": {"alpha": 0.3, "beta": 0.1, "gamma": 0.2, "sse": float(fixed.sse),
                 "fitted": fixed.fittedvalues.tolist(), "forecast": fixed.forecast(12).tolist()},
       "optimized": {"alpha": float(opt.params["smoothing_level"]), "beta": float(opt.params["smoothing_trend"]),
                     "gamma": float(opt.params["smoothing_seasonal"]), "sse": float(opt.sse),
                     "forecast": opt.forecast(12).tolist()}}
json.dump(out, open(a.out, "w"), indent=1)
print(out["optimized"]["alpha"], out["optimized"]["beta"], out["optimized"]["gamma"], out["optimized"]["sse"])
