// ACME autocert (tls_autocert) end to end through the real gyre binary, against pebble v2.10.3
// (Let's Encrypt's ACME test server) and pebble-challtestsrv as its DNS (every name → 127.0.0.1),
// both built by scripts/build-pebble.sh into build/peers/ (GYRE_PEBBLE_DIR overrides); without
// them the file skips and says why. pebble validates tls-alpn-01 on gyre's TLS port (its
// `tlsPort`) and http-01 on gyre's tls_autocert_http_addr (its `httpPort`); it trusts nothing
// else, so a handshake that verifies to pebble's root (/roots/0 of its management API) proves the
// certificate came through gyre's ACME exchange. The host is gyre.test: clients connect to
// 127.0.0.1 with SNI (servername) gyre.test. Everything runs on free loopback ports, files in
// os.tmpdir(). Cases (f) (start-up errors) and (g) (a stalled CA) need no pebble and run without it.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import {
  test, spawnGyre, freePort, makeTempDir, Server, sleep, once, collect, until, withTimeout,
  userToken, uniq, WebSocket, Centrifuge, REPO,
} from './harness.mjs';

const HOST = 'gyre.test';
const PEBBLE_DIR = process.env.GYRE_PEBBLE_DIR || path.join(REPO, 'build', 'peers');
const missing = ['pebble', 'pebble-challtestsrv', 'pebble-certs/cert.pem', 'pebble-certs/key.pem',
  'pebble-certs/pebble.minica.pem'].filter((f) => !existsSync(path.join(PEBBLE_DIR, f)));
const SKIP = missing.length ? `pebble not built in ${PEBBLE_DIR} (scripts/build-pebble.sh): missing ${missing.join(', ')}` : false;
if (SKIP) console.log(`# tls_autocert: skipped: ${SKIP}`);

let dir;
let rootPem; // pebble's root (GET /roots/0)
let rootFp;
let acmePort;
let tlsAlpnPort; // pebble's tlsPort: gyre's TLS port in (a)
let httpPort; // pebble's httpPort: gyre's tls_autocert_http_addr in (b)
const children = []; // { name, proc, log, exited }
let pebble;
let leafA; // the certificate (a) was served, for (c)

function startChild(name, bin, args, env = {}) {
  const proc = spawn(path.join(PEBBLE_DIR, bin), args, {
    env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const c = { name, proc, log: '', exited: null };
  const add = (d) => { if (c.log.length < 200_000) c.log += d.toString(); };
  proc.stdout.on('data', add);
  proc.stderr.on('data', add);
  c.exitPromise = new Promise((r) => proc.on('close', (code, signal) => { c.exited = { code, signal }; r(); }));
  children.push(c);
  return c;
}

async function stopChild(c) {
  if (!c.exited) {
    c.proc.kill('SIGTERM');
    const t = setTimeout(() => { if (!c.exited) c.proc.kill('SIGKILL'); }, 5000);
    await c.exitPromise;
    clearTimeout(t);
  }
}

function portOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

function httpsGet(port, target, ca) {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: target, ca }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
  });
}

