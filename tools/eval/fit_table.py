#!/usr/bin/python3
"""Landmark fit by set: the percentiles of `quality.landmark_fit` in `faceauth analyze` output,
for every face found and for the faces within the PPE limits (docs/attributes.md, "Round 6").

usage: fit_table.py [--min-fit F] LABEL=ANALYZE.jsonl[,KEEP.list] ...

Each set is one analyze output, optionally only the images listed in KEEP.list (one path per
line, as the analyze output names them; e.g. the helmet or bare rows of a labels file). "Within
the PPE limits" is what the service judges with a PPE check on, besides the fit itself: eyes
>= 30 px apart, |yaw| <= 45, |pitch| <= 30 (src/policy/policy.h) and the default sharpness and
brightness limits (live_rates.DEFAULT_QUALITY). Prints a Markdown table: faces, percentiles 0.5,
1, 5, 50 and 95 and the minimum, for both; with --min-fit, how many of each are under it.
"""
import argparse
import json

import numpy as np

from live_rates import DEFAULT_QUALITY, passes_other_checks

PPE_LIMITS = dict(DEFAULT_QUALITY, min_eyes=30.0, max_yaw=45.0, max_pitch=30.0)
PERCENTILES = (0.5, 1, 5, 50, 95)


def within_ppe(quality):
    return quality["eye_distance_px"] >= PPE_LIMITS["min_eyes"] and passes_other_checks(quality, PPE_LIMITS)


def read_set(spec):
    """(label, [quality of each face found]) of LABEL=PATH[,KEEP]."""
    label, _, paths = spec.partition("=")
    path, _, keep_path = paths.partition(",")
    keep = None
    if keep_path:
        with open(keep_path) as f:
            keep = {line.strip() for line in f if line.strip()}
    with open(path) as f:
        rows = [json.loads(line) for line in f]
    found = [r for r in rows if r.get("faces", 0) > 0 and "quality" in r and (keep is None or r["image"] in keep)]
    return label, [r["quality"] for r in found]


def summary(fits):
    if not fits:
        return ["-"] * (len(PERCENTILES) + 1)
    values = np.array(fits)
    return ["%.2f" % np.percentile(values, p) for p in PERCENTILES] + ["%.2f" % values.min()]


def under(fits, min_fit):
    count = sum(f < min_fit for f in fits)
    return "%d (%.1f %%)" % (count, 100.0 * count / max(1, len(fits)))


def table_row(label, qualities, min_fit):
    fits = [q["landmark_fit"] for q in qualities]
    kept = [q["landmark_fit"] for q in qualities if within_ppe(q)]
    cells = [label, str(len(fits)), *summary(fits), str(len(kept)), *summary(kept)]
    if min_fit is not None:
        cells.append("%s / %s" % (under(fits, min_fit), under(kept, min_fit)))
    return "| " + " | ".join(cells) + " |"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--min-fit", type=float)
    parser.add_argument("sets", nargs="+")
    args = parser.parse_args(argv)
    names = ["p%g" % p for p in PERCENTILES] + ["min"]
    header = ["set", "faces found", *names, "within PPE limits", *names]
    if args.min_fit is not None:
        header.append("under %g: all / within" % args.min_fit)
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for spec in args.sets:
        print(table_row(*read_set(spec), args.min_fit))


if __name__ == "__main__":
    main()
