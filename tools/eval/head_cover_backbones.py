#!/usr/bin/python3
"""Head cover with other backbones and crops: a prototype measuring, per feature source, the
trainer's logistic head (tools/train/train_attributes.py: standardise + class-balanced L2
logistic, L2 picked on a validation quarter) on the same sets and split as the shipped head.

usage: head_cover_backbones.py --convert-centernet 224   (once, into $CONVERTED_DIR)
       head_cover_backbones.py WORK_DIR SCRATCH_DIR DEMO_FEATURES --variant NAME[,NAME...]
                               [--pool P[,P...]] [--train all,real] [--min-face-ratio R[,R...]]

WORK_DIR: a tools/train/attributes.sh work dir with synth_hats.py run in it (helmets.tsv,
hats.tsv, heads.features.jsonl, hats.features.jsonl: the landmarks of every image).
DEMO_FEATURES: `faceauth features demo/sample{1..6}.jpg` output (their landmarks); sample1
also gets hard hats drawn by synth_hats.draw_hat (seeds 0, 1, 2, no degradation).
Features (one pass per image, cv2.dnn, one thread) are cached in SCRATCH_DIR/<variant>.npz.
Prints one JSON line per (variant, pooling): real held-out (helmets/ crops with the labelled
face), synthetic held-out, the demo scores and the time per pass. Data stays outside the repo.
"""
import json
import os
import sys
import time

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "train"))
import train_attributes as ta  # noqa: E402
from synth_hats import draw_hat  # noqa: E402
from explore_models import IDX68, T68, sim_transform  # noqa: E402 (same folder)

cv2.setNumThreads(1)


def chip_transform(landmarks):
    """Image -> template units (0..1 ear to ear, brows 0 .. chin 1), least-squares similarity
    of dlib's 33 points onto its mean face (explore_models.T68, as src/vision/face/aligner.cpp)."""
    return sim_transform(np.asarray(landmarks, np.float64)[IDX68], T68)


def crop(image, landmarks, region, size):
    """The template region (x0, y0, x1, y1) warped to size x size, pyrDown before the warp
    (as src/vision/face/aligner.cpp warp_crop)."""
    return crop_with(image, chip_transform(landmarks), region, size)


