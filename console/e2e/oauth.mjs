// "Log in again" in a real browser, run by scripts/e2e-console.sh: the
// console serves the OAuth 2.0 fixture project (testdata/trigger/oauth)
// whose authorization server is fake-service.mjs. The button sends the
// browser to the service's consent page; "Allow" sends it back to the
// console's callback, which exchanges the code (PKCE) and writes the token
// into the connection file (0600). The action that needs the token then
// works. No page and no URL the browser visited shows the token, the
// refresh token or the client secret.
//
// usage: node oauth.mjs CONSOLE_URL FAKE_URL CONNECTION_FILE SCREENSHOT_DIR
// (FAKE_CLIENT_SECRET, FAKE_ACCESS_TOKEN, FAKE_REFRESH_TOKEN as given to the fake)
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const [base, fake, connFile, shots] = process.argv.slice(2);
if (!base || !fake || !connFile || !shots) {
  console.error('usage: node oauth.mjs CONSOLE_URL FAKE_URL CONNECTION_FILE SCREENSHOT_DIR');
  process.exit(2);
}
const secrets = [process.env.FAKE_CLIENT_SECRET, process.env.FAKE_ACCESS_TOKEN, process.env.FAKE_REFRESH_TOKEN];
if (secrets.some((s) => !s)) {
  console.error('oauth.mjs: set FAKE_CLIENT_SECRET, FAKE_ACCESS_TOKEN and FAKE_REFRESH_TOKEN');
  process.exit(2);
}
const url = (p) => new URL(p.replace(/^\//, ''), base).toString();
let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'}  oauth: ${what}`);
  if (!ok) failures++;
}
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
const requested = [];
page.on('request', (r) => requested.push(r.url()));
async function noSecret() {
  const html = await page.content();
  check(secrets.every((s) => !html.includes(s)), `no secret in ${new URL(page.url()).pathname}`);
}

try {
  await page.goto(url('/c/oauthy/connection'));
  await noSecret();
  check(await page.locator('#token-state').count() === 0, 'no token before the login');
  const redirectURI = url('/oauth/callback');
  check((await page.content()).includes(redirectURI), `the page shows the redirect URI to register (${redirectURI})`);

  // the action needs the token: without one it fails
  await page.goto(url('/c/oauthy/flows/me'));
  await page.click('#run-button');
  await page.waitForURL(/\/runs\/\d+$/);
  check((await page.textContent('#run-status')).trim() === 'failed', 'the action fails before the login');

  await page.goto(url('/c/oauthy/connection'));
  await page.click('#login-button');
  await page.waitForURL((u) => u.toString().startsWith(`${fake}/oauth/authorize?`));
  const authURL = new URL(page.url());
  check(authURL.searchParams.get('code_challenge_method') === 'S256' && authURL.searchParams.get('state'), 'the browser is at the service with a PKCE challenge and a state');
  check(authURL.searchParams.get('redirect_uri') === redirectURI, 'the redirect URI is the console\'s callback');
  await page.click('#allow');
  await page.waitForURL(/\/c\/oauthy\/connection$/);
  const result = (await page.locator('#login-result').textContent()) || '';
  check(result.includes('logged in'), `the connection page says the login worked (${result.trim()})`);
  check(await page.locator('#token-state').count() === 1, 'the page says a token is present');
  await noSecret();
  await page.screenshot({ path: path.join(shots, 'console-login.png') });

  const st = await (await fetch(`${fake}/_state`)).json();
  check(st.oauth.exchanges === 1 && st.oauth.refused === 0, 'the code was exchanged once, with the right verifier and client');
  const file = fs.readFileSync(connFile, 'utf8');
  check(file.includes(process.env.FAKE_ACCESS_TOKEN) && file.includes(process.env.FAKE_REFRESH_TOKEN), 'the token is in the connection file');
  check((fs.statSync(connFile).mode & 0o777) === 0o600, 'the connection file is 0600');

  // the action works with the new token
  await page.goto(url('/c/oauthy/flows/me'));
  await page.click('#run-button');
  await page.waitForURL(/\/runs\/\d+$/);
  check((await page.textContent('#run-status')).trim() === 'ok', 'the action works after the login');
  check((await page.textContent('#run-outputs')).includes('ada'), 'with the account of the token');
  await noSecret();

  // a second use of the callback is refused
  const callback = requested.find((u) => u.startsWith(redirectURI));
  check(!!callback, 'the browser went through the callback');
  await page.goto(callback);
  check((await page.content()).includes('unknown or over 10 minutes old'), 'the callback is good once');

  const leaked = requested.filter((u) => secrets.some((s) => u.includes(s)));
  check(leaked.length === 0, `no secret in any URL the browser requested (${leaked.length})`);
  // the refused second callback answers 400, which chromium logs as a failed load
  const unexpected = consoleErrors.filter((e) => !e.includes('status of 400'));
  check(unexpected.length === 0, `no other console errors, no CSP violations (${unexpected.join('; ')}; failed loads: ${failedLoads.join(', ')})`);
} catch (e) {
  failures++;
  console.log(`FAIL  oauth: ${e.stack || e}`);
}
await browser.close();
console.log(`\n${failures === 0 ? 'PASS' : 'FAIL'}: log in again`);
process.exit(failures === 0 ? 0 : 1);
