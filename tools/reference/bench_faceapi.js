#!/usr/bin/env node
// Speed of the reference pipeline: @vladmandic/face-api in Node.js on the tfjs WebAssembly
// backend, one thread, offline (wasm binaries from this folder's node_modules, face-api and its
// weights from the npm package unpacked by scripts/setup.sh). The counterpart of
// `faceauth bench`; scripts/bench.sh runs both and prints them side by side.
//
//   node tools/reference/bench_faceapi.js IMAGE [--repeat N] [--warmup N] [--detector tiny|ssd]
//                                         [--min-score S] [--npm-dir DIR]
//
// Per iteration, each stage timed on its own (performance.now, ms), the same calls face-api's
// detectAllFaces(img, opts).withFaceLandmarks().withFaceDescriptors() makes, in the same order:
//   decode     jpeg-js decode of the file bytes (RGB) + tf.tensor3d (int32)
//   detect     detectAllFaces: TinyFaceDetector, inputSize 416, scoreThreshold 0.5 (or SSD
//              MobileNet v1, minConfidence 0.5)
//   landmarks  DetectAllFaceLandmarksTask: crop of the detection box + faceLandmark68Net
//              (+ shift to image coordinates and alignedRect)
//   align      landmarks.align(null, {useDlibAlignment: true}) + extractFaceTensors: face-api's
//              "aligned" face is an axis-parallel crop (no rotation)
//   embed      faceRecognitionNet.computeFaceDescriptor on that crop (pad to square, resize to
//              150, normalise, ResNet-34, read back the 128 floats)
//   align_embed  align + embed of the same iteration
//   total      decode .. embed, one clock
// Writes one JSON object to stdout; progress and the sanity line go to stderr. Exits non-zero
// when the image has no face.

'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const Module = require('module');

// face-api's dist file lives outside this folder: let its require('@tensorflow/...') find
// the copies installed here, so that both share one tfjs engine and one wasm backend.
process.env.NODE_PATH = path.join(__dirname, 'node_modules');
Module._initPaths();

// Record which .wasm binary the backend really reads (Emscripten reads it with fs in Node).
const wasmFilesRead = [];
for (const name of ['readFileSync', 'readFile']) {
  const original = fs[name];
  fs[name] = function patched(file, ...rest) {
    if (typeof file === 'string' && file.endsWith('.wasm')) wasmFilesRead.push(file);
    return original.call(this, file, ...rest);
  };
}
const originalPromisesReadFile = fs.promises.readFile;
fs.promises.readFile = function patched(file, ...rest) {
  if (typeof file === 'string' && file.endsWith('.wasm')) wasmFilesRead.push(file);
  return originalPromisesReadFile.call(this, file, ...rest);
};

const tf = require('@tensorflow/tfjs');
const wasm = require('@tensorflow/tfjs-backend-wasm');
const jpeg = require('jpeg-js');

function parseArgs() {
  const cache = process.env.FACEAUTH_CACHE
    || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'faceauth');
  const args = { image: null, repeat: 30, warmup: 5, detector: 'tiny', minScore: 0.5, npmDir: path.join(cache, 'npm') };
  const argv = process.argv.slice(2);
  const int = (v, name) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} wants a non-negative integer, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--repeat') args.repeat = int(argv[++i], a);
    else if (a === '--warmup') args.warmup = int(argv[++i], a);
    else if (a === '--detector') args.detector = argv[++i];
    else if (a === '--min-score') args.minScore = Number(argv[++i]);
    else if (a === '--npm-dir') args.npmDir = argv[++i];
    else if (a.startsWith('--')) throw new Error(`unknown argument ${a}`);
    else if (args.image === null) args.image = a;
    else throw new Error(`unexpected argument ${a}`);
  }
  if (!args.image) {
    throw new Error('usage: bench_faceapi.js IMAGE [--repeat N] [--warmup N] [--detector tiny|ssd] [--min-score S] [--npm-dir DIR]');
  }
  if (!['tiny', 'ssd'].includes(args.detector)) throw new Error(`--detector is tiny or ssd, not ${args.detector}`);
  if (args.repeat < 1) throw new Error('--repeat must be at least 1');
  return args;
}

// Same definition as `faceauth bench` (src/cli/batch.cpp): nearest rank, the sorted sample at
// index round(q * (n - 1)).
function percentile(values, q) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(q * (s.length - 1) + 0.5)];
}
const round2 = (v) => Math.round(v * 100) / 100;

async function setUpWasm() {
  const dist = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  wasm.setWasmPaths(`${dist}${path.sep}`); // a local folder: nothing is downloaded
  // One thread. Node builds of tfjs-backend-wasm 4.x never pick the threaded binary
  // (WASM_HAS_MULTITHREAD_SUPPORT is false under Node); say so explicitly anyway, so that the
  // non-threaded SIMD binary is the one loaded, and cap XNNPACK's pool at one thread.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  wasm.setThreadsCount(1);
  if (!(await tf.setBackend('wasm'))) throw new Error('the tfjs wasm backend did not initialise');
  await tf.ready();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const expected = simd ? 'tfjs-backend-wasm-simd.wasm' : 'tfjs-backend-wasm.wasm';
  const binary = wasmFilesRead.length ? path.basename(wasmFilesRead[wasmFilesRead.length - 1]) : expected;
  return {
    backend: tf.getBackend(),
    wasmBinary: binary,
    wasmBinaryVerified: wasmFilesRead.length > 0,
    simd: binary.includes('simd'),
    threaded: binary.includes('threaded'),
    threads: wasm.getThreadsCount(),
  };
}

