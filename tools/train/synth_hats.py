#!/usr/bin/python3
"""Synthetic hard hats drawn on clear faces, for training the head cover head.

usage: synth_hats.py WORK_DIR [--seed S]

Reads WORK_DIR/clear.tsv (image, split) and WORK_DIR/faces.features.jsonl (`faceauth features`
output with the 68 landmarks of each image), writes WORK_DIR/hats/*.jpg and WORK_DIR/hats.tsv
(image, kind, split, source). Two images per clear face: `hat` (a hard hat drawn from the
landmarks: a dome above the brows spanning about temple to temple, a brim, a solid saturated
colour with shading and a highlight, sometimes a ridge and a chin strap) and `bare` (the same
face, nothing drawn). Both are then degraded alike (sometimes shrunk or blurred, JPEG quality
60-95), so size and sharpness are no cue.
"""
import os
import sys

import cv2
import numpy as np

from synth_occlusions import clear_face_landmarks, degrade, write_tsv  # the occluders' degradations

HAT_COLOURS = [(20, 210, 250), (245, 245, 245), (20, 130, 250), (40, 40, 210), (200, 110, 30), (40, 160, 40),
               (0, 230, 230), (230, 230, 225)]  # BGR: yellow, white, orange, red, blue, green, lime, grey-white


def face_frame(lm):
    """Origin between the brows, unit vectors along the eyes (u) and down the face (v), and the
    temple-to-temple width."""
    lm = np.array(lm, np.float32)
    eye_l, eye_r = lm[36:42].mean(0), lm[42:48].mean(0)
    u = (eye_r - eye_l) / max(1e-3, float(np.linalg.norm(eye_r - eye_l)))
    v = np.array([-u[1], u[0]], np.float32)
    brows = lm[17:27].mean(0)
    width = float(np.dot(lm[16] - lm[0], u))
    return brows, u, v, width


def to_image(origin, u, v, points):
    return np.array([origin + u * x + v * y for x, y in points], np.float32)


def dome_points(half_width, height, brim_y, centre_x, steps=40):
    angles = np.linspace(np.pi, 0, steps)
    return [(centre_x + half_width * np.cos(a), brim_y - height * np.sin(a)) for a in angles]


def draw_hat(image, lm, rng):
    origin, u, v, width = face_frame(lm)
    shape = image.shape
    centre_x = width * rng.uniform(-0.05, 0.05)
    half_width = width * rng.uniform(0.6, 0.75)
    brim_y = -width * rng.uniform(0.02, 0.18)  # above the brows, on the forehead
    height = width * rng.uniform(0.7, 0.95)
    colour = np.array(HAT_COLOURS[rng.integers(len(HAT_COLOURS))], np.float32) * rng.uniform(0.8, 1.05)
    dome = to_image(origin, u, v, dome_points(half_width, height, brim_y, centre_x))
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(dome).astype(np.int32)], 1)
    brim_half = half_width * rng.uniform(1.05, 1.25)
    brim_h = width * rng.uniform(0.04, 0.09)
    brim_centre = origin + u * centre_x + v * brim_y
    angle = float(np.degrees(np.arctan2(u[1], u[0])))
    cv2.ellipse(mask, (int(brim_centre[0]), int(brim_centre[1])), (max(1, int(brim_half)), max(1, int(brim_h))),
                angle, 0, 360, 1, -1)
    # Shading: a curved surface lit from above one side; darker towards the rim and the brim.
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32)
    light = origin + u * (centre_x + half_width * rng.uniform(-0.4, 0.4)) + v * (brim_y - height * 0.6)
    dist = np.sqrt((xs - light[0]) ** 2 + (ys - light[1]) ** 2) / max(1.0, half_width)
    shade = np.clip(1.15 - rng.uniform(0.25, 0.5) * dist, 0.45, 1.2)
    fill = np.clip(colour[None, None, :] * shade[..., None], 0, 255)
    fill += rng.normal(0, rng.uniform(0, 6), fill.shape[:2] + (1,)).astype(np.float32)
    alpha = cv2.GaussianBlur(mask.astype(np.float32), (3, 3), 0)[..., None]
    out = (image * (1 - alpha) + np.clip(fill, 0, 255) * alpha).astype(np.uint8)
    line = max(1, int(width * 0.025))
    dark = tuple(int(c) for c in colour * 0.6)
    brim_line = to_image(origin, u, v, [(centre_x - brim_half, brim_y), (centre_x + brim_half, brim_y)])
    cv2.line(out, tuple(int(c) for c in brim_line[0]), tuple(int(c) for c in brim_line[1]), dark, line)
    if rng.random() < 0.6:  # a ridge from the crown to the front
        ridge = to_image(origin, u, v, [(centre_x, brim_y - height), (centre_x, brim_y - height * 0.15)])
        cv2.line(out, tuple(int(c) for c in ridge[0]), tuple(int(c) for c in ridge[1]), dark, line * 2)
    if rng.random() < 0.7:  # a highlight
        spot = origin + u * (centre_x - half_width * rng.uniform(0.1, 0.4)) + v * (brim_y - height * 0.65)
        cv2.ellipse(out, (int(spot[0]), int(spot[1])), (max(1, int(half_width * 0.18)), max(1, int(height * 0.1))),
                    angle - 20, 0, 360, (250, 250, 250), -1)
    if rng.random() < 0.4:  # a chin strap
        strap = (20, 20, 20) if rng.random() < 0.5 else dark
        chin = np.array(lm[8], np.float32) + v * width * 0.05
        for side in (-1, 1):
            start = origin + u * (centre_x + side * half_width * 0.85) + v * brim_y
            jaw = np.array(lm[2 if side < 0 else 14], np.float32)
            path = np.round(np.array([start, jaw, chin])).astype(np.int32)
            cv2.polylines(out, [path], False, strap, line)
    return out


def main():
    work = sys.argv[1]
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 5
    rng = np.random.default_rng(seed)
    landmarks = clear_face_landmarks(work)
    out_dir = os.path.join(work, "hats")
    os.makedirs(out_dir, exist_ok=True)
    rows = []
    for index, line in enumerate(open(os.path.join(work, "clear.tsv")).read().splitlines()[1:]):
        path, split = line.split("\t")
        image = cv2.imread(path) if path in landmarks else None
        if image is None:
            continue
        # A margin above the photo so the dome is not cut off at the top edge.
        pad = image.shape[0] // 3
        padded = cv2.copyMakeBorder(image, pad, 0, 0, 0, cv2.BORDER_REPLICATE)
        shifted = [(x, y + pad) for x, y in landmarks[path]]
        for kind in ("hat", "bare"):
            drawn = draw_hat(padded.copy(), shifted, rng) if kind == "hat" else padded
            out = degrade(drawn, rng)
            name = os.path.join(out_dir, f"{index:05d}_{kind}.jpg")
            cv2.imwrite(name, out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(60, 96))])
            rows.append((name, kind, split, path))
    write_tsv(os.path.join(work, "hats.tsv"), ("image", "kind", "split", "source"), rows)
    print(f"{len(rows)} images from {len(landmarks)} faces with landmarks")


if __name__ == "__main__":
    main()
