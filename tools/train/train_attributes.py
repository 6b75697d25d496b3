#!/usr/bin/python3
"""Trains the attribute heads (models/heads/*.json) from `faceauth features` output.

usage: train_attributes.py WORK_DIR OUT_DIR [--seed S] [--only HEAD,...] [--site-share F] [--gate-upper]
       [--synthetic-weight N] [--site-min-eyes PX [--keep-small-gate-copies]]

WORK_DIR is what tools/train/attributes.sh builds: masks.tsv, clear.tsv, helmets.tsv,
synth.tsv and the features of their images (faces.features.jsonl, synth.features.jsonl,
heads.features.jsonl). Each head is an L2-regularised logistic regression (numpy, full-batch
gradient descent, class-balanced), its regularisation picked on a validation quarter of the
training part. Label 1 is the good thing (not occluded, face cover present, head cover present).
Reports accuracy, balanced accuracy, ROC AUC and the confusion matrix on the held-out part and
writes them into each head's JSON, with held-out label lists WORK_DIR/heldout_<head>.tsv for
`faceauth eval-attributes`. Optional inputs of face_cover and occluded (docs/attributes.md, "At
the gate"): the site set (site_masks.tsv, site_masks.train*.tsv; features site.features.jsonl,
site.train*.features.jsonl) and gate copies (gate.tsv, gate.features.jsonl); --site-share F gives
the site set's training rows F of each class's weight (tried, not used for the committed heads).
Round 4 (docs/attributes.md, "Real mask textures at the site"): site_transfer*.tsv (real masks/
masks moved onto site faces, tools/eval/site_masks_transfer.py; features site_transfer*.features.jsonl)
train face_cover and occluded, held out as heldout_site_transfer (measured, not used for the
committed heads); site_upper*.tsv (the same tool with --upper) trains occluded_upper, held out as
heldout_site_upper; --gate-upper also gives occluded_upper the gate copies (tried, not used).
Round 5 (head cover): bare_jitter*.tsv (tools/train/bare_heads.py jitter: bare portraits at other
sizes and places; features bare_jitter*.features.jsonl) are head cover negatives, held out as
heldout_bare_jitter; --synthetic-weight N counts the synthetic hat pairs' training rows N times.
Round 5: --site-min-eyes PX leaves out site and gate-copy training rows under PX between the eyes
(drop_small_site_rows); tools/eval/site_folds.py measures a recipe by folds of site photos.
Round 12 (head cover): head_stretch*.tsv (tools/train/stretch_heads.py: every head cover training
face stretched in height; features head_stretch*.features.jsonl) are head cover training rows, a
copy whose face is not the base's, stretched, counted as not found (drop_stretch_strays).
"""
import hashlib
import json
import os
import sys

import numpy as np


def read_tsv(path):
    with open(path) as f:
        lines = f.read().splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"))) for line in lines[1:]]


def read_features(*paths):
    features = {}
    for path in paths:
        with open(path) as f:
            for line in f:
                row = json.loads(line)
                if row.get("faces", 0) > 0:
                    features[row["image"]] = row
    return features


MIN_FACE_RATIO = 0.3  # face width (jaw to jaw) over the labelled head box's side


def centred(row):
    """A head crop is 3x the labelled head box: the face found must be the labelled one, in
    the middle third, not a neighbour's, and about the head's size. A "face" under 0.3 of the
    head box (a third of the crop) is a detector hit on hair, a helmet on a shelf or a face far
    behind: 64 of the 156 held-out crops with a centred face before this check (measured in
    tools/eval/head_cover_backbones.py); the labelled faces are 0.4-0.8."""
    import cv2
    height, width = cv2.imread(row["image"]).shape[:2]
    return in_middle_third(row, height, width) and jaw_width(row) >= MIN_FACE_RATIO * width / 3


def in_middle_third(row, height, width):
    """The landmarks' mean lies in the middle third of a height x width crop."""
    x, y = np.mean(np.array(row["landmarks"]), axis=0)
    return width / 3 <= x <= 2 * width / 3 and height / 3 <= y <= 2 * height / 3


def jaw_width(row):
    """Jaw to jaw (landmarks 0 and 16) in pixels."""
    landmarks = np.array(row["landmarks"])
    return np.linalg.norm(landmarks[16] - landmarks[0])


def fit(x, y, l2, seed, steps=300, share=None, hidden=0, members=1):
    """A head fitted on x, y: logistic (standardise, dot, sigmoid), or with `hidden` > 0 one
    hidden layer of that many ReLU units before the sigmoid (fit_hidden); with `members` > 1
    that many such fits from seeds seed, seed + 1, ... averaged (ensemble)."""
    if hidden:
        return ensemble([fit_hidden(x, y, l2, seed + k, hidden, share=share) for k in range(members)])
    rng = np.random.default_rng(seed)
    mean, std, z = standardise(x)
    w = rng.normal(0, 0.01, z.shape[1]).astype(np.float32)
    b = 0.0
    y = y.astype(np.float32)
    weight = class_weights(y, share)
    m, v, mb, vb = np.zeros_like(w), np.zeros_like(w), 0.0, 0.0
    for step in range(1, steps + 1):  # Adam
        p = 1 / (1 + np.exp(-(z @ w + b)))
        g = z.T @ ((p - y) * weight) + l2 * w
        gb = float(((p - y) * weight).sum())
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        mb, vb = 0.9 * mb + 0.1 * gb, 0.999 * vb + 0.001 * gb * gb
        lr = 0.05 * np.sqrt(1 - 0.999 ** step) / (1 - 0.9 ** step)
        w -= lr * m / (np.sqrt(v) + 1e-8)
        b -= lr * mb / (np.sqrt(vb) + 1e-8)
    return {"mean": mean, "scale": 1 / std, "weights": w, "bias": b}


