#!/usr/bin/python3
"""Face similarity when the person at the camera wears a mask: LFW pairs with a mask on one side.

usage: masked_pairs.py make LFW_DIR EMBED.jsonl OUT_DIR [--pairs pairs_test.tsv] [--seed S]
                            [--transfer WORK_DIR] [--paint-reference]
       faceauth compare --pairs OUT_DIR/pairs.tsv --images OUT_DIR/images --subject centre > S.jsonl
       masked_pairs.py rates OUT_DIR/pairs.tsv S.jsonl [--thresholds 50,60,70,80,90]

A KYC reference is a bare face; a worker at a gate that requires a mask wears one. `make` keeps
each pair's image_a (the reference) as it is and writes image_b (the selfie) with a mask over
the lower face, placed by the centre subject's 68 landmarks of EMBED.jsonl (`faceauth embed
--list LIST --subject centre` run in LFW_DIR/images). Painted masks by default
(synth_occlusions.draw_mask: surgical, respirator or cloth); with --transfer WORK_DIR the mask of
a held-out masks/with_mask photo of the attribute trainer's WORK_DIR is moved onto the face
instead (site_masks_transfer.transfer), a real texture. OUT_DIR/images holds a link to every
original image and the masked copies (NAME_NNNN.mask.jpg); OUT_DIR/pairs.tsv is the pairs list
with image_b replaced. A pair whose image_b has no landmarks in EMBED.jsonl keeps its bare image
and is counted apart ("bare_b"). With --paint-reference image_a gets a painted mask too
(NAME_NNNN.ref.jpg), as a service could paint one on the stored reference to compare a masked
selfie like with like. Seeded: the same seed and inputs give the same images.

`rates` reads `faceauth compare` output (the calibrated 0-100 `score`): for each threshold the
false-reject rate on same-person pairs and the false-accept rate on different-person pairs, a
pair whose face was not found counting as rejected (a false reject when it is the same person).
"""
import argparse
import csv
import json
import os
import sys

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "train"))
sys.path.insert(0, HERE)
import site_masks  # noqa: E402
import synth_occlusions  # noqa: E402
import train_attributes  # noqa: E402


def read_landmarks(path):
    """image -> 68 landmarks of the rows where a face was found."""
    rows = train_attributes.read_features(path)
    return {image: np.array(row["landmarks"], np.float32) for image, row in rows.items() if row.get("landmarks")}


def masked_name(image, tag="mask"):
    root, _ = os.path.splitext(image)
    return root + "." + tag + ".jpg"


def link_originals(lfw_images, out_images, pairs):
    for image in sorted({p["image_a"] for p in pairs} | {p["image_b"] for p in pairs}):
        target = os.path.join(out_images, image)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.lexists(target):
            os.symlink(os.path.abspath(os.path.join(lfw_images, image)), target)


def mask_maker(transfer_work):
    """A function (image, landmarks, rng) -> masked image: painted, or a transferred texture."""
    if not transfer_work:
        return lambda image, lm, rng: synth_occlusions.draw_mask(image, lm, site_masks.eye_distance(lm), rng)
    import site_masks_transfer

    sources = site_masks_transfer.mask_sources(transfer_work, "heldout")
    if not sources:
        raise SystemExit("no held-out with_mask photos in " + transfer_work)

    def transferred(image, lm, rng):
        source = sources[int(rng.integers(len(sources)))]
        return site_masks_transfer.transfer(image, list(lm), cv2.imread(source[0]), source[1], rng)

    return transferred


