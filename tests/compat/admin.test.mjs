// Admin web UI (issue #15): Centrifugo v5.4.9's admin endpoints (<prefix>/admin/settings,
// /admin/auth, /admin/api) with exact statuses and bodies, which port serves them, insecure
// mode, the admin_handler_prefix, the embedded page's files, Gyre's live tail WebSocket, and
// the page itself driven end to end in headless Chromium (puppeteer-core on the system
// browser: /usr/bin/chromium from Debian's `chromium`, or CHROMIUM_BIN). With a Centrifugo
// v5.4.9 binary in CENTRIFUGO_BIN, tokens are checked to work across both servers (skipped
// with the reason otherwise). GYRE_ADMIN_SCREENSHOT=<file.png> saves the page's screenshot
// there (docs/admin.png is made that way); the test itself writes only to os.tmpdir().
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  test, startServer, freePort, makeTempDir, waitHealthy, httpRequest, WebSocket, until, userToken, once,
} from './harness.mjs';

const PASSWORD = 'admin-password';
const SECRET = 'admin-secret';
const ADMIN = {
  admin: true, admin_password: PASSWORD, admin_secret: SECRET, api_key: 'k', name: 'gyre-admin-node',
  token_hmac_secret_key: 'secret',
  namespaces: [{ name: 'ns', history_size: 10, history_ttl: '300s', presence: true }],
  history_size: 10, history_ttl: '300s',
};

async function server(scope, config, opts) {
  const s = await startServer(config, opts);
  scope.defer(() => s.stop());
  return s;
}

function login(base, password, init = {}) {
  return httpRequest(`${base}/admin/auth`, {
    method: 'POST', body: new URLSearchParams({ password }), ...init,
  });
}

async function token(base) {
  const r = await login(base, PASSWORD);
  assert.equal(r.status, 200, r.text);
  return r.json.token;
}

function adminApi(base, body, headers = {}, query = '') {
  return httpRequest(`${base}/admin/api${query}`, {
    method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers,
  });
}

test('admin settings, auth and api: exact answers as Centrifugo v5.4.9', async (t, scope) => {
  const s = await server(scope, ADMIN);
  const settings = await httpRequest(`${s.base}/admin/settings`);
  assert.equal(settings.status, 200);
  assert.equal(settings.contentType, 'application/json');
  assert.equal(settings.text, '{"edition":"oss","insecure":false}\n');

  // Wrong password, missing password, wrong method.
  for (const r of [await login(s.base, 'wrong'), await httpRequest(`${s.base}/admin/auth`, { method: 'POST' })]) {
    assert.equal(r.status, 400);
    assert.equal(r.contentType, 'text/plain; charset=utf-8');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.text, 'Bad Request\n');
  }
  const get = await httpRequest(`${s.base}/admin/auth`);
  assert.equal(get.status, 405);
  assert.equal(get.text, '');

  // The password also works as a query parameter (Go's FormValue).
  const q = await httpRequest(`${s.base}/admin/auth?password=${PASSWORD}`, { method: 'POST' });
  assert.equal(q.status, 200);
  const ok = await login(s.base, PASSWORD);
  assert.equal(ok.status, 200);
  assert.equal(ok.contentType, 'application/json');
  assert.match(ok.text, /^\{"token":"[A-Za-z0-9_=-]+"\}\n$/);
  // securecookie layout: base64url("<unix time>|<base64url(gob value)>|<32-byte HMAC>").
  const raw = Buffer.from(ok.json.token, 'base64url');
  const [stamp, value] = raw.toString('latin1').split('|');
  assert.ok(Math.abs(Number(stamp) - Date.now() / 1000) < 120, stamp);
  assert.equal(Buffer.from(value, 'base64url').toString('latin1'), '\x0d\x0c\x00\x0aauthorized');
  assert.equal(raw.length, stamp.length + value.length + 2 + 32);

  // /admin/api: 401 (empty body) without a valid token, whatever else is sent.
  const info = { method: 'info', params: {} };
  for (const headers of [{}, { Authorization: 'token nope' }, { Authorization: `Bearer ${ok.json.token}` },
    { Authorization: 'apikey k' }, { 'X-API-Key': 'k' }, { Authorization: `token ${ok.json.token} extra` }]) {
    const r = await adminApi(s.base, info, headers);
    assert.equal(r.status, 401, JSON.stringify(headers));
    assert.equal(r.text, '');
  }
  const forged = Buffer.from(raw);
  forged[forged.length - 1] ^= 1;
  assert.equal((await adminApi(s.base, info, { Authorization: `token ${forged.toString('base64url')}` })).status, 401);
  // A token signed with another secret.
  const other = await startServer({ ...ADMIN, admin_secret: 'other-secret' });
  scope.defer(() => other.stop());
  assert.equal((await adminApi(s.base, info, { Authorization: `token ${await token(other.base)}` })).status, 401);

  const r = await adminApi(s.base, info, { Authorization: `TOKEN ${ok.json.token}` });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.result.nodes[0].name, 'gyre-admin-node');
  const viaQuery = await adminApi(s.base, info, {}, `?token=${encodeURIComponent(ok.json.token)}`);
  assert.equal(viaQuery.status, 200);
  const get405 = await httpRequest(`${s.base}/admin/api`, { headers: { Authorization: `token ${ok.json.token}` } });
  assert.equal(get405.status, 405);

  // The legacy command stream: several commands, one reply line each.
  const auth = { Authorization: `token ${ok.json.token}` };
  const pub = await adminApi(s.base,
    '{"method":"publish","params":{"channel":"ns:a","data":{"x":1}}}\n{"method":"history","params":{"channel":"ns:a","limit":5}}',
    auth);
  assert.equal(pub.status, 200, pub.text);
  const lines = pub.text.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  assert.equal(lines[1].result.publications[0].data.x, 1);
  const unknown = await adminApi(s.base, { method: 'publish', params: { channel: 'nope:a', data: {} } }, auth);
  assert.deepEqual(unknown.json, { error: { code: 102, message: 'unknown channel' } });
  assert.equal((await adminApi(s.base, '', auth)).status, 400);
});

