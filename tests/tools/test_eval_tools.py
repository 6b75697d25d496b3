#!/usr/bin/python3
"""Measuring tools of tools/eval on made-up `faceauth analyze` lines: no datasets, no models."""
import csv
import json
import os
import sys
import tempfile
import unittest

import cv2
import numpy as np

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(root, "tools", "eval"))
import live_rates  # noqa: E402
import fit_table  # noqa: E402
import masked_pairs  # noqa: E402
import mesh_eyes  # noqa: E402
import mesh_crops  # noqa: E402


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


def face_landmarks(cx=50.0, cy=50.0, w=40.0):
    """A made-up 68-point face: jaw on the lower half of an ellipse, eyes, nose and mouth inside."""
    lm = np.zeros((68, 2), np.float32)
    for i in range(17):  # jaw from the left temple through the chin to the right one
        a = np.pi * (1 - i / 16)
        lm[i] = (cx + w * np.cos(a), cy + 0.2 * w + w * np.sin(a) * 1.0)
    lm[17:27] = [(cx - w * 0.6 + i * w * 0.13, cy - w * 0.45) for i in range(10)]
    lm[27:31] = [(cx, cy - w * 0.3 + i * w * 0.12) for i in range(4)]
    lm[31:36] = [(cx - w * 0.2 + i * w * 0.1, cy + w * 0.2) for i in range(5)]
    lm[36:42] = [(cx - w * 0.45 + i * w * 0.05, cy - w * 0.3) for i in range(6)]
    lm[42:48] = [(cx + w * 0.2 + i * w * 0.05, cy - w * 0.3) for i in range(6)]
    lm[48:68] = [(cx - w * 0.3 + (i % 10) * w * 0.06, cy + w * 0.5) for i in range(20)]
    return lm


def read_bytes(*parts):
    with open(os.path.join(*parts), "rb") as f:
        return f.read()


class MaskedPairs(unittest.TestCase):
    def test_a_face_not_found_is_a_reject_never_an_accept(self):
        labels = [1, 1, 1, 0, 0, 0]
        scores = [70.0, 69.9, None, 70.0, 10.0, None]
        frr, far = masked_pairs.rates(labels, scores, 70.0)
        self.assertAlmostEqual(frr, 2 / 3)  # 69.9 and the face not found
        self.assertAlmostEqual(far, 1 / 3)  # 70 is accepted: the threshold is inclusive

    def make_lfw(self, root):
        images = os.path.join(root, "lfw", "images", "A")
        os.makedirs(images)
        ramp = np.tile(np.linspace(40, 220, 100, dtype=np.uint8)[:, None, None], (1, 100, 3))
        for name in ("A_0001.jpg", "A_0002.jpg", "A_0003.jpg"):
            cv2.imwrite(os.path.join(images, name), ramp)
        with open(os.path.join(root, "lfw", "pairs.tsv"), "w") as f:
            f.write("same\timage_a\timage_b\n1\tA/A_0001.jpg\tA/A_0002.jpg\n1\tA/A_0001.jpg\tA/A_0003.jpg\n")
        with open(os.path.join(root, "embed.jsonl"), "w") as f:
            for name in ("A/A_0001.jpg", "A/A_0002.jpg"):  # no face in A_0003
                f.write(json.dumps({"image": name, "faces": 1, "landmarks": face_landmarks().tolist()}) + "\n")
            f.write(json.dumps({"image": "A/A_0003.jpg", "faces": 0}) + "\n")

    def run_make(self, root, out, *extra):
        with open(os.devnull, "w") as null:
            stdout, sys.stdout = sys.stdout, null
            try:
                masked_pairs.main(["make", os.path.join(root, "lfw"), os.path.join(root, "embed.jsonl"),
                                   os.path.join(root, out), "--pairs", os.path.join(root, "lfw", "pairs.tsv"), *extra])
            finally:
                sys.stdout = stdout
        with open(os.path.join(root, out, "pairs.tsv")) as f:
            return list(csv.DictReader(f, delimiter="\t"))

    def test_the_selfie_is_masked_below_the_eyes_and_the_reference_is_not(self):
        with tempfile.TemporaryDirectory() as root:
            self.make_lfw(root)
            rows = self.run_make(root, "out")
            self.assertEqual([(r["image_a"], r["image_b"], r["masked"]) for r in rows],
                             [("A/A_0001.jpg", "A/A_0002.mask.jpg", "1"), ("A/A_0001.jpg", "A/A_0003.jpg", "0")])
            bare = cv2.imread(os.path.join(root, "out", "images", "A", "A_0002.jpg")).astype(int)
            masked = cv2.imread(os.path.join(root, "out", "images", "A", "A_0002.mask.jpg")).astype(int)
            self.assertLess(np.abs(masked[:30] - bare[:30]).mean(), 3)  # above the eyes: untouched
            self.assertGreater(np.abs(masked[70:90, 35:65] - bare[70:90, 35:65]).mean(), 10)  # the chin: covered
            self.run_make(root, "again")  # seeded: the same bytes
            self.assertEqual(read_bytes(root, "again", "images", "A", "A_0002.mask.jpg"),
                             read_bytes(root, "out", "images", "A", "A_0002.mask.jpg"))

    def test_paint_reference_masks_image_a_too(self):
        with tempfile.TemporaryDirectory() as root:
            self.make_lfw(root)
            rows = self.run_make(root, "out", "--paint-reference")
            self.assertEqual(rows[0]["image_a"], "A/A_0001.ref.jpg")
            self.assertTrue(os.path.exists(os.path.join(root, "out", "images", "A", "A_0001.ref.jpg")))
            self.assertEqual(rows[1]["image_a"], "A/A_0001.jpg")  # a pair left bare stays bare on both sides