before(async () => {
  if (SKIP) return;
  dir = makeTempDir('gyre-autocert-');
  const dnsPort = await freePort();
  const challMgmt = await freePort();
  const mgmtPort = await freePort();
  acmePort = await freePort();
  tlsAlpnPort = await freePort();
  httpPort = await freePort();
  const certs = path.join(PEBBLE_DIR, 'pebble-certs');
  writeFileSync(path.join(dir, 'pebble.json'), JSON.stringify({
    pebble: {
      listenAddress: `127.0.0.1:${acmePort}`,
      managementListenAddress: `127.0.0.1:${mgmtPort}`,
      certificate: path.join(certs, 'cert.pem'),
      privateKey: path.join(certs, 'key.pem'),
      httpPort,
      tlsPort: tlsAlpnPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
      retryAfter: { authz: 1, order: 1 },
      keyAlgorithm: 'ecdsa',
      profiles: { default: { description: '90 days', validityPeriod: 7776000 } },
    },
  }));
  startChild('challtestsrv', 'pebble-challtestsrv', [
    '-defaultIPv4', '127.0.0.1', '-defaultIPv6', '', '-dnsserver', `127.0.0.1:${dnsPort}`,
    '-http01', '', '-https01', '', '-tlsalpn01', '', '-doh', '', '-management', `127.0.0.1:${challMgmt}`,
  ]);
  // No validation sleeps, no rejected nonces, no authorization reuse: each order validates.
  pebble = startChild('pebble', 'pebble', ['-config', path.join(dir, 'pebble.json'), '-dnsserver', `127.0.0.1:${dnsPort}`],
    { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' });
  // Readiness (not a timing assertion): both listen within 20 s.
  await until(async () => {
    for (const c of children) if (c.exited) throw new Error(`${c.name} exited: ${c.log}`);
    return (await portOpen(acmePort)) && (await portOpen(mgmtPort)) && (await portOpen(challMgmt));
  }, 20000, 'pebble and pebble-challtestsrv listening');
  const r = await httpsGet(mgmtPort, '/roots/0', readFileSync(path.join(certs, 'pebble.minica.pem')));
  assert.equal(r.status, 200);
  assert.match(r.body, /^-----BEGIN CERTIFICATE-----\n/);
  rootPem = r.body;
  rootFp = new X509Certificate(rootPem).fingerprint256;
});

after(async () => {
  for (const c of children) await stopChild(c);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// Starts gyre with tls_autocert for HOST (on `port`, cache in `cache`); does not wait.
async function startAutocert({ port, cache, extra = {} }) {
  const cfg = {
    port: String(port ?? (await freePort())), address: '127.0.0.1', health: true, log_level: 'debug',
    api_key: 'k', token_hmac_secret_key: 'secret',
    namespaces: [{ name: 'chat', allow_subscribe_for_client: true }],
    tls_autocert: true,
    tls_autocert_host_whitelist: HOST,
    tls_autocert_cache_dir: cache,
    tls_autocert_email: 'ops@gyre.test',
    tls_autocert_directory_url: `https://127.0.0.1:${acmePort}/dir`,
    tls_autocert_directory_ca: path.join(PEBBLE_DIR, 'pebble-certs', 'pebble.minica.pem'),
    ...extra,
  };
  const handle = spawnGyre({ configText: JSON.stringify(cfg, null, 2) });
  const server = new Server(handle, Number(cfg.port), cfg);
  server.base = `https://127.0.0.1:${cfg.port}`;
  server.wsUrl = `wss://127.0.0.1:${cfg.port}/connection/websocket`;
  return server;
}

// One TLS handshake to 127.0.0.1:port with SNI `servername`, trusting pebble's root only.
// Resolves { authorized, authorizationError, alpn, leaf fingerprint, top issuer fingerprint }
// or rejects with the handshake error.
function handshake(port, servername, { ca = rootPem } = {}) {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername, ca, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
    s.setTimeout(5000, () => s.destroy(new Error('handshake timeout')));
    s.on('secureConnect', () => {
      let c = s.getPeerCertificate(true);
      const leaf = c.fingerprint256;
      const san = c.subjectaltname;
      const chain = [leaf];
      while (c.issuerCertificate && c.issuerCertificate !== c) {
        c = c.issuerCertificate;
        chain.push(c.fingerprint256);
      }
      resolve({ authorized: s.authorized, authorizationError: s.authorizationError ?? null, alpn: s.alpnProtocol, leaf, san, top: chain[chain.length - 1], depth: chain.length });
      s.end();
    });
    s.on('error', reject);
  });
}

// Polls (bounded: a failure, not a latency threshold) until a handshake naming HOST succeeds:
// the certificate is obtained at start-up, and handshakes fail until it is in.
async function waitCertificate(server, timeoutMs = 20000) {
  let last = '';
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.handle.exited) throw new Error(`gyre exited: ${JSON.stringify(server.handle.exited)}\n${server.output()}`);
    try {
      return await handshake(server.port, HOST);
    } catch (e) {
      last = e.code || String(e);
    }
    await sleep(100);
  }
  throw new Error(`no certificate for ${HOST} within ${timeoutMs} ms (last: ${last})\n--- gyre ---\n${server.output()}\n--- pebble ---\n${pebble.log.slice(-4000)}`);
}

function assertChainsToPebble(h) {
  assert.equal(h.authorizationError, null);
  assert.equal(h.authorized, true);
  assert.equal(h.san, `DNS:${HOST}`);
  assert.equal(h.top, rootFp, 'the chain ends at pebble\'s root');
  assert.equal(h.alpn, 'http/1.1');
}

// node:https to 127.0.0.1 with SNI gyre.test, trusting pebble's root (hostname checked against it).
function apiCall(server, method, body) {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port: server.port, path: `/api/${method}`, method: 'POST', servername: HOST, ca: rootPem,
      headers: { 'X-API-Key': 'k', 'Content-Type': 'application/json' },
    }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.setTimeout(8000, () => req.destroy(new Error('timeout')));
    req.end(JSON.stringify(body));
  });
}

class PebbleTrustingWebSocket extends WebSocket {
  constructor(url, protocols) {
    super(url, protocols, { ca: rootPem, servername: HOST });
  }
}

let cacheA;