test('admin: missing password or secret refuses logins; insecure mode needs no token', async (t, scope) => {
  const noSecret = await server(scope, { ...ADMIN, admin_secret: '' });
  const r = await login(noSecret.base, PASSWORD);
  assert.equal(r.status, 400);
  assert.equal(r.text, 'Bad Request\n');
  assert.equal((await adminApi(noSecret.base, { method: 'info' }, { Authorization: 'token x' })).status, 401);
  await until(() => noSecret.output().includes('admin_password and admin_secret must be set in configuration'), 3000);
  assert.match(noSecret.output(), /logins will be refused/);

  const noPassword = await server(scope, { ...ADMIN, admin_password: '' });
  assert.equal((await login(noPassword.base, '')).status, 400);

  const insecure = await server(scope, { ...ADMIN, admin_insecure: true, admin_password: '', admin_secret: '' });
  assert.equal((await httpRequest(`${insecure.base}/admin/settings`)).text, '{"edition":"oss","insecure":true}\n');
  const info = await adminApi(insecure.base, { method: 'info', params: {} });
  assert.equal(info.status, 200);
  assert.equal(info.json.result.nodes.length, 1);
  assert.match(insecure.output(), /INSECURE admin mode enabled/);
});

test('admin lives on the internal port unless admin_external; admin_handler_prefix', async (t, scope) => {
  const internal = await freePort();
  const s = await server(scope, { ...ADMIN, internal_port: String(internal), health: true }, { listenPort: internal });
  const ext = `http://127.0.0.1:${s.config.port}`;
  const int = `http://127.0.0.1:${internal}`;
  assert.equal((await httpRequest(`${int}/admin/settings`)).status, 200);
  assert.equal((await httpRequest(`${ext}/admin/settings`)).status, 404);
  assert.equal((await httpRequest(`${ext}/`)).status, 404);
  assert.equal((await httpRequest(`${int}/`)).status, 200);

  const internal2 = await freePort();
  const e = await server(scope, { ...ADMIN, internal_port: String(internal2), admin_external: true, health: true },
    { listenPort: internal2 });
  assert.equal((await httpRequest(`http://127.0.0.1:${e.config.port}/admin/settings`)).status, 200);
  assert.equal((await httpRequest(`http://127.0.0.1:${internal2}/admin/settings`)).status, 404);

  const p = await server(scope, { ...ADMIN, admin_handler_prefix: '/ops/' });
  assert.equal((await httpRequest(`${p.base}/ops/admin/settings`)).status, 200);
  assert.equal((await httpRequest(`${p.base}/admin/settings`)).status, 404);
  assert.equal((await login(p.base + '/ops', PASSWORD)).status, 200);
  const page = await httpRequest(`${p.base}/ops/`);
  assert.equal(page.status, 200);
  assert.equal(page.contentType, 'text/html; charset=utf-8');

  // Without `admin` nothing is served.
  const off = await server(scope, { api_key: 'k' });
  assert.equal((await httpRequest(`${off.base}/admin/settings`)).status, 404);
});

