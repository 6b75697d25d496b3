#!/usr/bin/python3
"""Head cover on hardhats/ crops: the committed head, and the head fine-tuned on hardhats/
itself with leave-one-source-photo-out (docs/attributes.md, "At the gate").

  faceauth features --list LIST --pad-retry > features.jsonl  # the service's path, its pad retry
  head_cover_gate.py fit features.jsonl models/heads/head_cover.json

A face found only on the pad retry's canvas has the features the service scores (`faceauth
features --pad-retry` runs FaceEngine::analyze). The fine-tune starts from the committed weights
and is pulled back to them with an L2 weight (lam); the source photo is the file name without
its `_jpg_N.jpg` tail.
"""
import json
import re
import sys

import numpy as np


def auc(scores, labels):
    pos, neg = scores[labels > 0], scores[labels == 0]
    return float(np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg]))


def fine_tune(z, y, w0, b0, lam, steps=300, rate=0.05):
    w, b = w0.copy(), b0
    weight = np.where(y > 0, 0.5 / y.mean(), 0.5 / (1 - y.mean())) / len(y)
    for _ in range(steps):
        g = 1 / (1 + np.exp(-(z @ w + b))) - y
        w -= rate * (z.T @ (weight * g) + lam * (w - w0))
        b -= rate * (weight * g).sum()
    return w, b


def fit(features, head_path):
    head = json.load(open(head_path))
    mean, scale = np.array(head["mean"]), np.array(head["scale"])
    w0, b0 = np.array(head["weights"]), head["bias"]
    rows = [json.loads(line) for line in open(features)]
    rows = [r for r in rows if r.get("faces", 0) > 0]
    z = (np.array([np.concatenate([r[k] for k in head["inputs"]]) for r in rows]) - mean) * scale
    names = [r["image"].split("/")[-1] for r in rows]
    y = np.array([1.0 if "/hat/" in r["image"] or n.startswith("hat_") else 0.0 for r, n in zip(rows, names)])
    source = np.array([re.sub(r"^(hat|bare)_", "", re.sub(r"_jpg_\d+\.jpg(\.png)?$", "", n)) for n in names])
    print(f"faces {len(y)} (hat {int(y.sum())}), source photos {len(set(source))}, "
          f"committed head ROC AUC {auc(z @ w0 + b0, y):.3f}")
    for lam in (1.0, 0.1, 0.01, 0.001):
        scores = np.zeros(len(y))
        for s in set(source):
            held = source == s
            w, b = fine_tune(z[~held], y[~held], w0, b0, lam)
            scores[held] = z[held] @ w + b
        print(f"fine-tuned, lam {lam}: leave-one-source-photo-out ROC AUC {auc(scores, y):.3f}")


if __name__ == "__main__":
    fit(sys.argv[2], sys.argv[3])