def standardise(x):
    """The columns' mean and deviation and x standardised by them, float32 throughout (no float64
    copy per step of a fit)."""
    mean, std = x.mean(0), x.std(0) + 1e-6
    return mean, std, ((x - mean) / std).astype(np.float32)


def class_weights(y, share):
    """Balanced weights (each class half), or part_weights(y, *share) with --site-share."""
    if share is not None:
        return part_weights(y, *share)
    return np.where(y == 1, 0.5 / max(1, y.sum()), 0.5 / max(1, (1 - y).sum())).astype(np.float32)


def fit_hidden(x, y, l2, seed, hidden, steps=400, share=None):
    """standardise, `hidden` ReLU units, dot, sigmoid; full-batch Adam on the weighted log loss
    with L2 on both weight matrices (issue 17, round 8: face cover's one weight vector cannot
    hold web masks and site faces both)."""
    rng = np.random.default_rng(seed)
    mean, std, z = standardise(x)
    params = [(rng.normal(0, 1, (z.shape[1], hidden)) / np.sqrt(z.shape[1])).astype(np.float32),
              np.zeros(hidden, np.float32), (rng.normal(0, 1, hidden) / np.sqrt(hidden)).astype(np.float32),
              np.zeros(1, np.float32)]
    y, weight = y.astype(np.float32), class_weights(y, share)
    m, v = [np.zeros_like(q) for q in params], [np.zeros_like(q) for q in params]
    for step in range(1, steps + 1):
        w1, b1, w2, b2 = params
        a = z @ w1 + b1
        h = np.maximum(a, 0)
        e = (1 / (1 + np.exp(-np.clip(h @ w2 + b2[0], -50, 50))) - y) * weight  # clipped: no overflow
        back = np.outer(e, w2) * (a > 0)
        grads = [z.T @ back + l2 * w1, back.sum(0), h.T @ e + l2 * w2, np.array([e.sum()], np.float32)]
        lr = 0.01 * np.sqrt(1 - 0.999 ** step) / (1 - 0.9 ** step)
        for i, g in enumerate(grads):
            m[i], v[i] = 0.9 * m[i] + 0.1 * g, 0.999 * v[i] + 0.001 * g * g
            params[i] = params[i] - lr * m[i] / (np.sqrt(v[i]) + 1e-8)
    w1, b1, w2, b2 = params
    return {"mean": mean, "scale": 1 / std, "hidden_weights": w1.T.copy(), "hidden_bias": b1, "weights": w2,
            "bias": float(b2[0])}


def ensemble(heads):
    """Fits of one hidden-layer recipe as one head whose logit is the mean of theirs: their hidden
    units side by side, their output weights divided by their number (the inputs are standardised
    alike: the same x). One fit is returned as it is."""
    if len(heads) == 1:
        return heads[0]
    return {"mean": heads[0]["mean"], "scale": heads[0]["scale"],
            "hidden_weights": np.concatenate([h["hidden_weights"] for h in heads]),
            "hidden_bias": np.concatenate([h["hidden_bias"] for h in heads]),
            "weights": np.concatenate([h["weights"] for h in heads]) / np.float32(len(heads)),
            "bias": float(np.mean([h["bias"] for h in heads]))}


def load_head(path):
    """A head's JSON (models/heads/NAME.json) as predict() reads it, with its inputs, pipeline and
    version."""
    with open(path) as f:
        doc = json.load(f)
    return {"inputs": doc["inputs"], "pipeline": doc.get("pipeline"), "version": doc.get("version"),
            **{k: np.array(doc[k], dtype=np.float32) for k in ("mean", "scale", "weights", "hidden_weights",
                                                              "hidden_bias") if k in doc},
            "bias": float(doc["bias"])}


def predict(head, x):
    z = (x - head["mean"]) * head["scale"]
    if "hidden_weights" not in head:
        return 1 / (1 + np.exp(-(z @ head["weights"] + head["bias"])))
    z = np.maximum(z @ head["hidden_weights"].T + head["hidden_bias"], 0)  # fit_hidden's layer, W a row per unit
    return 1 / (1 + np.exp(-np.clip(z @ head["weights"] + head["bias"], -50, 50)))  # clipped: no overflow


def roc_auc(p, y):
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    ranks[order] = np.arange(1, len(p) + 1)
    for value in np.unique(p):  # average ranks of ties
        tie = p == value
        ranks[tie] = ranks[tie].mean()
    pos, neg = y.sum(), (1 - y).sum()
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg)) if pos and neg else float("nan")


def metrics(p, y):
    predicted = (np.round(p * 1000) / 10) >= 50
    tp, fn = int((predicted & (y == 1)).sum()), int((~predicted & (y == 1)).sum())
    fp, tn = int((predicted & (y == 0)).sum()), int((~predicted & (y == 0)).sum())
    tpr, tnr = tp / max(1, tp + fn), tn / max(1, tn + fp)
    return {"n": int(len(y)), "accuracy": round((tp + tn) / max(1, len(y)), 4),
            "balanced_accuracy": round((tpr + tnr) / 2, 4), "roc_auc": round(roc_auc(p, y), 4),
            "confusion": {"tp": tp, "fn": fn, "fp": fp, "tn": tn}}


