#!/usr/bin/python3
"""Eye distance under a mask: the shipped 68-point landmark net against human-models' 468-point
face mesh (exploration; the mesh is not shipped). docs/attributes.md, "Landmarks under a mask".

  tools/convert/convert_all.py --npm-dir CACHE/npm --out MESH_DIR --manifests tools/eval/manifests
  faceauth embed --list LIST > EMBED.jsonl        (LIST: the images of TRUTH.tsv)
  tools/eval/mesh_eyes.py MESH_DIR EMBED.jsonl TRUTH.tsv

TRUTH.tsv is the output of tools/eval/site_masks.py or site_masks_transfer.py (image, mask,
eye_px: the eye distance the face was drawn at, from the landmarks of the full-size bare photo).
For bare (mask 0) and masked (mask 1) faces apart, prints the percentiles 5, 10, 25, 50, 75, 90
and 95 of each method's eye distance over the drawn one: the 68 landmarks of EMBED.jsonl, the mesh
run on the detector box of EMBED.jsonl (x1.5, square, 192 px), and the box width / 2.6 (the
median box-to-eyes ratio on bare and masked faces alike, round 5). A method that holds under a
mask keeps the masked percentiles near the bare ones.
"""
import argparse
import json
import os

import cv2
import numpy as np

import site_masks

cv2.setNumThreads(1)
# MediaPipe face mesh eye contours (the subject's right eye is on the image's left).
LEFT_EYE = [33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246]
RIGHT_EYE = [263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466]
MESH_SIZE = 192
BOX_ENLARGE = 1.5
BOX_PER_EYES = 2.6
PERCENTILES = (5, 10, 25, 50, 75, 90, 95)


def crop_map(box, size=MESH_SIZE, enlarge=BOX_ENLARGE):
    """The 2x3 map from image pixels to the mesh input: the box's centre to the middle, its
    larger side x `enlarge` to `size`."""
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    s = size / (max(box["width"], box["height"]) * enlarge)
    return np.array([[s, 0, size / 2 - cx * s], [0, s, size / 2 - cy * s]])


def to_image(points, affine):
    """Mesh input pixels back to image pixels (the inverse of a scale-and-shift map)."""
    s = affine[0, 0]
    return (np.asarray(points, np.float64) - affine[:, 2]) / s


def eye_distance_mesh(points):
    return float(np.linalg.norm(points[RIGHT_EYE].mean(0) - points[LEFT_EYE].mean(0)))


class Mesh:
    def __init__(self, model_dir):
        self.net = cv2.dnn.readNetFromONNX(os.path.join(model_dir, "hm_facemesh.onnx"))

    def points(self, image, box):
        affine = crop_map(box)
        crop = cv2.warpAffine(image, affine, (MESH_SIZE, MESH_SIZE), flags=cv2.INTER_LINEAR)
        self.net.setInput(cv2.dnn.blobFromImage(crop, 1 / 255.0, (MESH_SIZE, MESH_SIZE), (0, 0, 0), swapRB=True),
                          "input")
        return to_image(self.net.forward("mesh").reshape(468, 3)[:, :2], affine)


def percentiles(values):
    return [round(float(v), 2) for v in np.percentile(values, PERCENTILES)] if values else []


def ratios(truth, embeds, mesh):
    """{mask: {method: [measured / drawn eye distance]}} over the faces found."""
    out = {}
    for row in truth:
        found = embeds.get(row["image"])
        if found is None:
            continue
        drawn = float(row["eye_px"])
        group = out.setdefault(row["mask"], {"landmark68": [], "mesh": [], "box": []})
        group["landmark68"].append(site_masks.eye_distance(np.asarray(found["landmarks"], np.float64)) / drawn)
        group["box"].append(found["box"]["width"] / BOX_PER_EYES / drawn)
        if mesh is not None:
            group["mesh"].append(eye_distance_mesh(mesh.points(cv2.imread(row["image"]), found["box"])) / drawn)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mesh_dir")
    parser.add_argument("embed")
    parser.add_argument("truth")
    args = parser.parse_args()
    truth = site_masks.train_attributes.read_tsv(args.truth)
    embeds = {image: row for image, row in site_masks.train_attributes.read_features(args.embed).items()
              if row.get("landmarks")}
    result = ratios(truth, embeds, Mesh(args.mesh_dir))
    for mask, methods in sorted(result.items()):
        summary = {name: percentiles(values) for name, values in methods.items()}
        counted = sum(1 for r in truth if r["mask"] == mask)
        print(json.dumps({"mask": mask, "faces": counted, "found": len(methods["landmark68"]),
                          "percentiles": list(PERCENTILES), **summary}))


if __name__ == "__main__":
    main()
