#!/usr/bin/env bash
# Installs everything qwen_vad needs into ./.venv on a Debian/Ubuntu machine.
#   bash scripts/setup.sh          runtime only
#   bash scripts/setup.sh dev      runtime + test tools
# GPU users: create .venv and install the torch build for your CUDA version first
# (python -m venv .venv && .venv/bin/pip install torch==2.13.0 --index-url <your CUDA index>);
# this script keeps a torch that is already installed and only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
venv="${QWEN_VAD_VENV:-.venv}"

# System packages: espeak-ng is the voice of the offline synthetic corpus; libc++1 is the
# C++ runtime TEN VAD's shared library links against. The dev extra adds Debian's chromium and
# its chromium-driver, the browser the report.html test drives (no downloaded browser builds).
missing=()
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
ldconfig -p 2>/dev/null | grep -q 'libc++\.so\.1' || missing+=(libc++1)
if [[ ",${extras}," == *",dev,"* ]]; then
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
fi
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python_bin="${PYTHON:-$(command -v python3.11 || command -v python3)}"
[ -x "$venv/bin/python" ] || "$python_bin" -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)

# torch first and pinned: an unpinned torch (or one pulled in by another package) would
# fetch the CUDA build and several GB of wheels.
if ! "$venv/bin/python" -c "import torch" >/dev/null 2>&1; then
  "${pip[@]}" install "torch==2.13.0"
fi

spec="."
[ -z "$extras" ] || spec=".[$extras]"
"${pip[@]}" install -c constraints.txt -e "$spec"