def part_weights(y, in_part, fraction):
    """Class-balanced weights in which the rows of one part (in_part: bool per row) carry
    `fraction` of each class's weight and the other rows the rest."""
    weight = np.zeros(len(y), np.float32)
    for label in (0, 1):
        for rows, total in ((in_part, fraction), (~in_part, 1 - fraction)):
            sel = (y == label) & rows
            weight[sel] = 0.5 * total / max(1, sel.sum())
    return weight


def balanced_log_loss(p, y):
    """The log loss with each class weighing half (the fits' objective, class_weights)."""
    p = np.clip(p.astype(np.float64), 1e-7, 1 - 1e-7)
    loss = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    return float(sum(loss[y == label].mean() / 2 for label in (0, 1) if (y == label).any()))


def choose_l2(x, y, groups, seed, share=None, hidden=0):
    """The L2 weight that does best on a quarter of the training photos (grouped by source photo)
    when fitted on the other three quarters: (l2, that quarter's balanced accuracy). Logistic
    heads are judged by the balanced accuracy at 50; heads with a hidden layer by the balanced log
    loss (round 10 of issue 17: face cover's balanced accuracies at 50 for L2 0.001 and 0.01 lay
    0.0004 apart and swapped with the BLAS thread count, while their losses differ by a fifth)."""
    best = None
    test = groups % 4 == 0
    for l2 in (1e-3, 1e-2, 1e-1, 1.0):
        part = None if share is None else (share[0][~test], share[1])
        head = fit(x[~test], y[~test], l2, seed, share=part, hidden=hidden)
        p = predict(head, x[test])
        accuracy = metrics(p, y[test])["balanced_accuracy"]
        score = -balanced_log_loss(p, y[test]) if hidden else accuracy
        if best is None or score > best[2]:
            best = (l2, float(accuracy), score)
    return best[:2]


def fit_head(name, x, y, sources, seed, share=None):
    """The L2 chosen on the validation quarter (choose_l2, one fit per L2), then head `name`'s fit
    with it, its HIDDEN units and its MEMBERS: (l2, validation balanced accuracy, head)."""
    hidden = HIDDEN.get(name, 0)
    l2, cv = choose_l2(x, y, group_ids(sources), seed, share, hidden)
    return l2, cv, fit(x, y, l2, seed, share=share, hidden=hidden, members=MEMBERS.get(name, 1))


def group_ids(sources):
    # Salted: the held-out split hashes some of the same keys, so unsalted, every training
    # photo would have the same remainder and the validation quarter would be empty.
    return np.array([int(hashlib.sha256(("validation/" + s).encode()).hexdigest()[:8], 16) for s in sources])


class Set:
    """Rows (image, label, split, source) of one head's data."""

    def __init__(self):
        self.rows = []
        self.site = set()  # images of the site set (tools/eval/site_masks.py), for --site-share
        self.notes = set()  # optional sets read (keys of NOTES), for the head's data description

    def add(self, image, label, split, source=None):
        self.rows.append((image, int(label), split, source or image))

    def arrays(self, features, inputs, split):
        rows = [r for r in self.rows if r[2] == split and r[0] in features]
        x = np.array([np.concatenate([features[r[0]][k] for k in inputs]) for r in rows], dtype=np.float32)
        y = np.array([r[1] for r in rows])
        return x, y, [r[3] for r in rows], rows


def build_sets(work):
    masks, clear = read_tsv(os.path.join(work, "masks.tsv")), read_tsv(os.path.join(work, "clear.tsv"))
    synth, helmets = read_tsv(os.path.join(work, "synth.tsv")), read_tsv(os.path.join(work, "helmets.tsv"))
    sets = {name: Set() for name in ("face_cover", "occluded", "occluded_upper", "head_cover")}
    mask_images = {r["image"] for r in masks}
    for r in masks:
        sets["face_cover"].add(r["image"], r["mask"], r["split"])
        if r["mask"] == "1":
            sets["occluded"].add(r["image"], 0, r["split"])
            sets["occluded_upper"].add(r["image"], 1, r["split"])  # a mask leaves the eyes clear
    for r in clear:
        sets["occluded"].add(r["image"], 1, r["split"])
        sets["occluded_upper"].add(r["image"], 1, r["split"])
        if r["image"] not in mask_images and r["split"] == "train":  # LFW: bare faces of another source
            sets["face_cover"].add(r["image"], 0, "train")
    for r in synth:
        if r["kind"] == "mask":  # painted masks: training only, the held-out part is real masks
            if r["split"] == "train":
                sets["face_cover"].add(r["image"], 1, "train", r["source"])
                sets["occluded"].add(r["image"], 0, "train", r["source"])
                sets["occluded_upper"].add(r["image"], 1, "train", r["source"])
            continue
        if r["kind"] == "clear":  # degraded clear faces
            if r["split"] == "train":
                sets["face_cover"].add(r["image"], 0, "train", r["source"])
            sets["occluded"].add(r["image"], 1, r["split"], r["source"])
            sets["occluded_upper"].add(r["image"], 1, r["split"], r["source"])
            continue
        sets["occluded"].add(r["image"], 0, r["split"], r["source"])
        sets["occluded_upper"].add(r["image"], 0 if r["region"] == "eyes" else 1, r["split"], r["source"])
        if r["split"] == "train":  # a hand or scarf over the mouth is no protective equipment
            sets["face_cover"].add(r["image"], 0, "train", r["source"])
    for r in helmets:
        sets["head_cover"].add(r["image"], r["helmet"], r["split"], r["photo"])
    hats = os.path.join(work, "hats.tsv")
    for r in read_tsv(hats) if os.path.exists(hats) else []:  # synth_hats.py: held out apart from the real crops
        split = "train" if r["split"] == "train" else "heldout_synthetic"
        sets["head_cover"].add(r["image"], r["kind"] == "hat", split, r["source"])
    add_gate_crops(sets["head_cover"], work)
    add_bare_heads(sets["head_cover"], work)
    add_site_masks(sets, work)
    add_site_transfer(sets, work)
    add_site_upper(sets["occluded_upper"], work)
    add_gate_copies(sets, work, ("face_cover", "occluded") + (("occluded_upper",) if "--gate-upper" in sys.argv else ()))
    add_head_stretch(sets["head_cover"], work)
    return sets, synth


