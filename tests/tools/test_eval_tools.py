#!/usr/bin/python3
"""Measuring tools of tools/eval on made-up `faceauth analyze` lines: no datasets, no models."""
import os
import sys
import unittest

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(root, "tools", "eval"))
import live_rates  # noqa: E402


def face(liveness, eyes, sharpness=3.0, brightness=120.0, yaw=0.0, pitch=0.0):
    quality = {"eye_distance_px": eyes, "sharpness": sharpness, "brightness": brightness, "yaw": yaw, "pitch": pitch}
    return {"faces": 1, "liveness_score": liveness, "quality": quality}


class LiveRates(unittest.TestCase):
    def by_band(self, rows, **kw):
        return {r["band"]: r for r in live_rates.rates(rows, **kw)}

    def test_faces_the_quality_checks_refuse_do_not_count(self):
        rows = [face(10, 25), face(90, 25), face(10, 25, sharpness=1.0), face(10, 25, brightness=20),
                face(10, 25, yaw=60), face(10, 25, pitch=-50), face(10, 12), {"faces": 0}]
        bands = self.by_band(rows)
        passing = bands["passing the default quality checks"]
        self.assertEqual((passing["n"], passing["rejected"], passing["bpcer"]), (2, 1, 0.5))
        self.assertEqual((bands["0-20"]["n"], bands["0-20"]["rejected"]), (1, 1))  # shown apart

    def test_bands_split_at_their_edges_and_the_threshold_is_strict(self):
        rows = [face(49.9, 20), face(50, 29.9), face(30, 30), face(99, 45), face(1, 80)]
        bands = self.by_band(rows, threshold=50.0, edges=(20.0, 30.0, 45.0))
        self.assertEqual([bands[b]["n"] for b in ("0-20", "20-30", "30-45", "45-inf")], [0, 2, 1, 2])
        self.assertEqual([bands[b]["rejected"] for b in ("20-30", "30-45", "45-inf")], [1, 1, 1])
        self.assertIsNone(bands["0-20"]["bpcer"])
        self.assertEqual(self.by_band(rows, threshold=60.0)["passing the default quality checks"]["rejected"], 4)


if __name__ == "__main__":
    unittest.main()
