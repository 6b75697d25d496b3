#!/usr/bin/python3
"""Face cover and occlusion at the sizes the service judges, by folds of site photos.

usage: site_folds.py WORK_DIR OUT.json --test NAME=HEAD:LIMITS:TSV,... [--folds K] [--heads DIR]
       [--site-min-eyes PX] [--seed S] [--no-folds] [--quality ANALYZE.jsonl,...]
       [--hidden head=H,...] [--members head=K,...]   (the trainer's options: units, fits averaged)
       site_folds.py --compare BASE.json OTHER.json

Round 5 of issue 17 (docs/attributes.md, "At the gate"). The held-out site photos give 22-30
faces under the PPE limits, from 14 heads: too few to tell 0.91 from 0.95. Here every helmets/
site photo is held out once: the photos are split into K folds (a fixed sha256 of the photo
name), and for each fold the trainer's recipe (train_attributes.build_sets on WORK_DIR, the
L2 chosen on its validation quarter, the same fit) is retrained on everything but that fold's
site rows (painted, transferred, upper: every drawing of those photos), then scored on the
fold's photos in the test sets. A test set is a TSV of site_masks.py / site_masks_transfer.py
drawn at judged sizes (--eyes) with its features next to it (NAME.features.jsonl for
NAME.tsv); HEAD is face_cover or occluded (or occluded_upper for a --upper set, label: eyes
clear), LIMITS the quality limits a face must pass to be judged, as the service applies them
(src/policy/policy.h): `ppe` (eyes >= 30 px, yaw <= 45, pitch <= 30: face cover, and any head
with a PPE check on) or `default` (eyes >= 20, yaw <= 45, pitch <= 40: occlusion alone), or `none` (every face found:
for rules applied afterwards to the saved predictions, tools/eval/mesh_crops.py judged), eyes
and pose measured as quality.cpp does from the landmarks; with --quality (`faceauth analyze`
output of the test images) also the default sharpness and brightness limits (Blur_fail,
Exposure_fail), from the analyze row of a face found on the first pass. Transferred test sets should use
held-out mask images only (site_masks_transfer.py --masks heldout): no fold trains on them.
It measures the training recipe, not one head: each fold's head is a different head.
With --heads DIR the committed heads are scored on the same faces (per fold; their fixed
held-out split is the photos whose split is heldout; --no-folds: only they, no retraining). --site-min-eyes PX passes the trainer's
option (site and gate-copy training rows under PX between the eyes left out; with
--keep-small-gate-copies the site rows only). Prints one JSON
line per head and test set: per fold, pooled (the folds' scores together) and n of faces,
masked / bare, distinct heads; web held-out figures per fold (masks/ for face cover, masks/ and
synthetic occlusions for occlusion, real masks not called occluded at 50). OUT.json keeps
every fold's scores ("predictions"); --compare takes two such files (two recipes, the same
test sets) and prints the difference of their pooled ROC AUC with its interval by head.
"""
import hashlib
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "train"))
import train_attributes as t  # noqa: E402
from live_rates import DEFAULT_QUALITY  # noqa: E402  (the default QualityPolicy, once for the tools)

# eyes >=, |yaw| <=, |pitch| <=: the PPE rule (policy.h kPpe*) and the default limits
LIMITS = {"none": (0.0, 180.0, 180.0), "ppe": (30.0, 45.0, 30.0),
          "default": (DEFAULT_QUALITY["min_eyes"], DEFAULT_QUALITY["max_yaw"], DEFAULT_QUALITY["max_pitch"])}
LEVEL_NOSE = 0.64  # quality.cpp kLevelNose


def fold_of(photo, folds):
    return int(hashlib.sha256(("fold/" + photo).encode()).hexdigest()[:8], 16) % folds


def pose(landmarks):
    """(eye distance, yaw, pitch) as src/vision/checks/quality.cpp measures them."""
    lm = np.asarray(landmarks, np.float64)
    left, right = lm[36:42].mean(0), lm[42:48].mean(0)
    origin, axis = (left + right) / 2, right - left
    length = float(np.hypot(*axis))
    if length <= 0:
        return 0.0, 0.0, 0.0
    ux = axis / length
    uy = np.array([-ux[1], ux[0]])

    def level(p):
        return np.array([(p - origin) @ ux, (p - origin) @ uy])

    jaw_left, jaw_right, nose = level(lm[0]), level(lm[16]), level(lm[30])
    mouth = level((lm[48] + lm[54]) / 2)
    width = jaw_right[0] - jaw_left[0]
    yaw = math.degrees(math.asin(np.clip(((nose[0] - jaw_left[0]) - (jaw_right[0] - nose[0])) / width, -1, 1))) \
        if width > 0 else 0.0
    pitch = math.degrees(math.asin(np.clip(2 * (nose[1] / mouth[1] - LEVEL_NOSE), -1, 1))) if mouth[1] > 0 else 0.0
    return length, yaw, pitch


SHARPNESS, BRIGHTNESS = DEFAULT_QUALITY["min_sharpness"], DEFAULT_QUALITY["brightness"]  # Blur_fail, Exposure_fail


