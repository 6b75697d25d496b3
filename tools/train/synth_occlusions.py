#!/usr/bin/python3
"""Synthetic occlusions and masks drawn on clear faces, for training the attribute heads.

usage: synth_occlusions.py WORK_DIR [--seed S]

Reads WORK_DIR/clear.tsv (image, split) and WORK_DIR/faces.features.jsonl (`faceauth features`
output with the 68 landmarks of each image), writes WORK_DIR/synth/*.jpg and WORK_DIR/synth.tsv
(image, kind, region, split, source). One image per clear face and kind; `region` says what is
covered: "eyes" (the part a mask leaves visible), "lower" (nose, mouth, chin), "mask" or "none".
Kinds (docs/attributes.md):
  sunglasses  two dark lenses over the eyes and a bridge
  eye_band    a flat or noisy band over both eyes and brows
  hand_eyes   a skin-coloured hand (palm + fingers) over one or both eyes
  hand_mouth  a skin-coloured hand over the mouth and nose
  scarf       a patterned cloth from below the nose to under the chin
  object      a random textured rectangle over the nose and one eye
  clear       nothing drawn: the clear face degraded like the others (so degradation is no cue)
  mask        a mask over the lower face, surgical, respirator or cloth, with shading and ear loops
              (face cover positive, training only)
Each image is then sometimes shrunk or blurred and written at a random JPEG quality (60-95).
"""
import json
import os
import sys

import cv2
import numpy as np

KINDS = {"sunglasses": "eyes", "eye_band": "eyes", "hand_eyes": "eyes", "hand_mouth": "lower",
         "scarf": "lower", "object": "eyes", "mask": "mask", "clear": "none"}


def pts(landmarks, ids):
    return np.array([landmarks[i] for i in ids], dtype=np.float32)


def texture(rng, shape):
    base = rng.integers(0, 256, 3).astype(np.float32)
    noise = rng.normal(0, rng.uniform(0, 40), shape[:2] + (1,)).astype(np.float32)
    stripes = np.sin(np.arange(shape[1])[None, :, None] * rng.uniform(0.05, 0.5)) * rng.uniform(0, 40)
    return np.clip(base[None, None, :] + noise + stripes, 0, 255).astype(np.uint8)


def paint(image, polygon_mask, fill):
    alpha = cv2.GaussianBlur(polygon_mask.astype(np.float32), (5, 5), 0)[..., None]
    return (image * (1 - alpha) + fill * alpha).astype(np.uint8)


def poly_mask(shape, polygons):
    mask = np.zeros(shape[:2], np.uint8)
    for polygon in polygons:
        cv2.fillPoly(mask, [np.round(polygon).astype(np.int32)], 1)
    return mask


def ellipse_mask(shape, ellipses):
    mask = np.zeros(shape[:2], np.uint8)
    for centre, axes, angle in ellipses:
        cv2.ellipse(mask, (int(centre[0]), int(centre[1])), (max(1, int(axes[0])), max(1, int(axes[1]))),
                    angle, 0, 360, 1, -1)
    return mask


def skin(image, landmarks, rng):
    cheek = pts(landmarks, [1, 2, 3, 31, 41, 40]).mean(axis=0).astype(int)
    y, x = np.clip(cheek[1], 0, image.shape[0] - 1), np.clip(cheek[0], 0, image.shape[1] - 1)
    colour = image[max(0, y - 2):y + 3, max(0, x - 2):x + 3].reshape(-1, 3).mean(axis=0)
    return np.clip(colour * rng.uniform(0.8, 1.15), 0, 255)


def hand(shape, centre, size, angle, rng):
    ellipses = [(centre, (size * 0.55, size * 0.45), angle)]
    direction = np.array([np.cos(np.radians(angle - 90)), np.sin(np.radians(angle - 90))])
    across = np.array([-direction[1], direction[0]])
    for finger in range(4):
        offset = (finger - 1.5) * size * 0.24
        tip = centre + direction * size * rng.uniform(0.7, 0.9) + across * offset
        ellipses.append(((centre + tip) / 2, (size * 0.1, size * 0.4), angle))
    return ellipse_mask(shape, ellipses)


