#!/usr/bin/env bash
# The whole test suite, on a fresh Debian 12 machine as root or on a developer's machine:
# installs what the tests need, then runs formatting, lint and every test layer: the UI's
# checks and component tests, the UI in headless Chromium, the Rust tests (engine, CLI,
# Sentinel Hub emulator, app commands on Tauri's mock runtime), and the real desktop app
# under Xvfb driven by WebDriver.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# System packages: GDAL (its tools and Python bindings) and numpy prove the GeoTIFFs and .npy files open in users' tools;
# WebKitGTK builds the desktop app; Xvfb, the WebKit WebDriver and Chromium run the UI tests.
# (The package layer installs its own tools: tauri-cli, desktop-file-utils, appstream, rpm.)
need_apt=()
command -v gdalinfo >/dev/null 2>&1 || need_apt+=(gdal-bin)
/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1 || need_apt+=(python3-numpy)
# The raster and files-source tests write their GeoTIFF fixtures with GDAL's Python bindings.
/usr/bin/python3 -c 'from osgeo import gdal' >/dev/null 2>&1 || need_apt+=(python3-gdal)
pkg-config --exists webkit2gtk-4.1 2>/dev/null || need_apt+=(libwebkit2gtk-4.1-dev build-essential pkg-config)
command -v Xvfb >/dev/null 2>&1 || need_apt+=(xvfb)
command -v WebKitWebDriver >/dev/null 2>&1 || [ -x /usr/bin/WebKitWebDriver ] || need_apt+=(webkit2gtk-driver)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "==> installing ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "error: missing ${need_apt[*]}; run as root or install them" >&2
    exit 1
  fi
fi
# cargo installs into ~/.cargo/bin, which a fresh shell may not have on its PATH.
export PATH="$HOME/.cargo/bin:$PATH"
# fmt and clippy are rustup components; a toolchain installed with the minimal profile lacks them
# (rustup's proxies exist even then, so ask each tool for its version).
if ! clippy-driver --version >/dev/null 2>&1 || ! rustfmt --version >/dev/null 2>&1; then
  echo "==> installing the clippy and rustfmt components"
  rustup component add clippy rustfmt
fi
if ! command -v tauri-driver >/dev/null 2>&1; then
  echo "==> installing tauri-driver"
  cargo install tauri-driver --version 2.1.0 --locked --quiet
fi

# A fresh build of every target needs about 15 GB under target/; say so before cargo fails
# half-way with "No space left on device".
free_kb=$(df -Pk "$root" | awk 'NR == 2 { print $4 }')
echo "==> free disk space: $((free_kb / 1024 / 1024)) GB"
if [ "$free_kb" -lt $((15 * 1024 * 1024)) ]; then
  echo "warning: under 15 GB free; a cold build may run out of disk space" >&2
fi
# CI builds once from a fresh clone: incremental compilation only costs it time and disk.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=0; fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# Runs one layer, keeping its output for the closing count; a failing layer does not hide the
# others' results.
layer() {
  local name=$1
  shift
  echo "==> $name"
  local started=$SECONDS
  set +e
  "$@" 2>&1 | tee -a "$log"
  local rc=${PIPESTATUS[0]}
  set -e
  local took=$((SECONDS - started))
  timings+=("$(printf '%6d s  %s' "$took" "$name")")
  if [ "$rc" -ne 0 ]; then
    echo "==> $name FAILED (exit $rc, ${took} s)"
    status=1
  else
    echo "==> $name: ${took} s"
  fi
  return 0
}
timings=()

echo "==> UI: npm install"
(cd ui && npm install --no-audit --no-fund --loglevel=error)
# The desktop crate embeds ui/dist at compile time: build the UI before any cargo command.
layer "UI: lint and type check" bash -c 'cd ui && npm run --silent check'
layer "UI: build" bash -c 'cd ui && npm run --silent build'
layer "UI: component tests (vitest)" bash -c 'cd ui && npm test --silent'
layer "UI: headless Chromium with the backend mocked" bash -c 'cd ui && npm run --silent test:browser'

layer "cargo fmt --check" cargo fmt --all --check
# Clippy lints our crates while cargo compiles them for the tests: clippy-driver is cargo's
# wrapper for workspace members only, so the dependencies are compiled once, for the tests,
# instead of a second time in check mode for a separate `cargo clippy` (about 15 minutes on
# 2 cores). `CLIPPY_ARGS` is how `cargo clippy -- -D warnings` passes its flags to the driver.
# Both stay set for `cargo test`: the wrapper is part of the artefacts' hash, and without it
# cargo would compile our crates again.
export RUSTC_WORKSPACE_WRAPPER=clippy-driver
export CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__
layer "cargo clippy (every target, linted as it is compiled for the tests)" \
  cargo test --workspace --all-targets --features agriflux-app/test-hooks --no-run --quiet
# The app is built with the `test-hooks` feature (its hook, `test_log_burst`, is in no other
# build) for the desktop test, which drives the target/debug/agriflux-studio that `cargo test`
# builds for the app's integration tests: one build, with the same feature set for every
# crate, so the ML framework is compiled once.
layer "cargo test" cargo test --workspace --features agriflux-app/test-hooks
layer "desktop app: WebDriver under Xvfb" node --test --test-concurrency=1 tests/desktop/
# Last, because it rebuilds target/debug/agriflux-studio without the test hooks: the .deb and
# .rpm from the test build's binaries (the dev profile: an optimised build of everything again
# would cost CI about 15 minutes), installed with apt, both programs run, then removed.
layer "packages: .deb and .rpm built, checked, installed, run and removed" bash tests/package/check.sh

# One closing line for the whole suite: cargo's "test result:" lines, vitest's "Tests N
# passed", node's "# pass N" / "# fail N".
# Colour codes (vitest colours its summary under CI=true) are stripped first.
plain=$(mktemp)
sed 's/\x1b\[[0-9;]*m//g' "$log" > "$plain"
passed=$(awk '
  /^test result:/ { for (i = 1; i < NF; i++) if ($(i + 1) ~ /^passed/) p += $i }
  /^ *Tests +[0-9]/ { for (i = 1; i < NF; i++) if ($(i + 1) ~ /^passed/) p += $i }
  /^# pass [0-9]+/ { p += $3 }
  END { print p + 0 }' "$plain")
failed=$(awk '
  /^test result:/ { for (i = 1; i < NF; i++) if ($(i + 1) ~ /^failed/) f += $i }
  /^ *Tests +[0-9]/ { for (i = 1; i < NF; i++) if ($(i + 1) ~ /^failed/) f += $i }
  /^# fail [0-9]+/ { f += $3 }
  END { print f + 0 }' "$plain")
rm -f "$plain"
if [ "$status" -ne 0 ] && [ "${failed:-0}" -eq 0 ]; then failed=1; fi
echo "==> layer durations (total ${SECONDS} s, installs included)"
printf '%s\n' "${timings[@]}"
echo "tests: ${passed:-0} passed, ${failed:-0} failed"
exit "$status"
