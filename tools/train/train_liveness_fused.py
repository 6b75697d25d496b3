#!/usr/bin/python3
"""Trains the two liveness heads and their fusion (issue 17, round 2):

  models/heads/liveness.json         the print head: texture/spectrum/livenet features of the
                                     aligned face (faceauth liveness-features), trained on NUAA
                                     and replay/ as tools/train/train_liveness.py does;
  models/heads/liveness_screen.json  the screen head: hm_faceres features of the head crop
                                     (faceauth features: `upper` + `lower`, 1024), replay/ only.

  tools/train/liveness_sets.py DATASETS_DIR WORK --copies 2 --seed 17
  faceauth liveness-features --labels WORK/sets.tsv --images / --threads 2 > WORK/features.tsv
  cut -f2 WORK/sets.tsv | tail -n +2 > WORK/list.txt
  faceauth features --list WORK/list.txt --threads 2 > WORK/faceres.jsonl
  tools/train/train_liveness_fused.py WORK/features.tsv WORK/faceres.jsonl --out-dir models/heads

Validation never splits by image. The print head is validated on train_liveness.py's folds
(fold k holds out replay source k and NUAA session 01 or 02), the screen head
leave-one-source-out over the 6 replay sources, scoring NUAA with its model fitted on all of
replay/ (it never saw NUAA). A print head trained on NUAA alone was tried and is worse on both
kinds once fused (docs/liveness.md). The fused logit is min(print, screen): an image is live only when
both heads say so. Each head's logit is first offset so that 0 is its own --bpcer live quantile
on its own kind; then t0 (the --bpcer quantile of all held-out live fused logits, so 50 is the
operating point) and T (maximum likelihood, classes and kinds a quarter each) are folded into
both heads' weights, so the engine computes 100 * sigmoid(clip(min(zp, zs), -L, L)), L = ln 99.
numpy only; deterministic.
"""
import argparse
import hashlib
import json
import sys

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import train_liveness as T  # noqa: E402

PRINT_GROUPS = ["lbp_y", "lbp_cr", "lbp_cb", "lbp_h", "lbp_s", "lbp_v", "moments", "frequency", "specular",
                "lbp2_y", "lbp_grid", "spectrum", "livenet"]
SCREEN_INPUTS = ["upper", "lower"]


def read_faceres(path, images):
    rows = {}
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r.get("faces", 0) > 0:
                rows[r["image"]] = (r["pipeline"], np.concatenate([r[k] for k in SCREEN_INPUTS]))
    keep = np.array([im in rows for im in images])
    pipelines = {rows[im][0] for im in images[keep]}
    if len(pipelines) != 1:
        raise SystemExit(f"faceres features of {len(pipelines)} pipelines")
    return keep, np.array([rows[im][1] for im in images[keep]]), pipelines.pop()


def held_out(x, y, train_mask, fold_of, lam, original):
    """Logits of the originals of every fold, by a model fitted on train_mask minus that fold;
    the other originals by the model fitted on all of train_mask."""
    z = np.full(len(y), np.nan)
    for fold in np.unique(fold_of[train_mask]):
        held = fold_of == fold
        tr = train_mask & ~held
        z[held & original] = T.logits(T.fit(x[tr], y[tr], T.sample_weights(y[tr], np.zeros(tr.sum())), lam),
                                      x[held & original])
    full = T.fit(x[train_mask], y[train_mask], T.sample_weights(y[train_mask], np.zeros(train_mask.sum())), lam)
    z[~train_mask & original] = T.logits(full, x[~train_mask & original])
    return z, full


def screen_size_check(fr, y, groups, lam, original, equal_path):
    """Each leave-one-source-out screen model on its held-out replay originals and on the same
    crops resized to one width (liveness_sets.py's equal.tsv, `faceauth features` of them):
    ROC AUC of both. A head that read the crop size would lose its ranking at equal width."""
    rows = [json.loads(line) for line in open(equal_path)]
    rows = [r for r in rows if r.get("faces", 0) > 0]
    eimages = np.array([r["image"] for r in rows])
    ex = np.array([np.concatenate([r[k] for k in SCREEN_INPUTS]) for r in rows])
    # equal.tsv's images are WORK/equal/replay/<class>/<source>/<file>: label and source from the path
    ey = np.array([float(i.split("/")[-3] == "live") for i in eimages])
    esource = np.array([i.split("/")[-2] for i in eimages])
    screen = np.char.startswith(groups, "replay:")
    out = {"original": ([], []), "equal_width": ([], [])}
    for source in np.unique(groups[screen]):
        held = groups == source
        tr = screen & ~held
        model = T.fit(fr[tr], y[tr], T.sample_weights(y[tr], np.zeros(tr.sum())), lam)
        test, etest = held & original, esource == source.split(":", 1)[1]
        for key, (xs, ys) in (("original", (fr[test], y[test])), ("equal_width", (ex[etest], ey[etest]))):
            out[key][0].extend(T.logits(model, xs))
            out[key][1].extend(ys)
    return {key: {"n": len(t), "auc": round(T.auc(np.array(s), np.array(t)), 4)} for key, (s, t) in out.items()}


def head_json(model, offset, t0, temperature, extra):
    mean, scale, w, b = model
    weights = [round(float(v), 7) for v in w / temperature]
    digest = hashlib.sha256(json.dumps(weights).encode()).hexdigest()[:12]
    return {"version": f"{extra.pop('prefix')}-{digest}", **extra,
            "mean": [round(float(v), 7) for v in mean], "scale": [round(float(v), 7) for v in scale],
            "weights": weights, "bias": round(float((b - offset - t0) / temperature), 7)}


