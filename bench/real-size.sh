#!/usr/bin/env bash
# A real-size run: the whole pipeline on the simulated source at the real-data defaults (the
# default area and 20 acquisitions, 2,000 patches per class, sequences of 10, CNN up to 50
# epochs with patience 10, LSTM up to 100 with patience 15), with the optimised `agriflux`,
# under GNU time. Prints each step's wall time (from the run's report), the peak resident
# memory of the run and the size of the work directory.
#
#   bench/real-size.sh [WORKDIR]        (default target/bench-real-size; `bench/run.sh --real-size`)
#
# Environment, to try the script on a smaller run: SAMPLES_PER_CLASS, CNN_EPOCHS,
# LSTM_EPOCHS, SEQUENCE_LENGTH, TARGET_COUNT. Not run in CI (about an hour on 2 cores).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORKDIR=$(realpath -m "${1:-$ROOT/target/bench-real-size}")
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target/bench}
command -v /usr/bin/time >/dev/null 2>&1 || { echo "error: GNU time is missing: apt-get install time" >&2; exit 1; }

echo "== building agriflux (release)"
cargo build --release --quiet -p agriflux-cli
BIN="$CARGO_TARGET_DIR/release/agriflux"
mkdir -p "$WORKDIR"
TIME_LOG="$WORKDIR/time-v.txt"
echo "== agriflux run in $WORKDIR (real-data defaults on the simulated source)"
status=0
/usr/bin/time -v -o "$TIME_LOG" "$BIN" run --workdir "$WORKDIR" --source simulated --force \
  --bbox 75.8,30.9,75.9,31.0 --target-count "${TARGET_COUNT:-20}" \
  --samples-per-class "${SAMPLES_PER_CLASS:-2000}" --sequence-length "${SEQUENCE_LENGTH:-10}" \
  --cnn-epochs "${CNN_EPOCHS:-50}" --cnn-patience 10 \
  --lstm-epochs "${LSTM_EPOCHS:-100}" --lstm-patience 15 || status=$?

report=$(ls -t "$WORKDIR"/logs/pipeline_report_*.json | head -n 1)
peak_kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$TIME_LOG")
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' "$TIME_LOG")
size=$(du -sb "$WORKDIR" | cut -f1)
echo
echo "report: $report"
python3 - "$report" "$peak_kb" "$wall" "$size" <<'PY'
import json, sys
report, peak_kb, wall, size = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
r = json.load(open(report))
print(f"{'step':<32} {'status':<12} {'seconds':>10}")
for s in r["steps"]:
    d = s.get("duration_seconds")
    print(f"{s['step_number']}. {s['name']:<29} {s['status']:<12} {('%.1f' % d) if d is not None else '-':>10}")
print(f"{'total (report)':<45} {r['total_duration_seconds']:>10.1f}")
print(f"wall clock (time -v): {wall}")
print(f"peak resident memory: {peak_kb / 1024:.0f} MB")
print(f"work directory: {size / 1e6:.0f} MB")
PY
exit "$status"
