// The page's exports and imports checked by other runtimes (issue 15): a run trained in the page
// is saved as .ftw, .safetensors and .onnx; the CLI's logits of the .ftw on all 10,000 test images
// are the reference onnxruntime and a numpy forward pass must agree with (tests/interop/
// check_exports.py). A safetensors file written by Python (nn.Sequential names) is loaded into
// the page, whose test evaluation must match Python's forward pass: accuracy, loss and all 100
// cells of the confusion matrix. Bad files get one clear message and the page keeps working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BASE, CLI, SHOTS, launch, newPage, openReady, trainShort } from './browser.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;
const PYTHON = process.env.INTEROP_PYTHON ?? join(homedir(), '.cache', 'fashion-trainer', 'interop-venv', 'bin', 'python');
const DATA = process.env.FASHION_MNIST_DIR ?? join(ROOT, '..', 'shared', 'data', 'fashion-mnist');
const CHECK = join(ROOT, 'tests', 'interop', 'check_exports.py');

function run(command, args) {
  const out = execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  console.log(out.trim());
  return out;
}

/** Saves the model in `format` through the page's Export control; the downloaded file's path. */
async function exportAs(page, format, name) {
  await page.selectOption('#export-format', format);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save-weights')]);
  assert.ok(download.suggestedFilename().endsWith(`.${format}`), download.suggestedFilename());
  const path = join(SHOTS, name);
  copyFileSync(await download.path(), path);
  return path;
}

async function loadWeights(page, file, expect) {
  await page.setInputFiles('#load-weights', file);
  await page.waitForFunction((re) => new RegExp(re).test(document.querySelector('#weights-message').textContent),
    expect.source, { timeout: 120_000 });
  return page.textContent('#weights-message');
}

test('the page exports safetensors and ONNX that onnxruntime and numpy agree with, and imports PyTorch weights',
  { timeout: 900_000 }, async (t) => {
  if (!existsSync(PYTHON)) {
    // ./build.sh test always installs it; a hand-run without it says so rather than passing.
    assert.fail(`no Python for the interop checks at ${PYTHON}: run ./build.sh test (or set INTEROP_PYTHON)`);
  }
  const browser = await launch();
  try {
    const { page, outside, errors } = await newPage(browser);
    await openReady(page, `${BASE}?limit=3000`);
    await trainShort(page, { preset: 'v2', epochs: 1, label: 'exported' });

    // The snippets name this model's kernel counts.
    await page.click('#export-help summary');
    assert.match(await page.textContent('#export-snippets'), /def __init__\(self, c1=16, c2=26\)/);
    assert.match(await page.textContent('#export-snippets'), /onnxruntime as ort/);
    await page.locator('section[aria-labelledby="eval-heading"]').screenshot({ path: join(SHOTS, 'export.png') });

    const ftw = await exportAs(page, 'ftw', 'page-export.ftw');
    const safetensors = await exportAs(page, 'safetensors', 'page-export.safetensors');
    const onnx = await exportAs(page, 'onnx', 'page-export.onnx');
    const reference = join(SHOTS, 'page-export-cli.csv');
    run(CLI, ['evaluate', '--model', ftw, '--data', DATA, '--logits', reference]);
    const verified = run(PYTHON, [CHECK, 'verify', '--data', DATA, '--reference', reference, '--onnx', onnx, '--safetensors', safetensors]);
    assert.equal(verified.match(/top-1 agrees on 10000\/10000 images/g)?.length, 2, verified);

    // Python's random weights, named as nn.Sequential indices, on all 10,000 test images.
    await page.goto(BASE);
    await page.waitForFunction(() => !document.querySelector('#load-weights').disabled, null, { timeout: 180_000 });
    const torchFile = join(SHOTS, 'python-random.safetensors');
    const expectedCsv = join(SHOTS, 'python-random.csv');
    run(PYTHON, [CHECK, 'random', '--data', DATA, '--out', torchFile, '--logits', expectedCsv, '--naming', 'sequential', '--seed', '11']);
    const loaded = await loadWeights(page, torchFile, /Loaded python-random/);
    assert.match(loaded, /conv 16\/26 kernels/);
    await page.click('#evaluate');
    await page.waitForFunction(() => /precision/.test(document.querySelector('#report').textContent), null, { timeout: 300_000 });
    const rows = readFileSync(expectedCsv, 'utf8').trim().split('\n').slice(1).map((line) => line.split(',').map(Number));
    const confusion = Array.from({ length: 10 }, () => Array(10).fill(0));
    let loss = 0;
    for (const [, label, predicted, ...logits] of rows) {
      confusion[label][predicted] += 1;
      const max = Math.max(...logits);
      loss += Math.log(logits.reduce((s, v) => s + Math.exp(v - max), 0)) + max - logits[label];
    }
    const correct = confusion.reduce((s, row, i) => s + row[i], 0);
    const cells = await page.$$eval('#confusion button', (bs) => bs.map((b) => Number(b.textContent)));
    assert.deepEqual(cells, confusion.flat(), 'the page predicts what Python does on every class pair');
    const report = await page.textContent('#report');
    assert.match(report, new RegExp(`test top-1 ${(100 * correct / rows.length).toFixed(2)}`), report);
    assert.match(report, new RegExp(`loss ${(loss / rows.length).toFixed(4)}`), report);
    await page.locator('section[aria-labelledby="eval-heading"]').screenshot({ path: join(SHOTS, 'imported.png') });

    // Bad files: one clear message each, and the page keeps working.
    const bytes = readFileSync(torchFile);
    const truncated = join(SHOTS, 'truncated.safetensors');
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 100));
    assert.match(await loadWeights(page, truncated, /Could not load truncated/), /damaged or truncated/);
    assert.match(await loadWeights(page, onnx, /Could not load page-export/), /looks like an ONNX model/);
    const other = join(SHOTS, 'three-layers.safetensors');
    run(PYTHON, ['-c', `
import numpy as np; from safetensors.numpy import save_file
save_file({"conv1.weight": np.zeros((6, 1, 5, 5), np.float32), "conv1.bias": np.zeros(6, np.float32),
           "fc.weight": np.zeros((10, 4704), np.float32), "fc.bias": np.zeros(10, np.float32)}, "${other}")`]);
    assert.match(await loadWeights(page, other, /Could not load three-layers/), /expected the weights and biases of 2 convolutions and 3 linear layers/);
    // Still usable: the imported model predicts a test image.
    await page.locator('#confusion button').first().click();
    await page.waitForFunction(() => document.querySelectorAll('#gallery-images button').length > 0, null, { timeout: 60_000 });
    assert.deepEqual(outside, [], 'no request leaves 127.0.0.1');
    assert.deepEqual(errors, [], 'no uncaught page errors');
  } finally {
    await browser.close();
  }
});
