#!/usr/bin/python3
"""Test-time averaging on LFW View 1 (docs/accuracy.md, "Test-time averaging"): several chips
of each face (dlib68 template at padding 0.20 / 0.25 / 0.30, shifted 3 px right or down, each
with its mirror image) through one recognition model, descriptors L2-normalised and summed.

  cd LFW/images && faceauth embed --list ALL.txt --subject centre > base.jsonl
  tools/eval/jitter_views.py LFW base.jsonl MODEL_DIR [--model dlib_recognition]

Prints one JSON line per combination of chips (test accuracy at the train threshold, AUC and
TAR at FAR 1e-2..1e-4 over every pair of the images, as explore_models.py).
"""
import argparse
import json

import cv2
import numpy as np

import explore_models as em

cv2.setNumThreads(1)


def chip68(img, lm, pad=0.25, shift=(0, 0)):
    dst = (em.T68 + pad) / (2 * pad + 1) * 150 + np.array(shift)
    return cv2.warpAffine(img, em.sim_transform(lm[em.IDX68], dst), (150, 150), flags=cv2.INTER_LINEAR)


VIEWS = {"p25": {}, "p20": {"pad": 0.20}, "p30": {"pad": 0.30}, "sx": {"shift": (3, 0)}, "sy": {"shift": (0, 3)}}
COMBOS = {
    "1 chip": ["p25"],
    "+ mirror": ["p25", "p25_f"],
    "paddings + mirrors": ["p25", "p25_f", "p20", "p20_f", "p30", "p30_f"],
    "shifts + mirrors": ["p25", "p25_f", "sx", "sx_f", "sy", "sy_f"],
    "all": [v + m for v in VIEWS for m in ("", "_f")],
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("lfw"); parser.add_argument("landmarks"); parser.add_argument("model_dir")
    parser.add_argument("--model", default="dlib_recognition")
    args = parser.parse_args()
    rows = em.load_landmarks(args.landmarks)
    names = sorted(rows)
    net = em.Net(args.model_dir, args.model)
    emb = {v + m: [] for v in VIEWS for m in ("", "_f")}
    for name in names:
        img = cv2.imread(f"{args.lfw}/images/{name}")
        for view, options in VIEWS.items():
            chip = chip68(img, rows[name][0], **options)
            plain, mirrored = net.run([chip, cv2.flip(chip, 1)])
            emb[view].append(plain)
            emb[view + "_f"].append(mirrored)
    for label, keys in COMBOS.items():
        summed = sum(em.norm(np.array(emb[k])) for k in keys)
        print(json.dumps({"chips": label, "n": len(keys), **em.evaluate(args.lfw, names, summed)}))


if __name__ == "__main__":
    main()
