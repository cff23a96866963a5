#!/usr/bin/env bash
# Sets up a fresh machine for Fieldcast: system packages (a CJK font for the overlays; ffmpeg,
# Chromium and Node too when asked for the test suite), then a virtualenv in .venv with the project
# in it, and for the tests the official Socket.IO client (tests/clients, npm ci).
# Usage: scripts/setup.sh [demo|test]
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-demo}"

need=()
fc-list 2>/dev/null | grep -i "Noto Sans CJK" >/dev/null || need+=(fonts-noto-cjk)
fc-list 2>/dev/null | grep -i "Noto Color Emoji" >/dev/null || need+=(fonts-noto-color-emoji)
if [ "$what" = test ]; then
  command -v ffmpeg >/dev/null || need+=(ffmpeg)
  command -v chromium >/dev/null || need+=(chromium)
  # The MQTT tests publish with Mosquitto's own client, as a device nobody here wrote would.
  command -v mosquitto_pub >/dev/null || need+=(mosquitto-clients)
  command -v node >/dev/null || need+=(nodejs)
  command -v npm >/dev/null || need+=(npm)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${need[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
extras=""
[ "$what" = test ] && extras="[test]"
stamp=".venv/.installed-$what-$(cat pyproject.toml | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e ".$extras"
  touch "$stamp"
fi

# The clients the tests drive that nobody here wrote (tests/clients/package-lock.json pins them);
# installed again whenever the lock file changes.
if [ "$what" = test ]; then
  lock="tests/clients/node_modules/.installed-$(sha1sum < tests/clients/package-lock.json | cut -c1-12)"
  if [ ! -f "$lock" ]; then
    (cd tests/clients && npm ci --no-audit --no-fund --loglevel=error)
    touch "$lock"
  fi
fi