class MeshEyes(unittest.TestCase):
    def test_mesh_points_map_back_to_the_image(self):
        box = {"x": 40.0, "y": 60.0, "width": 80.0, "height": 100.0}
        affine = mesh_eyes.crop_map(box)
        image_points = np.array([[80.0, 110.0], [5.0, 7.0], [300.0, 20.0]])
        crop_points = image_points * affine[0, 0] + affine[:, 2]
        self.assertTrue(np.allclose(crop_points[0], [96, 96]))  # the box's centre is the input's middle
        self.assertAlmostEqual(affine[0, 0], 192 / (100 * 1.5))  # the larger side, enlarged
        self.assertTrue(np.allclose(mesh_eyes.to_image(crop_points, affine), image_points))

    def test_each_method_is_measured_against_the_drawn_eye_distance(self):
        lm = face_landmarks(w=40.0)
        drawn = mesh_eyes.site_masks.eye_distance(lm)
        truth = [{"image": "a", "mask": "0", "eye_px": str(drawn)}, {"image": "b", "mask": "1", "eye_px": str(drawn)},
                 {"image": "c", "mask": "1", "eye_px": "10"}]  # c: no face found
        half = lm.copy()
        half[42:48] -= [drawn / 2, 0]  # the eyes slid to half their distance
        box = {"x": 0, "y": 0, "width": 2.6 * drawn, "height": 2.6 * drawn}
        embeds = {"a": {"landmarks": lm.tolist(), "box": box}, "b": {"landmarks": half.tolist(), "box": box}}
        result = mesh_eyes.ratios(truth, embeds, None)
        self.assertAlmostEqual(result["0"]["landmark68"][0], 1.0)
        self.assertAlmostEqual(result["1"]["landmark68"][0], 0.5)
        self.assertEqual([len(result["1"][m]) for m in ("landmark68", "box", "mesh")], [1, 1, 0])
        self.assertAlmostEqual(result["1"]["box"][0], 1.0)
        self.assertEqual(mesh_eyes.percentiles([]), [])


