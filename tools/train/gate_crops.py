#!/usr/bin/python3
"""Gate-like head crops from helmets/ for head cover (docs/attributes.md, "At the gate").

usage: gate_crops.py DATASETS_DIR OUT_DIR [--seed S] [--per-head N] > gate_crops.tsv

hardhats/ (the held-out gate set, never trained on) holds square crops around a hat or hair
box reaching down over the face, 121-542 px, cut from photos stretched to 640x640. This draws
crops like them around every labelled head box of helmets/ (`helmet` / `no_helmet`): square,
side 1.5-2.6x the box's longer side, its top 0-15 % of the side above the box's top, centred on
the box within +-10 %; then, as a gate camera or that exporter would: shrunk to 110-320 px
(never enlarged), stretched in width 0.8-1.25x a third of the time, blurred (sigma 0.5-1.2)
30 % of the time, JPEG quality 40-90. N crops per head (default 2), each drawn anew. Heads
under 24 px in the photo are left out (no face to find). The split is the trainer's fixed
sha256 hash of the source photo (make_attribute_sets.split_of), so a photo's crops stay on
one side. Output TSV: image, helmet (1/0), split, photo, box_px (the head box's longer side in
the crop's pixels, for the trainer's check that the face found is the labelled one).
"""
import os
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_attribute_sets import images, split_of  # noqa: E402

MIN_HEAD_PX = 24


def head_boxes(datasets, name):
    """(helmet, x0, y0, side) in pixels of the photo, one per labelled head."""
    stem = os.path.splitext(name)[0]
    path = os.path.join(datasets, "helmets", "labels", stem + ".txt")
    return [cells for cells in (line.split() for line in open(path)) if len(cells) == 5] if os.path.exists(path) else []


def square_crop(image, x0, y0, side):
    """image[y0:y0+side, x0:x0+side], edges replicated where it reaches outside."""
    height, width = image.shape[:2]
    top, left = max(0, -y0), max(0, -x0)
    padded = cv2.copyMakeBorder(image, top, max(0, y0 + side - height), left, max(0, x0 + side - width),
                                cv2.BORDER_REPLICATE)
    return padded[y0 + top:y0 + top + side, x0 + left:x0 + left + side]


def gate_crop(image, box, rng):
    """One crop around box (cx, cy, w, h in pixels), degraded; returns (crop, box side in it)."""
    cx, cy, w, h = box
    longer = max(w, h)
    side = int(round(rng.uniform(1.5, 2.6) * longer))
    x0 = int(round(cx - side / 2 + rng.uniform(-0.1, 0.1) * side))
    y0 = int(round(cy - h / 2 - rng.uniform(0.0, 0.15) * side))
    crop = square_crop(image, x0, y0, side)
    target = rng.uniform(110, 320)
    scale = min(1.0, target / side)
    if scale < 1.0:
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    if rng.random() < 1 / 3:
        crop = cv2.resize(crop, None, fx=rng.uniform(0.8, 1.25), fy=1.0, interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.3:
        crop = cv2.GaussianBlur(crop, (0, 0), rng.uniform(0.5, 1.2))
    return crop, longer * scale


def main():
    datasets, out_dir = sys.argv[1], sys.argv[2]
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 11
    per_head = int(sys.argv[sys.argv.index("--per-head") + 1]) if "--per-head" in sys.argv else 2
    rng = np.random.default_rng(seed)
    os.makedirs(out_dir, exist_ok=True)
    print("image\thelmet\tsplit\tphoto\tbox_px")
    for name in images(os.path.join(datasets, "helmets", "images")):
        stem = os.path.splitext(name)[0]
        boxes = head_boxes(datasets, name)
        image = cv2.imread(os.path.join(datasets, "helmets", "images", name)) if boxes else None
        if image is None:
            continue
        height, width = image.shape[:2]
        for index, cells in enumerate(boxes):
            cx, cy, w, h = (float(v) for v in cells[1:])
            box = (cx * width, cy * height, w * width, h * height)
            if max(box[2], box[3]) < MIN_HEAD_PX:
                continue
            for copy in range(per_head):
                crop, box_px = gate_crop(image, box, rng)
                path = os.path.abspath(os.path.join(out_dir, f"{stem}_{index}_g{copy}.jpg"))
                cv2.imwrite(path, crop, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(40, 91))])
                print(f"{path}\t{1 if cells[0] == 'helmet' else 0}\t{split_of(stem)}\t{stem}\t{box_px:.1f}")


if __name__ == "__main__":
    main()
