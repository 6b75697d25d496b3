#!/usr/bin/python3
"""Faces found, ROC AUC and rates at a threshold from `faceauth analyze` output (JSON lines),
the label taken from the image's folder (docs/attributes.md, "At the gate").

usage: gate_rates.py ANALYZE.jsonl SCORE POSITIVE_FOLDER [--threshold T]
       [--min-eyes PX] [--max-yaw DEG] [--max-pitch DEG] [--min-fit F] [--own-face FEATURES.jsonl]

SCORE is a field of the lines (head_cover_score, face_cover_score, occluded_score); an image
whose path has /POSITIVE_FOLDER/ in it is a positive. With --min-eyes/--max-yaw/--max-pitch/--min-fit
only faces that pass those quality limits are counted (the PPE quality rule; --min-fit is the
landmark_fit limit, kPpeMinLandmarkFit, docs/attributes.md "Round 6").

--own-face FEATURES.jsonl (`faceauth features` of the same images, with the same --pad-retry,
for the landmarks) also reports, in "own_face", the faces that are the crop's own person: a
hardhats/ crop is square around the labelled hat or hair box, reaching down over the face
(datasets README), so the face found counts when it is where that head's face is and about its
size, the rule the trainer applies to its gate crops (train_attributes.gate_face): the
landmarks' mean in the middle 60 % across and below the top 15 %, and the jaw (landmarks 0 to
16) at least 0.3 of the head box. The head box is not in the set's labels; it is taken as
HEAD_BOX_SHARE = 0.48 of the crop's longer side, the median of the hard hats' widths read off
the 17 hardhats/ crops where a hat is seen whole at the top middle (0.42-0.58 of the side, read
on a 10 % grid; docs/attributes.md, "Round 5"). Without it a hit on a white hat seen from
above, a neck, an arm or a neighbour in a crowd photo counts as the crop's face (a crop cut by
the photo's edge is not square: its longer side is the one the exporter cut).
"""
import json
import os
import sys


def auc(pos, neg):
    if not pos or not neg:
        return float("nan")
    return sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / (len(pos) * len(neg))


def option(name, default):
    return float(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def quality_limits():
    """The --min-eyes/--max-yaw/--max-pitch/--min-fit options (none: no limit)."""
    return option("--min-eyes", 0), option("--max-yaw", 180), option("--max-pitch", 180), option("--min-fit", 0)


def within(row, limits):
    min_eyes, max_yaw, max_pitch, min_fit = limits
    quality = row["quality"]
    fits = min_fit <= 0 or quality["landmark_fit"] >= min_fit
    return (quality["eye_distance_px"] >= min_eyes and abs(quality["yaw"]) <= max_yaw
            and abs(quality["pitch"]) <= max_pitch and fits)


HEAD_BOX_SHARE = 0.48  # the labelled hat/hair box's side over the crop's longer side (hardhats/)


def own_faces(rows, features_path):
    """The rows whose face, by the landmarks in features_path, is the crop's own person's (see
    the module's doc); each crop is read once, for its size."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "train"))
    import cv2
    from train_attributes import gate_face_in, read_features
    landmarks = {image: row["landmarks"] for image, row in read_features(features_path).items() if row.get("landmarks")}

    def own(image):
        height, width = cv2.imread(image).shape[:2]
        face = {"image": image, "landmarks": landmarks[image]}
        return gate_face_in(face, height, width, HEAD_BOX_SHARE * max(height, width))

    return [r for r in rows if r["image"] in landmarks and own(r["image"])]


def rates(rows, score, positive, threshold):
    pos = [r[score] for r in rows if f"/{positive}/" in r["image"]]
    neg = [r[score] for r in rows if f"/{positive}/" not in r["image"]]
    tpr = sum(s >= threshold for s in pos) / max(1, len(pos))
    tnr = sum(s < threshold for s in neg) / max(1, len(neg))
    return {"counted": len(rows), "positives": len(pos), "negatives": len(neg), "roc_auc": round(auc(pos, neg), 3),
            "threshold": threshold, "tpr": round(tpr, 3), "tnr": round(tnr, 3),
            "balanced_accuracy": round((tpr + tnr) / 2, 3)}


def main():
    path, score, positive = sys.argv[1:4]
    threshold = option("--threshold", 50.0)
    limits = quality_limits()
    rows = [json.loads(line) for line in open(path)]
    found = [r for r in rows if r.get("faces", 0) > 0 and score in r]
    kept = [r for r in found if within(r, limits)]
    report = {"images": len(rows), "faces_found": len(found), "found_rate": round(len(found) / len(rows), 3),
              "padded": sum(1 for r in found if r.get("padded"))}
    report.update(rates(kept, score, positive, threshold))
    if "--own-face" in sys.argv:
        own = own_faces(kept, sys.argv[sys.argv.index("--own-face") + 1])
        report["own_face"] = dict(rates(own, score, positive, threshold), found_rate=round(len(own) / len(rows), 3))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
