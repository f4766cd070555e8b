#!/usr/bin/env bash
# The whole test suite, on a fresh Debian 12 machine as root or on a developer's machine:
# installs what the tests need, then runs formatting, lint and every test layer.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the tests use: GDAL to prove the GeoTIFFs open in GIS tools, numpy to prove
# the .npy files open in Python.
need_apt=()
command -v gdalinfo >/dev/null 2>&1 || need_apt+=(gdal-bin)
/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1 || need_apt+=(python3-numpy)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "==> installing ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "warning: ${need_apt[*]} missing and not root: the GDAL/numpy checks will be skipped" >&2
  fi
fi

echo "==> cargo fmt --check"
cargo fmt --all --check

echo "==> cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "==> cargo test"
log=$(mktemp)
set +e
cargo test --workspace 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole suite (cargo prints one per test binary, the last often a
# doc-test binary with nothing in it).
passed=$(awk '/^test result:/ { for (i = 1; i < NF; i++) if ($(i + 1) ~ /^passed/) p += $i } END { print p + 0 }' "$log")
failed=$(awk '/^test result:/ { for (i = 1; i < NF; i++) if ($(i + 1) ~ /^failed/) f += $i } END { print f + 0 }' "$log")
rm -f "$log"
echo "tests: ${passed:-0} passed, ${failed:-0} failed"
exit "$status"