test('admin page files: content types, cache validators, 404', async (t, scope) => {
  const s = await server(scope, ADMIN);
  const index = await httpRequest(`${s.base}/`);
  assert.equal(index.status, 200);
  assert.equal(index.contentType, 'text/html; charset=utf-8');
  assert.equal(index.headers.get('cache-control'), 'no-cache');
  assert.equal(index.headers.get('x-frame-options'), 'DENY');
  assert.match(index.text, /<title>Gyre admin<\/title>/);
  const etag = index.headers.get('etag');
  assert.match(etag, /^"[0-9a-f]{16}"$/);
  const again = await httpRequest(`${s.base}/`, { headers: { 'If-None-Match': etag } });
  assert.equal(again.status, 304);
  assert.equal(again.text, '');
  assert.equal((await httpRequest(`${s.base}/index.html`)).text, index.text);
  const js = await httpRequest(`${s.base}/admin.js`);
  assert.equal(js.contentType, 'text/javascript; charset=utf-8');
  assert.equal((await httpRequest(`${s.base}/admin.css`)).contentType, 'text/css; charset=utf-8');
  const missing = await httpRequest(`${s.base}/nope.js`);
  assert.equal(missing.status, 404);
  assert.equal(missing.text, '404 page not found\n');
});

/** Opens the live tail WebSocket and resolves with {ws, messages} once connected. */
function openTail(s, query) {
  const ws = new WebSocket(`ws://127.0.0.1:${s.port}/admin/connection/websocket?${query}`);
  const messages = [];
  ws.on('message', (d) => {
    for (const line of d.toString().split('\n')) if (line) messages.push(JSON.parse(line));
  });
  return new Promise((resolve, reject) => {
    ws.on('open', () => {
      ws.send(JSON.stringify({ id: 1, connect: {} }));
      resolve({ ws, messages });
    });
    ws.on('unexpected-response', (req, res) => reject(Object.assign(new Error('refused'), { status: res.statusCode })));
    ws.on('error', reject);
  });
}

test('admin live tail WebSocket: token required, any namespace, publications pushed', async (t, scope) => {
  // Clients may not subscribe to `ns` (no allow_subscribe_for_client), the tail still reads it.
  const s = await server(scope, ADMIN);
  await assert.rejects(openTail(s, 'channel=ns:a'), (e) => e.status === 401);
  await assert.rejects(openTail(s, 'channel=ns:a&token=bad'), (e) => e.status === 401);
  const tok = encodeURIComponent(await token(s.base));
  await assert.rejects(openTail(s, `token=${tok}`), (e) => e.status === 400);

  const { ws, messages } = await openTail(s, `channel=ns:a&token=${tok}`);
  scope.defer(() => ws.close());
  await until(() => messages.some((m) => m.id === 1), 5000);
  const reply = messages.find((m) => m.id === 1);
  assert.ok(reply.connect, JSON.stringify(reply));
  assert.deepEqual(Object.keys(reply.connect.subs), ['ns:a']);
  await s.apiOk('publish', { channel: 'ns:a', data: { hello: 'tail' } });
  await until(() => messages.some((m) => m.push), 5000);
  const push = messages.find((m) => m.push);
  assert.equal(push.push.channel, 'ns:a');
  assert.deepEqual(push.push.pub.data, { hello: 'tail' });

  // An unknown namespace: the connect is refused with 102.
  const bad = await openTail(s, `channel=nope:a&token=${tok}`);
  scope.defer(() => bad.ws.close());
  await until(() => bad.messages.some((m) => m.id === 1), 5000);
  assert.deepEqual(bad.messages.find((m) => m.id === 1).error, { code: 102, message: 'unknown channel' });
});

