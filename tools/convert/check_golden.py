#!/usr/bin/python3
"""Checks converted ONNX models against golden outputs (tests/golden/<name>.json) with
OpenCV's dnn module, building the input blob exactly as the manifest says.

  check_golden.py --models CACHE/models [--golden tests/golden] [--time] NAME...

Exit status 1 if any output is outside the golden tolerance."""

import argparse
import json
import os
import sys
import time

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")


def pattern(h, w):
    y, x, c = np.meshgrid(np.arange(h), np.arange(w), np.arange(3), indexing="ij")
    return ((x * 7 + y * 13 + c * 29 + (x * y) % 17) % 256).astype(np.uint8)  # RGB


def make_blob(manifest, case, golden_dir):
    inp = manifest["input"]
    h, w = inp["height"], inp["width"]
    if case["input"] == "pattern":
        bgr = cv2.cvtColor(pattern(h, w), cv2.COLOR_RGB2BGR)
    else:
        bgr = cv2.imread(os.path.join(golden_dir, case["input"]), cv2.IMREAD_COLOR)
        if bgr is None:
            raise SystemExit(f"cannot read {case['input']}")
    assert bgr.shape[:2] == (h, w), bgr.shape
    assert inp["layout"] == "NCHW"
    swap = inp["color"] == "RGB"  # images are BGR in OpenCV; mean is in `color` order
    return cv2.dnn.blobFromImage(bgr, inp["scale"], (w, h), tuple(inp["mean"]), swapRB=swap, crop=False)


def compare(name, got, want, tol):
    want_data = np.asarray(want["data"], np.float64).reshape(want["shape"])
    got = np.asarray(got, np.float64)
    if list(got.shape) != list(want["shape"]):
        return False, f"{name}: shape {list(got.shape)} != {want['shape']}"
    # numpy's allclose: |got - want| <= max_abs + rel * |want|
    diff = np.abs(got - want_data) - tol.get("rel", 0.0) * np.abs(want_data)
    max_abs = float(diff.max())
    msg = f"{name}: max_abs {max_abs:.3g} (at {np.unravel_index(diff.argmax(), diff.shape)})"
    ok = True
    if "max_abs" in tol:
        ok = max_abs <= tol["max_abs"]
    if "cosine" in tol:
        a, b = got.ravel(), want_data.ravel()
        cos = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
        msg += f", cosine {cos:.9f}"
        ok = ok and cos >= tol["cosine"]
    return ok, msg


def check(name, args):
    with open(os.path.join(args.manifests, name + ".json")) as f:
        manifest = json.load(f)
    with open(os.path.join(args.golden, name + ".json")) as f:
        golden = json.load(f)
    net = cv2.dnn.readNetFromONNX(os.path.join(args.models, manifest["file"]))
    out_names = [o["name"] for o in manifest["outputs"]]
    all_ok = True
    blob = None
    for case in golden["cases"]:
        blob = make_blob(manifest, case, args.golden)
        net.setInput(blob, manifest["input"]["name"])
        outs = net.forward(out_names)
        for oname, got in zip(out_names, outs):
            if oname not in case["outputs"]:
                continue
            ok, msg = compare(oname, got, case["outputs"][oname], golden["tolerance"])
            all_ok = all_ok and ok
            print(f"{name} [{case['name']}] {msg} {'ok' if ok else 'FAIL'}")
    if args.time:
        cv2.setNumThreads(1)
        net.setInput(blob, manifest["input"]["name"])
        net.forward(out_names)
        times = []
        for _ in range(20):
            t0 = time.perf_counter()
            net.setInput(blob, manifest["input"]["name"])
            net.forward(out_names)
            times.append(time.perf_counter() - t0)
        print(f"{name}: OpenCV {cv2.__version__} forward, 1 thread, median of 20: "
              f"{1000 * float(np.median(times)):.2f} ms")
    return all_ok


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", required=True, help="folder with the converted .onnx files")
    parser.add_argument("--golden", default=os.path.join(ROOT, "tests", "golden"))
    parser.add_argument("--manifests", default=os.path.join(ROOT, "models", "manifests"))
    parser.add_argument("--time", action="store_true")
    parser.add_argument("names", nargs="+")
    args = parser.parse_args()
    ok = all([check(n, args) for n in args.names])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
