// HTTP/2 over TLS (ALPN "h2"), as Centrifugo's Go net/http serves it with TLS on: the HTTP
// API with curl --http2 (exact status line and bodies), HTTP-stream, SSE and /emulation over
// Node's http2 client, many concurrent streams on one connection, a reset long-lived stream
// ending its session (the node's client count drops), a slow h2 reader disconnected by the
// same queue limit as on HTTP/1.1, WebSocket staying on HTTP/1.1, and GOAWAY on shutdown.
// A throwaway CA and server certificate are made with the openssl CLI in os.tmpdir().
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import tls from 'node:tls';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import {
  test, spawnGyre, freePort, makeTempDir, Server, sleep, until, withTimeout, userToken, uniq,
} from './harness.mjs';

let dir;
let ca;
let srv;
let certFile;
let keyFile;

function openssl(args) {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

function curl(args) {
  const r = spawnSync('curl', ['-sS', '--cacert', path.join(dir, 'ca.pem'), ...args], { encoding: 'utf8', timeout: 10000 });
  if (r.status !== 0) throw new Error(`curl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

// An h2 session to the server with the test CA; closed by the scope.
function connect(s) {
  const session = http2.connect(srv.base, { ca });
  session.on('error', () => {});
  s.defer(() => session.close());
  return session;
}

// One request on `session`; resolves with { status, headers, body } once the stream ends.
function request(session, headers, body) {
  return withTimeout(new Promise((resolve, reject) => {
    const req = session.request(headers);
    let resHeaders;
    const chunks = [];
    req.on('response', (h) => { resHeaders = h; });
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => resolve({ status: resHeaders[':status'], headers: resHeaders, body: Buffer.concat(chunks).toString() }));
    req.on('error', reject);
    req.end(body);
  }), 8000, `h2 ${headers[':method']} ${headers[':path']}`);
}

const apiCall = (session, method, payload) => request(session, {
  ':method': 'POST', ':path': `/api/${method}`, 'x-api-key': 'k', 'content-type': 'application/json',
}, JSON.stringify(payload));

// A long-lived response stream: lines (HTTP-stream) or SSE `data:` payloads as they arrive.
function openStream(session, headers, body, sse = false) {
  const req = session.request(headers);
  const st = { req, status: 0, headers: null, messages: [], ended: false, text: '' };
  req.setEncoding('utf8');
  req.on('response', (h) => { st.headers = h; st.status = h[':status']; });
  req.on('data', (d) => {
    st.text += d;
    const sep = sse ? '\n\n' : '\n';
    let i;
    while ((i = st.text.indexOf(sep)) >= 0) {
      const m = st.text.slice(0, i);
      st.text = st.text.slice(i + sep.length);
      if (sse && m.trim() === '') continue; // the stream's opening blank line
      st.messages.push(sse ? m.trim().replace(/^data: /, '') : m);
    }
  });
  req.on('end', () => { st.ended = true; });
  req.on('close', () => { st.ended = true; });
  req.on('error', () => {});
  req.end(body);
  return st;
}

async function numClients(session) {
  const r = await apiCall(session, 'info', {});
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body).result.nodes[0].num_clients;
}

// Subscribes a bidirectional HTTP-stream/SSE session through /emulation on `session`.
async function emulateSubscribe(session, st, channel) {
  const reply = JSON.parse(st.messages[0]);
  const r = await request(session, { ':method': 'POST', ':path': '/emulation', 'content-type': 'application/json' },
    JSON.stringify({ session: reply.connect.session, node: reply.connect.node, data: JSON.stringify({ subscribe: { channel }, id: 2 }) }));
  assert.equal(r.status, 204);
  assert.equal(r.body, '');
  await until(() => st.messages.length >= 2, 5000, 'subscribe reply');
  assert.equal(st.messages[1], '{"id":2,"subscribe":{}}');
}

before(async () => {
  dir = makeTempDir('gyre-h2-');
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Gyre h2 test CA']);
  writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=server']);
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext']);
  ca = readFileSync(path.join(dir, 'ca.pem'), 'utf8');
  certFile = path.join(dir, 'server.pem');
  keyFile = path.join(dir, 'server.key');
  srv = await startH2({});
});
after(async () => {
  if (srv) await srv.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function startH2(extra) {
  const port = await freePort();
  const cfg = {
    port: String(port), tls: true, tls_cert: certFile, tls_key: keyFile, api_key: 'k',
    token_hmac_secret_key: 'secret', http_stream: true, sse: true, allow_subscribe_for_client: true,
    uni_http_stream: true, uni_sse: true, api_max_request_body_size: 40000,
    client_queue_max_size: 64 * 1024, ...extra,
  };
  const handle = spawnGyre({ configText: JSON.stringify(cfg, null, 2) });
  const server = new Server(handle, port, cfg);
  server.base = `https://127.0.0.1:${port}`;
  const deadline = Date.now() + 10000;
  for (;;) {
    if (handle.exited) throw new Error(`gyre exited: ${JSON.stringify(handle.exited)}\n${handle.out.text()}`);
    const r = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', path.join(dir, 'ca.pem'),
      '-H', 'X-API-Key: k', '-d', '{}', `${server.base}/api/info`], { encoding: 'utf8' });
    if (r.stdout === '200') break;
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`gyre did not answer over TLS\n${handle.out.text()}`);
    }
    await sleep(100);
  }
  return server;
}