def gate_face(row, box_px):
    """A gate crop (tools/train/gate_crops.py) has the labelled head at its top middle and the
    face below it: the face found counts when the landmarks' mean lies in the middle 60 % across
    and below the top 15 %, and it is at least 0.3 of the head box wide (not a neighbour far
    behind, not a hit on hair or a hat)."""
    import cv2
    height, width = cv2.imread(row["image"]).shape[:2]
    return gate_face_in(row, height, width, box_px)


def gate_face_in(row, height, width, box_px):
    """gate_face for a crop of height x width whose size is already known."""
    x, y = np.mean(np.array(row["landmarks"]), axis=0)
    return 0.2 * width <= x <= 0.8 * width and 0.15 * height <= y <= height and jaw_width(row) >= MIN_FACE_RATIO * box_px


def add_gate_crops(data, work):
    """WORK_DIR/gate_crops.tsv (tools/train/gate_crops.py; features from `faceauth features
    --pad-retry` in gate_crops.features.jsonl, as head_sets.sh writes them, or appended to
    gate.features.jsonl, as rounds 3-5 did): training photos' crops in training, the held-out
    photos' as heldout_gate (the labelled face) and heldout_gate_any (any face found, as hardhats/
    is measured)."""
    path = os.path.join(work, "gate_crops.tsv")
    for r in read_tsv(path) if os.path.exists(path) else []:
        split = "train" if r["split"] == "train" else "heldout_gate"
        data.add(r["image"], r["helmet"], split, r["photo"])
        if split == "heldout_gate":
            data.add(r["image"] + "#any", r["helmet"], "heldout_gate_any", r["photo"])


BARE_SPLITS = {"bare_heads.tsv": "heldout_bare", "bare_gate.tsv": "heldout_bare_gate"}


def add_bare_heads(data, work):
    """tools/train/bare_heads.py: LFW portraits as head cover negatives (WORK_DIR/bare_heads.tsv)
    and their gate-degraded copies (bare_gate.tsv); held-out people's are heldout_bare and
    heldout_bare_gate, measured as the share scored under 50 (bare_rates)."""
    for name, held in BARE_SPLITS.items():
        path = os.path.join(work, name)
        for r in read_tsv(path) if os.path.exists(path) else []:
            data.add(r["image"], 0, "train" if r["split"] == "train" else held, r["source"])
    add_bare_hats(data, work)
    add_bare_jitter(data, work)
    repeat_synthetic_hats(data, work)


def repeat_synthetic_hats(data, work):
    """--synthetic-weight N (round 5): each training row of WORK_DIR/hats.tsv (hard hats drawn on
    clear faces and the same faces bare) counts N times, so the bare portraits and gate crops
    added since round 3 do not outweigh the pairs that show the head a hat on the same face."""
    if "--synthetic-weight" not in sys.argv or not os.path.exists(os.path.join(work, "hats.tsv")):
        return
    times = int(sys.argv[sys.argv.index("--synthetic-weight") + 1])
    hats = {r["image"] for r in read_tsv(os.path.join(work, "hats.tsv")) if r["split"] == "train"}
    data.rows += [r for r in data.rows if r[0] in hats and r[2] == "train"] * (times - 1)
    if times > 1:
        data.notes.add("synthetic_weight")


def work_files(work, prefix, suffix=""):
    """The names of WORK_DIR's files that start with prefix and end with suffix, sorted (the
    optional sets and their features: site_transfer*.tsv, bare_jitter*.features.jsonl, ...)."""
    return sorted(f for f in os.listdir(work) if f.startswith(prefix) and f.endswith(suffix))


def add_bare_jitter(data, work):
    """WORK_DIR/bare_jitter*.tsv (bare_heads.py jitter, round 5): the bare portraits at other sizes
    and places, head cover negatives; held-out people's and faces' rows are heldout_bare_jitter."""
    for name in work_files(work, "bare_jitter", ".tsv"):
        for r in read_tsv(os.path.join(work, name)):
            data.add(r["image"], 0, "train" if r["split"] == "train" else "heldout_bare_jitter", r["source"])
            data.notes.add("jitter")