def judged(row, limits, measured=None):
    """A face the service judges under `limits` (LIMITS key): eyes, yaw and pitch; with
    `measured` (its `faceauth analyze` row, first pass) also sharpness and brightness."""
    eyes, yaw, pitch = pose(row["landmarks"])
    min_eyes, max_yaw, max_pitch = LIMITS[limits]
    if measured is not None:
        quality = measured.get("quality") if not measured.get("padded") else None
        if not quality or quality["sharpness"] < SHARPNESS or not BRIGHTNESS[0] <= quality["brightness"] <= BRIGHTNESS[1]:
            return False
    return eyes >= min_eyes and abs(yaw) <= max_yaw and abs(pitch) <= max_pitch


def head_id(image):
    """The site head a drawn image shows (site_masks*: STEM_bare.jpg, STEM_mask.jpg, clear/STEM.jpg)."""
    stem = os.path.basename(image)[:-4]
    for tag in ("_bare", "_mask"):
        if stem.endswith(tag):
            return stem[: -len(tag)]
    return stem


def test_rows(spec, features, analyzed=None):
    """(name, head, rows) of one --test item; rows: (image, label, photo, split) of judged faces.
    face_cover: mask 1; occluded: bare 1; occluded_upper: eyes clear 1. With `analyzed`
    ({image: analyze row}) sharpness and brightness count too."""
    name, rest = spec.split("=")
    head, limits, tsv = rest.split(":", 2)
    rows = []
    for r in t.read_tsv(tsv):
        measured = None if analyzed is None else analyzed.get(r["image"], {})
        if r["image"] not in features or not judged(features[r["image"]], limits, measured):
            continue
        label = {"face_cover": int(r["mask"]), "occluded": 1 - int(r["mask"])}.get(head)
        if head == "occluded_upper":
            label = int(r["eyes"] == "-")
        rows.append((r["image"], label, r["photo"], r["split"]))
    return name, head, rows


def head_interval(p, y, images, draws=1000, seed=0):
    """The 2.5 and 97.5 percentiles of the ROC AUC when the site heads are resampled with
    replacement (every face of a drawn head goes in as often as the head is drawn): faces of
    one head are not independent."""
    heads = [head_id(i) for i in images]
    names = sorted(set(heads))
    index = {n: [i for i, h in enumerate(heads) if h == n] for n in names}
    rng, p, y = np.random.default_rng(seed), np.asarray(p), np.asarray(y)
    values = []
    for _ in range(draws):
        rows = [i for n in rng.choice(len(names), len(names)) for i in index[names[n]]]
        if 0 < y[rows].sum() < len(rows):
            values.append(t.roc_auc(p[rows], y[rows]))
    return [round(float(v), 4) for v in np.percentile(values, [2.5, 97.5])] if values else None


def paired_interval(y, p_base, p_other, images, draws=1000, seed=0):
    """ROC AUC of p_other minus that of p_base on the same faces, and the 2.5 and 97.5
    percentiles of that difference when the site heads are resampled (both on the same draw)."""
    heads = [head_id(i) for i in images]
    names = sorted(set(heads))
    index = {n: [i for i, h in enumerate(heads) if h == n] for n in names}
    rng, y, a, b = np.random.default_rng(seed), np.asarray(y), np.asarray(p_base), np.asarray(p_other)
    diffs = []
    for _ in range(draws):
        rows = [i for n in rng.choice(len(names), len(names)) for i in index[names[n]]]
        if 0 < y[rows].sum() < len(rows):
            diffs.append(t.roc_auc(b[rows], y[rows]) - t.roc_auc(a[rows], y[rows]))
    low, high = np.percentile(diffs, [2.5, 97.5])
    return round(t.roc_auc(b, y) - t.roc_auc(a, y), 4), [round(float(low), 4), round(float(high), 4)]


def compare(base_path, other_path):
    """--compare BASE.json OTHER.json: per test set, OTHER's pooled ROC AUC minus BASE's on the
    same faces, with its interval by head (two recipes measured by the same folds)."""
    base, other = json.load(open(base_path)), json.load(open(other_path))
    for test in base:
        if test not in other:  # a test set only one recipe was scored on
            print(json.dumps({"test": test, "missing_in": other_path}))
            continue
        a = {r[0]: r for r in base[test]["predictions"]}
        b = {r[0]: r for r in other[test]["predictions"]}
        images = sorted(set(a) & set(b))
        diff, interval = paired_interval([a[i][1] for i in images], [a[i][2] for i in images],
                                         [b[i][2] for i in images], images)
        print(json.dumps({"test": test, "n": len(images), "roc_auc_difference": diff, "95_by_head": interval}))


def summary(p, y, images):
    m = t.metrics(np.asarray(p), np.asarray(y))
    return {"n": m["n"], "positives": int(np.sum(y)), "negatives": int(len(y) - np.sum(y)),
            "heads": len({head_id(i) for i in images}), "roc_auc": m["roc_auc"],
            "roc_auc_95_by_head": head_interval(p, y, images),
            "balanced_accuracy": m["balanced_accuracy"], "confusion": m["confusion"]}


