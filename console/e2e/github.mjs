// The console under `flowrun serve connectors/github --console`, run by
// scripts/e2e-console.sh against fake-service.mjs (GitHub's API and an HTTP
// sink that is down at first): a real delivery signed with the hook's
// secret fails at the sink, is found among the failed runs and replayed
// with the button once the sink is back (the new run is shown and the sink
// got the event); the poll trigger is paused with a reason, resumed, and
// its cursor reset (bad JSON refused with a clear error, then a good
// cursor); "Revoke" runs the revoke flow against the fake GitHub and the
// connection is shown revoked. No page shows the token or the hook secret.
//
// usage: node github.mjs CONSOLE_URL FAKE_URL TOKEN SCREENSHOT_DIR
import { chromium } from 'playwright-core';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const [base, fake, token, shots] = process.argv.slice(2);
if (!base || !fake || !token || !shots) {
  console.error('usage: node github.mjs CONSOLE_URL FAKE_URL TOKEN SCREENSHOT_DIR');
  process.exit(2);
}
const url = (p) => new URL(p.replace(/^\//, ''), base).toString();
const prefix = new URL(base).pathname.replace(/\/$/, ''); // "/console"
let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'}  github: ${what}`);
  if (!ok) failures++;
}
const fakeState = async () => (await fetch(`${fake}/_state`)).json();
let hookSecret = '';
const secrets = () => [token, hookSecret].filter(Boolean);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
const consoleErrors = [];
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
const failedLoads = [];
page.on('response', (r) => { if (r.status() >= 400) failedLoads.push(`${r.status()} ${r.url()}`); });
const visited = [];
page.on('framenavigated', (f) => { if (f === page.mainFrame()) visited.push(f.url()); });
async function noSecret() {
  const html = await page.content();
  const shown = secrets().filter((s) => html.includes(s));
  check(shown.length === 0, `no secret in ${new URL(page.url()).pathname}`);
}

try {
  // the hook flowrun trigger on registered with the fake GitHub
  const st0 = await fakeState();
  hookSecret = st0.hook && st0.hook.secret;
  check(!!hookSecret && st0.hook.url.includes('/hooks/'), 'the webhook trigger registered a hook with its secret');

  // GitHub delivers an issues event; the sink is down, so the delivery fails
  const body = fs.readFileSync(new URL('../../testdata/realdata/github-webhook-issues-opened.json', import.meta.url));
  const sig = 'sha256=' + crypto.createHmac('sha256', hookSecret).update(body).digest('hex');
  const resp = await fetch(st0.hook.url, {
    method: 'POST', body,
    headers: { 'Content-Type': 'application/json', 'X-GitHub-Event': 'issues', 'X-GitHub-Delivery': 'e2e-delivery-1', 'X-Hub-Signature-256': sig },
  });
  check(resp.status >= 500, `the delivery fails while the sink is down (${resp.status})`);
  check((await fakeState()).sinkFailed > 0, 'the sink was tried');

  // the failed delivery, from the failed runs to its page
  await page.goto(url('/runs?failed=1'));
  const failedLinks = page.locator(`a[href^="${prefix}/runs/s"]`);
  check(await failedLinks.count() >= 1, 'the failed delivery is listed among the failed runs');
  await noSecret();
  await failedLinks.first().click();
  await page.waitForURL(/\/runs\/s\d+$/);
  const failedURL = page.url();
  check((await page.textContent('#run-status')).trim() === 'failed', 'the delivery failed');
  check((await page.content()).includes('webhook'), 'it is a webhook delivery');
  check(await page.locator('#replay-button').count() === 1, 'a failed delivery has a replay button');
  await noSecret();

  // the sink is back: replay
  await fetch(`${fake}/_mode?sink=ok`, { method: 'POST' });
  await page.click('#replay-button');
  await page.waitForURL((u) => /\/runs\/s\d+$/.test(u.pathname) && u.toString() !== failedURL);
  check((await page.textContent('#run-status')).trim() === 'ok', 'the replay is a new run, and it succeeded');
  check((await page.content()).includes('replay'), 'the new run is marked as a replay');
  const st1 = await fakeState();
  check(st1.delivered.length === 1 && JSON.stringify(st1.delivered[0]).includes('e2e-delivery-1'),
    `the sink got the replayed event (${st1.delivered.length})`);
  await noSecret();
  await page.screenshot({ path: path.join(shots, 'console-replay.png'), fullPage: true });
  await page.goto(url('/runs'));
  check(await page.locator(`a[href^="${prefix}/runs/s"]`).count() >= 2, 'the runs page lists the delivery and its replay');

  // triggers: pause the poll trigger with a reason, resume it, reset its cursor
  await page.goto(url('/triggers'));
  await noSecret();
  const poll = page.locator('tr.trigger', { hasText: 'new_issues' });
  check(await poll.count() === 1, 'the poll trigger is listed');
  await poll.locator('input[name=reason]').fill('repository migration tonight');
  await poll.locator('.pause-button').click();
  await page.waitForURL(/\/triggers$/);
  const paused = page.locator('tr.trigger', { hasText: 'new_issues' });
  const pausedText = await paused.textContent();
  check(pausedText.includes('paused (manual)') && pausedText.includes('repository migration tonight'), 'the paused trigger shows why');
  check(await paused.locator('.pause-button').count() === 0 && await paused.locator('.resume-button').count() === 1, 'a paused trigger offers resume, not pause');
  await page.screenshot({ path: path.join(shots, 'console-triggers.png'), fullPage: true });
  await paused.locator('.resume-button').click();
  await page.waitForURL(/\/triggers$/);
  const resumed = page.locator('tr.trigger', { hasText: 'new_issues' });
  check((await resumed.locator('td.state').textContent()).trim() === 'on', 'the resumed trigger is on');

  await resumed.locator('input[name=cursor]').fill('{"since": 2026-12-01}');
  await resumed.locator('.reset-button').click();
  await page.waitForLoadState();
  const errText = (await page.locator('#trigger-error').textContent()) || '';
  check(errText.includes('the cursor is not valid JSON') && errText.includes('at byte'), `bad cursor JSON is refused with a clear error (${errText.trim()})`);
  check(await page.locator('tr.trigger', { hasText: 'new_issues' }).locator('input[name=cursor]').inputValue() === '{"since": 2026-12-01}',
    'the cursor typed is kept in the field');
  await page.screenshot({ path: path.join(shots, 'console-trigger-reset-error.png'), fullPage: true });
  const good = '{"since":"2026-12-01T00:00:00Z"}';
  await page.locator('tr.trigger', { hasText: 'new_issues' }).locator('input[name=cursor]').fill(good);
  await page.locator('tr.trigger', { hasText: 'new_issues' }).locator('.reset-button').click();
  await page.waitForURL(/\/triggers$/);
  const size = (await page.locator('tr.trigger', { hasText: 'new_issues' }).textContent()).includes(`${good.length} B`);
  check(size && await page.locator('#trigger-error').count() === 0, `the cursor is reset (${good.length} B)`);
  await noSecret();

  // the connection: revoke runs the revoke flow against GitHub
  await page.goto(url('/c/github/connection'));
  await noSecret();
  check(await page.locator('#revoked').count() === 0, 'the connection is not revoked yet');
  await page.click('#revoke-button');
  await page.waitForURL(/\/runs\/\d+$/);
  check((await page.textContent('#run-status')).trim() === 'ok', 'the revoke flow succeeded');
  await noSecret();
  const st2 = await fakeState();
  check(st2.revoked.length === 1 && st2.revoked[0] === token, 'GitHub got the token to revoke');
  await page.goto(url('/c/github/connection'));
  check(await page.locator('#revoked').count() === 1, 'the connection is shown revoked');
  check(await page.locator('#revoke-button').count() === 0, 'a revoked connection has no revoke button');
  await noSecret();
  await page.screenshot({ path: path.join(shots, 'console-revoked.png') });

  for (const p of ['/', '/c/github/', '/runs', '/triggers']) {
    await page.goto(url(p));
    await noSecret();
  }
  check(visited.every((u) => secrets().every((s) => !u.includes(s))), 'no secret in any URL the browser visited');
  // the refused reset answers 400, which chromium logs as a failed load
  const unexpected = consoleErrors.filter((e) => !e.includes('status of 400'));
  check(unexpected.length === 0, `no other console errors, no CSP violations (${unexpected.join('; ')}; failed loads: ${failedLoads.join(', ')})`);
} catch (e) {
  failures++;
  console.log(`FAIL  github: ${e.stack || e}`);
}
await browser.close();
console.log(`\n${failures === 0 ? 'PASS' : 'FAIL'}: serve --console over github`);
process.exit(failures === 0 ? 0 : 1);
