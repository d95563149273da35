#!/usr/bin/env bash
# build-deb.sh — build baton-receiver_<version>_<arch>.deb for arm64, armhf and amd64.
#
#   packaging/debian/build-deb.sh [--out DIR] [ARCH...]     (default: amd64 arm64 armhf)
#
# Runs on any Debian-like machine of any architecture: nothing is compiled. The receiver's
# Python dependencies (the pins of requirements.lock, hash-checked) are fetched from PyPI as
# wheels for the TARGET platform (CPython 3.11, glibc manylinux) and unpacked into
# /usr/lib/baton-receiver with Baton's own `connect` and `devices` packages. Where PyPI has no
# wheel with a C extension for a platform, pip picks the project's pure-Python wheel
# (`py3-none-any`) instead; the build prints which. Debian's python3 and libVLC are
# dependencies. Needs: dpkg-deb, gzip, and the project's .venv (for pip).
set -euo pipefail

HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PY=${PY:-$REPO/.venv/bin/python}
OUT=$REPO/dist
ARCHES=()

while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    amd64|arm64|armhf) ARCHES+=("$1"); shift ;;
    *) echo "build-deb.sh: unknown argument: $1 (architectures: amd64 arm64 armhf)" >&2; exit 2 ;;
  esac
done
[ ${#ARCHES[@]} -gt 0 ] || ARCHES=(amd64 arm64 armhf)

say() { printf '\033[1m[package]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[package] error:\033[0m %s\n' "$*" >&2; exit 1; }

command -v dpkg-deb >/dev/null || die "dpkg-deb is missing (apt-get install dpkg)"
[ -x "$PY" ] || die "no $PY: run ./dev setup first"

PACKAGE=baton-receiver
UPSTREAM=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$REPO/connect/__init__.py")
[ -n "$UPSTREAM" ] || die "no __version__ in connect/__init__.py"
VERSION="$UPSTREAM-1"
WORK=$REPO/build/deb
mkdir -p "$WORK" "$OUT"

# Debian architecture -> the CPU name in manylinux wheel tags.
wheel_cpu() {
  case "$1" in amd64) echo x86_64 ;; arm64) echo aarch64 ;; armhf) echo armv7l ;; esac
}

# pip's --platform takes exact tags: list every glibc a Debian 12 system can load
# (manylinux_2_17 .. manylinux_2_36, plus the legacy manylinux2014/manylinux1 aliases).
platform_flags() {
  local cpu=$1 v
  for v in $(seq 36 -1 17); do printf -- '--platform\nmanylinux_2_%s_%s\n' "$v" "$cpu"; done
  printf -- '--platform\nmanylinux2014_%s\n' "$cpu"
  [ "$cpu" != x86_64 ] || printf -- '--platform\nmanylinux1_%s\n' "$cpu"
}

# pip sees PyPI only: not this machine's local indexes or wheel caches.
pip_pypi() {
  PIP_CONFIG_FILE=/dev/null PIP_FIND_LINKS='' PIP_EXTRA_INDEX_URL='' \
    "$PY" -m pip --disable-pip-version-check "$@" --index-url https://pypi.org/simple
}

fetch_wheels() {
  local arch=$1 cpu dir flags=()
  cpu=$(wheel_cpu "$arch")
  dir=$WORK/wheels-$arch
  mapfile -t flags < <(platform_flags "$cpu")
  mkdir -p "$dir"
  say "$arch: fetching wheels for CPython 3.11 on manylinux $cpu (pins and hashes of requirements.lock)"
  pip_pypi download -q --no-deps --require-hashes --only-binary=:all: "${flags[@]}" \
    --python-version 3.11 --implementation cp --abi cp311 -d "$dir" -r "$WORK/requirements.txt"
}

stage_python() {
  local arch=$1 cpu lib=$2 flags=() wheel name pure=()
  cpu=$(wheel_cpu "$arch")
  mapfile -t flags < <(platform_flags "$cpu")
  # Only the wheels this build's requirements name (the folder may hold older downloads).
  local wheels=()
  while read -r name; do
    wheel=$(find "$WORK/wheels-$arch" -maxdepth 1 -iname "$(echo "$name" | tr - _)-*.whl" | sort | tail -n1)
    [ -n "$wheel" ] || die "$arch: no wheel for $name"
    wheels+=("$wheel")
    # A project that ships a C extension elsewhere but only its pure-Python wheel here.
    case "$name:$wheel" in
      aiohttp:*-py3-none-any.whl | frozenlist:*-py3-none-any.whl | multidict:*-py3-none-any.whl \
      | propcache:*-py3-none-any.whl | protobuf:*-py3-none-any.whl | yarl:*-py3-none-any.whl \
      | zeroconf:*-py3-none-any.whl) pure+=("$name") ;;
    esac
  done < <(sed 's/==.*//' "$WORK/requirements.txt")
  pip_pypi install -q --no-deps --no-compile --no-index --only-binary=:all: "${flags[@]}" \
    --python-version 3.11 --implementation cp --abi cp311 --target "$lib" "${wheels[@]}"
  rm -rf "$lib/bin"
  printf '%s\n' "${pure[@]+"${pure[@]}"}" >"$WORK/pure-$arch.txt"
  # Baton's own code: the packages the receiver runs (connect, devices, the HTTP guard, the task
  # owner, and the part of tracing a device uses: attribute names, setup, its shipper, spool), as committed
  # at HEAD (never uncommitted work), Python only.
  git -C "$REPO" archive --format=tar HEAD -- \
    ':(glob)connect/**/*.py' ':(glob)connect/**/*.pyi' ':(glob)connect/**/py.typed' \
    ':(glob)devices/**/*.py' ':(glob)httpguard/*.py' httpguard/py.typed \
    ':(glob)taskowner/*.py' taskowner/py.typed \
    tracing/__init__.py tracing/attributes.py tracing/setup.py tracing/_shipper.py tracing/spool.py | tar -x -C "$lib"
  echo "$(git -C "$REPO" rev-parse --short HEAD)" >"$WORK/commit-$arch.txt"
}

