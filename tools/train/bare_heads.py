#!/usr/bin/python3
"""Bare portrait heads for head cover (docs/attributes.md, "At the gate", round 4).

usage: bare_heads.py list DATASETS_DIR WORK_DIR [--exclude FILE]
       bare_heads.py copies WORK_DIR [--seed S]
       bare_heads.py hats WORK_DIR HATS_DIR
       bare_heads.py jitter WORK_DIR [--seed S] [--name NAME]

Gate-like training crops (gate_crops.py) teach head cover what a hard hat looks like at a gate,
but they are site photos: few bare heads, and those mostly short-haired men. Trained on them,
the head moved bare studio portraits (long hair, looking up) over 50. This gives the head bare
negatives of many people: every LFW image (press photos, almost all bare heads).
`list` writes WORK_DIR/bare_heads.tsv (image, split, source): the split is the trainer's fixed
sha256 hash of "lfw/PERSON" (make_attribute_sets.split_of, the same as the LFW clear faces), so
a person's photos stay on one side. Images named in FILE (lines PERSON/FILE.jpg: headwear such
as caps, hats, turbans, helmets; tools/train/bare_heads_exclude.txt) are left out.
`copies` (after `faceauth features --list` of those images into WORK_DIR/bare.features.jsonl)
writes one gate-degraded copy of each image whose face is found (site_masks.degrade: 12-45 px
between the eyes, blur 30 %, JPEG 35-85) to WORK_DIR/bare/ and WORK_DIR/bare_gate.tsv (image,
base, split, source, eye_px). The trainer reads both as head cover negatives; held-out rows are
reported as heldout_bare and heldout_bare_gate.
`hats` prepares HATS_DIR for synth_hats.py (HATS_DIR/clear.tsv: the training people's images not
already among WORK_DIR's clear faces; HATS_DIR/faces.features.jsonl: a link to their features),
so hard hats are drawn on the same portraits as positives (tried in round 4, not used: see
docs/attributes.md); the trainer reads the result as WORK_DIR/bare_hats.tsv (training only).
`jitter` (round 5) writes one copy of every bare head whose face is found, the LFW portraits of
bare_heads.tsv and the masks/without_mask faces of clear.tsv, at another size and place: scaled
so the eyes are 20-110 px apart (log-uniform; the demo photos at 640-1920 px measure 18-102),
then cut with 0-15 % of the side off the left, right and bottom and 0-8 % off the top (the head
stays in). The detector and landmarks then land a little differently on the same head, as they
do on a photo sent at another size, and the head crop moves with them. Output WORK_DIR/NAME/ and
WORK_DIR/NAME.tsv (image, base, split, source, eye_px; NAME default bare_jitter); the trainer
reads bare_jitter*.tsv as head cover negatives, held-out rows as heldout_bare_jitter.
"""
import os
import sys

import cv2
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "eval"))
from make_attribute_sets import images, split_of  # noqa: E402
import site_masks  # noqa: E402
import train_attributes  # noqa: E402


def excluded(path):
    """PERSON/FILE names listed in path (# comments and blank lines ignored)."""
    if not path:
        return set()
    lines = (line.split("#")[0].strip() for line in open(path))
    return {line for line in lines if line}


def list_rows(datasets, skip):
    """(image, split, source) of every LFW image not in skip."""
    lfw = os.path.join(datasets, "lfw-view1", "images")
    rows = []
    for person in sorted(os.listdir(lfw)):
        for name in images(os.path.join(lfw, person)):
            if f"{person}/{name}" not in skip:
                rows.append((os.path.join(lfw, person, name), split_of("lfw/" + person), "lfw/" + person))
    return rows


def write_list(datasets, work, skip):
    rows = list_rows(datasets, skip)
    with open(os.path.join(work, "bare_heads.tsv"), "w") as out:
        out.write("image\tsplit\tsource\n")
        out.writelines("\t".join(r) + "\n" for r in rows)
    print(f"{len(rows)} bare heads ({len(skip)} excluded)", file=sys.stderr)


