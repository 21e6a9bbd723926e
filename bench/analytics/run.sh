#!/usr/bin/env bash
# Rapport analytics vs the reference Python libraries, on the same files, in one run.
#
# Usage: bench/analytics/run.sh        (from anywhere; about 4-8 minutes on 2 shared cores, plus a few
#                                      minutes the first time to install the Python side)
#
# 0. unless PY is given, makes the Python virtual environment VENV (default target/bench-venv, inside
#    the repository's ignored build folder) from shared/peer/requirements-analytics.txt with pip,
#    when it is missing or was made from other requirements (a stamp in it records their hash);
# 1. generates deterministic synthetic data (gen_data.py, seeded): 1,000,000 x 3 points from a
#    4-Gaussian mixture, 100,000 baskets resampled from Groceries, a 1,000,000-row OLS table, the
#    peer's monthly sales series and a 2,000-point ARIMA(1,1,1) path;
# 2. builds the Rust driver (crates/analytics/examples/analytics_bench.rs) in release;
# 3. for each benchmark and each of ROUNDS rounds, runs the Python side (bench_py.py: scikit-learn,
#    mlxtend, statsmodels) and then the Rust side on the same files, each REPEAT times in-process;
# 4. prints a markdown table (compare.py): medians over all repeats, the speed-up, CPU seconds,
#    threads, and the quality figure (inertia, itemset/rule equality, coefficient and forecast diffs).
#
# Env (defaults): PY (a Python with the requirements; default: VENV's, made as in step 0)
#                 VENV=<repo>/target/bench-venv  REQUIREMENTS=<shared>/peer/requirements-analytics.txt
#                 SETUP_TIMEOUT=1800 (seconds allowed for making the venv)  DATA=<shared>/data
#                 POINTS=1000000 BASKETS=100000 OLS_ROWS=1000000 ARIMA_LONG=2000 (data sizes; small
#                 ones make a smoke test of the script, whose timings mean nothing)
#                 OUT_DIR=/tmp/rapport-analytics-bench  ROUNDS=2  THREADS=0 (Rust: 0 = all cores)
#                 BENCHES="kmeans kmeans_1t rules rules_low ols ols_matrix arima_monthly arima_long"
#                 (kmeans_1t: Rust on one thread, compared with the kmeans Python runs)
#                 STEP_TIMEOUT=600 (seconds allowed for any single process)
# Python runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (see the machine notes), and its
# thread pools and OpenBLAS kernel are reported from threadpoolctl.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
# shared/ sits beside the repository (/work/main) or beside the worktrees' folder (/work/wt/NAME).
SHARED="$REPO/../shared"
[ -d "$SHARED" ] || SHARED="$REPO/../../shared"
VENV="${VENV:-$REPO/target/bench-venv}"
REQUIREMENTS="${REQUIREMENTS:-$SHARED/peer/requirements-analytics.txt}"
SETUP_TIMEOUT="${SETUP_TIMEOUT:-1800}"
DATA="${DATA:-$SHARED/data}"
POINTS="${POINTS:-1000000}"; BASKETS="${BASKETS:-100000}"; OLS_ROWS="${OLS_ROWS:-1000000}"; ARIMA_LONG="${ARIMA_LONG:-2000}"
OUT_DIR="${OUT_DIR:-/tmp/rapport-analytics-bench}"
ROUNDS="${ROUNDS:-2}"
THREADS="${THREADS:-0}"
BENCHES="${BENCHES:-kmeans kmeans_1t rules rules_low ols ols_matrix arima_monthly arima_long}"
STEP_TIMEOUT="${STEP_TIMEOUT:-600}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
case "$CARGO_TARGET_DIR" in /*) ;; *) CARGO_TARGET_DIR="$REPO/$CARGO_TARGET_DIR" ;; esac

die() { echo "bench/analytics: $*" >&2; exit 2; }
[ -f "$DATA/groceries_baskets.csv" ] || die "shared data not found at $DATA (set DATA)"
command -v cargo >/dev/null || die "cargo not found"
command -v timeout >/dev/null || die "timeout not found"

# The Python side: a venv of our own, made once per set of requirements.
if [ -z "${PY:-}" ]; then
  [ -f "$REQUIREMENTS" ] || die "requirements not found at $REQUIREMENTS (set REQUIREMENTS, or PY to a Python that has them)"
  command -v python3 >/dev/null || die "python3 not found (apt-get install -y python3 python3-venv)"
  want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
  if [ "$(cat "$VENV/.requirements.sha256" 2>/dev/null)" != "$want" ] || [ ! -x "$VENV/bin/python" ]; then
    echo "== making the Python environment $VENV from $REQUIREMENTS (once; several minutes)" >&2
    rm -rf "$VENV"
    mkdir -p "$(dirname "$VENV")"
    timeout "$SETUP_TIMEOUT" python3 -m venv "$VENV" >&2 || die "python3 -m venv failed (apt-get install -y python3-venv)"
    timeout "$SETUP_TIMEOUT" "$VENV/bin/python" -m pip install -q -r "$REQUIREMENTS" >&2 \
      || { rm -rf "$VENV"; die "pip install -r $REQUIREMENTS failed"; }
    echo "$want" > "$VENV/.requirements.sha256"   # written last: a half-made venv is made again
  fi
  PY="$VENV/bin/python"
fi
[ -x "$PY" ] || die "python not found at $PY"

repeat_for() {
  case "$1" in
    kmeans|kmeans_1t|ols) echo 2 ;; rules_low) echo 1 ;; rules|ols_matrix) echo 3 ;; *) echo 5 ;;
  esac
}

mkdir -p "$OUT_DIR/data"
echo "== generating data in $OUT_DIR/data" >&2
timeout "$STEP_TIMEOUT" "$PY" "$HERE/gen_data.py" --data "$DATA" --out "$OUT_DIR/data" \
  --points "$POINTS" --baskets "$BASKETS" --ols "$OLS_ROWS" --arima-long "$ARIMA_LONG" >&2

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
