#!/usr/bin/python3
"""Two sets of attribute heads judged on the same held-out faces, before a retrained head replaces
a committed one.

usage: compare_heads.py WORK_DIR OLD_DIR NEW_DIR [--heads face_cover,...] [--tolerance T]

WORK_DIR is a trainer work folder (tools/train/attributes.sh). Each head of OLD_DIR and NEW_DIR
(models/heads/NAME.json) is scored on that folder's features of every held-out split of its set,
so a difference is the heads' and not the features' (a head's own JSON figures were computed on
the features of the run that trained it). Prints one line per head and split: n, then ROC AUC
and balanced accuracy at 50 of each head, or for splits of bare heads only (head cover's
heldout_bare*) the share under 50. `worse` marks a figure of the new head lower by more than T
(default 0.01). Exits 1 if any line is worse, 2 if a head's inputs or pipeline do not match the
features.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_attributes as t  # noqa: E402

SPLITS = ("heldout", "heldout_synthetic", "heldout_site", "heldout_site_transfer", "heldout_site_upper",
          "heldout_gate", "heldout_gate_any") + tuple(t.BARE_SPLITS.values()) + ("heldout_bare_jitter",)
HEADS = ("face_cover", "occluded", "occluded_upper", "head_cover")


def split_rows(data, features, inputs, old, new):
    """(split, old metrics, new metrics) for each held-out split with faces; both heads read `inputs`."""
    out = []
    for split in SPLITS:
        x, y, _, _ = data.arrays(features, inputs, split)
        if len(y):
            out.append((split, t.metrics(t.predict(old, x), y), t.metrics(t.predict(new, x), y)))
    return out


def keys(m):
    """A split of one class (bare heads) has no AUC: the share judged right at 50 stands for both."""
    return ("accuracy",) if np.isnan(m["roc_auc"]) else ("roc_auc", "balanced_accuracy")


def worse(old, new, tolerance):
    return any(new[k] < old[k] - tolerance for k in keys(old))


def line(split, a, b, flag):
    names = {"roc_auc": "AUC", "balanced_accuracy": "balanced", "accuracy": "right at 50"}
    figures = "  ".join(f"{names[k]} {a[k]:.4f} -> {b[k]:.4f}" for k in keys(a))
    return f"  {split:22} n {a['n']:5}  {figures}{'  worse' if flag else ''}"


def compare(work, old_dir, new_dir, heads, tolerance):
    features = t.load_features(work)
    pipelines = {row["pipeline"] for row in features.values()}
    sets, _ = t.build_sets(work)
    status = 0
    for name in heads:
        old = t.load_head(os.path.join(old_dir, name + ".json"))
        new = t.load_head(os.path.join(new_dir, name + ".json"))
        for head in (old, new):
            if {head["pipeline"]} != pipelines or head["inputs"] != t.INPUTS[name]:
                print(f"{name}: {head['version']} reads {head['pipeline']} {head['inputs']}, the features are "
                      f"{sorted(pipelines)} {t.INPUTS[name]}")
                return 2
        print(f"{name}: {old['version']} -> {new['version']}")
        for split, a, b in split_rows(sets[name], features, t.INPUTS[name], old, new):
            flag = worse(a, b, tolerance)
            status = max(status, int(flag))
            print(line(split, a, b, flag))
    return status


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    heads = sys.argv[sys.argv.index("--heads") + 1].split(",") if "--heads" in sys.argv else HEADS
    tolerance = float(sys.argv[sys.argv.index("--tolerance") + 1]) if "--tolerance" in sys.argv else 0.01
    sys.exit(compare(sys.argv[1], sys.argv[2], sys.argv[3], heads, tolerance))


if __name__ == "__main__":
    main()
