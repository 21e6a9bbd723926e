"""Reference for crates/analytics/src/win_probability.rs (scikit-learn LogisticRegression).

Generates a synthetic set of closed and open opportunities whose outcome depends on
known features, computes each deal's leak-free owner win rate by brute force, splits the
closed deals with the same seeded stratified rule as Rapport (`holdout_split`), and fits
scikit-learn's LogisticRegression on z-scored features twice: on the train split (scored
on the test split) and on all closed deals (scoring the open ones).

    python make_reference.py --out .     # writes deals.csv and reference.json

Run from analytics/reference/win_probability with the pinned packages of
shared/peer/requirements-analytics.txt (numpy 2.4.6, scikit-learn 1.9.1).
"""

import argparse
import json
import math
import os

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.preprocessing import StandardScaler

MASK = (1 << 64) - 1
DAY = 86400
STAGES = [("Qualification", 0.1), ("Discovery", 0.2), ("Proposal", 0.4), ("Negotiation", 0.6), ("Commit", 0.8)]
FEATURES = ["stage_probability", "log_age_days", "log_days_in_stage", "log_amount", "log_activities", "owner_win_rate"]
PRIOR_WEIGHT = 5.0


def splitmix64(x):
    z = (x + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def holdout_split(ids, outcomes, fraction, seed):
    key = splitmix64(seed)
    test = [False] * len(ids)
    for cls in (False, True):
        rows = [i for i in range(len(ids)) if outcomes[i] == cls]
        n = len(rows)
        if n < 2:
            continue
        rows.sort(key=lambda i: (splitmix64(key ^ (ids[i] & MASK)), ids[i]))
        k = min(max(int(math.floor(fraction * n + 0.5)), 1), n - 1)
        for i in rows[:k]:
            test[i] = True
    return test


def owner_rate(history, owner, as_of):
    """Brute force: deals closed strictly before as_of, smoothed toward the team rate."""
    past = [h for h in history if h["closed_at"] < as_of]
    team = sum(h["won"] for h in past) / len(past) if past else 0.5
    mine = [h for h in past if h["owner"] == owner]
    return (sum(h["won"] for h in mine) + PRIOR_WEIGHT * team) / (len(mine) + PRIOR_WEIGHT)


def features(d):
    return [
        d["stage_probability"],
        math.log1p(max(d["age_days"], 0.0)),
        math.log1p(max(d["days_in_stage"], 0.0)),
        math.log1p(max(d["amount"], 0.0)),
        math.log1p(max(d["activities"], 0.0)),
        d["owner_win_rate"],
    ]


def fit(x, y, c):
    scaler = StandardScaler().fit(x)
    m = LogisticRegression(C=c, solver="lbfgs", tol=1e-12, max_iter=100000).fit(scaler.transform(x), y)
    return scaler, m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=".")
    ap.add_argument("--seed", type=int, default=0, help="seed of the held-out split")
    args = ap.parse_args()

    rng = np.random.default_rng(9)
    n_closed, n_open, n_owners = 300, 30, 8
    skill = rng.normal(0.0, 0.9, n_owners)
    start = 1_704_067_200  # 2024-01-01
    close_days = np.sort(rng.choice(730, n_closed, replace=False))
    deals = []
    for i in range(n_closed + n_open):
        owner = int(rng.integers(n_owners))
        stage, p = STAGES[int(rng.integers(len(STAGES)))]
        age = int(np.round(rng.lognormal(3.3, 0.7)))
        in_stage = int(np.round(age * rng.uniform(0.05, 0.9)))
        amount = round(float(rng.lognormal(8.5, 1.0)), 2)
        activities = int(rng.poisson(math.exp(1.4 + 0.35 * skill[owner])))
        logit = (
            -0.2
            + 3.0 * (p - 0.4)
            + 1.1 * (math.log1p(activities) - 1.5)
            + 0.9 * skill[owner]
            - 0.35 * (math.log1p(amount) - 8.5)
            - 0.3 * (math.log1p(in_stage) - 2.5)
        )
        won = bool(rng.random() < 1.0 / (1.0 + math.exp(-logit)))
        closed = i < n_closed
        deals.append(
            {
                "id": None,  # set below
                "owner": 100 + owner,
                "stage": stage,
                "stage_probability": p,
                "age_days": float(age),
                "days_in_stage": float(in_stage),
                "amount": amount,
                "activities": float(activities),
                "closed_at": start + int(close_days[i]) * DAY + 3600 * int(rng.integers(8, 18)) if closed else None,
                "won": won if closed else None,
            }
        )
    # Shuffle ids so that they do not follow close dates.
    perm = rng.permutation(len(deals))
    for d, j in zip(deals, perm):
        d["id"] = 1001 + 3 * int(j)
    history = [d for d in deals if d["closed_at"] is not None]
    as_of = start + 730 * DAY
    for d in deals:
        d["owner_win_rate"] = owner_rate(history, d["owner"], d["closed_at"] if d["closed_at"] is not None else as_of)

    closed = sorted(history, key=lambda d: d["id"])
    open_ = sorted([d for d in deals if d["closed_at"] is None], key=lambda d: d["id"])
    x = np.array([features(d) for d in closed])
    y = np.array([d["won"] for d in closed])
    ids = [d["id"] for d in closed]
    c = 1.0
    is_test = holdout_split(ids, list(y), 0.25, args.seed)
    tr = np.array([not t for t in is_test])
    te = np.array(is_test)
    tscaler, tmodel = fit(x[tr], y[tr], c)
    tp = tmodel.predict_proba(tscaler.transform(x[te]))[:, 1]
    scaler, model = fit(x, y, c)
    xo = np.array([features(d) for d in open_])
    po = model.predict_proba(scaler.transform(xo))[:, 1]

    os.makedirs(args.out, exist_ok=True)
    cols = ["id", "owner", "stage", "stage_probability", "age_days", "days_in_stage", "amount", "activities", "closed_at", "outcome", "owner_win_rate"]
    with open(os.path.join(args.out, "deals.csv"), "w") as f:
        f.write(",".join(cols) + "\n")
        for d in sorted(deals, key=lambda d: d["id"]):
            outcome = "" if d["won"] is None else ("won" if d["won"] else "lost")
            closed_at = "" if d["closed_at"] is None else str(d["closed_at"])
            row = [d["id"], d["owner"], d["stage"], repr(d["stage_probability"]), repr(d["age_days"]), repr(d["days_in_stage"]),
                   repr(d["amount"]), repr(d["activities"]), closed_at, outcome, repr(d["owner_win_rate"])]
            f.write(",".join(str(v) for v in row) + "\n")
    out = {
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "C": c,
        "seed": args.seed,
        "test_fraction": 0.25,
        "as_of": as_of,
        "features": FEATURES,
        "n_closed": len(closed),
        "n_won": int(y.sum()),
        "holdout": {
            "test_ids": [i for i, t in zip(ids, is_test) if t],
            "n_train": int(tr.sum()),
            "n_test": int(te.sum()),
            "scaler_mean": tscaler.mean_.tolist(),
            "scaler_std": tscaler.scale_.tolist(),
            "coef": tmodel.coef_[0].tolist(),
            "intercept": float(tmodel.intercept_[0]),
            "test_auc": float(roc_auc_score(y[te], tp)),
            "test_accuracy": float(np.mean((tp >= 0.5) == y[te])),
            "test_log_loss": float(log_loss(y[te], tp, labels=[False, True])),
        },
        "model": {
            "scaler_mean": scaler.mean_.tolist(),
            "scaler_std": scaler.scale_.tolist(),
            "coef": model.coef_[0].tolist(),
            "intercept": float(model.intercept_[0]),
        },
        "open": [{"id": d["id"], "p_win": float(p)} for d, p in zip(open_, po)],
    }
    with open(os.path.join(args.out, "reference.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
