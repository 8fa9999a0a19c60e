// A stand-in for the services the browser test talks to, run by
// scripts/e2e-console.sh: enough of GitHub's REST API for the github
// connector (user, issues, repository hooks, credential revocation), an
// HTTP sink for flowrun serve that fails until told otherwise, and an
// OAuth 2.0 authorization server (authorization code + PKCE) with a consent
// page. It records what it was sent; GET /_state returns that as JSON and
// POST /_mode?sink=ok|fail switches the sink.
//
// usage: node fake-service.mjs TOKEN   (prints "fake service on http://...")
import http from 'node:http';
import crypto from 'node:crypto';

const [token] = process.argv.slice(2);
if (!token) {
  console.error('usage: node fake-service.mjs TOKEN');
  process.exit(2);
}
const state = {
  hook: null,          // the hook GitHub was asked to create: {url, secret}
  revoked: [],         // credentials POSTed to /credentials/revoke
  sinkMode: 'fail',
  sinkFailed: 0,
  delivered: [],       // events the sink accepted
  issuesPolls: 0,
  badAuth: 0,          // API requests without the right token
  oauth: { challenge: '', redirectURI: '', exchanges: 0, refused: 0 },
};
// the OAuth client and the token it hands out
const clientID = 'e2e-client';
const clientSecret = process.env.FAKE_CLIENT_SECRET || 'e2e-client-secret';
const accessToken = process.env.FAKE_ACCESS_TOKEN || 'e2e-access-token';
const refreshToken = process.env.FAKE_REFRESH_TOKEN || 'e2e-refresh-token';

function json(res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}
function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const server = http.createServer(async (req, res) => {
  const u = new URL(req.url, 'http://fake');
  const body = await readBody(req);
  const p = u.pathname;
  const authed = req.headers.authorization === `Bearer ${token}`;
  try {
    if (p === '/_state') return json(res, 200, state);
    if (p === '/favicon.ico') {
      res.writeHead(204);
      return res.end();
    }
    if (p === '/_mode' && req.method === 'POST') {
      state.sinkMode = u.searchParams.get('sink') || state.sinkMode;
      return json(res, 200, { sink: state.sinkMode });
    }
    if (p === '/sink' && req.method === 'POST') {
      if (state.sinkMode !== 'ok') {
        state.sinkFailed++;
        return json(res, 503, { error: 'the sink is down' });
      }
      const events = JSON.parse(body);
      state.delivered.push(...(Array.isArray(events) ? events : [events]));
      return json(res, 200, { ok: true });
    }

    // OAuth 2.0: a consent page, then the redirect back with a code
    if (p === '/oauth/authorize') {
      const q = u.searchParams;
      if (q.get('client_id') !== clientID || q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge') || !q.get('state')) {
        res.writeHead(400, { 'Content-Type': 'text/plain' });
        return res.end('bad authorize request');
      }
      state.oauth.challenge = q.get('code_challenge');
      state.oauth.redirectURI = q.get('redirect_uri');
      const back = new URL(q.get('redirect_uri'));
      back.searchParams.set('code', 'e2e-code');
      back.searchParams.set('state', q.get('state'));
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      return res.end(`<!doctype html><title>Fake service: allow access?</title><h1>Allow ${esc(q.get('client_id'))} to ${esc(q.get('scope') || 'access your account')}?</h1>
<p><a id="allow" href="${esc(back.toString())}">Allow</a></p>`);
    }
    if (p === '/oauth/token' && req.method === 'POST') {
      const f = new URLSearchParams(body);
      const basic = Buffer.from(`${clientID}:${clientSecret}`).toString('base64');
      const challenge = crypto.createHash('sha256').update(f.get('code_verifier') || '').digest('base64url');
      if (req.headers.authorization !== `Basic ${basic}` || f.get('code') !== 'e2e-code' || challenge !== state.oauth.challenge ||
          f.get('redirect_uri') !== state.oauth.redirectURI) {
        state.oauth.refused++;
        return json(res, 400, { error: 'invalid_grant' });
      }
      state.oauth.exchanges++;
      return json(res, 200, { access_token: accessToken, refresh_token: refreshToken, token_type: 'Bearer', expires_in: 3600 });
    }
    if (p === '/oauth/me') {
      if (req.headers.authorization !== `Bearer ${accessToken}`) return json(res, 401, { error: 'log in' });
      return json(res, 200, { login: 'ada' });
    }

    // GitHub
    if (p === '/credentials/revoke' && req.method === 'POST') {
      if (req.headers.authorization) return json(res, 403, { message: 'must not be authenticated' });
      state.revoked.push(...(JSON.parse(body).credentials || []));
      return json(res, 202, {});
    }
    if (!authed) {
      state.badAuth++;
      return json(res, 401, { message: 'Bad credentials' });
    }
    if (p === '/user') return json(res, 200, { login: 'octo-e2e' });
    let m;
    if ((m = p.match(/^\/repos\/([^/]+)\/([^/]+)\/hooks$/)) && req.method === 'POST') {
      const b = JSON.parse(body);
      state.hook = { url: b.config.url, secret: b.config.secret };
      return json(res, 201, { id: 4242 });
    }
    if (p.match(/^\/repos\/[^/]+\/[^/]+\/hooks\/\d+$/) && req.method === 'DELETE') {
      res.writeHead(204);
      return res.end();
    }
    if (p.match(/^\/repos\/[^/]+\/[^/]+\/issues$/)) {
      state.issuesPolls++;
      return json(res, 200, []);
    }
    return json(res, 404, { message: 'Not Found' });
  } catch (e) {
    return json(res, 500, { message: String(e) });
  }
});
server.listen(0, '127.0.0.1', () => {
  console.log(`fake service on http://127.0.0.1:${server.address().port}`);
});
