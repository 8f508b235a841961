// @ts-check
// A product catalogue (styles.csv + images/<id>.jpg) from a folder's files or a .zip: the page
// hands over the File objects and the worker does the rest: finds the catalogue, reads each
// mapped photo (a .zip entry by entry), preprocesses it in the core and evaluates the model.

import { loadApi, messageOf, ownBytes, post, serial, wasm } from './core.js';
import { currentModel, modelLabel, modelName, modelQueue } from './runs.js';
import { checkFileSize, openZip } from './zip.js';

/** @typedef {import('../js/protocol.js').Requests} Requests */
/** @typedef {import('../js/protocol.js').CatalogueReply} CatalogueReply */
/** @typedef {import('../pkg/fashion_trainer.js').WebCatalogue} WebCatalogue */
/** @typedef {{path: string, read: () => Promise<Uint8Array>}} Entry */

const PROGRESS_INTERVAL_MS = 150;

/** The chosen catalogue: its files, where styles.csv and the photos are, and styles.csv. */
let source = /** @type {{name: string, seq: number, entries: Entry[], layout: any, styles: Uint8Array} | null} */ (null);
let sourceSeq = 0;
/** The photos collected for a source, label map and crop mode, reused until one changes. */
let collected = /** @type {{key: string, cat: WebCatalogue} | null} */ (null);
let token = 0; // bumped by each evaluation and cancel; a stale loop stops
/** The last evaluation, for a study report's cross-domain section. */
let last = /** @type {{model: string, result: any} | null} */ (null);

// The catalogue must never be freed or changed while an evaluation borrows it.
const queue = serial();

class Cancelled extends Error {}

/** @param {Requests['catalogue-source']} msg */
export async function catalogueSource(msg) {
  await loadApi();
  /** @type {Entry[]} */
  let entries;
  if ('zip' in msg) {
    entries = [...(await openZip(msg.zip)).values()];
  } else {
    entries = msg.files.map(({ path, file }) => ({
      path,
      read: async () => {
        checkFileSize(path, file.size);
        return new Uint8Array(await file.arrayBuffer());
      },
    }));
  }
  const layout = new (wasm().WebCatalogueLayout)(entries.map((e) => e.path), msg.name);
  let styles;
  try {
    styles = await entries[layout.styles].read();
  } catch (error) {
    layout.free();
    throw error;
  }
  await queue(() => {
    forget();
    source?.layout.free();
    source = { name: msg.name, seq: ++sourceSeq, entries, layout, styles };
  });
  return { name: msg.name, stylesPath: layout.stylesPath, imageCount: layout.imageCount };
}

function forget() {
  collected?.cat.free();
  collected = null;
}

/** Checks the label map (and styles.csv when a catalogue is chosen) and counts what maps. */
export async function cataloguePlan({ labelMap }) {
  return (await loadApi()).checkCatalogue(source?.styles, labelMap);
}

/**
 * Collects the mapped photos (unless the same ones are collected already) and evaluates the
 * model on them, posting progress as it reads.
 * @param {Requests['catalogue-evaluate']} msg
 * @returns {Promise<CatalogueReply>}
 */
export async function catalogueEvaluate({ labelMap, mode }) {
  if (!source) throw new Error('choose a catalogue folder or .zip file first');
  currentModel(); // no model, no point reading thousands of photos
  const mine = ++token;
  const key = JSON.stringify([source.seq, labelMap, mode]);
  if (collected?.key !== key) await collect(source, key, labelMap, mode, mine);
  const { cat } = collected;
  const model = currentModel(); // the model now: it may have changed while the photos were read
  const view = await queue(() => modelQueue(() => model.evaluateCatalogue(cat)));
  if (mine !== token) throw new Cancelled('cancelled');
  // The 28x28 inputs of the mistakes, for the gallery.
  const inputs = view.result.mistakes.map((m) => {
    try {
      return cat.inputImage(String(m.id));
    } catch {
      return null;
    }
  });
  last = { model: modelLabel(), result: view.result };
  return { ...view, inputs, model: last.model, modelName: modelName(), source: source.name };
}

async function collect(from, key, labelMap, mode, mine) {
  await queue(forget);
  const cat = new (wasm().WebCatalogue)(from.styles, labelMap, mode);
  try {
    const ids = cat.ids();
    if (!ids.length) throw new Error('no row of styles.csv maps to a Fashion-MNIST class: check the label map');
    let posted = 0;
    for (const id of ids) {
      if (mine !== token || from !== source) throw new Cancelled('cancelled');
      const index = from.layout.imageOf(id);
      if (index === undefined) {
        cat.addMissing(id);
      } else {
        const entry = from.entries[index];
        let bytes = null;
        try {
          bytes = await entry.read();
        } catch (error) {
          cat.addSkipped(id, `could not read ${entry.path}: ${messageOf(error)}`);
        }
        if (bytes) {
          try {
            cat.addPhoto(id, bytes);
          } catch {
            // recorded as skipped, with the reason; one broken photo never stops a catalogue
          }
        }
      }
      if (performance.now() - posted > PROGRESS_INTERVAL_MS) {
        posted = performance.now();
        post('catalogue-progress', { progress: cat.progress() });
        await wasm().yieldToEventLoop(); // let a cancel in
      }
    }
    post('catalogue-progress', { progress: cat.progress() });
    if (mine !== token || from !== source) throw new Cancelled('cancelled');
  } catch (error) {
    cat.free();
    throw error;
  }
  collected = { key, cat };
}

/** Stops an evaluation in progress. */
export async function catalogueCancel() {
  token++;
  return {};
}

/** The original photos of products `ids`, for the gallery of mistakes. @param {Requests['catalogue-photos']} msg */
export async function cataloguePhotos({ ids }) {
  const from = source;
  if (!from) throw new Error('no catalogue is chosen');
  // The entries are looked up first: a new catalogue may free this layout while photos are read.
  const wanted = ids.map((id) => [id, from.layout.imageOf(id)]).filter(([, index]) => index !== undefined);
  const photos = [];
  for (const [id, index] of wanted) {
    try {
      photos.push({ id, bytes: ownBytes(await from.entries[index].read()) });
    } catch {
      // an unreadable photo is simply left out of the gallery
    }
  }
  return { photos };
}

/** The last catalogue evaluation as a study report's cross-domain section, if there is one. */
export function catalogueSection() {
  if (!last) return null;
  const { result } = last;
  return { model: last.model, preprocess: String(result.preprocess), images: result.evaluated, accuracy: result.accuracy, report: result.report };
}

/** True for the error a cancelled evaluation ends with. */
export const isCancelled = (error) => error instanceof Cancelled;
