#!/usr/bin/env bash
# The package layer of the suite: builds the .deb and .rpm (from the test build's binaries),
# checks their contents and metadata, installs the .deb with apt, runs both programs from the
# installed paths (a short simulated `agriflux run`, the desktop app's first window under Xvfb,
# screenshotted), then removes the package. Needs root for apt.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

need_apt=()
command -v desktop-file-validate >/dev/null 2>&1 || need_apt+=(desktop-file-utils)
command -v appstreamcli >/dev/null 2>&1 || need_apt+=(appstream)
command -v rpm >/dev/null 2>&1 || need_apt+=(rpm)
# The X screenshot of the installed app (tests/package/xshot.py).
/usr/bin/python3 -c 'import gi; gi.require_version("Gdk", "3.0")' >/dev/null 2>&1 || need_apt+=(python3-gi gir1.2-gtk-3.0)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "==> installing ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

bash src-tauri/packaging/build.sh --profile "${AGRIFLUX_PACKAGE_PROFILE:-dev}"
deb=$(ls target/packages/agriflux-studio_*_amd64.deb)
rpm_file=$(ls target/packages/agriflux-studio-*.x86_64.rpm)
passes=0
failures=0
# One check, TAP-like; the suite's closing count reads the "# pass" / "# fail" lines at the end.
check() { # name, command...
  local name=$1
  shift
  if "$@"; then
    echo "ok - $name"
    passes=$((passes + 1))
  else
    echo "not ok - $name"
    failures=$((failures + 1))
  fi
}

echo "==> the .deb's control file and contents"
dpkg-deb -I "$deb"
contents=$(dpkg-deb -c "$deb" | awk '{ sub(/^\.\//, "", $6); print $6 }')
for path in usr/bin/agriflux-studio usr/bin/agriflux usr/share/applications/agriflux-studio.desktop \
  usr/share/metainfo/studio.agriflux.app.metainfo.xml usr/share/icons/hicolor/128x128/apps/agriflux-studio.png \
  usr/share/doc/agriflux-studio/copyright; do
  check "the .deb holds $path" grep -qxF "$path" <<<"$contents"
done
check "the .deb depends on WebKitGTK" bash -c "dpkg-deb -f '$deb' Depends | grep -q libwebkit2gtk-4.1-0"
unpacked=$(mktemp -d)
# A failed check must not leave the package installed.
trap 'rm -rf "$unpacked"; if dpkg -s agriflux-studio >/dev/null 2>&1; then apt-get remove -y -qq agriflux-studio >/dev/null; fi' EXIT
dpkg-deb -x "$deb" "$unpacked"
check "desktop-file-validate passes" desktop-file-validate "$unpacked/usr/share/applications/agriflux-studio.desktop"
check "appstreamcli validate passes" appstreamcli validate --no-net "$unpacked/usr/share/metainfo/studio.agriflux.app.metainfo.xml"
echo "==> the .rpm"
rpm -qip "$rpm_file" 2>/dev/null | sed -n '1,4p'
check "the .rpm holds both programs" bash -c "rpm -qpl '$rpm_file' 2>/dev/null | grep -qx /usr/bin/agriflux && rpm -qpl '$rpm_file' 2>/dev/null | grep -qx /usr/bin/agriflux-studio"
check "the .rpm requires WebKitGTK" bash -c "rpm -qpR '$rpm_file' 2>/dev/null | grep -q 'libwebkit2gtk-4.1.so.0'"

echo "==> apt-get install ./$(basename "$deb")"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "./$deb" >/dev/null
check "agriflux is installed in /usr/bin" test -x /usr/bin/agriflux
check "agriflux --version runs" bash -c '/usr/bin/agriflux --version | grep -q "^agriflux "'
run_dir=$(mktemp -d)
cp tests/fixtures/tiny-farm.env "$run_dir/.env"
check "a short simulated run of the installed agriflux succeeds" \
  bash -c "/usr/bin/agriflux run --workdir '$run_dir' > '$run_dir/console.txt' 2>&1 && ls '$run_dir'/reports/*.json >/dev/null"
tail -n 5 "$run_dir/console.txt"
check "the installed agriflux-studio opens on its welcome view" node tests/package/screenshot.mjs /usr/bin/agriflux-studio
echo "==> apt-get remove agriflux-studio"
DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq agriflux-studio >/dev/null
check "the package is removed" bash -c '! test -e /usr/bin/agriflux && ! test -e /usr/bin/agriflux-studio'
rm -rf "$run_dir"

echo "# pass $passes"
echo "# fail $failures"
[ "$failures" -eq 0 ]
