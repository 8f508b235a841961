#!/usr/bin/env bash
# Every build, serve, test and bench entry point of the project.
#
#   ./build.sh serve        set up, build, prepare data and serve the page on http://127.0.0.1:8080
#   ./build.sh test         run every test (native, wasm in headless Chromium, types, the page end to end)
#   ./build.sh bench        print training-speed benchmarks
#   ./build.sh wasm-profile [TEST]  where a browser bench test's time goes, function by function
#   ./build.sh setup        install missing tools (wasm target, wasm-pack, wasm-bindgen, Chromium)
#   ./build.sh data [DIR]   put Fashion-MNIST into data/cache (from DIR, ../shared/data or a download)
#   ./build.sh native       build the CLI (target/.../release/fashion-trainer)
#   ./build.sh wasm         build the wasm package into www/pkg
#   ./build.sh dist [DIR]   one folder (default dist/) to put on any static host, under any path
#   ./build.sh typecheck    check the page's JavaScript against the wasm package's types (tsc)
#   ./build.sh cli ARGS...  run the CLI with ARGS
#   ./build.sh reference PRESET [ARGS...]  the PyTorch reference run (installs torch: several GB)
#   ./build.sh reference interop           the exports checked in the PyTorch reference model
#   ./build.sh gpu-bundle   build the stripped CLI into gpu-check/ (to carry to a GPU machine)
#   ./build.sh gpu-check [BINARY]  on a machine with a GPU: the native wgpu bench beside the CPU
#   ./build.sh fuzz [TARGET] [SECONDS]     fuzz one parser (default: all, in turn) for SECONDS each (1800)
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
# One target directory outside the clone, so CI reruns and fresh clones build incrementally.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/fashion-trainer/target}"
export PATH="$HOME/.cargo/bin:$PATH"
WASM_TARGET=wasm32-unknown-unknown

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ {getline; gsub(/"/, "", $3); print $3; exit}' Cargo.lock
}

setup_native() {
  command -v cargo >/dev/null || die "cargo is missing: install Rust with rustup (https://rustup.rs) first"
}

setup_wasm() {
  setup_native
  if ! rustup target list --installed 2>/dev/null | grep -qx "$WASM_TARGET"; then
    log "adding the $WASM_TARGET target"
    rustup target add "$WASM_TARGET"
  fi
  if ! command -v wasm-pack >/dev/null; then
    log "installing wasm-pack (cargo install)"
    cargo install wasm-pack --locked
  fi
  local want have
  want=$(wasm_bindgen_version)
  have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
  if [ "$have" != "$want" ]; then
    log "installing wasm-bindgen-cli $want (cargo install)"
    # --locked can name a yanked dependency; fall back to the newest compatible ones.
    cargo install wasm-bindgen-cli --version "$want" --locked --force \
      || cargo install wasm-bindgen-cli --version "$want" --force
  fi
}

setup_browser() {
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    [ "$(id -u)" = 0 ] || die "Chromium is missing: run 'sudo apt-get install chromium chromium-driver'"
    log "installing Debian's chromium and chromium-driver"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
  export CHROMEDRIVER
  CHROMEDRIVER=$(command -v chromedriver)
}

data_dir() {
  local dir
  dir=$(data/fetch-fashion-mnist.sh "$ROOT/data/cache" "${1:-}" | tail -n1)
  export FASHION_MNIST_DIR="$dir"
}

build_native() {
  setup_native
  log "building the native CLI (release)"
  cargo build --release --bin fashion-trainer
}

wasm_opt() {
  # binaryen 132 from npm (Debian's wasm-opt 108 produced modules Chromium refused); only debug
  # sections are stripped: -O2 took 4 minutes here and made the gzipped module larger.
  local dir="$HOME/.cache/fashion-trainer/binaryen-132"
  if [ ! -f "$dir/package/bin/wasm-opt" ]; then
    command -v npm >/dev/null || die "npm is missing: apt-get install npm"
    log "fetching binaryen 132 (wasm-opt) from npm"
    mkdir -p "$dir"
    (cd "$dir" && npm pack --silent binaryen@132 >/dev/null && tar xzf binaryen-132.0.0.tgz && rm binaryen-132.0.0.tgz)
  fi
  node "$dir/package/bin/wasm-opt" --strip-debug --strip-producers --enable-bulk-memory \
    --enable-nontrapping-float-to-int --enable-simd --enable-sign-ext --enable-mutable-globals \
    --enable-reference-types --enable-multivalue "$1" -o "$1.tmp"
  mv "$1.tmp" "$1"
}

build_wasm() {
  setup_wasm
  log "building the wasm package (release) into www/pkg"
  wasm-pack build --release --mode no-install --target web --out-dir www/pkg -- --no-default-features
  # wasm-ld wraps every export in the static constructors ("<name>.command_export") unless the
  # module runs them itself (device::run_static_constructors); wrapped, WebGPU training in the
  # page ran at half speed. The linked module still has its function names, so check them.
  if grep -q 'command_export' "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/fashion_trainer.wasm"; then
    die "the wasm module reruns its static constructors on every export call: see device::run_static_constructors"
  fi
  log "stripping debug sections from the wasm module"
  wasm_opt www/pkg/fashion_trainer_bg.wasm
  printf 'wasm: %s bytes, %s gzipped\n' "$(wc -c <www/pkg/fashion_trainer_bg.wasm)" "$(gzip -9c www/pkg/fashion_trainer_bg.wasm | wc -c)"
}

# numpy, safetensors, onnx and onnxruntime from PyPI, in a venv in the cache: tests/interop.rs
# and the page's export test check the exported files with them.
setup_interop() {
  local venv="$HOME/.cache/fashion-trainer/interop-venv"
  if ! "$venv/bin/python" -c 'import numpy, safetensors, onnx, onnxruntime' 2>/dev/null; then
    log "installing numpy, safetensors, onnx and onnxruntime from PyPI into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'numpy==2.*' 'safetensors==0.8.*' 'onnx==1.23.*' 'onnxruntime==1.32.*'
  fi
  export INTEROP_PYTHON="$venv/bin/python"
}

test_native() {
  setup_native
  data_dir
  setup_interop
  log "native tests (release)"
  cargo test --release
}

setup_firefox() {
  # The second browser of the wasm tests: Debian's firefox-esr and geckodriver from crates.io.
  # Without root to install them, the Firefox run is skipped, loudly.
  if ! command -v firefox-esr >/dev/null && ! command -v firefox >/dev/null; then
    [ "$(id -u)" = 0 ] || return 1
    log "installing Debian's firefox-esr"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq firefox-esr >/dev/null || return 1
  fi
  if ! command -v geckodriver >/dev/null; then
    log "installing geckodriver (cargo install)"
    # Its own target dir: geckodriver's dependency features must not churn the project's cache.
    CARGO_TARGET_DIR="$HOME/.cache/fashion-trainer/geckodriver-target" cargo install geckodriver --locked || return 1
  fi
  export GECKODRIVER
  GECKODRIVER=$(command -v geckodriver)
}

# Runs tests/browser.rs in one headless browser (chrome or firefox); WebGPU tests that found no
# adapter returned early and are reported as skipped, never as passed.
browser_run() {
  local browser=$1 log_file status skipped passed
  log "browser tests in headless $browser (release)"
  log_file=$(mktemp)
  set +e
  WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-900} \
    wasm-pack test --headless "--$browser" --release --mode no-install . --no-default-features --test browser \
    -- --nocapture 2>&1 | tee "$log_file"
  status=${PIPESTATUS[0]}
  set -e
  skipped=$(grep -c 'skipped: no WebGPU adapter' "$log_file" || true)
  if [ "$skipped" -gt 0 ]; then
    printf '\n\033[1;33m*** SKIPPED: %s WebGPU browser test(s) in %s: no WebGPU adapter in this browser ***\033[0m\n' "$skipped" "$browser"
    passed=$(sed -n 's/.*test result: ok\. \([0-9]*\) passed.*/\1/p' "$log_file" | tail -n1)
    [ -n "$passed" ] && echo "browser ($browser): $((passed - skipped)) passed, 0 failed, $skipped skipped"
  fi
  rm -f "$log_file"
  return "$status"
}

