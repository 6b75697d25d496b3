#!/usr/bin/python3
"""Trains the liveness head (models/heads/liveness.json) on `faceauth liveness-features` output.

  tools/train/liveness_sets.py DATASETS_DIR WORK_DIR
  faceauth liveness-features --labels WORK_DIR/sets.tsv --images / --embedder faceapi_recognition \
      --threads 2 > WORK_DIR/features.tsv
  tools/train/train_liveness.py WORK_DIR/features.tsv --out models/heads/liveness.json

The `subject` column is the group a split follows (tools/train/liveness_sets.py):
`nuaa:SUBJECT:SESSION` (printed photos) or `replay:SOURCE` (screen replays); augmented copies
(paths with /aug/) carry their original's group and are used for training only.

Validation is by session and by source, never by image. Fold k (k = 0..5) holds out the k-th
replay source and NUAA session 01 (k even) or 02 (k odd); the head is trained on everything
else (originals and augmented copies) and scores the held-out originals. The out-of-fold scores
(each NUAA image is held out in three folds: its mean logit) choose the feature groups and the
L2 weight (lowest mean of the print and screen ACER at a BPCER of --bpcer), and place the
operating point and the temperature of the score:

  score = 100 * sigmoid(clip((w . (x - mean) / scale + b - t0) / T, -L, L))

t0 = the --bpcer quantile of the live out-of-fold logits (so 50 is the operating point), T
fitted by maximum likelihood on the out-of-fold logits (so a score reads as a probability on
held-apart sessions and sources), L = logit(0.99): the score stays within 1-99 whatever the
input. The committed head is fitted on all groups; t0 and T are folded into its weights.
Classes and attack kinds are weighted equally (print live, print attack, screen live, screen
attack: a quarter each). numpy only; deterministic.
"""
import argparse
import hashlib
import json
import sys

import numpy as np

BASE = ["lbp_y", "lbp_cr", "lbp_cb", "lbp_h", "lbp_s", "lbp_v", "moments", "frequency", "specular"]
GROUP_SETS = [
    BASE,
    BASE + ["lbp2_y", "lbp_grid"],
    BASE + ["spectrum"],
    BASE + ["livenet"],
    BASE + ["spectrum", "livenet"],
    BASE + ["lbp2_y", "lbp_grid", "spectrum", "livenet"],
    ["spectrum", "livenet", "moments", "frequency", "specular"],
]
LAMBDAS = [3.0, 30.0, 300.0]
LIMIT = float(np.log(99.0))  # |logit| bound: scores stay within 1..99
OPERATING_POINT = 50


def read(paths):
    """Features of every image; columns of several TSVs are joined on the image column."""
    table, names = None, []
    for path in paths:
        with open(path) as f:
            header = f.readline().rstrip("\n").split("\t")
            rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
        first = 3 if header[:3] == ["label", "image", "subject"] else 1
        index = header.index("image")
        values = {r[index]: ([float(v) for v in r[first:]], r[:3]) for r in rows}
        if table is None:
            table = {k: (v[0], v[1]) for k, v in values.items()}
        else:
            table = {k: (v[0] + values[k][0], v[1]) for k, v in table.items() if k in values}
        names += header[first:]
    images = sorted(table)
    x = np.array([table[k][0] for k in images])
    meta = [table[k][1] for k in images]
    labels = np.array([m[0] == "live" for m in meta], dtype=float)
    groups = np.array([m[2] for m in meta])
    return names, x, labels, groups, np.array(images)


def columns(names, groups):
    return np.array([i for i, n in enumerate(names) if n.split(".")[0] in groups])


def kind_of(groups):
    return np.where(np.char.startswith(groups, "replay:"), "screen", "print")


def sample_weights(y, kinds):
    w = np.zeros(len(y))
    for kind in np.unique(kinds):
        for label in (0, 1):
            cell = (kinds == kind) & (y == label)
            if cell.any():
                w[cell] = 1.0 / cell.sum()
    return w * len(y) / w.sum()


def fit(x, y, weight, lam):
    """Weighted, L2-regularised logistic regression on standardised x; returns mean, scale, w, b."""
    mean = x.mean(0)
    scale = x.std(0)
    scale[scale < 1e-8] = 1.0
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    theta = np.zeros(z.shape[1])
    reg = np.full(z.shape[1], lam)
    reg[-1] = 0.0
    for _ in range(60):
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
    if len(live) == 0 or len(attack) == 0:
        return float("nan")
    lower = np.searchsorted(attack, live, "left")
    upper = np.searchsorted(attack, live, "right")
    return float((lower + 0.5 * (upper - lower)).sum() / (len(live) * len(attack)))