def draw(kind, image, landmarks, rng):
    lm = landmarks
    eye_l, eye_r = pts(lm, range(36, 42)).mean(0), pts(lm, range(42, 48)).mean(0)
    eye_dist = float(np.linalg.norm(eye_r - eye_l))
    roll = float(np.degrees(np.arctan2(eye_r[1] - eye_l[1], eye_r[0] - eye_l[0])))
    shape = image.shape
    flat = np.ones(shape, np.float32)
    if kind == "clear":
        return image
    if kind == "sunglasses":
        axes = (eye_dist * rng.uniform(0.38, 0.5), eye_dist * rng.uniform(0.25, 0.35))
        mask = ellipse_mask(shape, [(eye_l, axes, roll), (eye_r, axes, roll)])
        cv2.line(mask, tuple(int(v) for v in eye_l), tuple(int(v) for v in eye_r), 1, max(1, int(eye_dist * 0.08)))
        return paint(image, mask, flat * rng.integers(0, 60, 3))
    if kind == "eye_band":
        top = pts(lm, range(17, 27))
        band = np.concatenate([top - [0, eye_dist * 0.15], pts(lm, range(36, 48)) + [0, eye_dist * 0.3]])
        hull = cv2.convexHull(band.astype(np.float32))
        return paint(image, poly_mask(shape, [hull.reshape(-1, 2)]), texture(rng, shape))
    if kind == "hand_eyes":
        centre = eye_l if rng.random() < 0.4 else (eye_r if rng.random() < 0.5 else (eye_l + eye_r) / 2)
        mask = hand(shape, centre + [0, eye_dist * 0.2], eye_dist * rng.uniform(1.3, 1.8), roll + rng.uniform(-30, 30), rng)
        return paint(image, mask, flat * skin(image, lm, rng))
    if kind == "hand_mouth":
        centre = pts(lm, range(48, 68)).mean(0)
        mask = hand(shape, centre, eye_dist * rng.uniform(1.4, 1.9), roll + rng.uniform(-40, 40), rng)
        return paint(image, mask, flat * skin(image, lm, rng))
    if kind == "scarf":
        polygon = np.concatenate([pts(lm, range(2, 15)) + [0, eye_dist * 0.3], pts(lm, [35, 33, 31])])
        hull = cv2.convexHull(polygon.astype(np.float32)).reshape(-1, 2)
        return paint(image, poly_mask(shape, [hull]), texture(rng, shape))
    if kind == "object":
        centre = (pts(lm, [30]).reshape(2) + (eye_l if rng.random() < 0.5 else eye_r)) / 2
        w, h = eye_dist * rng.uniform(0.9, 1.4), eye_dist * rng.uniform(0.7, 1.2)
        box = cv2.boxPoints(((float(centre[0]), float(centre[1])), (w, h), rng.uniform(-30, 30)))
        return paint(image, poly_mask(shape, [box]), texture(rng, shape))
    return draw_mask(image, lm, eye_dist, rng)


MASK_COLOURS = [(230, 200, 150), (245, 245, 245), (40, 40, 40), (200, 170, 120), (90, 130, 60), (180, 180, 190),
                (60, 60, 160), (150, 110, 200), (210, 225, 235)]


