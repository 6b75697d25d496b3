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

Bona fide photos of other cameras (round 4): with --lfw-features / --lfw-faceres (the same two
feature kinds of liveness_sets.py --lfw's lfw.tsv) the LFW people of the training part
(`lfw:PERSON`) are live samples of both heads in every fold, their cell weighing --lfw-weight
times one class of one attack kind (the print head: --lfw-print-weight, default the same); the held-out people (`lfw-held:PERSON`) are never trained
on and are scored by the heads fitted on everything else: a third measure (BPCER at
30/50/70/90), not used to place the calibration (t0 and T come from NUAA and replay/ alone).

Masked live faces (round 5): with --mask-features / --mask-faceres (the same two feature kinds of
liveness_sets.py --masks's masks.tsv: masks/with_mask and masks/without_mask, web photos of live
people) the training part (`mask:FOLDER/FILE`, the attribute heads' split) are live samples of both
heads in every fold, their cell weighing --mask-weight times one class of one attack kind (the
print head: --mask-print-weight, default the same); the held-out quarter (`mask-held:...`) is
scored by the heads fitted on everything else (BPCER at 30/50/70/90, with and without a mask),
and, like LFW, is not used to place the calibration. No attack wears a mask, so --masked-attacks
FEATURES FACERES (liveness_sets.py --masked-prints: NUAA prints with a mask painted on) are scored
out of fold (each by the print folds that held out its session, the screen head that never saw
NUAA) beside the same prints unmasked: a head that learnt "mask = live" would pass them.

A mask on both sides (round 6): with --painted-features / --painted-faceres (liveness_sets.py
--painted's painted.tsv: a mask painted on NUAA and replay/ images, live and attack, on LFW people
and masks/without_mask photos) the painted rows keep their source's label and group, so the folds
hold a painted copy out with its source. They form two cells of their own (painted live, painted
attack), each weighing --paint-weight (screen head) or --paint-print-weight (print head) times one
class of one attack kind, so the paint is on both sides in equal measure and is no label. The
print head trains on all of them, the screen head on all but the NUAA ones (it never sees NUAA).
They are not in the calibration's pool; `painted` reports their out-of-fold scores (NUAA and
replay/ by the folds that held out their source, the held-out LFW people and masks/ photos by the
full heads). With both weights 0 the painted rows are left out: the fit is the one before.

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


EXTRA_LIVE = ("lfw", "mask")  # live-only training kinds: in every fold, weighed as one cell each
PAINT, PAINT_HELD = "paint", "paintheld"  # painted masks (round 6): training rows, held-out live rows
HELD_LIVE = ("lfw_held", "mask_held", PAINT_HELD)  # never trained on


def kinds_of(groups):
    """print (NUAA), screen (replay/), lfw (LFW training people) or lfw_held (held-out people),
    mask (masks/ training part) or mask_held (its held-out quarter)."""
    kinds = T.kind_of(groups)
    kinds = np.where(np.char.startswith(groups, "lfw:"), "lfw", kinds)
    kinds = np.where(np.char.startswith(groups, "lfw-held:"), "lfw_held", kinds)
    return mask_kinds(groups, kinds)


def mask_kinds(groups, kinds):
    """masks/ rows: `mask:` is a training sample, `mask-held:` held out."""
    kinds = np.where(np.char.startswith(groups, "mask:"), "mask", kinds)
    return np.where(np.char.startswith(groups, "mask-held:"), "mask_held", kinds).astype("<U9")


def paint_kinds(kinds, painted):
    """Painted rows: `paint` (trained on, in the folds of their source) or, painted on a held-out
    LFW person or masks/ photo, `paintheld`."""
    held = painted & np.isin(kinds, ("lfw_held", "mask_held"))
    return np.where(held, PAINT_HELD, np.where(painted, PAINT, kinds)).astype("<U9")


def cell_weights(y, kinds, lfw_weight, mask_weight=0.0, paint_weight=0.0):
    """Each class of each attack kind weighs the same (n / cells in all, as T.sample_weights);
    the LFW live cell on top of that weighs lfw_weight times one such cell, the masks/ live cell
    mask_weight times one, the painted live and the painted attack cell paint_weight times one each."""
    other = ~np.isin(kinds, EXTRA_LIVE + (PAINT,))
    w = np.zeros(len(y))
    w[other] = T.sample_weights(y[other], kinds[other])
    cells = len({(k, v) for k, v in zip(kinds[other], y[other])})
    for kind, weight in (("lfw", lfw_weight), ("mask", mask_weight)):
        extra = kinds == kind
        if extra.any():
            w[extra] = weight * other.sum() / cells / extra.sum()
    return paint_weights(w, y, kinds, paint_weight * other.sum() / cells)


def paint_weights(w, y, kinds, cell):
    """The painted rows of each class share one cell's weight `cell` (live and attack the same)."""
    for label in (0, 1):
        rows = (kinds == PAINT) & (y == label)
        if rows.any():
            w[rows] = cell / rows.sum()
    return w


def fit_rows(x, y, kinds, mask, lam, lfw_weight, mask_weight=0.0, paint_weight=0.0):
    """T.fit on the rows of mask, LFW, masks/ and painted rows left out when they weigh nothing."""
    rows = mask & ((kinds != "lfw") | (lfw_weight > 0)) & ((kinds != "mask") | (mask_weight > 0))
    rows &= (kinds != PAINT) | (paint_weight > 0)
    weights = cell_weights(y[rows], kinds[rows], lfw_weight, mask_weight, paint_weight)
    return T.fit(x[rows], y[rows], weights, lam)


def print_out_of_fold(x, y, groups, kinds, original, lam, lfw_weight, mask_weight=0.0, paint_weight=0.0):
    """T.out_of_fold's folds with the LFW training people (and masks/ training part) in every
    fold's training and the held-out ones in none, painted rows in the folds of their source;
    also returns each fold's model (in T.folds order)."""
    total, count, models = np.zeros(len(y)), np.zeros(len(y)), []
    for held in T.folds(groups):
        train = ~held & ~np.isin(kinds, HELD_LIVE)
        models.append(fit_rows(x, y, kinds, train, lam, lfw_weight, mask_weight, paint_weight))
        test = held & original
        total[test] += T.logits(models[-1], x[test])
        count[test] += 1
    return np.where(count > 0, total / np.maximum(count, 1), np.nan), count > 0, models


def fill_unscored(z, scored, model, x):
    """z of the rows no fold scored (LFW, masks/, painted LFW and masks/ rows) by the model fitted on
    all groups; the rows a fold scored (painted NUAA and replay/ copies too) keep their out-of-fold z."""
    z = z.copy()
    z[~scored] = T.logits(model, x[~scored])
    return z


def read_faceres(paths, images):
    rows = {}
    for path in paths:
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


def screen_kinds(kinds):
    """The screen head balances live and attack of replay/ alone (one kind), LFW, masks/ and painted on top."""
    return np.where(np.isin(kinds, EXTRA_LIVE + (PAINT, PAINT_HELD)), kinds, "screen").astype("<U9")


def screen_paint_rows(kinds, fold_of):
    """The painted rows the screen head trains on: all but NUAA's (it never sees NUAA)."""
    return (kinds == PAINT) & ~np.char.startswith(fold_of, "nuaa:")


def held_out(x, y, kinds, fold_of, lam, original, lfw_weight, mask_weight=0.0, paint_weight=0.0):
    """Screen head: logits of the replay originals of every source (and their painted copies), by
    a model fitted on the other sources (and the LFW training people); every other image by the
    model fitted on all of replay/ (and the LFW training people). Also returns the per-source models."""
    z, models = np.full(len(y), np.nan), {}
    screen, sk = kinds == "screen", screen_kinds(kinds)
    train = screen | np.isin(kinds, EXTRA_LIVE) | screen_paint_rows(kinds, fold_of)
    for fold in np.unique(fold_of[screen]):
        held = fold_of == fold
        models[fold] = fit_rows(x, y, sk, train & ~held, lam, lfw_weight, mask_weight, paint_weight)
        z[held & original] = T.logits(models[fold], x[held & original])
    full = fit_rows(x, y, sk, train, lam, lfw_weight, mask_weight, paint_weight)
    rest = ~screen & np.isnan(z)  # painted replay rows keep their out-of-fold logits
    z[rest] = T.logits(full, x[rest])
    return z, full, models


def screen_size_check(fr, y, groups, models, original, equal_path):
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
    out = {"original": ([], []), "equal_width": ([], [])}
    for source, model in models.items():
        held = groups == source
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


def append_rows(table, path, option):
    """Appends the rows of another liveness-features TSV (same columns) to table = names, x, y, groups, images."""
    names, x, y, groups, images = table
    more = T.read([path])
    if more[0] != names:
        raise SystemExit(f"{option} has other feature columns")
    return (names, np.vstack([x, more[1]]), np.concatenate([y, more[2]]), np.concatenate([groups, more[3]]),
            np.concatenate([images, more[4]]))


def read_all(args):
    """Liveness features and hm_faceres features of the images that have both; LFW, masks/ and
    painted rows appended. Also returns which rows are painted."""
    table = T.read([args.features])
    faceres = [args.faceres]
    if args.lfw_features:
        table = append_rows(table, args.lfw_features, "--lfw-features")
        faceres.append(args.lfw_faceres)
    if args.mask_features:
        table = append_rows(table, args.mask_features, "--mask-features")
        faceres.append(args.mask_faceres)
    before = len(table[2])
    if args.painted_features:
        table = append_rows(table, args.painted_features, "--painted-features")
        faceres.append(args.painted_faceres)
    names, x, y, groups, images = table
    painted = np.arange(len(y)) >= before
    keep, fr, pipeline = read_faceres(faceres, images)
    return names, x[keep], y[keep], groups[keep], images[keep], fr, pipeline, painted[keep]


def print_size_check(x, y, groups, kinds, original, models, equal_path):
    """Each print fold's model on its held-out replay originals and on the same crops at one
    width (liveness-features of liveness_sets.py's equal.tsv): ROC AUC of both."""
    enames, ex, ey, eg, _ = T.read([equal_path])
    ex = ex[:, T.columns(enames, PRINT_GROUPS)]
    out = {"original": ([], []), "equal_width": ([], [])}
    for held, model in zip(T.folds(groups), models):
        test = held & original & (kinds == "screen")
        etest = np.isin(eg, np.unique(groups[test]))
        for key, (xs, ys) in (("original", (x[test], y[test])), ("equal_width", (ex[etest], ey[etest]))):
            out[key][0].extend(T.logits(model, xs))
            out[key][1].extend(ys)
    return {key: {"n": len(t), "auc": round(T.auc(np.array(s), np.array(t)), 4)} for key, (s, t) in out.items()}


def lfw_report(scores, original):
    """BPCER of the held-out LFW people (all live) at 30/50/70/90, originals and augmented copies."""
    out = {}
    for name, m in (("original", original), ("augmented", ~original)):
        if m.any():
            s = scores[m]
            out[name] = {"live": int(m.sum()), "live_median": round(float(np.median(s)), 1),
                         "bpcer": {str(t): round(100 * float((s < t).mean()), 2) for t in (30, 50, 70, 90)}}
    return out


def mask_report(scores, groups, original):
    """BPCER of the held-out masks/ photos (all live) at 30/50/70/90, with and without a mask."""
    out = {}
    for folder in ("with_mask", "without_mask"):
        m = np.char.startswith(groups, f"mask-held:{folder}/")
        if m.any():
            out[folder] = lfw_report(scores[m], original[m])
    return out


def attack_rates(scores):
    """APCER (attacks accepted) at 30/50/70/90 and the median score."""
    return {"attacks": len(scores), "attack_median": round(float(np.median(scores)), 1),
            "apcer": {str(t): round(100 * float((scores >= t).mean()), 2) for t in (30, 50, 70, 90)}}


def print_fold_logits(model_folds, held_groups, x, groups):
    """Mean logit of each row over the print fold models whose held-out groups include its group."""
    total, count = np.zeros(len(x)), np.zeros(len(x))
    for model, held in zip(model_folds, held_groups):
        m = np.isin(groups, list(held))
        total[m] += T.logits(model, x[m])
        count[m] += 1
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def masked_attack_report(paths, names_all, cols, folds, screen_model, calib, unmasked):
    """The masked prints (paths = features TSV, faceres JSON lines) scored out of fold; unmasked =
    (images, scores) of the original attacks they were painted on, matched on the path under nuaa/."""
    names, x, _, groups, images = T.read([paths[0]])
    if names != names_all:
        raise SystemExit("--masked-attacks has other feature columns")
    keep, fr, _ = read_faceres([paths[1]], images)
    print_folds, held_groups = folds
    x, groups, images = x[keep][:, cols], groups[keep], images[keep]
    zp = print_fold_logits(print_folds, held_groups, x, groups)
    zs = T.logits(screen_model, fr)
    ap, az, t0, temperature = calib
    scores = T.to_score(np.minimum(zp - ap, zs - az), t0, temperature)
    tail = lambda image: image[image.rfind("/nuaa/"):]  # noqa: E731
    by_tail = dict(zip((tail(i) for i in unmasked[0]), unmasked[1]))
    same = np.array([by_tail.get(tail(i), np.nan) for i in images])
    both = ~np.isnan(same) & ~np.isnan(scores)
    return {"masked": attack_rates(scores[both]), "same_prints_unmasked": attack_rates(same[both])}


def paint_report(scores, y, groups, kinds):
    """Out-of-fold rates of the painted rows by source: NUAA and replay/ live (BPCER) and attacks
    (APCER), the held-out LFW people and masks/without_mask photos (BPCER)."""
    out = {}
    for name, prefix in (("nuaa", "nuaa:"), ("replay", "replay:"), ("lfw_held_out", "lfw-held:"),
                         ("masks_held_out", "mask-held:")):
        m = np.char.startswith(groups, prefix) & np.isin(kinds, (PAINT, PAINT_HELD))
        if not m.any():
            continue
        live, attack = m & (y > 0), m & (y == 0)
        out[name] = lfw_report(scores[live], np.ones(live.sum(), dtype=bool)).get("original", {})
        if attack.any():
            out[name].update(attack_rates(scores[attack]))
    return out


def paint_scored(kinds, groups):
    """Painted rows whose fused score is out of fold: NUAA, replay/, held-out LFW and masks/."""
    source = np.char.startswith(groups, "nuaa:") | np.char.startswith(groups, "replay:")
    return ((kinds == PAINT) & source) | (kinds == PAINT_HELD)


def weights_command(name, weight, print_weight):
    """The --NAME-weight / --NAME-print-weight options of the command line (masks/, painted), when
    they train (so the earlier heads' text is unchanged)."""
    if weight <= 0 and print_weight <= 0:
        return ""
    return f" --{name}-weight {weight} --{name}-print-weight {print_weight}"


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
    parser.add_argument("--print-equal", default="", help="liveness-features of equal.tsv: the print head's size check")
    parser.add_argument("--lfw-features", default="", help="liveness-features of liveness_sets.py --lfw's lfw.tsv")
    parser.add_argument("--lfw-faceres", default="", help="faceauth features of the same LFW images")
    parser.add_argument("--lfw-weight", type=float, default=0.0,
                        help="the LFW training cell's weight, in classes of one attack kind (0: not trained on)")
    parser.add_argument("--lfw-print-weight", type=float, default=None, help="the print head's (default: --lfw-weight)")
    parser.add_argument("--mask-features", default="", help="liveness-features of liveness_sets.py --masks's masks.tsv")
    parser.add_argument("--mask-faceres", default="", help="faceauth features of the same masks/ images")
    parser.add_argument("--mask-weight", type=float, default=0.0,
                        help="the masks/ training cell's weight, in classes of one attack kind (0: not trained on)")
    parser.add_argument("--mask-print-weight", type=float, default=None, help="the print head's (default: --mask-weight)")
    parser.add_argument("--painted-features", default="", help="liveness-features of liveness_sets.py --painted's list")
    parser.add_argument("--painted-faceres", default="", help="faceauth features of the same painted images")
    parser.add_argument("--paint-weight", type=float, default=0.0,
                        help="the screen head's painted live and painted attack cells' weight each (0: not trained on)")
    parser.add_argument("--paint-print-weight", type=float, default=None,
                        help="the print head's (default: --paint-weight)")
    parser.add_argument("--masked-attacks", nargs=2, default=None, metavar=("FEATURES", "FACERES"),
                        help="liveness-features and faceauth features of liveness_sets.py --masked-prints's list")
    args = parser.parse_args()
    if args.lfw_print_weight is None:
        args.lfw_print_weight = args.lfw_weight
    if args.mask_print_weight is None:
        args.mask_print_weight = args.mask_weight
    if args.paint_print_weight is None:
        args.paint_print_weight = args.paint_weight
    if bool(args.painted_features) != bool(args.painted_faceres):
        raise SystemExit("--painted-features and --painted-faceres go together")
    if bool(args.lfw_features) != bool(args.lfw_faceres):
        raise SystemExit("--lfw-features and --lfw-faceres go together")
    if bool(args.mask_features) != bool(args.mask_faceres):
        raise SystemExit("--mask-features and --mask-faceres go together")
    names_all, x, y, groups, images, fr, pipeline, painted = read_all(args)
    cols = T.columns(names_all, PRINT_GROUPS)
    original = np.char.find(images, "/aug/") < 0
    kinds = paint_kinds(kinds_of(groups), painted)
    screen = kinds == "screen"
    measured = (kinds == "print") | screen  # NUAA and replay/: the folds, the calibration
    xp = x[:, cols]
    zp, scored, print_folds = print_out_of_fold(xp, y, groups, kinds, original, args.lam_print,
                                                args.lfw_print_weight, args.mask_print_weight,
                                                args.paint_print_weight)
    if not scored[original & measured].all():
        raise SystemExit("an original image is in no fold")
    print_model = fit_rows(xp, y, kinds, ~np.isin(kinds, HELD_LIVE), args.lam_print, args.lfw_print_weight,
                           args.mask_print_weight, args.paint_print_weight)
    zp = fill_unscored(zp, scored | measured, print_model, xp)
    zs, screen_model, screen_folds = held_out(fr, y, kinds, groups, args.lam_screen, original, args.lfw_weight,
                                              args.mask_weight, args.paint_weight)
    o = original & measured
    ap = float(np.quantile(zp[o & (kinds == "print") & (y > 0)], args.bpcer))
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
    nuaa = o & (kinds == "print")
    validation["screen_head_on_prints"]["bpcer_at_50"] = T.rates(
        T.to_score(zs[nuaa] - az, t0, temperature), y[nuaa], 50)["bpcer"]
    lfw = kinds == "lfw_held"
    lfw_scores = T.to_score(z[lfw], t0, temperature)
    if lfw.any():
        validation["lfw_held_out"] = lfw_report(lfw_scores, original[lfw])
    masks = kinds == "mask_held"
    mask_scores = T.to_score(z[masks], t0, temperature)
    if masks.any():
        validation["masks_held_out"] = mask_report(mask_scores, groups[masks], original[masks])
    paints = paint_scored(kinds, groups)
    paint_scores = T.to_score(z[paints], t0, temperature)
    if paints.any():
        validation["painted"] = paint_report(paint_scores, y[paints], groups[paints], kinds[paints])
    if args.masked_attacks:
        nuaa_attacks = o & (kinds == "print") & (y == 0)
        held_groups = [set(np.unique(groups[held])) for held in T.folds(groups)]
        validation["masked_prints"] = masked_attack_report(
            args.masked_attacks, names_all, cols, (print_folds, held_groups), screen_model,
            (ap, az, t0, temperature), (images[nuaa_attacks], T.to_score(z[nuaa_attacks], t0, temperature)))
    if args.equal:
        validation["screen_size_check"] = screen_size_check(fr, y, groups, screen_folds, original & ~painted,
                                                            args.equal)  # the replay crops as they are, unpainted
    if args.print_equal:
        validation["print_size_check"] = print_size_check(xp, y, groups, kinds, original, print_folds,
                                                          args.print_equal)
    calibration = {"print_offset": round(ap, 5), "screen_offset": round(az, 5), "operating_logit": round(t0, 5),
                   "temperature": round(temperature, 5), "bpcer_quantile": args.bpcer,
                   "fused": "min(print, screen) logits"}
    lfw_note = "; live: LFW press photos of 4/5 of the people (lfw:PERSON), cell weight {}"
    mask_note = "; live: masks/ web photos with and without a mask, 3/4 of them (mask:FOLDER/FILE), cell weight {}"
    print_note = "" if args.lfw_print_weight <= 0 else lfw_note.format(args.lfw_print_weight)
    screen_note = "" if args.lfw_weight <= 0 else lfw_note.format(args.lfw_weight)
    print_note += "" if args.mask_print_weight <= 0 else mask_note.format(args.mask_print_weight)
    screen_note += "" if args.mask_weight <= 0 else mask_note.format(args.mask_weight)
    paint_note = "; a mask painted on live and attack images alike (liveness_sets.py --painted), cells weight {}"
    print_note += "" if args.paint_print_weight <= 0 else paint_note.format(args.paint_print_weight)
    screen_note += "" if args.paint_weight <= 0 else paint_note.format(args.paint_weight)
    common = {"default_threshold": T.OPERATING_POINT, "logit_limit": round(T.LIMIT, 6), "calibration": calibration}
    print_head = head_json(print_model, ap, t0, temperature, {
        "prefix": "liveness-print-lr",
        "about": "Print head of the fused liveness score (src/vision/checks/liveness.cpp): logistic regression on the "
                 "aligned face's texture, spectrum and hm_liveness features; fused = min(this logit, the screen "
                 "head's); score = 100 * sigmoid(clip(fused, -logit_limit, logit_limit)).",
        "trained_on": {"data": "NUAA Photograph Imposter (printed photos, sessions 01 and 02) and replay/ (screen "
                               "replays, 6 sources), with augmented copies (tools/train/liveness_sets.py)" + print_note,
                       "command": f"tools/train/train_liveness_fused.py --lam-print {args.lam_print} "
                                  f"--lam-screen {args.lam_screen} --bpcer {args.bpcer} --lfw-weight {args.lfw_weight} "
                                  f"--lfw-print-weight {args.lfw_print_weight}"
                                  + weights_command("mask", args.mask_weight, args.mask_print_weight)
                                  + weights_command("paint", args.paint_weight, args.paint_print_weight)},
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
        "trained_on": {"data": "replay/ (6 sources) with augmented copies" + screen_note, "lambda": args.lam_screen},
        "pipeline": pipeline, "inputs": SCREEN_INPUTS, **common})
    for name, head in (("liveness.json", print_head), ("liveness_screen.json", screen_head)):
        with open(f"{args.out_dir}/{name}", "w") as f:
            json.dump(no_nan(head), f, separators=(",", ":"), allow_nan=False)
            f.write("\n")
    if args.scores:
        with open(args.scores, "w") as f:
            f.write("image\tlabel\tgroup\tscore\tprint_logit\tscreen_logit\n")
            rows = np.concatenate([np.flatnonzero(m) for m in (o, lfw, masks, paints)])
            for i, s in zip(rows, np.concatenate([scores, lfw_scores, mask_scores, paint_scores])):
                f.write(f"{images[i]}\t{int(y[i])}\t{groups[i]}\t{s:.2f}\t{zp[i]:.3f}\t{zs[i]:.3f}\n")
    print(json.dumps({"calibration": calibration, "validation": validation,
                      "versions": [print_head["version"], screen_head["version"]]}, indent=1))


if __name__ == "__main__":
    main()
