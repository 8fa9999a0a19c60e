// Browser end-to-end test of `flowrun console`, run by scripts/e2e-console.sh:
// playwright-core drives Debian's chromium through the pages, runs an action
// from its form, follows a failed run to its failing step, checks that the
// diagrams render and that no page shows the connection's secret, parses the
// Mermaid of every flow with mermaid's own parser, and saves screenshots.
//
// usage: node e2e.mjs CONSOLE_URL SECRET SCREENSHOT_DIR
import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const [base, secret, shots] = process.argv.slice(2);
if (!base || !secret || !shots) {
  console.error('usage: node e2e.mjs CONSOLE_URL SECRET SCREENSHOT_DIR');
  process.exit(2);
}
const url = (p) => new URL(p, base).toString();

let failures = 0;
function check(ok, what) {
  if (ok) {
    console.log(`ok    ${what}`);
  } else {
    failures++;
    console.log(`FAIL  ${what}`);
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
const cspErrors = [];
page.on('console', (m) => { if (m.type() === 'error') cspErrors.push(m.text()); });
page.on('pageerror', (e) => cspErrors.push(String(e)));

// every page the test sees must not show the secret
const seen = new Set();
async function noSecret() {
  const html = await page.content();
  seen.add(page.url());
  check(!html.includes(secret), `no secret in ${new URL(page.url()).pathname}`);
}

// home
await page.goto(url('/'));
check((await page.title()).includes('flowrun console'), 'home page title');
await noSecret();
await page.screenshot({ path: path.join(shots, 'console-home.png') });

// connector page, via its link
await page.click('a[href="/c/example/"] >> nth=-1');
await page.waitForURL(/\/c\/example\/$/);
check(await page.locator('section#type-action .flowcard').count() >= 3, 'connector page lists the action flows');
await noSecret();
await page.screenshot({ path: path.join(shots, 'console-connector.png') });

// flow page with its diagram
await page.click('a[href="/c/example/flows/summarize"]');
await page.waitForURL(/flows\/summarize$/);
const svg = page.locator('svg.flow-graph');
check(await svg.count() === 1, 'flow page has the SVG diagram');
const box = await svg.boundingBox();
check(box && box.width > 200 && box.height > 400, `the SVG renders with a size (${box && Math.round(box.width)}x${box && Math.round(box.height)})`);
const cards = await page.locator('svg.flow-graph g.node[data-step]').count();
check(cards >= 15, `the diagram has a card per step (${cards})`);
const cardBox = await page.locator('svg.flow-graph g.node[data-step="counted"] rect').boundingBox();
check(cardBox && cardBox.width > 100, 'a step card is drawn');
await noSecret();
await page.screenshot({ path: path.join(shots, 'console-flow.png'), fullPage: true });

// a call node links to the helper's diagram
await page.click('svg.flow-graph g.node[data-kind="call"] a');
await page.waitForURL(/flows\/classify$/);
check(await page.locator('svg.flow-graph g.node[data-kind="switch"]').count() === 1, 'a call links to the helper flow diagram');
await page.goBack();

// run the action from its form
await page.fill('#in-orders', '[{"id":"a","amount":120,"status":"paid"},{"id":"b","amount":30,"status":"refunded"},{"id":"c","amount":5}]');
await page.fill('#in-pause', '0s');
await page.click('#run-button');
await page.waitForURL(/\/runs\/\d+$/);
check((await page.textContent('#run-status')).trim() === 'ok', 'the run from the form succeeded');
const outputs = JSON.parse(await page.textContent('#run-outputs'));
check(outputs.total_paid === 120 && outputs.refunded === 30 && outputs.count === 3, `its outputs are shown (${JSON.stringify(outputs)})`);
check(await page.locator('svg.flow-graph g.node.status-ok').count() >= 5, 'the run is laid over the diagram');
check(await page.locator('tr.step').count() >= 10, 'the run page lists the steps');
await page.locator('tr.step details >> nth=0').locator('summary').click();
await noSecret();
await page.screenshot({ path: path.join(shots, 'console-run.png'), fullPage: true });

// a failed run: a wait that is not a duration
await page.goto(url('/c/example/flows/summarize'));
await page.fill('#in-orders', '[{"id":"a","amount":1}]');
await page.fill('#in-pause', 'soon');
await page.click('#run-button');
await page.waitForURL(/\/runs\/\d+$/);
const failedURL = page.url();
check((await page.textContent('#run-status')).trim() === 'failed', 'a bad duration fails the run');

// ... found again from the runs list, filtered to failed runs, down to its step
await page.goto(url('/runs'));
await page.check('input[name=failed]');
await page.click('.filters button');
await page.waitForURL(/failed=1/);
await page.click(`a[href="${new URL(failedURL).pathname}"]`);
await page.waitForURL(failedURL);
const failedStep = page.locator('tr.step-failed');
check(await failedStep.count() >= 1, 'the failed step is marked in the steps');
check((await failedStep.first().textContent()).includes('wait'), 'the failed step is the wait');
check(await page.locator('svg.flow-graph g.node.status-failed[data-kind="wait"]').count() === 1, 'the failed step is highlighted in the diagram');
await failedStep.first().scrollIntoViewIfNeeded();
await noSecret();
await page.screenshot({ path: path.join(shots, 'console-run-failed.png'), fullPage: true });

// the connection page: the secret is never shown; test runs authping
await page.goto(url('/c/example/connection'));
check((await page.content()).includes('secret, set (hidden)'), 'the connection page says the key is set');
await noSecret();
await page.screenshot({ path: path.join(shots, 'console-connection.png') });
await page.click('#test-button');
await page.waitForURL(/\/runs\/\d+$/);
check(['ok', 'failed'].includes((await page.textContent('#run-status')).trim()), 'test runs the authping flow');
await noSecret();

// the other pages
for (const p of ['/runs', '/triggers']) {
  await page.goto(url(p));
  await noSecret();
}
check(cspErrors.length === 0, `no console errors or CSP violations (${cspErrors.join('; ')})`);

// every flow of every connector: the SVG parses as XML and the Mermaid
// parses with mermaid's own parser
const mermaidPage = await browser.newPage();
await mermaidPage.goto('about:blank');
await mermaidPage.addScriptTag({ path: require.resolve('mermaid/dist/mermaid.min.js') });
await mermaidPage.evaluate(() => globalThis.mermaid.initialize({ startOnLoad: false }));
await page.goto(url('/'));
const connectors = await page.$$eval('table.list a[href^="/c/"]', (as) => as.map((a) => a.getAttribute('href')));
let flows = 0;
for (const c of connectors) {
  await page.goto(url(c));
  const links = await page.$$eval('.flowcard h3 a', (as) => as.map((a) => a.getAttribute('href')));
  for (const f of links) {
    flows++;
    const mmd = await (await page.request.get(url(f + '/graph/mermaid'))).text();
    const res = await mermaidPage.evaluate(async (text) => {
      try {
        await globalThis.mermaid.parse(text);
        return '';
      } catch (e) {
        return String(e && e.message || e);
      }
    }, mmd);
    check(res === '', `mermaid parses ${f}${res ? ': ' + res : ''}`);
    const svgText = await (await page.request.get(url(f + '/graph/svg'))).text();
    const xmlErr = await mermaidPage.evaluate((text) => {
      const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
      const err = doc.querySelector('parsererror');
      return err ? err.textContent : (doc.documentElement.localName === 'svg' ? '' : 'root is ' + doc.documentElement.localName);
    }, svgText);
    check(xmlErr === '', `SVG of ${f} parses${xmlErr ? ': ' + xmlErr : ''}`);
  }
}
check(flows >= 40, `checked the diagrams of ${flows} flows`);
// one Mermaid diagram rendered by mermaid itself
const mmd = await (await page.request.get(url('/c/example/flows/summarize/graph/mermaid'))).text();
const rendered = await mermaidPage.evaluate(async (text) => (await globalThis.mermaid.render('m1', text)).svg.length, mmd);
check(rendered > 1000, `mermaid renders the summarize flow (${rendered} bytes of SVG)`);

await browser.close();
console.log(`\n${failures === 0 ? 'PASS' : 'FAIL'}: ${seen.size} pages checked for the secret, ${flows} flows' diagrams parsed`);
process.exit(failures === 0 ? 0 : 1);