async function main() {
  const args = parseArgs();
  const pkg = path.join(args.npmDir, 'face-api', 'package');
  const distFile = path.join(pkg, 'dist', 'face-api.node-wasm.js');
  if (!fs.existsSync(distFile)) throw new Error(`${distFile} is missing: run scripts/setup.sh first`);
  const bytes = fs.readFileSync(args.image);

  const backendInfo = await setUpWasm();
  const faceapi = require(distFile);
  if (faceapi.tf.getBackend() !== 'wasm') throw new Error('face-api does not share the tfjs engine');
  const modelDir = path.join(pkg, 'model');
  const { nets } = faceapi;
  const detectorNet = args.detector === 'tiny' ? nets.tinyFaceDetector : nets.ssdMobilenetv1;
  await detectorNet.loadFromDisk(modelDir);
  await nets.faceLandmark68Net.loadFromDisk(modelDir);
  await nets.faceRecognitionNet.loadFromDisk(modelDir);
  const options = args.detector === 'tiny'
    ? new faceapi.TinyFaceDetectorOptions({ inputSize: 416, scoreThreshold: args.minScore })
    : new faceapi.SsdMobilenetv1Options({ minConfidence: args.minScore });

  const stages = ['decode', 'detect', 'landmarks', 'align', 'embed', 'align_embed', 'total'];
  const samples = Object.fromEntries(stages.map((s) => [s, []]));
  let first = null;
  const tensorsBefore = tf.memory().numTensors;

  for (let i = 0; i < args.warmup + args.repeat; i++) {
    const t0 = performance.now();
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false });
    const input = tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
    const t1 = performance.now();

    // = DetectAllFacesTask.runAndExtendWithFaceDetections(), what .withFaceLandmarks() awaits
    const detections = (await faceapi.detectAllFaces(input, options)).map((d) => faceapi.extendWithFaceDetection({}, d));
    const t2 = performance.now();
    if (!detections.length) {
      input.dispose();
      throw Object.assign(new Error(`no face found in ${args.image}`), { noFace: true });
    }

    const withLandmarks = await new faceapi.DetectAllFaceLandmarksTask(Promise.resolve(detections), input, false);
    const t3 = performance.now();

    // ComputeAllFaceDescriptorsTask.run, split in two at the crop
    const rects = withLandmarks.map((r) => r.landmarks.align(null, { useDlibAlignment: true }));
    const faces = await faceapi.extractFaceTensors(input, rects);
    const t4 = performance.now();
    const descriptors = await Promise.all(faces.map((f) => nets.faceRecognitionNet.computeFaceDescriptor(f)));
    const t5 = performance.now();
    faces.forEach((f) => f.dispose());
    input.dispose();

    if (first === null) {
      const det = withLandmarks[0].detection;
      first = {
        faces: detections.length,
        width: img.width,
        height: img.height,
        score: det.score,
        box: [det.box.x, det.box.y, det.box.width, det.box.height].map((v) => Math.round(v * 10) / 10),
        landmarks: withLandmarks[0].landmarks.positions.length,
        descriptorLength: descriptors[0].length,
        descriptorNorm: Math.hypot(...descriptors[0]),
      };
      if (first.descriptorLength !== 128 || !Number.isFinite(first.descriptorNorm) || first.descriptorNorm === 0) {
        throw new Error(`bad descriptor: length ${first.descriptorLength}, norm ${first.descriptorNorm}`);
      }
    }
    if (i < args.warmup) continue;
    samples.decode.push(t1 - t0);
    samples.detect.push(t2 - t1);
    samples.landmarks.push(t3 - t2);
    samples.align.push(t4 - t3);
    samples.embed.push(t5 - t4);
    samples.align_embed.push(t5 - t3);
    samples.total.push(t5 - t0);
  }
  const leaked = tf.memory().numTensors - tensorsBefore;

  console.error(`face-api ${faceapi.version}: ${first.faces} face(s) in ${args.image} (${first.width}x${first.height}), `
    + `score ${first.score.toFixed(3)}, box [${first.box}], ${first.landmarks} landmarks, `
    + `descriptor length ${first.descriptorLength} (L2 norm ${first.descriptorNorm.toFixed(3)}); `
    + `wasm binary ${backendInfo.wasmBinary}${backendInfo.wasmBinaryVerified ? '' : ' (inferred, read not observed)'}, `
    + `${backendInfo.threads} thread(s); tensors leaked per run: ${leaked}`);

  const out = {
    runtime: 'tfjs-wasm',
    backend: backendInfo.backend,
    threads: backendInfo.threads,
    simd: backendInfo.simd,
    wasm_binary: backendInfo.wasmBinary,
    image: args.image,
    width: first.width,
    height: first.height,
    detector: args.detector === 'tiny' ? 'TinyFaceDetector inputSize 416' : 'SsdMobilenetv1',
    min_score: args.minScore,
    faces: first.faces,
    descriptor_length: first.descriptorLength,
    repeat: args.repeat,
    warmup: args.warmup,
    versions: { 'face-api': faceapi.version, tfjs: tf.version.tfjs, 'tfjs-backend-wasm': wasm.version_wasm, node: process.versions.node },
    ms: {},
  };
  for (const s of stages) {
    const v = samples[s];
    out.ms[s] = { median: round2(percentile(v, 0.5)), p90: round2(percentile(v, 0.9)), min: round2(Math.min(...v)) };
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

main().catch((e) => {
  console.error(e && e.message ? e.message : e);
  process.exit(e && e.noFace ? 2 : 1);
});
