// @ts-check
// The replicas of a run trained on several cores: one helper worker each (replica-worker.js),
// driven by the trainer through the `PeerGroup` interface (worker/runs.js hands it to
// WebTrainer.usePeers). Plain messages with transferred buffers: no shared memory, so no
// cross-origin isolation is needed.

import { compiledCore } from './core.js';

/** @typedef {import('../pkg/fashion_trainer.js').ShareMessage} ShareMessage */
/** @typedef {import('../pkg/fashion_trainer.js').ShareReply} ShareReply */

/** One helper worker and the replies it owes, oldest first. */
class Helper {
  constructor() {
    this.worker = new Worker(new URL('../replica-worker.js', import.meta.url), { type: 'module', name: 'replica' });
    /** @type {{resolve: (reply: any) => void, reject: (error: Error) => void}[]} */
    this.waiting = [];
    /** Why it stopped, once it did. @type {string | null} */
    this.failed = null;
    this.worker.addEventListener('message', ({ data }) => {
      const next = this.waiting.shift();
      if (data.type === 'error') next?.reject(new Error(data.message));
      else next?.resolve(data);
    });
    const fail = (/** @type {string} */ why) => {
      this.failed = why;
      for (const { reject } of this.waiting.splice(0)) reject(new Error(why));
    };
    this.worker.addEventListener('error', (event) => {
      event.preventDefault();
      fail(`a helper worker crashed: ${event.message || 'it could not start'}`);
    });
    this.worker.addEventListener('messageerror', () => fail('a helper worker sent a message that could not be read'));
  }

  /**
   * Posts `message` and returns its reply.
   * @param {any} message
   * @param {Transferable[]} [transfer]
   * @returns {Promise<any>}
   */
  ask(message, transfer = []) {
    if (this.failed) return Promise.reject(new Error(this.failed));
    const reply = new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
    this.worker.postMessage(message, transfer);
    return reply;
  }
}

/** The helpers last started, for the fault hook. @type {WorkerPeers | null} */
let latest = null;

/** Traps the core of the first helper of the run in hand (tests: `?faults=helper-trap@N`). */
export function trapHelper() {
  latest?.helpers[0]?.ask({ type: 'trap' }).catch(() => {});
}

/** The `PeerGroup` a WebTrainer drives. */
export class WorkerPeers {
  /** @param {Helper[]} helpers */
  constructor(helpers) {
    this.helpers = helpers;
    /** The replies of each send not yet received, oldest first: with one helper the trainer
     * sends the next work before it receives the last (src/training/parallel.rs).
     * @type {Promise<ShareReply>[][]} */
    this.pending = [];
  }

  /**
   * Starts `count` helpers holding replicas of `weights` (from WebTrainer.replicaWeights).
   * @param {number} count
   * @param {import('../pkg/fashion_trainer.js').TrainingConfig} config
   * @param {Uint8Array} weights
   */
  static async start(count, config, weights) {
    const helpers = Array.from({ length: count }, () => new Helper());
    const group = new WorkerPeers(helpers);
    try {
      await Promise.all(
        helpers.map((helper, i) => helper.ask({ type: 'init', module: compiledCore(), config, weights, seed: (Number(config.seed) + i + 1) % 2 ** 32 })),
      );
    } catch (error) {
      group.stop();
      throw error;
    }
    latest = group;
    return group;
  }

  get count() {
    return this.helpers.length;
  }

  /** @param {ShareMessage[]} work */
  send(work) {
    this.pending.push(work.map((share, i) => {
      const transfer = [share.images.buffer, share.labels.buffer, ...(share.apply ? [share.apply.buffer] : [])];
      const reply = this.helpers[i].ask({ type: 'work', ...share }, transfer);
      reply.catch(() => {}); // seen by receive(); not an unhandled rejection meanwhile
      return reply;
    }));
  }

  /** The replies of the oldest send not yet received. @returns {Promise<ShareReply[]>} */
  receive() {
    return Promise.all(this.pending.shift() ?? []);
  }

  /**
   * Ends every helper. A step waiting on one (the run was cancelled mid-step) fails at once:
   * a terminated worker never answers, and the trainer's queue must not wait forever.
   */
  stop() {
    for (const helper of this.helpers) {
      helper.worker.terminate();
      helper.failed = 'the helper workers were stopped';
      for (const { reject } of helper.waiting.splice(0)) reject(new Error(helper.failed));
    }
    this.helpers = [];
  }
}