def paint_reference(lfw_images, out_images, image, landmarks, seed):
    """The reference with a painted mask (its own seed by name), or as it is without landmarks."""
    if image not in landmarks:
        return image
    name = masked_name(image, "ref")
    if not os.path.exists(os.path.join(out_images, name)):
        rng = np.random.default_rng([seed, 7] + [ord(c) for c in image])
        lm = landmarks[image]
        photo = cv2.imread(os.path.join(lfw_images, image))
        painted = synth_occlusions.draw_mask(photo, lm, site_masks.eye_distance(lm), rng)
        cv2.imwrite(os.path.join(out_images, name), painted, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return name


def make(args):
    pairs = train_attributes.read_tsv(args.pairs)
    landmarks = read_landmarks(args.embed)
    lfw_images = os.path.join(args.lfw, "images")
    out_images = os.path.join(args.out, "images")
    link_originals(lfw_images, out_images, pairs)
    draw = mask_maker(args.transfer)
    written, bare = {}, 0
    rows = []
    for index, pair in enumerate(pairs):
        image_b = pair["image_b"]
        if image_b not in landmarks:
            bare += 1
            rows.append(dict(pair, masked="0"))
            continue
        if image_b not in written:
            rng = np.random.default_rng([args.seed, index])
            masked = draw(cv2.imread(os.path.join(lfw_images, image_b)), landmarks[image_b], rng)
            cv2.imwrite(os.path.join(out_images, masked_name(image_b)), masked, [cv2.IMWRITE_JPEG_QUALITY, 92])
            written[image_b] = masked_name(image_b)
        row = dict(pair, image_b=written[image_b], masked="1")
        if args.paint_reference:
            row["image_a"] = paint_reference(lfw_images, out_images, pair["image_a"], landmarks, args.seed)
        rows.append(row)
    with open(os.path.join(args.out, "pairs.tsv"), "w") as f:
        out = csv.DictWriter(f, ["same", "image_a", "image_b", "masked"], delimiter="\t", extrasaction="ignore")
        out.writeheader()
        out.writerows(rows)
    print(json.dumps({"pairs": len(rows), "masked_images": len(written), "bare_b": bare}))


def rates(labels, scores, threshold):
    """(FRR on same pairs, FAR on different pairs) at a threshold; no face = rejected."""
    same = [s for l, s in zip(labels, scores) if l]
    diff = [s for l, s in zip(labels, scores) if not l]
    reject = sum(1 for s in same if s is None or s < threshold)
    accept = sum(1 for s in diff if s is not None and s >= threshold)
    return reject / max(len(same), 1), accept / max(len(diff), 1)


def report(args):
    pairs = train_attributes.read_tsv(args.pairs)
    with open(args.scores) as f:
        results = [json.loads(line) for line in f]
    if len(results) != len(pairs):
        raise SystemExit("pairs and scores differ in length")
    labels = [int(p["same"]) for p in pairs]
    scores = [None if r["error"] is not None else r["score"] for r in results]
    out = {"pairs": len(pairs), "same": sum(labels), "no_face": sum(1 for s in scores if s is None),
           "masked": sum(1 for p in pairs if p.get("masked", "1") == "1"), "at": {}}
    for threshold in args.thresholds:
        frr, far = rates(labels, scores, threshold)
        out["at"][str(threshold)] = {"FRR": round(frr, 4), "FAR": round(far, 4)}
    same_scores = sorted(s for l, s in zip(labels, scores) if l and s is not None)
    if same_scores:
        out["same_median"] = same_scores[len(same_scores) // 2]
    print(json.dumps(out))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make")
    m.add_argument("lfw")
    m.add_argument("embed")
    m.add_argument("out")
    m.add_argument("--pairs")
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("--transfer")
    m.add_argument("--paint-reference", action="store_true")
    r = sub.add_parser("rates")
    r.add_argument("pairs")
    r.add_argument("scores")
    r.add_argument("--thresholds", type=lambda t: [float(x) for x in t.split(",")], default=[50, 60, 70, 80, 90])
    args = parser.parse_args(argv)
    if args.command == "make":
        args.pairs = args.pairs or os.path.join(args.lfw, "pairs_test.tsv")
        make(args)
    else:
        report(args)


if __name__ == "__main__":
    main()
