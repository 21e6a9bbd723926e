#!/usr/bin/env python3
"""Extra reference outputs for crates/analytics tests (see README.md for the commands).

Writes into the directory given by --out:
  rules_<name>.csv      every frequent itemset's rules with all mlxtend metrics, full precision
  itemsets_<name>.csv   every frequent itemset with its support, full precision
  ols_data.csv, ols.json             statsmodels OLS: sales ~ budget + tv_share + C(channel)
  ttest_data.csv, ttest.json         scipy Welch t-test (ttest_ind equal_var=False)
  chi2.json                          scipy chi2_contingency on two tables
  describe.json                      descriptive statistics of the t-test sample
  silhouette.json                    sklearn silhouette_score of the peer k-means labels (synthetic, first 1500)
"""
import argparse, json, os
import numpy as np
import pandas as pd
from mlxtend.frequent_patterns import apriori, association_rules
from mlxtend.preprocessing import TransactionEncoder
from scipy import stats
import statsmodels.formula.api as smf

ap = argparse.ArgumentParser()
ap.add_argument("--data", required=True)
ap.add_argument("--out", required=True)
a = ap.parse_args()
os.makedirs(a.out, exist_ok=True)
R = repr


def rules_for(name, baskets, min_support=0.02, min_conf=0.2):
    te = TransactionEncoder()
    onehot = pd.DataFrame(te.fit(baskets).transform(baskets), columns=te.columns_)
    fi = apriori(onehot, min_support=min_support, use_colnames=True)
    rules = association_rules(fi, num_itemsets=len(baskets), metric="confidence", min_threshold=min_conf)
    with open(os.path.join(a.out, f"itemsets_{name}.csv"), "w") as f:
        f.write("items,support\n")
        for s, v in sorted(((" | ".join(sorted(s)), v) for s, v in zip(fi["itemsets"], fi["support"]))):
            f.write(f'"{s}",{R(float(v))}\n')
    cols = ["antecedent support", "consequent support", "support", "confidence", "lift", "leverage",
            "conviction", "zhangs_metric", "jaccard", "certainty", "kulczynski"]
    with open(os.path.join(a.out, f"rules_{name}.csv"), "w") as f:
        f.write("antecedents,consequents," + ",".join(c.replace(" ", "_") for c in cols) + "\n")
        rows = []
        for _, r in rules.iterrows():
            rows.append((" | ".join(sorted(r["antecedents"])), " | ".join(sorted(r["consequents"])),
                         [R(float(r[c])) for c in cols]))
        for an, co, vals in sorted(rows):
            f.write(f'"{an}","{co}",' + ",".join(vals) + "\n")


b = pd.read_csv(os.path.join(a.data, "groceries_baskets.csv"), dtype=str)
rules_for("groceries", b.groupby("basket_id")["item"].apply(lambda s: sorted(set(s))).tolist())
tx = pd.read_csv(os.path.join(a.data, "synthetic_crm/transactions.csv"), dtype={"customer_id": str, "invoice": str})
rules_for("synthetic", tx.groupby("invoice")["product"].apply(lambda s: sorted(set(s))).tolist())

# OLS: effect of marketing budget and channel on sales (synthetic, seeded).
rng = np.random.default_rng(4)
n = 240
channel = rng.choice(["email", "search", "social", "tv"], size=n)
budget = rng.gamma(4.0, 2500.0, size=n).round(2)
tv_share = rng.uniform(0, 1, size=n).round(4)
effect = {"email": 0.0, "search": 4200.0, "social": 1500.0, "tv": -800.0}
sales = (12000 + 2.7 * budget + 3000 * tv_share + np.array([effect[c] for c in channel])
         + rng.normal(0, 6000, size=n)).round(2)
