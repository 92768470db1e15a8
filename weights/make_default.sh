#!/usr/bin/env bash
# Rebuild the bundled default: the situation pairs, the model in weights/default/ and the gallery index.
# The recipe is data: pvse/recipes/default.args (the one owner of the model and optimisation choices, also
# `pvse train`'s defaults); this script gives it the data: the Noto emoji set and gallery/situation-pairs.tsv.
# CPU, about 18 minutes a seed on a quiet 2-core machine (frame features are cached after the first run). One
# thread: batches are a pure function of the seed, so with the same thread count the weights come out the same.
# Needs the shared Noto emoji folder beside the repository (../shared/data/noto-animated-emoji).
#
#   bash weights/make_default.sh               # seed 0 -> weights/default -> the bundled index
#   SEEDS="0 1 2" bash weights/make_default.sh # three seeds, two at a time (runs/seed-N), nothing shipped:
#                                              # then python -m benchmarks.head_diversity picks the seed to ship
#   SHIP=runs/seed-1 bash weights/make_default.sh   # ship a trained seed and rebuild the index
#   EXTRA="--diversity-on embeddings --lambda-div 20" RUN=runs/l20 SEEDS="0 1 2" bash weights/make_default.sh
#                                              # a variant of the recipe (docs/heads.md), three seeds
#   RECIPE=my.args bash weights/make_default.sh  # another recipe file (`pvse train --recipe`; path from the
#                                              # repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=(--data emoji:../shared/data/noto-animated-emoji --extra-pairs gallery/situation-pairs.tsv)
train_seed() {  # train_seed SEED OUT
  rm -rf "$2"
  # shellcheck disable=SC2086 # EXTRA: more `pvse train` arguments, split as words (later ones win)
  pvse train --recipe "${RECIPE:-pvse/recipes/default.args}" "${DATA[@]}" ${EXTRA:-} --seed "$1" --threads 1 --quiet \
    --out "$2" >"$2.log" 2>&1
}
ship() {  # ship RUN
  rm -rf weights/default && cp -r "$1/best" weights/default
  pvse index gallery/noto-emoji --out gallery/noto-emoji.index --weights weights/default \
    --captions gallery/noto-emoji/manifest.tsv --rebuild
}
if [ -n "${SHIP:-}" ]; then ship "$SHIP"; exit 0; fi
# The situation pairs are committed (gallery/situation-pairs.tsv); PAIRS=1 remakes them first (MiniLM teacher).
if [ "${PAIRS:-0}" = 1 ] || [ ! -e gallery/situation-pairs.tsv ]; then
  python -m tools.situations.pairs --gallery gallery/noto-emoji --out gallery/situation-pairs.tsv --nrc-words 5000 \
    --top-n 3 --reactions 3
fi
mkdir -p runs "$(dirname "${RUN:-runs/seed}")"
if [ -z "${SEEDS:-}" ]; then
  train_seed 0 runs/default
  ship runs/default
  exit 0
fi
# Several seeds: two at a time, one thread each (a 2-core machine); the first one alone until the feature cache is
# filled, so the two do not both compute it.
set -- $SEEDS
train_seed "$1" "${RUN:-runs/seed}-$1" &
first=$!
first_log="${RUN:-runs/seed}-$1/log.jsonl"
shift
# (a first seed that fails before its first epoch ends the wait too)
until [ -s "$first_log" ] || ! kill -0 "$first" 2>/dev/null; do sleep 10; done
pids=("$first")
for seed in "$@"; do
  while [ "$(jobs -rp | wc -l)" -ge 2 ]; do sleep 10; done
  train_seed "$seed" "${RUN:-runs/seed}-$seed" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
echo "trained: $(for s in $SEEDS; do printf '%s-%s/best ' "${RUN:-runs/seed}" "$s"; done)"