def add_head_stretch(data, work):
    """WORK_DIR/head_stretch*.tsv (tools/train/stretch_heads.py, round 12): head cover's training
    faces stretched in height, training rows with their base's label and validation group."""
    for name in work_files(work, "head_stretch", ".tsv"):
        for r in read_tsv(os.path.join(work, name)):
            data.add(r["image"], r["helmet"], "train", r["source"])
            data.notes.add("stretch")


def stretch_ranges(work):
    """{file: [least, greatest factor]} of the stretched copies, for the head's training record."""
    out = {}
    for name in work_files(work, "head_stretch", ".tsv"):
        factors = [float(r["stretch"]) for r in read_tsv(os.path.join(work, name))]
        if factors:
            out[name] = [min(factors), max(factors)]
    return out


STRAY_SHARE = 0.5  # of the base face's eye distance


def drop_stretch_strays(work, features):
    """A stretched copy counts as not found unless its base was accepted and its face lies where
    the base's face lies, stretched: the landmarks' mean within STRAY_SHARE of the base's eye
    distance of the base's mean with y scaled (the pad retry can find a neighbour's face instead)."""
    for name in work_files(work, "head_stretch", ".tsv"):
        for r in read_tsv(os.path.join(work, name)):
            copy, base = features.get(r["image"]), features.get(r["base"])
            if copy is None:
                continue
            if base is None or not same_face_stretched(base, copy, float(r["stretch"])):
                del features[r["image"]]


def same_face_stretched(base, copy, factor):
    expected = np.mean(np.array(base["landmarks"], dtype=float), axis=0) * [1.0, factor]
    found = np.mean(np.array(copy["landmarks"], dtype=float), axis=0)
    return float(np.linalg.norm(found - expected)) <= STRAY_SHARE * eyes_apart(base)


def add_bare_hats(data, work):
    """WORK_DIR/bare_hats.tsv (synth_hats.py on the training people's portraits, bare_heads.py
    hats): hats 1, the same portraits bare 0, training only, grouped by person."""
    path = os.path.join(work, "bare_hats.tsv")
    for r in read_tsv(path) if os.path.exists(path) else []:
        if r["split"] == "train":
            person = os.path.basename(os.path.dirname(r["source"]))
            data.add(r["image"], r["kind"] == "hat", "train", "lfw/" + person)
            data.notes.add("bare_hats")


def bare_rates(head, data, features, inputs):
    """{split: n, share under 50, count at or over 50} of the bare held-out splits present."""
    out = {}
    for split in list(BARE_SPLITS.values()) + ["heldout_bare_jitter"]:
        x, _, _, _ = data.arrays(features, inputs, split)
        if len(x):
            over = int(((np.round(predict(head, x) * 1000) / 10) >= 50).sum())
            out[split] = {"n": int(len(x)), "bare_under_50": round(1 - over / len(x), 4), "over_50": over}
    return out


def drop_gate_neighbours(work, features):
    """Gate crops whose face is not the labelled head's count as not found (gate_face); the
    held-out ones stay under IMAGE#any for heldout_gate_any."""
    path = os.path.join(work, "gate_crops.tsv")
    for r in read_tsv(path) if os.path.exists(path) else []:
        if r["image"] not in features:
            continue
        if r["split"] != "train":
            features[r["image"] + "#any"] = features[r["image"]]
        if not gate_face(features[r["image"]], float(r["box_px"])):
            del features[r["image"]]


def add_site_row(data, head, row, split):
    """One site face (a masks TSV row: image, mask, photo) in a head's set: face cover's label is
    the mask, occlusion's its opposite. The row counts as the site set for --site-share."""
    mask = int(row["mask"])
    data.add(row["image"], mask if head == "face_cover" else 1 - mask, split, row["photo"])
    data.site.add(row["image"])


def add_site_masks(sets, work):
    """tools/eval/site_masks.py: painted masks on site faces (WORK_DIR/site_masks.tsv, and
    the training copies of other seeds in site_masks.train*.tsv); its held-out photos are
    `heldout_site`."""
    names = ["site_masks.tsv"] + work_files(work, "site_masks.train")
    for path in (os.path.join(work, name) for name in names):
        for r in read_tsv(path) if os.path.exists(path) else []:
            split = "train" if r["split"] == "train" else "heldout_site"
            for head in ("face_cover", "occluded"):
                add_site_row(sets[head], head, r, split)


# The heads the transferred site faces (site_transfer*.tsv) train: face cover and occlusion since
# round 9 of issue 17, with their hidden layers (site folds, real textures: face cover 0.921 ->
# 0.943, occlusion 0.922 -> 0.950; logistic, round 5, they only traded web for site figures).
TRANSFER_HEADS = ("face_cover", "occluded")


def add_site_transfer(sets, work, heads=None):
    """tools/eval/site_masks_transfer.py (WORK_DIR/site_transfer*.tsv): real masks/ mask textures
    moved onto site faces, bare (face cover 0, occluded 1) and masked (1, 0); training photos'
    rows train `heads` (TRANSFER_HEADS unless given), the held-out photos' (held-out mask images)
    are `heldout_site_transfer`. Rows count as the site set for --site-share."""
    for name in work_files(work, "site_transfer", ".tsv"):
        for r in read_tsv(os.path.join(work, name)):
            split = "train" if r["split"] == "train" else "heldout_site_transfer"
            for head in TRANSFER_HEADS if heads is None else heads:
                add_site_row(sets[head], head, r, split)
                sets[head].notes.add("transfer")