def rates(scores, y, threshold):
    apcer = float((scores[y == 0] >= threshold).mean()) if (y == 0).any() else float("nan")
    bpcer = float((scores[y > 0] < threshold).mean()) if (y > 0).any() else float("nan")
    return {"apcer": round(100 * apcer, 2), "bpcer": round(100 * bpcer, 2), "acer": round(50 * (apcer + bpcer), 2)}


def folds(groups):
    """Fold k holds out replay source k and NUAA session 01 (k even) or 02 (k odd)."""
    sources = sorted({g for g in groups if g.startswith("replay:")})
    out = []
    for k, source in enumerate(sources):
        session = "01" if k % 2 == 0 else "02"
        out.append((groups == source) | (np.char.startswith(groups, "nuaa:") & np.char.endswith(groups, ":" + session)))
    return out


def out_of_fold(x, y, groups, original, lam):
    """Mean held-out logit of every original image over the folds that hold it out."""
    total, count = np.zeros(len(y)), np.zeros(len(y))
    kinds = kind_of(groups)
    for held in folds(groups):
        train = ~held
        model = fit(x[train], y[train], sample_weights(y[train], kinds[train]), lam)
        test = held & original
        total[test] += logits(model, x[test])
        count[test] += 1
    scored = count > 0
    return np.where(scored, total / np.maximum(count, 1), np.nan), scored


def equal_size_check(x, y, groups, original, lam, equal):
    """Each fold's model on the held-out replay originals and on the same crops resized to one
    width (liveness_sets.py's equal.tsv): ROC AUC of both. A head that read the crop size
    (attacks are smaller) would lose its ranking on the equal-size copies."""
    ex, ey, eg = equal
    kinds = kind_of(groups)
    scores = {"original": (np.zeros(0), np.zeros(0)), "equal_width": (np.zeros(0), np.zeros(0))}
    for held in folds(groups):
        model = fit(x[~held], y[~held], sample_weights(y[~held], kinds[~held]), lam)
        test = held & original & (kinds == "screen")
        etest = np.isin(eg, np.unique(groups[test]))
        for key, (xs, ys) in (("original", (x[test], y[test])), ("equal_width", (ex[etest], ey[etest]))):
            s, t = scores[key]
            scores[key] = (np.concatenate([s, logits(model, xs)]), np.concatenate([t, ys]))
    return {key: {"n": len(t), "auc": round(auc(s, t), 4)} for key, (s, t) in scores.items()}


def fit_temperature(z, y, kinds):
    """T maximising the likelihood of sigmoid(clip(z / T)) (z already offset by t0), each
    attack kind and class weighing a quarter: the hard screen replays, not the many easy
    prints, set how confident a score may be."""
    best = None
    w = sample_weights(y, kinds)
    for t in np.exp(np.linspace(np.log(0.05), np.log(50), 400)):
        p = 1 / (1 + np.exp(-np.clip(z / t, -LIMIT, LIMIT)))
        nll = -(w * (y * np.log(p) + (1 - y) * np.log(1 - p))).sum()
        if best is None or nll < best[0]:
            best = (nll, t)
    return float(best[1])


def to_score(z, t0, temperature):
    return 100 / (1 + np.exp(-np.clip((z - t0) / temperature, -LIMIT, LIMIT)))


def report(scores, y, kinds, groups):
    """AUC and APCER/BPCER at 30/50/70/90 per attack kind, and the rates at 50 per group."""
    out = {}
    for kind in ("print", "screen"):
        m = kinds == kind
        entry = {"live": int(y[m].sum()), "attacks": int((1 - y[m]).sum()), "auc": round(auc(scores[m], y[m]), 4),
                 "at": {str(t): rates(scores[m], y[m], t) for t in (30, 50, 70, 90)},
                 "live_median": round(float(np.median(scores[m & (y > 0)])), 1),
                 "attack_median": round(float(np.median(scores[m & (y == 0)])), 1), "groups": {}}
        for g in sorted(set(groups[m])):
            key = g if kind == "screen" else "session " + g.split(":")[2]
            gm = m & (groups == g) if kind == "screen" else m & np.char.endswith(groups, ":" + g.split(":")[2])
            if key in entry["groups"]:
                continue
            entry["groups"][key] = {"live": int(y[gm].sum()), "attacks": int((1 - y[gm]).sum()),
                                    "auc": round(auc(scores[gm], y[gm]), 4), **rates(scores[gm], y[gm], 50)}
        out[kind] = entry
    return out