test_browser() {
  setup_wasm
  setup_browser
  browser_run chrome
  if setup_firefox; then
    browser_run firefox
  else
    printf '\n\033[1;33m*** SKIPPED: the Firefox browser tests (firefox-esr or geckodriver could not be installed) ***\033[0m\n'
  fi
}

vendor_js() {
  # Pinned packages from the npm registry, copied into www/vendor (git-ignored): uPlot for the
  # charts, fflate (its ESM browser build) to read product catalogues from .zip files.
  if [ ! -f www/vendor/uPlot.esm.js ] || [ ! -f www/vendor/fflate.js ]; then
    command -v npm >/dev/null || die "npm is missing: apt-get install npm"
    local tmp
    tmp=$(mktemp -d)
    mkdir -p www/vendor
    if [ ! -f www/vendor/uPlot.esm.js ]; then
      log "vendoring uPlot from npm"
      (cd "$tmp" && npm pack --silent uplot@1.6.32 >/dev/null && tar xzf uplot-1.6.32.tgz && rm uplot-1.6.32.tgz)
      cp "$tmp/package/dist/uPlot.esm.js" "$tmp/package/dist/uPlot.min.css" www/vendor/
      rm -rf "$tmp/package"
    fi
    if [ ! -f www/vendor/fflate.js ]; then
      log "vendoring fflate from npm"
      (cd "$tmp" && npm pack --silent fflate@0.8.3 >/dev/null && tar xzf fflate-0.8.3.tgz)
      cp "$tmp/package/esm/browser.js" www/vendor/fflate.js
      cp "$tmp/package/LICENSE" www/vendor/fflate.LICENSE
    fi
    rm -rf "$tmp"
  fi
}

