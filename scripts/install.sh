#!/usr/bin/env bash
# Installs codelewm-eval and its test dependencies into ./.venv on a fresh machine.
# bubblewrap (Debian) gives the namespace sandbox; without it the documented rlimits
# fallback is used and recorded on every result.
set -euo pipefail
cd "$(dirname "$0")/.."
# chromium + chromium-driver (Debian) let the report's browser tests run headless; without them
# those tests skip with the reason.
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  need=""
  command -v bwrap >/dev/null 2>&1 || need="$need bubblewrap"
  { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; } || need="$need chromium chromium-driver"
  if [ -n "$need" ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null) \
      || echo "install.sh: could not install$need (no bubblewrap: the sandbox uses its rlimits fallback; no chromium: the browser tests skip)" >&2
  fi
fi
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -c constraints.txt -e ".[test,train]"
