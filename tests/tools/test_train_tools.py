#!/usr/bin/python3
"""The attribute trainer's gate additions (docs/attributes.md, "At the gate") and the liveness
trainer's LFW live samples (docs/liveness.md), on tiny made-up sets in a temporary WORK_DIR: no
datasets, no models."""
import os
import sys
import tempfile
import unittest

import numpy as np

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(root, "tools", "train"))
sys.path.insert(0, os.path.join(root, "tools", "eval"))
import gate_copies  # noqa: E402
import liveness_sets  # noqa: E402
import site_masks  # noqa: E402
import train_attributes as t  # noqa: E402
import train_liveness_fused as fused  # noqa: E402


def write(path, header, rows):
    with open(path, "w") as out:
        out.write("\t".join(header) + "\n")
        out.writelines("\t".join(str(c) for c in r) + "\n" for r in rows)


def landmarks_with_eyes(distance):
    """68 points whose eye centres (36-41, 42-47) are `distance` apart."""
    points = np.zeros((68, 2))
    points[36:42] = [100.0, 100.0]
    points[42:48] = [100.0 + distance, 100.0]
    return points.tolist()


class GateCopies(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp()

    def sets_with_copies(self):
        sets = {name: t.Set() for name in ("face_cover", "occluded", "occluded_upper", "head_cover")}
        sets["face_cover"].add("a.jpg", 1, "train")
        sets["face_cover"].add("b.jpg", 0, "heldout")
        sets["occluded"].add("a.jpg", 0, "train", "photo_a")
        sets["occluded_upper"].add("a.jpg", 1, "train")
        sets["head_cover"].add("h.jpg", 1, "heldout_synthetic")
        sets["face_cover"].add("s.jpg", 0, "heldout_site")
        write(os.path.join(self.work, "gate.tsv"), ("image", "base", "split", "eye_px"),
              [("ga.jpg", "a.jpg", "train", 20), ("gb.jpg", "b.jpg", "heldout", 15), ("gs.jpg", "s.jpg", "train", 9),
               ("gh.jpg", "h.jpg", "heldout", 9)])
        t.add_gate_copies(sets, self.work)
        return sets

    def test_a_copy_keeps_label_and_source_and_held_out_copies_are_apart(self):
        sets = self.sets_with_copies()
        self.assertIn(("ga.jpg", 1, "train", "a.jpg"), sets["face_cover"].rows)
        self.assertIn(("gb.jpg", 0, "heldout_gate", "b.jpg"), sets["face_cover"].rows)
        self.assertIn(("ga.jpg", 0, "train", "photo_a"), sets["occluded"].rows)
        self.assertNotIn("gb.jpg", [r[0] for r in sets["face_cover"].rows if r[2] == "heldout"])

    def test_only_face_cover_and_occluded_and_only_their_train_or_heldout_rows(self):
        sets = self.sets_with_copies()
        self.assertEqual([r[0] for r in sets["occluded_upper"].rows], ["a.jpg"])
        self.assertEqual([r[0] for r in sets["head_cover"].rows], ["h.jpg"])
        self.assertNotIn("gs.jpg", [r[0] for r in sets["face_cover"].rows])  # a site held-out row has no copy

    def test_site_training_copies_of_other_seeds_are_training_rows(self):
        header = ("image", "mask", "split", "photo", "eye_px")
        write(os.path.join(self.work, "site_masks.tsv"), header, [("m7.jpg", 1, "heldout", "p1", 20)])
        write(os.path.join(self.work, "site_masks.train11.tsv"), header, [("m11.jpg", 1, "train", "p2", 20)])
        sets = {"face_cover": t.Set(), "occluded": t.Set()}
        t.add_site_masks(sets, self.work)
        self.assertEqual(sets["face_cover"].rows, [("m7.jpg", 1, "heldout_site", "p1"), ("m11.jpg", 1, "train", "p2")])
        self.assertEqual([r[1] for r in sets["occluded"].rows], [0, 0])  # a mask is an occlusion
        self.assertEqual(sets["face_cover"].site, {"m7.jpg", "m11.jpg"})

    def test_a_clear_face_listed_twice_is_copied_once_and_synthetic_kinds_are_picked(self):
        write(os.path.join(self.work, "masks.tsv"), ("image", "mask", "split"), [("w.jpg", 0, "train")])
        write(os.path.join(self.work, "clear.tsv"), ("image", "split"), [("w.jpg", "train"), ("l.jpg", "heldout")])
        kinds = ["mask", "clear", "sunglasses", "scarf", "object", "hand_eyes"]
        write(os.path.join(self.work, "synth.tsv"), ("image", "kind", "region", "split", "source"),
              [(f"{k}.jpg", k, "none", "train", "w.jpg") for k in kinds])
        images = [image for image, _ in gate_copies.bases(self.work, 2, np.random.default_rng(0))]
        self.assertEqual(images.count("w.jpg"), 1)
        self.assertIn("l.jpg", images)
        self.assertIn("mask.jpg", images)
        self.assertIn("clear.jpg", images)
        self.assertEqual(len([i for i in images if i[:-4] in kinds[2:]]), 2)


class Weights(unittest.TestCase):
    def test_a_part_carries_its_fraction_of_each_class(self):
        y = np.array([1, 1, 1, 0, 0, 0, 0])
        part = np.array([True, False, False, True, True, False, False])
        w = t.part_weights(y, part, 0.3)
        for label in (0, 1):
            self.assertAlmostEqual(float(w[y == label].sum()), 0.5, places=6)
            self.assertAlmostEqual(float(w[(y == label) & part].sum()), 0.15, places=6)

    def test_without_a_share_the_fit_is_the_balanced_one(self):
        rng = np.random.default_rng(1)
        x = rng.normal(size=(40, 3)).astype(np.float32)
        y = (x[:, 0] > 0).astype(int)
        plain = t.fit(x, y, 0.01, 5, steps=50)
        same = t.fit(x, y, 0.01, 5, steps=50, share=None)
        self.assertTrue(np.array_equal(plain["weights"], same["weights"]))
        shared = t.fit(x, y, 0.01, 5, steps=50, share=(np.arange(40) < 10, 0.9))
        self.assertFalse(np.array_equal(plain["weights"], shared["weights"]))


class Degrade(unittest.TestCase):
    def test_a_large_face_is_brought_to_gate_size_and_a_small_one_is_not_enlarged(self):
        rng = np.random.default_rng(3)
        image = np.full((400, 400, 3), 128, np.uint8)
        for _ in range(20):
            small, eyes, quality = site_masks.degrade(image, landmarks_with_eyes(100.0), rng)
            self.assertGreaterEqual(eyes, 12.0)
            self.assertLessEqual(eyes, 45.0)
            self.assertAlmostEqual(small.shape[1] / 400.0, eyes / 100.0, delta=0.01)
            self.assertTrue(35 <= quality <= 85)
        small, eyes, _ = site_masks.degrade(image, landmarks_with_eyes(8.0), rng)
        self.assertEqual(small.shape, image.shape)
        self.assertAlmostEqual(eyes, 8.0)


def liveness_groups():
    """Two NUAA sessions, two replay sources, two LFW training people and one held-out person."""
    groups = ["nuaa:0001:01"] * 8 + ["nuaa:0001:02"] * 8 + ["replay:a"] * 8 + ["replay:b"] * 8
    groups += ["lfw:P"] * 6 + ["lfw:Q"] * 6 + ["lfw-held:R"] * 6
    y = np.array([1, 0] * 16 + [1] * 18, dtype=float)
    return np.array(groups), y


class LivenessLfw(unittest.TestCase):
    def test_the_lfw_split_is_by_person_and_about_a_fifth(self):
        people = [f"Person_{i}" for i in range(2000)]
        held = [p for p in people if liveness_sets.lfw_held_out(p)]
        self.assertTrue(300 < len(held) < 500, len(held))
        self.assertEqual(held, [p for p in people if liveness_sets.lfw_held_out(p)])  # fixed, no random state

    def test_every_lfw_image_is_live_and_grouped_by_its_person(self):
        work = self.enterContext(tempfile.TemporaryDirectory())
        for person in ("Ann_A", "Bob_B"):
            os.makedirs(os.path.join(work, "lfw-view1", "images", person))
            for k in (1, 2):
                open(os.path.join(work, "lfw-view1", "images", person, f"{person}_000{k}.jpg"), "w").close()
        rows = liveness_sets.lfw_originals(work)
        self.assertEqual(len(rows), 4)
        self.assertEqual({r[0] for r in rows}, {"live"})
        for label, path, group in rows:
            person = os.path.basename(os.path.dirname(path))
            prefix = "lfw-held:" if liveness_sets.lfw_held_out(person) else "lfw:"
            self.assertEqual(group, prefix + person)

    def test_kinds_and_the_lfw_cell_weight(self):
        groups, y = liveness_groups()
        kinds = fused.kinds_of(groups)
        self.assertEqual(list(np.unique(kinds)), ["lfw", "lfw_held", "print", "screen"])
        train = kinds != "lfw_held"
        w = fused.cell_weights(y[train], kinds[train], 0.5)
        k, yy = kinds[train], y[train]
        one_cell = w[(k == "print") & (yy > 0)].sum()
        for kind in ("print", "screen"):
            for label in (0, 1):
                self.assertAlmostEqual(float(w[(k == kind) & (yy == label)].sum()), float(one_cell), places=9)
        self.assertAlmostEqual(float(w[k == "lfw"].sum()), 0.5 * float(one_cell), places=9)
        self.assertAlmostEqual(float(w[k != "lfw"].sum()), float((k != "lfw").sum()), places=9)

    def test_held_out_people_are_never_trained_on_and_training_people_are(self):
        groups, y = liveness_groups()
        kinds = fused.kinds_of(groups)
        rng = np.random.default_rng(5)
        x = rng.normal(size=(len(y), 4)) + y[:, None]
        original = np.ones(len(y), dtype=bool)
        plain, _, _ = fused.print_out_of_fold(x, y, groups, kinds, original, 1.0, 0.0)
        with_lfw, _, _ = fused.print_out_of_fold(x, y, groups, kinds, original, 1.0, 2.0)
        moved = x.copy()
        moved[kinds == "lfw_held"] += 50.0
        same, _, _ = fused.print_out_of_fold(moved, y, groups, kinds, original, 1.0, 2.0)
        measured = (kinds == "print") | (kinds == "screen")
        self.assertFalse(np.allclose(plain[measured], with_lfw[measured]))
        np.testing.assert_allclose(same[measured], with_lfw[measured])
        zs, _, _ = fused.held_out(x, y, kinds, groups, 1.0, original, 2.0)
        zs_moved, _, _ = fused.held_out(moved, y, kinds, groups, 1.0, original, 2.0)
        screen = kinds == "screen"
        np.testing.assert_allclose(zs[screen], zs_moved[screen])
        zs_plain, _, _ = fused.held_out(x, y, kinds, groups, 1.0, original, 0.0)
        self.assertFalse(np.allclose(zs[screen], zs_plain[screen]))

    def test_without_lfw_weight_the_fit_is_that_without_lfw_rows(self):
        groups, y = liveness_groups()
        kinds = fused.kinds_of(groups)
        x = np.random.default_rng(6).normal(size=(len(y), 3)) + y[:, None]
        rows = (kinds == "print") | (kinds == "screen")
        a = fused.fit_rows(x, y, kinds, kinds != "lfw_held", 1.0, 0.0)
        b = fused.T.fit(x[rows], y[rows], fused.T.sample_weights(y[rows], kinds[rows]), 1.0)
        for u, v in zip(a, b):
            np.testing.assert_array_equal(u, v)

    def test_lfw_report_counts_the_live_rejected(self):
        scores = np.array([10.0, 40.0, 60.0, 80.0, 95.0, 20.0])
        report = fused.lfw_report(scores, np.array([True] * 5 + [False]))
        self.assertEqual(report["original"]["live"], 5)
        self.assertEqual(report["original"]["bpcer"], {"30": 20.0, "50": 40.0, "70": 60.0, "90": 80.0})
        self.assertEqual(report["augmented"]["bpcer"]["30"], 100.0)


if __name__ == "__main__":
    unittest.main()