def write_copies(work, seed):
    rng = np.random.default_rng(seed)
    features = train_attributes.read_features(os.path.join(work, "bare.features.jsonl"))
    out_dir = os.path.join(work, "bare")
    os.makedirs(out_dir, exist_ok=True)
    rows = []
    for index, r in enumerate(train_attributes.read_tsv(os.path.join(work, "bare_heads.tsv"))):
        image = cv2.imread(r["image"]) if r["image"] in features else None
        if image is None:
            continue
        small, eye_px, quality = site_masks.degrade(image, features[r["image"]]["landmarks"], rng)
        name = os.path.join(out_dir, f"{index:05d}.jpg")
        cv2.imwrite(name, small, [cv2.IMWRITE_JPEG_QUALITY, quality])
        rows.append((name, r["image"], r["split"], r["source"], f"{eye_px:.1f}"))
    with open(os.path.join(work, "bare_gate.tsv"), "w") as out:
        out.write("image\tbase\tsplit\tsource\teye_px\n")
        out.writelines("\t".join(r) + "\n" for r in rows)
    print(f"{len(rows)} gate copies of bare heads", file=sys.stderr)


def jitter(image, eye_px, rng):
    """image scaled so the eyes are 20-110 px apart and cut by a few per cent on each side."""
    scale = np.exp(rng.uniform(np.log(20), np.log(110))) / max(eye_px, 1.0)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    out = cv2.resize(image, None, fx=scale, fy=scale, interpolation=interpolation)
    height, width = out.shape[:2]
    left, right, bottom = (int(rng.uniform(0, 0.15) * side) for side in (width, width, height))
    top = int(rng.uniform(0, 0.08) * height)
    return out[top:height - bottom, left:width - right], eye_px * scale


def jitter_bases(work):
    """(image, split, source) of the bare heads to copy: bare_heads.tsv and clear.tsv's masks/ faces."""
    bare = train_attributes.read_tsv(os.path.join(work, "bare_heads.tsv"))
    rows = [(r["image"], r["split"], r["source"]) for r in bare]
    seen = {r[0] for r in rows}
    clear = train_attributes.read_tsv(os.path.join(work, "clear.tsv"))
    rows += [(r["image"], r["split"], r["image"]) for r in clear if r["image"] not in seen and "/lfw" not in r["image"]]
    return rows


def write_jitter(work, seed, name):
    rng = np.random.default_rng(seed)
    names = ("bare.features.jsonl", "faces.features.jsonl")
    features = train_attributes.read_features(*(os.path.join(work, name) for name in names))
    out_dir = os.path.join(work, name)
    os.makedirs(out_dir, exist_ok=True)
    rows = []
    for index, (path, split, source) in enumerate(jitter_bases(work)):
        image = cv2.imread(path) if path in features else None
        if image is None:
            continue
        copy, eye_px = jitter(image, site_masks.eye_distance(features[path]["landmarks"]), rng)
        out = os.path.join(out_dir, f"{index:05d}.jpg")
        cv2.imwrite(out, copy, [cv2.IMWRITE_JPEG_QUALITY, 92])
        rows.append((out, path, split, source, f"{eye_px:.1f}"))
    with open(os.path.join(work, name + ".tsv"), "w") as out:
        out.write("image\tbase\tsplit\tsource\teye_px\n")
        out.writelines("\t".join(r) + "\n" for r in rows)
    print(f"{len(rows)} jittered copies of bare heads", file=sys.stderr)


def write_hats_dir(work, hats_dir):
    have = {r["image"] for r in train_attributes.read_tsv(os.path.join(work, "clear.tsv"))}
    rows = [r for r in train_attributes.read_tsv(os.path.join(work, "bare_heads.tsv"))
            if r["split"] == "train" and r["image"] not in have]
    os.makedirs(hats_dir, exist_ok=True)
    with open(os.path.join(hats_dir, "clear.tsv"), "w") as out:
        out.write("image\tsplit\n")
        out.writelines(f"{r['image']}\ttrain\n" for r in rows)
    link = os.path.join(hats_dir, "faces.features.jsonl")
    if not os.path.lexists(link):
        os.symlink(os.path.abspath(os.path.join(work, "bare.features.jsonl")), link)
    print(f"{len(rows)} portraits for hats", file=sys.stderr)


def main():
    if sys.argv[1] == "hats":
        write_hats_dir(sys.argv[2], sys.argv[3])
        return
    if sys.argv[1] == "jitter":
        seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 17
        name = sys.argv[sys.argv.index("--name") + 1] if "--name" in sys.argv else "bare_jitter"
        write_jitter(sys.argv[2], seed, name)
        return
    if sys.argv[1] == "list":
        skip = excluded(sys.argv[sys.argv.index("--exclude") + 1] if "--exclude" in sys.argv else None)
        os.makedirs(sys.argv[3], exist_ok=True)
        write_list(sys.argv[2], sys.argv[3], skip)
    else:
        seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 9
        write_copies(sys.argv[2], seed)


if __name__ == "__main__":
    main()
