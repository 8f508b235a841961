// @ts-check
// One run at a time in this browser: the tab that trains holds the Web Lock 'fashion-trainer-run'
// until its run (or study) stops, so two tabs never write the same run records. Another tab sees
// the lock held: it says so and starts nothing, and it does not take the other tab's run for an
// interrupted one. A tab that closes or crashes lets go of its lock.

import { isBusyRunning, store } from './state.js';
import { writesSettled } from './storage.js';

const LOCK = 'fashion-trainer-run';
const POLL_MS = 2000;

/** Ends this tab's hold on the lock, while it holds it. @type {(() => void) | null} */
let release = null;

const locks = () => /** @type {LockManager | undefined} */ (navigator.locks);

/** Takes the run lock unless another tab holds it; true when this tab may train. */
export async function claimRun() {
  const manager = locks();
  if (!manager || release) return true; // no Web Locks (an old browser): nothing to share
  return new Promise((resolve) => {
    manager
      .request(LOCK, { ifAvailable: true }, (lock) => {
        if (!lock) {
          resolve(false);
          return undefined;
        }
        resolve(true);
        // Held until this promise settles.
        return new Promise((done) => {
          release = () => {
            release = null;
            done(undefined);
          };
        });
      })
      .catch(() => resolve(true)); // a refused lock request must not stop the page
  });
}

/** True when another tab holds the run lock. */
export async function heldElsewhere() {
  const manager = locks();
  if (!manager || release) return false;
  try {
    const { held } = await manager.query();
    return held.some((lock) => lock.name === LOCK);
  } catch {
    return false;
  }
}

/**
 * Keeps `store.elsewhere` up to date (the lock has no event: it is asked every 2 s) and lets go
 * of the lock when this tab's run stops. `onFreed` runs when another tab's run has stopped.
 * @param {() => void} onFreed
 */
export function watchRunLock(onFreed) {
  let busy = false;
  store.subscribe((state) => {
    const now = isBusyRunning(state);
    // Let go once the run's last records are written, so the other tab reads them as they end.
    if (busy && !now) writesSettled().then(() => isBusyRunning() || release?.());
    busy = now;
  });
  const check = async () => {
    const elsewhere = await heldElsewhere();
    if (elsewhere === store.get().elsewhere) return;
    store.set({ elsewhere });
    if (!elsewhere) onFreed();
  };
  setInterval(check, POLL_MS);
  document.addEventListener('visibilitychange', check);
}
