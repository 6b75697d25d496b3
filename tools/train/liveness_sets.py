#!/usr/bin/python3
"""Writes the liveness training/evaluation lists (and augmented copies) into WORK_DIR.

  tools/train/liveness_sets.py DATASETS_DIR WORK_DIR [--copies 2] [--seed 17]
  tools/train/liveness_sets.py DATASETS_DIR WORK_DIR --lfw [--copies 1] [--seed 17]
  tools/train/liveness_sets.py DATASETS_DIR WORK_DIR --painted FACERES... [--seed 18]

Reads DATASETS_DIR/nuaa/labels.tsv (printed-photo attacks) and DATASETS_DIR/replay/labels.tsv
(screen replays, 6 collections). Writes, never into the repository:
- WORK_DIR/sets.tsv: label, image (absolute path), subject = the group the splits follow:
  `nuaa:SUBJECT:SESSION` (from the NUAA name subject_glasses_position_session_picture) or
  `replay:SOURCE`; one row per original image and one per augmented copy;
- WORK_DIR/aug/K/...: copy K of every image, degraded the way other cameras and uploads differ:
  exposure (gain and gamma), white balance (per-channel gains), Gaussian blur, downscaling
  (0.35-1x: replay attack crops are smaller than live ones, so live faces must also be seen
  small) and JPEG quality 30-95, each drawn at random;
- WORK_DIR/equal.tsv and WORK_DIR/equal/...: every replay crop resized to the same width
  (168 px, the attack median), to check that a head does not read the crop size.
The groups are never split: augmented copies follow their original.

With --lfw it writes instead WORK_DIR/lfw.tsv (and WORK_DIR/aug/K/lfw-view1/...): every LFW
image (DATASETS_DIR/lfw-view1/images/PERSON/..., press photos of live people from other
cameras) as `live`, with --copies augmented copies drawn the same way (own random stream, so
sets.tsv is unchanged). The group is `lfw:PERSON` for training, `lfw-held:PERSON` for the fifth
of the people held out by a fixed split (sha256 of the name, lfw_held_out): never trained on.

With --masks it writes instead WORK_DIR/masks.tsv (and WORK_DIR/aug/K/masks/...): every image of
DATASETS_DIR/masks/with_mask and masks/without_mask (web photos of live people, with and without a
mask) as `live`, copies drawn the same way (own random stream). The group is
`mask:FOLDER/FILE` for training and `mask-held:FOLDER/FILE` for the quarter held out by the split
of the attribute heads (make_attribute_sets.py split_of), so a held-out mask photo is held out
for both.

With --masked-prints FACERES (`faceauth features` JSON lines of sets.tsv's images, for their
landmarks) it writes instead WORK_DIR/masked_prints.tsv and WORK_DIR/masked_prints/...: every
original NUAA printed photo (attack) with a face, a mask painted on it (synth_occlusions.py
draw_mask: surgical, respirator or cloth), group as in sets.tsv. No attack in the training sets
wears a mask, so these check that a head has not learnt "a mask = live" from masked live faces.

With --painted FACERES... (`faceauth features` JSON lines of sets.tsv's, lfw.tsv's and masks.tsv's
images) it writes instead WORK_DIR/painted.tsv and WORK_DIR/painted/...: a mask painted the same way
on both sides, so that the mask is not the label (round 6): every original NUAA and replay/ image,
live and attack (a printed photo or a screen with a mask painted on is an attack), the first image of
each LFW person and every masks/without_mask photo (live), each with a face. Label and group are the
source image's (`nuaa:SUBJECT:SESSION`, `replay:SOURCE`, `lfw:` / `lfw-held:PERSON`, `mask:` /
`mask-held:without_mask/FILE`), so a painted copy is held out with its source, never trained on
when its source is held out.
"""
import argparse
import hashlib
import os

import cv2
import numpy as np

from make_attribute_sets import split_of
from synth_occlusions import draw_mask
from train_attributes import read_features

EQUAL_WIDTH = 168


def read_labels(path):
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        rows = [dict(zip(header, line.rstrip("\n").split("\t"))) for line in f if line.strip()]
    return rows


