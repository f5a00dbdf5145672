// HTTP edge cases a Centrifugo user hits (issue #10 §2): `Expect: 100-continue` (curl sends it
// for large bodies), Go's 1 MB request-header limit (431 beyond), the `Date` header, and
// the one query-string parser with Go's url.ParseQuery semantics.
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import {
  test, startServer, userToken, uniq, withTimeout, assertServerAlive, WebSocket,
} from './harness.mjs';

const T42 = userToken(42);
const BASE = {
  api_key: 'k',
  token_hmac_secret_key: 'secret',
  namespaces: [{ name: 'chat', history_size: 10, history_ttl: '60s', allow_subscribe_for_client: true }],
};

/** Raw TCP client: everything read in `data`; `waitFor(re)` resolves when it matches. */
function tcp(port) {
  const sock = net.connect(port, '127.0.0.1');
  const c = { sock, data: '' };
  const waiters = [];
  c.closed = new Promise((resolve) => { sock.on('close', resolve); sock.on('end', resolve); });
  sock.on('data', (d) => {
    c.data += d.toString('latin1');
    for (const w of waiters.splice(0)) {
      if (w.re.test(c.data)) w.resolve(); else waiters.push(w);
    }
  });
  sock.on('error', () => {});
  c.connected = new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
  c.waitFor = (re, label) => withTimeout(new Promise((resolve) => {
    if (re.test(c.data)) resolve(); else waiters.push({ re, resolve });
  }), 5000, label);
  return c;
}

