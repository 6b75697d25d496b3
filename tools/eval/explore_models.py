#!/usr/bin/python3
"""Model and alignment comparison on LFW View 1 (docs/accuracy.md), outside the C++ engine:
the detector boxes and 68 landmarks come from `faceauth embed`, the chips are cut here with
OpenCV and run through the converted ONNX models with OpenCV's dnn (the same library the
engine uses). Exploration only: the shipped pipeline is measured with `faceauth eval`.

  cd LFW/images && faceauth embed --list ALL.txt --align dlib5 > base.jsonl
  tools/eval/explore_models.py LFW base.jsonl MODEL_DIR VARIANT [--centre]

VARIANT: fr5 / fr68 (face-api ResNet, dlib 5-point or 68-point template, 150 px, padding
0.25), fr68flip, mfnarc / mfnbox (human mobilefacenet, ArcFace 112 template or detector box
x1.4), resbox (human faceres descriptor on the detector box x1.4, 224 px), and any model
MODEL_DIR has a manifest for, as NAME:arc|box224 (e.g. an extra human-models net converted
with tools/convert/convert_all.py --manifests DIR). --centre subtracts the mean descriptor
(of the pairs_train images) before cosine, which descriptors without a zero-mean training
loss need. Prints train-best accuracy and threshold, test accuracy at that threshold, test
AUC, and TAR at FAR 1e-2..1e-4 over every genuine and impostor pair of the images.
"""
import argparse
import json

import cv2
import numpy as np

from calibrate import pair_scores  # genuine / impostor similarities of every pair of images

cv2.setNumThreads(1)

DLIB5 = np.array([[0.8595674595992, 0.2134981538014], [0.6460604764104, 0.2289674387677],
                  [0.1205750620789, 0.2137274526848], [0.3340850613712, 0.2290642403242],
                  [0.4901123135679, 0.6277975316475]])
MX = [0.000213256, 0.0752622, 0.18113, 0.29077, 0.393397, 0.586856, 0.689483, 0.799124,
      0.904991, 0.98004, 0.490127, 0.490127, 0.490127, 0.490127, 0.36688, 0.426036,
      0.490127, 0.554217, 0.613373, 0.121737, 0.187122, 0.265825, 0.334606, 0.260918,
      0.182743, 0.645647, 0.714428, 0.793132, 0.858516, 0.79751, 0.719335, 0.254149,
      0.340985, 0.428858, 0.490127, 0.551395, 0.639268, 0.726104, 0.642159, 0.556721,
      0.490127, 0.423532, 0.338094, 0.290379, 0.428096, 0.490127, 0.552157, 0.689874,
      0.553364, 0.490127, 0.42689]
MY = [0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891,
      0.0187482, 0.038915, 0.106454, 0.203352, 0.307009, 0.409805, 0.515625, 0.587326,
      0.609345, 0.628106, 0.609345, 0.587326, 0.216423, 0.178758, 0.179852, 0.231733,
      0.245099, 0.244077, 0.231733, 0.179852, 0.178758, 0.216423, 0.244077, 0.245099,
      0.780233, 0.745405, 0.727388, 0.742578, 0.727388, 0.745405, 0.780233, 0.864805,
      0.902192, 0.909281, 0.902192, 0.864805, 0.784792, 0.778746, 0.785343, 0.778746,
      0.784792, 0.824182, 0.831803, 0.824182]
IDX68 = [i for i in range(17, 68) if not (55 <= i <= 59 or 65 <= i <= 67 or 17 <= i <= 26)]
T68 = np.array([[MX[i - 17], MY[i - 17]] for i in IDX68])
# ArcFace 112x112 template (insightface): left eye, right eye, nose, left mouth, right mouth
ARC = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]])


def sim_transform(src, dst):
    src = np.asarray(src, float); dst = np.asarray(dst, float)
    ms, md = src.mean(0), dst.mean(0)
    d, u = src - ms, dst - md
    n = (d ** 2).sum()
    a = (d[:, 0] * u[:, 0] + d[:, 1] * u[:, 1]).sum() / n
    b = (d[:, 0] * u[:, 1] - d[:, 1] * u[:, 0]).sum() / n
    return np.array([[a, -b, md[0] - (a * ms[0] - b * ms[1])], [b, a, md[1] - (b * ms[0] + a * ms[1])]])


def chip_dlib5(img, lm, size=150, pad=0.25):
    src = lm[[45, 42, 36, 39, 33]]
    dst = (DLIB5 + pad) / (2 * pad + 1) * size
    return cv2.warpAffine(img, sim_transform(src, dst), (size, size), flags=cv2.INTER_LINEAR)


def chip_dlib68(img, lm, size=150, pad=0.25):
    src = lm[IDX68]
    dst = (T68 + pad) / (2 * pad + 1) * size
    return cv2.warpAffine(img, sim_transform(src, dst), (size, size), flags=cv2.INTER_LINEAR)


def arc_points(lm):
    le = lm[36:42].mean(0); re = lm[42:48].mean(0)
    return np.array([le, re, lm[30], lm[48], lm[54]])


def chip_arc(img, lm, size=112, scale=1.0):
    dst = (ARC - 56.0) * scale + 56.0
    dst = dst * size / 112.0
    return cv2.warpAffine(img, sim_transform(arc_points(lm), dst), (size, size), flags=cv2.INTER_LINEAR)