def crop_with(image, to_template, region, size, margin=0):
    """crop() with the image -> template transform given; `margin` pixels of the image around the
    covered part go through the pyrDown too (attributes.cpp head_crop takes 4)."""
    x0, y0, x1, y1 = region
    m = to_template.copy()
    m[0] *= size / (x1 - x0)
    m[1] *= size / (y1 - y0)
    m[0, 2] -= x0 * size / (x1 - x0)
    m[1, 2] -= y0 * size / (y1 - y0)
    inv = cv2.invertAffineTransform(m)
    corners = np.array([[0, 0], [size, 0], [0, size], [size, size]], np.float64)
    mapped = corners @ inv[:, :2].T + inv[:, 2]
    left, top = np.floor(mapped.min(0)).astype(int) - margin
    right, bottom = np.ceil(mapped.max(0)).astype(int) + margin
    left, top = max(0, left), max(0, top)
    right, bottom = min(image.shape[1], right), min(image.shape[0], bottom)
    if right <= left or bottom <= top:
        return np.zeros((size, size, 3), np.uint8)
    source = image[top:bottom, left:right]
    m[:, 2] += m[:, 0] * left + m[:, 1] * top
    scale = np.sqrt(abs(np.linalg.det(m[:, :2])))
    while scale < 0.5 and min(source.shape[:2]) > 1:
        source = cv2.pyrDown(source)
        scale *= 2
        m[:, :2] *= 2
    return cv2.warpAffine(source, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


MODELS = os.path.expanduser("~/.cache/faceauth/models")
FP = os.environ.get("FACEPLUGIN_MODEL_DIR", "/tmp/npmchk/fp/package/model")  # faceplugin-face-recognition-js 0.0.1
CONVERTED = os.environ.get("CONVERTED_DIR", "/tmp/h5d/onnx")  # --convert-centernet writes here
HEAD = (-0.5, -0.8, 1.5, 1.2)  # the shipped crop
WIDE = (-0.8, -1.2, 1.8, 1.4)  # more above the head and around it
TALL = (-0.6, -1.3, 1.6, 0.9)  # head and hat, little of the chin
FACERES = ["onnx_node!clip_110", "onnx_node!clip_195", "onnx_node!clip_229"]  # 7th, 13th block, last
# name: (model file, input size, crop region, blob args (scale, mean, swapRB), std or None, layers[, nhwc])
# CONVERTED/centernet224.onnx: human-models centernet.json (COCO objects, MobileNetV3 backbone, input
# 0..255 RGB as human's object/centernet.ts feeds it) converted by --convert-centernet 224.
VARIANTS = {
    "faceres_head96": (f"{MODELS}/hm_faceres.onnx", 96, HEAD, (1.0, 0, True), None, FACERES),
    "faceres_head160": (f"{MODELS}/hm_faceres.onnx", 160, HEAD, (1.0, 0, True), None,
                        FACERES),
    "faceres_wide160": (f"{MODELS}/hm_faceres.onnx", 160, WIDE, (1.0, 0, True), None,
                        FACERES),
    "pose_head224": (f"{FP}/fr_pose.onnx", 224, HEAD, (1 / 255, (0.485 * 255, 0.456 * 255, 0.406 * 255), True),
                     (0.229, 0.224, 0.225), ["onnx_node!Relu_202"]),
    "pose_head128": (f"{FP}/fr_pose.onnx", 128, HEAD, (1 / 255, (0.485 * 255, 0.456 * 255, 0.406 * 255), True),
                     (0.229, 0.224, 0.225), ["onnx_node!Relu_202"]),
    "pose_tall160": (f"{FP}/fr_pose.onnx", 160, TALL, (1 / 255, (0.485 * 255, 0.456 * 255, 0.406 * 255), True),
                     (0.229, 0.224, 0.225), ["onnx_node!Relu_202"]),
    "expr_head224": (f"{FP}/fr_expression.onnx", 224, HEAD, (1 / 255, 0, True), None, ["onnx_node!Relu_371"]),
    "expr_head128": (f"{FP}/fr_expression.onnx", 128, HEAD, (1 / 255, 0, True), None, ["onnx_node!Relu_371"]),
    "centernet_tall224": (f"{CONVERTED}/centernet224.onnx", 224, TALL, (1.0, 0, True), None, ["c11", "x1"], True),
    "centernet_wide224": (f"{CONVERTED}/centernet224.onnx", 224, WIDE, (1.0, 0, True), None, ["c11", "x1"], True),
    "centernet_head224": (f"{CONVERTED}/centernet224.onnx", 224, HEAD, (1.0, 0, True), None, ["c11", "x1"], True),
    "liveness_head128": (f"{FP}/fr_liveness.onnx", 128, HEAD, (1.0, 0, True), None, ["onnx_node!PRelu_110"]),
}
GRID = 4  # every map is stored average-pooled to GRID x GRID


def grid_pool(m):
    c, h, w = m.shape
    out = np.zeros((c, GRID, GRID), np.float32)
    for i in range(GRID):
        for j in range(GRID):
            r0, r1 = i * h // GRID, max(i * h // GRID + 1, (i + 1) * h // GRID)
            c0, c1 = j * w // GRID, max(j * w // GRID + 1, (j + 1) * w // GRID)
            out[:, i, j] = m[:, r0:r1, c0:c1].mean((1, 2))
    return out


class Backbone:
    def __init__(self, name):
        self.path, self.size, self.region, self.blob, self.std, self.layers, *nhwc = VARIANTS[name]
        self.nhwc = bool(nhwc)  # converted TF.js graphs keep their outputs channels-last
        self.net = cv2.dnn.readNetFromONNX(self.path)

    def __call__(self, image, landmarks):
        c = crop(image, landmarks, self.region, self.size)
        scale, mean, swap = self.blob
        blob = cv2.dnn.blobFromImage(c, scale, (self.size, self.size), mean, swap, False)
        if self.std:
            blob /= np.array(self.std, np.float32).reshape(1, 3, 1, 1)
        self.net.setInput(blob)
        outs = self.net.forward(self.layers)
        if self.nhwc:
            outs = [o.transpose(0, 3, 1, 2) for o in outs]
        return [grid_pool(o[0]) if o.ndim == 4 else o.reshape(-1, 1, 1) for o in outs]


def demo_images(demo_features):
    """(key, image, landmarks): the six demo photos and sample1 with three drawn hats."""
    rows = [json.loads(line) for line in open(demo_features)]
    out = []
    for row in rows:
        image = cv2.imread(row["image"])
        name = os.path.basename(row["image"]).split(".")[0]
        out.append((name, image, row["landmarks"]))
        if name == "sample1":
            pad = image.shape[0] // 3
            padded = cv2.copyMakeBorder(image, pad, 0, 0, 0, cv2.BORDER_REPLICATE)
            shifted = [(x, y + pad) for x, y in row["landmarks"]]
            for seed in (0, 1, 2):
                out.append((f"sample1_hat{seed}", draw_hat(padded.copy(), shifted, np.random.default_rng(seed)), shifted))
    return out


def face_ratio(row, width):
    """Jaw-to-jaw width of the face found over the labelled head box's side (a third of the
    crop: make_attribute_sets.py cuts 3x the head box). The labelled face is about 0.4-0.8;
    far under that, the "face" is a detector hit on hair, a helmet on a shelf, a neighbour
    far behind: the crop placed from its landmarks does not show the labelled head."""
    return float(ta.jaw_width(row) / (width / 3))


def samples(work):
    """(image, label, split, source, face ratio) of head cover: real crops with the labelled
    face in the middle third, drawn hats (ratio None)."""
    features = ta.read_features(os.path.join(work, "heads.features.jsonl"), os.path.join(work, "hats.features.jsonl"))
    rows = []
    for r in ta.read_tsv(os.path.join(work, "helmets.tsv")):
        if r["image"] not in features:
            continue
        height, width = cv2.imread(r["image"]).shape[:2]
        # Round 3's check of the labelled face (train_attributes.centred without the face-size
        # check, which --min-face-ratio applies here).
        if ta.in_middle_third(features[r["image"]], height, width):
            rows.append((r["image"], int(r["helmet"]), r["split"], r["photo"], face_ratio(features[r["image"]], width)))
    for r in ta.read_tsv(os.path.join(work, "hats.tsv")):
        if r["image"] in features:
            split = "train" if r["split"] == "train" else "heldout_synthetic"
            rows.append((r["image"], int(r["kind"] == "hat"), split, r["source"], None))
    return rows, {k: v["landmarks"] for k, v in features.items()}


def extract(name, rows, landmarks, demos, scratch):
    path = os.path.join(scratch, name + ".npz")
    if os.path.exists(path):
        return dict(np.load(path))
    net = Backbone(name)
    maps, times = [], []
    for image_path, *_ in rows:
        image = cv2.imread(image_path)
        start = time.perf_counter()
        maps.append(net(image, landmarks[image_path]))
        times.append(time.perf_counter() - start)
    demo_maps = [net(image, lm) for _, image, lm in demos]
    out = {"ms": np.array(1000 * np.median(times))}
    for k in range(len(net.layers)):
        out[f"x{k}"] = np.stack([m[k] for m in maps]).astype(np.float16)
        out[f"d{k}"] = np.stack([m[k] for m in demo_maps]).astype(np.float32)
    np.savez(path, **out)
    return out


def pooled(maps, pool):
    """A feature vector from the GRID x GRID maps: 'all' the mean, 'top' the top half,
    'top1' the top quarter, 'top+all', 'grid' everything (small maps only), 'vec' a vector."""
    m = maps.astype(np.float32)
    parts = {"all": m.mean((2, 3)), "top": m[:, :, :2].mean((2, 3)), "top1": m[:, :, :1].mean((2, 3)),
             "mid": m[:, :, 1:3, 1:3].mean((2, 3)), "vec": m.reshape(len(m), -1)}
    return np.concatenate([parts[p] for p in pool.split("+")], axis=1)


def evaluate(name, data, rows, demos, layer, pool, train_on, min_ratio, seed=5):
    x, dx = pooled(data[f"x{layer}"], pool), pooled(data[f"d{layer}"], pool)
    y = np.array([r[1] for r in rows])
    split = np.array([r[2] for r in rows])
    train = split == "train"
    real_rows = np.array([r[4] is not None for r in rows])
    plausible = np.array([r[4] is None or r[4] >= min_ratio for r in rows])
    if train_on == "real":  # the helmets/ crops only, no drawn hats
        train &= real_rows
    train &= plausible
    l2, cv = ta.choose_l2(x[train], y[train], ta.group_ids([r[3] for r, t in zip(rows, train) if t]), seed)
    head = ta.fit(x[train], y[train], l2, seed)
    held = (split == "heldout") & plausible
    real = ta.metrics(ta.predict(head, x[held]), y[held])
    real_all = ta.metrics(ta.predict(head, x[split == "heldout"]), y[split == "heldout"])
    synth = ta.metrics(ta.predict(head, x[split == "heldout_synthetic"]), y[split == "heldout_synthetic"])
    demo = {key: round(float(100 * p), 1) for (key, _, _), p in zip(demos, ta.predict(head, dx))}
    return {"variant": name, "layer": layer, "pool": pool, "train": train_on, "dims": int(x.shape[1]), "ms": round(float(data["ms"]), 2),
            "l2": l2, "val_bal": round(cv, 4), "min_ratio": min_ratio, "real": real, "real_unfiltered": real_all, "synthetic_bal": synth["balanced_accuracy"],
            "synthetic_auc": synth["roc_auc"], "demo": demo}


def convert_centernet(size):
    """human-models' centernet backbone to ONNX: two feature maps (stride 16 and 32), NHWC."""
    import onnx
    sys.path.insert(0, os.path.join(HERE, "..", "convert"))
    import graph_model
    package = os.path.expanduser("~/.cache/faceauth/npm/human-models/package")
    manifest = {"source": {"files": ["models/centernet.json", "models/centernet.bin"]},
                "graph": {"input_size": [size, size], "outputs": [
                    {"name": "c11", "tf": ["tower_0/MobilenetV3/expanded_conv_11/add"]},
                    {"name": "x1", "tf": ["tower_0/extern1/hard_swish/mul_1"]}]}}
    os.makedirs(CONVERTED, exist_ok=True)
    onnx.save(graph_model.convert(package, manifest), os.path.join(CONVERTED, f"centernet{size}.onnx"))


def main():
    if sys.argv[1] == "--convert-centernet":
        return convert_centernet(int(sys.argv[2]))
    work, scratch, demo_features = sys.argv[1:4]
    names = sys.argv[sys.argv.index("--variant") + 1].split(",")
    pools = sys.argv[sys.argv.index("--pool") + 1].split(",") if "--pool" in sys.argv else ["top", "all", "top+all"]
    trains = sys.argv[sys.argv.index("--train") + 1].split(",") if "--train" in sys.argv else ["all"]
    ratios = [float(v) for v in sys.argv[sys.argv.index("--min-face-ratio") + 1].split(",")] if "--min-face-ratio" in sys.argv else [0.0]
    os.makedirs(scratch, exist_ok=True)
    rows, landmarks = samples(work)
    demos = demo_images(demo_features)
    for name in names:
        data = extract(name, rows, landmarks, demos, scratch)
        for layer in range(len([k for k in data if k.startswith("x")])):
            for pool in pools:
                for train_on in trains:
                    for ratio in ratios:
                        print(json.dumps(evaluate(name, data, rows, demos, layer, pool, train_on, ratio)), flush=True)


if __name__ == "__main__":
    main()
