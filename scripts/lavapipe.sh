#!/usr/bin/env bash
# Mesa 25's lavapipe (a Vulkan driver that runs on the CPU) for Dawn in Node, WITHOUT installing it:
# Debian 12's own Mesa 22 lavapipe is refused by Dawn, and a system-wide Vulkan would move headless
# Chromium off SwiftShader. The .debs come from bookworm-backports (and bookworm for the libraries
# Mesa needs) with `apt-get download` (no root), are unpacked with `dpkg -x` into a cache folder,
# and an ICD file with the driver's absolute path is written beside them.
#
#   scripts/lavapipe.sh               fetch and unpack into .cache/lavapipe (once; again only if missing)
#   scripts/lavapipe.sh --env         print the two variables that select it (for eval)
#   scripts/lavapipe.sh -- CMD ARGS   run CMD with them (fetching first if needed)
#
# LAVAPIPE_DIR overrides the folder. Exit status 0: ready; 1: it could not be fetched (no network,
# no apt-get, no dpkg): the reason is printed, and tests then skip Dawn saying so.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${LAVAPIPE_DIR:-$repo/.cache/lavapipe}
root=$dir/root
libdir=$root/usr/lib/x86_64-linux-gnu
icd=$dir/lvp.json

env_lines() {
  echo "export LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "export VK_ICD_FILENAMES=$icd"
}

fetch() {
  [ -f "$icd" ] && [ -f "$libdir/libvulkan_lvp.so" ] && [ -e "$libdir/libvulkan.so.1" ] && return 0
  if [ "$(uname -m)" != x86_64 ]; then
    echo "lavapipe.sh: only x86_64 is set up (this is $(uname -m))" >&2
    return 1
  fi
  for tool in apt-get dpkg; do
    command -v "$tool" >/dev/null 2>&1 || {
      echo "lavapipe.sh: no $tool here (Debian's tools fetch and unpack the packages)" >&2
      return 1
    }
  done
  local tmp
  tmp=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now: tmp is local
  trap "rm -rf '$tmp'" RETURN
  mkdir -p "$tmp/lists/partial" "$tmp/debs" "$dir"
  cat >"$tmp/sources.list" <<'EOF'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
deb http://deb.debian.org/debian bookworm-backports main
EOF
  local apt=(apt-get -qq -oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::Etc::SourceList=$tmp/sources.list" -oDir::Etc::SourceParts=/dev/null
    "-oDir::State::Lists=$tmp/lists" "-oDir::Cache=$tmp/cache" -oDebug::NoLocking=1)
  mkdir -p "$tmp/cache/archives/partial"
  echo "lavapipe.sh: fetching Mesa 25's lavapipe from bookworm-backports into $dir" >&2
  if ! "${apt[@]}" update >"$tmp/update.log" 2>&1; then
    echo "lavapipe.sh: apt-get update failed (is the network closed?):" >&2
    tail -n 5 "$tmp/update.log" >&2
    return 1
  fi
  # The driver and the libdrm it was built against from backports; the rest from bookworm (most are
  # on a desktop system already, but a CI image may lack them, and libvulkan1 is the loader itself;
  # the C library, libstdc++, zlib, liblzma, libzstd and libtinfo are in every Debian base image).
  local packages=(mesa-vulkan-drivers/bookworm-backports libdrm2/bookworm-backports libdrm-amdgpu1/bookworm-backports libdrm-common/bookworm-backports
    libvulkan1 libllvm15 libwayland-client0 libx11-xcb1 libxcb-dri3-0 libxcb-present0 libxcb-randr0 libxcb-shm0 libxcb-sync1 libxcb-xfixes0
    libxshmfence1 libz3-4 libedit2 libxml2 libicu72 libxcb1 libxau6 libxdmcp6 libbsd0 libmd0 libexpat1 libffi8)
  if ! (cd "$tmp/debs" && "${apt[@]}" download "${packages[@]}") >"$tmp/download.log" 2>&1; then
    echo "lavapipe.sh: apt-get download failed:" >&2
    tail -n 5 "$tmp/download.log" >&2
    return 1
  fi
  rm -rf "$root.new" && mkdir -p "$root.new"
  for deb in "$tmp"/debs/*.deb; do dpkg -x "$deb" "$root.new"; done
  [ -f "$root.new/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so" ] || {
    echo "lavapipe.sh: the packages hold no libvulkan_lvp.so" >&2
    return 1
  }
  rm -rf "$root" && mv "$root.new" "$root"
  local version
  version=$(dpkg-deb -f "$tmp"/debs/mesa-vulkan-drivers_*.deb Version)
  # The ICD the package ships names the driver by a system path; this one names the unpacked copy.
  cat >"$icd" <<EOF
{
    "file_format_version": "1.0.0",
    "ICD": {
        "library_path": "$libdir/libvulkan_lvp.so",
        "api_version": "1.4.305"
    }
}
EOF
  echo "mesa-vulkan-drivers $version" >"$dir/VERSION"
  echo "lavapipe.sh: ready (mesa-vulkan-drivers $version): $icd" >&2
}

case "${1:-}" in
  --env)
    fetch >&2
    env_lines
    ;;
  --)
    shift
    fetch
    eval "$(env_lines)"
    exec "$@"
    ;;
  '') fetch ;;
  *)
    echo "usage: scripts/lavapipe.sh [--env | -- CMD ARGS]" >&2
    exit 2
    ;;
esac
