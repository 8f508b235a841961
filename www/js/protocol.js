// @ts-check
// The messages between the page and its Web Worker (worker.js), in one place: every request
// with its fields (`Requests`) and its reply (`Replies`), and every event (`Events`). The values
// the core computes (ConfigCheck, StepReport, StudyView, ...) are typed by the wasm package's
// generated definitions (pkg/fashion_trainer.d.ts); `tsc --noEmit` checks the page and the worker
// against all of it (see tsconfig.json).
//
// A request is posted as {type, id, ...fields}; its answer is {type: 'reply', id, ...reply} or
// {type: 'error', id, where, message, fields?}. Events are posted as {type, ...fields}, no id.

/** @typedef {import('../pkg/fashion_trainer.js').PageInfo} PageInfo */
/** @typedef {import('../pkg/fashion_trainer.js').ConfigCheck} ConfigCheck */
/** @typedef {import('../pkg/fashion_trainer.js').StudyCheck} StudyCheck */
/** @typedef {import('../pkg/fashion_trainer.js').StudyForm} StudyForm */
/** @typedef {import('../pkg/fashion_trainer.js').TrainingConfig} TrainingConfig */
/** @typedef {import('../pkg/fashion_trainer.js').EpochRecord} EpochRecord */
/** @typedef {import('../pkg/fashion_trainer.js').StepReport} StepReport */
/** @typedef {import('../pkg/fashion_trainer.js').ResumePoint} ResumePoint */
/** @typedef {import('../pkg/fashion_trainer.js').RunSpec} RunSpec */
/** @typedef {import('../pkg/fashion_trainer.js').EvaluationView} EvaluationView */
/** @typedef {import('../pkg/fashion_trainer.js').CellImages} CellImages */
/** @typedef {import('../pkg/fashion_trainer.js').PhotoView} PhotoView */
/** @typedef {import('../pkg/fashion_trainer.js').CatalogueCheck} CatalogueCheck */
/** @typedef {import('../pkg/fashion_trainer.js').CatalogueView} CatalogueView */
/** @typedef {import('../pkg/fashion_trainer.js').CatalogueProgress} CatalogueProgress */
/** @typedef {import('../pkg/fashion_trainer.js').StudyView} StudyView */
/** @typedef {import('../pkg/fashion_trainer.js').Study} Study */
/** @typedef {import('../pkg/fashion_trainer.js').StudyConfig} StudyConfig */
/** @typedef {import('../pkg/fashion_trainer.js').FieldError} FieldError */
/** @typedef {import('../pkg/fashion_trainer.js').BackendChoice} BackendChoice */
/** @typedef {import('../pkg/fashion_trainer.js').Preprocess} Preprocess */
/** @typedef {import('../pkg/fashion_trainer.js').ReportFormat} ReportFormat */
/** @typedef {import('../pkg/fashion_trainer.js').RgbaImage} RgbaImage */
/** @typedef {import('../pkg/fashion_trainer.js').ExportFormat} ExportFormat */
/** @typedef {import('../pkg/fashion_trainer.js').Tiles} Tiles */
/** @typedef {import('../pkg/fashion_trainer.js').NetworkView} NetworkView */
/** @typedef {import('../pkg/fashion_trainer.js').ExportFormatInfo} ExportFormatInfo */

/** A camera frame's preprocessing steps and prediction, and the worker's time for it.
 * @typedef {PhotoReply & {millis: number}} CameraReply */

/** Why a photo has no prediction: no model yet, or a run without a finished epoch.
 * @typedef {'none' | 'training' | 'blank' | null} NoPrediction */

/**
 * The model the worker predicts with.
 * @typedef {object} ModelInfo
 * @property {string} name What the page calls it (`v1, best epoch 12`).
 * @property {string} description Its settings in one line.
 * @property {string} backend `cpu` or `gpu`.
 * @property {string} backendReason Why that backend.
 * @property {string | null} runId The stored run it comes from, if any.
 * @property {ExportFormatInfo[]} exports The formats its weights export to, with code that loads each.
 */