web_data() {
  data_dir "${1:-}"
  if [ ! -f www/data/manifest.json ]; then
    log "writing data shards into www/data"
    "$CARGO_TARGET_DIR/release/fashion-trainer" shards --data "$FASHION_MNIST_DIR" --out www/data
  fi
}

# The pinned node packages of package.json (playwright-core, fflate, typescript, axe-core), installed at
# the root once.
node_packages() {
  command -v node >/dev/null || die "node is missing: apt-get install nodejs npm"
  [ -d node_modules/playwright-core ] && [ -d node_modules/fflate ] && [ -x node_modules/.bin/tsc ] \
    && [ -f node_modules/axe-core/axe.min.js ] \
    || npm install --no-audit --no-fund --silent
}

# The page's and the worker's JavaScript checked against js/protocol.js and the wasm package's
# generated TypeScript definitions (www/pkg/fashion_trainer.d.ts), and their imports for cycles.
check_types() {
  node_packages
  log "type-checking the page and the worker (tsc --noEmit)"
  node_modules/.bin/tsc -p www/tsconfig.json
  node_modules/.bin/tsc -p www/tsconfig.worker.json
  node --test --test-reporter=dot tests/e2e/modules.test.mjs
}

test_e2e() {
  build_native
  build_wasm
  vendor_js
  web_data
  offline_manifest
  setup_browser
  setup_interop
  check_types
  local site status
  log "end-to-end test of the page in headless Chromium (playwright-core, Debian's chromium)"
  e2e_against www 8765 / PAGE_URL tests/e2e/page.test.mjs tests/e2e/photos.test.mjs \
    tests/e2e/study.test.mjs tests/e2e/faults.test.mjs tests/e2e/hostile.test.mjs \
    tests/e2e/workers.test.mjs tests/e2e/interop.test.mjs tests/e2e/inside.test.mjs \
    tests/e2e/camera.test.mjs tests/e2e/offline.test.mjs tests/e2e/a11y.test.mjs \
    tests/e2e/recipes.test.mjs || return
  site=$(mktemp -d)
  copy_dist "$site/apps/fashion trainer/v1"
  log "the dist folder served under a sub-path (/apps/fashion%20trainer/v1/)"
  status=0
  e2e_against "$site" 8766 "/apps/fashion%20trainer/v1/" DIST_URL tests/e2e/dist.test.mjs || status=$?
  rm -rf "$site"
  return "$status"
}

# Serves DIR on 127.0.0.1:PORT and runs the e2e TESTS with VAR set to the page's URL (PATH on
# that server); the server stops with them.
e2e_against() {
  local dir=$1 port=$2 path=$3 var=$4 server status
  shift 4
  (cd "$dir" && exec python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1) &
  server=$!
  set +e
  env "$var=http://127.0.0.1:$port$path" CHROMIUM="$(command -v chromium)" \
    node --test --test-reporter=spec "$@"
  status=$?
  set -e
  kill "$server" 2>/dev/null || true
  return "$status"
}