test('(a) tls-alpn-01: gyre obtains a certificate on its TLS port; SDK over wss:// and the API over https work', { skip: SKIP, timeout: 40000 }, async (t, s) => {
  cacheA = path.join(dir, 'cache-alpn');
  const server = await startAutocert({ port: tlsAlpnPort, cache: cacheA });
  s.defer(() => server.stop());
  const h = await waitCertificate(server);
  assertChainsToPebble(h);
  leafA = h.leaf;
  // Go autocert's DirCache layout: the account key and one file named as the host.
  assert.match(readFileSync(path.join(cacheA, HOST), 'utf8'), /^-----BEGIN EC PRIVATE KEY-----\n[\s\S]*-----BEGIN CERTIFICATE-----\n/);
  assert.ok(existsSync(path.join(cacheA, 'acme_account+key')));

  const c = new Centrifuge(server.wsUrl, { websocket: PebbleTrustingWebSocket, token: userToken(1) });
  s.defer(() => c.disconnect());
  const conn = once(c, 'connected', 8000);
  c.connect();
  assert.equal((await conn).transport, 'websocket');
  const ch = uniq('chat:');
  const sub = c.newSubscription(ch);
  const pubs = collect(sub, 'publication');
  const subd = once(sub, 'subscribed', 5000);
  sub.subscribe();
  await subd;
  const r = await apiCall(server, 'publish', { channel: ch, data: { over: 'acme' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.text, '{"result":{}}');
  await until(() => pubs.length === 1, 5000, 'publication over wss://');
  assert.deepEqual(pubs[0].data, { over: 'acme' });
  assert.equal(pubs[0].channel, ch);
  c.disconnect();
  // The ACME coroutine and the listener stop with the server: a clean exit on SIGTERM.
  assert.deepEqual(await server.stop(), { code: 0, signal: null });
});

test('(b) http-01 on tls_autocert_http_addr: the certificate, and the plain listener\'s redirect', { skip: SKIP, timeout: 40000 }, async (t, s) => {
  const server = await startAutocert({
    cache: path.join(dir, 'cache-http'),
    extra: { tls_autocert_http: true, tls_autocert_http_addr: `127.0.0.1:${httpPort}` },
  });
  s.defer(() => server.stop());
  const h = await waitCertificate(server);
  assertChainsToPebble(h);
  assert.notEqual(h.leaf, leafA);
  // A GET that is not a challenge: Go's HTTPHandler(nil) answer, 302 to https on the host without its port.
  const res = await withTimeout(new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: httpPort, path: '/some/path?x=1', headers: { Host: `${HOST}:${httpPort}` } }, (r) => {
      r.resume();
      r.on('end', () => resolve(r));
    });
    req.on('error', reject);
  }), 5000, 'plain GET on the http-01 listener');
  assert.equal(res.statusCode, 302);
  assert.equal(res.headers.location, `https://${HOST}/some/path?x=1`);
  assert.deepEqual(await server.stop(), { code: 0, signal: null });
});

test('(c) restart with the cache dir and pebble stopped: the cached certificate is served at once (also without SNI, tls_autocert_server_name)', { skip: SKIP, timeout: 30000 }, async (t, s) => {
  assert.ok(leafA, '(a) must have run first');
  await stopChild(pebble);
  assert.equal(await portOpen(acmePort), false);
  // tls_autocert_server_name: the certificate for clients that send no SNI.
  const server = await startAutocert({ cache: cacheA, extra: { tls_autocert_server_name: HOST } });
  s.defer(() => server.stop());
  const h = await waitCertificate(server, 10000);
  assertChainsToPebble(h);
  assert.equal(h.leaf, leafA, 'the certificate of (a), from the cache');
  const noSni = await handshake(server.port, undefined);
  assert.equal(noSni.leaf, leafA);
  assert.equal(noSni.top, rootFp);
  // No ACME request: none started (pebble is down, so one would also log its failure).
  assert.doesNotMatch(server.output(), /ACME: (obtaining|cannot obtain) certificate/);
});

test('(d) a handshake with an SNI outside the whitelist fails with unrecognized_name', { skip: SKIP, timeout: 30000 }, async (t, s) => {
  assert.ok(cacheA, '(a) must have run first');
  const server = await startAutocert({ cache: cacheA });
  s.defer(() => server.stop());
  assertChainsToPebble(await waitCertificate(server, 10000));
  for (const sni of ['other.test', `x.${HOST}`]) {
    const err = await handshake(server.port, sni).then(() => null, (e) => e);
    assert.ok(err, `a handshake naming ${sni} must fail`);
    assert.equal(err.code, 'ERR_SSL_TLSV1_UNRECOGNIZED_NAME', String(err));
  }
  // Without SNI (no tls_autocert_server_name): no certificate either.
  const none = await new Promise((resolve) => {
    const sock = tls.connect({ host: '127.0.0.1', port: server.port, ca: rootPem, rejectUnauthorized: false });
    sock.on('secureConnect', () => { sock.destroy(); resolve(null); });
    sock.on('error', resolve);
  });
  assert.ok(none, 'a handshake without SNI must fail');
  assert.equal(none.code, 'ERR_SSL_TLSV1_UNRECOGNIZED_NAME');
  // The server is fine afterwards.
  assertChainsToPebble(await handshake(server.port, HOST));
});