def draw_mask(image, lm, eye_dist, rng):
    """A mask over the lower face in one of three styles: surgical (pleats, straight top over
    the nose bridge), respirator (a cup from the bridge to under the chin, a seam down the
    middle) or cloth (a textured fabric); random colour, shading and ear loops."""
    style = rng.choice(["surgical", "respirator", "cloth"])
    shape = image.shape
    flat = np.ones(shape, np.float32)
    bridge = pts(lm, [28 if style != "respirator" else 27]).reshape(2)
    below = eye_dist * rng.uniform(0.05, 0.25)
    polygon = np.concatenate([pts(lm, [1]), pts(lm, range(2, 15)) + [0, below], pts(lm, [15]), [bridge]])
    mask = poly_mask(shape, [polygon])
    if style == "cloth":
        fill = texture(rng, shape).astype(np.float32)
    else:
        colour = np.array(MASK_COLOURS[rng.integers(len(MASK_COLOURS))], np.float32)
        fill = flat * colour * rng.uniform(0.75, 1.05)
    # Shading: darker towards the jaw line, as a curved surface lit from the front.
    centre = pts(lm, [33]).reshape(2)
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32)
    dist = np.sqrt(((xs - centre[0]) / (eye_dist * 1.6)) ** 2 + ((ys - centre[1]) / (eye_dist * 1.6)) ** 2)
    fill = fill * np.clip(1.05 - rng.uniform(0.1, 0.35) * dist, 0.4, 1.1)[..., None]
    out = paint(image, mask, np.clip(fill, 0, 255))
    line_colour = tuple(int(c) for c in np.clip(fill[int(centre[1]) % shape[0], int(centre[0]) % shape[1]] * 0.8, 0, 255))
    if style == "surgical":
        for k in range(3):  # pleats
            y = lm[30][1] + (k + 1) * (lm[8][1] - lm[30][1]) / 4
            cv2.line(out, (int(lm[2][0]), int(y)), (int(lm[14][0]), int(y)), line_colour, max(1, int(eye_dist * 0.03)))
    elif style == "respirator":
        cv2.line(out, (int(bridge[0]), int(bridge[1])), (int(lm[8][0]), int(lm[8][1] + below)), line_colour,
                 max(1, int(eye_dist * 0.03)))
    if rng.random() < 0.7:  # ear loops
        for a, b in ((1, 0), (15, 16)):
            cv2.line(out, (int(lm[a][0]), int(lm[a][1])), (int(lm[b][0]), int(lm[b][1] - eye_dist * 0.3)),
                     tuple(int(c) for c in MASK_COLOURS[1]), max(1, int(eye_dist * 0.04)))
    return out


def degrade(image, rng):
    """Photos differ from the training sets in size and sharpness: sometimes shrink the image
    (a smaller, softer face) or blur it; JPEG quality varies at write time."""
    if rng.random() < 0.3:
        scale = rng.uniform(0.4, 0.8)
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    if rng.random() < 0.2:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.5, 1.5))
    return image


def write_tsv(path, columns, rows):
    """A header line of `columns`, then one tab-separated line per row."""
    with open(path, "w") as out:
        out.write("\t".join(columns) + "\n")
        out.writelines("\t".join(r) + "\n" for r in rows)


def clear_face_landmarks(work):
    """The 68 landmarks of every clear face with a face found, by image path."""
    landmarks = {}
    for line in open(os.path.join(work, "faces.features.jsonl")):
        row = json.loads(line)
        if row.get("faces", 0) > 0:
            landmarks[row["image"]] = row["landmarks"]
    return landmarks


def main():
    work = sys.argv[1]
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 5
    rng = np.random.default_rng(seed)
    landmarks = {image: [tuple(p) for p in points] for image, points in clear_face_landmarks(work).items()}
    out_dir = os.path.join(work, "synth")
    os.makedirs(out_dir, exist_ok=True)
    rows = []
    for index, line in enumerate(open(os.path.join(work, "clear.tsv")).read().splitlines()[1:]):
        path, split = line.split("\t")
        if path not in landmarks:
            continue
        image = cv2.imread(path)
        if image is None:
            continue
        for kind, region in KINDS.items():
            out = degrade(draw(kind, image.copy(), landmarks[path], rng), rng)
            name = os.path.join(out_dir, f"{index:05d}_{kind}.jpg")
            cv2.imwrite(name, out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(60, 96))])
            rows.append((name, kind, region, split, path))
    write_tsv(os.path.join(work, "synth.tsv"), ("image", "kind", "region", "split", "source"), rows)
    print(f"{len(rows)} synthetic images from {len(landmarks)} faces with landmarks")


if __name__ == "__main__":
    main()