df = pd.DataFrame({"sales": sales, "budget": budget, "tv_share": tv_share, "channel": channel})
df.to_csv(os.path.join(a.out, "ols_data.csv"), index=False)
fit = smf.ols("sales ~ budget + tv_share + C(channel)", data=df).fit()
name = lambda s: s.replace("C(channel)", "channel")
json.dump({"formula": "sales ~ budget + tv_share + C(channel)",
           "params": {name(k): float(v) for k, v in fit.params.items()},
           "bse": {name(k): float(v) for k, v in fit.bse.items()},
           "tvalues": {name(k): float(v) for k, v in fit.tvalues.items()},
           "pvalues": {name(k): float(v) for k, v in fit.pvalues.items()},
           "rsquared": float(fit.rsquared), "rsquared_adj": float(fit.rsquared_adj),
           "fvalue": float(fit.fvalue), "f_pvalue": float(fit.f_pvalue), "df_resid": float(fit.df_resid),
           "nobs": int(fit.nobs)}, open(os.path.join(a.out, "ols.json"), "w"), indent=1)

# Welch t-test: invoice totals of two countries in the synthetic data.
inv = tx.groupby("invoice").agg(country=("country", "first"), total=("amount", "sum"))
g1 = inv.loc[inv["country"] == "United Kingdom", "total"].to_numpy()[:3000]
g2 = inv.loc[inv["country"] == "Germany", "total"].to_numpy()[:2000]
pd.DataFrame({"group": ["United Kingdom"] * len(g1) + ["Germany"] * len(g2),
              "value": list(g1) + list(g2)}).to_csv(os.path.join(a.out, "ttest_data.csv"), index=False,
                                                    float_format="%.17g")
t = stats.ttest_ind(g1, g2, equal_var=False)
json.dump({"statistic": float(t.statistic), "pvalue": float(t.pvalue), "df": float(t.df),
           "n1": len(g1), "n2": len(g2)}, open(os.path.join(a.out, "ttest.json"), "w"), indent=1)
# A second, small and clearly significant pair (tiny p-value precision).
s1 = g1[:60] * 1.0
s2 = g2[:45] * 0.35
t2 = stats.ttest_ind(s1, s2, equal_var=False)
d = pd.Series(g1)
json.dump({"mean": float(d.mean()), "std": float(d.std()), "var": float(d.var()), "min": float(d.min()),
           "q1": float(d.quantile(0.25)), "median": float(d.median()), "q3": float(d.quantile(0.75)),
           "max": float(d.max()), "skew": float(d.skew()), "kurtosis": float(d.kurt()), "n": len(d),
           "small_pair": {"a": [float(v) for v in s1], "b": [float(v) for v in s2],
                          "statistic": float(t2.statistic), "pvalue": float(t2.pvalue), "df": float(t2.df)}},
          open(os.path.join(a.out, "describe.json"), "w"), indent=1)

# Chi-square independence: planted segment x country, and a 2x2 (Yates correction).
cust = pd.read_csv(os.path.join(a.data, "synthetic_crm/customers.csv"), dtype={"customer_id": str})
tab = pd.crosstab(cust["segment"], cust["country"])
c = stats.chi2_contingency(tab.to_numpy())
tab2 = pd.crosstab(cust["segment"] == "champions", cust["country"] == "United Kingdom")
c2 = stats.chi2_contingency(tab2.to_numpy())
json.dump({"tables": [
    {"rows": list(tab.index), "cols": list(tab.columns), "counts": tab.to_numpy().tolist(),
     "statistic": float(c.statistic), "pvalue": float(c.pvalue), "dof": int(c.dof)},
    {"counts": tab2.to_numpy().tolist(), "statistic": float(c2.statistic), "pvalue": float(c2.pvalue),
     "dof": int(c2.dof), "correction": True}]}, open(os.path.join(a.out, "chi2.json"), "w"), indent=1)
print("ok")

# Silhouette of the peer's k-means labels on the first 1,500 synthetic customers
# (features as the peer defines them, z-scored over all customers).
from sklearn.metrics import silhouette_score
pc = pd.read_csv(os.path.join(os.path.dirname(os.path.abspath(__file__)), "synthetic/customers.csv"),
                 dtype={"customer_id": str})
X = np.log1p(np.column_stack([pc["recency"], pc["frequency"], pc["monetary"].clip(lower=0)]).astype(float))
mu, sd = X.mean(axis=0), X.std(axis=0)
sd[sd == 0] = 1.0
X = (X - mu) / sd
json.dump({"n": 1500, "silhouette": float(silhouette_score(X[:1500], pc["kmeans"].to_numpy()[:1500]))},
          open(os.path.join(a.out, "silhouette.json"), "w"), indent=1)
print("silhouette ok")
