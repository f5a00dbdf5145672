// TLS of the HTTP listeners (reference.md §8.3; v6 http_server.tls / internal_tls): the SDK over
// wss:// (JSON and Protobuf) and over https:// HTTP-stream and SSE, the HTTP API over https,
// mutual TLS accepted with a client certificate and refused without, tls_external (internal
// port plain), the v6 TLS object, and start-up errors naming the key. A throwaway CA, server
// and client certificates are made with the openssl CLI in os.tmpdir().
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import tls from 'node:tls';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { Readable } from 'node:stream';
import { createRequire } from 'node:module';
import {
  test, spawnGyre, freePort, makeTempDir, Server, sleep, once, collect, until, withTimeout,
  userToken, uniq, WebSocket, Centrifuge, runGyre,
} from './harness.mjs';

const require = createRequire(import.meta.url);
const EventSource = require('eventsource');
const { Centrifuge: CentrifugeProto } = require('centrifuge/build/protobuf');

let dir;
let pki; // { ca, caKey, cert, key, clientCert, clientKey, otherCa, otherClientCert, otherClientKey } (PEM)
const files = {};

function openssl(args) {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

// A CA and a leaf it signs (EC P-256: fast to make).
function makeCa(name) {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=Gyre test ${name}`]);
}
function makeLeaf(name, ca, ext) {
  writeFileSync(path.join(dir, `${name}.ext`), ext);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`,
    '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
}

before(() => {
  dir = makeTempDir('gyre-tls-');
  makeCa('ca');
  makeCa('otherca');
  makeLeaf('server', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  makeLeaf('client', 'ca', 'extendedKeyUsage=clientAuth\n');
  makeLeaf('intruder', 'otherca', 'extendedKeyUsage=clientAuth\n');
  const read = (n) => readFileSync(path.join(dir, n), 'utf8');
  for (const n of ['ca.pem', 'server.pem', 'server.key', 'client.pem', 'client.key', 'intruder.pem', 'intruder.key']) {
    files[n] = path.join(dir, n);
  }
  pki = {
    ca: read('ca.pem'), cert: read('server.pem'), key: read('server.key'),
    clientCert: read('client.pem'), clientKey: read('client.key'),
    intruderCert: read('intruder.pem'), intruderKey: read('intruder.key'),
  };
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// fetch over node:https with our CA (and an optional client certificate): the SDK's HTTP-stream
// transport and emulation take a fetch; Node 20's global fetch has no per-call CA.
function tlsFetch(extra = {}) {
  return (url, init = {}) => new Promise((resolve, reject) => {
    const headers = {};
    if (init.headers) {
      const h = init.headers instanceof Headers ? Object.fromEntries(init.headers.entries()) : init.headers;
      Object.assign(headers, h);
    }
    const req = https.request(url, { method: init.method || 'GET', headers, ca: pki.ca, ...extra }, (res) => {
      const h = new Headers();
      for (const [k, v] of Object.entries(res.headers)) h.set(k, Array.isArray(v) ? v.join(', ') : v);
      const nullBody = [101, 204, 205, 304].includes(res.statusCode);
      if (nullBody) res.resume();
      resolve(new Response(nullBody ? null : Readable.toWeb(res), { status: res.statusCode, headers: h }));
    });
    req.on('error', reject);
    if (init.signal) {
      if (init.signal.aborted) req.destroy(new Error('aborted'));
      init.signal.addEventListener('abort', () => req.destroy(new Error('aborted')));
    }
    if (init.body !== undefined && init.body !== null) {
      req.write(typeof init.body === 'string' ? init.body : Buffer.from(init.body));
    }
    req.end();
  });
}

async function fetchText(url, init = {}, extra = {}) {
  const res = await withTimeout(tlsFetch(extra)(url, init), 8000, `fetch ${url}`);
  return { status: res.status, text: await res.text(), headers: res.headers };
}

// Starts gyre with `config`; waits for /health on `healthUrl(ports)` (https when the port has TLS).
async function startTls(config, { internal = false, tlsHealth = true, env = {} } = {}) {
  const port = await freePort();
  const internalPort = internal ? await freePort() : null;
  const cfg = { port: String(port), health: true, log_level: 'debug', ...config };
  if (internal) cfg.internal_port = String(internalPort);
  const handle = spawnGyre({ configText: JSON.stringify(cfg, null, 2), env });
  const server = new Server(handle, port, cfg);
  server.base = `https://127.0.0.1:${port}`;
  server.wsUrl = `wss://127.0.0.1:${port}/connection/websocket`;
  server.internalBase = internal ? `${tlsHealth ? 'https' : 'http'}://127.0.0.1:${internalPort}` : server.base;
  server.apiBase = internal ? server.internalBase : server.base;
  const healthUrl = `${internal ? server.internalBase : server.base}/health`;
  const deadline = Date.now() + 10000;
  for (;;) {
    if (handle.exited) {
      throw new Error(`gyre exited: ${JSON.stringify(handle.exited)}\n${handle.out.text()}`);
    }
    try {
      const r = healthUrl.startsWith('https')
        ? await fetchText(healthUrl, {}, cfg.tls_client_ca ? { cert: pki.clientCert, key: pki.clientKey } : {})
        : await (async () => { const x = await fetch(healthUrl); return { status: x.status, text: await x.text() }; })();
      if (r.status === 200) break;
    } catch {}
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`gyre did not become healthy over TLS\n${handle.out.text()}`);
    }
    await sleep(100);
  }
  return server;
}

const NS = [{ name: 'chat', allow_subscribe_for_client: true, allow_publish_for_subscriber: true, history_size: 10, history_ttl: '300s' }];
const tlsFiles = () => ({ tls: true, tls_cert: files['server.pem'], tls_key: files['server.key'] });

class TlsWebSocket extends WebSocket {
  constructor(url, protocols) {
    super(url, protocols, { ca: pki.ca });
  }
}
class TlsEventSource extends EventSource {
  constructor(url, init = {}) {
    super(url, { ...init, https: { ca: pki.ca } });
  }
}

async function api(server, method, body, extra = {}) {
  const r = await fetchText(`${server.apiBase}/api/${method}`, {
    method: 'POST', body: JSON.stringify(body), headers: { 'X-API-Key': 'k' },
  }, extra);
  return r;
}

// Connect, subscribe, API publish received: the common scenario over one transport.
async function scenario(s, server, makeClient, proto = false) {
  const c = makeClient();
  s.defer(() => { try { c.disconnect(); } catch {} });
  const conn = once(c, 'connected', 8000);
  c.connect();
  const ctx = await conn;
  const ch = uniq('chat:');
  const sub = c.newSubscription(ch);
  const pubs = collect(sub, 'publication');
  const subd = once(sub, 'subscribed', 5000);
  sub.subscribe();
  await subd;
  const r = await api(server, 'publish', { channel: ch, data: { over: 'tls' } });
  assert.equal(r.status, 200, r.text);
  assert.match(r.text, /^\{"result":\{"offset":1,"epoch":"[^"]+"\}\}$/);
  await until(() => pubs.length === 1, 5000, 'publication over TLS');
  const data = proto ? JSON.parse(new TextDecoder().decode(pubs[0].data)) : pubs[0].data;
  assert.deepEqual(data, { over: 'tls' });
  return ctx;
}

let srv; // tls on one port: transports + API, http_stream and sse

before(async () => {
  srv = await startTls({
    ...tlsFiles(), api_key: 'k', token_hmac_secret_key: 'secret', namespaces: NS, http_stream: true, sse: true,
    uni_http_stream: true, uni_websocket: true,
    // The large-publication test queues MiBs, which a loaded machine may take a while to read.
    client_queue_max_size: 16 * 1024 * 1024, websocket_write_timeout: '30s',
  });
});
after(async () => {
  if (srv) await srv.stop();
});

test('SDK over wss:// (JSON): connect, subscribe, API publish over https received', async (t, s) => {
  const ctx = await scenario(s, srv, () => new Centrifuge(srv.wsUrl, { websocket: TlsWebSocket, token: userToken(1) }));
  assert.equal(ctx.transport, 'websocket');
});

test('SDK over wss:// (Protobuf): the same scenario', async (t, s) => {
  await scenario(s, srv, () => new CentrifugeProto(srv.wsUrl, { websocket: TlsWebSocket, token: userToken(2) }), true);
});

test('SDK over https:// HTTP-stream (JSON and Protobuf) and SSE', async (t, s) => {
  const emu = (transport, Impl = Centrifuge, n = 3) => () => new Impl(
    [{ transport, endpoint: `${srv.base}/connection/${transport}` }],
    {
      emulationEndpoint: `${srv.base}/emulation`, fetch: tlsFetch(), readableStream: globalThis.ReadableStream,
      eventsource: TlsEventSource, token: userToken(n),
    });
  assert.equal((await scenario(s, srv, emu('http_stream'))).transport, 'http_stream');
  assert.equal((await scenario(s, srv, emu('http_stream', CentrifugeProto, 4), true)).transport, 'http_stream');
  assert.equal((await scenario(s, srv, emu('sse', Centrifuge, 5))).transport, 'sse');
});

// Heavy (MiBs through TLS and the SDKs' JSON parsers): skipped under sanitizers (GYRE_SANITIZED).
test('large publications (1 MiB) reach wss:// and https:// HTTP-stream subscribers whole',
  { timeout: 60000, skip: process.env.GYRE_SANITIZED ? 'heavy: skipped under sanitizers' : false }, async (t, s) => {
  // Larger than a socket buffer takes at once: ciphertext is left pending until the socket is writable.
  const big = 'x'.repeat(1024 * 1024);
  const ws = new Centrifuge(srv.wsUrl, { websocket: TlsWebSocket, token: userToken(11) });
  const hs = new Centrifuge([{ transport: 'http_stream', endpoint: `${srv.base}/connection/http_stream` }], {
    emulationEndpoint: `${srv.base}/emulation`, fetch: tlsFetch(), readableStream: globalThis.ReadableStream,
    token: userToken(12),
  });
  const ch = uniq('chat:');
  const got = [];
  for (const c of [ws, hs]) {
    s.defer(() => c.disconnect());
    const sub = c.newSubscription(ch);
    sub.on('publication', (ctx) => got.push(ctx.data.big.length));
    const subd = once(sub, 'subscribed', 8000);
    c.connect();
    sub.subscribe();
    await subd;
  }
  for (let i = 0; i < 2; i++) {
    const r = await api(srv, 'publish', { channel: ch, data: { big } });
    assert.equal(r.status, 200, r.text);
  }
  await until(() => got.length === 4, 50000, `four large publications (got ${got.length})`);
  assert.deepEqual(got, Array(4).fill(big.length));
});

test('unidirectional transports over TLS: uni_http_stream and uni_websocket get the exact pushes', async (t, s) => {
  const ch = uniq('chat:');
  const connect = JSON.stringify({ token: userToken(21), subs: { [ch]: {} } });
  // uni_http_stream over https: newline-delimited pushes.
  const res = await withTimeout(tlsFetch()(`${srv.base}/connection/uni_http_stream`, { method: 'POST', body: connect }), 8000, 'uni stream');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('transfer-encoding'), 'chunked');
  const reader = res.body.getReader();
  s.defer(() => reader.cancel().catch(() => {}));
  let text = '';
  const lines = async (n) => {
    while (text.split('\n').length - 1 < n) {
      const { value, done } = await withTimeout(reader.read(), 8000, 'uni stream bytes');
      if (done) throw new Error(`stream ended: ${text}`);
      text += Buffer.from(value).toString();
    }
    return text.split('\n');
  };
  assert.match((await lines(1))[0], new RegExp(`^\\{"connect":\\{"client":"[0-9a-f-]{36}","version":"[^"]*","subs":\\{"${ch}":\\{`));
  // uni_websocket over wss://: one push per frame.
  const ws = new TlsWebSocket(`wss://127.0.0.1:${srv.port}/connection/uni_websocket`);
  s.defer(() => ws.close());
  const frames = [];
  ws.on('message', (d) => frames.push(d.toString()));
  await once(ws, 'open', 8000);
  ws.send(connect);
  await until(() => frames.length === 1, 8000, 'uni_websocket connect push');
  assert.match(frames[0], /^\{"connect":\{"client":"[0-9a-f-]{36}"/);
  const { epoch } = JSON.parse((await api(srv, 'publish', { channel: ch, data: { uni: 'tls' } })).text).result;
  const push = `{"channel":"${ch}","pub":{"data":{"uni":"tls"},"offset":1,"epoch":"${epoch}"}}`;
  await until(() => frames.length === 2, 8000, 'uni_websocket publication');
  assert.equal(frames[1], push);
  assert.equal((await lines(2))[1], push);
});

test('HTTP API over https: exact replies; plain HTTP on the TLS port gets Go\'s 400 answer', async (t, s) => {
  const r = await api(srv, 'info', {});
  assert.equal(r.status, 200);
  assert.match(r.text, /^\{"result":\{"nodes":\[\{"uid":"[^"]+","name":"[^"]+","version":"[^"]+","num_clients":\d+,/);
  const bad = await fetchText(`${srv.base}/api/publish`, { method: 'POST', body: '{}', headers: { 'X-API-Key': 'wrong' } });
  assert.equal(bad.status, 401);
  assert.equal(bad.text, '');
  // A plain-HTTP request on the TLS port: Go's net/http answer, then the connection closes.
  const plain = await fetch(`http://127.0.0.1:${srv.port}/health`, { signal: AbortSignal.timeout(5000) });
  assert.equal(plain.status, 400);
  assert.equal(await plain.text(), 'Client sent an HTTP request to an HTTPS server.\n');
  // The server is still fine.
  assert.equal((await fetchText(`${srv.base}/health`)).text, '{}');
});

test('garbage and a stalled handshake do not hurt the server', async (t, s) => {
  const net = await import('node:net');
  const sock = net.connect(srv.port, '127.0.0.1');
  await once(sock, 'connect');
  sock.write(Buffer.from([0x01, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5, 6, 7, 8])); // no TLS record type
  sock.resume(); // read the alert, then EOF
  await withTimeout(new Promise((r) => sock.on('close', r)), 5000, 'garbage connection closed');
  const stalled = net.connect(srv.port, '127.0.0.1'); // never sends its ClientHello
  s.defer(() => stalled.destroy());
  await once(stalled, 'connect');
  assert.equal((await fetchText(`${srv.base}/health`)).text, '{}');
});

test('mTLS: a client certificate from tls_client_ca is required; none or a foreign one is refused', async (t, s) => {
  const m = await startTls({ ...tlsFiles(), tls_client_ca: files['ca.pem'], api_key: 'k' });
  s.defer(() => m.stop());
  const ok = await fetchText(`${m.base}/api/info`, { method: 'POST', body: '{}', headers: { 'X-API-Key': 'k' } },
    { cert: pki.clientCert, key: pki.clientKey });
  assert.equal(ok.status, 200);
  const none = await fetchText(`${m.base}/health`).then(() => null, (e) => e);
  assert.ok(none, 'no client certificate must be refused');
  assert.equal(none.code, 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
  const foreign = await fetchText(`${m.base}/health`, {}, { cert: pki.intruderCert, key: pki.intruderKey })
    .then(() => null, (e) => e);
  assert.ok(foreign, 'a certificate of another CA must be refused');
  assert.equal(foreign.code, 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA');
  // wss:// with the client certificate.
  const c = new Centrifuge(m.wsUrl.replace('wss', 'wss'), {
    websocket: class extends WebSocket {
      constructor(url, p) { super(url, p, { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey }); }
    },
    token: userToken(9),
  });
  s.defer(() => c.disconnect());
  // No token secret configured on this server: the connect is refused by policy, after TLS.
  const dis = once(c, 'disconnected', 8000);
  c.connect();
  const d = await dis;
  assert.equal(d.code, 3500);
});

test('tls_external: TLS on the external port, the internal port (API, health) stays plain', async (t, s) => {
  const e = await startTls({ ...tlsFiles(), tls_external: true, api_key: 'k' }, { internal: true, tlsHealth: false });
  s.defer(() => e.stop());
  const plain = await fetch(`${e.internalBase}/api/info`, { method: 'POST', body: '{}', headers: { 'X-API-Key': 'k' } });
  assert.equal(plain.status, 200);
  await plain.text();
  // The external port speaks TLS only.
  const r = await fetchText(`${e.base}/connection/websocket`);
  assert.equal(r.status, 400);
  assert.match(e.output(), /"address":"\*:\d+","tls":true,"internal_port":"\d+","internal_tls":false,"time":"[^"]+","message":"serving"/);
});

test('v6: http_server.tls object with PEM values (raw, base64) and internal_tls for the internal port', async (t, s) => {
  const port = await freePort();
  const internalPort = await freePort();
  const cfg = {
    http_server: {
      port, internal_port: internalPort,
      tls: { enabled: true, cert_pem: pki.cert, key_pem: Buffer.from(pki.key).toString('base64') },
      internal_tls: { enabled: true, cert_pem: files['server.pem'], key_pem: files['server.key'], client_ca_pem: pki.ca },
    },
    health: { enabled: true },
    http_api: { key: 'k' },
  };
  const handle = spawnGyre({ configText: JSON.stringify(cfg) });
  const server = new Server(handle, port, cfg);
  s.defer(() => server.stop());
  const cc = { cert: pki.clientCert, key: pki.clientKey };
  await until(async () => {
    if (handle.exited) throw new Error(handle.out.text());
    try {
      return (await fetchText(`https://127.0.0.1:${internalPort}/health`, {}, cc)).status === 200;
    } catch {
      return false;
    }
  }, 10000, 'internal TLS health');
  // The internal port needs the client certificate (internal_tls.client_ca_pem); the external one does not.
  const refused = await fetchText(`https://127.0.0.1:${internalPort}/health`).then(() => null, (e) => e);
  assert.equal(refused?.code, 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
  const ext = await fetchText(`https://127.0.0.1:${port}/connection/websocket`);
  assert.equal(ext.status, 400);
});

test('start-up errors name the key: bad key file, missing file, no certificate, bad CA', async () => {
  const d = makeTempDir('gyre-tls-bad-');
  const garbage = path.join(d, 'bad.key');
  writeFileSync(garbage, 'not a key\n');
  const cases = [
    [{ tls: true, tls_cert: files['server.pem'], tls_key: garbage },
      'config: key "tls_key": parse certificate/key pair for tls_cert/tls_key: no private key found in PEM data'],
    [{ tls: true, tls_cert: files['server.pem'], tls_key: path.join(d, 'missing.key') },
      `config: key "tls_key": read TLS key: open ${path.join(d, 'missing.key')}: No such file or directory`],
    [{ tls: true, tls_cert: files['server.pem'], tls_key: files['client.key'] },
      'config: key "tls_key": parse certificate/key pair for tls_cert/tls_key: private key does not match public key'],
    [{ tls: true },
      'config: key "tls": TLS needs a certificate and its key: set tls_cert and tls_key, or tls_cert_pem and tls_key_pem'],
    [{ ...tlsFiles(), tls_client_ca: garbage },
      'config: key "tls_client_ca": parse client CA certificate: no valid certificates found'],
    [{ ...tlsFiles(), tls_root_ca_pem: 'bm90IHBlbQ==' },
      'config: key "tls_root_ca_pem": neither PEM, nor base64 of PEM, nor an existing file'],
  ];
  for (const [extra, message] of cases) {
    const port = await freePort();
    const h = spawnGyre({ configText: JSON.stringify({ port: String(port), ...extra }) });
    const ex = await withTimeout(h.exitPromise, 10000, 'gyre exits');
    assert.equal(ex.code, 1, h.out.text());
    const logged = JSON.stringify(message).slice(1, -1); // JSON log lines escape the quotes
    assert.ok(h.out.text().includes(logged), `expected ${message}\n--- got ---\n${h.out.text()}`);
  }
  rmSync(d, { recursive: true, force: true });
});

test('CLI flags --tls --tls_cert --tls_key, and the no-effect options are warned about', async (t, s) => {
  const port = await freePort();
  const h = spawnGyre({
    configText: JSON.stringify({ port: String(port), health: true, tls_server_name: 'example.com' }),
    args: ['--tls', '--tls_cert', files['server.pem'], '--tls_key', files['server.key']],
  });
  const server = new Server(h, port, {});
  s.defer(() => server.stop());
  await until(async () => {
    if (h.exited) throw new Error(h.out.text());
    try {
      return (await fetchText(`https://127.0.0.1:${port}/health`)).text === '{}';
    } catch {
      return false;
    }
  }, 10000, 'TLS health via flags');
  assert.match(h.out.text(), /tls_server_name has no effect on the HTTP server/);
});
