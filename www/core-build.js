// Which of the two builds of the trainer's wasm this browser runs, decided the same way by the
// worker that loads it (worker/core.js imports this file) and by the service worker that keeps
// it for offline use (sw.js, importScripts): the build whose matrix products use relaxed SIMD's
// fused multiply-add wherever the engine has relaxed SIMD (Chromium 114 and later), the build
// with plain SIMD everywhere else. `?simd=plain` on the page forces the plain build (a
// comparison, or a way round an engine bug); the page passes it on to its worker.
// A classic script with no imports or exports, so that both kinds of worker can load it.
(() => {
  // (func (param v128 v128 v128) (result v128) local.get 0 local.get 1 local.get 2
  // f32x4.relaxed_madd): valid only where the engine has relaxed SIMD.
  const relaxedMadd = new Uint8Array([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 96, 3, 123, 123, 123, 1, 123, 3, 2, 1, 0, 10, 13, 1, 11, 0,
    32, 0, 32, 1, 32, 2, 253, 133, 2, 11,
  ]);
  const forcedPlain = new URLSearchParams(self.location.search).get('simd') === 'plain';
  const relaxed = !forcedPlain && WebAssembly.validate(relaxedMadd);
  /** @type {any} */ (self).fashionTrainerCore = {
    /** The wasm file, relative to the page's folder. */
    wasm: relaxed ? 'pkg/fashion_trainer_relaxed_bg.wasm' : 'pkg/fashion_trainer_bg.wasm',
    /** The other build's file, which this browser never loads. */
    unused: relaxed ? 'pkg/fashion_trainer_bg.wasm' : 'pkg/fashion_trainer_relaxed_bg.wasm',
  };
})();
