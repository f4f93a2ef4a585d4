#!/usr/bin/env bash
# What the test suite needs beyond the application: a real Chromium for the browser tests,
# and LibreOffice, a real office suite that writes the .odt/.odp files the loader tests read.
set -euo pipefail
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
if [ ! -x /usr/bin/chromium ]; then
  echo "[setup] installation de Chromium (paquet Debian) pour les tests dans le navigateur"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
if ! command -v soffice >/dev/null; then
  echo "[setup] installation de LibreOffice sans interface (paquets Debian) pour les tests des formats OpenDocument"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    libreoffice-writer-nogui libreoffice-impress-nogui >/dev/null
fi
