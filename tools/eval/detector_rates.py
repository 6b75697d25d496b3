#!/usr/bin/python3
"""Detection rate and speed of each face detector on real photo sets.

  tools/eval/detector_rates.py DATASETS_DIR [--faceauth build/release/faceauth]
                               [--detectors a,b,...] [--demo DIR]

DATASETS_DIR is the folder holding lfw-view1/ and nuaa/ (every image has exactly one
face); --demo is the face-api demo folder (group photos, counted faces compared with the
number of people visible, given below). Prints a markdown table: per detector and set, the
share of images with at least one face, and the median detector milliseconds (one thread
per process, two processes)."""

import argparse
import glob
import json
import os
import statistics
import subprocess
import tempfile

DEMO_PEOPLE = {"sample1.jpg": 3, "sample2.jpg": 3, "sample3.jpg": 3, "sample4.jpg": 4, "sample5.jpg": 5, "sample6.jpg": 4}
DETECTORS = "faceapi_tinyface,faceapi_ssd,hm_blazeface_front,hm_blazeface,hm_facemesh_detection_full"


def run(faceauth, detector, images):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(images) + "\n")
        listing = f.name
    out = subprocess.run([faceauth, "detect", "--list", listing, "--detector", detector, "--threads", "2"],
                         check=True, capture_output=True, text=True).stdout
    os.unlink(listing)
    return [json.loads(line) for line in out.splitlines()]


def summary(rows):
    found = sum(1 for r in rows if r.get("faces", 0) > 0)
    ms = [r["ms"]["detect"] for r in rows if "ms" in r]
    return found, len(rows), statistics.median(ms) if ms else float("nan")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("datasets")
    parser.add_argument("--faceauth", default="build/release/faceauth")
    parser.add_argument("--detectors", default=DETECTORS)
    parser.add_argument("--demo", default=os.path.expanduser("~/.cache/faceauth/npm/face-api/package/demo"))
    args = parser.parse_args()
    sets = {
        "lfw-view1": sorted(glob.glob(os.path.join(args.datasets, "lfw-view1/images/**/*.jpg"), recursive=True)),
        "nuaa live": sorted(glob.glob(os.path.join(args.datasets, "nuaa/live/**/*.jpg"), recursive=True)),
        "nuaa attack": sorted(glob.glob(os.path.join(args.datasets, "nuaa/attack/**/*.jpg"), recursive=True)),
    }
    demo = [os.path.join(args.demo, name) for name in sorted(DEMO_PEOPLE)]
    print("| detector | " + " | ".join(f"{name} found (n={len(files)})" for name, files in sets.items())
          + " | demo faces found / people | median detect ms (lfw, nuaa) |")
    print("|---" * (len(sets) + 3) + "|")
    for detector in args.detectors.split(","):
        cells, times = [], []
        for name, files in sets.items():
            found, total, ms = summary(run(args.faceauth, detector, files))
            cells.append(f"{100.0 * found / max(total, 1):.2f}% ({total - found} missed)")
            if name != "nuaa attack":
                times.append(f"{ms:.1f}")
        demo_rows = run(args.faceauth, detector, demo)
        counted = sum(min(r.get("faces", 0), DEMO_PEOPLE[os.path.basename(r["image"])]) for r in demo_rows)
        extra = sum(max(0, r.get("faces", 0) - DEMO_PEOPLE[os.path.basename(r["image"])]) for r in demo_rows)
        cells.append(f"{counted}/{sum(DEMO_PEOPLE.values())} (+{extra} extra)")
        cells.append(", ".join(times))
        print(f"| {detector} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
