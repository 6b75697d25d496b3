#!/usr/bin/python3
"""Real mask textures on site faces: the masks of masks/with_mask moved onto helmets/ heads.

usage: site_masks_transfer.py WORK_DIR OUT_DIR [--seed S] [--split train|heldout] [--mirrors] [--upper]
       [--eyes LO,HI] [--masks heldout] > site_transfer.tsv

site_masks.py paints its masks, and the trainer learns the paint (docs/attributes.md, "At the
gate"). Here the mask region of a real photo of masks/with_mask (landmarks 1-15 along the jaw,
up to the nose bridge, 28; the engine's landmarks from WORK_DIR/faces.features.jsonl) is moved
onto each centred site head of site_masks.site_heads by an affine map fitted on the jaw and nose
landmarks (1-15, 27-35) of both faces, within the site face's own outline (the polygon of
synth_occlusions.draw_mask), its colour scaled by the ratio of the two faces' upper-face means
(the site's lighting), then both the bare and the masked face go through site_masks.degrade (gate
size, blur, JPEG). Splits: a site photo's split (helmets.tsv) and a mask image's split (masks.tsv,
the sha256 split of make_attribute_sets) agree: training heads get training masks, held-out heads
get held-out masks, so a held-out transferred face has a face and a mask texture never trained
on. Seeded: the same seed and inputs give the same images.
Output TSV: image, mask (1/0), split, photo, eye_px, source (the mask image, "-" for bare), eyes.
With --upper, for occluded_upper (the occlusion head used when face cover is required): each head
gives its transferred mask twice, once as it is (OUT_DIR/clear/, eyes "-") and once with an eye
occlusion drawn over it (synth_occlusions.draw: sunglasses, eye band, hand over the eyes or an
object; OUT_DIR/eyes/, eyes = the kind), both degraded; gate_rates.py OUT.jsonl occluded_score clear
counts them.
--eyes LO,HI: faces at the sizes the service judges, heads smaller than LO left out (site_masks.py).
--masks heldout: every head, training photos' too, gets a held-out mask image (for measuring by
folds of site photos, tools/eval/site_folds.py: no fold trains on those textures).
"""
import os
import sys

import cv2
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "train"))
import site_masks  # noqa: E402
import synth_occlusions  # noqa: E402
import train_attributes  # noqa: E402

FIT_POINTS = list(range(1, 16)) + list(range(27, 36))  # jaw and nose
UPPER_POINTS = list(range(17, 27)) + list(range(36, 48))  # brows and eyes: the face's lighting
MIN_SOURCE_EYES = 20.0  # px: smaller mask photos carry little texture
EYE_KINDS = ("sunglasses", "eye_band", "hand_eyes", "object")


def mask_sources(work, split):
    """(image, landmarks) of the with_mask photos of one split whose face was found, sorted."""
    features = train_attributes.read_features(os.path.join(work, "faces.features.jsonl"))
    rows = [r for r in train_attributes.read_tsv(os.path.join(work, "masks.tsv"))
            if r["mask"] == "1" and r["split"] == split and r["image"] in features]
    sources = [(r["image"], features[r["image"]]["landmarks"]) for r in rows]
    return sorted(s for s in sources if site_masks.eye_distance(s[1]) >= MIN_SOURCE_EYES)


def fit_affine(source_points, target_points):
    """The 2x3 affine map taking source points to target points (least squares)."""
    src = np.hstack([np.asarray(source_points, np.float64), np.ones((len(source_points), 1))])
    solution, *_ = np.linalg.lstsq(src, np.asarray(target_points, np.float64), rcond=None)
    return solution.T.astype(np.float32)


def region_mean(image, landmarks, ids):
    """Mean colour (B, G, R) inside the convex hull of some landmarks (whole image if empty)."""
    hull = cv2.convexHull(synth_occlusions.pts(landmarks, ids)).reshape(-1, 2)
    inside = synth_occlusions.poly_mask(image.shape, [hull]).astype(bool)
    pixels = image[inside] if inside.any() else image.reshape(-1, 3)
    return pixels.reshape(-1, 3).astype(np.float32).mean(0)


def outline(landmarks, eyes, rng):
    """The target's mask polygon: draw_mask's (jaw 1-15 a little below, nose bridge 28)."""
    below = eyes * rng.uniform(0.05, 0.25)
    lm = synth_occlusions.pts(landmarks, range(68))
    return np.concatenate([lm[[1]], lm[2:15] + [0, below], lm[[15]], lm[[28]]])