test('admin tokens work across Gyre and Centrifugo v5.4.9 sharing admin_secret', async (t, scope) => {
  const bin = process.env.CENTRIFUGO_BIN;
  if (!bin || !existsSync(bin)) {
    t.skip('CENTRIFUGO_BIN is not set to a Centrifugo v5.4.9 binary (scripts/build-centrifugo.sh)');
    return;
  }
  const s = await server(scope, ADMIN);
  const port = await freePort();
  const dir = makeTempDir('gyre-admin-cf-');
  const cfg = path.join(dir, 'config.json');
  writeFileSync(cfg, JSON.stringify({
    admin: true, admin_password: PASSWORD, admin_secret: SECRET, api_key: 'k', port: String(port), health: true,
  }));
  const cf = spawn(bin, ['-c', cfg], { stdio: 'ignore' });
  const exited = new Promise((r) => cf.on('close', r));
  scope.defer(async () => { cf.kill('SIGKILL'); await exited; });
  await waitHealthy(port, null);
  const cfBase = `http://127.0.0.1:${port}`;
  const info = { method: 'info', params: {} };
  const a = await adminApi(cfBase, info, { Authorization: `token ${await token(s.base)}` });
  assert.equal(a.status, 200, a.text);
  const b = await adminApi(s.base, info, { Authorization: `token ${await token(cfBase)}` });
  assert.equal(b.status, 200, b.text);
  // The same answers to the same wrong requests.
  for (const base of [s.base, cfBase]) {
    const wrong = await login(base, 'wrong');
    assert.deepEqual([wrong.status, wrong.text], [400, 'Bad Request\n'], base);
    assert.equal((await httpRequest(`${base}/admin/settings`)).text, '{"edition":"oss","insecure":false}\n');
    assert.equal((await adminApi(base, info)).status, 401);
  }
});

test('admin page in headless Chromium: login, node, publish, live tail, disconnect, wrong password', { timeout: 60000 }, async (t, scope) => {
  const chromium = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
  assert.ok(existsSync(chromium), `${chromium} missing: scripts/install-deps.sh installs Debian's chromium`);
  const { default: puppeteer } = await import('puppeteer-core');
  const s = await server(scope, ADMIN);
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    userDataDir: makeTempDir('gyre-admin-chromium-'),
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
  scope.defer(() => browser.close());
  const page = await browser.newPage();
  await page.setViewport({ width: 1000, height: 900 });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${s.base}/`);
  await page.waitForSelector('#login:not([hidden])');

  // Wrong password: refused with the server's 400, shown on the page.
  await page.type('#password', 'wrong');
  const [refused] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/admin/auth')),
    page.click('#login button[type=submit]'),
  ]);
  assert.equal(refused.status(), 400);
  assert.equal(await refused.text(), 'Bad Request\n');
  await page.waitForFunction(() => document.getElementById('login-error').textContent === 'Login refused (HTTP 400)');
  assert.equal(await page.$eval('#app', (e) => e.hidden), true);

  // Log in: the node table shows this node.
  await page.$eval('#password', (e) => { e.value = ''; });
  await page.type('#password', PASSWORD);
  await page.click('#login button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#nodes tbody td')?.textContent === 'gyre-admin-node');

  // Live tail of a channel, then publish from the page: the message shows in the tail.
  await page.type('#channel', 'ns:chat');
  await page.click('#tail');
  await page.waitForFunction(() => document.getElementById('tail-state').textContent === '(live: ns:chat)');
  await page.type('#data', '{"text":"hello from the admin page"}');
  await page.click('#publish');
  await page.waitForFunction(() => [...document.querySelectorAll('#tail-log li')]
    .some((li) => li.textContent === '#1 {"text":"hello from the admin page"}'));
  // A publication from elsewhere (the server API) shows as well, and the publish result.
  await s.apiOk('publish', { channel: 'ns:chat', data: { text: 'from the API' } });
  await page.waitForFunction(() => [...document.querySelectorAll('#tail-log li')]
    .some((li) => li.textContent === '#2 {"text":"from the API"}'));
  await page.click('#history');
  await page.waitForFunction(() => document.getElementById('result').textContent.includes('from the API'));
  await page.click('#refresh');
  await page.waitForFunction(() => document.querySelector('#channels li a')?.textContent === 'ns:chat');
  // The screenshot of docs/admin.png (written only when GYRE_ADMIN_SCREENSHOT asks).
  const shot = path.join(os.tmpdir(), `gyre-admin-${process.pid}.png`);
  await page.screenshot({ path: shot });
  if (process.env.GYRE_ADMIN_SCREENSHOT) copyFileSync(shot, process.env.GYRE_ADMIN_SCREENSHOT);
  rmSync(shot, { force: true });
  // Disconnect a user from the page: the SDK client sees the server API's disconnect (3503).
  const victim = scope.sdk(s, { token: userToken('victim') });
  const connectedP = once(victim, 'connected', 5000);
  victim.connect();
  await connectedP;
  const gone = once(victim, 'disconnected', 5000);
  await page.type('#user', 'victim');
  await page.click('#disconnect');
  assert.equal((await gone).code, 3503);
  await page.waitForFunction(() => document.getElementById('result').textContent === '{}');
  assert.deepEqual(errors, []);
});