def add_site_upper(data, work):
    """site_masks_transfer.py --upper (WORK_DIR/site_upper*.tsv): site faces with a transferred
    mask, as they are (occluded_upper 1: a mask leaves the eyes clear) and with an eye occlusion
    over the mask (0); training photos' rows train occluded_upper, the held-out photos' are
    `heldout_site_upper`. Rows count as the site set for --site-share."""
    for name in work_files(work, "site_upper", ".tsv"):
        for r in read_tsv(os.path.join(work, name)):
            split = "train" if r["split"] == "train" else "heldout_site_upper"
            data.add(r["image"], r["eyes"] == "-", split, r["photo"])
            data.site.add(r["image"])
            data.notes.add("upper")


def add_gate_copies(sets, work, heads=("face_cover", "occluded")):
    """tools/train/gate_copies.py (WORK_DIR/gate.tsv): a gate-degraded copy of an image joins
    every set of `heads` that has the image, with its label and source (occluded_upper too with
    --gate-upper); copies of held-out images are `heldout_gate`, so `heldout` stays the
    undegraded figure."""
    path = os.path.join(work, "gate.tsv")
    copies = {}
    for r in read_tsv(path) if os.path.exists(path) else []:
        copies.setdefault(r["base"], []).append(r["image"])
    for name in heads:
        for image, label, split, source in list(sets[name].rows):
            for copy in copies.get(image, []) if split in ("train", "heldout") else []:
                sets[name].add(copy, label, "train" if split == "train" else "heldout_gate", source)


def site_share(data, rows):
    """--site-share F: the site set's training rows carry F of each class's weight (None: every
    row alike, the default)."""
    if "--site-share" not in sys.argv or not data.site:
        return None
    fraction = float(sys.argv[sys.argv.index("--site-share") + 1])
    return np.array([r[0] in data.site for r in rows]), fraction


INPUTS = {"face_cover": ["upper", "lower"], "occluded": ["upper", "lower"],
          "occluded_upper": ["upper"], "head_cover": ["top"]}
# Heads with a hidden layer (fit_hidden) and its units; the others are logistic. --hidden
# head=H,... overrides (0: logistic). Face cover's and occlusion's 64 units: rounds 8 and 9 of
# issue 17 (site folds, docs/attributes.md "Round 9"), the committed recipe since round 9.
HIDDEN = {"face_cover": 64, "occluded": 64}
# Fits averaged per hidden-layer head (ensemble); --members head=K overrides.
MEMBERS = {}
DATA = {
    "face_cover": "masks/ with_mask (1) vs without_mask (0); training adds masks painted from landmarks "
                  "on clear faces (tools/train/synth_occlusions.py kind mask, 1), LFW faces, degraded clear "
                  "faces and synthetic occlusions (0), and with WORK_DIR/site_masks.tsv (+ site_masks.train*.tsv: other seeds, mirrors) helmets/ "
                  "site faces with painted masks (1) and bare (0) at gate sizes (tools/eval/site_masks.py, train "
                  "photos); with WORK_DIR/gate.tsv a gate-degraded copy of each image (tools/train/gate_copies.py); "
                  "held out: real photos of masks/ (heldout), their gate copies (heldout_gate) and the site set's "
                  "held-out photos (heldout_site)",
    "occluded": "clear faces (masks/without_mask + LFW, also degraded, 1) vs real masks and synthetic occlusions "
                "(sunglasses, eye band, hand over eyes or mouth, scarf, object; painted masks in training; 0); "
                "with WORK_DIR/site_masks.tsv (+ site_masks.train*.tsv), training adds helmets/ site faces bare (1) and with "
                "painted masks (0) of tools/eval/site_masks.py (train photos), heldout_site is that set's held-out photos; "
                "with WORK_DIR/gate.tsv a gate-degraded copy of each image (tools/train/gate_copies.py; held-out copies: "
                "heldout_gate)",
    "occluded_upper": "used when face cover is required: eyes and brows only; clear faces, real and painted "
                      "masks and lower-face occlusions (1) vs occlusions of the eyes (0)",
    "head_cover": "head crops of helmets/ labels (helmet 1, no_helmet 0; training adds their mirror images) "
                  "where the labelled person's face is found (the face in the middle third of the crop and at least "
                  "0.3 of the head box wide); training "
                  "adds hard hats drawn from landmarks on clear faces (tools/train/synth_hats.py kind hat, 1) and the "
                  "same faces bare (0); with WORK_DIR/gate_crops.tsv, gate-like crops of helmets/ training photos "
                  "(tools/train/gate_crops.py, features through the pad retry, the labelled face only); with "
                  "WORK_DIR/bare_heads.tsv, LFW portraits (headwear left out) and their gate-degraded copies "
                  "(tools/train/bare_heads.py, 0); held out: real "
                  "helmets/ crops (heldout), synthetic (heldout_synthetic), gate crops of held-out photos (heldout_gate: "
                  "the labelled face; heldout_gate_any: any face found), LFW people of the held-out part (heldout_bare, "
                  "heldout_bare_gate: the share under 50)",
}


REPORTED = ("l2", "validation_balanced_accuracy", "faces_found", "heldout", "heldout_accuracy_by_kind", "heldout_synthetic",
            "heldout_site", "heldout_site_transfer", "heldout_site_upper", "heldout_gate", "heldout_gate_any",
            "heldout_bare", "heldout_bare_gate", "heldout_bare_jitter")