test('ALPN: h2 is offered before http/1.1; a client offering only http/1.1 gets it', async () => {
  const alpn = (protocols) => withTimeout(new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port: srv.port, ca, ALPNProtocols: protocols }, () => {
      resolve(sock.alpnProtocol);
      sock.end();
    });
    sock.on('error', reject);
  }), 5000, 'tls connect');
  assert.equal(await alpn(['h2', 'http/1.1']), 'h2');
  assert.equal(await alpn(['http/1.1', 'h2']), 'h2'); // the server's preference, as Go's
  assert.equal(await alpn(['http/1.1']), 'http/1.1');
});

test('curl --http2: /api/publish and /api/info with exact status line and bodies', async () => {
  const ch = uniq('h2c');
  const pub = curl(['-i', '--http2', '-H', 'X-API-Key: k', '-d', JSON.stringify({ channel: ch, data: { a: 1 } }), `${srv.base}/api/publish`]);
  const [head, body] = pub.split('\r\n\r\n');
  const lines = head.split('\r\n');
  assert.equal(lines[0], 'HTTP/2 200 ');
  assert.deepEqual(lines.slice(1).map((l) => l.replace(/^date: .*/, 'date: DATE')),
    ['content-type: application/json', 'date: DATE', 'content-length: 13']);
  assert.equal(body, '{"result":{}}');
  const info = curl(['-i', '--http2', '-H', 'X-API-Key: k', '-d', '{}', `${srv.base}/api/info`]);
  const [ihead, ibody] = info.split('\r\n\r\n');
  assert.equal(ihead.split('\r\n')[0], 'HTTP/2 200 ');
  const node = JSON.parse(ibody).result.nodes[0];
  // Exact: Gyre's serialization (uptime omitted while 0, as Go's omitempty) round-trips.
  assert.equal(ibody, JSON.stringify({ result: { nodes: [node] } }));
  assert.deepEqual(Object.keys(node).filter((k) => k !== 'uptime'),
    ['uid', 'name', 'version', 'num_clients', 'num_users', 'num_channels', 'num_subs']);
  // Errors and 404 keep their HTTP/1.1 status and body.
  const bad = curl(['-i', '--http2', '-d', '{}', `${srv.base}/api/info`]);
  assert.equal(bad.split('\r\n')[0], 'HTTP/2 401 ');
  const nf = curl(['-i', '--http2', `${srv.base}/nope`]);
  assert.equal(nf.split('\r\n')[0], 'HTTP/2 404 ');
  assert.ok(nf.endsWith('\r\n\r\n404 page not found\n'));
  // A body over api_max_request_body_size: 413 on its content-length, before any DATA, with the
  // HTTP/1.1 answer's headers; the body curl still sends is dropped and curl ends cleanly.
  const big = curl(['-i', '--http2', '-H', 'X-API-Key: k', '-d', JSON.stringify({ channel: ch, data: 'x'.repeat(50000) }), `${srv.base}/api/publish`]);
  assert.deepEqual(big.split('\r\n\r\n')[0].split('\r\n').map((l) => l.replace(/^date: .*/, 'date: DATE')),
    ['HTTP/2 413 ', 'date: DATE', 'content-length: 0']);
  // HTTP/1.1 over the same TLS port is unchanged.
  const h1 = curl(['-i', '--http1.1', '-H', 'X-API-Key: k', '-d', JSON.stringify({ channel: ch, data: {} }), `${srv.base}/api/publish`]);
  assert.equal(h1.split('\r\n')[0], 'HTTP/1.1 200 OK');
});