/**
 * A run has started (or resumed) in the worker.
 * @typedef {object} RunStarted
 * @property {string} label
 * @property {string} description Its settings in one line, with its image limit.
 * @property {string} summaryText The model summary table.
 * @property {TrainingConfig} config
 * @property {string} backend
 * @property {string} backendReason
 * @property {string | null} studyRun The study run id, for a study's run.
 * @property {RunSpec | null} spec The study run's plan, kept to resume it later.
 * @property {boolean} resumed True when it continues from saved epochs.
 */

/** A chunk of training is done; `studyEta` is the whole study's remaining time, for its runs.
 * @typedef {Omit<StepReport, 'saved'> & {studyRun: string | null, studyEta: string | null}} StepProgress */

/**
 * An epoch is done: its record and the weights to keep.
 * @typedef {object} EpochDone
 * @property {EpochRecord} record
 * @property {number} bestEpoch
 * @property {Uint8Array} latest Weights after this epoch.
 * @property {Uint8Array | null} best The same when this epoch is the best so far.
 * @property {Tiles} kernels The first layer's kernels after this epoch.
 * @property {string} summary The epoch in words (`train top-1 90.12 %, ... (12.3 s)`).
 * @property {MemorySample} memory The worker's memory when the epoch ended.
 * @property {GpuCalls} gpuCalls The worker's WebGPU calls so far.
 */

/**
 * WebGPU calls a worker made (all zero without WebGPU).
 * @typedef {object} GpuCalls
 * @property {number} dispatches Compute dispatches: kernel launches.
 * @property {number} submits Queue submissions.
 * @property {number} readbacks Buffer mappings: GPU->CPU readbacks.
 */

/**
 * The worker's memory at a moment.
 * @typedef {object} MemorySample
 * @property {number} wasmBytes The wasm module's linear memory (it grows, never shrinks).
 * @property {number | null} heapBytes The worker's JS heap, where the browser says it.
 */

/**
 * Every epoch is done (for a study run: tested and recorded too).
 * @typedef {object} RunDone
 * @property {EpochRecord[]} history
 * @property {number} bestEpoch
 * @property {string | null} studyRun
 * @property {number | null} testTop1 A study run's test top-1.
 */

/** A test-set evaluation without its per-image predictions (the worker keeps those).
 * @typedef {Omit<EvaluationView, 'predictions'>} EvaluationSummary */

/** A preprocessed photo and the current model's probabilities.
 * @typedef {PhotoView & {probs: Float32Array | null, noPrediction: NoPrediction}} PhotoReply */

/**
 * The catalogue found in a chosen folder or zip.
 * @typedef {object} CatalogueSourceInfo
 * @property {string} name
 * @property {string} stylesPath
 * @property {number} imageCount
 */

/** A catalogue evaluated: the result, its text, the 28x28 inputs of the mistakes, the model's label
 * (for a study report) and name (`v1, best epoch 12`), and the catalogue's name.
 * @typedef {CatalogueView & {inputs: (RgbaImage | null)[], model: string, modelName: string, source: string}} CatalogueReply */

/**
 * Where the worker's study stands; `study` is what the page stores.
 * @typedef {object} StudyState
 * @property {StudyView} view
 * @property {Study} study
 * @property {number | null} resumeFrom The epoch the next run would resume from, if any.
 * @property {boolean} active True while the worker runs the study.
 */

/** A file of a chosen catalogue folder, with its path in the folder.
 * @typedef {{path: string, file: File}} FolderFile */

/** A run's saved state, as the page stores it with the run, for resuming.
 * @typedef {ResumePoint} SavedRun */