def transfer(target, target_landmarks, source, source_landmarks, rng):
    """`target` with the mask of `source` moved onto it (uint8 BGR, target's size)."""
    eyes = site_masks.eye_distance(target_landmarks)
    affine = fit_affine([source_landmarks[i] for i in FIT_POINTS], [target_landmarks[i] for i in FIT_POINTS])
    scale = float(np.sqrt(abs(np.linalg.det(affine[:, :2]))))
    if scale < 1.0:  # shrink first: warpAffine would alias a large photo onto a small face
        source = cv2.resize(source, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        affine = affine.copy()
        affine[:, :2] /= scale
    height, width = target.shape[:2]
    warped = cv2.warpAffine(source, affine, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    gain = region_mean(target, target_landmarks, UPPER_POINTS) / np.maximum(
        region_mean(source, [np.array(p) * min(scale, 1.0) for p in source_landmarks], UPPER_POINTS), 1.0)
    warped = np.clip(warped.astype(np.float32) * np.clip(gain, 0.5, 2.0), 0, 255)
    polygon = synth_occlusions.poly_mask(target.shape, [outline(target_landmarks, eyes, rng)]).astype(np.float32)
    alpha = cv2.GaussianBlur(polygon, (0, 0), max(0.5, 0.04 * eyes))[..., None]
    return (target * (1 - alpha) + warped * alpha).astype(np.uint8)


def faces_of(image, landmarks, source, rng, upper, source_image=None):
    """(folder tag, mask, eyes kind, image) of one head: bare, then masked; with `upper` masked,
    then masked with an eye occlusion. A generator: the caller degrades each face (drawing from
    the same rng) before the next one is made. `source` is (mask image path, landmarks); the
    image is read from the path unless given."""
    if not upper:
        yield "bare", 0, "-", image.copy()
    photo = cv2.imread(source[0]) if source_image is None else source_image
    masked = transfer(image, landmarks, photo, source[1], rng)
    if not upper:
        yield "mask", 1, "-", masked
        return
    yield "clear", 1, "-", masked
    kind = EYE_KINDS[int(rng.integers(len(EYE_KINDS)))]
    yield "eyes", 1, kind, synth_occlusions.draw(kind, masked.copy(), landmarks, rng)


def main():
    work, out_dir = sys.argv[1], sys.argv[2]
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 31
    only = sys.argv[sys.argv.index("--split") + 1] if "--split" in sys.argv else None
    upper = "--upper" in sys.argv
    rng = np.random.default_rng(seed)
    for folder in ("clear", "eyes") if upper else ("",):
        os.makedirs(os.path.join(out_dir, folder), exist_ok=True)
    sources = {split: mask_sources(work, split) for split in ("train", "heldout")}
    if "--masks" in sys.argv:
        sources["train"] = sources[sys.argv[sys.argv.index("--masks") + 1]]
    eyes_range, min_native = site_masks.eyes_option(sys.argv)
    if not all(sources.values()):
        sys.exit("a split has no with_mask photo whose face has eyes 20 px apart (WORK_DIR/masks.tsv, faces.features.jsonl)")
    print("image\tmask\tsplit\tphoto\teye_px\tsource\teyes")
    for r, image, landmarks in site_masks.site_heads(work, only, "--mirrors" in sys.argv):
        if site_masks.eye_distance(landmarks) < min_native:
            continue
        pool = sources["train" if r["split"] == "train" else "heldout"]
        source = pool[int(rng.integers(len(pool)))]
        for tag, mask, kind, face in faces_of(image, landmarks, source, rng, upper):
            small, eye_px, quality = site_masks.degrade(face, landmarks, rng, eyes_range)
            stem = os.path.basename(r["image"])[:-4]
            name = os.path.join(out_dir, tag, stem + ".jpg") if upper else os.path.join(out_dir, f"{stem}_{tag}.jpg")
            cv2.imwrite(name, small, [cv2.IMWRITE_JPEG_QUALITY, quality])
            print(f"{name}\t{mask}\t{r['split']}\t{r['photo']}\t{eye_px:.1f}\t{source[0] if mask else '-'}\t{kind}")


if __name__ == "__main__":
    main()
