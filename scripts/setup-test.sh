#!/usr/bin/env bash
# What the test suite needs beyond the application: a real Chromium for the browser tests,
# nginx and openssl for the test behind an HTTPS reverse proxy with a path prefix.
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  echo "[setup] installation de Chromium (paquet Debian) pour les tests dans le navigateur"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  echo "[setup] installation de nginx (paquet Debian) pour tester l'assistant derrière un proxy HTTPS"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nginx-light openssl >/dev/null
fi