class MeshCrops(unittest.TestCase):
    template_points = np.array([[0.1, 0.2], [0.9, 0.2], [0.5, 0.6], [0.3, 0.9], [0.7, 0.9]])

    def faces(self):
        """Made-up bare faces at three places and sizes, the mesh points where the template says."""
        out = []
        for cx, w in ((50.0, 40.0), (120.0, 25.0), (300.0, 80.0)):
            lm = face_landmarks(cx=cx, cy=cx, w=w)
            to_image = cv2.invertAffineTransform(mesh_crops.backbones.chip_transform(lm))
            centre = mesh_crops.apply(to_image, [[0.5, 0.55]])[0]
            side = 1.3 / np.sqrt(abs(np.linalg.det(mesh_crops.backbones.chip_transform(lm)[:, :2])))
            box = {"x": centre[0] - side / 2, "y": centre[1] - side / 2, "width": side, "height": side}
            out.append((lm.tolist(), box, mesh_crops.apply(to_image, self.template_points)))
        return out

    def test_the_template_is_where_bare_faces_put_the_points_and_the_box(self):
        template = mesh_crops.fit_template(self.faces())
        self.assertEqual(template["faces"], 3)
        self.assertTrue(np.allclose(template["mesh"], self.template_points, atol=1e-6))
        box = template["box"]
        self.assertTrue(np.allclose([box["centre_x"], box["centre_y"], box["width"]], [0.5, 0.55, 1.3], atol=1e-6))

    def test_the_mesh_and_the_box_place_a_face_as_its_landmarks_do(self):
        faces = self.faces()
        template = mesh_crops.fit_template(faces)
        for landmarks, box, points in faces:
            by_landmarks = mesh_crops.backbones.chip_transform(landmarks)
            self.assertTrue(np.allclose(mesh_crops.mesh_transform(points, template), by_landmarks, atol=1e-6))
            by_box = mesh_crops.box_transform(box, template)  # scale and shift only: no rotation
            centre = [[box["x"] + box["width"] / 2, box["y"] + box["height"] / 2]]
            self.assertTrue(np.allclose(mesh_crops.apply(by_box, centre), mesh_crops.apply(by_landmarks, centre)))
            self.assertAlmostEqual(np.linalg.det(by_box[:, :2]), np.linalg.det(by_landmarks[:, :2]))

    def test_the_crop_puts_a_template_point_where_the_head_region_says(self):
        image = np.zeros((400, 400, 3), np.uint8)
        box = {"x": 150.0, "y": 100.0, "width": 120.0, "height": 120.0}
        template = {"box": {"centre_x": 0.5, "centre_y": 0.55, "width": 1.3}}
        cv2.circle(image, (210, 160), 3, (255, 255, 255), -1)  # the box's centre: template (0.5, 0.55)
        crop = mesh_crops.head_crop(image, mesh_crops.box_transform(box, template))
        y, x = np.unravel_index(np.argmax(crop[:, :, 0]), crop.shape[:2])
        x0, y0, x1, y1 = mesh_crops.backbones.HEAD
        self.assertLessEqual(abs(x - (0.5 - x0) / (x1 - x0) * 96), 1.5)
        self.assertLessEqual(abs(y - (0.55 - y0) / (y1 - y0) * 96), 1.5)
        far = {"x": 5000.0, "y": 5000.0, "width": 10.0, "height": 10.0}  # off the image: a black crop
        self.assertEqual(mesh_crops.head_crop(image, mesh_crops.box_transform(far, template)).max(), 0)

    def test_a_features_line_gets_the_new_regions_and_keeps_the_rest(self):
        row = {"image": "a.jpg", "faces": 1, "landmarks": [[1, 2]], "top": [9.0], "upper": [9.0], "lower": [9.0],
               "pipeline": "faceres/clip_110; crop head96-dlib68template; landmarks l68"}
        calls = []

        def featurize(path, box, place):
            calls.append((path, box["width"], place))
            return {"top": [0.123456789], "upper": [1.0], "lower": [2.0]}

        out = mesh_crops.rewrite(row, {"box": {"width": 7}}, "mesh", featurize)
        self.assertEqual(calls, [("a.jpg", 7, "mesh")])
        self.assertEqual((out["top"], out["upper"], out["lower"]), ([0.12346], [1.0], [2.0]))
        self.assertEqual(out["landmarks"], [[1, 2]])
        self.assertEqual(out["pipeline"], "faceres/clip_110; crop mesh-head96-dlib68template; landmarks l68")
        self.assertEqual(row["top"], [9.0])  # the source line is not changed
        empty = {"image": "b.jpg", "faces": 0}
        self.assertEqual(mesh_crops.rewrite(empty, None, "box", featurize), empty)
        with self.assertRaises(ValueError):  # a face the embed lines have no box for
            mesh_crops.rewrite(row, None, "box", featurize)

    def test_each_landmark_maps_to_the_mesh_point_at_its_place(self):
        order = np.random.default_rng(3).permutation(68)  # the mesh: the 68 landmarks in another order
        faces = []
        for cx, w in ((50.0, 40.0), (200.0, 60.0)):
            lm = face_landmarks(cx=cx, cy=cx, w=w)
            lm[58:68] += (0, 0.05 * w)  # the inner lip below the outer one: no two points at one place
            box = {"x": cx - w, "y": cx - w, "width": 2 * w, "height": 2 * w}
            faces.append((lm.tolist(), box, lm[order]))
        index68 = mesh_crops.fit_template(faces)["index68"]
        self.assertEqual([int(order[i]) for i in index68], list(range(68)))

    def test_the_judged_faces_follow_the_ppe_limits_by_each_rule(self):
        good, small, turned = [40, 0, 0, 0.8], [20, 0, 0, 0.8], [40, 60, 0, 0.8]
        self.assertTrue(mesh_crops.within_ppe(good))
        for bad in (small, turned, [40, 0, -31, 0.8], [40, 0, 0, 0.5]):
            self.assertFalse(mesh_crops.within_ppe(bad), bad)
        quality = {"a": {"landmarks68": good, "mesh": good}, "b": {"landmarks68": small, "mesh": good},
                   "c": {"landmarks68": good, "mesh": turned}, "d": {"landmarks68": small, "mesh": small}}
        predictions = [["a", 1, 0.9], ["b", 1, 0.2], ["c", 0, 0.6], ["d", 0, 0.1], ["e", 1, 0.9]]  # e: not measured
        table = {r["rule"]: r for r in mesh_crops.judged_table(quality, predictions)}
        self.assertEqual([table[r]["n"] for r in mesh_crops.RULES], [2, 2, 3, 1])
        shipped = table["landmarks68 (shipped)"]  # a (masked, 0.9) and c (bare, 0.6)
        self.assertEqual((shipped["masked"], shipped["bare"], shipped["roc_auc"]), (1, 1, 1.0))
        self.assertEqual((shipped["masked_flagged_at_50"], shipped["bare_flagged_at_50"]), (1.0, 1.0))
        self.assertEqual(table["mesh"]["roc_auc"], None)  # a and b: masked only
        self.assertEqual(table["either"]["roc_auc"], 0.5)  # a 0.9, b 0.2 masked; c 0.6 bare


