#!/usr/bin/env node
// Golden outputs for the face-api nets converted by tools/convert/faceapi_nets.py.
// Runs @vladmandic/face-api itself (dist/face-api.node-wasm.js, tfjs cpu backend, offline)
// with the weights of the unpacked npm package, on the inputs described in
// tests/golden/README.md, and writes tests/golden/<name>.json (+ <name>.face.png).
//
//   node tools/reference/golden_faceapi.js [--npm-dir DIR] [--out tests/golden] [--only NAME]...
//
// DIR defaults to $FACEAUTH_CACHE/npm or ~/.cache/faceauth/npm.

'use strict';

const fs = require('fs');
const path = require('path');
const Module = require('module');

// face-api's dist file lives outside this folder: let its require('@tensorflow/...') find
// the copies installed here, so that both share one tfjs engine.
process.env.NODE_PATH = path.join(__dirname, 'node_modules');
Module._initPaths();

const tf = require('@tensorflow/tfjs');
const jpeg = require('jpeg-js');
const { PNG } = require('pngjs');

function parseArgs() {
  const cache = process.env.FACEAUTH_CACHE
    || path.join(process.env.XDG_CACHE_HOME || path.join(require('os').homedir(), '.cache'), 'faceauth');
  const args = { npmDir: path.join(cache, 'npm'), out: path.join(__dirname, '..', '..', 'tests', 'golden'), only: [] };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--npm-dir') args.npmDir = argv[++i];
    else if (argv[i] === '--out') args.out = argv[++i];
    else if (argv[i] === '--only') args.only.push(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return args;
}

// --- images: Uint8Array RGB, row-major [h][w][3] -----------------------------------------
function patternImage(h, w) {
  const data = new Uint8Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = (x * 7 + y * 13 + c * 29 + ((x * y) % 17)) % 256;
    }
  }
  return { data, width: w, height: h };
}

function readJpeg(file) {
  const img = jpeg.decode(fs.readFileSync(file), { useTArray: true, formatAsRGBA: true });
  const data = new Uint8Array(img.width * img.height * 3);
  for (let i = 0; i < img.width * img.height; i++) {
    for (let c = 0; c < 3; c++) data[i * 3 + c] = img.data[i * 4 + c];
  }
  return { data, width: img.width, height: img.height };
}

function writePng(file, img) {
  const png = new PNG({ width: img.width, height: img.height, colorType: 2, inputColorType: 2, bitDepth: 8 });
  png.data = Buffer.from(img.data);
  fs.writeFileSync(file, PNG.sync.write(png, { colorType: 2, inputColorType: 2 }));
}

function readPng(file) {
  const png = PNG.sync.read(fs.readFileSync(file));
  const data = new Uint8Array(png.width * png.height * 3);
  for (let i = 0; i < png.width * png.height; i++) {
    for (let c = 0; c < 3; c++) data[i * 3 + c] = png.data[i * 4 + c];
  }
  return { data, width: png.width, height: png.height };
}

const toTensor = (img) => tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');

// Crop [x, y, w, h] (integers, clipped), pad to a square with zeros and resize it to size x
// size the way face-api's NetInput.toBatchTensor does for tensor inputs (padToSquare, then
// tf.image.resizeBilinear without align corners / half pixel centres); rounded to 8 bits.
function cropSquareResize(faceapi, img, box, size, centre) {
  return tf.tidy(() => {
    const [x, y, w, h] = box;
    let t = tf.slice3d(toTensor(img), [y, x, 0], [h, w, 3]).expandDims(0);
    t = faceapi.padToSquare(t, centre);
    if (t.shape[1] !== size) t = tf.image.resizeBilinear(t, [size, size], false, false);
    const data = Uint8Array.from(t.round().clipByValue(0, 255).dataSync());
    return { data, width: size, height: size };
  });
}

// --- outputs -------------------------------------------------------------------------------
function fmt(v) {
  if (!Number.isFinite(v)) throw new Error(`non-finite output ${v}`);
  if (v === 0) return 0;
  return Number(v.toPrecision(8));
}

async function asOutput(t, shape) {
  const data = Array.from(await t.data()).map(fmt);
  if (data.length !== shape.reduce((a, b) => a * b, 1)) throw new Error('shape mismatch');
  return { shape, data };
}

