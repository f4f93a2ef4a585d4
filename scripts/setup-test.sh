#!/usr/bin/env bash
# What the test suite needs beyond the application: a real Chromium for the browser tests.
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  echo "[setup] installation de Chromium (paquet Debian) pour les tests dans le navigateur"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
