// The console under `flowrun serve --console`, run by scripts/e2e-console.sh:
// the state directory's run history (runs recorded by flowrun run --state)
// is listed, a failed run is found with the failed filter and opened down to
// its failed step, and no page shows the connection's secret.
//
// usage: node serve.mjs CONSOLE_URL SECRET SCREENSHOT_DIR
import { chromium } from 'playwright-core';
import path from 'node:path';

const [base, secret, shots] = process.argv.slice(2);
const url = (p) => new URL(p.replace(/^\//, ''), base).toString();
let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'}  serve: ${what}`);
  if (!ok) failures++;
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
async function noSecret() {
  check(!(await page.content()).includes(secret), `no secret in ${new URL(page.url()).pathname}`);
}

await page.goto(url('/'));
check((await page.title()).includes('flowrun console'), 'the console answers under /console/');
await noSecret();
await page.goto(url('/runs'));
const stored = await page.locator('a[href^="/console/runs/s"]').count();
check(stored >= 2, `the runs page lists the stored runs (${stored})`);
await noSecret();
await page.check('input[name=failed]');
await page.click('.filters button');
await page.waitForURL(/failed=1/);
const failed = page.locator('a[href^="/console/runs/s"]');
check(await failed.count() === 1, 'the failed filter keeps the failed run');
await failed.first().click();
await page.waitForURL(/\/console\/runs\/s\d+$/);
check((await page.textContent('#run-status')).trim() === 'failed', 'the stored run failed');
check(await page.locator('tr.step-failed').count() >= 1, 'its failed step is marked');
check(await page.locator('svg.flow-graph g.node.status-failed[data-kind="wait"]').count() === 1, 'the failed wait is highlighted in the diagram');
await noSecret();
await page.screenshot({ path: path.join(shots, 'console-serve-run.png'), fullPage: true });
for (const p of ['/triggers', '/c/example/connection', '/c/example/']) {
  await page.goto(url(p));
  await noSecret();
}
await browser.close();
console.log(`\n${failures === 0 ? 'PASS' : 'FAIL'}: serve --console`);
process.exit(failures === 0 ? 0 : 1);
