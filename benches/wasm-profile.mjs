// Where the wasm core spends a browser test's time, function by function: serves a test module
// of benches/browser.rs with wasm-bindgen-test-runner (interactive mode), runs it in headless
// Chromium under CDP's sampling profiler and prints self time per function, with the callers of
// the busiest (the module keeps its function names). `./build.sh wasm-profile [TEST]` runs it.
//
//   node benches/wasm-profile.mjs MODULE.wasm [TEST] [OUT.cpuprofile]

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const [module, test = 'bench_training', out = 'bench-results/wasm-profile.cpuprofile'] = process.argv.slice(2);
if (!module) {
  console.error('usage: node benches/wasm-profile.mjs MODULE.wasm [TEST] [OUT.cpuprofile]');
  process.exit(2);
}
const address = '127.0.0.1:8791';
const runner = spawn('wasm-bindgen-test-runner', [module, test, '--nocapture'], {
  env: { ...process.env, NO_HEADLESS: '1', WASM_BINDGEN_TEST_ADDRESS: address },
  stdio: ['ignore', 'pipe', 'inherit'],
});
await new Promise((resolve, reject) => {
  runner.stdout.on('data', (chunk) => String(chunk).includes('http://') && resolve());
  runner.on('exit', (code) => reject(new Error(`wasm-bindgen-test-runner exited (${code})`)));
});

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
let profile;
try {
  const page = await browser.newPage();
  page.on('console', (message) => /^(BENCH|PROFILE|OP) /.test(message.text()) && console.log(message.text()));
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 }); // microseconds
  await cdp.send('Profiler.start');
  await page.goto(`http://${address}/`);
  // The runner writes the test's report into #output; done once it has "test result:".
  const finished = await page.waitForFunction(
    () => {
      const text = document.getElementById('output')?.textContent ?? '';
      return /test result:/.test(text) && text;
    },
    null,
    { timeout: 900_000, polling: 1000 },
  );
  ({ profile } = await cdp.send('Profiler.stop'));
  const text = await finished.jsonValue();
  if (!/ 1 passed/.test(text)) throw new Error(`the test did not pass:\n${text.slice(-2000)}`);
} finally {
  await browser.close();
  runner.kill();
}
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify(profile));

// Self time per function; a name loses its hash suffix, so generic copies add up.
const name = (node) => (node.callFrame.functionName || `(${node.callFrame.url.split('/').pop() || 'native'})`).replace(/::h[0-9a-f]{16}$/, '');
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const self = new Map();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + profile.timeDeltas[i]));
const byName = new Map();
const callers = new Map();
for (const [id, micros] of self) {
  const fn = name(nodes.get(id));
  byName.set(fn, (byName.get(fn) ?? 0) + micros);
  const chain = [];
  for (let at = parent.get(id); at !== undefined && chain.length < 3; at = parent.get(at)) chain.push(name(nodes.get(at)).slice(-60));
  const key = `${fn}\n${chain.join(' <- ')}`;
  callers.set(key, (callers.get(key) ?? 0) + micros);
}
const total = [...byName.values()].reduce((a, b) => a + b, 0);
const top = [...byName].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 30));
console.log(`\n${test}: ${(total / 1e3).toFixed(0)} ms sampled; self time by function`);
console.log('    ms       %  function');
for (const [fn, micros] of top) console.log(`${(micros / 1e3).toFixed(0).padStart(6)} ${((100 * micros) / total).toFixed(1).padStart(6)}  ${fn.slice(0, 120)}`);
console.log('\ncallers of the ten busiest (up to three frames):');
for (const [fn] of top.slice(0, 10)) {
  const rows = [...callers].filter(([key]) => key.startsWith(`${fn}\n`)).sort((a, b) => b[1] - a[1]).slice(0, 3);
  console.log(fn.slice(0, 100));
  for (const [key, micros] of rows) console.log(`  ${(micros / 1e3).toFixed(0).padStart(6)} ms  ${key.split('\n')[1]}`);
}
console.log(`\nraw profile: ${out} (Chromium's DevTools open it: Performance > Load profile)`);
