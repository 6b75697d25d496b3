#!/usr/bin/python3
"""Trains the liveness head (models/heads/liveness.json) on `faceauth liveness-features` output.

Logistic regression (L2, balanced classes, Newton's method) over standardised feature groups.
Subject-disjoint throughout: the --holdout subjects are never seen in training and give the
reported figure; on the other subjects, leave-one-subject-out cross-validation chooses the
feature groups and the regularisation, and its out-of-fold scores place the threshold halfway
between the --bpcer quantile of the live scores and the 1 - --bpcer quantile of the attack
scores (a margin on both sides: a threshold at the live quantile alone turned away 10% of the
live images of subjects 4-6 when they were held out). The bias is then shifted so that this threshold
is 50 on the 0-100 score. numpy only; deterministic.

  faceauth liveness-features --labels NUAA/labels.tsv --images NUAA > /tmp/nuaa_features.tsv
  /usr/bin/python3 tools/train/train_liveness.py /tmp/nuaa_features.tsv --holdout 0007,0008,0009 \
      --out models/heads/liveness.json --rotations "0001,0002,0003;0004,0005,0006;0007,0008,0009"
"""
import argparse
import hashlib
import json
import sys

import numpy as np

GROUP_SETS = [
    ["lbp_y"],
    ["lbp_y", "lbp_cr", "lbp_cb"],
    ["lbp_y", "lbp_cr", "lbp_cb", "lbp_h", "lbp_s", "lbp_v"],
    ["lbp_y", "lbp_cr", "lbp_cb", "lbp_h", "lbp_s", "lbp_v", "moments", "frequency", "specular"],
    ["lbp_y", "lbp_cr", "lbp_cb", "lbp_h", "lbp_s", "lbp_v", "lbp2_y", "lbp_grid", "moments", "frequency",
     "specular"],
    ["lbp_y", "lbp2_y", "lbp_grid", "frequency", "specular"],
    ["moments", "frequency", "specular"],
]
LAMBDAS = [0.3, 3.0, 30.0, 300.0]


def read(path):
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    names = header[3:]
    labels = np.array([r[0] == "live" for r in rows], dtype=float)
    subjects = np.array([r[2] for r in rows])
    x = np.array([[float(v) for v in r[3:]] for r in rows])
    return names, x, labels, subjects


def columns(names, groups):
    return np.array([i for i, n in enumerate(names) if n.split(".")[0] in groups])


def fit(x, y, lam):
    """Balanced, L2-regularised logistic regression on standardised x; returns mean, scale, w, b."""
    mean = x.mean(0)
    scale = x.std(0)
    scale[scale < 1e-8] = 1.0
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    weight = np.where(y > 0, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
    theta = np.zeros(z.shape[1])
    reg = np.full(z.shape[1], lam)
    reg[-1] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(z @ theta, -30, 30)))
        grad = z.T @ (weight * (p - y)) + reg * theta
        hess = (z * (weight * p * (1 - p))[:, None]).T @ z + np.diag(reg) + 1e-9 * np.eye(z.shape[1])
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.abs(step).max() < 1e-7:
            break
    return mean, scale, theta[:-1], theta[-1]


def logits(model, x):
    mean, scale, w, b = model
    return ((x - mean) / scale) @ w + b


def auc(scores, y):
    live, attack = scores[y > 0], np.sort(scores[y == 0])
    lower = np.searchsorted(attack, live, "left")
    upper = np.searchsorted(attack, live, "right")
    return float((lower + 0.5 * (upper - lower)).sum() / (len(live) * len(attack)))


def rates(scores, y, threshold):
    apcer = float((scores[y == 0] >= threshold).mean())
    bpcer = float((scores[y > 0] < threshold).mean())
    return {"apcer": round(100 * apcer, 2), "bpcer": round(100 * bpcer, 2), "acer": round(50 * (apcer + bpcer), 2)}


def place_threshold(oof, y, bpcer):
    return (np.quantile(oof[y > 0], bpcer) + np.quantile(oof[y == 0], 1 - bpcer)) / 2


def out_of_fold(x, y, subjects, lam):
    scores = np.zeros(len(y))
    for s in np.unique(subjects):
        test = subjects == s
        scores[test] = logits(fit(x[~test], y[~test], lam), x[test])
    return scores


