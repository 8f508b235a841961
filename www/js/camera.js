// @ts-check
// "Use camera": the live picture, each frame preprocessed by the core like a photo (crop, 28x28,
// grayscale, invert) and classified, continuously; frames go to the page's own worker only.

import { $, classNames, drawImage, pct, probabilityItems } from './dom.js';
import { noPredictionReason } from './photos.js';
import { request } from './worker-client.js';

const el = {
  start: $('camera-start', HTMLButtonElement),
  stop: $('camera-stop', HTMLButtonElement),
  error: $('camera-error', HTMLElement),
  panel: $('camera-panel', HTMLElement),
  video: $('camera-video', HTMLVideoElement),
  square: $('camera-square', HTMLCanvasElement),
  resized: $('camera-resized', HTMLCanvasElement),
  gray: $('camera-gray', HTMLCanvasElement),
  input: $('camera-input', HTMLCanvasElement),
  top: $('camera-top', HTMLOListElement),
  rate: $('camera-rate', HTMLElement),
  mode: $('photo-mode', HTMLSelectElement),
};

/** Frames are scaled down to this width first: the model sees 28x28, a smaller frame is faster. */
const FRAME_WIDTH = 320;

let stream = /** @type {MediaStream | null} */ (null);
const grab = document.createElement('canvas');

/** What went wrong, in words a user can act on. */
function cameraError(error) {
  switch (error?.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'The camera was not allowed. Allow it for this page in the browser’s site settings, or upload photos instead.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No camera was found. Connect one, or upload photos instead.';
    case 'NotReadableError':
      return 'The camera is in use by another program, or the system blocked it.';
    default:
      return `The camera could not start: ${error?.message ?? error}`;
  }
}

function showError(text) {
  el.error.textContent = text;
  el.error.hidden = !text;
}

async function start() {
  showError('');
  if (!navigator.mediaDevices?.getUserMedia) {
    showError('This browser offers no camera here (a camera needs https or localhost).');
    return;
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment', width: { ideal: 640 } }, audio: false });
  } catch (error) {
    showError(cameraError(error));
    return;
  }
  el.video.srcObject = stream;
  await el.video.play();
  el.panel.hidden = false;
  el.start.hidden = true;
  el.stop.hidden = false;
  el.stop.focus();
  loop(stream);
}

function stop() {
  stream?.getTracks().forEach((t) => t.stop());
  stream = null;
  el.video.srcObject = null;
  el.panel.hidden = true;
  el.start.hidden = false;
  el.stop.hidden = true;
  el.start.focus();
}

/** Resolves when the video shows a new frame (no frame is classified twice). */
const nextFrame = () => new Promise((resolve) => {
  if ('requestVideoFrameCallback' in el.video) el.video.requestVideoFrameCallback(() => resolve(null));
  else requestAnimationFrame(() => resolve(null));
});

/** One frame at a time: each new frame, once the worker has answered the last. */
async function loop(mine) {
  const times = [];
  while (stream === mine) {
    await nextFrame();
    if (stream !== mine) return;
    const width = Math.min(FRAME_WIDTH, el.video.videoWidth);
    if (!width) {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    const height = Math.round((el.video.videoHeight * width) / el.video.videoWidth);
    grab.width = width;
    grab.height = height;
    const ctx = /** @type {CanvasRenderingContext2D} */ (grab.getContext('2d', { willReadFrequently: true }));
    ctx.drawImage(el.video, 0, 0, width, height);
    const rgba = new Uint8Array(ctx.getImageData(0, 0, width, height).data.buffer);
    try {
      const mode = /** @type {import('./protocol.js').Preprocess} */ (el.mode.value);
      const frame = await request('camera-frame', { width, height, rgba, mode }, [rgba.buffer]);
      if (stream !== mine) return;
      drawImage(el.square, frame.square);
      drawImage(el.resized, frame.resized);
      drawImage(el.gray, frame.grayscale);
      drawImage(el.input, frame.inverted);
      if (frame.probs) {
        el.top.replaceChildren(...probabilityItems(frame.probs, { top: 3 }));
      } else {
        const li = document.createElement('li');
        li.textContent = noPredictionReason(frame.unclassifiable, frame.noPrediction);
        el.top.replaceChildren(li);
      }
      const now = performance.now();
      times.push(now);
      while (times.length && times[0] < now - 2000) times.shift();
      const perSecond = times.length / 2;
      el.rate.textContent = `${perSecond.toFixed(1)} predictions/s (${frame.millis.toFixed(0)} ms in the worker)` +
        (frame.probs ? `; ${classNames()[frame.probs.indexOf(Math.max(...frame.probs))]} ${pct(Math.max(...frame.probs), 0)}` : '');
      el.rate.dataset.rate = String(perSecond);
    } catch (error) {
      if (stream !== mine) return;
      showError(`A frame could not be classified: ${error.message}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

el.start.addEventListener('click', start);
el.stop.addEventListener('click', stop);
