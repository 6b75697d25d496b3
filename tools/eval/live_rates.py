#!/usr/bin/python3
"""How often live faces are rejected by liveness (BPCER) on `faceauth analyze` output of photos
of live people only, by the distance between the eyes (docs/liveness.md, "Live faces at
construction sites").

usage: live_rates.py ANALYZE.jsonl [--threshold T] [--bands 20,30,45]

Only faces that pass the default quality checks count (eyes >= 20 px, sharpness >= 1.5,
brightness 40-230, |yaw| <= 45, |pitch| <= 40: docs/liveness.md, "Quality checks"), since the
service refuses the others before liveness matters; the band under 20 px is printed apart, with
the other checks passing, to show what the size limit keeps out. One JSON line a band, then
one for every face that passes.
"""
import json
import sys

# The default QualityPolicy (docs/liveness.md, "Quality checks"); site_folds.py reads it too.
DEFAULT_QUALITY = {"min_eyes": 20.0, "min_sharpness": 1.5, "brightness": (40.0, 230.0), "max_yaw": 45.0,
                   "max_pitch": 40.0}


def option(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def passes_other_checks(quality, limits=DEFAULT_QUALITY):
    """Every default quality check but the face size."""
    low, high = limits["brightness"]
    return (quality["sharpness"] >= limits["min_sharpness"] and low <= quality["brightness"] <= high and
            abs(quality["yaw"]) <= limits["max_yaw"] and abs(quality["pitch"]) <= limits["max_pitch"])


def band_rate(scores, threshold):
    rejected = sum(s < threshold for s in scores)
    return {"n": len(scores), "rejected": rejected, "bpcer": round(rejected / len(scores), 4) if scores else None}


def rates(rows, threshold=50.0, edges=(20.0, 30.0, 45.0)):
    """One dict a band [edge_i, edge_i+1) of eye distance (the last open), then 'passing'."""
    faces = [r for r in rows if r.get("faces", 0) > 0 and "liveness_score" in r and "quality" in r]
    faces = [r for r in faces if passes_other_checks(r["quality"])]
    bounds = [0.0] + list(edges) + [float("inf")]
    out = []
    for low, high in zip(bounds, bounds[1:]):
        scores = [r["liveness_score"] for r in faces if low <= r["quality"]["eye_distance_px"] < high]
        out.append(dict(band=f"{low:g}-{high:g}", **band_rate(scores, threshold)))
    passing = [r["liveness_score"] for r in faces if r["quality"]["eye_distance_px"] >= DEFAULT_QUALITY["min_eyes"]]
    out.append(dict(band="passing the default quality checks", **band_rate(passing, threshold)))
    return out


def main():
    rows = [json.loads(line) for line in open(sys.argv[1])]
    edges = tuple(float(x) for x in option("--bands", "20,30,45").split(","))
    for line in rates(rows, float(option("--threshold", 50.0)), edges):
        print(json.dumps(dict(line, images=len(rows))))


if __name__ == "__main__":
    main()
