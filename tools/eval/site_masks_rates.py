#!/usr/bin/python3
"""ROC AUC and rates at 50 of face cover and occlusion on the site_masks.py set.

usage: site_masks_rates.py site_masks.tsv ANALYZE.jsonl [--min-eyes PX] [--max-yaw DEG] [--max-pitch DEG]
       [--min-fit F] [--by-pass]

ANALYZE.jsonl: `faceauth analyze --list` of the set's images. Positives: mask (face cover
present; occluded_score low). Figures per split (train / heldout photos) and for all; with
--by-pass also per split for the faces found on the first pass and those found only by the pad
retry (`"padded": true`). The limits are gate_rates.py's (--min-fit: quality.landmark_fit).
"""
import json
import sys

from gate_rates import auc, quality_limits, within


def main():
    lines = open(sys.argv[1]).read().splitlines()
    labels = {c[0]: (c[1] == "1", c[2]) for c in (line.split("\t") for line in lines[1:])}
    rows = [json.loads(line) for line in open(sys.argv[2])]
    limits = quality_limits()
    passes = (("any", None), ("first", False), ("padded", True)) if "--by-pass" in sys.argv else (("any", None),)
    for split in ("train", "heldout", "all"):
        for name, padded in passes:
            part = [r for r in rows if split == "all" or labels[r["image"]][1] == split]
            found = [r for r in part if r.get("faces", 0) > 0 and padded in (None, r.get("padded", False))]
            print(json.dumps(rates(split, name, part, found, labels, limits)))


def rates(split, name, part, found, labels, limits):
    """Counts, ROC AUC and rates at 50 of both scores on the found faces within the limits."""
    kept = [r for r in found if within(r, limits)]
    mask = [r for r in kept if labels[r["image"]][0]]
    bare = [r for r in kept if not labels[r["image"]][0]]
    out = {"split": split, "images": len(part), "found": len(found), "counted": len(kept),
           "mask": len(mask), "bare": len(bare)}
    if name != "any":
        out["pass"] = name
    for score, good_is_mask in (("face_cover_score", True), ("occluded_score", False)):
        pos = [r[score] if good_is_mask else -r[score] for r in mask]
        neg = [r[score] if good_is_mask else -r[score] for r in bare]
        flagged = sum((r[score] >= 50) == good_is_mask for r in mask) / max(1, len(mask))
        false = sum((r[score] >= 50) == good_is_mask for r in bare) / max(1, len(bare))
        out[score] = {"roc_auc": round(auc(pos, neg), 3), "masks_flagged": round(flagged, 3),
                      "bare_flagged": round(false, 3)}
    return out


if __name__ == "__main__":
    main()
