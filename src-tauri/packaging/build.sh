#!/usr/bin/env bash
# Builds AgriFlux Studio's Debian and RPM packages with Tauri's bundler (tauri-cli, pinned):
# the desktop app `agriflux-studio`, the `agriflux` command, the desktop entry with the icons,
# the AppStream metadata, and the WebKitGTK dependency. On a fresh Debian 12 machine as root it
# installs what it needs first.
#
#   bash src-tauri/packaging/build.sh              # optimised build (what users install)
#   bash src-tauri/packaging/build.sh --profile dev   # the test build's profile (CI: reuses
#                                                     # the binaries `cargo test` compiled)
#
# The packages land in target/packages/.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

TAURI_CLI_VERSION=2.12.4
profile=release
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profile=${2:?--profile needs release or dev}; shift 2 ;;
    --profile=*) profile=${1#--profile=}; shift ;;
    *) echo "usage: build.sh [--profile release|dev]" >&2; exit 2 ;;
  esac
done
case "$profile" in
  release) bin_dir=release; profile_args=(--release); bundle_args=() ;;
  dev) bin_dir=debug; profile_args=(); bundle_args=(--debug) ;;
  *) echo "error: --profile is release or dev, not '$profile'" >&2; exit 2 ;;
esac

export PATH="$HOME/.cargo/bin:$PATH"
if ! pkg-config --exists webkit2gtk-4.1 2>/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    echo "error: WebKitGTK's headers are missing: apt-get install libwebkit2gtk-4.1-dev build-essential pkg-config" >&2
    exit 1
  fi
  echo "==> installing WebKitGTK's headers"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    libwebkit2gtk-4.1-dev build-essential pkg-config >/dev/null
fi
if [ "$(cargo tauri --version 2>/dev/null)" != "tauri-cli $TAURI_CLI_VERSION" ]; then
  echo "==> installing tauri-cli $TAURI_CLI_VERSION (once; several minutes on 2 cores)"
  cargo install tauri-cli --version "$TAURI_CLI_VERSION" --locked --quiet
fi
# The app embeds ui/dist at compile time.
if [ ! -f ui/dist/index.html ]; then
  echo "==> building the UI"
  (cd ui && npm install --no-audit --no-fund --loglevel=error && npm run --silent build)
fi

echo "==> building agriflux-studio and agriflux ($profile)"
if [ "$profile" = release ]; then
  # Line tables help a user's backtrace; the package need not carry them.
  export CARGO_PROFILE_RELEASE_STRIP=debuginfo
fi
# Every workspace binary, with the workspace's feature set: in the dev profile this reuses
# what `cargo test --workspace` compiled.
cargo build --workspace --bins "${profile_args[@]}" --quiet

echo "==> bundling .deb and .rpm"
files=$(printf '{"/usr/bin/agriflux": "../target/%s/agriflux"}' "$bin_dir")
extra=$(printf '{"bundle": {"linux": {"deb": {"files": %s}, "rpm": {"files": %s}}}}' "$files" "$files")
(cd src-tauri && cargo tauri bundle --ci --no-sign --bundles deb,rpm "${bundle_args[@]}" \
  --config packaging/bundle.json --config "$extra")

out="$root/target/packages"
mkdir -p "$out"
rm -f "$out"/*.deb "$out"/*.rpm
cp target/"$bin_dir"/bundle/deb/*.deb target/"$bin_dir"/bundle/rpm/*.rpm "$out"/
echo "==> packages:"
ls -l "$out"
