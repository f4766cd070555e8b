#!/usr/bin/env bash
# Idle memory of the desktop app: starts agriflux-studio on a work directory under Xvfb, lets
# it settle, then prints the proportional set size (PSS: shared pages divided among the
# processes that map them) of the app and of each WebKit process it started, and their total.
#
#   bash bench/idle-memory.sh [--binary PATH] [--workdir DIR] [--settle SECONDS]
#
# The default binary is target/release/agriflux-studio when it exists, else target/debug's;
# the default work directory is demo/ (the quick start's). Needs Xvfb (xvfb-run).
set -euo pipefail
cd "$(dirname "$0")/.."

binary=
workdir=demo
settle=20
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --workdir) workdir=$2; shift 2 ;;
    --settle) settle=$2; shift 2 ;;
    *) echo "usage: idle-memory.sh [--binary PATH] [--workdir DIR] [--settle SECONDS]" >&2; exit 2 ;;
  esac
done
if [ -z "$binary" ]; then
  binary=target/release/agriflux-studio
  [ -x "$binary" ] || binary=target/debug/agriflux-studio
fi
[ -x "$binary" ] || { echo "error: no app binary at $binary" >&2; exit 1; }
[ -d "$workdir" ] || { echo "error: no work directory $workdir (run the quick start first)" >&2; exit 1; }

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
XDG_CONFIG_HOME="$profile/config" XDG_DATA_HOME="$profile/data" \
  xvfb-run -a -s "-screen 0 1280x800x24" "$binary" --workdir "$workdir" >"$profile/app.log" 2>&1 &
runner=$!
app=
for _ in $(seq 1 100); do
  app=$(pgrep -n -f "^$binary --workdir" || true)
  [ -n "$app" ] && break
  sleep 0.2
done
[ -n "$app" ] || { echo "error: the app did not start:" >&2; cat "$profile/app.log" >&2; exit 1; }
sleep "$settle"

# Every process below the app (the WebKit web and network processes).
tree() {
  echo "$1"
  for child in $(pgrep -P "$1"); do tree "$child"; done
}
kb() { awk -v key="$2:" '$1 == key { print $2 }' "/proc/$1/smaps_rollup"; }
printf '%-28s %10s %10s %10s\n' process "PSS MB" "anon MB" "file MB"
total=0
for pid in $(tree "$app"); do
  [ -r "/proc/$pid/smaps_rollup" ] || continue
  name=$(tr -d '\0' <"/proc/$pid/comm")
  pss=$(kb "$pid" Pss)
  anon=$(kb "$pid" Pss_Anon)
  file=$(kb "$pid" Pss_File)
  total=$((total + pss))
  awk -v n="$name ($pid)" -v p="$pss" -v a="$anon" -v f="$file" \
    'BEGIN { printf "%-28s %10.1f %10.1f %10.1f\n", n, p / 1024, a / 1024, f / 1024 }'
done
awk -v t="$total" 'BEGIN { printf "%-28s %10.1f\n", "total", t / 1024 }'
kill "$app" 2>/dev/null || true
wait "$runner" 2>/dev/null || true
