#!/usr/bin/python3
"""Head cover's training faces stretched in height (docs/attributes.md, "Round 12").

usage: stretch_heads.py WORK_DIR --seed S --range LO,HI [--name NAME]

hardhats/ and other exported gate sets come from photos stretched to a square (the datasets
README), and a camera's angle changes a face's proportions too; the head cover score moved with
them (a held-out gate crop 1.33x taller: a median of 5 points, 17 % of verdicts at 50 flipped).
This writes one copy of every image that trains head cover, as train_attributes.py accepts it
(its features found and, for helmets/ and gate crops, the labelled person's face), with its
height scaled by a factor drawn log-uniform in LO-HI and its width kept (JPEG 92), to
WORK_DIR/NAME/ (default head_stretch), and WORK_DIR/NAME.tsv: image, base, helmet (1/0),
split (train), source (the base's validation group), stretch. Copies of copies are never made.
The trainer reads WORK_DIR/head_stretch*.tsv and their features (head_stretch*.features.jsonl,
`faceauth features --pad-retry`) as head cover training rows; a copy whose face is not where
the base's face is, stretched, is left out (train_attributes.drop_stretch_strays).
"""
import os
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_attributes  # noqa: E402


def stretched(image, factor):
    """image with its height scaled by factor, its width kept."""
    height, width = image.shape[:2]
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    return cv2.resize(image, (width, max(1, int(round(height * factor)))), interpolation=interpolation)


def training_rows(work):
    """(image, label, source) of head cover's training rows with features, each image once, in
    the trainer's order, stretched copies left out."""
    features = train_attributes.load_features(work)
    sets, _ = train_attributes.build_sets(work)
    copies = {r["image"] for name in train_attributes.work_files(work, "head_stretch", ".tsv")
              for r in train_attributes.read_tsv(os.path.join(work, name))}
    rows, seen = [], set()
    for image, label, split, source in sets["head_cover"].rows:
        if split == "train" and image in features and image not in seen and image not in copies:
            seen.add(image)
            rows.append((image, label, source))
    return rows


def write_stretched(work, seed, low, high, name):
    rng = np.random.default_rng(seed)
    out_dir = os.path.join(work, name)
    os.makedirs(out_dir, exist_ok=True)
    out_rows = []
    for index, (image, label, source) in enumerate(training_rows(work)):
        base = cv2.imread(image)
        if base is None:
            continue
        factor = float(np.exp(rng.uniform(np.log(low), np.log(high))))
        out = os.path.join(out_dir, f"{index:05d}.jpg")
        cv2.imwrite(out, stretched(base, factor), [cv2.IMWRITE_JPEG_QUALITY, 92])
        out_rows.append((out, image, str(label), "train", source, f"{factor:.3f}"))
    with open(os.path.join(work, name + ".tsv"), "w") as tsv:
        tsv.write("image\tbase\thelmet\tsplit\tsource\tstretch\n")
        tsv.writelines("\t".join(r) + "\n" for r in out_rows)
    print(f"{len(out_rows)} stretched copies of head cover's training faces", file=sys.stderr)


def main():
    argv = sys.argv[1:]
    if len(argv) < 5 or "--seed" not in argv or "--range" not in argv:
        sys.exit(__doc__)
    work = argv[0]
    low, high = (float(v) for v in argv[argv.index("--range") + 1].split(","))
    name = argv[argv.index("--name") + 1] if "--name" in argv else "head_stretch"
    sys.argv = sys.argv[:1]  # build_sets reads the trainer's own options from sys.argv
    write_stretched(work, int(argv[argv.index("--seed") + 1]), low, high, name)


if __name__ == "__main__":
    main()
