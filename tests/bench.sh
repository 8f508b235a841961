#!/usr/bin/env bash
# Training-speed benchmark (./build.sh bench): base LeNet-5, batch 64, Adam, 20 warm-up batches
# then 200 timed ones, median of 3 runs, on every backend this machine has. Results go to
# bench-results/ (git-ignored) and a table on stdout.
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

cpu=$(run_native cpu | xargs printf "%.0f")
rows+=("native flex (1 thread)|$cpu")
if gpu=$(run_native gpu | xargs printf "%.0f") && [ -n "$gpu" ]; then
  rows+=("native wgpu|$gpu")
else
  rows+=("native wgpu|no adapter")
fi

# Photos: preprocessing + prediction per photo and catalogue throughput, natively, with a
# quickly trained model (speed does not depend on its accuracy).
products=../shared/data/fashion-products
if [ -f "$products/styles.csv" ]; then
  "$bin" train --variant base --epochs 1 --limit-train 2000 --limit-eval 200 --out bench-results/model >/dev/null 2>&1
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
fi

# The page: ready-to-train times and the Web Worker's training speed (needs www/ built).
if [ "${SKIP_PAGE_BENCH:-}" != 1 ]; then
  (cd www && exec python3 -m http.server 8766 --bind 127.0.0.1 >/dev/null 2>&1) &
  server=$!
  out=$(PAGE_URL=http://127.0.0.1:8766/ CHROMIUM=$(command -v chromium) node tests/e2e/page-bench.mjs 2>&1 \
        | tee bench-results/page.log) || true
  kill "$server" 2>/dev/null || true
  while read -r _ name value; do rows+=("$name|$value"); done < <(grep -o 'BENCH [^ ]* [^ ]*' <<<"$out" || true)
fi
wasm=www/pkg/fashion_trainer_bg.wasm
if [ -f "$wasm" ]; then
  rows+=("wasm size raw (MB)|$(awk -v b="$(wc -c <"$wasm")" 'BEGIN {printf "%.1f", b / 1048576}')")
  rows+=("wasm size gzip -9 (MB)|$(awk -v b="$(gzip -9c "$wasm" | wc -c)" 'BEGIN {printf "%.1f", b / 1048576}')")
fi

printf '\n%-28s %12s\n' "training, base, batch 64" "images/s"
printf '%-28s %12s\n' "----------------------------" "------------"
# (rows named *-s are seconds, *(MB) megabytes)
for row in "${rows[@]}"; do
  printf '%-28s %12s\n' "${row%%|*}" "${row#*|}"
done
