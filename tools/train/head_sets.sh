#!/bin/sh
# The head cover additions of issue 17 (docs/attributes.md, "At the gate", rounds 3-6) to an
# attributes.sh WORK_DIR, then head_cover retrained on them: gate-like crops of helmets/
# photos (gate_crops.py, seeds 11, 12, 13), bare LFW portraits and their gate-degraded copies
# (bare_heads.py list, copies), hard hats drawn on those portraits (bare_heads.py hats,
# synth_hats.py --seed 15), the bare portraits at other sizes and places (bare_heads.py jitter
# --seed 17), the synthetic hat pairs counted twice, and every one of those training faces stretched in
# height (stretch_heads.py --seed 23 and 24, round 12). Every face through the pad retry.
# usage: tools/train/head_sets.sh DATASETS_DIR WORK_DIR [FACEAUTH_BINARY]
set -eu
datasets=$1
work=$(cd "$2" && pwd)  # absolute: the lists name the images by path
bin=${3:-build/release/faceauth}
here=$(cd "$(dirname "$0")" && pwd)
features() { "$bin" features --list "$1" --threads 2 --pad-retry; }
# gate crops: features in their own file (gate.features.jsonl stays gate_sets.sh's gate copies, so a
# second run replaces the crops' features instead of appending them again)
/usr/bin/python3 "$here/gate_crops.py" "$datasets" "$work/gate11" --seed 11 > "$work/gate11.tsv"
for seed in 12 13; do /usr/bin/python3 "$here/gate_crops.py" "$datasets" "$work/gate$seed" --seed $seed --per-head 3 > "$work/gate$seed.tsv"; done
{ cat "$work/gate11.tsv"; tail -n +2 "$work/gate12.tsv"; tail -n +2 "$work/gate13.tsv"; } > "$work/gate_crops.tsv"
tail -n +2 "$work/gate_crops.tsv" | cut -f1 > "$work/gate_crops.list"
features "$work/gate_crops.list" > "$work/gate_crops.features.jsonl"
# bare portraits and their gate copies
/usr/bin/python3 "$here/bare_heads.py" list "$datasets" "$work" --exclude "$here/bare_heads_exclude.txt"
tail -n +2 "$work/bare_heads.tsv" | cut -f1 > "$work/bare.list"
features "$work/bare.list" > "$work/bare.features.jsonl"
/usr/bin/python3 "$here/bare_heads.py" copies "$work" --seed 9
tail -n +2 "$work/bare_gate.tsv" | cut -f1 > "$work/bare_gate.list"
features "$work/bare_gate.list" > "$work/bare_gate.features.jsonl"
# hard hats drawn on the same portraits (hat 1, bare 0)
/usr/bin/python3 "$here/bare_heads.py" hats "$work" "$work/bare_hats"
/usr/bin/python3 "$here/synth_hats.py" "$work/bare_hats" --seed 15
cp "$work/bare_hats/hats.tsv" "$work/bare_hats.tsv"
tail -n +2 "$work/bare_hats.tsv" | cut -f1 > "$work/bare_hats.list"
features "$work/bare_hats.list" > "$work/bare_hats.features.jsonl"
# the bare portraits at other sizes and places
/usr/bin/python3 "$here/bare_heads.py" jitter "$work" --seed 17
tail -n +2 "$work/bare_jitter.tsv" | cut -f1 > "$work/bare_jitter.list"
features "$work/bare_jitter.list" > "$work/bare_jitter.features.jsonl"
# every training face above, stretched in height (round 12): two copies, factors 0.75-1.33 and 0.67-1.5
/usr/bin/python3 "$here/stretch_heads.py" "$work" --seed 23 --range 0.75,1.33
/usr/bin/python3 "$here/stretch_heads.py" "$work" --seed 24 --range 0.67,1.5 --name head_stretch2
for name in head_stretch head_stretch2; do
  tail -n +2 "$work/$name.tsv" | cut -f1 > "$work/$name.list"
  features "$work/$name.list" > "$work/$name.features.jsonl"
done
/usr/bin/python3 "$here/train_attributes.py" "$work" "$here/../../models/heads" --seed 5 --only head_cover --synthetic-weight 2