test('(e) the CA unreachable and no cache: the failure is logged with its retry, the server runs and stops cleanly', { skip: SKIP, timeout: 30000 }, async (t, s) => {
  assert.equal(await portOpen(acmePort), false, 'pebble is stopped by (c)');
  const server = await startAutocert({ cache: path.join(dir, 'cache-none') });
  s.defer(() => server.stop());
  await until(() => /"message":"ACME: cannot obtain certificate"/.test(server.output()), 15000, 'the ACME failure logged');
  const line = server.output().split('\n').find((l) => l.includes('ACME: cannot obtain certificate'));
  assert.match(line, /"level":"error","host":"gyre\.test","error":"[^"]+","retry_in_seconds":60,/);
  // No certificate: handshakes naming the host fail as for an unknown one; the process lives.
  const err = await handshake(server.port, HOST).then(() => null, (e) => e);
  assert.equal(err && err.code, 'ERR_SSL_TLSV1_UNRECOGNIZED_NAME');
  assert.equal(server.handle.exited, null);
  assert.deepEqual(await server.stop(), { code: 0, signal: null });
});

// Needs no CA: these fail before any ACME request.
test('(f) start-up errors name the key: unusable cache dir, a corrupt account key, the http-01 address taken, no whitelist', { timeout: 30000 }, async (t, s) => {
  const d = makeTempDir('gyre-autocert-bad-');
  s.defer(() => rmSync(d, { recursive: true, force: true }));
  writeFileSync(path.join(d, 'file'), 'x');
  const corrupt = path.join(d, 'corrupt');
  mkdirSync(corrupt);
  writeFileSync(path.join(corrupt, 'acme_account+key'), 'not a key\n');
  const taken = net.createServer();
  await new Promise((r) => taken.listen(0, '127.0.0.1', r));
  s.defer(() => taken.close());
  const takenAddr = `127.0.0.1:${taken.address().port}`;
  const cases = [
    [{ tls_autocert_cache_dir: path.join(d, 'file', 'sub') },
      `config: key "tls_autocert_cache_dir": ${path.join(d, 'file', 'sub')}: Not a directory`],
    [{ tls_autocert_cache_dir: corrupt },
      `config: key "tls_autocert_cache_dir": ${corrupt}/acme_account+key is not a PEM private key`],
    [{ tls_autocert_cache_dir: path.join(d, 'ok'), tls_autocert_http: true, tls_autocert_http_addr: takenAddr },
      `config: key "tls_autocert_http_addr": ${takenAddr}: Address already in use`],
    [{ tls_autocert_host_whitelist: '' },
      'config: key "tls_autocert_host_whitelist": required with tls_autocert: Gyre obtains a certificate at start-up for each listed host'],
  ];
  for (const [extra, message] of cases) {
    const server = await startAutocert({ cache: '', extra: { tls_autocert_directory_url: 'https://127.0.0.1:9/dir', tls_autocert_directory_ca: '', ...extra } });
    s.defer(() => server.stop());
    const ex = await withTimeout(server.handle.exitPromise, 10000, 'gyre exits');
    assert.equal(ex.code, 1, server.output());
    const out = server.output();
    // A JSON log line escapes the quotes; the loader's errors are plain text on stderr.
    assert.ok(out.includes(JSON.stringify(message).slice(1, -1)) || out.includes(message), `expected ${message}\n--- got ---\n${out}`);
  }
});

test('(g) SIGTERM while an ACME request hangs on a stalled CA: the server exits 0', { timeout: 30000 }, async (t, s) => {
  // A "CA" that accepts TCP connections and never answers: the directory request stays pending
  // (tls_autocert requests time out after 30 s); shutdown must cancel it, not wait for it.
  const held = [];
  const stalled = net.createServer((sock) => held.push(sock));
  await new Promise((r) => stalled.listen(0, '127.0.0.1', r));
  s.defer(() => { for (const c of held) c.destroy(); stalled.close(); });
  const server = await startAutocert({
    cache: '',
    extra: { tls_autocert_directory_url: `https://127.0.0.1:${stalled.address().port}/dir`, tls_autocert_directory_ca: '' },
  });
  s.defer(() => server.stop());
  await until(() => held.length > 0 && /"message":"ACME: obtaining certificate"/.test(server.output()), 10000, 'the ACME request pending');
  assert.equal(server.handle.exited, null);
  assert.deepEqual(await server.stop(), { code: 0, signal: null });
  assert.doesNotMatch(server.output(), /ACME: cannot obtain certificate/);
});