def choose(names, x, y, groups, original, bpcer):
    kinds = kind_of(groups)
    best = None
    for group_set in GROUP_SETS:
        cols = columns(names, group_set)
        if len(cols) == 0 or not all(any(n.split(".")[0] == g for n in names) for g in group_set):
            continue
        for lam in LAMBDAS:
            z, scored = out_of_fold(x[:, cols], y, groups, original, lam)
            zs, ys, ks = z[scored], y[scored], kinds[scored]
            t0 = float(np.quantile(zs[ys > 0], bpcer))
            acer = {k: rates(zs[ks == k], ys[ks == k], t0)["acer"] for k in ("print", "screen")}
            aucs = {k: round(auc(zs[ks == k], ys[ks == k]), 4) for k in ("print", "screen")}
            result = {"groups": group_set, "lambda": lam, "acer": acer, "auc": aucs}
            print(json.dumps(result), file=sys.stderr)
            key = (acer["print"] + acer["screen"], -aucs["print"] - aucs["screen"], -lam)
            if best is None or key < best[0]:
                best = (key, result, cols, z, scored, t0)
    return best[1:]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("features", nargs="+", help="faceauth liveness-features TSV (more TSVs: joined by image)")
    parser.add_argument("--bpcer", type=float, default=0.02,
                        help="share of held-out live images under the operating point (target <= 3%%)")
    parser.add_argument("--groups", default="", help="comma-separated feature groups: no selection")
    parser.add_argument("--lam", type=float, default=0, help="with --groups: the L2 weight")
    parser.add_argument("--out", required=True)
    parser.add_argument("--equal", default="", help="features of liveness_sets.py's equal.tsv: the size check")
    parser.add_argument("--scores", default="", help="write the out-of-fold scores (image, label, group, score)")
    args = parser.parse_args()
    names, x, y, groups, images = read(args.features)
    original = np.char.find(images, "/aug/") < 0
    kinds = kind_of(groups)
    print(f"{len(y)} images ({original.sum()} originals), {len(names)} features", file=sys.stderr)
    if args.groups:
        group_set = args.groups.split(",")
        cols = columns(names, group_set)
        z, scored = out_of_fold(x[:, cols], y, groups, original, args.lam)
        t0 = float(np.quantile(z[scored][y[scored] > 0], args.bpcer))
        result = {"groups": group_set, "lambda": args.lam}
    else:
        result, cols, z, scored, t0 = choose(names, x, y, groups, original, args.bpcer)
    temperature = fit_temperature(z[scored] - t0, y[scored], kinds[scored])
    oof_scores = to_score(z[scored], t0, temperature)
    validation = report(oof_scores, y[scored], kinds[scored], groups[scored])
    if args.equal:
        enames, ex, ey, eg, _ = read([args.equal])
        if enames != names:
            raise SystemExit("--equal has other feature columns")
        validation["size_check"] = equal_size_check(x[:, cols], y, groups, original, result["lambda"],
                                                    (ex[:, cols], ey, eg))
    mean, scale, w, b = fit(x[:, cols], y, sample_weights(y, kinds), result["lambda"])
    full_mean, full_scale, full_w = np.zeros(len(names)), np.ones(len(names)), np.zeros(len(names))
    full_mean[cols], full_scale[cols], full_w[cols] = mean, scale, w / temperature
    weights = [round(float(v), 7) for v in full_w]
    digest = hashlib.sha256(json.dumps(weights).encode()).hexdigest()[:12]
    head = {
        "version": f"liveness-lr-{digest}",
        "about": "Logistic regression on texture, colour, spectrum and CNN features of the aligned face "
                 "(src/vision/checks/liveness.cpp); score = 100 * sigmoid(clip(weights . (x - mean) / scale + bias, "
                 "-logit_limit, logit_limit)); 50 = the default threshold (the operating point).",
        "trained_on": {"data": "NUAA Photograph Imposter (printed photos, sessions 01 and 02) and replay/ "
                               "(screen replays, 6 sources), with augmented copies (tools/train/liveness_sets.py)",
                       "command": "tools/train/train_liveness.py FEATURES --bpcer " + str(args.bpcer)},
        "selection": result,
        "calibration": {"operating_logit": round(t0, 5), "temperature": round(temperature, 5),
                        "bpcer_quantile": args.bpcer,
                        "folds": "fold k holds out replay source k and NUAA session 01 (k even) / 02 (k odd)"},
        "validation": validation,
        "default_threshold": OPERATING_POINT,
        "logit_limit": round(LIMIT, 6),
        "features": names,
        "mean": [round(float(v), 7) for v in full_mean],
        "scale": [round(float(v), 7) for v in full_scale],
        "weights": weights,
        "bias": round(float((b - t0) / temperature), 7),
    }
    with open(args.out, "w") as f:
        json.dump(head, f, separators=(",", ":"))
        f.write("\n")
    if args.scores:
        with open(args.scores, "w") as f:
            f.write("image\tlabel\tgroup\tscore\n")
            for i, s in zip(np.flatnonzero(scored), oof_scores):
                f.write(f"{images[i]}\t{int(y[i])}\t{groups[i]}\t{s:.2f}\n")
    print(json.dumps({"selection": result, "calibration": head["calibration"], "validation": validation,
                      "version": head["version"]}, indent=1))


if __name__ == "__main__":
    main()
