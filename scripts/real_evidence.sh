#!/usr/bin/env bash
# Rebuilds the committed real-data evidence (manifests/evidence/{logreg,codet,probe,lora}-v1) from
# ../shared/data: execute the sources, build the pack, score and train both seeds, evaluate.
# Usage: bash scripts/real_evidence.sh WORK [DATA_DIR]   (WORK: a scratch directory, ~2 GB)
# Every step is resumable (execute resumes, finished artifacts are kept). The LoRA scorer's runs
# come from a GPU (see the end of this script).
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
# the probe scorer (frozen MiniLM-L6 embeddings, seeded logistic head): the neural baseline on a CPU
sed -e "s#path: ../packs/v1#path: $PACK#" -e "s#dir: ../runs/{name}#dir: $WORK/runs/{name}#" \
    -e "s#gates: ../gates/standard.yaml#gates: $PWD/gates/standard.yaml#" jobs/probe.yaml > "$WORK/probe.yaml"
run $CLI jobs launch "$WORK/probe.yaml" --no-evaluate
run $CLI evaluate --pack "$PACK" --scores "$WORK"/runs/p-pass-probe/seed-42/scores.jsonl \
  "$WORK"/runs/p-pass-probe/seed-1729/scores.jsonl --gates gates/standard.yaml --out manifests/evidence/probe-v1 \
  --no-plots || true
# The LoRA scorer trains on a GPU: bash scripts/gpu_prepare.sh "$PACK", then on the GPU machine
# bash scripts/gpu_check.sh OUT (jobs/standard-lora.yaml, both seeds). Unpack OUT/gpu-evidence.tar.xz
# into $WORK (its runs/p-pass-lora sit beside $PACK as they did there) and evaluate here:
if [ -f "$WORK/runs/p-pass-lora/seed-42/manifest.json" ]; then
  run $CLI evaluate --pack "$PACK" --scores "$WORK"/runs/p-pass-lora/seed-42/scores.jsonl \
    "$WORK"/runs/p-pass-lora/seed-1729/scores.jsonl --gates gates/standard.yaml --out manifests/evidence/lora-v1 \
    --no-plots || true
fi
