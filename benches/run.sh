#!/usr/bin/env bash
# Training-speed benchmark (./build.sh bench): base LeNet-5, batch 64, Adam, 20 warm-up batches
# then 200 timed ones, median of 3 runs, on every backend this machine has, and the same model
# trained by TF.js's wasm backend in the same headless Chromium (benches/tfjs) for reference;
# then where a training step's time goes, phase by phase, in the browser and natively
# (benches/profiling). Results go to bench-results/ (git-ignored) and tables on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$CARGO_TARGET_DIR/release/fashion-trainer"
mkdir -p bench-results
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
rate() { sed -n 's/.*"images_per_second":\([0-9.]*\).*/\1/p'; }

rows=()
run_native() { # backend
  local runs=() r
  for _ in 1 2 3; do
    r=$("$bin" bench --backend "$1" --batches 200 --warmup 20 2>/dev/null | tee -a bench-results/native-"$1".jsonl | rate) || return 1
    runs+=("$r")
  done
  printf '%s\n' "${runs[@]}" | median
}

# Natively, side by side: full epochs of base on real data (20 untimed warm-up batches, then 760
# timed ones: 48,640 images), ours at 1 and 2 threads and PyTorch (when the reference's venv has
# torch: ./build.sh reference installs it) at the same thread counts, alternating, median of 3.
torch_py="$HOME/.cache/fashion-trainer/torch-venv/bin/python"
have_torch=0
"$torch_py" -c 'import torch' 2>/dev/null && have_torch=1
declare -A epochs=()
for round in 1 2 3; do
  for threads in 1 2; do
    r=$("$bin" bench --backend cpu --threads "$threads" --batches 760 --warmup 20 2>/dev/null \
        | tee -a bench-results/native-epochs.jsonl | rate) || r=failed
    epochs[ours-$threads]+="$r "
    if [ "$have_torch" = 1 ]; then
      r=$(OMP_NUM_THREADS=$threads "$torch_py" benches/torch_epoch.py --data "$FASHION_MNIST_DIR" \
          --threads "$threads" --batches 760 --warmup 20 2>/dev/null | tee -a bench-results/torch-epochs.jsonl | rate) || r=failed
      epochs[torch-$threads]+="$r "
    fi
  done
done
for key in ours-1 torch-1 ours-2 torch-2; do
  [ -n "${epochs[$key]:-}" ] || continue
  echo "native epochs $key (img/s): ${epochs[$key]}"
done
median_of() { { tr ' ' '\n' <<<"$1" | grep -E '^[0-9.]+$' || true; } | median | xargs -r printf "%.0f"; }
rows+=("native flex 1 thread|$(median_of "${epochs[ours-1]}")")
rows+=("native flex 2 threads|$(median_of "${epochs[ours-2]}")")
if [ "$have_torch" = 1 ]; then
  rows+=("pytorch cpu 1 thread|$(median_of "${epochs[torch-1]}")")
  rows+=("pytorch cpu 2 threads|$(median_of "${epochs[torch-2]}")")
else
  rows+=("pytorch cpu|not installed (./build.sh reference)")
fi
if gpu=$(run_native gpu | xargs printf "%.0f") && [ -n "$gpu" ]; then
  rows+=("native wgpu|$gpu")
else
  rows+=("native wgpu|no adapter")
