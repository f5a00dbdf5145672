// TLS to Redis (redis_tls*, v6 engine.redis.tls): Debian's redis-server serves TLS only
// (`--port 0 --tls-port P`) with a throwaway CA, server and client certificate made with the
// openssl CLI in a temp dir. Two Gyre nodes deliver, keep history and presence through it
// (one configured with v5 file keys, one with v6 environment variables and a base64 PEM);
// mutual TLS works with a client certificate and fails cleanly without one; a wrong CA makes
// the node report the engine down (health 503, API 100) with a log line naming the failed
// certificate check, and it keeps running. A TLS-only Sentinel (redis_sentinel_tls) and a
// 3-master TLS Redis Cluster (tls-cluster) work; rediss:// uses the system CA store when
// redis_tls is off. Start-up errors name the key.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, startServer, spawnGyre, freePort, baseConfig, Server, userToken, uniq, once, collect, until, sleep } from './harness.mjs';
import { RedisServer, SentinelServer, keySlot, freeClusterPort } from './redis_server.mjs';

const NS = [{
  name: 'chat', presence: true, join_leave: true, history_size: 10, history_ttl: '300s',
  force_recovery: true, allow_subscribe_for_client: true, allow_presence_for_subscriber: true,
  allow_history_for_subscriber: true,
}];

let dir;
let pki;
let redis; // TLS, client certificates not required
let mtls; // TLS, client certificates required
let a;
let b;