/**
 * Every request and its fields.
 * @typedef {{
 *   'init': {},
 *   'check-config': {form: Record<string, string>},
 *   'describe': {runs: {config: TrainingConfig, limit: number | null}[]},
 *   'check-study': {form: StudyForm},
 *   'start': {label: string, config: TrainingConfig, backend: BackendChoice, gpuBatches?: number, limit: number | null},
 *   'resume-run': {label: string, config: TrainingConfig, backend: BackendChoice, limit: number | null, resume: SavedRun},
 *   'workers': {count: number},
 *   'pause': {},
 *   'resume': {},
 *   'cancel': {},
 *   'evaluate': {limit: number | null},
 *   'test-images': {label: number, predicted: number},
 *   'export': {format: ExportFormat},
 *   'load-weights': {bytes: Uint8Array, backend: BackendChoice, runId: string | null, bestEpoch: number | null, fileName?: string},
 *   'predict': {pixels: Uint8Array},
 *   'inside': {pixels: Uint8Array, explain: number | null},
 *   'kernels': {},
 *   'photo': {file: Blob, mode: Preprocess},
 *   'camera-frame': {width: number, height: number, rgba: Uint8Array, mode: Preprocess},
 *   'predict-inputs': {inputs: Uint8Array[]},
 *   'catalogue-source': {name: string, files: FolderFile[]} | {name: string, zip: File},
 *   'catalogue-plan': {labelMap: string},
 *   'catalogue-evaluate': {labelMap: string, mode: Preprocess},
 *   'catalogue-cancel': {},
 *   'catalogue-photos': {ids: string[]},
 *   'study-start': {config: StudyConfig, backend: BackendChoice},
 *   'study-open': {study: Study, saved: SavedRun[]},
 *   'study-continue': {backend: BackendChoice, saved: SavedRun[]},
 *   'study-report': {format: ReportFormat, catalogue: boolean},
 *   'study-discard': {},
 * }} Requests
 */

/**
 * Every request's reply.
 * @typedef {{
 *   'init': {},
 *   'check-config': ConfigCheck,
 *   'describe': {descriptions: string[]},
 *   'check-study': StudyCheck,
 *   'start': {},
 *   'resume-run': {},
 *   'workers': {},
 *   'pause': {},
 *   'resume': {},
 *   'cancel': {finishing: boolean},
 *   'evaluate': EvaluationSummary,
 *   'test-images': CellImages,
 *   'export': {bytes: Uint8Array, name: string, extension: string},
 *   'load-weights': ModelInfo,
 *   'predict': {probs: Float32Array},
 *   'inside': NetworkView & {millis: number},
 *   'kernels': {kernels: Tiles},
 *   'photo': PhotoReply,
 *   'camera-frame': CameraReply,
 *   'predict-inputs': {probs: Float32Array[] | null, noPrediction: NoPrediction},
 *   'catalogue-source': CatalogueSourceInfo,
 *   'catalogue-plan': CatalogueCheck,
 *   'catalogue-evaluate': CatalogueReply,
 *   'catalogue-cancel': {},
 *   'catalogue-photos': {photos: {id: string, bytes: Uint8Array}[]},
 *   'study-start': StudyState,
 *   'study-open': StudyState,
 *   'study-continue': StudyState,
 *   'study-report': {text: string},
 *   'study-discard': {},
 * }} Replies
 */

/**
 * Every event the worker posts on its own, and its fields. `gpu-lost`: the WebGPU device is gone
 * (`message`: the browser's reason); `run` says a run was training on it (dropped: the page
 * continues it on the CPU), `studyRun` which study run it was. `fatal`: the wasm core trapped;
 * the worker does nothing more and the page replaces it.
 * @typedef {{
 *   'wasm-ready': {info: PageInfo},
 *   'data-progress': {loaded: number, total: number, totalKnown: boolean, shard: string, shardsDone: number, shardCount: number, fromCache: boolean},
 *   'measuring': {},
 *   'ready': {trainCount: number, testCount: number, adapter: boolean | null, speeds: SpeedsNotice | null},
 *   'started': RunStarted,
 *   'progress': StepProgress,
 *   'epoch': EpochDone,
 *   'done': RunDone,
 *   'paused': {},
 *   'resumed': {},
 *   'cancelled': {},
 *   'model': {model: ModelInfo | null},
 *   'study-state': StudyState,
 *   'catalogue-progress': {progress: CatalogueProgress},
 *   'gpu-lost': {message: string, run: boolean, studyRun: string | null},
 *   'fatal': {message: string},
 *   'error': {where: string, message: string, shard?: string | null},
 * }} Events
 */

/**
 * What `auto` follows, for the backend notice: the speeds measured (now or on an earlier visit)
 * in words, or why they could not be.
 * @typedef {{summary: string | null, remembered: boolean, failed: string | null}} SpeedsNotice
 */

/**
 * An error reply or event: where it happened, the message, and for a form the bad fields.
 * @typedef {{where: string, message: string, fields?: FieldError[], shard?: string | null}} ErrorFields
 */

export {};
