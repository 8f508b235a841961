// @ts-check
// A helper Web Worker of a run trained on several cores: it holds a replica of the model
// (WebReplica) and, for each step, applies the step's gradient (summed, or the trainer's share
// plus its own) and computes the gradient of its share of the batch. The training worker starts it (worker/peers.js).

import init, { WebReplica, faultTrap } from './pkg/fashion_trainer.js';

const scope = /** @type {DedicatedWorkerGlobalScope} */ (/** @type {unknown} */ (self));
/** The core, instantiated from the module the trainer compiled (its first message). @type {Promise<unknown> | null} */
let ready = null;
/** @type {WebReplica | null} */
let replica = null;
/** Set once the core trapped: its memory may be half-updated, so nothing runs in it again. */
let crashed = /** @type {string | null} */ (null);

/** @param {unknown} error */
const messageOf = (error) => (error instanceof Error ? error.message : String(error));

// Messages are handled one at a time, in order: each `work` builds on the one before.
let queue = Promise.resolve();
scope.addEventListener('message', ({ data: msg }) => {
  queue = queue.then(async () => {
    try {
      if (msg.type === 'init') ready ??= init({ module_or_path: msg.module });
      if (!ready) throw new Error('the helper has no code yet');
      await ready;
      if (crashed) throw new Error(`the replica crashed (${crashed})`);
      if (msg.type === 'trap') faultTrap(); // the fault hook of the tests (worker/faults.js)
      if (msg.type === 'init') {
        replica?.free();
        replica = null;
        replica = WebReplica.create(msg.config, msg.weights, msg.seed);
        scope.postMessage({ type: 'ready' });
      } else if (msg.type === 'work') {
        if (!replica) throw new Error('the replica has no weights yet');
        const result = await replica.work(msg.apply, msg.applyAddsOwn, msg.applyRate, msg.images, msg.labels, msg.batchLen);
        const reply = { type: 'reply', gradient: result.takeGradient(), lossSum: result.lossSum, correct: result.correct, idleSeconds: result.idleSeconds };
        result.free();
        scope.postMessage(reply, [reply.gradient.buffer]);
      }
    } catch (error) {
      // A trap leaves the module unusable: every later message gets this error, and the
      // trainer goes on without this replica.
      if (error instanceof WebAssembly.RuntimeError) crashed ??= `${error.name}: ${error.message}`;
      scope.postMessage({ type: 'error', message: messageOf(error) });
    }
  });
});