# The files the page loads, relative to www/: what the service worker keeps for offline use and
# what a dist folder holds, besides the service worker itself and the data shards.
page_files() {
  (cd www && { printf '%s\n' index.html app.js worker.js replica-worker.js pkg/fashion_trainer.js \
    pkg/fashion_trainer_bg.wasm; find js worker css vendor pkg/snippets -type f; } \
    | grep -v '\.d\.ts$' | LC_ALL=C sort)
}

# www/offline.js: the page's files for the service worker (www/sw.js) and a hash of their
# contents, so a new build replaces the old copy in every browser that visited.
offline_manifest() {
  local files version
  files=$(page_files)
  version=$(cd www && echo "$files" | xargs sha256sum | sha256sum | cut -c1-16)
  {
    echo "// Written by ./build.sh (offline_manifest): the page's files for its service worker, sw.js."
    printf 'self.OFFLINE = {\n  version: "%s",\n  files: [\n    "./",\n' "$version"
    echo "$files" | sed 's/.*/    "&",/'
    printf '  ],\n};\n'
  } >www/offline.js
}

# The files the page needs, nothing else (no TypeScript definitions, tests or sources), into a
# folder that works from any static host and any sub-path: every URL in the page is relative and
# nothing needs special headers. A folder that is not an earlier dist is never replaced.
copy_dist() {
  local out=$1 marker=.fashion-trainer-dist
  if [ -e "$out" ]; then
    [ -f "$out/$marker" ] || die "$out exists and is not a dist folder: choose another (it is replaced)"
    rm -rf "$out"
  fi
  mkdir -p "$out"
  { page_files; printf '%s\n' sw.js offline.js; (cd www && find data -type f); } \
    | tar -C www -cf - -T - | tar -C "$out" -xf -
  : >"$out/$marker"
}

dist() {
  local out=${1:-dist}
  build_native
  build_wasm
  vendor_js
  web_data
  offline_manifest
  copy_dist "$out"
  log "$out: $(du -sh "$out" | cut -f1), $(find "$out" -type f | wc -l) files; serve it from any static host"
}

serve() {
  build_native
  build_wasm
  vendor_js
  web_data "${1:-}"
  offline_manifest
  log "serving www/ on http://127.0.0.1:8080 (Ctrl-C to stop)"
  cd www && exec python3 -m http.server 8080 --bind 127.0.0.1
}

cli() {
  build_native >&2
  "$CARGO_TARGET_DIR/release/fashion-trainer" "$@"
}

bench() {
  build_native
  build_wasm
  vendor_js
  web_data
  setup_browser
  node_packages
  # TF.js (the reference benchmark only: ~290 MB) has its own package.json, out of the tests' way.
  [ -d benches/tfjs/node_modules/@tensorflow/tfjs-backend-wasm ] \
    || (cd benches/tfjs && npm install --no-audit --no-fund --silent)
  data_dir
  log "benchmarks"
  bash benches/run.sh
}

# A sampling profile of one test of benches/browser.rs (default bench_training) in headless
# Chromium: self time per wasm function (benches/wasm-profile.mjs).
wasm_profile() {
  setup_wasm
  setup_browser
  node_packages
  log "building the browser benchmarks"
  wasm-pack test --headless --chrome --release --mode no-install . --no-default-features \
    --test bench_browser -- --list >/dev/null
  local module
  module=$(ls -t "$CARGO_TARGET_DIR/$WASM_TARGET/release/deps"/bench_browser-*.wasm | head -n1)
  log "profiling ${1:-bench_training}"
  CHROMIUM=$(command -v chromium) node benches/wasm-profile.mjs "$module" "${1:-bench_training}"
}

# The independent PyTorch reference (tests/reference/pytorch_lenet.py), in its own virtualenv
# outside the clone; PyPI's Linux torch wheel brings CUDA libraries (several GB) but runs on CPU.
reference() {
  local venv="$HOME/.cache/fashion-trainer/torch-venv"
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import torch' 2>/dev/null; then
    log "installing torch and numpy from PyPI into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'torch==2.15.*' numpy
  fi
  data_dir
  if [ "${1:-}" = interop ]; then
    reference_interop "$venv"
    return
  fi
  OMP_NUM_THREADS=1 "$venv/bin/python" tests/reference/pytorch_lenet.py --data "$FASHION_MNIST_DIR" "$@"
}

