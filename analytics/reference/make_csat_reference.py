"""Reference for crates/analytics/tests/csat_compare.rs: Welch's t-test (scipy.stats.ttest_ind,
equal_var=False) and the chi-square test of satisfied (4-5) against unsatisfied counts
(scipy.stats.chi2_contingency, Yates-corrected as by default) on pairs of CSAT rating counts.

Run from analytics/reference with scipy 1.17.1 / numpy 2.4.6 (pinned in
shared/peer/requirements-analytics.txt):  $PY make_csat_reference.py > extra/csat_compare.json
"""
import json

import numpy as np
from scipy import stats

# Counts of ratings 1..5 per side: close groups, far ones, small ones, lopsided ones.
CASES = [
    ([3, 5, 12, 40, 60], [10, 12, 20, 35, 30]),
    ([0, 1, 2, 5, 9], [1, 0, 3, 4, 2]),
    ([1, 0, 0, 1, 1], [0, 1, 1, 0, 0]),
    ([40, 30, 120, 400, 610], [38, 35, 118, 390, 640]),
    ([0, 0, 1, 0, 7], [5, 3, 1, 0, 0]),
    ([2, 2, 2, 2, 2], [0, 0, 0, 10, 10]),
]

out = []
for a, b in CASES:
    xa = np.repeat(np.arange(1, 6), a).astype(float)
    xb = np.repeat(np.arange(1, 6), b).astype(float)
    t = stats.ttest_ind(xa, xb, equal_var=False)
    table = [[sum(a[3:]), sum(a[:3])], [sum(b[3:]), sum(b[:3])]]
    chi2, p, dof, _ = stats.chi2_contingency(table)
    out.append({
        "a": a, "b": b,
        "t": float(t.statistic), "df": float(t.df), "t_p": float(t.pvalue),
        "chi2": float(chi2), "chi2_dof": int(dof), "chi2_p": float(p),
    })
print(json.dumps({"scipy": __import__("scipy").__version__, "numpy": np.__version__, "cases": out}, indent=1))
