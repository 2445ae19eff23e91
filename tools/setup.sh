#!/usr/bin/env bash
# Installs what reelbus needs on a fresh Debian/Ubuntu machine: system packages (nats-server, ffmpeg,
# espeak-ng and sox for test fixtures, a font for captions) and the npm workspace. Safe to re-run: it
# only installs what is missing. `--tests` (what npm test passes) also fetches a nats-server ≥ 2.10
# for the cluster tests when the installed one is older.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }
have nats-server || missing+=(nats-server)
have ffmpeg || missing+=(ffmpeg)
have ffprobe || missing+=(ffmpeg)
have espeak-ng || missing+=(espeak-ng)
have sox || missing+=(sox)
have promtool || missing+=(prometheus) # promtool: the alert rules' tests (infra/prometheus)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)

if [ ${#missing[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  echo "reelbus setup: installing system packages: $pkgs"
  if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
    echo "reelbus setup: need root (or sudo) to install: $pkgs" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  # shellcheck disable=SC2086
  $sudo apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
fi

# npm packages: install when node_modules is missing or older than the lockfile. `npm install` (which
# follows package-lock.json) rather than `npm ci`: npm 11 leaves other platforms' optional packages
# (turbo's @turbo/darwin-*, …) out of the lockfile, and `npm ci` then refuses it as out of sync.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "reelbus setup: installing npm packages"
  npm install --no-audit --no-fund --loglevel=error
fi

# The cluster tests (3 clustered nats-servers, streams and the job bucket at 3 replicas) and the checks
# of the deployment NATS configs need nats-server ≥ 2.10: older ones lose concurrent compare-and-set
# updates on replicated streams and know no `sync_interval`. When the installed one is older (Debian
# bookworm: 2.9.10), fetch Debian trixie's into .reelbus/bin; everything else runs on the installed
# one. Without it only those tests fail, saying so. Only for `--tests` (npm test), not for the demo.
if [ "${1:-}" = "--tests" ]; then
  bash tools/fetch-nats-server.sh ||
    echo "reelbus setup: WARNING: no nats-server ≥ 2.10 for the cluster tests (see above); they will fail" >&2
fi