# Our safetensors export in the PyTorch reference model, and the reference's own state dict
# (safetensors.torch.save_file) imported by the CLI: both agree on all 10,000 test images.
reference_interop() {
  local venv=$1 dir bin
  "$venv/bin/python" -c 'import safetensors' 2>/dev/null || "$venv/bin/pip" install --quiet 'safetensors==0.8.*'
  setup_interop
  build_native
  bin="$CARGO_TARGET_DIR/release/fashion-trainer"
  dir=$(mktemp -d)
  "$bin" train --variant v1 --epochs 1 --limit-train 6000 --limit-eval 1000 --data "$FASHION_MNIST_DIR" --out "$dir/run" >/dev/null
  "$bin" export --model "$dir/run" --out "$dir/v1.safetensors" >/dev/null
  "$bin" evaluate --model "$dir/run" --data "$FASHION_MNIST_DIR" --logits "$dir/ours.csv" >/dev/null
  "$venv/bin/python" tests/reference/torch_interop.py --data "$FASHION_MNIST_DIR" --export "$dir/v1.safetensors" \
    --reference "$dir/ours.csv" --state-dict "$dir/torch.safetensors" --logits "$dir/torch.csv"
  "$bin" evaluate --model "$dir/torch.safetensors" --data "$FASHION_MNIST_DIR" --logits "$dir/torch-ours.csv" | head -n1
  "$INTEROP_PYTHON" tests/interop/check_exports.py compare --expected "$dir/torch.csv" --actual "$dir/torch-ours.csv"
  rm -rf "$dir"
}

# A prepared check for a machine with a real GPU and no network (issue 14). `gpu-bundle` builds
# the stripped release CLI into gpu-check/ (git-ignored; about 30 MB: carry it there); on that
# machine `gpu-check` needs nothing but the binary and a Vulkan driver: it trains base on
# generated images (the speed does not depend on them) on the GPU at batch 64 and 256 and on
# the CPU with every core, and counts the kernel launches per step from CubeCL's profiler.
gpu_bundle() {
  build_native
  mkdir -p gpu-check
  cp "$CARGO_TARGET_DIR/release/fashion-trainer" gpu-check/fashion-trainer
  strip gpu-check/fashion-trainer
  log "gpu-check/fashion-trainer: $(du -h gpu-check/fashion-trainer | cut -f1) (run ./build.sh gpu-check there)"
}

gpu_check() {
  local bin=${1:-gpu-check/fashion-trainer} rate launches
  [ -x "$bin" ] || die "no CLI at $bin: ./build.sh gpu-bundle builds one"
  rate() { sed -n 's/.*"images_per_second":\([0-9.]*\).*/\1/p' | xargs -r printf '%.0f'; }
  bench() { "$bin" bench --synthetic "$@" 2>&1 | tee -a gpu-check/bench.jsonl | rate; }
  # Kernel launches per step: CubeCL logs each one it profiles; two runs that differ by 8 steps.
  launches() {
    local n=()
    for batches in 4 12; do
      rm -f gpu-check/cubecl.log
      CUBECL_DEBUG_LOG=gpu-check/cubecl.log CUBECL_DEBUG_OPTION=profile \
        "$bin" bench --synthetic --backend gpu --batches "$batches" --warmup 2 >/dev/null 2>&1 || return 0
      n+=("$(grep -cE '^\| [0-9.]+(ns|µs|ms|s) +\|' gpu-check/cubecl.log || true)")
    done
    awk -v a="${n[0]}" -v b="${n[1]}" 'BEGIN {printf "%.1f", (b - a) / 8}'
  }
  mkdir -p gpu-check
  : >gpu-check/bench.jsonl
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
  printf '%-34s %12s\n' "base LeNet-5, generated images" "images/s"
  printf '%-34s %12s\n' "native wgpu (Vulkan), batch 64" "$(bench --backend gpu --batches 200 --warmup 20)"
  printf '%-34s %12s\n' "native wgpu (Vulkan), batch 256" "$(bench --backend gpu --batch-size 256 --batches 100 --warmup 10)"
  printf '%-34s %12s\n' "native flex, every core, batch 64" "$(bench --backend cpu --batches 200 --warmup 20)"
  printf '%-34s %12s\n' "native flex, 1 thread, batch 64" "$(bench --backend cpu --threads 1 --batches 200 --warmup 20)"
  printf '%-34s %12s\n' "auto chooses" "$("$bin" bench --synthetic --backend auto --batches 40 --warmup 5 2>&1 \
    | sed -n 's/.*"backend":"\([a-z]*\)".*/\1/p')"
  printf '%-34s %12s\n' "GPU kernel launches per step" "$(launches)"
}

