#!/usr/bin/env bash
# Rapport analytics vs the reference Python libraries, on the same files, in one run.
#
# Usage: bench/analytics/run.sh        (from anywhere; about 4-8 minutes on 2 shared cores)
#
# 1. generates deterministic synthetic data (gen_data.py, seeded): 1,000,000 x 3 points from a
#    4-Gaussian mixture, 100,000 baskets resampled from Groceries, a 1,000,000-row OLS table, the
#    peer's monthly sales series and a 2,000-point ARIMA(1,1,1) path;
# 2. builds the Rust driver (crates/analytics/examples/analytics_bench.rs) in release;
# 3. for each benchmark and each of ROUNDS rounds, runs the Python side (bench_py.py: scikit-learn,
#    mlxtend, statsmodels) and then the Rust side on the same files, each REPEAT times in-process;
# 4. prints a markdown table (compare.py): medians over all repeats, the speed-up, CPU seconds,
#    threads, and the quality figure (inertia, itemset/rule equality, coefficient and forecast diffs).
#
# Env (defaults): PY=/root/.cache/rapport-analytics-venv/bin/python  DATA=<shared>/data
#                 OUT_DIR=/tmp/rapport-analytics-bench  ROUNDS=2  THREADS=0 (Rust: 0 = all cores)
#                 BENCHES="kmeans kmeans_1t rules rules_low ols ols_matrix arima_monthly arima_long"
#                 (kmeans_1t: Rust on one thread, compared with the kmeans Python runs)
#                 STEP_TIMEOUT=600 (seconds allowed for any single process)
# Python runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (see the machine notes), and its
# thread pools and OpenBLAS kernel are reported from threadpoolctl.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PY="${PY:-/root/.cache/rapport-analytics-venv/bin/python}"
DATA="${DATA:-$REPO/../shared/data}"
OUT_DIR="${OUT_DIR:-/tmp/rapport-analytics-bench}"
ROUNDS="${ROUNDS:-2}"
THREADS="${THREADS:-0}"
BENCHES="${BENCHES:-kmeans kmeans_1t rules rules_low ols ols_matrix arima_monthly arima_long}"
STEP_TIMEOUT="${STEP_TIMEOUT:-600}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-analytics}"

die() { echo "bench/analytics: $*" >&2; exit 2; }
[ -x "$PY" ] || die "python venv not found at $PY (see analytics/reference/README.md)"
[ -f "$DATA/groceries_baskets.csv" ] || die "shared data not found at $DATA (set DATA)"
command -v cargo >/dev/null || die "cargo not found"
command -v timeout >/dev/null || die "timeout not found"

repeat_for() {
  case "$1" in
    kmeans|kmeans_1t|ols) echo 2 ;; rules_low) echo 1 ;; rules|ols_matrix) echo 3 ;; *) echo 5 ;;
  esac
}

mkdir -p "$OUT_DIR/data"
echo "== generating data in $OUT_DIR/data" >&2
timeout "$STEP_TIMEOUT" "$PY" "$HERE/gen_data.py" --data "$DATA" --out "$OUT_DIR/data" >&2

echo "== building the Rust driver (release)" >&2
( cd "$REPO" && timeout 1200 cargo build --release -q -p rapport-analytics --example analytics_bench ) >&2
RUST="$CARGO_TARGET_DIR/release/examples/analytics_bench"

RESULTS="$OUT_DIR/results.jsonl"
: > "$RESULTS"
for alg in $BENCHES; do
  rep="$(repeat_for "$alg")"
  for round in $(seq 1 "$ROUNDS"); do
    if [ "$alg" != kmeans_1t ]; then
      echo "== $alg round $round/$ROUNDS: python x$rep" >&2
      env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE timeout "$STEP_TIMEOUT" \
        "$PY" "$HERE/bench_py.py" --data "$OUT_DIR/data" --alg "$alg" --repeat "$rep" >> "$RESULTS"
    fi
    echo "== $alg round $round/$ROUNDS: rust x$rep" >&2
    timeout "$STEP_TIMEOUT" "$RUST" --data "$OUT_DIR/data" --alg "$alg" --repeat "$rep" --threads "$THREADS" >> "$RESULTS"
  done
done

echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
"$PY" "$HERE/compare.py" "$RESULTS"
echo
echo "raw results: $RESULTS"
