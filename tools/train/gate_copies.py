#!/usr/bin/python3
"""Gate-degraded copies of the attribute training images (docs/attributes.md, "At the gate").

usage: gate_copies.py WORK_DIR [--seed S] [--synth-kinds N] > /dev/null

The site set (tools/eval/site_masks.py) brings faces to 12-45 px between the eyes, blurs
some and writes them at JPEG 35-85: a gate camera's faces. Trained on web masks and sharp
clear faces only, the heads read such a small, soft face as occluded or masked. This writes one
copy of every face image of WORK_DIR (masks/ with and without, the clear faces, and of the
synthetic occlusions the kinds mask and clear plus N other kinds per face, default 2) through the
same degradation (site_masks.degrade), so every class is seen small and soft, not only the
masked one. The copy keeps its base image's label and split; the trainer adds it to every head
that has the base image (train copies to training, held-out copies to `heldout_gate`).
Writes WORK_DIR/gate/*.jpg and WORK_DIR/gate.tsv (image, base, split, eye_px).
"""
import os
import sys

import cv2
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "eval"))
import site_masks  # noqa: E402
import train_attributes  # noqa: E402


def bases(work, synth_kinds, rng):
    """(image, split) of every face image and the chosen synthetic ones."""
    images = [(r["image"], r["split"]) for r in train_attributes.read_tsv(os.path.join(work, "masks.tsv"))]
    images += [(r["image"], r["split"]) for r in train_attributes.read_tsv(os.path.join(work, "clear.tsv"))]
    by_source = {}
    for r in train_attributes.read_tsv(os.path.join(work, "synth.tsv")):
        by_source.setdefault(r["source"], []).append(r)
    for rows in by_source.values():
        fixed = [r for r in rows if r["kind"] in ("mask", "clear")]
        others = [r for r in rows if r["kind"] not in ("mask", "clear")]
        picked = rng.choice(len(others), size=min(synth_kinds, len(others)), replace=False) if others else []
        images += [(r["image"], r["split"]) for r in fixed + [others[i] for i in picked]]
    return list(dict.fromkeys(images))  # masks/without_mask is also a clear face: once


def main():
    work = sys.argv[1]
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 9
    synth_kinds = int(sys.argv[sys.argv.index("--synth-kinds") + 1]) if "--synth-kinds" in sys.argv else 2
    rng = np.random.default_rng(seed)
    features = train_attributes.read_features(os.path.join(work, "faces.features.jsonl"),
                                              os.path.join(work, "synth.features.jsonl"))
    out_dir = os.path.join(work, "gate")
    os.makedirs(out_dir, exist_ok=True)
    rows = []
    for index, (path, split) in enumerate(bases(work, synth_kinds, rng)):
        image = cv2.imread(path) if path in features else None
        if image is None:
            continue
        small, eye_px, quality = site_masks.degrade(image, features[path]["landmarks"], rng)
        name = os.path.join(out_dir, f"{index:05d}.jpg")
        cv2.imwrite(name, small, [cv2.IMWRITE_JPEG_QUALITY, quality])
        rows.append((name, path, split, f"{eye_px:.1f}"))
    with open(os.path.join(work, "gate.tsv"), "w") as out:
        out.write("image\tbase\tsplit\teye_px\n")
        out.writelines("\t".join(r) + "\n" for r in rows)
    print(f"{len(rows)} gate copies", file=sys.stderr)


if __name__ == "__main__":
    main()
