#!/usr/bin/env bash
# Side-by-side speed benchmark: AgriFlux (Rust, burn flex) against PyTorch/NumPy on the same
# files, alternating A B A B ... so that a machine shared with other work affects both alike.
#
#   bench/run.sh [WORKDIR]
#   bench/run.sh --real-size [WORKDIR]   (a whole run at the real-data defaults: bench/real-size.sh)
#
# WORKDIR holds (or receives) a pipeline-written dataset (data/training/) and the scenes it was
# cut from; default target/bench-work. Environment: PAIRS (default 3), THREADS (default 2),
# BENCH_VENV (default target/bench-venv: a virtual environment with torch and numpy from PyPI,
# created on first use), ONLY (comma-separated workload filter), CNN_STEPS, LSTM_STEPS.
# Not run in CI.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [[ "${1:-}" == --real-size ]]; then
  shift
  exec bash "$ROOT/bench/real-size.sh" "$@"
fi
WORKDIR=$(realpath -m "${1:-$ROOT/target/bench-work}")
PAIRS=${PAIRS:-3}
THREADS=${THREADS:-2}
VENV=${BENCH_VENV:-$ROOT/target/bench-venv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target/bench}

if ! "$VENV/bin/python" -c "import torch, numpy" 2>/dev/null; then
  echo "== creating $VENV with torch and numpy (PyPI; a large download the first time)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet torch numpy
fi
PY="$VENV/bin/python"

echo "== building agriflux-bench (release)"
cargo build --release --quiet -p agriflux-bench
BIN="$CARGO_TARGET_DIR/release/agriflux-bench"
"$BIN" prepare --workdir "$WORKDIR"

# PyTorch spin-waits by default, which collapses under load; rayon threads sleep when idle.
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
export RAYON_NUM_THREADS=$THREADS
ARGS=(--workdir "$WORKDIR" --json --cnn-steps "${CNN_STEPS:-12}" --lstm-steps "${LSTM_STEPS:-30}")
if [[ -n "${ONLY:-}" ]]; then ARGS+=(--only "$ONLY"); fi
RESULTS="$WORKDIR/bench-results-$(date +%Y%m%d-%H%M%S).jsonl"
for pair in $(seq "$PAIRS"); do
  echo "== pair $pair/$PAIRS: agriflux"
  "$BIN" run "${ARGS[@]}" | tee -a "$RESULTS"
  echo "== pair $pair/$PAIRS: reference (PyTorch $("$PY" -c 'import torch; print(torch.__version__)'), $THREADS threads)"
  "$PY" "$ROOT/bench/reference.py" "${ARGS[@]}" --threads "$THREADS" | tee -a "$RESULTS"
done
echo
echo "results: $RESULTS"
"$PY" "$ROOT/bench/table.py" "$RESULTS"
