#!/usr/bin/python3
"""Fits the 0-100 face similarity score of one embedding pipeline to false-accept rates.

  faceauth embed --list IMAGES.txt [--align A] [--flip on] > emb.jsonl   (run in the image dir)
  tools/eval/calibrate.py emb.jsonl [--update models/manifests/faceapi_recognition.json]

The identity of an image is its parent directory (LFW layout). Every pair of images is
scored: pairs of one person are genuine, the others impostors. The knots place
score = 10 + 20 * log10(1 / FAR) at FAR 0.5, 1e-1, 1e-2, 1e-3 and 1e-4 (so 30, 50, 70 and 90
stand for FAR 1e-1, 1e-2, 1e-3 and 1e-4), plus [-1, 0] and [1, 100]; the score is linear in
the raw similarity between knots. Prints the knots and the measured FAR and FRR at a few
thresholds as JSON; with --update, writes them into the manifest's "calibration" table under
the pipeline of the embeddings (the part of model_version after the first '+'; for a fusion,
whose version lists its parts in brackets, "fused" or "fused+flip").
Images without a face count as errors against FRR and are reported.
"""

import argparse
import json
import math

import numpy as np

FARS = [0.5, 1e-1, 1e-2, 1e-3, 1e-4]


def pipeline_of(version):
    if "[" in version:
        return "fused+flip" if "+flip" in version else "fused"
    return version.split("+", 1)[1]


def load(path):
    names, rows, failed, versions = [], [], 0, set()
    with open(path) as f:
        for line in f:
            row = json.loads(line)
            if "embedding" not in row:
                failed += 1
                continue
            names.append(row["image"])
            rows.append(row["embedding"])
            versions.add(row["model_version"])
    if len(versions) != 1:
        raise SystemExit(f"expected one model_version, got {sorted(versions)}")
    return names, np.array(rows, dtype=np.float32), failed, versions.pop()


def pair_scores(names, embeddings):
    ids = np.array([n.rsplit("/", 1)[0] for n in names])
    upper = np.triu_indices(len(names), 1)
    sims = (embeddings @ embeddings.T)[upper]
    same = ids[upper[0]] == ids[upper[1]]
    return sims[same], sims[~same]


def knots_for(impostors):
    ordered = np.sort(impostors)[::-1]
    knots = [[-1.0, 0.0]]
    for far in FARS:
        raw = float(ordered[int(far * len(ordered))])
        knots.append([round(raw, 6), round(10 + 20 * math.log10(1 / far), 1)])
    knots.append([1.0, 100.0])
    return knots


def score(knots, raw):
    xs, ys = [k[0] for k in knots], [k[1] for k in knots]
    return np.interp(raw, xs, ys)


def rates(knots, genuine, impostors, failed_images):
    out = {}
    g, i = score(knots, genuine), score(knots, impostors)
    for threshold in (30, 50, 60, 70, 80, 90):
        out[str(threshold)] = {
            "far": float((i >= threshold).mean()),
            "frr": float((g < threshold).mean()),
        }
    out["images_without_face"] = failed_images
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("embeddings")
    parser.add_argument("--update", help="manifest to write the knots into")
    args = parser.parse_args()
    names, embeddings, failed, version = load(args.embeddings)
    genuine, impostors = pair_scores(names, embeddings)
    knots = knots_for(impostors)
    pipeline = pipeline_of(version)
    entry = {
        "knots": knots,
        "fitted_on": f"{len(names)} images: {len(genuine)} genuine and {len(impostors)} impostor pairs",
        "rates_at_score": rates(knots, genuine, impostors, failed),
    }
    print(json.dumps({"model_version": version, "pipeline": pipeline, **entry}, indent=1))
    if args.update:
        with open(args.update) as f:
            manifest = json.load(f)
        manifest.setdefault("calibration", {})[pipeline] = entry
        with open(args.update, "w") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