test('h2 HTTP-stream: connect, subscribe via /emulation, API publication received (one connection)', async (t, s) => {
  const session = connect(s);
  const st = openStream(session, { ':method': 'POST', ':path': '/connection/http_stream', 'content-type': 'application/json' },
    JSON.stringify({ connect: { token: userToken(7) }, id: 1 }));
  await until(() => st.messages.length >= 1, 5000, 'connect reply');
  assert.equal(st.status, 200);
  assert.equal(st.headers['cache-control'], 'private, no-cache, no-store, must-revalidate, max-age=0');
  assert.equal(st.headers['transfer-encoding'], undefined);
  assert.equal(st.headers.connection, undefined);
  const reply = JSON.parse(st.messages[0]);
  assert.equal(reply.id, 1);
  const ch = uniq('h2c');
  await emulateSubscribe(session, st, ch);
  const r = await apiCall(session, 'publish', { channel: ch, data: { over: 'h2' } });
  assert.equal(r.status, 200);
  assert.match(r.body, /^\{"result":\{\}\}$/);
  await until(() => st.messages.length >= 3, 5000, 'publication');
  assert.deepEqual(JSON.parse(st.messages[2]), { push: { channel: ch, pub: { data: { over: 'h2' } } } });
  st.req.close();
});

test('h2 SSE: GET /connection/sse?cf_connect=..., publication received', async (t, s) => {
  const session = connect(s);
  const connect_ = encodeURIComponent(JSON.stringify({ connect: { token: userToken(8) }, id: 1 }));
  const st = openStream(session, { ':method': 'GET', ':path': `/connection/sse?cf_connect=${connect_}` }, undefined, true);
  await until(() => st.messages.length >= 1, 5000, 'connect reply');
  assert.equal(st.status, 200);
  assert.equal(st.headers['content-type'], 'text/event-stream; charset=utf-8');
  assert.equal(JSON.parse(st.messages[0]).id, 1);
  const ch = uniq('h2c');
  await emulateSubscribe(session, st, ch);
  await apiCall(session, 'publish', { channel: ch, data: { sse: true } });
  await until(() => st.messages.length >= 3, 5000, 'publication');
  assert.deepEqual(JSON.parse(st.messages[2]), { push: { channel: ch, pub: { data: { sse: true } } } });
  st.req.close();
});

test('h2 uni_http_stream and uni_sse: connect push with the token subs, publication received', async (t, s) => {
  const session = connect(s);
  const ch = uniq('h2c');
  const body = JSON.stringify({ token: userToken(9), subs: { [ch]: {} } });
  const hs = openStream(session, { ':method': 'POST', ':path': '/connection/uni_http_stream' }, body);
  const sse = openStream(session, { ':method': 'GET', ':path': `/connection/uni_sse?cf_connect=${encodeURIComponent(body)}` }, undefined, true);
  await until(() => hs.messages.length >= 1 && sse.messages.length >= 1, 5000, 'connect pushes');
  for (const st of [hs, sse]) {
    assert.equal(st.status, 200);
    assert.match(st.messages[0], new RegExp(`^\\{"connect":\\{"client":"[0-9a-f-]{36}","version":"[^"]*","subs":\\{"${ch}":\\{`));
  }
  await apiCall(session, 'publish', { channel: ch, data: { uni: 1 } });
  await until(() => hs.messages.length >= 2 && sse.messages.length >= 2, 5000, 'publications');
  for (const st of [hs, sse]) {
    assert.deepEqual(JSON.parse(st.messages[1]), { channel: ch, pub: { data: { uni: 1 } } });
    st.req.close();
  }
});

