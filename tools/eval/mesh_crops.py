#!/usr/bin/python3
"""The attribute heads' features with the head crop placed by the face mesh or by the detector box
instead of the 68 landmarks (exploration; docs/attributes.md "Crops placed by the mesh or the box").

  mesh_crops.py template MESH_DIR EMBED.jsonl IMAGE_ROOT OUT.json [--count N]
  mesh_crops.py features MESH_DIR TEMPLATE.json EMBED.jsonl OUT_DIR --place mesh|box SRC.features.jsonl ...
  mesh_crops.py quality MESH_DIR TEMPLATE.json EMBED.jsonl TRUTH.tsv > QUALITY.jsonl
  mesh_crops.py judged QUALITY.jsonl FOLDS.json [FOLDS.json ...]

A mask moves the 68 landmarks (docs/attributes.md, "Landmarks under a mask"), and the crop the
heads read is placed by them. `template` fits, on bare faces (the first N of EMBED.jsonl with
landmarks: `faceauth embed` lines, images under IMAGE_ROOT), where the mesh's 468 points and the
detector box fall in the dlib template units of the shipped crop: the median over the faces of
each point mapped by the landmarks' template transform, and the median box centre and width.
`features` rewrites trainer feature files (`faceauth features` lines) with the same regions of
hm_faceres read on a crop placed by the mesh (a least-squares similarity of all 468 points onto
their template) or by the box (scale and shift only), into OUT_DIR under the same file names:
landmarks, labels and everything else kept, the pipeline renamed, so train_attributes.py and
site_folds.py read them as they are. EMBED.jsonl must hold the box of every face the features
found (`faceauth embed` on the same images); the mesh is the exploration model of
tools/eval/manifests/hm_facemesh.json (mesh_eyes.py).
The template also maps each of the 68 landmarks to the mesh point nearest to it (`index68`), so
`quality` measures each face of a site set (TRUTH.tsv of site_masks.py / site_masks_transfer.py)
as quality.cpp does, eyes, yaw, pitch and landmark fit, from the 68 landmarks and from the
mesh's 68, and `judged` scores, per rule of which faces the PPE limits let through (the 68
landmarks as shipped, the mesh, either), the fold predictions of site_folds.py runs made with
no limits (`--test NAME=face_cover:none:TSV`).
"""
import argparse
import json
import os
import sys

import cv2
import numpy as np

import head_cover_backbones as backbones
import mesh_eyes
import site_folds
from explore_models import sim_transform  # least-squares similarity, as aligner.cpp

cv2.setNumThreads(1)
REGIONS = {"top": (0, 2, 0, 6), "upper": (2, 4, 1, 5), "lower": (4, 6, 1, 5)}  # attributes.cpp regions()
LAYER = "onnx_node!clip_110"
CROP_SIZE = 96


def apply(affine, points):
    return np.asarray(points, np.float64) @ affine[:, :2].T + affine[:, 2]


def box_centre(box):
    return np.array([box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])


def fit_template(faces):
    """faces: (landmarks, box, mesh points) of bare faces -> the template JSON."""
    mesh, boxes, landmarks68 = [], [], []
    for landmarks, box, points in faces:
        to_template = backbones.chip_transform(landmarks)
        mesh.append(apply(to_template, points))
        landmarks68.append(apply(to_template, landmarks))
        scale = np.sqrt(abs(np.linalg.det(to_template[:, :2])))
        boxes.append([*apply(to_template, [box_centre(box)])[0], scale * box["width"]])
    centre_x, centre_y, width = np.median(np.array(boxes), 0)
    mesh_median, landmarks_median = np.median(np.array(mesh), 0), np.median(np.array(landmarks68), 0)
    index68 = [int(np.argmin(((mesh_median - p) ** 2).sum(1))) for p in landmarks_median]
    apart = np.linalg.norm(mesh_median[index68] - landmarks_median, axis=1)
    return {"faces": len(mesh), "mesh": mesh_median.tolist(), "index68": index68,
            "index68_apart": {"median": float(np.median(apart)), "max": float(apart.max())},
            "box": {"centre_x": float(centre_x), "centre_y": float(centre_y), "width": float(width)}}