async function main() {
  const args = parseArgs();
  const pkg = path.join(args.npmDir, 'face-api', 'package');
  const faceapi = require(path.join(pkg, 'dist', 'face-api.node-wasm.js'));
  await tf.setBackend('cpu');
  await tf.ready();
  if (faceapi.tf.getBackend() !== 'cpu') throw new Error('face-api does not share the tfjs engine');
  const modelDir = path.join(pkg, 'model');
  const { nets } = faceapi;
  await nets.faceRecognitionNet.loadFromDisk(modelDir);
  await nets.faceLandmark68Net.loadFromDisk(modelDir);
  await nets.tinyFaceDetector.loadFromDisk(modelDir);
  await nets.ssdMobilenetv1.loadFromDisk(modelDir);

  const sample1 = readJpeg(path.join(pkg, 'demo', 'sample1.jpg'));
  const sample2 = readJpeg(path.join(pkg, 'demo', 'sample2.jpg'));

  // The face crops follow face-api's own pipeline on sample1.jpg: SSD detection (largest
  // face) -> landmark crop = detection box; recognition crop = alignedRect (landmarks'
  // bounding box padded by 20 %), both padded to a centred square and resized.
  const sample1Tensor = toTensor(sample1);
  const found = await faceapi.detectAllFaces(sample1Tensor, new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5 }))
    .withFaceLandmarks();
  sample1Tensor.dispose();
  if (!found.length) throw new Error('no face found in sample1.jpg');
  found.sort((a, b) => b.detection.box.area - a.detection.box.area);
  const face = found[0];
  const clipBox = (b) => {
    const c = b.clipAtImageBorders(sample1.width, sample1.height);
    return [c.x, c.y, c.width, c.height];
  };
  const detBox = clipBox(face.detection.box);
  const alignedBox = clipBox(face.alignedRect.box);

  const models = {
    faceapi_recognition: {
      size: 150,
      tolerance: { cosine: 0.99999 },
      faceImage: () => cropSquareResize(faceapi, sample1, alignedBox, 150, true),
      faceNote: `sample1.jpg, face-api alignedRect [x, y, w, h] = [${alignedBox}], centred zero padding to a square, bilinear resize (tf.image.resizeBilinear, no align corners, no half-pixel centres)`,
      run: async (netInput) => {
        const out = nets.faceRecognitionNet.forwardInput(netInput);
        const r = { embedding: await asOutput(out, [1, 128]) };
        out.dispose();
        return r;
      },
    },
    faceapi_landmark68: {
      size: 112,
      tolerance: { max_abs: 1e-4 },
      faceImage: () => cropSquareResize(faceapi, sample1, detBox, 112, true),
      faceNote: `sample1.jpg, SSD detection box [x, y, w, h] = [${detBox}], centred zero padding to a square, bilinear resize (tf.image.resizeBilinear, no align corners, no half-pixel centres)`,
      run: async (netInput) => {
        const out = nets.faceLandmark68Net.runNet(netInput);
        const r = { landmarks: await asOutput(out, [1, 136]) };
        out.dispose();
        return r;
      },
    },
    faceapi_tinyface: {
      size: 416,
      tolerance: { max_abs: 1e-4 },
      faceImage: () => cropSquareResize(faceapi, sample2, [0, 0, sample2.width, sample2.height], 416, false),
      faceNote: 'whole sample2.jpg, zero padding at the bottom/right to a square (as face-api does for detectors), bilinear resize to 416 (tf.image.resizeBilinear, no align corners, no half-pixel centres)',
      run: async (netInput) => {
        const out = nets.tinyFaceDetector.forwardInput(netInput, 416); // [1, 13, 13, 25] NHWC
        const nchw = tf.transpose(out, [0, 3, 1, 2]);
        const r = { grid: await asOutput(nchw, [1, 25, 13, 13]) };
        out.dispose();
        nchw.dispose();
        return r;
      },
    },
    faceapi_ssd: {
      size: 512,
      tolerance: { max_abs: 1e-4 },
      faceImage: () => cropSquareResize(faceapi, sample2, [0, 0, sample2.width, sample2.height], 512, false),
      faceNote: 'whole sample2.jpg, zero padding at the bottom/right to a square (as face-api does for detectors), bilinear resize to 512 (tf.image.resizeBilinear, no align corners, no half-pixel centres)',
      run: async (netInput) => {
        const { boxes, scores } = nets.ssdMobilenetv1.forwardInput(netInput);
        const n = scores[0].shape[0];
        const r = { boxes: await asOutput(boxes[0], [1, n, 4]), scores: await asOutput(scores[0], [1, n]) };
        boxes.forEach((t) => t.dispose());
        scores.forEach((t) => t.dispose());
        return r;
      },
    },
  };

  fs.mkdirSync(args.out, { recursive: true });
  for (const [name, m] of Object.entries(models)) {
    if (args.only.length && !args.only.includes(name)) continue;
    const pngName = `${name}.face.png`;
    writePng(path.join(args.out, pngName), m.faceImage());
    const inputs = [
      { name: 'pattern', input: 'pattern', image: patternImage(m.size, m.size) },
      // read back from the PNG so that the golden is computed on exactly the stored pixels
      { name: 'face', input: pngName, image: readPng(path.join(args.out, pngName)), note: m.faceNote },
    ];
    const cases = [];
    for (const c of inputs) {
      const t = toTensor(c.image);
      const netInput = await faceapi.toNetInput(t);
      const outputs = await m.run(netInput);
      t.dispose();
      const entry = { name: c.name, input: c.input };
      if (c.note) entry.note = c.note;
      entry.outputs = outputs;
      cases.push(entry);
    }
    const doc = {
      model: name,
      tolerance: m.tolerance,
      reference: `@vladmandic/face-api ${faceapi.version} (dist/face-api.node-wasm.js), @tensorflow/tfjs ${tf.version.tfjs} cpu backend`,
      cases,
    };
    fs.writeFileSync(path.join(args.out, `${name}.json`), `${JSON.stringify(doc)}\n`);
    console.log(`${name}: ${cases.length} cases`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
