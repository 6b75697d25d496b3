#!/usr/bin/python3
"""Image lists (and head crops) for training the attribute heads; see docs/attributes.md.

usage: make_attribute_sets.py DATASETS_DIR WORK_DIR [--lfw N]

Writes into WORK_DIR (outside the repository: crops are derivatives of the datasets):
  masks.tsv        image, mask (1/0), split         from masks/with_mask, masks/without_mask
  clear.tsv        image, split                     clear faces: masks/without_mask + N LFW images
  helmet_crops/    one crop per labelled head of helmets/ (the head box x3 around it, >= 256 px),
                   and its mirror image for the training part
  helmets.tsv      image, helmet (1/0), split, photo
The split (train / heldout) is a fixed hash of the source photo, so a photo's crops and its
synthetic occlusions stay on one side; about 25% is held out.
"""
import hashlib
import os
import sys

import cv2


def split_of(key):
    return "heldout" if int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 4 == 0 else "train"


def images(folder):
    return sorted(f for f in os.listdir(folder) if f.lower().endswith((".jpg", ".jpeg", ".png")))


def head_crops(datasets, work):
    out_dir = os.path.join(work, "helmet_crops")
    os.makedirs(out_dir, exist_ok=True)
    rows = []
    for name in images(os.path.join(datasets, "helmets", "images")):
        stem = os.path.splitext(name)[0]
        label_path = os.path.join(datasets, "helmets", "labels", stem + ".txt")
        if not os.path.exists(label_path):
            continue
        image = cv2.imread(os.path.join(datasets, "helmets", "images", name))
        if image is None:
            continue
        height, width = image.shape[:2]
        for index, line in enumerate(open(label_path)):
            cells = line.split()
            if len(cells) != 5:
                continue
            cx, cy, w, h = (float(v) for v in cells[1:])
            side = 3.0 * max(w * width, h * height)
            x0, y0 = int(cx * width - side / 2), int(cy * height - side / 2)
            x1, y1 = int(x0 + side), int(y0 + side)
            # Pad by edge replication so a head near the border keeps the crop square.
            pad_top, pad_left = max(0, -y0), max(0, -x0)
            padded = cv2.copyMakeBorder(image, pad_top, max(0, y1 - height), pad_left, max(0, x1 - width),
                                        cv2.BORDER_REPLICATE)
            crop = padded[y0 + pad_top:y1 + pad_top, x0 + pad_left:x1 + pad_left]
            if crop.shape[0] < 256:
                scale = 256.0 / crop.shape[0]
                crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
            path = os.path.join(out_dir, f"{stem}_{index}.jpg")
            cv2.imwrite(path, crop, [cv2.IMWRITE_JPEG_QUALITY, 95])
            label, split = 1 if cells[0] == "helmet" else 0, split_of(stem)
            rows.append((path, label, split, stem))
            if split == "train":  # twice the (few) training heads: the mirror image too
                path = os.path.join(out_dir, f"{stem}_{index}_flip.jpg")
                cv2.imwrite(path, cv2.flip(crop, 1), [cv2.IMWRITE_JPEG_QUALITY, 95])
                rows.append((path, label, split, stem))
    return rows


def main():
    datasets, work = sys.argv[1], sys.argv[2]
    lfw_count = int(sys.argv[sys.argv.index("--lfw") + 1]) if "--lfw" in sys.argv else 600
    os.makedirs(work, exist_ok=True)
    masks = []
    for folder, label in (("with_mask", 1), ("without_mask", 0)):
        base = os.path.join(datasets, "masks", folder)
        masks += [(os.path.join(base, f), label, split_of(folder + "/" + f)) for f in images(base)]
    with open(os.path.join(work, "masks.tsv"), "w") as out:
        out.write("image\tmask\tsplit\n")
        out.writelines(f"{p}\t{m}\t{s}\n" for p, m, s in masks)
    lfw = os.path.join(datasets, "lfw-view1", "images")
    people = sorted(os.listdir(lfw))
    clear = [(p, s) for p, m, s in masks if m == 0]
    for person in people[::max(1, len(people) // lfw_count)][:lfw_count]:
        first = images(os.path.join(lfw, person))[0]
        clear.append((os.path.join(lfw, person, first), split_of("lfw/" + person)))
    with open(os.path.join(work, "clear.tsv"), "w") as out:
        out.write("image\tsplit\n")
        out.writelines(f"{p}\t{s}\n" for p, s in clear)
    heads = head_crops(datasets, work)
    with open(os.path.join(work, "helmets.tsv"), "w") as out:
        out.write("image\thelmet\tsplit\tphoto\n")
        out.writelines(f"{p}\t{h}\t{s}\t{photo}\n" for p, h, s, photo in heads)
    print(f"masks {len(masks)}, clear {len(clear)}, head crops {len(heads)}")


if __name__ == "__main__":
    main()
