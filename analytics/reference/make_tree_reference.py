#!/usr/bin/env python3
"""scikit-learn CART reference for the churn tree (see README.md for the command).

Features/labels exactly as crates/analytics `tree::churn_tree` and the peer's logistic split:
split = ref_date - horizon (half the span); per customer with purchases before the split:
recency and tenure in days, frequency (distinct invoices), monetary clipped at 0 (raw units);
churned = no purchase at or after the split; train = customer_id % 4 != 0.
"""
import argparse, json
import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

ap = argparse.ArgumentParser()
ap.add_argument("--transactions", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--max-depth", type=int, default=3)
ap.add_argument("--min-samples-leaf", type=int, default=50)
ap.add_argument("--min-samples-split", type=int, default=100)
a = ap.parse_args()
tx = pd.read_csv(a.transactions, dtype={"customer_id": str, "invoice": str, "product": str})
tx["timestamp"] = pd.to_datetime(tx["timestamp"])
if "amount" not in tx.columns:
    tx["amount"] = tx["quantity"] * tx["unit_price"]
ref = tx["timestamp"].max().normalize() + pd.Timedelta(days=1)
horizon = (ref - tx["timestamp"].min().normalize()).days // 2
split = ref - pd.Timedelta(days=horizon)
cal, hold = tx[tx["timestamp"] < split], tx[tx["timestamp"] >= split]
g = cal.groupby("customer_id")
f = pd.DataFrame({
    "recency": (split - g["timestamp"].max()).dt.days,
    "frequency": g["invoice"].nunique(),
    "monetary": g["amount"].sum().clip(lower=0),
    "tenure": (split - g["timestamp"].min()).dt.days,
})
y = (~f.index.isin(hold["customer_id"].unique())).astype(int)
X = f.to_numpy(dtype=float)
test = pd.to_numeric(pd.Series(f.index), errors="coerce").fillna(0).astype(np.int64).to_numpy() % 4 == 0
m = DecisionTreeClassifier(max_depth=a.max_depth, min_samples_leaf=a.min_samples_leaf,
                           min_samples_split=a.min_samples_split, random_state=0).fit(X[~test], y[~test])
t = m.tree_
nodes = []
def walk(i):
    counts = [int(round(v)) for v in (t.value[i][0] * t.n_node_samples[i])]
    if t.children_left[i] == -1:
        nodes.append({"leaf": True, "counts": counts})
    else:
        nodes.append({"leaf": False, "feature": int(t.feature[i]), "threshold": float(t.threshold[i]), "counts": counts})
        walk(t.children_left[i]); walk(t.children_right[i])
walk(0)
json.dump({"params": vars(a), "feature_order": list(f.columns), "nodes": nodes,
           "test_accuracy": float((m.predict(X[test]) == y[test]).mean()),
           "n_train": int((~test).sum()), "n_test": int(test.sum())}, open(a.out, "w"), indent=1)
print("ok")