def chip_box(img, box, size, enlarge=1.4):
    cx = box['x'] + box['width'] / 2; cy = box['y'] + box['height'] / 2
    side = max(box['width'], box['height']) * enlarge
    s = size / side
    m = np.array([[s, 0, size / 2 - cx * s], [0, s, size / 2 - cy * s]])
    return cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR)


class Net:
    def __init__(self, model_dir, name, output=None):
        man = json.load(open(f'{model_dir}/{name}.json'))
        self.net = cv2.dnn.readNetFromONNX(f'{model_dir}/{man["file"]}')
        self.inp = man['input']
        self.out = output or man['outputs'][0]['name']

    def run(self, chips):
        mean = self.inp['mean']; sc = self.inp['scale']
        rgb = self.inp['color'] == 'RGB'
        outs = []
        for c in chips:
            blob = cv2.dnn.blobFromImage(c, sc, (c.shape[1], c.shape[0]), [m for m in mean], swapRB=rgb)
            # blobFromImage: (img - mean) * scale, mean in the swapped order
            self.net.setInput(blob, self.inp['name'])
            outs.append(self.net.forward(self.out).ravel().copy())
        return np.array(outs)


def load_landmarks(path):
    rows = {}
    for line in open(path):
        r = json.loads(line)
        if 'landmarks' in r:
            rows[r['image']] = (np.array(r['landmarks'], float), r['box'])
    return rows


def pairs(lfw, name):
    out = []
    for line in list(open(f'{lfw}/{name}'))[1:]:
        s, a, b = line.strip().split('\t')
        out.append((int(s), a, b))
    return out


def norm(e):
    return e / np.linalg.norm(e, axis=1, keepdims=True)

def scores_for(names, emb, plist):
    ix = {n: i for i, n in enumerate(names)}
    return np.array([float(emb[ix[a]] @ emb[ix[b]]) for _, a, b in plist]), np.array([s for s, _, _ in plist])

def best_thr(s, y):
    c = np.sort(s); best = (0, 0)
    for t in c:
        acc = ((s >= t) == (y == 1)).mean()
        if acc > best[0]: best = (acc, t)
    return best

def auc(s, y):
    pos = s[y == 1]; neg = s[y == 0]
    order = np.argsort(np.concatenate([pos, neg])); ranks = np.empty(len(order)); ranks[order] = np.arange(1, len(order) + 1)
    return (ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))

def matrix_stats(names, emb):
    gen, imp = pair_scores(names, emb)
    imp_sorted = np.sort(imp)[::-1]
    out = {'genuine': int(len(gen)), 'impostor': int(len(imp))}
    for far in (1e-2, 1e-3, 1e-4):
        t = imp_sorted[int(far * len(imp))]
        out[f'TAR@{far:g}'] = round(float((gen > t).mean()) * 100, 2)
        out[f'thr@{far:g}'] = round(float(t), 4)
    return out

def evaluate(lfw, names, emb):
    emb = norm(emb)
    tr = pairs(lfw, 'pairs_train.tsv'); te = pairs(lfw, 'pairs_test.tsv')
    s1, y1 = scores_for(names, emb, tr); s2, y2 = scores_for(names, emb, te)
    acc_tr, t = best_thr(s1, y1)
    acc_te = ((s2 >= t) == (y2 == 1)).mean()
    r = {'train_best': round(acc_tr * 100, 2), 'thr': round(float(t), 4), 'test@train_thr': round(acc_te * 100, 2),
         'test_best': round(best_thr(s2, y2)[0] * 100, 2), 'auc_test': round(auc(s2, y2), 4)}
    r.update(matrix_stats(names, emb))
    return r



def chip_for(variant, img, lm, box):
    kind, _, crop = variant.partition(':')
    if kind in ('fr5',): return chip_dlib5(img, lm)
    if kind in ('fr68', 'fr68flip'): return chip_dlib68(img, lm)
    if kind == 'mfnarc' or crop == 'arc': return chip_arc(img, lm)
    if kind == 'mfnbox': return chip_box(img, box, 112)
    if kind == 'resbox' or crop == 'box224': return chip_box(img, box, 224)
    raise SystemExit('unknown variant ' + variant)


def net_for(model_dir, variant):
    kind = variant.partition(':')[0]
    if kind.startswith('fr'): return Net(model_dir, 'faceapi_recognition')
    if kind.startswith('mfn'): return Net(model_dir, 'hm_mobilefacenet')
    if kind == 'resbox': return Net(model_dir, 'hm_faceres', 'descriptor')
    return Net(model_dir, kind)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('lfw'); parser.add_argument('landmarks'); parser.add_argument('model_dir')
    parser.add_argument('variant'); parser.add_argument('--centre', action='store_true')
    args = parser.parse_args()
    rows = load_landmarks(args.landmarks)
    names = sorted(rows)
    net = net_for(args.model_dir, args.variant)
    embs = []
    for n in names:
        img = cv2.imread(f'{args.lfw}/images/{n}')
        lm, box = rows[n]
        c = chip_for(args.variant, img, lm, box)
        e = norm(net.run([c, cv2.flip(c, 1)] if args.variant == 'fr68flip' else [c]))
        embs.append(e.sum(0))
    emb = norm(np.array(embs))
    if args.centre:
        train = set()
        for _, a, b in pairs(args.lfw, 'pairs_train.tsv'): train |= {a, b}
        emb = emb - emb[[i for i, n in enumerate(names) if n in train]].mean(0)
    print(json.dumps({'variant': args.variant, 'centre': args.centre, **evaluate(args.lfw, names, emb)}))


if __name__ == '__main__':
    main()