def nuaa_group(image):
    parts = os.path.basename(image).split("_")  # subject_glasses_position_session_picture
    return f"nuaa:{parts[0]}:{parts[3]}"


def originals(datasets):
    out = []
    for row in read_labels(os.path.join(datasets, "nuaa", "labels.tsv")):
        out.append((row["label"], os.path.join(datasets, "nuaa", row["image"]), nuaa_group(row["image"])))
    for row in read_labels(os.path.join(datasets, "replay", "labels.tsv")):
        out.append((row["label"], os.path.join(datasets, "replay", row["image"]), "replay:" + row["source"]))
    return out


def lfw_held_out(person):
    """A fixed fifth of the LFW people, by the sha256 of the name: held out from training."""
    return int(hashlib.sha256(person.encode()).hexdigest(), 16) % 5 == 0


def lfw_originals(datasets):
    root = os.path.join(datasets, "lfw-view1", "images")
    out = []
    for person in sorted(os.listdir(root)):
        group = ("lfw-held:" if lfw_held_out(person) else "lfw:") + person
        for name in sorted(os.listdir(os.path.join(root, person))):
            out.append(("live", os.path.join(root, person, name), group))
    return out


def mask_originals(datasets):
    """masks/with_mask and masks/without_mask as live, grouped by image, split as the attribute heads."""
    out = []
    for folder in ("with_mask", "without_mask"):
        root = os.path.join(datasets, "masks", folder)
        for name in sorted(os.listdir(root)):
            if not name.lower().endswith((".jpg", ".jpeg", ".png")):
                continue
            key = folder + "/" + name
            group = ("mask-held:" if split_of(key) == "heldout" else "mask:") + key
            out.append(("live", os.path.join(root, name), group))
    return out


def paint_mask(image, landmarks, rng):
    """synth_occlusions.draw_mask with the eye distance of these landmarks."""
    lm = [tuple(p) for p in landmarks]
    eyes = np.array(lm[36:42]).mean(0), np.array(lm[42:48]).mean(0)
    return draw_mask(image, lm, float(np.linalg.norm(eyes[1] - eyes[0])), rng)


def paint_each(sources, landmarks, datasets, out_dir, rng):
    """A mask painted on each (label, path, group) source with landmarks, written under out_dir at
    its path within datasets; the rows of the painted copies, with their source's label and group."""
    rows = []
    for label, path, group in sources:
        path = os.path.abspath(path)
        if path not in landmarks:
            continue
        out = os.path.join(out_dir, relative(path, datasets))
        os.makedirs(os.path.dirname(out), exist_ok=True)
        cv2.imwrite(out, paint_mask(cv2.imread(path, cv2.IMREAD_COLOR), landmarks[path], rng))
        rows.append((label, os.path.abspath(out), group))
    return rows


def masked_prints(datasets, work, faceres, rng):
    """masked_prints.tsv: each NUAA attack original with a face, a mask painted on it."""
    landmarks = {image: row["landmarks"] for image, row in read_features(faceres).items()}
    prints = [row for row in originals(datasets) if row[0] == "attack" and row[2].startswith("nuaa:")]
    rows = paint_each(prints, landmarks, datasets, os.path.join(work, "masked_prints"), rng)
    write_tsv(os.path.join(work, "masked_prints.tsv"), rows)
    print(f"{len(rows)} images in masked_prints.tsv")


def painted_sources(datasets):
    """The images painted_set paints: NUAA and replay/ (both labels), each LFW person's first image,
    masks/without_mask."""
    firsts, seen = [], set()
    for row in lfw_originals(datasets):
        if row[2] not in seen:
            seen.add(row[2])
            firsts.append(row)
    bare = [row for row in mask_originals(datasets) if "/without_mask/" in row[1]]
    return originals(datasets) + firsts + bare