test('h2: 20 concurrent API streams on one connection, each its own exact answer', async (t, s) => {
  const session = connect(s);
  const ch = uniq('h2c');
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => i % 2
    ? apiCall(session, 'publish', { channel: `${ch}${i}`, data: { i } })
    : apiCall(session, 'history', { channel: `${ch}${i}` })));
  results.forEach((r, i) => {
    assert.equal(r.status, 200);
    assert.equal(r.body, i % 2 ? '{"result":{}}' : '{"error":{"code":108,"message":"not available"}}');
  });
});

test('h2: a reset long-lived stream ends its session (client count drops), the connection lives on', async (t, s) => {
  const session = connect(s);
  const before_ = await numClients(session);
  const streams = [1, 2, 3].map((n) => openStream(session, { ':method': 'POST', ':path': '/connection/http_stream' },
    JSON.stringify({ connect: { token: userToken(100 + n) }, id: 1 })));
  await until(() => streams.every((x) => x.messages.length >= 1), 5000, 'connect replies');
  assert.equal(await numClients(session), before_ + 3);
  streams[0].req.close(http2.constants.NGHTTP2_CANCEL);
  await until(async () => (await numClients(session)) === before_ + 2, 5000, 'client count after one reset');
  streams[1].req.close(http2.constants.NGHTTP2_CANCEL);
  streams[2].req.close(http2.constants.NGHTTP2_CANCEL);
  await until(async () => (await numClients(session)) === before_, 5000, 'client count after resets');
  assert.equal(session.closed, false);
});

test('h2: a reader that stops reading is disconnected by client_queue_max_size, as on HTTP/1.1', async (t, s) => {
  const session = connect(s);
  const slow = connect(s);
  const base = await numClients(session);
  const st = openStream(slow, { ':method': 'POST', ':path': '/connection/http_stream' },
    JSON.stringify({ connect: { token: userToken(200) }, id: 1 }));
  await until(() => st.messages.length >= 1, 5000, 'connect reply');
  const ch = uniq('h2c');
  await emulateSubscribe(session, st, ch);
  st.req.pause();
  const big = 'x'.repeat(32 * 1024);
  // 64 KiB stream window + 64 KiB held by the h2 layer + the socket pair's buffer, then the
  // session's queue (64 KiB) overflows: at most a few MiB are needed.
  for (let i = 0; i < 400 && (await numClients(session)) > base; i++) {
    const r = await apiCall(session, 'publish', { channel: ch, data: { big } });
    assert.equal(r.status, 200);
  }
  assert.equal(await numClients(session), base);
});

test('h2: a content-length over the route\'s body limit is 413 before the body, the connection goes on', async (t, s) => {
  // The transports' limit (65,536 by default) on a transport route, as over HTTP/1.1.
  const session = connect(s);
  const body = 'x'.repeat(70000);
  const r = await request(session, {
    ':method': 'POST', ':path': '/connection/http_stream', 'content-length': String(body.length),
  }, body);
  assert.equal(r.status, 413);
  assert.equal(r.headers['content-length'], '0');
  assert.equal(r.body, '');
  const info = await apiCall(session, 'info', {});
  assert.equal(info.status, 200);
});

test('h2: WebSocket stays HTTP/1.1 (a GET to the WebSocket endpoint over h2 is no upgrade)', async (t, s) => {
  const session = connect(s);
  const r = await request(session, { ':method': 'GET', ':path': '/connection/websocket' });
  assert.equal(r.status, 400);
});

test('h2: GOAWAY on shutdown, the open stream ends', async (t, s) => {
  const server = await startH2({});
  s.defer(() => server.stop());
  const session = http2.connect(server.base, { ca });
  session.on('error', () => {});
  s.defer(() => session.destroy());
  const goaway = new Promise((resolve) => session.on('goaway', (code) => resolve(code)));
  const st = openStream(session, { ':method': 'POST', ':path': '/connection/http_stream' },
    JSON.stringify({ connect: { token: userToken(300) }, id: 1 }));
  await until(() => st.messages.length >= 1, 5000, 'connect reply');
  server.proc.kill('SIGTERM');
  assert.equal(await withTimeout(goaway, 8000, 'goaway'), http2.constants.NGHTTP2_NO_ERROR);
  await until(() => st.ended, 8000, 'stream end');
  assert.equal(JSON.parse(st.messages[st.messages.length - 1]).push.disconnect.code, 3001);
});