class FitTable(unittest.TestCase):
    def test_only_faces_within_the_ppe_limits_count_as_within(self):
        good = face(80, 40)["quality"]
        self.assertTrue(fit_table.within_ppe(good))
        for change in ({"eye_distance_px": 29.9}, {"pitch": 31.0}, {"yaw": -46.0}, {"sharpness": 1.0}):
            self.assertFalse(fit_table.within_ppe(dict(good, **change)), change)

    def test_a_keep_list_picks_the_rows_and_the_limit_is_strict(self):
        rows = [dict(face(80, 40), image="a.jpg"), dict(face(80, 12), image="b.jpg"), {"faces": 0, "image": "c.jpg"}]
        rows[0]["quality"]["landmark_fit"], rows[1]["quality"]["landmark_fit"] = 0.55, 0.30
        with tempfile.TemporaryDirectory() as root:
            analyze, keep = os.path.join(root, "a.jsonl"), os.path.join(root, "keep.list")
            with open(analyze, "w") as f:
                f.write("".join(json.dumps(r) + "\n" for r in rows))
            with open(keep, "w") as f:
                f.write("b.jpg\nc.jpg\n")
            label, qualities = fit_table.read_set("set=" + analyze)
            self.assertEqual((label, len(qualities)), ("set", 2))
            self.assertEqual(len(fit_table.read_set("set=%s,%s" % (analyze, keep))[1]), 1)
            row = fit_table.table_row(label, qualities, 0.55).split(" | ")
            self.assertEqual(row[-1], "1 (50.0 %) / 0 (0.0 %) |")  # 0.55 is not under 0.55; b is too small


if __name__ == "__main__":
    unittest.main()