def painted_set(datasets, work, faceres, rng):
    """painted.tsv: a mask painted on each source image with a face (landmarks from faceres)."""
    landmarks = {image: row["landmarks"] for image, row in read_features(*faceres).items()}
    rows = paint_each(painted_sources(datasets), landmarks, datasets, os.path.join(work, "painted"), rng)
    write_tsv(os.path.join(work, "painted.tsv"), rows)
    print(f"{len(rows)} images in painted.tsv")


def originals_of(args):
    if args.lfw:
        return lfw_originals(args.datasets)
    if args.masks:
        return mask_originals(args.datasets)
    return originals(args.datasets)


def augment(image, rng):
    out = image.astype(np.float32) / 255
    out = out ** rng.uniform(0.7, 1.4) * rng.uniform(0.6, 1.4)  # exposure
    out = out * rng.uniform(0.85, 1.15, size=3)  # white balance (B, G, R gains)
    out = np.clip(out * 255, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.5, 1.6))
    if rng.random() < 0.6:
        scale = rng.uniform(0.35, 1.0)
        size = (max(32, round(out.shape[1] * scale)), max(32, round(out.shape[0] * scale)))
        out = cv2.resize(out, size, interpolation=cv2.INTER_AREA)
    quality = int(rng.integers(30, 96))
    return cv2.imdecode(cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], cv2.IMREAD_COLOR)


def relative(path, datasets):
    return os.path.relpath(path, datasets)


def write_tsv(path, rows):
    with open(path, "w") as f:
        f.write("label\timage\tsubject\n")
        for row in rows:
            f.write("\t".join(row) + "\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("datasets")
    parser.add_argument("work")
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--lfw", action="store_true", help="write lfw.tsv (LFW as live) instead of sets.tsv")
    parser.add_argument("--masks", action="store_true", help="write masks.tsv (masks/ as live) instead of sets.tsv")
    parser.add_argument("--masked-prints", default="", metavar="FACERES",
                        help="write masked_prints.tsv (NUAA prints with a mask painted on) instead of sets.tsv")
    parser.add_argument("--painted", nargs="+", default=[], metavar="FACERES",
                        help="write painted.tsv (a mask painted on live and attack images) instead of sets.tsv")
    args = parser.parse_args()
    if args.lfw + args.masks + bool(args.masked_prints) + bool(args.painted) > 1:
        raise SystemExit("--lfw, --masks, --masked-prints and --painted write one list each: run them apart")
    if args.painted:
        return painted_set(args.datasets, args.work, args.painted, np.random.default_rng(args.seed))
    if args.masked_prints:
        return masked_prints(args.datasets, args.work, args.masked_prints, np.random.default_rng(args.seed))
    rng = np.random.default_rng(args.seed)
    rows, equal = [], []
    for label, path, group in originals_of(args):
        rows.append((label, os.path.abspath(path), group))
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            raise SystemExit(f"cannot read {path}")
        for k in range(args.copies):
            out = os.path.join(args.work, "aug", str(k), relative(path, args.datasets)) + ".jpg"
            os.makedirs(os.path.dirname(out), exist_ok=True)
            cv2.imwrite(out, augment(image, rng))
            rows.append((label, os.path.abspath(out), group))
        if group.startswith("replay:"):
            out = os.path.join(args.work, "equal", relative(path, args.datasets))
            os.makedirs(os.path.dirname(out), exist_ok=True)
            height = round(image.shape[0] * EQUAL_WIDTH / image.shape[1])
            interpolation = cv2.INTER_AREA if image.shape[1] > EQUAL_WIDTH else cv2.INTER_CUBIC
            cv2.imwrite(out, cv2.resize(image, (EQUAL_WIDTH, height), interpolation=interpolation))
            equal.append((label, os.path.abspath(out), group))
    if args.lfw or args.masks:
        name = "lfw.tsv" if args.lfw else "masks.tsv"
        write_tsv(os.path.join(args.work, name), rows)
        print(f"{len(rows)} images in {name}")
        return
    write_tsv(os.path.join(args.work, "sets.tsv"), rows)
    write_tsv(os.path.join(args.work, "equal.tsv"), equal)
    print(f"{len(rows)} images in sets.tsv, {len(equal)} in equal.tsv")


if __name__ == "__main__":
    main()