def box_transform(box, template):
    """Image -> template units from the box alone: its centre to the template's, its width scaled."""
    t = template["box"]
    s = t["width"] / box["width"]
    x, y = box_centre(box)
    return np.array([[s, 0, t["centre_x"] - s * x], [0, s, t["centre_y"] - s * y]])


def mesh_transform(points, template):
    return sim_transform(points, template["mesh"])


def head_crop(image, to_template, region=backbones.HEAD, size=CROP_SIZE):
    """The template region warped to size x size as attributes.cpp head_crop does (the covered part
    of the image and 4 px of margin, pyrDown before the warp)."""
    return backbones.crop_with(image, to_template, region, size, margin=4)


def pooled(feature_map):
    """{region: mean over its cells} of one (C, 6, 6) map."""
    return {k: feature_map[:, r0:r1, c0:c1].mean((1, 2)) for k, (r0, r1, c0, c1) in REGIONS.items()}


class Faceres:
    def __init__(self, model_dir):
        self.net = cv2.dnn.readNetFromONNX(os.path.join(model_dir, "hm_faceres.onnx"))

    def __call__(self, crop):
        self.net.setInput(cv2.dnn.blobFromImage(crop, 1.0, (CROP_SIZE, CROP_SIZE), 0, True, False))
        return pooled(self.net.forward(LAYER)[0])


def rewrite(row, embed, place, featurize):
    """One features line with the regions of a crop placed by `place` ("mesh" or "box").
    featurize(image path, box, place) -> {region: values}. Lines without a face stay as they are."""
    out = dict(row)
    if row.get("faces", 0) > 0 and row.get("landmarks"):
        if not embed or not embed.get("box"):
            raise ValueError(f"{row['image']}: no detector box in the embed lines (faceauth embed the same images)")
        out.update({k: [round(float(v), 5) for v in values]
                    for k, values in featurize(row["image"], embed["box"], place).items()})
    if "pipeline" in out:
        out["pipeline"] = out["pipeline"].replace("crop head96", f"crop {place}-head96")
    return out


def featurizer(mesh, backbone, template):
    def featurize(path, box, place):
        image = cv2.imread(path)
        to_template = (mesh_transform(mesh.points(image, box), template) if place == "mesh"
                       else box_transform(box, template))
        return backbone(head_crop(image, to_template))
    return featurize


PPE = (*site_folds.LIMITS["ppe"], 0.55)  # eyes >=, |yaw| <=, |pitch| <=, fit >=: policy.h kPpe*, kPpeMinLandmarkFit


def measures(landmarks, box):
    """[eyes, yaw, pitch, landmark fit] as quality.cpp measures them."""
    eyes, yaw, pitch = site_folds.pose(landmarks)
    lm = np.asarray(landmarks, np.float64)
    return [eyes, yaw, pitch, float(np.linalg.norm(lm[16] - lm[0]) / box["width"])]


def within_ppe(m):
    return m[0] >= PPE[0] and abs(m[1]) <= PPE[1] and abs(m[2]) <= PPE[2] and m[3] >= PPE[3]


RULES = {"landmarks68 (shipped)": lambda q: within_ppe(q["landmarks68"]),
         "mesh": lambda q: within_ppe(q["mesh"]),
         "either": lambda q: within_ppe(q["landmarks68"]) or within_ppe(q["mesh"]),
         "mesh, where landmarks68 refuse": lambda q: within_ppe(q["mesh"]) and not within_ppe(q["landmarks68"])}


def judged_table(quality, predictions):
    """Per rule: faces judged (masked / bare), their ROC AUC and the interval by head, and the
    shares flagged at 50. predictions: [image, label, probability] of every face found."""
    out = []
    for name, rule in RULES.items():
        rows = [p for p in predictions if p[0] in quality and rule(quality[p[0]])]
        y, s = np.array([p[1] for p in rows], int), np.array([p[2] for p in rows], float)
        both = 0 < y.sum() < len(y)
        entry = {"rule": name, "n": len(rows), "masked": int(y.sum()), "bare": int(len(y) - y.sum()),
                 "roc_auc": round(site_folds.t.roc_auc(s, y), 4) if both else None,
                 "roc_auc_95_by_head": site_folds.head_interval(s, y, [p[0] for p in rows]) if both else None}
        for label, key in ((1, "masked_flagged_at_50"), (0, "bare_flagged_at_50")):
            entry[key] = round(float((s[y == label] >= 0.5).mean()), 3) if (y == label).any() else None
        out.append(entry)
    return out


