// @ts-check
// Photos: read, decoded and preprocessed here (a 40-megapixel photo never blocks the page), then
// classified by the current model.

import { loadApi, wasm } from './core.js';
import { predictInputs } from './runs.js';

/** @typedef {import('../js/protocol.js').Requests} Requests */
/** @typedef {import('../js/protocol.js').PhotoReply} PhotoReply */
/** @typedef {import('../js/protocol.js').PhotoView} PhotoView */

/**
 * Every preprocessing step of a photo, and the model's probabilities.
 * @param {Requests['photo']} msg
 * @returns {Promise<PhotoReply>}
 */
export async function photo({ file, mode }) {
  await loadApi();
  const bytes = new Uint8Array(await file.arrayBuffer());
  return withPrediction(wasm().preprocessPhoto(bytes, mode));
}

/**
 * One camera frame: preprocessed as a photo is, then the current model's probabilities.
 * @param {Requests['camera-frame']} msg
 */
export async function cameraFrame({ width, height, rgba, mode }) {
  await loadApi();
  const started = performance.now();
  const reply = await withPrediction(wasm().preprocessFrame(width, height, rgba, mode));
  return { ...reply, millis: performance.now() - started };
}

/**
 * Preprocessed steps with the current model's probabilities, or why there are none.
 * @param {PhotoView} steps
 * @returns {Promise<PhotoReply>}
 */
async function withPrediction(steps) {
  if (steps.unclassifiable) return { ...steps, probs: null, noPrediction: 'blank' };
  const { probs, noPrediction } = await predictInputs([steps.input]);
  return { ...steps, probs: probs?.[0] ?? null, noPrediction };
}

/**
 * The current model's probabilities for inputs already preprocessed.
 * @param {Requests['predict-inputs']} msg
 */
export async function predictMany({ inputs }) {
  for (const input of inputs) {
    if (input.length !== 784) throw new Error(`an image has 784 pixels, got ${input.length}`);
  }
  return predictInputs(inputs);
}

/** What travels back without a copy: the images' pixels and the probabilities. */
export const photoTransfer = (/** @type {PhotoReply} */ reply) => [
  ...[reply.square, reply.resized, reply.grayscale, reply.inverted].map((i) => i.rgba.buffer),
  ...(reply.probs ? [reply.probs.buffer] : []),
];
