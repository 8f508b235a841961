// The page's and the worker's ES modules import each other without cycles (a feature module
// never imports another feature's; shared ones sit below). Run by `./build.sh typecheck`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

const WWW = new URL('../../www/', import.meta.url).pathname;
const modules = ['app.js', 'worker.js', ...['js', 'worker'].flatMap((dir) => readdirSync(join(WWW, dir)).map((f) => `${dir}/${f}`))]
  .filter((f) => f.endsWith('.js'));

/** Module → the modules of ours it imports (static imports only). */
function graph() {
  const edges = new Map();
  for (const file of modules) {
    const text = readFileSync(join(WWW, file), 'utf8');
    const imported = [...text.matchAll(/^import[^'"]*['"](\.[^'"]+)['"]/gm)].map((m) => normalize(join(dirname(file), m[1])));
    edges.set(file, imported.filter((f) => modules.includes(f)));
  }
  return edges;
}

test('no module imports itself through others', () => {
  const edges = graph();
  const done = new Set();
  const cycles = [];
  const visit = (file, path) => {
    if (path.includes(file)) {
      cycles.push([...path.slice(path.indexOf(file)), file].join(' -> '));
      return;
    }
    if (done.has(file)) return;
    for (const next of edges.get(file) ?? []) visit(next, [...path, file]);
    done.add(file);
  };
  for (const file of modules) visit(file, []);
  assert.deepEqual(cycles, []);
  assert.ok(modules.length > 20, `the modules were found (${modules.length})`);
});

test('the page and the worker share only the protocol', () => {
  const edges = graph();
  for (const [file, imports] of edges) {
    const side = file.startsWith('worker') ? 'worker' : 'page';
    for (const other of imports) {
      const otherSide = other.startsWith('worker') ? 'worker' : 'page';
      if (side !== otherSide) assert.equal(other, 'js/protocol.js', `${file} imports ${other}`);
    }
  }
});