test('Expect: 100-continue: the server says 100 Continue before the body is sent, then answers the publish', async (t, s) => {
  const srv = await startServer(BASE);
  s.defer(() => srv.stop());
  const body = JSON.stringify({ channel: uniq('chat:e'), data: { text: 'x'.repeat(4000) } });
  const c = tcp(srv.port);
  s.defer(() => c.sock.destroy());
  await c.connected;
  c.sock.write(`POST /api/publish HTTP/1.1\r\nHost: x\r\nX-API-Key: k\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`);
  // Nothing else has been sent: only an interim 100 can arrive now.
  await c.waitFor(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '100 Continue');
  assert.equal(c.data, 'HTTP/1.1 100 Continue\r\n\r\n');
  c.sock.write(body);
  await c.waitFor(/\r\n\r\n\{"result":\{"offset":1,"epoch":"[^"]+"\}\}$/, "publish reply");
  assert.match(c.data, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
});

test('Expect: 100-continue with a body over the limit → 413 at once, no 100, connection closed', async (t, s) => {
  const srv = await startServer(BASE);
  s.defer(() => srv.stop());
  const c = tcp(srv.port);
  s.defer(() => c.sock.destroy());
  await c.connected;
  c.sock.write(`POST /api/publish HTTP/1.1\r\nHost: x\r\nX-API-Key: k\r\nContent-Length: ${17 * 1024 * 1024}\r\n` +
    'Expect: 100-continue\r\n\r\n');
  await withTimeout(c.closed, 5000, 'closed after 413');
  assert.match(c.data, /^HTTP\/1\.1 413 /);
  assert.doesNotMatch(c.data, /100 Continue/);
  await assertServerAlive(srv, T42);
});

test('curl publishes 2 MB with Expect: 100-continue and gets 100 Continue then the result', async (t, s) => {
  const curl = spawnSync('curl', ['--version']);
  assert.equal(curl.status, 0, 'curl is installed by scripts/install-deps.sh');
  const srv = await startServer({ ...BASE, client_queue_max_size: 8 * 1024 * 1024 });
  s.defer(() => srv.stop());
  const ch = uniq('chat:big');
  const payload = JSON.stringify({ channel: ch, data: { blob: 'y'.repeat(2 * 1024 * 1024) } });
  const r = spawnSync('curl', ['-sS', '-v', '--max-time', '20', '-X', 'POST', `${srv.base}/api/publish`,
    '-H', 'X-API-Key: k', '-H', 'Content-Type: application/json', '--data-binary', '@-'], { input: payload });
  const verbose = r.stderr.toString();
  assert.equal(r.status, 0, verbose.slice(-2000));
  assert.match(verbose, /> Expect: 100-continue/);
  assert.match(verbose, /< HTTP\/1\.1 100 Continue/);
  assert.match(verbose, /< HTTP\/1\.1 200 OK/);
  assert.match(r.stdout.toString(), /^\{"result":\{"offset":1,"epoch":"[^"]+"\}\}$/);
  const h = await srv.apiOk('history', { channel: ch, limit: 1 });
  assert.equal(h.publications[0].data.blob.length, 2 * 1024 * 1024);
});

test('request headers up to 1 MB are accepted (API and WebSocket upgrade); beyond → 431 and close', async (t, s) => {
  const srv = await startServer(BASE);
  s.defer(() => srv.stop());
  const cookie = 'c=' + 'a'.repeat(900 * 1024);
  const r = await srv.api('publish', { channel: uniq('chat:h'), data: {} }, { headers: { Cookie: cookie } });
  assert.equal(r.status, 200, r.text);

  const ws = new WebSocket(srv.wsUrl, { headers: { Cookie: cookie }, maxPayload: 1 << 20 });
  s.defer(() => ws.terminate());
  await withTimeout(new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); }), 5000, 'upgrade');

  const c = tcp(srv.port);
  s.defer(() => c.sock.destroy());
  await c.connected;
  c.sock.write(`POST /api/publish HTTP/1.1\r\nHost: x\r\nX-API-Key: k\r\nX-Big: ${'b'.repeat(1024 * 1024 + 8192)}\r\n\r\n`);
  await withTimeout(c.closed, 5000, 'closed after 431');
  assert.match(c.data, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
  await assertServerAlive(srv, T42);
});

test('every HTTP response carries a Date header (IMF-fixdate, GMT)', async (t, s) => {
  const srv = await startServer(BASE);
  s.defer(() => srv.stop());
  const imf = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/;
  const check = (res, label) => {
    const d = res.headers.get('date');
    assert.match(d ?? '', imf, `${label}: ${d}`);
    assert.ok(Math.abs(Date.parse(d) - Date.now()) < 60_000, `${label}: ${d} is the current time`);
  };
  check(await srv.api('publish', { channel: uniq('chat:d'), data: {} }), 'api 200');
  check(await srv.api('publish', { channel: uniq('chat:d'), data: {} }, { key: 'wrong' }), 'api 401');
  check(await fetch(`${srv.base}/health`), 'health');
  check(await fetch(`${srv.base}/nope`), '404');
  const ac = new AbortController();
  const stream = await fetch(`${srv.base}/connection/http_stream`, {
    method: 'POST', body: JSON.stringify({ id: 1, connect: { token: T42 } }), signal: ac.signal,
  });
  check(stream, 'http_stream head');
  ac.abort();
});

test('?api_key= follows Go ParseQuery: malformed or semicolon pairs are dropped, others kept, escapes decoded', async (t, s) => {
  const srv = await startServer(BASE);
  s.defer(() => srv.stop());
  const call = (query) => srv.api('info', {}, { key: null, query });
  assert.equal((await call('?api_key=%6B')).status, 200, 'escaped key value');
  assert.equal((await call('?a=%zz&api_key=k')).status, 200, 'malformed pair before it is dropped');
  assert.equal((await call('?&&api_key=k&')).status, 200, 'empty pairs skipped');
  assert.equal((await call('?api_key=k;x=1')).status, 401, 'semicolon pair dropped');
  assert.equal((await call('?api_key=k%')).status, 401, 'malformed escape dropped');
  assert.equal((await call('?api_key=wrong&api_key=k')).status, 401, 'first value wins');
  assert.equal((await call('?api_key=k&api_key=wrong')).status, 200, 'first value wins');
});

test('api_max_request_body_size bounds the API body: over it → 413 (at once with Expect), under it → 200', async (t, s) => {
  const srv = await startServer({ ...BASE, api_max_request_body_size: 2000 });
  s.defer(() => srv.stop());
  const small = await srv.api('publish', { channel: uniq('chat:l'), data: { x: 'a'.repeat(1000) } });
  assert.equal(small.status, 200, small.text);
  const big = await srv.api('publish', { channel: uniq('chat:l'), data: { x: 'a'.repeat(3000) } });
  assert.equal(big.status, 413);
  const c = tcp(srv.port);
  s.defer(() => c.sock.destroy());
  await c.connected;
  c.sock.write('POST /api/publish HTTP/1.1\r\nHost: x\r\nX-API-Key: k\r\nContent-Length: 2001\r\nExpect: 100-continue\r\n\r\n');
  await withTimeout(c.closed, 5000, 'closed after 413');
  assert.match(c.data, /^HTTP\/1\.1 413 Request Entity Too Large\r\n/);
  // A chunked body is counted chunk by chunk against the same bound.
  const d = tcp(srv.port);
  s.defer(() => d.sock.destroy());
  await d.connected;
  const chunk = 'x'.repeat(1500);
  d.sock.write('POST /api/publish HTTP/1.1\r\nHost: x\r\nX-API-Key: k\r\nTransfer-Encoding: chunked\r\n\r\n' +
    `${chunk.length.toString(16)}\r\n${chunk}\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`);
  await withTimeout(d.closed, 5000, 'closed after 413 (chunked)');
  assert.match(d.data, /^HTTP\/1\.1 413 /);
  await assertServerAlive(srv, T42);
});