stage_files() {
  local root=$1 doc=$1/usr/share/doc/$PACKAGE
  install -D -m 0755 "$HERE/baton-receiver.launcher" "$root/usr/bin/baton-receiver"
  install -D -m 0644 "$REPO/packaging/systemd/baton-receiver.service" \
    "$root/usr/lib/systemd/system/baton-receiver.service"
  install -D -m 0644 "$REPO/packaging/config/receiver.toml" "$root/etc/baton/receiver.toml"
  install -D -m 0644 "$HERE/sysusers.conf" "$root/usr/lib/sysusers.d/$PACKAGE.conf"
  install -D -m 0644 "$HERE/copyright" "$doc/copyright"
  install -D -m 0644 "$HERE/lintian-overrides" "$root/usr/share/lintian/overrides/$PACKAGE"
  install -D -m 0644 "$REPO/docs/device-makers.md" "$doc/device-makers.md"
  gzip -9n <"$HERE/changelog" >"$doc/changelog.Debian.gz"
  chmod 0644 "$doc/changelog.Debian.gz"
  install -d "$root/usr/share/man/man1"
  gzip -9n <"$HERE/baton-receiver.1" >"$root/usr/share/man/man1/baton-receiver.1.gz"
  chmod 0644 "$root/usr/share/man/man1/baton-receiver.1.gz"
}

write_control() {
  local arch=$1 root=$2 size
  install -d -m 0755 "$root/DEBIAN"
  for script in postinst prerm postrm; do
    install -m 0755 "$HERE/$script" "$root/DEBIAN/$script"
  done
  echo /etc/baton/receiver.toml >"$root/DEBIAN/conffiles"
  size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
  cat >"$root/DEBIAN/control" <<CONTROL
Package: $PACKAGE
Version: $VERSION
Architecture: $arch
Maintainer: Baton developers <baton@example.org>
Installed-Size: $size
Depends: python3 (>= 3.11), libc6 (>= 2.28), libvlc5, libvlccore9, vlc-plugin-base, libvlc-bin, libpulse0, openssl, adduser
Recommends: alsa-utils, ffmpeg
Section: sound
Priority: optional
Homepage: https://github.com/baton-music/baton
Description: Baton receiver: plays music sent by Baton controllers
 A headless receiver for speakers, car head units and TVs, typically on a
 Raspberry Pi. It advertises itself on the local network over mDNS, plays
 what Baton controllers send it through libVLC, takes part in seamless
 transfers between devices, and keeps its session across power cuts.
 .
 It runs as the systemd service baton-receiver.service, configured in
 /etc/baton/receiver.toml. Its Python dependencies are bundled in
 /usr/lib/baton-receiver.
CONTROL
  (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z \
    | xargs -0 md5sum >DEBIAN/md5sums)
  chmod 0644 "$root/DEBIAN/md5sums" "$root/DEBIAN/control" "$root/DEBIAN/conffiles"
}

# Strip the wheels' shared objects like dh_strip does (they ship with symbol tables). Any
# target architecture: llvm-strip, or binutils-multiarch's strip.
strip_objects() {
  local tool
  if command -v llvm-strip >/dev/null; then tool=llvm-strip
  elif strip --help 2>/dev/null | grep -q elf32-littlearm; then tool=strip
  else die "no strip for foreign architectures: apt-get install binutils-multiarch"; fi
  find "$1" -type f -name '*.so' -exec "$tool" --strip-unneeded \
    --remove-section=.comment --remove-section=.note {} +
}

build_one() {
  local arch=$1 root deb
  root=$WORK/root-$arch
  rm -rf "$root"
  fetch_wheels "$arch"
  stage_python "$arch" "$root/usr/lib/$PACKAGE"
  stage_files "$root"
  # Directories 0755 and files 0644 unless executable, whatever the umask of the build.
  find "$root" -type d -exec chmod 0755 {} +
  strip_objects "$root/usr/lib/$PACKAGE"
  # Nothing under /usr/lib/baton-receiver is run directly: modules and shared objects are
  # 0644 (some wheels ship every file executable), and module shebangs are dropped.
  find "$root/usr/lib/$PACKAGE" -type f -exec chmod 0644 {} +
  find "$root/usr/lib/$PACKAGE" -type f -name '*.py' -exec sed -i '1{/^#!/d}' {} +
  write_control "$arch" "$root"
  deb=$OUT/${PACKAGE}_${VERSION}_$arch.deb
  dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
  say "$arch: $(basename "$deb") $(du -h "$deb" | cut -f1); pure-Python fallbacks: $(paste -sd' ' "$WORK/pure-$arch.txt" | grep . || echo none)"
}

"$PY" "$HERE/receiver-requirements.py" "$REPO/requirements.lock" >"$WORK/requirements.txt"
for arch in "${ARCHES[@]}"; do build_one "$arch"; done