def fold_sets(rows, site, fold, folds):
    """A head's rows for one fold: site rows (images in `site`) of the fold's photos left out,
    those of the other photos (the held-out photos' drawings too) in training; other rows keep
    their split."""
    out = []
    for image, label, split, source in rows:
        if image in site:
            if fold_of(source, folds) == fold:
                continue
            split = "train"
        out.append((image, label, split, source))
    return out


def score_web(name, head, data, features, inputs, synth_kinds):
    hx, hy, _, held = data.arrays(features, inputs, "heldout")
    p = t.predict(head, hx)
    out = {"web": t.metrics(p, hy)}
    if name == "occluded":
        sel = np.array([r[0] not in synth_kinds and r[1] == 0 for r in held])
        out["real_masks_occluded_at_50"] = round(float((np.round(p[sel] * 1000) / 10 < 50).mean()), 4)
    return {"n": out["web"]["n"], "roc_auc": out["web"]["roc_auc"],
            "balanced_accuracy": out["web"]["balanced_accuracy"],
            **({"real_masks_occluded_at_50": out["real_masks_occluded_at_50"]} if name == "occluded" else {})}


def matrix(rows, features, inputs):
    return np.array([np.concatenate([features[r[0]][k] for k in inputs]) for r in rows], np.float32)


def arg(name, default=None):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def main():
    if sys.argv[1] == "--compare":
        return compare(sys.argv[2], sys.argv[3])
    work, out_path = sys.argv[1], sys.argv[2]
    folds, seed = int(arg("--folds", 5)), int(arg("--seed", 5))
    t.hidden_option(sys.argv)
    specs = arg("--test").split(",")
    features = t.load_features(work)
    for spec in specs:
        tsv = spec.split(":", 2)[2]
        features.update(t.read_features(tsv[:-4] + ".features.jsonl"))
    sets, synth = t.build_sets(work)
    min_eyes = arg("--site-min-eyes")
    if min_eyes:
        t.drop_small_site_rows(sets, work, features, float(min_eyes), "--keep-small-gate-copies" not in sys.argv)
    kinds = {r["image"]: r["kind"] for r in synth}
    analyzed = None
    if arg("--quality"):
        analyzed = {}
        for path in arg("--quality").split(","):
            analyzed.update((row["image"], row) for row in map(json.loads, open(path)))
    tests = [test_rows(spec, features, analyzed) for spec in specs]
    committed = {}
    if arg("--heads"):
        import site_masks_bands
        committed = {n: site_masks_bands.load_head(os.path.join(arg("--heads"), n + ".json"))
                     for n in {h for _, h, _ in tests}}
    results = {n: {"folds": []} for n, _, _ in tests}
    pooled = {n: ([], [], []) for n, _, _ in tests}
    for name in sorted({h for _, h, _ in tests}) if "--no-folds" not in sys.argv else []:
        data, inputs = sets[name], t.INPUTS[name]
        all_rows = list(data.rows)
        for fold in range(folds):
            data.rows = fold_sets(all_rows, data.site, fold, folds)
            x, y, sources, train_rows = data.arrays(features, inputs, "train")
            l2, cv, head = t.fit_head(name, x, y, sources, seed)
            web = score_web(name, head, data, features, inputs, kinds)
            for test, test_head, rows in tests:
                if test_head != name:
                    continue
                part = [r for r in rows if fold_of(r[2], folds) == fold]
                if not part:
                    continue
                px = matrix(part, features, inputs)
                p, yy = t.predict(head, px), np.array([r[1] for r in part])
                entry = {"fold": fold, "l2": l2, "train": int(len(y)), "web": web,
                         "site": summary(p, yy, [r[0] for r in part])}
                if committed:
                    entry["committed"] = summary(t.predict(committed[name], px), yy, [r[0] for r in part])
                results[test]["folds"].append(entry)
                pooled[test][0].extend(p.tolist())
                pooled[test][1].extend(yy.tolist())
                pooled[test][2].extend(r[0] for r in part)
                results[test].setdefault("predictions", []).extend(
                    [r[0], int(label), round(float(score), 5), fold] for r, label, score in zip(part, yy, p))
                print(json.dumps({"test": test, **entry}), flush=True)
        data.rows = all_rows
    for test, head_name, rows in tests:
        p, y, images = pooled[test]
        results[test]["head"] = head_name
        if p:
            results[test]["pooled"] = summary(p, y, images)
        if committed:
            all_x = matrix(rows, features, t.INPUTS[head_name])
            results[test]["committed_all"] = summary(t.predict(committed[head_name], all_x),
                                                     np.array([r[1] for r in rows]), [r[0] for r in rows])
            held = [r for r in rows if r[3] != "train"]
            if held:
                hx = matrix(held, features, t.INPUTS[head_name])
                results[test]["committed_fixed_heldout"] = summary(
                    t.predict(committed[head_name], hx), np.array([r[1] for r in held]), [r[0] for r in held])
        print(json.dumps({"test": test, **{k: v for k, v in results[test].items() if k != "folds"}}), flush=True)
    with open(out_path, "w") as out:
        json.dump(results, out, indent=1)


if __name__ == "__main__":
    main()