function openssl(...args) {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

// An EC P-256 CA `name`, and `leaf` certificates signed by it.
function makeCa(name) {
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`);
}
function makeLeaf(ca, name, ext) {
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  writeFileSync(path.join(dir, `${name}.ext`), `${ext}\n`);
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`,
    '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
}
const file = (name) => path.join(dir, name);
const text = (name) => readFileSync(file(name), 'utf8');

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gyre-redis-tls-'));
  makeCa('ca');
  makeCa('other-ca');
  makeLeaf('ca', 'server', 'subjectAltName=IP:127.0.0.1,DNS:localhost');
  makeLeaf('ca', 'client', 'extendedKeyUsage=clientAuth');
  pki = { ca: text('ca.crt'), clientCert: text('client.crt'), clientKey: text('client.key') };
  const serverTls = (authClients) => ({
    cert: file('server.crt'), key: file('server.key'), ca: file('ca.crt'), authClients,
    client: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey },
  });
  redis = await RedisServer.start(undefined, [], { tls: serverTls('no') });
  mtls = await RedisServer.start(undefined, [], { tls: serverTls('yes') });
  const common = { engine: 'redis', redis_address: `127.0.0.1:${redis.port}`, redis_io_timeout: '1s',
    redis_connect_timeout: '500ms', api_key: 'k', token_hmac_secret_key: 'secret', namespaces: NS };
  // A: v5 file keys (CA from a file). B: v6 environment variables, the CA as base64 PEM.
  a = await startServer({ ...common, redis_tls: true, redis_tls_root_ca: file('ca.crt') });
  b = await startServer(common, { env: {
    CENTRIFUGO_ENGINE_REDIS_TLS_ENABLED: 'true',
    CENTRIFUGO_ENGINE_REDIS_TLS_SERVER_CA_PEM: Buffer.from(pki.ca).toString('base64'),
  } });
});
after(async () => {
  await a?.stop();
  await b?.stop();
  await redis?.stop();
  await mtls?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function connected(scope, server, user) {
  const c = scope.sdk(server, { token: userToken(user) });
  const p = once(c, 'connected', 5000);
  c.connect();
  return [c, await p];
}
async function subscribed(client, channel) {
  const sub = client.newSubscription(channel);
  const p = once(sub, 'subscribed', 5000);
  sub.subscribe();
  return [sub, await p];
}
const INTERNAL = { error: { code: 100, message: 'internal server error' } };

test('through a TLS-only Redis: delivery across two nodes, history, presence; keys are in Redis', async (t, scope) => {
  assert.match(a.output(), /"mode":"standalone","address":"127\.0\.0\.1:\d+","prefix":"centrifugo","shards":1,"tls":true,/);
  const ch = `chat:${uniq()}`;
  const [ca, ctxa] = await connected(scope, a, 'alice');
  const [cb, ctxb] = await connected(scope, b, 'bob');
  const [sa] = await subscribed(ca, ch);
  const [sb] = await subscribed(cb, ch);
  const pa = collect(sa, 'publication');
  const pb = collect(sb, 'publication');
  assert.deepEqual(await a.apiOk('publish', { channel: ch, data: { n: 1 } }), { offset: 1, epoch: (await b.apiOk('history', { channel: ch })).epoch });
  await b.apiOk('publish', { channel: ch, data: { n: 2 } });
  await until(() => pa.length === 2 && pb.length === 2, 5000, 'two publications on both nodes');
  assert.deepEqual(pa.map((p) => p.data.n), [1, 2]);
  assert.deepEqual(pb.map((p) => p.data.n), [1, 2]);
  const h = await b.apiOk('history', { channel: ch, limit: -1 });
  assert.deepEqual(h.publications.map((p) => [p.offset, p.data.n]), [[1, 1], [2, 2]]);
  const presence = (await a.apiOk('presence', { channel: ch })).presence;
  assert.deepEqual(Object.keys(presence).sort(), [ctxa.client, ctxb.client].sort());
  assert.deepEqual(await b.apiOk('presence_stats', { channel: ch }), { num_clients: 2, num_users: 2 });
  // What the nodes wrote, read back over TLS: Centrifugo's stream and presence keys.
  const rc = await redis.client();
  scope.defer(() => rc.close());
  assert.equal(await rc.call('XLEN', `centrifugo.stream.${ch}`), 2);
  assert.equal(await rc.call('HLEN', `centrifugo.presence.data.${ch}`), 2);
  assert.deepEqual((await a.health()).status, 200);
});

/**
 * Starts gyre (the harness's base config + `config`) whose engine cannot come up: resolves
 * once it listens (its /health answers at all) with {server, health}.
 */
async function startEngineDown(scope, config) {
  const port = await freePort();
  const cfg = { ...baseConfig(port), ...config };
  const handle = spawnGyre({ configText: JSON.stringify(cfg) });
  const server = new Server(handle, port, cfg);
  scope.defer(() => server.stop());
  let health;
  await until(async () => {
    if (handle.exited) throw new Error(`gyre exited: ${JSON.stringify(handle.exited)}\n${handle.out.text()}`);
    health = await server.health().catch(() => null);
    return health !== null;
  }, 10000, 'gyre listening');
  return { server, health };
}

function nodeOn(r, extra) {
  return {
    engine: 'redis', redis_address: `127.0.0.1:${r.port}`, redis_io_timeout: '1s', redis_connect_timeout: '500ms',
    api_key: 'k', token_hmac_secret_key: 'secret', namespaces: NS, redis_tls: true, ...extra,
  };
}

test('mutual TLS: the client certificate (file keys) is presented and accepted', async (t, scope) => {
  const node = await startServer(nodeOn(mtls, {
    redis_tls_root_ca_pem: pki.ca, redis_tls_cert: file('client.crt'), redis_tls_key: file('client.key'),
  }));
  scope.defer(() => node.stop());
  const ch = `chat:${uniq()}`;
  assert.equal((await node.apiOk('publish', { channel: ch, data: { m: 1 } })).offset, 1);
  assert.deepEqual((await node.apiOk('history', { channel: ch, limit: -1 })).publications.map((p) => p.data), [{ m: 1 }]);
  // The same with the PEM keys (v6 environment names: cert_pem/key_pem as PEM text).
  const viaEnv = await startServer(nodeOn(mtls, { redis_tls: false }), { env: {
    CENTRIFUGO_ENGINE_REDIS_TLS_ENABLED: 'true', CENTRIFUGO_ENGINE_REDIS_TLS_SERVER_CA_PEM: file('ca.crt'),
    CENTRIFUGO_ENGINE_REDIS_TLS_CERT_PEM: pki.clientCert, CENTRIFUGO_ENGINE_REDIS_TLS_KEY_PEM: pki.clientKey,
  } });
  scope.defer(() => viaEnv.stop());
  assert.equal((await viaEnv.apiOk('publish', { channel: ch, data: { m: 2 } })).offset, 2);
});

test('mutual TLS without a client certificate: /health 503, API 100, the failure logged, no crash', { timeout: 30000 }, async (t, scope) => {
  const { server: node, health } = await startEngineDown(scope, nodeOn(mtls, { redis_tls_root_ca_pem: pki.ca }));
  assert.deepEqual(health, { status: 503, text: '{"error":"engine unavailable"}' });
  assert.deepEqual((await node.api('publish', { channel: 'chat:x', data: {} })).json, INTERNAL);
  await until(() => new RegExp(`"connection":"shard 0","address":"127\\.0\\.0\\.1:${mtls.port}","error":"`).test(node.output()), 5000, 'the log line');
  assert.equal(node.handle.exited, null);
});

test('a Redis certificate from another CA: /health 503, API 100, "certificate verify failed" logged once, no crash', { timeout: 30000 }, async (t, scope) => {
  const { server: node, health } = await startEngineDown(scope, nodeOn(redis, { redis_tls_root_ca: file('other-ca.crt') }));
  assert.equal(health.status, 503);
  assert.deepEqual((await node.api('publish', { channel: 'chat:x', data: {} })).json, INTERNAL);
  assert.deepEqual((await node.api('history', { channel: 'chat:x' })).json, INTERNAL);
  const line = new RegExp(`"connection":"shard 0","address":"127\\.0\\.0\\.1:${redis.port}","error":"tls handshake: certificate verify failed: (self-signed certificate in certificate chain|unable to get local issuer certificate)"`, 'g');
  await until(() => line.test(node.output()), 5000, 'the certificate check in the log');
  // Throttled: one line while it stays down, although it retries every ≤ 3 s.
  assert.equal(node.output().match(line).length, 1);
  assert.equal(node.handle.exited, null);
  assert.equal((await node.health()).status, 503);
});

test('redis_tls_server_name is the name verified (and sent as SNI); insecure_skip_verify skips the check', { timeout: 30000 }, async (t, scope) => {
  const ch = `chat:${uniq()}`;
  // The server certificate names DNS:localhost and IP:127.0.0.1; the node connects to 127.0.0.1.
  const named = await startServer(nodeOn(redis, { redis_tls_root_ca: file('ca.crt'), redis_tls_server_name: 'localhost' }));
  scope.defer(() => named.stop());
  assert.equal((await named.apiOk('publish', { channel: ch, data: { k: 1 } })).offset, 1);
  const insecure = await startServer(nodeOn(redis, { redis_tls_root_ca: file('other-ca.crt'), redis_tls_insecure_skip_verify: true }));
  scope.defer(() => insecure.stop());
  assert.equal((await insecure.apiOk('publish', { channel: ch, data: { k: 2 } })).offset, 2);
  const { server: wrong, health } = await startEngineDown(scope, nodeOn(redis, { redis_tls_root_ca: file('ca.crt'),
    redis_tls_server_name: 'redis.example' }));
  assert.equal(health.status, 503);
  await until(() => new RegExp(`"connection":"shard 0","address":"127\\.0\\.0\\.1:${redis.port}","error":"tls handshake: certificate verify failed: hostname mismatch`).test(wrong.output()),
    5000, 'the name check in the log');
});

test('Sentinel over TLS: the master is discovered through a TLS-only Sentinel and reached over TLS', { timeout: 30000 }, async (t, scope) => {
  const tlsFiles = { cert: file('server.crt'), key: file('server.key'), ca: file('ca.crt'), authClients: 'no',
    client: { ca: pki.ca } };
  const sentinel = await SentinelServer.start('tlsmaster', redis.port, { tls: tlsFiles });
  scope.defer(() => sentinel.stop());
  const base = { engine: 'redis', redis_sentinel_address: [`127.0.0.1:${sentinel.port}`], redis_sentinel_master_name: 'tlsmaster',
    redis_io_timeout: '1s', redis_connect_timeout: '500ms', api_key: 'k', token_hmac_secret_key: 'secret', namespaces: NS,
    redis_tls: true, redis_tls_root_ca_pem: pki.ca };
  const node = await startServer({ ...base, redis_sentinel_tls: true, redis_sentinel_tls_root_ca: file('ca.crt') });
  scope.defer(() => node.stop());
  const ch = `chat:${uniq()}`;
  assert.equal((await node.apiOk('publish', { channel: ch, data: { s: 1 } })).offset, 1);
  assert.deepEqual((await node.apiOk('history', { channel: ch, limit: -1 })).publications.map((p) => p.data), [{ s: 1 }]);
  // Without redis_sentinel_tls the Sentinel cannot be asked: the engine stays down.
  const { server: plain, health } = await startEngineDown(scope, base);
  assert.equal(health.status, 503);
  assert.deepEqual((await plain.api('publish', { channel: ch, data: {} })).json, INTERNAL);
  await until(() => /"connection":"shard 0","address":"master \\"tlsmaster\\"","error":"sentinel: /.test(plain.output()), 5000, 'the sentinel failure logged');
});

test('Redis Cluster over TLS (tls-cluster): slot routing to every master through TLS connections', { timeout: 60000 }, async (t, scope) => {
  const cdir = mkdtempSync(path.join(os.tmpdir(), 'gyre-tls-cluster-'));
  const nodes = [];
  scope.defer(async () => {
    for (const n of nodes) await n.stop();
    rmSync(cdir, { recursive: true, force: true });
  });
  const tlsFiles = { cert: file('server.crt'), key: file('server.key'), ca: file('ca.crt'), authClients: 'no',
    client: { ca: pki.ca } };
  for (let i = 0; i < 3; i++) {
    const port = await freeClusterPort();
    nodes.push(await RedisServer.start(port, ['--cluster-enabled', 'yes', '--cluster-config-file',
      path.join(cdir, `nodes-${port}.conf`), '--cluster-node-timeout', '2000', '--tls-cluster', 'yes'], { tls: tlsFiles }));
  }
  const r = spawnSync('redis-cli', ['--tls', '--cacert', file('ca.crt'), '--cluster', 'create',
    ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8', timeout: 30000 });
  assert.equal(r.status, 0, `redis-cli --cluster create: ${r.stdout}\n${r.stderr}`);
  await until(async () => {
    for (const n of nodes) {
      const c = await n.client();
      const info = String(await c.call('CLUSTER', 'INFO'));
      c.close();
      if (!info.includes('cluster_state:ok')) return false;
    }
    return true;
  }, 20000, 'cluster_state:ok');
  const node = await startServer({ engine: 'redis', redis_cluster_address: [nodes.map((n) => `127.0.0.1:${n.port}`).join(',')],
    redis_io_timeout: '1s', redis_connect_timeout: '500ms', api_key: 'k', token_hmac_secret_key: 'secret', namespaces: NS,
    redis_tls: true, redis_tls_root_ca: file('ca.crt') });
  scope.defer(() => node.stop());
  // Two channels on each master (slots from CLUSTER SLOTS); every call goes through TLS.
  const c0 = await nodes[0].client();
  const ranges = await c0.call('CLUSTER', 'SLOTS');
  c0.close();
  const ownerOf = (slot) => Number(ranges.find(([start, end]) => slot >= start && slot <= end)[2][1]);
  const perOwner = new Map(nodes.map((n) => [n.port, []]));
  while ([...perOwner.values()].some((list) => list.length < 2)) {
    const ch = `chat:${uniq()}`;
    perOwner.get(ownerOf(keySlot(ch))).push(ch);
  }
  const channels = [...perOwner.values()].flat();
  for (const ch of channels) {
    assert.equal((await node.apiOk('publish', { channel: ch, data: { c: ch } })).offset, 1);
    assert.deepEqual((await node.apiOk('history', { channel: ch, limit: -1 })).publications.map((p) => p.data), [{ c: ch }]);
  }
  for (const n of nodes) {
    const c = await n.client();
    const keys = (await c.call('KEYS', 'centrifugo.stream.{*')).map(String).sort();
    c.close();
    assert.deepEqual(keys, perOwner.get(n.port).map((ch) => `centrifugo.stream.{${ch}}`).sort());
  }
});

test('rediss:// (v6 scheme): TLS with the system CA store when redis_tls is off', { timeout: 30000 }, async (t, scope) => {
  const cfg = { engine: 'redis', redis_address: `rediss://127.0.0.1:${redis.port}`, redis_io_timeout: '1s',
    redis_connect_timeout: '500ms', api_key: 'k', token_hmac_secret_key: 'secret', namespaces: NS };
  // SSL_CERT_FILE makes the test CA OpenSSL's default ("system") store of this node only.
  const trusted = await startServer(cfg, { env: { SSL_CERT_FILE: file('ca.crt') } });
  scope.defer(() => trusted.stop());
  const ch = `chat:${uniq()}`;
  assert.equal((await trusted.apiOk('publish', { channel: ch, data: { r: 1 } })).offset, 1);
  // With the real system store the test CA is unknown: the certificate check fails.
  const { server: untrusted, health } = await startEngineDown(scope, cfg);
  assert.equal(health.status, 503);
  await until(() => new RegExp(`"connection":"shard 0","address":"127\\.0\\.0\\.1:${redis.port}","error":"tls handshake: certificate verify failed`).test(untrusted.output()),
    5000, 'the certificate check in the log');
});

/** Starts gyre with `config` (it must fail); resolves with its output. */
async function startupError(config) {
  const h = spawnGyre({ configText: JSON.stringify({ port: String(await freePort()), ...config }) });
  const exit = await h.exitPromise;
  assert.notEqual(exit.code, 0, `expected a start-up error; output: ${h.out.text()}`);
  return h.out.text();
}

test('TLS config errors name the key; a client CA is warned as having no effect', async (t, scope) => {
  const base = { engine: 'redis', redis_address: '127.0.0.1:1', redis_tls: true };
  const cases = [
    [{ redis_tls_cert: file('client.crt') }, /key "redis_tls_key": must be set together with "redis_tls_cert"/],
    [{ redis_tls_cert: file('client.crt'), redis_tls_key: file('server.key') },
      /key "redis_tls_cert": invalid certificate\/key pair with "redis_tls_key": the private key does not match the certificate/],
    [{ redis_tls_root_ca: path.join(dir, 'missing.crt') }, /key "redis_tls_root_ca": cannot read file ".*missing\.crt"/],
    [{ redis_tls_root_ca_pem: 'not a pem' }, /key "redis_tls_root_ca_pem": is neither PEM, base64 of PEM nor the path of a readable file/],
    [{ redis_tls_root_ca: file('client.key') }, /key "redis_tls_root_ca": no valid certificates found/],
    [{ redis_sentinel_address: ['127.0.0.1:1'], redis_sentinel_master_name: 'm', redis_sentinel_tls: true,
      redis_sentinel_tls_key_pem: pki.clientKey }, /key "redis_sentinel_tls_cert_pem": must be set together with "redis_sentinel_tls_key_pem"/],
  ];
  for (const [cfg, re] of cases) {
    assert.match(await startupError({ ...base, ...cfg }), re, JSON.stringify(cfg));
  }
  const warned = await startServer({ ...base, redis_address: `127.0.0.1:${redis.port}`, api_key: 'k',
    redis_tls_root_ca: file('ca.crt'), redis_tls_client_ca: file('ca.crt') });
  scope.defer(() => warned.stop());
  assert.match(warned.output(), /key \\?"redis_tls_client_ca\\?" has no effect: a client CA verifies the certificates of clients/);
  assert.equal((await warned.apiOk('publish', { channel: 'x', data: {} })).offset, undefined);
});