fi
# Chromium's SwiftShader, the adapter headless Chromium gives the page, through its Vulkan driver:
# the GPU path on the same device as the page's WebGPU numbers (one shorter run: ~2 steps a
# second), and CubeCL's profiler on which kernels a step's time goes to.
swiftshader=/usr/lib/chromium/vk_swiftshader_icd.json
if [ -f "$swiftshader" ]; then
  on_swiftshader=(env VK_ICD_FILENAMES="$swiftshader" LD_LIBRARY_PATH=/usr/lib/chromium)
  gpu=$("${on_swiftshader[@]}" "$bin" bench --backend gpu --batches 40 --warmup 5 2>/dev/null | tee bench-results/native-swiftshader.jsonl | rate) \
    && rows+=("native wgpu (SwiftShader)|$(printf "%.0f" "$gpu")") || rows+=("native wgpu (SwiftShader)|failed")
  # The GPU's larger-batch option (x4: batch 256): the same launches per step, 4x the images.
  gpu=$("${on_swiftshader[@]}" "$bin" bench --backend gpu --batch-size 256 --batches 10 --warmup 2 2>/dev/null | tee bench-results/native-swiftshader-256.jsonl | rate) \
    && rows+=("native wgpu (SwiftShader) b256|$(printf "%.0f" "$gpu")") || rows+=("native wgpu (SwiftShader) b256|failed")
  # Kernel launches per training step: CubeCL logs every kernel it profiles; two runs 8 steps
  # apart. (Submissions and readbacks are counted in the page: benches/page-bench.mjs.)
  counts=()
  for batches in 4 12; do
    rm -f bench-results/cubecl-count.log
    "${on_swiftshader[@]}" CUBECL_DEBUG_LOG=bench-results/cubecl-count.log CUBECL_DEBUG_OPTION=profile \
      "$bin" bench --synthetic --backend gpu --batches "$batches" --warmup 2 >/dev/null 2>&1 || true
    counts+=("$(grep -cE '^\| [0-9.]+(ns|µs|ms|s) +\|' bench-results/cubecl-count.log 2>/dev/null || true)")
  done
  rows+=("native wgpu launches/step|$(awk -v a="${counts[0]:-0}" -v b="${counts[1]:-0}" 'BEGIN {printf "%.1f", (b - a) / 8}')")
  rm -f bench-results/cubecl-kernels.log
  "${on_swiftshader[@]}" CUBECL_DEBUG_LOG=bench-results/cubecl-kernels.log CUBECL_DEBUG_OPTION=profile-medium \
    "$bin" bench --backend gpu --batches 10 --warmup 2 >/dev/null 2>&1 || true
  # "| 12.5ms | KernelName_hash ..." lines: milliseconds per step of each kernel, over the 12 steps.
  kernels=$(awk -F'|' 'NF >= 3 && $2 ~ /^ *[0-9.]+(ns|µs|ms|s) *$/ {
      t = $2; gsub(/ /, "", t); v = t + 0
      if (t ~ /ns$/) v /= 1e6; else if (t ~ /µs$/) v /= 1e3; else if (t !~ /ms$/) v *= 1e3
      name = $3; if (NF >= 4 && name !~ /Matmul/) name = name "/" $4
      gsub(/ /, "", name); sub(/_[0-9a-f]+$/, "", name)
      ms[name] += v; total += v
    } END { for (n in ms) printf "%s %.2f %.1f\n", n, ms[n] / 12, 100 * ms[n] / total }' \
    bench-results/cubecl-kernels.log 2>/dev/null | sort -k2 -n -r | head -12 || true)
fi

