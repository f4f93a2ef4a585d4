#!/usr/bin/env bash
# What the test suite needs beyond the application: a real Chromium for the browser tests; the
# tools that build and check the real-document corpus and the format tests (LibreOffice, a real
# office suite that writes .odt/.odp and converts to PDF; poppler; a French word list); nginx and
# openssl for the test behind an HTTPS reverse proxy with a path prefix; PostgreSQL, which the
# database tests start in a temporary folder (tests/conftest.py: initdb, pg_ctl, loopback only).
set -euo pipefail
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
if [ ! -x /usr/bin/chromium ]; then
  echo "[setup] installation de Chromium (paquet Debian) pour les tests dans le navigateur"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

# Real-document corpus (bench/corpus.py) and format tests: LibreOffice converts generated documents to PDF
# and ODP (Calc recalculates and saves spreadsheets), poppler's pdftotext is the reference extractor, pandoc
# writes .odt as Markdown tools do, wfrench is the French word list, DejaVu draws the scanned page.
# Idempotent: only what is missing is installed.
corpus_pkgs=""
command -v soffice >/dev/null || corpus_pkgs="$corpus_pkgs libreoffice-writer-nogui libreoffice-impress-nogui"
[ -e /usr/lib/libreoffice/program/libsclo.so ] || corpus_pkgs="$corpus_pkgs libreoffice-calc-nogui"
command -v pdftotext >/dev/null || corpus_pkgs="$corpus_pkgs poppler-utils"
command -v pandoc >/dev/null || corpus_pkgs="$corpus_pkgs pandoc"
[ -f /usr/share/dict/french ] || corpus_pkgs="$corpus_pkgs wfrench"
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || corpus_pkgs="$corpus_pkgs fonts-dejavu-core"
if [ -n "$corpus_pkgs" ]; then
  echo "[setup] installation de$corpus_pkgs (paquets Debian) pour le corpus de documents réels"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $corpus_pkgs >/dev/null
fi
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  echo "[setup] installation de nginx (paquet Debian) pour tester l'assistant derrière un proxy HTTPS"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nginx-light openssl >/dev/null
fi
# PostgreSQL's server programs (initdb, pg_ctl, postgres): Debian keeps them in /usr/lib/postgresql/N/bin.
# The package may start its own cluster on port 5432; the tests do not use it (they start their own).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "[setup] installation de PostgreSQL (paquet Debian postgresql) pour les tests de la base de données"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
