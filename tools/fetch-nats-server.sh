#!/usr/bin/env bash
# Puts a nats-server ≥ 2.10 into .reelbus/bin/nats-server when the installed one is older. The local
# stack (`npm run demo`, `npm run stack`, the end-to-end tests) prefers it, the cluster tests and the
# checks of the deployment NATS configs need it.
#
# Why: nats-server before 2.10 knows no `sync_interval: always` and fsyncs JetStream every 2 minutes
# (a power cut can lose acknowledged events), and before 2.9.21 checks a compare-and-set (Nats-Expected-Last-Subject-Sequence) only
# before the Raft proposal, so on a stream with 3 replicas two concurrent updates of one job can both
# succeed and one is silently lost (nats-io/nats-server#4320); `sync_interval: always` (the compose
# and Kubernetes configs, and the embedded profile) needs 2.10. Debian bookworm ships 2.9.10. The
# binary comes from Debian's own archive (by default the trixie suite), checked the way
# apt checks it: InRelease signature (debian-archive-keyring), then the Packages index hash, then the
# package hash. Nothing is installed system-wide.
#
# Usage: bash tools/fetch-nats-server.sh           (tools/setup.sh runs it; safe to re-run: does nothing when done)
#        bash tools/fetch-nats-server.sh --check   (exit 0 when a nats-server ≥ 2.10 is there, 1 when not; fetches nothing)
# Env:   DEBIAN_MIRROR (default http://deb.debian.org/debian), NATS_DEBIAN_SUITE (default trixie)
set -euo pipefail
cd "$(dirname "$0")/.."

MIN_VERSION=2.10.0
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=${NATS_DEBIAN_SUITE:-trixie}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
dest=.reelbus/bin/nats-server

version_of() { "$1" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1; }
# True when version $1 >= $MIN_VERSION.
new_enough() { [ -n "$1" ] && [ "$(printf '%s\n%s\n' "$MIN_VERSION" "$1" | sort -V | head -1)" = "$MIN_VERSION" ]; }

for bin in "${NATS_SERVER_BIN:-}" "$(command -v nats-server || true)" /usr/sbin/nats-server "$dest"; do
  [ -n "$bin" ] && [ -x "$bin" ] || continue
  v=$(version_of "$bin")
  if new_enough "$v"; then
    echo "reelbus setup: nats-server $v at $bin is ≥ $MIN_VERSION: the stack and the tests use it"
    exit 0
  fi
done
[ "${1:-}" = "--check" ] && exit 1

for tool in curl gpgv xz dpkg-deb sha256sum; do
  command -v "$tool" >/dev/null || { echo "reelbus setup: $tool is needed to fetch nats-server" >&2; exit 1; }
done
[ -f "$KEYRING" ] || { echo "reelbus setup: $KEYRING is missing (apt-get install debian-archive-keyring)" >&2; exit 1; }

arch=$(dpkg --print-architecture)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fetch() { curl -fsSL --retry 3 --max-time 300 -o "$2" "$MIRROR/$1"; }
# Hash of $1 as listed in the SHA256 section of a Release file / the SHA256 field of a Packages stanza.
check() {
  local file=$1 want=$2 got
  got=$(sha256sum "$file" | cut -d' ' -f1)
  [ "$got" = "$want" ] || { echo "reelbus setup: $file: sha256 $got, expected $want" >&2; exit 1; }
}

echo "reelbus setup: fetching nats-server from Debian $SUITE ($MIRROR) into $dest"
fetch "dists/$SUITE/InRelease" "$work/InRelease"
gpgv --quiet --keyring "$KEYRING" --output "$work/Release" "$work/InRelease" 2>"$work/gpgv.log" || {
  cat "$work/gpgv.log" >&2
  echo "reelbus setup: the signature of $SUITE's InRelease does not verify" >&2
  exit 1
}
index="main/binary-$arch/Packages.xz"
want=$(awk -v f="$index" '/^SHA256:/{s=1;next} /^[A-Za-z]/{s=0} s && $3==f {print $1}' "$work/Release")
[ -n "$want" ] || { echo "reelbus setup: $index is not listed in $SUITE's Release" >&2; exit 1; }
fetch "dists/$SUITE/$index" "$work/Packages.xz"
check "$work/Packages.xz" "$want"

xz -dc "$work/Packages.xz" >"$work/Packages"
stanza=$(awk '/^Package: nats-server$/{f=1} f{print} f&&/^$/{exit}' "$work/Packages")
file=$(printf '%s\n' "$stanza" | sed -n 's/^Filename: //p')
want=$(printf '%s\n' "$stanza" | sed -n 's/^SHA256: //p')
[ -n "$file" ] && [ -n "$want" ] || { echo "reelbus setup: no nats-server package in $SUITE for $arch" >&2; exit 1; }
fetch "$file" "$work/nats-server.deb"
check "$work/nats-server.deb" "$want"

dpkg-deb -x "$work/nats-server.deb" "$work/root"
mkdir -p "$(dirname "$dest")"
install -m 0755 "$work/root/usr/sbin/nats-server" "$dest"
v=$(version_of "$dest")
new_enough "$v" || { echo "reelbus setup: $SUITE's nats-server is $v, still older than $MIN_VERSION" >&2; exit 1; }
echo "reelbus setup: nats-server $v ready at $dest"
