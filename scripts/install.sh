#!/usr/bin/env bash
# Installs codelewm-eval and its test dependencies into ./.venv on a fresh machine.
# bubblewrap (Debian) gives the namespace sandbox; without it the documented rlimits
# fallback is used and recorded on every result.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v bwrap >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null) \
    || echo "install.sh: bubblewrap unavailable; the sandbox will use its rlimits fallback" >&2
fi
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -c constraints.txt -e ".[test,train]"