# Appended to a head's data description when its set has these rows (so a head trained without
# them keeps its description, and its JSON, as before).
NOTES = {
    "transfer": "; with WORK_DIR/site_transfer*.tsv (tools/eval/site_masks_transfer.py) training adds helmets/ site "
                "faces bare and with real masks/ masks moved on (train photos, train mask images); "
                "heldout_site_transfer is that set's held-out photos with held-out mask images",
    "upper": "; with WORK_DIR/site_upper*.tsv (tools/eval/site_masks_transfer.py --upper) training adds helmets/ site "
             "faces at gate sizes with real masks/ masks moved on (1) and the same with an eye occlusion drawn over "
             "them (0), train photos and train mask images; heldout_site_upper is that set's held-out photos",
    "jitter": "; with WORK_DIR/bare_jitter*.tsv (tools/train/bare_heads.py jitter) training adds the bare portraits "
              "(LFW, masks/without_mask) at other sizes and places (eyes 20-110 px apart, cut 0-15 % a side; 0); "
              "heldout_bare_jitter: those of held-out people and photos, the share under 50",
    "bare_hats": "; with WORK_DIR/bare_hats.tsv hard hats drawn on the training people's LFW portraits (1) and "
                 "the same portraits bare (0; tools/train/bare_heads.py hats, synth_hats.py)",
    "stretch": "; with WORK_DIR/head_stretch*.tsv (tools/train/stretch_heads.py) training adds a copy of each "
                "training face stretched in height (width kept; factors drawn per file, training.stretch gives "
                "each file's least and greatest), the face found where the base's face is",
    "synthetic_weight": "; the synthetic hat/bare pairs' training rows counted twice or more (--synthetic-weight)",
    "min_eyes": "; site and gate-copy training rows whose eyes are under training.site_min_eyes px apart left out "
                "(the service refuses those faces: --site-min-eyes)",
}


def head_option(argv, flag, table, value_of):
    """FLAG head=VALUE,...: table[head] = value_of(VALUE) for each head named."""
    if flag in argv:
        for item in argv[argv.index(flag) + 1].split(","):
            key, value = item.split("=")
            table[key] = value_of(value)


def hidden_option(argv):
    """--hidden head=H,... and --members head=K,...: HIDDEN and MEMBERS overridden (also read by
    tools/eval/site_folds.py)."""
    head_option(argv, "--hidden", HIDDEN, int)
    head_option(argv, "--members", MEMBERS, int)


def rounded(values):
    return [round(float(v), 6) for v in values]


def head_doc(name, pipeline, inputs, head):
    """A head's JSON without its version and training record: kind "logistic", or "mlp" with
    `hidden_weights` (one row of inputs per unit) and `hidden_bias` before `weights`."""
    doc = {"name": name, "pipeline": pipeline, "inputs": inputs,
           "kind": "mlp" if "hidden_weights" in head else "logistic",
           "mean": rounded(head["mean"]), "scale": rounded(head["scale"])}
    if "hidden_weights" in head:
        doc["hidden_weights"] = [rounded(row) for row in head["hidden_weights"]]
        doc["hidden_bias"] = rounded(head["hidden_bias"])
    return {**doc, "weights": rounded(head["weights"]), "bias": round(float(head["bias"]), 6)}


def description(name, data):
    return DATA[name] + "".join(NOTES[note] for note in sorted(data.notes))


def load_features(work):
    """The features of every set in WORK_DIR, the helmets/ crops whose face is not the labelled
    person's and gate crops of a neighbour's face counted as not found."""
    names = ["faces.features.jsonl", "synth.features.jsonl", "heads.features.jsonl", "hats.features.jsonl",
             "site.features.jsonl", "gate.features.jsonl", "gate_crops.features.jsonl", "bare.features.jsonl",
             "bare_gate.features.jsonl", "bare_hats.features.jsonl"]
    names += work_files(work, "site.train", ".features.jsonl")
    names += work_files(work, "site_transfer", ".features.jsonl")
    names += work_files(work, "bare_jitter", ".features.jsonl")
    names += work_files(work, "site_upper", ".features.jsonl")
    names += work_files(work, "head_stretch", ".features.jsonl")
    features = read_features(*(os.path.join(work, f) for f in names if os.path.exists(os.path.join(work, f))))
    heads = {r["image"] for r in read_tsv(os.path.join(work, "helmets.tsv"))}
    for image in [i for i in features if i in heads and not centred(features[i])]:
        del features[image]  # not the labelled person's face: counted as not found
    drop_gate_neighbours(work, features)
    drop_stretch_strays(work, features)
    return features


def eyes_apart(row):
    """Pixels between the eye centres (landmarks 36-41, 42-47), as quality.cpp measures them."""
    landmarks = np.array(row["landmarks"])
    return float(np.linalg.norm(landmarks[42:48].mean(0) - landmarks[36:42].mean(0)))


