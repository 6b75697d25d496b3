#!/bin/sh
# The gate additions to an attributes.sh WORK_DIR (docs/attributes.md, "At the gate"), then
# face_cover and occluded retrained on them: the site set (tools/eval/site_masks.py, seed 7 with
# its held-out photos, seeds 11 and 12 training photos and mirrors) and one gate-degraded copy
# of every face image (gate_copies.py), real mask textures moved onto training site faces
# (site_masks_transfer.py seeds 31, 32), with their features.
# usage: tools/train/gate_sets.sh WORK_DIR [FACEAUTH_BINARY]
set -eu
work=$(cd "$1" && pwd)  # absolute: the lists name the images by path
bin=${2:-build/release/faceauth}
here=$(dirname "$0")
eval_dir="$here/../eval"
# features TSV NAME: the images of WORK_DIR/TSV listed in NAME.list, their features in NAME.features.jsonl
features() {
  tail -n +2 "$work/$1" | cut -f1 > "$work/$2.list"
  "$bin" features --list "$work/$2.list" --threads 2 > "$work/$2.features.jsonl"
}
/usr/bin/python3 "$eval_dir/site_masks.py" "$work" "$work/site" --seed 7 > "$work/site_masks.tsv"
features site_masks.tsv site
for seed in 11 12; do
  /usr/bin/python3 "$eval_dir/site_masks.py" "$work" "$work/site$seed" --seed $seed --split train --mirrors \
    > "$work/site_masks.train$seed.tsv"
  features site_masks.train$seed.tsv site.train$seed
done
# real masks/ mask textures (training mask images) moved onto the training photos' site faces,
# for face cover and occlusion (round 9 of issue 17, docs/attributes.md)
for seed in 31 32; do
  /usr/bin/python3 "$eval_dir/site_masks_transfer.py" "$work" "$work/st$seed" --seed $seed --split train --mirrors \
    > "$work/site_transfer.train$seed.tsv"
  features site_transfer.train$seed.tsv site_transfer.train$seed
done
/usr/bin/python3 "$here/gate_copies.py" "$work" --seed 9
features gate.tsv gate
/usr/bin/python3 "$here/train_attributes.py" "$work" "$here/../../models/heads" --seed 5 --only face_cover,occluded
