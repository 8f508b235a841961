// Accessibility (issue 16): axe-core (npm, pinned in package.json) finds no serious or critical
// violation in the page as it starts, after a run with its charts, test report, confusion
// matrix, "inside the network" view and a photo; the
// learning curves have their numbers as a table; the run controls work from the keyboard.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASE, PRODUCTS, launch, newPage, openFirstTestImage, openReady } from './browser.mjs';

const AXE = readFileSync(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');

/** The serious and critical violations axe finds now, one line each. */
async function violations(page) {
  // Evaluated through the DevTools protocol: the page's Content-Security-Policy stays as it is.
  await page.evaluate(AXE);
  const found = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  });
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.join(', ')})`);
}

test('axe finds no serious or critical violation; curves as a table; keyboard run controls', { timeout: 600_000 }, async () => {
  const browser = await launch();
  try {
    const { page, errors } = await newPage(browser);
    await openReady(page, `${BASE}?limit=2000`);
    assert.deepEqual(await violations(page), [], 'the page as it starts');

    // Keyboard only: focus the epochs field, type, Tab to Start and press Enter.
    await page.selectOption('#backend', 'cpu');
    await page.focus('#epochs');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('2');
    await page.focus('#start');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /finished/.test(document.querySelector('#status').textContent), null, { timeout: 300_000 });
    const rows = await page.$$eval('#curves-table tbody tr', (trs) => trs.map((tr) => tr.textContent));
    assert.equal(rows.length, 2, `one row per epoch: ${rows}`);
    assert.match(rows[1], /^2/);

    await openFirstTestImage(page);
    await page.locator('#prediction button[data-action="look-inside"]').click();
    await page.waitForFunction(() => !document.querySelector('#inside-view').hidden);
    await page.setInputFiles('#photo-files', join(PRODUCTS, 'images', '12993.jpg'));
    await page.waitForFunction(() => document.querySelector('.photo-card button[data-action="look-inside"]'), null, { timeout: 60_000 });
    await page.click('#export-help summary');
    assert.deepEqual(await violations(page), [], 'after a run, its evaluation, a look inside and a photo');
    assert.deepEqual(errors, [], 'no uncaught page errors');
  } finally {
    await browser.close();
  }
});