# Coverage-guided fuzzing of the parsers (fuzz/: cargo-fuzz and libFuzzer, with AddressSanitizer).
# cargo-fuzz needs nightly flags (-Z); RUSTC_BOOTSTRAP=1 lets the stable toolchain take them. The
# fuzz crate is a workspace of its own with its own target dir, so the project's builds never see
# it; each target grows its corpus outside the clone from the committed seeds in fuzz/seeds/, runs
# on one core (one process) until SECONDS or 10 million executions, and leaves crashes in
# fuzz/artifacts/TARGET/.
fuzz() {
  local targets=(idx catalogue study shards weights photo) seconds=${2:-1800} target
  if [ -n "${1:-}" ] && [ "$1" != all ]; then targets=("$1"); fi
  setup_native
  if ! command -v cargo-fuzz >/dev/null; then
    log "installing cargo-fuzz (cargo install)"
    cargo install cargo-fuzz --locked
  fi
  local corpus="$HOME/.cache/fashion-trainer/fuzz-corpus"
  for target in "${targets[@]}"; do
    [ -f "fuzz/fuzz_targets/$target.rs" ] || die "no fuzz target '$target' in fuzz/fuzz_targets"
    mkdir -p "$corpus/$target"
    local seeds="seeds/$target" extra=()
    # Photos derived from the catalogue are not committed: they are made here (Pillow) when the
    # catalogue is at hand, else the corpus grown so far is the only start.
    if [ "$target" = photo ]; then
      seeds="$HOME/.cache/fashion-trainer/fuzz-seeds/photo"
      local catalogue=../shared/data/fashion-products
      if [ ! -d "$seeds" ] && [ -f "$catalogue/styles.csv" ]; then
        python3 fuzz/make_photo_seeds.py "$catalogue" "$seeds" || log "no photo seeds (python3 with Pillow is needed)"
      fi
      mkdir -p "$seeds"
    fi
    # The safetensors seed is made from the committed .ftw seed by the CLI, not committed itself.
    if [ "$target" = weights ]; then
      extra=("$HOME/.cache/fashion-trainer/fuzz-seeds/weights")
      if [ ! -f "${extra[0]}/tiny-untrained.safetensors" ]; then
        build_native
        mkdir -p "${extra[0]}"
        "$CARGO_TARGET_DIR/release/fashion-trainer" export --model fuzz/seeds/weights/tiny-untrained.ftw \
          --out "${extra[0]}/tiny-untrained.safetensors" >/dev/null
      fi
    fi
    log "fuzzing $target for $seconds s or 10 million executions (corpus: $corpus/$target)"
    # -rss_limit_mb: a photo decoder may use 512 MB (photo::MAX_DECODER_BYTES), nothing needs 4 GB;
    # -timeout: one input taking 30 s is a hang.
    (cd fuzz && RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/fashion-trainer/fuzz-target}" \
      cargo fuzz run "$target" "$corpus/$target" "$seeds" "${extra[@]}" -- \
      -max_total_time="$seconds" -runs=10000000 -rss_limit_mb=4096 -timeout=30 -print_final_stats=1)
  done
}

cmd=${1:-help}
shift || true
case "$cmd" in
  setup) setup_wasm; setup_browser; setup_firefox || true ;;
  data) data_dir "${1:-}"; echo "Fashion-MNIST is in $FASHION_MNIST_DIR" ;;
  native) build_native ;;
  wasm) build_wasm ;;
  dist) dist "${1:-}" ;;
  cli) cli "$@" ;;
  test)
    test_native
    test_browser
    test_e2e
    ;;
  test-e2e) test_e2e ;;
  typecheck) build_wasm; check_types ;;
  test-native) test_native ;;
  test-browser) test_browser ;;
  bench) bench ;;
  wasm-profile) wasm_profile "${1:-}" ;;
  reference) reference "$@" ;;
  gpu-bundle) gpu_bundle ;;
  gpu-check) gpu_check "${1:-}" ;;
  serve) serve "${1:-}" ;;
  fuzz) fuzz "${1:-}" "${2:-}" ;;
  help|-h|--help) sed -n '2,/^set -euo/{/^#/p}' "$0" | sed 's/^# \{0,1\}//' ;;
  *) die "unknown command '$cmd' (try ./build.sh help)" ;;
esac
