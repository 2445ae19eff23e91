#!/usr/bin/env bash
# Installs what reelbus needs on a fresh Debian/Ubuntu machine: system packages (nats-server, ffmpeg,
# espeak-ng and sox for test fixtures, a font for captions), the npm workspace, and a nats-server
# ≥ 2.10 (Debian's verified build, into .reelbus/bin) when the installed one is older: the local stack
# runs on it with `sync_interval: always`. Safe to re-run: it only installs what is missing. Run by
# `npm run demo`, `npm run stack`, `npm run bench` and (with `--tests`) `npm test`, which also gets
# Debian's chromium for the studio's browser tests.
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
# The studio's browser tests (npm test) drive Debian's chromium (H.264/AAC playback built in).
if [ "${1:-}" = "--tests" ]; then [ -x /usr/bin/chromium ] || missing+=(chromium); fi

# What tools/fetch-nats-server.sh needs, only when it will have to fetch (no nats-server ≥ 2.10 yet).
# Installed separately and allowed to fail (Ubuntu keeps debian-archive-keyring in universe): without
# them the stack falls back to the installed nats-server and says so.
fetch_tools=()
if ! bash tools/fetch-nats-server.sh --check >/dev/null 2>&1; then
  have curl || fetch_tools+=(curl)
  have gpgv || fetch_tools+=(gpgv)
  have xz || fetch_tools+=(xz-utils)
  [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || fetch_tools+=(debian-archive-keyring)
fi

if [ ${#missing[@]} -gt 0 ] || [ ${#fetch_tools[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
    sudo="none"
  fi
  export DEBIAN_FRONTEND=noninteractive
  if [ ${#missing[@]} -gt 0 ]; then
    echo "reelbus setup: installing system packages: $pkgs"
    [ "$sudo" = none ] && { echo "reelbus setup: need root (or sudo) to install: $pkgs" >&2; exit 1; }
    $sudo apt-get update -qq
    # shellcheck disable=SC2086
    $sudo apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
  fi
  if [ ${#fetch_tools[@]} -gt 0 ] && [ "$sudo" != none ]; then
    echo "reelbus setup: installing what fetching nats-server 2.10 needs: ${fetch_tools[*]}"
    { [ ${#missing[@]} -gt 0 ] || $sudo apt-get update -qq; } &&
      $sudo apt-get install -y -qq --no-install-recommends "${fetch_tools[@]}" >/dev/null ||
      echo "reelbus setup: could not install ${fetch_tools[*]}; trying to fetch nats-server anyway" >&2
  fi
fi

# npm packages: install when node_modules is missing or older than the lockfile. `npm install` (which
# follows package-lock.json) rather than `npm ci`: npm 11 leaves other platforms' optional packages
# (turbo's @turbo/darwin-*, …) out of the lockfile, and `npm ci` then refuses it as out of sync.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "reelbus setup: installing npm packages"
  npm install --no-audit --no-fund --loglevel=error
fi

# nats-server ≥ 2.10 for every profile: the local stack (`npm run demo`, `npm run stack`) runs JetStream
# with `sync_interval: always` on it, so an acknowledged event survives a power cut; the cluster tests
# and the deployment config checks need it too (older servers lose concurrent compare-and-set updates
# on replicated streams, and know no `sync_interval`). When the installed one is older (Debian
# bookworm: 2.9.10), fetch Debian trixie's verified build into .reelbus/bin. Failing to is not fatal:
# the stack then runs on the installed one and warns that it fsyncs only every 2 minutes.
if ! bash tools/fetch-nats-server.sh; then
  if [ "${1:-}" = "--tests" ]; then
    echo "reelbus setup: WARNING: no nats-server ≥ 2.10 (see above): the cluster tests will fail, and the stack falls back to the installed nats-server" >&2
  else
    echo "reelbus setup: WARNING: no nats-server ≥ 2.10 (see above): the stack falls back to the installed nats-server, which fsyncs JetStream only every 2 minutes" >&2
  fi
fi

# The sample music library, once, so the first story does not wait for it (the compositor would
# generate it then; a few CPU-seconds). Not for `--tests`: the tests make their own.
music_dir="${REELBUS_HOME:-.reelbus}/blobs/music"
if [ "${1:-}" != "--tests" ] && [ -z "$(ls -A "$music_dir" 2>/dev/null)" ]; then
  node --import tsx tools/src/cli.ts seed-music ||
    echo "reelbus setup: WARNING: could not generate the sample music library; the first story will (see above)" >&2
fi