def drop_small_site_rows(sets, work, features, min_eyes, gate_copies=True):
    """--site-min-eyes PX (round 5 of issue 17): training rows of the site sets (painted,
    transferred, upper) and of the gate copies (WORK_DIR/gate.tsv) whose face is under PX between
    the eyes are left out: the service refuses those faces (Face_too_small_fail at the default 20
    px, 30 px with a PPE check on), so a head need not spend its one weight vector on them. Other
    rows (web masks, clear faces, synthetic occlusions at their own sizes) and held-out rows stay.
    gate_copies False (--keep-small-gate-copies): the site rows only."""
    path = os.path.join(work, "gate.tsv")
    gate = {r["image"] for r in read_tsv(path)} if os.path.exists(path) and gate_copies else set()
    for data in sets.values():
        small = {i for i in data.site | gate if i in features and eyes_apart(features[i]) < min_eyes}
        kept = [r for r in data.rows if r[2] != "train" or r[0] not in small]
        if len(kept) < len(data.rows):
            data.notes.add("min_eyes")
        data.rows = kept


def main():
    work, out_dir = sys.argv[1], sys.argv[2]
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 5
    features = load_features(work)
    pipelines = {row["pipeline"] for row in features.values()}
    if len(pipelines) != 1:
        sys.exit(f"features from {len(pipelines)} pipelines: {sorted(pipelines)}; rerun tools/train/attributes.sh")
    pipeline = pipelines.pop()
    only = sys.argv[sys.argv.index("--only") + 1].split(",") if "--only" in sys.argv else None
    head_option(sys.argv, "--inputs", INPUTS, lambda value: value.split("+"))  # experiments: head=a+b,head=c
    hidden_option(sys.argv)
    sets, synth = build_sets(work)
    if "--site-min-eyes" in sys.argv:
        drop_small_site_rows(sets, work, features, float(sys.argv[sys.argv.index("--site-min-eyes") + 1]),
                             "--keep-small-gate-copies" not in sys.argv)
    os.makedirs(out_dir, exist_ok=True)
    report = {}
    for name, data in sets.items():
        if only and name not in only:
            continue
        inputs = INPUTS[name]
        x, y, sources, train_rows = data.arrays(features, inputs, "train")
        share = site_share(data, train_rows)
        l2, cv, head = fit_head(name, x, y, sources, seed, share)
        hx, hy, _, held_rows = data.arrays(features, inputs, "heldout")
        held = metrics(predict(head, hx), hy)
        sx, sy, _, _ = data.arrays(features, inputs, "heldout_synthetic")
        synthetic = metrics(predict(head, sx), sy) if len(sy) else None
        tx, ty, _, _ = data.arrays(features, inputs, "heldout_site")
        site = metrics(predict(head, tx), ty) if len(ty) else None
        gate = {}
        for split in ("heldout_site_transfer", "heldout_site_upper", "heldout_gate", "heldout_gate_any"):
            gx, gy, _, _ = data.arrays(features, inputs, split)
            if len(gy):
                gate[split] = metrics(predict(head, gx), gy)
        gate.update(bare_rates(head, data, features, inputs))
        total = {split: sum(1 for r in data.rows if r[2] == split) for split in ("train", "heldout")}
        found = {split: sum(1 for r in data.rows if r[2] == split and r[0] in features) for split in total}
        detail = {}
        if name in ("occluded", "occluded_upper"):  # per kind of occlusion, on the held-out part
            kinds = {r["image"]: r["kind"] for r in synth}
            p = predict(head, hx)
            for kind in sorted(set(kinds.values())):
                sel = np.array([kinds.get(r[0]) == kind for r in held_rows])
                if sel.any():
                    detail[kind] = round(float(((p[sel] >= 0.5) == (hy[sel] == 1)).mean()), 4)
            sel = np.array([r[0] not in kinds and r[1] == 0 for r in held_rows])
            if sel.any():
                detail["real_masks"] = round(float(((p[sel] >= 0.5) == (hy[sel] == 1)).mean()), 4)
        doc = head_doc(name, pipeline, inputs, head)
        digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:12]
        doc["version"] = f"{name}-2-{digest}"
        doc["training"] = {"command": "tools/train/attributes.sh DATASETS_DIR WORK_DIR", "seed": seed, "data": description(name, data),
                           "l2": l2, "validation_balanced_accuracy": round(cv, 4), "train": int(len(y)),
                           "images": total, "faces_found": found, "heldout": held, "heldout_accuracy_by_kind": detail}
        if HIDDEN.get(name, 0) and MEMBERS.get(name, 1) > 1:
            doc["training"]["members"] = MEMBERS[name]
        if "stretch" in data.notes:
            doc["training"]["stretch"] = stretch_ranges(work)
        if "min_eyes" in data.notes:
            doc["training"]["site_min_eyes"] = float(sys.argv[sys.argv.index("--site-min-eyes") + 1])
        if synthetic:
            doc["training"]["heldout_synthetic"] = synthetic
        if site:
            doc["training"]["heldout_site"] = site
        doc["training"].update(gate)
        with open(os.path.join(out_dir, name + ".json"), "w") as out:
            json.dump(doc, out, indent=1)
            out.write("\n")
        with open(os.path.join(work, f"heldout_{name}.tsv"), "w") as out:
            out.write("image\tlabel\n")
            out.writelines(f"{r[0]}\t{r[1]}\n" for r in data.rows if r[2] == "heldout")
        report[name] = doc["training"]
        print(name, json.dumps({k: doc["training"][k] for k in REPORTED if k in doc["training"]}), flush=True)
    with open(os.path.join(work, "report.json"), "w") as out:
        json.dump(report, out, indent=1)


if __name__ == "__main__":
    main()
