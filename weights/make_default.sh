#!/usr/bin/env bash
# Rebuild the bundled default: the situation pairs, the model in weights/default/ and the gallery index.
# CPU, about 15-20 minutes on a 2-core machine (frame features are cached after the first run). One thread:
# batches are a pure function of the seed, so with the same thread count the weights come out the same.
# Needs the shared Noto emoji folder beside the repository (../shared/data/noto-animated-emoji).
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS="${EPOCHS:-40}"
python -m tools.situations.pairs --gallery gallery/noto-emoji --out gallery/situation-pairs.tsv --nrc-words 5000 --top-n 3 \
  --reactions 3
rm -rf runs/default
pvse train --data emoji:../shared/data/noto-animated-emoji --extra-pairs gallery/situation-pairs.tsv \
  --word-features minilm-l6-v2 -K 4 --embed-dim 512 --frames 8 --epochs "$EPOCHS" --passes-per-epoch 8 --lr 6e-4 --train-on train+val \
  --seed 0 --threads 1 --out runs/default
rm -rf weights/default && cp -r runs/default/best weights/default
pvse index gallery/noto-emoji --out gallery/noto-emoji.index --weights weights/default \
  --captions gallery/noto-emoji/manifest.tsv --rebuild