def no_nan(value):
    """JSON has no NaN: an undefined rate or AUC (a group without one class) is null."""
    if isinstance(value, dict):
        return {k: no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [no_nan(v) for v in value]
    return None if isinstance(value, float) and value != value else value


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("features", help="faceauth liveness-features TSV")
    parser.add_argument("faceres", help="faceauth features JSON lines of the same images")
    parser.add_argument("--bpcer", type=float, default=0.02)
    parser.add_argument("--lam-print", type=float, default=30)
    parser.add_argument("--lam-screen", type=float, default=3000)
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--scores", default="")
    parser.add_argument("--equal", default="", help="faceauth features of liveness_sets.py's equal.tsv images")
    args = parser.parse_args()
    names, x, y, groups, images = T.read([args.features])
    keep, fr, pipeline = read_faceres(args.faceres, images)
    names_all, x, y, groups, images = names, x[keep], y[keep], groups[keep], images[keep]
    cols = T.columns(names, PRINT_GROUPS)
    original = np.char.find(images, "/aug/") < 0
    kinds = T.kind_of(groups)
    screen = kinds == "screen"
    zp, scored = T.out_of_fold(x[:, cols], y, groups, original, args.lam_print)
    if not scored[original].all():
        raise SystemExit("an original image is in no fold")
    print_model = T.fit(x[:, cols], y, T.sample_weights(y, kinds), args.lam_print)
    zs, screen_model = held_out(fr, y, screen, groups, args.lam_screen, original)
    o = original
    ap = float(np.quantile(zp[o & ~screen & (y > 0)], args.bpcer))
    az = float(np.quantile(zs[o & screen & (y > 0)], args.bpcer))
    z = np.minimum(zp - ap, zs - az)
    t0 = float(np.quantile(z[o & (y > 0)], args.bpcer))
    temperature = T.fit_temperature(z[o] - t0, y[o], kinds[o])
    scores = T.to_score(z[o], t0, temperature)
    validation = T.report(scores, y[o], kinds[o], groups[o])
    for name, zz, kind in (("print_head_alone", zp, "print"), ("screen_head_alone", zs, "screen"),
                           ("print_head_on_screens", zp, "screen"), ("screen_head_on_prints", zs, "print")):
        m = o & (kinds == kind)
        validation[name] = {"auc": round(T.auc(zz[m], y[m]), 4)}
    validation["screen_head_on_prints"]["bpcer_at_50"] = T.rates(
        T.to_score(zs[o & ~screen] - az, t0, temperature), y[o & ~screen], 50)["bpcer"]
    if args.equal:
        validation["screen_size_check"] = screen_size_check(fr, y, groups, args.lam_screen, original, args.equal)
    calibration = {"print_offset": round(ap, 5), "screen_offset": round(az, 5), "operating_logit": round(t0, 5),
                   "temperature": round(temperature, 5), "bpcer_quantile": args.bpcer,
                   "fused": "min(print, screen) logits"}
    common = {"default_threshold": T.OPERATING_POINT, "logit_limit": round(T.LIMIT, 6), "calibration": calibration}
    print_head = head_json(print_model, ap, t0, temperature, {
        "prefix": "liveness-print-lr",
        "about": "Print head of the fused liveness score (src/vision/checks/liveness.cpp): logistic regression on the "
                 "aligned face's texture, spectrum and hm_liveness features; fused = min(this logit, the screen "
                 "head's); score = 100 * sigmoid(clip(fused, -logit_limit, logit_limit)).",
        "trained_on": {"data": "NUAA Photograph Imposter (printed photos, sessions 01 and 02) and replay/ (screen "
                               "replays, 6 sources), with augmented copies (tools/train/liveness_sets.py)",
                       "command": f"tools/train/train_liveness_fused.py --lam-print {args.lam_print} "
                                  f"--lam-screen {args.lam_screen} --bpcer {args.bpcer}"},
        "selection": {"groups": PRINT_GROUPS, "lambda": args.lam_print}, **common, "validation": validation})
    full = {k: np.zeros(len(names_all)) for k in ("mean", "weights")}
    full["scale"] = np.ones(len(names_all))
    for key in ("mean", "scale", "weights"):
        full[key][cols] = print_head[key]
        print_head[key] = [float(v) for v in full[key]]
    print_head["features"] = names_all
    screen_head = head_json(screen_model, az, t0, temperature, {
        "prefix": "liveness-screen-lr",
        "about": "Screen head of the fused liveness score: logistic regression on hm_faceres features of the head "
                 "crop (the attribute pass's upper + lower regions); logit = weights . (x - mean) / scale + bias.",
        "trained_on": {"data": "replay/ (6 sources) with augmented copies", "lambda": args.lam_screen},
        "pipeline": pipeline, "inputs": SCREEN_INPUTS, **common})
    for name, head in (("liveness.json", print_head), ("liveness_screen.json", screen_head)):
        with open(f"{args.out_dir}/{name}", "w") as f:
            json.dump(no_nan(head), f, separators=(",", ":"), allow_nan=False)
            f.write("\n")
    if args.scores:
        with open(args.scores, "w") as f:
            f.write("image\tlabel\tgroup\tscore\tprint_logit\tscreen_logit\n")
            for i, s in zip(np.flatnonzero(o), scores):
                f.write(f"{images[i]}\t{int(y[i])}\t{groups[i]}\t{s:.2f}\t{zp[i]:.3f}\t{zs[i]:.3f}\n")
    print(json.dumps({"calibration": calibration, "validation": validation,
                      "versions": [print_head["version"], screen_head["version"]]}, indent=1))


if __name__ == "__main__":
    main()
