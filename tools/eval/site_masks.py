#!/usr/bin/python3
"""A synthetic "masked workers at a site" set (docs/attributes.md, "Masks at the gate").

usage: site_masks.py WORK_DIR OUT_DIR [--seed S] [--split train|heldout] [--mirrors] [--eyes LO,HI]
       > site_masks.tsv

There is no labelled set of masked workers at sites in the dev datasets, so this one is drawn:
the real construction-site faces of helmets/ (WORK_DIR of tools/train/attributes.sh: the head
crops whose face is the labelled person's, as the trainer counts them, mirrors left out) each
give two images, the face bare and the face with a mask drawn from its landmarks
(synth_occlusions.draw_mask: surgical, respirator or cloth), both degraded alike as a gate
camera would: brought to 12-45 px between the eyes, sometimes blurred, JPEG quality 35-85.
Heads keep their own pose (many are turned or seen from above). The split is the helmets/
source photo's (a fixed hash: train or heldout), so a head trained on the train part is
measured on photos it never saw. It proves the heads read masks drawn on real site faces at
gate-like sizes; it does not prove anything about real masks, real respirators, dirt, or
lighting of real gates: the mask is painted, not photographed.
Output TSV: image, mask (1/0), split, photo, eye_px (eye distance after shrinking).
More training copies (the trainer's site set, docs/attributes.md): `--split train` keeps only the
training photos (the measured set stays seed 7's held-out part), `--mirrors` also uses the
training heads' mirror images; `--split heldout` with other seeds gives more drawings of the
held-out photos to measure on. Use another OUT_DIR per seed (the file names repeat).
--eyes LO,HI draws the faces at the sizes the service judges (round 5 of issue 17: 30,45 for face
cover, a PPE check; 20,45 for occlusion) and leaves out heads whose own face is smaller than LO.
"""
import os
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "train"))
import synth_occlusions  # noqa: E402
import train_attributes  # noqa: E402


GATE_EYES = (12.0, 45.0)  # px between the eyes a face is shrunk to (never enlarged)


def degrade(image, landmarks, rng, eyes_range=GATE_EYES):
    """Shrink to 12-45 px between the eyes (or eyes_range), blur 30 %, JPEG 35-85 (returned as
    bytes)."""
    lm = np.array(landmarks)
    eyes = float(np.linalg.norm(lm[42:48].mean(0) - lm[36:42].mean(0)))
    target = rng.uniform(*eyes_range)
    scale = min(1.0, target / max(eyes, 1e-3))
    if scale < 1.0:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    if rng.random() < 0.3:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.5, 1.2))
    quality = int(rng.integers(35, 86))
    return image, eyes * scale, quality


def site_heads(work, only=None, mirrors=False):
    """(helmets.tsv row, image, landmarks) of every centred site head, in the file's order:
    mirrors only with `mirrors`, only the split `only` when given."""
    features = train_attributes.read_features(os.path.join(work, "heads.features.jsonl"))
    for r in train_attributes.read_tsv(os.path.join(work, "helmets.tsv")):
        if (r["image"].endswith("_flip.jpg") and not mirrors) or r["image"] not in features:
            continue
        if only and r["split"] != only:
            continue
        row = features[r["image"]]
        if not train_attributes.centred(row):
            continue
        yield r, cv2.imread(r["image"]), [tuple(p) for p in row["landmarks"]]


def eyes_option(argv):
    """--eyes LO,HI (judged sizes, e.g. 30,45 for the PPE checks): faces drawn at LO-HI px between
    the eyes, heads whose own face is under LO left out (never enlarged). Default: GATE_EYES, every
    head."""
    if "--eyes" not in argv:
        return GATE_EYES, 0.0
    lo, hi = (float(v) for v in argv[argv.index("--eyes") + 1].split(","))
    return (lo, hi), lo


def eye_distance(landmarks):
    return float(np.linalg.norm(np.mean(landmarks[42:48], 0) - np.mean(landmarks[36:42], 0)))


def main():
    work, out_dir = sys.argv[1], sys.argv[2]
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 7
    rng = np.random.default_rng(seed)
    os.makedirs(out_dir, exist_ok=True)
    only = sys.argv[sys.argv.index("--split") + 1] if "--split" in sys.argv else None
    eyes_range, min_native = eyes_option(sys.argv)
    print("image\tmask\tsplit\tphoto\teye_px")
    for r, image, landmarks in site_heads(work, only, "--mirrors" in sys.argv):
        eyes = eye_distance(landmarks)
        if eyes < min_native:
            continue
        for mask in (0, 1):
            drawn = synth_occlusions.draw_mask(image.copy(), landmarks, eyes, rng) if mask else image.copy()
            small, eye_px, quality = degrade(drawn, landmarks, rng, eyes_range)
            name = os.path.join(out_dir, f"{os.path.basename(r['image'])[:-4]}_{'mask' if mask else 'bare'}.jpg")
            cv2.imwrite(name, small, [cv2.IMWRITE_JPEG_QUALITY, quality])
            print(f"{name}\t{mask}\t{r['split']}\t{r['photo']}\t{eye_px:.1f}")


if __name__ == "__main__":
    main()
