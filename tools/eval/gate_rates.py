#!/usr/bin/python3
"""Faces found, ROC AUC and rates at a threshold from `faceauth analyze` output (JSON lines),
the label taken from the image's folder (docs/attributes.md, "At the gate").

usage: gate_rates.py ANALYZE.jsonl SCORE POSITIVE_FOLDER [--threshold T]
       [--min-eyes PX] [--max-yaw DEG] [--max-pitch DEG]

SCORE is a field of the lines (head_cover_score, face_cover_score, occluded_score); an image
whose path has /POSITIVE_FOLDER/ in it is a positive. With --min-eyes/--max-yaw/--max-pitch
only faces that pass those quality limits are counted (the PPE quality rule).
"""
import json
import sys


def auc(pos, neg):
    if not pos or not neg:
        return float("nan")
    return sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / (len(pos) * len(neg))


def option(name, default):
    return float(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def quality_limits():
    """The --min-eyes/--max-yaw/--max-pitch options (none: no limit)."""
    return option("--min-eyes", 0), option("--max-yaw", 180), option("--max-pitch", 180)


def within(row, limits):
    min_eyes, max_yaw, max_pitch = limits
    quality = row["quality"]
    return quality["eye_distance_px"] >= min_eyes and abs(quality["yaw"]) <= max_yaw and abs(quality["pitch"]) <= max_pitch


def main():
    path, score, positive = sys.argv[1:4]
    threshold = option("--threshold", 50.0)
    limits = quality_limits()
    rows = [json.loads(line) for line in open(path)]
    found = [r for r in rows if r.get("faces", 0) > 0 and score in r]
    kept = [r for r in found if within(r, limits)]
    pos = [r[score] for r in kept if f"/{positive}/" in r["image"]]
    neg = [r[score] for r in kept if f"/{positive}/" not in r["image"]]
    tpr = sum(s >= threshold for s in pos) / max(1, len(pos))
    tnr = sum(s < threshold for s in neg) / max(1, len(neg))
    print(json.dumps({"images": len(rows), "faces_found": len(found), "found_rate": round(len(found) / len(rows), 3),
                      "padded": sum(1 for r in found if r.get("padded")), "counted": len(kept),
                      "positives": len(pos), "negatives": len(neg), "roc_auc": round(auc(pos, neg), 3),
                      "threshold": threshold, "tpr": round(tpr, 3), "tnr": round(tnr, 3),
                      "balanced_accuracy": round((tpr + tnr) / 2, 3)}))


if __name__ == "__main__":
    main()