def rotation(x, y, subjects, group, lam, bpcer):
    """The held-out figure with `group` held out: threshold from the others' out-of-fold scores."""
    held = np.isin(subjects, group)
    oof = out_of_fold(x[~held], y[~held], subjects[~held], lam)
    threshold = place_threshold(oof, y[~held], bpcer)
    scores = logits(fit(x[~held], y[~held], lam), x[held])
    return {"holdout_subjects": group, "auc": round(auc(scores, y[held]), 4), **rates(scores, y[held], threshold)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("features")
    parser.add_argument("--holdout", required=True, help="comma-separated subjects never trained on")
    parser.add_argument("--bpcer", type=float, default=0.02, help="quantile of the out-of-fold scores that places the threshold")
    parser.add_argument("--out", required=True)
    parser.add_argument("--rotations", default="",
                        help="also report the chosen features and lambda with each ';'-separated subject group "
                             "held out in turn (e.g. 0001,0002,0003;0004,0005,0006;0007,0008,0009)")
    args = parser.parse_args()
    names, x, y, subjects = read(args.features)
    holdout = np.isin(subjects, args.holdout.split(","))
    xt, yt, st = x[~holdout], y[~holdout], subjects[~holdout]
    print(f"train: {len(yt)} images of subjects {sorted(set(st))}; holdout: {holdout.sum()} images", file=sys.stderr)
    best = None
    for groups in GROUP_SETS:
        cols = columns(names, groups)
        for lam in LAMBDAS:
            oof = out_of_fold(xt[:, cols], yt, st, lam)
            threshold = place_threshold(oof, yt, args.bpcer)
            result = {"groups": groups, "lambda": lam, "auc": round(auc(oof, yt), 4), **rates(oof, yt, threshold)}
            print(json.dumps(result), file=sys.stderr)
            key = (result["acer"], -result["auc"], -lam)  # ties: the stronger regularisation
            if best is None or key < best[4]:
                best = (result, cols, oof, threshold, key)
    result, cols, oof, threshold, _ = best
    model = fit(xt[:, cols], yt, result["lambda"])
    mean, scale, w, b = model
    bias = b - threshold  # the chosen threshold becomes logit 0, score 50
    held = logits((mean, scale, w, bias), x[holdout][:, cols])
    holdout_report = {"auc": round(auc(held, y[holdout]), 4), **rates(held, y[holdout], 0.0),
                      "live": int(y[holdout].sum()), "attacks": int((1 - y[holdout]).sum())}
    full_mean, full_scale, full_w = np.zeros(len(names)), np.ones(len(names)), np.zeros(len(names))
    full_mean[cols], full_scale[cols], full_w[cols] = mean, scale, w
    weights = [round(float(v), 7) for v in full_w]
    digest = hashlib.sha256(json.dumps(weights).encode()).hexdigest()[:12]
    head = {
        "version": f"liveness-lbp-lr-{digest}",
        "about": "Logistic regression on texture/colour features of the aligned face (src/vision/liveness.cpp); "
                 "score = 100 * sigmoid(weights . (x - mean) / scale + bias); 50 = the default threshold.",
        "trained_on": {"data": "NUAA Photograph Imposter (every third image of the train split)",
                       "subjects": sorted(set(st.tolist())), "holdout_subjects": args.holdout.split(","),
                       "command": "tools/train/train_liveness.py FEATURES --holdout " + args.holdout +
                                  f" --bpcer {args.bpcer}"},
        "selection": result,
        "holdout": holdout_report,
        "default_threshold": 50,
        "features": names,
        "mean": [round(float(v), 7) for v in full_mean],
        "scale": [round(float(v), 7) for v in full_scale],
        "weights": weights,
        "bias": round(float(bias), 7),
    }
    if args.rotations:
        head["rotations"] = [rotation(x[:, cols], y, subjects, group.split(","), result["lambda"], args.bpcer)
                             for group in args.rotations.split(";")]
    with open(args.out, "w") as f:
        json.dump(head, f, separators=(",", ":"))
        f.write("\n")
    print(json.dumps({"selection": result, "holdout": holdout_report, "version": head["version"],
                      "rotations": head.get("rotations", [])}, indent=1))


if __name__ == "__main__":
    main()
