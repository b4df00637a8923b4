#!/usr/bin/env bash
# Rebuilds the committed real-data evidence (manifests/evidence/{logreg,lora,codet}-v1) from
# ../shared/data: execute the sources, build the pack, score and train both seeds, evaluate.
# Usage: bash scripts/real_evidence.sh WORK [DATA_DIR]   (WORK: a scratch directory, ~2 GB)
# Every step is resumable (execute resumes, finished artifacts are kept); set LORA=0 to skip the
# LoRA scorer (about 20 minutes per seed on 2 CPU cores).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:?usage: bash scripts/real_evidence.sh WORK [DATA_DIR]}
DATA=${2:-../shared/data}
CLI=${CLI:-.venv/bin/codelewm-eval}
mkdir -p "$WORK/results"
R=$WORK/results
run() { echo "+ $*" >&2; "$@"; }
ex() {  # name benchmark [samples]
  [ -f "$R/$1.jsonl.manifest.json" ] && return 0
  run $CLI execute --benchmark "$2" ${3:+--samples "$DATA/$3"} --out "$R/$1.jsonl" --data-dir "$DATA" --no-progress
}
mut() {  # name (decoys of the canonical results of that name)
  [ -f "$R/$1-decoys.jsonl.manifest.json" ] && return 0
  run $CLI decoys --results "$R/$1.jsonl" --out "$R/$1-decoys.jsonl" --data-dir "$DATA" --no-progress
}
ex humaneval-plus-canonical humaneval-plus
mut humaneval-plus-canonical
ex mbpp-plus-canonical mbpp-plus
mut mbpp-plus-canonical
ex humaneval-mapcoder-pool humaneval samples/humaneval/mapcoder_pool_humaneval_multi-model-multi-strategy.jsonl.gz
ex mbpp-mapcoder-pool mbpp-multiple samples/mbpp/mapcoder_pool_mbpp_multi-model-multi-strategy.jsonl.gz
ex humaneval-codet-codegen16b humaneval \
  samples/humaneval/codet_HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.jsonl.gz
PACK=$WORK/pack
if [ ! -f "$PACK/manifest.json" ]; then
  run $CLI pack build --results "$R"/*.jsonl --out "$PACK" --decoys --data-dir "$DATA"
fi
run $CLI preflight --pack "$PACK" --job jobs/standard.yaml --report "$WORK/preflight.json" || true
for seed in 42 1729; do
  [ -f "$WORK/scores-$seed.jsonl.manifest.json" ] || run $CLI score --pack "$PACK" --seed "$seed" \
    --scorers no_action,length,lexical,oracle,p_pass --run "logreg-seed-$seed" --out "$WORK/scores-$seed.jsonl"
done
[ -f "$WORK/scores-codet.jsonl.manifest.json" ] || run $CLI score --pack "$PACK" --scorers no_action,codet \
  --data-dir "$DATA" --run codet --out "$WORK/scores-codet.jsonl"
run $CLI evaluate --pack "$PACK" --scores "$WORK/scores-42.jsonl" "$WORK/scores-1729.jsonl" \
  --gates gates/standard.yaml --out manifests/evidence/logreg-v1 --no-plots || true
run $CLI evaluate --pack "$PACK" --scores "$WORK/scores-codet.jsonl" --gates gates/codet.yaml \
  --out manifests/evidence/codet-v1 --no-plots || true
if [ "${LORA:-1}" = 1 ]; then
  cat > "$WORK/lora.yaml" <<SPEC
# jobs/standard-lora.yaml with this script's pack and output directory
schema_version: 1
name: p-pass-lora
seeds: [42, 1729]
scorer: lora
hyperparameters: {rank: 8, alpha: 16, lr: 0.0002, epochs: 2, max_length: 128, batch_size: 16, max_train_rows: 1500,
                  loss_weights: {long_failing: 0.5}}
pack: {path: $PACK}
gates: $PWD/gates/standard.yaml
flavor: cpu-basic
timeout: 3h
outputs: {dir: "$WORK/runs/{name}"}
decoy_minimums: {mutation: {pairs: 100, tasks: 30}}
SPEC
  run $CLI jobs launch "$WORK/lora.yaml" --no-evaluate
  run $CLI evaluate --pack "$PACK" --scores "$WORK"/runs/*/seed-42/scores.jsonl "$WORK"/runs/*/seed-1729/scores.jsonl \
    --gates gates/standard.yaml --out manifests/evidence/lora-v1 --no-plots || true
fi
