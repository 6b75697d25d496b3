#!/usr/bin/python3
"""Accuracy of `faceauth compare` output on a labelled pairs list.

  faceauth compare --pairs P.tsv --images DIR > scores.jsonl
  tools/eval/pairs_accuracy.py P.tsv scores.jsonl [--threshold T]

P.tsv has a `same` column (1 same person, 0 different). Without --threshold, the best
threshold on this list is found (and reported); with it, that threshold is applied (use the
one found on a train list to report a test list). Pairs with an error count as wrong.
"""

import argparse
import csv
import json


def load(pairs_path, scores_path):
    with open(pairs_path) as f:
        labels = [int(row["same"]) for row in csv.DictReader(f, delimiter="\t")]
    with open(scores_path) as f:
        scores = [json.loads(line) for line in f]
    assert len(labels) == len(scores), "pairs and scores differ in length"
    return labels, scores


def accuracy(labels, scores, threshold):
    right = 0
    for same, row in zip(labels, scores):
        if row["error"] is None and (row["similarity"] >= threshold) == bool(same):
            right += 1
    return right / len(labels)


def best_threshold(labels, scores):
    candidates = sorted({row["similarity"] for row in scores if row["error"] is None})
    best = max(candidates, key=lambda t: accuracy(labels, scores, t))
    return best, accuracy(labels, scores, best)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("pairs")
    parser.add_argument("scores")
    parser.add_argument("--threshold", type=float)
    args = parser.parse_args()
    labels, scores = load(args.pairs, args.scores)
    errors = sum(1 for row in scores if row["error"] is not None)
    same = [r["similarity"] for l, r in zip(labels, scores) if l and r["error"] is None]
    diff = [r["similarity"] for l, r in zip(labels, scores) if not l and r["error"] is None]
    threshold = args.threshold
    if threshold is None:
        threshold, _ = best_threshold(labels, scores)
    result = {
        "pairs": len(labels),
        "errors": errors,
        "threshold": threshold,
        "accuracy": round(accuracy(labels, scores, threshold), 4),
        "same_mean": round(sum(same) / max(len(same), 1), 4),
        "different_mean": round(sum(diff) / max(len(diff), 1), 4),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