# Time to accuracy, natively (DAWNBench style): the fast preset (a fixed number of epochs on
# train+val, every core), its epochs' training seconds and its test top-1; the page's is measured
# by benches/page-bench.mjs.
if "$bin" train --variant fast --out bench-results/fast --force >bench-results/fast.log 2>&1; then
  read -r fast_s fast_acc < <(python3 -c 'import json, sys
h = json.load(open(sys.argv[1] + "/history.json")); r = json.load(open(sys.argv[1] + "/results.json"))
print("%.1f %.2f" % (sum(e["seconds"] for e in h), 100 * r["test_report"]["accuracy"]))' bench-results/fast)
  rows+=("native fast train s (all cores)|$fast_s")
  rows+=("native fast test top-1 %|$fast_acc")
else
  rows+=("native fast train s (all cores)|failed")
fi

# Photos: preprocessing + prediction per photo and catalogue throughput, natively, with a
# quickly trained model (speed does not depend on its accuracy).
products=../shared/data/fashion-products
if [ -f "$products/styles.csv" ]; then
  "$bin" train --variant base --epochs 1 --limit-train 2000 --limit-eval 200 --out bench-results/model --force >/dev/null 2>&1
  out=$("$bin" evaluate-products --model bench-results/model --catalogue "$products" --limit 2000 2>/dev/null \
        | tee bench-results/products.log | tail -n1)
  # "<s> s preprocessing (<n> photos/s), <s> s predicting"
  read -r pre _ _ _ _ predict _ <<<"$out"
  rows+=("native catalogue photos/s|$(awk -v p="$pre" -v q="$predict" 'BEGIN {printf "%.0f", 2000 / (p + q)}')")
  rows+=("native photo ms (prep+pred)|$(awk -v p="$pre" -v q="$predict" 'BEGIN {printf "%.2f", 1000 * (p + q) / 2000}')")
fi

# In-browser numbers come from the bench browser test, which prints "BENCH name img/s".
if [ "${SKIP_BROWSER_BENCH:-}" != 1 ]; then
  out=$(WASM_BINDGEN_TEST_TIMEOUT=900 wasm-pack test --headless --chrome --release --mode no-install . \
        --no-default-features --test bench_browser -- --nocapture 2>&1 | tee bench-results/browser.log) || true
  while read -r _ name value; do rows+=("$name|$value"); done < <(grep -o 'BENCH [^ ]* [^ ]*' <<<"$out" || true)
  profile_wasm=$(grep -o 'PROFILE [^ ]* [^ ]* [^ ]*' <<<"$out" || true)
  ops_wasm=$(grep -o 'OP [^ ]* [^ ]*' <<<"$out" || true)
fi

# The page: ready-to-train times and the Web Worker's training speed (needs www/ built).
if [ "${SKIP_PAGE_BENCH:-}" != 1 ]; then
  (cd www && exec python3 -m http.server 8766 --bind 127.0.0.1 >/dev/null 2>&1) &
  server=$!
  out=$(PAGE_URL=http://127.0.0.1:8766/ CHROMIUM=$(command -v chromium) node benches/page-bench.mjs 2>&1 \
        | tee bench-results/page.log) || true
  kill "$server" 2>/dev/null || true
  while read -r _ name value; do rows+=("$name|$value"); done < <(grep -o 'BENCH [^ ]* [^ ]*' <<<"$out" || true)
fi
# The page's memory at every epoch's end: base for 15 epochs on all the data, then a 5-run study
# (benches/page-memory.mjs; about 10 minutes on two cores). Its curve is printed at the end.
if [ "${SKIP_PAGE_MEMORY_BENCH:-}" != 1 ]; then
  (cd www && exec python3 -m http.server 8768 --bind 127.0.0.1 >/dev/null 2>&1) &
  server=$!
  memory_out=$(PAGE_URL=http://127.0.0.1:8768/ CHROMIUM=$(command -v chromium) node benches/page-memory.mjs 2>&1 \
        | tee bench-results/page-memory.log) || true
  kill "$server" 2>/dev/null || true
  while read -r _ name value; do rows+=("$name|$value"); done < <(grep -o 'BENCH [^ ]* [^ ]*' <<<"$memory_out" || true)
fi
# TF.js 4.22.0 (benches/tfjs/node_modules) training the same model on its wasm backend (SIMD, one
# thread) in the same Chromium, served from benches by a local server; nothing is fetched from
# elsewhere. Its missing Conv2DBackpropFilter kernel is registered and checked by the page.
if [ "${SKIP_TFJS_BENCH:-}" != 1 ]; then
  if [ -d benches/tfjs/node_modules/@tensorflow/tfjs-backend-wasm ]; then
    (cd benches && exec python3 -m http.server 8767 --bind 127.0.0.1 >/dev/null 2>&1) &
    server=$!
    sleep 1
    out=$(TFJS_URL=http://127.0.0.1:8767/tfjs/index.html CHROMIUM=$(command -v chromium) \
          node benches/tfjs/run.mjs 2>&1 | tee bench-results/tfjs.log) || true
    kill "$server" 2>/dev/null || true
    # What was registered and how it was checked, then the timings.
    grep -v '^BENCH ' <<<"$out" || true
    while read -r _ name value; do rows+=("$name|$value"); done < <(grep -o 'BENCH [^ ]* [^ ]*' <<<"$out" || true)
  else
    rows+=("tfjs-wasm|not installed")
  fi
fi

# Per-phase profile of a native flex training step.
if [ "${SKIP_PROFILE:-}" != 1 ]; then
  profile_native=$(cargo bench --bench profile 2>&1 \
                   | tee bench-results/profile-native.log | grep -o 'PROFILE [^ ]* [^ ]* [^ ]*' || true)
  # The flex ops of that step one by one (the numbers behind vendor/burn-flex/PATCH.md).
  ops_native=$(cargo bench --bench opbench 2>&1 \
               | tee bench-results/ops-native.log | grep -o 'OP [^ ]* [^ ]*' || true)
fi

# Ratios of in-browser training speeds from this run: the page's CPU worker and the wasm flex
# bench against TF.js's wasm backend.
row() { local r; for r in "${rows[@]}"; do [ "${r%%|*}" = "$1" ] && echo "${r#*|}"; done; return 0; }
ratio() { # name numerator-row denominator-row
  local a b
  a=$(row "$2"); b=$(row "$3")
  if [[ "$a" =~ ^[0-9.]+$ && "$b" =~ ^[0-9.]+$ ]] && [ "$b" != 0 ]; then
    rows+=("$1|$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", a / b}')")
  fi
  return 0
}
ratio "ratio page-cpu / tfjs-wasm" page-train-cpu-img/s tfjs-wasm
ratio "ratio page-all / tfjs-wasm" page-train-cpu-all-workers-img/s tfjs-wasm
ratio "ratio page-all / page-1" page-train-cpu-all-workers-img/s page-train-cpu-img/s
ratio "ratio page-all / native-2" page-train-cpu-all-workers-img/s "native flex 2 threads"
ratio "ratio native 2 / 1 thread" "native flex 2 threads" "native flex 1 thread"
ratio "ratio ours / torch, 1 thr" "native flex 1 thread" "pytorch cpu 1 thread"
ratio "ratio ours / torch, 2 thr" "native flex 2 threads" "pytorch cpu 2 threads"
ratio "ratio wasm-flex / tfjs-wasm" wasm-flex-simd tfjs-wasm
ratio "ratio webgpu x4 / x1 batches" page-train-webgpu-x4-batches-img/s page-train-webgpu-img/s
ratio "ratio swiftshader b256 / b64" "native wgpu (SwiftShader) b256" "native wgpu (SwiftShader)"

wasm=www/pkg/fashion_trainer_bg.wasm
if [ -f "$wasm" ]; then
  rows+=("wasm size raw (MB)|$(awk -v b="$(wc -c <"$wasm")" 'BEGIN {printf "%.1f", b / 1048576}')")
  rows+=("wasm size gzip -9 (MB)|$(awk -v b="$(gzip -9c "$wasm" | wc -c)" 'BEGIN {printf "%.1f", b / 1048576}')")
fi

printf '\n%-28s %12s\n' "training, base, batch 64" "images/s"
printf '%-28s %12s\n' "----------------------------" "------------"
# (rows named *-s are seconds, *(MB) megabytes, *-MiB mebibytes, ratio * plain ratios)
for r in "${rows[@]}"; do
  printf '%-28s %12s\n' "${r%%|*}" "${r#*|}"
done

# Where a flex training step's time goes (base, batch 64; sync readback after every phase).
if [ -n "${profile_wasm:-}${profile_native:-}" ]; then
  printf '\n%-12s %10s %7s %10s %7s\n' "step phase" "wasm ms" "%" "native ms" "%"
  printf '%-12s %10s %7s %10s %7s\n' "------------" "----------" "-------" "----------" "-------"
  phases=$( (awk '{print $2}' <<<"${profile_wasm:-}"; awk '{print $2}' <<<"${profile_native:-}") \
            | awk 'NF && !seen[$0]++')
  for phase in $phases; do
    w=$(awk -v p="$phase" '$2 == p {print $3, $4}' <<<"${profile_wasm:-}")
    n=$(awk -v p="$phase" '$2 == p {print $3, $4}' <<<"${profile_native:-}")
    printf '%-12s %10s %7s %10s %7s\n' "$phase" ${w:-- -} ${n:-- -}
  done
fi

if [ -n "${kernels:-}" ]; then
  printf '\n%-32s %10s %7s\n' "GPU kernel (SwiftShader)" "ms/step" "%"
  printf '%-32s %10s %7s\n' "--------------------------------" "----------" "-------"
  awk '{printf "%-32s %10s %7s\n", $1, $2, $3}' <<<"$kernels"
fi

if [ -n "${memory_out:-}" ]; then
  grep -v '^BENCH ' <<<"$memory_out" || true
fi

if [ -n "${ops_wasm:-}${ops_native:-}" ]; then
  printf '\n%-20s %10s %10s %7s\n' "flex op, ms/call" "wasm" "native" "ratio"
  printf '%-20s %10s %10s %7s\n' "--------------------" "----------" "----------" "-------"
  ops=$( (awk '{print $2}' <<<"${ops_wasm:-}"; awk '{print $2}' <<<"${ops_native:-}") | awk 'NF && !seen[$0]++')
  for op in $ops; do
    w=$(awk -v p="$op" '$2 == p {print $3}' <<<"${ops_wasm:-}")
    n=$(awk -v p="$op" '$2 == p {print $3}' <<<"${ops_native:-}")
    r=$(awk -v w="${w:-}" -v n="${n:-}" 'BEGIN {if (w != "" && n > 0) printf "%.1f", w / n; else print "-"}')
    printf '%-20s %10s %10s %7s\n' "$op" "${w:--}" "${n:--}" "$r"
  done
fi