def cmd_quality(args):
    with open(args.template) as f:
        index68 = json.load(f)["index68"]
    embeds = {row["image"]: row for row in read_lines(args.embed) if row.get("landmarks")}
    mesh = mesh_eyes.Mesh(args.mesh_dir)
    for row in site_folds.t.read_tsv(args.truth):
        found = embeds.get(row["image"])
        if found is None:
            continue
        points = mesh.points(cv2.imread(row["image"]), found["box"])[index68]
        print(json.dumps({"image": row["image"], "mask": int(row["mask"]), "eye_px": float(row["eye_px"]),
                          "landmarks68": measures(found["landmarks"], found["box"]),
                          "mesh": measures(points, found["box"])}))


def cmd_judged(args):
    quality = {row["image"]: row for row in read_lines(args.quality)}
    for mask in (1, 0):
        rows = [q for q in quality.values() if q["mask"] == mask]
        counts = {name: sum(1 for q in rows if rule(q)) for name, rule in RULES.items()}
        print(json.dumps({"mask": mask, "faces found": len(rows), "judged": counts}))
    for path in args.folds:
        with open(path) as f:
            runs = json.load(f)
        for test, result in sorted(runs.items()):
            if any(p[0] in quality for p in result["predictions"]):
                for entry in judged_table(quality, result["predictions"]):
                    print(json.dumps({"folds": path, "test": test, **entry}))


def read_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def cmd_template(args):
    mesh = mesh_eyes.Mesh(args.mesh_dir)
    faces = []
    for row in read_lines(args.embed):
        if not row.get("landmarks") or len(faces) >= args.count:
            continue
        image = cv2.imread(os.path.join(args.image_root, row["image"]))
        if image is None:
            sys.exit(f"cannot read {row['image']} under {args.image_root}")
        faces.append((row["landmarks"], row["box"], mesh.points(image, row["box"])))
    with open(args.out, "w") as f:
        json.dump(fit_template(faces), f)


def cmd_features(args):
    with open(args.template) as f:
        template = json.load(f)
    embeds = {row["image"]: row for row in read_lines(args.embed) if row.get("box")}
    featurize = featurizer(mesh_eyes.Mesh(args.mesh_dir) if args.place == "mesh" else None,
                           Faceres(os.path.expanduser(args.model_dir)), template)
    os.makedirs(args.out_dir, exist_ok=True)
    for source in args.sources:
        lines = [rewrite(row, embeds.get(row["image"]), args.place, featurize) for row in read_lines(source)]
        with open(os.path.join(args.out_dir, os.path.basename(source)), "w") as f:
            f.writelines(json.dumps(line) + "\n" for line in lines)
        print(f"{source}: {sum(1 for r in lines if r.get('landmarks'))} faces", file=sys.stderr, flush=True)


COMMANDS = {"template": (cmd_template, ["mesh_dir", "embed", "image_root", "out"]),
            "features": (cmd_features, ["mesh_dir", "template", "embed", "out_dir"]),
            "quality": (cmd_quality, ["mesh_dir", "template", "embed", "truth"]),
            "judged": (cmd_judged, ["quality"])}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    parsers = {}
    for name, (_, positional) in COMMANDS.items():
        parsers[name] = sub.add_parser(name)
        for arg in positional:
            parsers[name].add_argument(arg)
    parsers["template"].add_argument("--count", type=int, default=600)
    parsers["features"].add_argument("sources", nargs="+")
    parsers["features"].add_argument("--place", choices=("mesh", "box"), required=True)
    parsers["features"].add_argument("--model-dir", default="~/.cache/faceauth/models")
    parsers["judged"].add_argument("folds", nargs="+")
    args = parser.parse_args()
    COMMANDS[args.command][0](args)


if __name__ == "__main__":
    main()
