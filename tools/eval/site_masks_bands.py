#!/usr/bin/python3
"""Face cover and occlusion on the site set (site_masks.py) by eye distance, from features.

usage: site_masks_bands.py HEADS_DIR WORK_DIR [--fit]

Reads WORK_DIR/site_masks.tsv and site.features.jsonl (the trainer's inputs: landmarks and
region features without the pad retry; `faceauth features`), scores the held-out photos with
HEADS_DIR/face_cover.json and occluded.json and prints ROC AUC and balanced accuracy per band
of eye distance (landmarks, image pixels). With --fit, also a face cover head fitted on the
site set's training rows of that band alone (site_masks.tsv and site_masks.train*.tsv, L2 0.1
and 1; the trainer's fit): whether the features of a face that small carry the mask at all,
whatever else a head has to learn (docs/attributes.md, "At the gate").
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "train"))
import train_attributes as t  # noqa: E402

BANDS = ((0, 12), (12, 20), (20, 30), (30, 1000), (0, 1000))


def eye_distance(row):
    landmarks = np.array(row["landmarks"])
    return float(np.linalg.norm(landmarks[42:48].mean(0) - landmarks[36:42].mean(0)))


def arrays(rows, features, inputs, name):
    x = np.array([np.concatenate([features[r["image"]][k] for k in inputs]) for r in rows], np.float32)
    y = np.array([int(r["mask"]) if name == "face_cover" else 1 - int(r["mask"]) for r in rows])
    return x, y


def main():
    heads_dir, work = sys.argv[1], sys.argv[2]
    tsvs = ["site_masks.tsv"] + sorted(f for f in os.listdir(work) if f.startswith("site_masks.train"))
    feature_files = sorted(f for f in os.listdir(work) if f.startswith("site.") and f.endswith(".features.jsonl"))
    features = t.read_features(*(os.path.join(work, f) for f in feature_files))
    rows = [r for f in tsvs for r in t.read_tsv(os.path.join(work, f)) if r["image"] in features]
    held = [r for r in t.read_tsv(os.path.join(work, "site_masks.tsv")) if r["split"] != "train" and r["image"] in features]
    for name in ("face_cover", "occluded"):
        head = t.load_head(os.path.join(heads_dir, name + ".json"))
        for lo, hi in BANDS:
            part = [r for r in held if lo <= eye_distance(features[r["image"]]) < hi]
            x, y = arrays(part, features, head["inputs"], name)
            m = t.metrics(t.predict(head, x), y) if len(y) else {"n": 0}
            print(json.dumps({"head": name, "eyes": [lo, hi], "n": m["n"], "roc_auc": m.get("roc_auc"),
                              "balanced_accuracy": m.get("balanced_accuracy")}))
    if "--fit" not in sys.argv:
        return
    for lo, hi in BANDS:
        band = [r for r in rows if lo <= eye_distance(features[r["image"]]) < hi]
        x, y = arrays([r for r in band if r["split"] == "train"], features, ["upper", "lower"], "face_cover")
        hx, hy = arrays([r for r in held if lo <= eye_distance(features[r["image"]]) < hi], features,
                        ["upper", "lower"], "face_cover")
        for l2 in (0.1, 1.0):
            m = t.metrics(t.predict(t.fit(x, y, l2, 5), hx), hy)
            print(json.dumps({"fitted": "face_cover", "eyes": [lo, hi], "train": int(len(y)), "l2": l2, "n": m["n"],
                              "roc_auc": m["roc_auc"], "balanced_accuracy": m["balanced_accuracy"]}))


if __name__ == "__main__":
    main()
