#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian 12 machine with Python 3.11:
#   - Debian packages: chromium (the HTML report is rendered in headless Chromium),
#     postgresql (the PostgreSQL backend and snapshot tests start throwaway clusters), sqlite3.
#   - .venv: the toolkit, the reference server and the test tools (pip install -e '.[test]').
#   - .venv-sdk: the official anthropic and openai SDKs, kept OUT of .venv because mitmproxy 11
#     pins h11<=0.14 while the SDKs need h11>=0.16; the SDK tests run them as a target child process.
# Safe to re-run: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
apt_packages=(chromium postgresql sqlite3)

missing=()
for pkg in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing Debian packages: ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'

if ! .venv-sdk/bin/python -c "import anthropic, openai" 2>/dev/null; then
    [ -x .venv-sdk/bin/python ] || "$PYTHON" -m venv .venv-sdk
    .venv-sdk/bin/python -m pip install -q --upgrade pip
    .venv-sdk/bin/python -m pip install -q anthropic openai
fi
echo "test dependencies ready" >&2
