// Centrifugo v6 configuration (v6-config.md): the server started the way the official SDKs'
// own test suites start Centrifugo v6 — environment variables only, nested v6 names — and
// driven with the npm SDK; then a v6 YAML file, checkconfig/defaultconfig/defaultenv.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  test, spawnGyre, runGyre, freePort, makeTempDir, waitHealthy, Server, userToken, uniq, once, collect,
  until, rejects, sleep,
} from './harness.mjs';

// The environment of centrifuge-js's docker-compose for Centrifugo v6, plus a namespace with a
// tiny history set through the per-item variables.
function sdkSuiteEnv(port) {
  return {
    CENTRIFUGO_HTTP_SERVER_PORT: String(port),
    CENTRIFUGO_HEALTH_ENABLED: 'true',
    CENTRIFUGO_LOG_LEVEL: 'debug',
    CENTRIFUGO_HTTP_API_KEY: 'k',
    CENTRIFUGO_CLIENT_TOKEN_HMAC_SECRET_KEY: 'secret',
    CENTRIFUGO_CLIENT_ALLOW_ANONYMOUS_CONNECT_WITHOUT_TOKEN: 'true',
    CENTRIFUGO_CLIENT_CONCURRENCY: '8',
    CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_PRESENCE: 'true',
    CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_JOIN_LEAVE: 'true',
    CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_FORCE_PUSH_JOIN_LEAVE: 'true',
    CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_HISTORY_SIZE: '100',
    CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_HISTORY_TTL: '300s',
    CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_FORCE_RECOVERY: 'true',
    CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_ALLOWED_DELTA_TYPES: 'fossil',
    CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_ALLOW_SUBSCRIBE_FOR_CLIENT: 'true',
    CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_ALLOW_SUBSCRIBE_FOR_ANONYMOUS: 'true',
    CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_ALLOW_PUBLISH_FOR_SUBSCRIBER: 'true',
    CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_ALLOW_PUBLISH_FOR_ANONYMOUS: 'true',
    CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_ALLOW_PRESENCE_FOR_SUBSCRIBER: 'true',
    CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_ALLOW_PRESENCE_FOR_ANONYMOUS: 'true',
    CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_ALLOW_HISTORY_FOR_SUBSCRIBER: 'true',
    CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_ALLOW_HISTORY_FOR_ANONYMOUS: 'true',
    CENTRIFUGO_CHANNEL_NAMESPACES: 'tiny',
    CENTRIFUGO_CHANNEL_NAMESPACES_TINY_HISTORY_SIZE: '2',
    CENTRIFUGO_CHANNEL_NAMESPACES_TINY_HISTORY_TTL: '60s',
    CENTRIFUGO_CHANNEL_NAMESPACES_TINY_ALLOW_SUBSCRIBE_FOR_CLIENT: 'true',
    CENTRIFUGO_CHANNEL_NAMESPACES_TINY_ALLOW_HISTORY_FOR_SUBSCRIBER: 'true',
  };
}

const started = [];
let srv;

async function startV6({ env = {}, configText, ext = 'json', port } = {}) {
  port = port ?? (await freePort());
  // No file unless given: an explicit path that does not exist is only a warning.
  const args = configText === undefined ? ['--config', path.join(makeTempDir(), 'absent.json')] : [];
  const handle = spawnGyre({ configText, ext, env, args, noConfigFlag: configText === undefined });
  const server = new Server(handle, port, { api_key: 'k' });
  started.push(server);
  await waitHealthy(port, handle);
  return server;
}

before(async () => {
  const port = await freePort();
  srv = await startV6({ env: sdkSuiteEnv(port), port });
});
after(async () => {
  for (const s of started) await s.stop();
});

async function connected(scope, server, opts) {
  const c = scope.sdk(server, opts);
  const p = once(c, 'connected', 5000);
  c.connect();
  const ctx = await p;
  return [c, ctx];
}

async function subscribed(client, channel, opts = {}) {
  const sub = client.newSubscription(channel, opts);
  const p = once(sub, 'subscribed', 5000);
  sub.subscribe();
  const ctx = await p;
  return [sub, ctx];
}

test('v6 env only: no unknown-key warning, token from CENTRIFUGO_CLIENT_TOKEN_HMAC_SECRET_KEY', async (t, s) => {
  assert.doesNotMatch(srv.output(), /unknown key/);
  const [, ctx] = await connected(s, srv, { token: userToken('42') });
  assert.equal(typeof ctx.client, 'string');
  // Anonymous too (client.allow_anonymous_connect_without_token).
  const [anon] = await connected(s, srv, {});
  assert.equal(anon.state, 'connected');
});

test('v6 env: presence and presence stats on a channel without namespace', async (t, s) => {
  const ch = uniq('pres-');
  const [a, actx] = await connected(s, srv, { token: userToken('1') });
  const [b, bctx] = await connected(s, srv, { token: userToken('2') });
  const [sa] = await subscribed(a, ch);
  await subscribed(b, ch);
  assert.deepEqual(await sa.presenceStats(), { numClients: 2, numUsers: 2 });
  const p = await sa.presence();
  assert.deepEqual(Object.keys(p.clients).sort(), [actx.client, bctx.client].sort());
  assert.equal(p.clients[bctx.client].user, '2');
});

test('v6 env: join/leave pushed (join_leave + force_push_join_leave)', async (t, s) => {
  const ch = uniq('jl-');
  const [a] = await connected(s, srv, { token: userToken('1') });
  const [sa] = await subscribed(a, ch);
  const joins = collect(sa, 'join');
  const leaves = collect(sa, 'leave');
  const [b, bctx] = await connected(s, srv, { token: userToken('7') });
  const [sb] = await subscribed(b, ch);
  // a may also see its own join (pushed after its subscribe reply), so look for b's.
  await until(() => joins.some((j) => j.info.client === bctx.client), 5000, 'join of b');
  assert.deepEqual(joins.find((j) => j.info.client === bctx.client), { channel: ch, info: { client: bctx.client, user: '7' } });
  sb.unsubscribe();
  await until(() => leaves.some((l) => l.info.client === bctx.client), 5000, 'leave of b');
  assert.deepEqual(leaves.find((l) => l.info.client === bctx.client), { channel: ch, info: { client: bctx.client, user: '7' } });
});

test('v6 env: history, and publish by a subscriber', async (t, s) => {
  const ch = uniq('hist-');
  const [c] = await connected(s, srv, { token: userToken('3') });
  const [sub] = await subscribed(c, ch);
  await sub.publish({ n: 1 });
  for (let i = 2; i <= 3; i++) await srv.apiOk('publish', { channel: ch, data: { n: i } });
  const h = await sub.history({ limit: 10 });
  assert.deepEqual(h.publications.map((p) => [p.offset, p.data.n]), [[1, 1], [2, 2], [3, 3]]);
  assert.equal(h.offset, 3);
});

test('v6 env: forced recovery after reconnect delivers missed publications', async (t, s) => {
  const ch = uniq('rec-');
  const [c] = await connected(s, srv, { token: userToken('4') });
  const sub = c.newSubscription(ch);
  const subs = collect(sub, 'subscribed');
  const pubs = collect(sub, 'publication');
  sub.subscribe();
  await until(() => subs.length === 1, 5000, 'subscribed');
  assert.equal(subs[0].recoverable, true);
  await srv.apiOk('publish', { channel: ch, data: { n: 1 } });
  await until(() => pubs.length === 1, 5000, 'live publication');
  c.disconnect();
  await srv.apiOk('publish', { channel: ch, data: { n: 2 } });
  c.connect();
  await until(() => subs.length === 2, 5000, 'resubscribed');
  assert.equal(subs[1].wasRecovering, true);
  assert.equal(subs[1].recovered, true);
  await until(() => pubs.length === 2, 5000, 'recovered publication');
  assert.deepEqual(pubs.map((p) => [p.offset, p.data.n]), [[1, 1], [2, 2]]);
});

test('v6 env: fossil delta negotiated (allowed_delta_types) and decoded by the SDK', async (t, s) => {
  const ch = uniq('delta-');
  const [c] = await connected(s, srv, { token: userToken('5') });
  const sub = c.newSubscription(ch, { delta: 'fossil' });
  const got = collect(sub, 'publication');
  const p = once(sub, 'subscribed', 5000);
  sub.subscribe();
  await p;
  const sent = [];
  for (let i = 1; i <= 4; i++) {
    const data = { i, text: 'a fairly long and mostly constant text '.repeat(4) };
    sent.push(data);
    await srv.apiOk('publish', { channel: ch, data, delta: true });
  }
  await until(() => got.length === 4, 5000, '4 publications');
  assert.deepEqual(got.map((x) => x.data), sent);
});

test('v6 env: namespace from CENTRIFUGO_CHANNEL_NAMESPACES keeps its tiny history (size 2)', async (t, s) => {
  const ch = uniq('tiny:');
  const [c] = await connected(s, srv, { token: userToken('6') });
  const [sub] = await subscribed(c, ch);
  for (let i = 1; i <= 5; i++) await srv.apiOk('publish', { channel: ch, data: { n: i } });
  const h = await sub.history({ limit: 10 });
  assert.deepEqual(h.publications.map((p) => [p.offset, p.data.n]), [[4, 4], [5, 5]]);
  assert.equal(h.offset, 5);
  // No presence in that namespace: the without_namespace options are not inherited.
  const err = await rejects(sub.presence());
  assert.equal(err.code, 108);
});

test('v6 YAML file: nested blocks honoured (token, namespace, API key, port)', async (t, s) => {
  const port = await freePort();
  const yaml = [
    'http_server:', `  port: ${port}`,
    'health:', '  enabled: true',
    'http_api:', '  key: k',
    'client:', '  token:', '    hmac_secret_key: yaml-secret',
    'channel:', '  namespaces:',
    '    - name: room', '      presence: true', '      allow_subscribe_for_client: true',
    '      allow_presence_for_subscriber: true',
  ].join('\n') + '\n';
  const y = await startV6({ configText: yaml, ext: 'yaml', port });
  assert.doesNotMatch(y.output(), /unknown key|not supported/);
  const [c] = await connected(s, y, { token: userToken('9', {}, { secret: 'yaml-secret' }) });
  const [sub] = await subscribed(c, uniq('room:'));
  assert.deepEqual(await sub.presenceStats(), { numClients: 1, numUsers: 1 });
  assert.equal((await y.api('info', {}, { key: 'wrong' })).status, 401);
  assert.equal((await y.api('info', {})).status, 200);
});

test('a file mixing v5 keys and v6 blocks is refused naming the key', () => {
  const f = path.join(makeTempDir(), 'mixed.json');
  writeFileSync(f, JSON.stringify({ client: { insecure: true }, token_hmac_secret_key: 'x' }));
  const r = runGyre(['checkconfig', '-c', f]);
  assert.equal(r.code, 1, r.out);
  assert.match(r.stderr, /key "token_hmac_secret_key" is a Centrifugo v5 flat key, but the file's first key "client" is a Centrifugo v6 nested block/);
});

test('unsupported v6 switches are refused: http_server.h2c_external', () => {
  const f = path.join(makeTempDir(), 'h2c.json');
  writeFileSync(f, JSON.stringify({ http_server: { h2c_external: true } }));
  const r = runGyre(['checkconfig', '-c', f]);
  assert.equal(r.code, 1, r.out);
  assert.match(r.stderr, /key "http_server\.h2c_external": true is not supported yet/);
});

test('checkconfig --print: the v6 file and the v6 env give the same effective config', () => {
  const dir = makeTempDir();
  const f6 = path.join(dir, 'v6.json');
  writeFileSync(f6, JSON.stringify({
    client: { token: { hmac_secret_key: 's' } },
    channel: { without_namespace: { presence: true }, namespaces: [{ name: 'chat', history_size: 5, history_ttl: '60s' }] },
  }));
  const empty = path.join(dir, 'empty.json');
  writeFileSync(empty, '{}');
  const a = runGyre(['checkconfig', '-c', f6, '--print']);
  assert.equal(a.code, 0, a.out);
  const b = runGyre(['checkconfig', '-c', empty, '--print'], {
    env: {
      CENTRIFUGO_CLIENT_TOKEN_HMAC_SECRET_KEY: 's',
      CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_PRESENCE: 'true',
      CENTRIFUGO_CHANNEL_NAMESPACES: 'chat',
      CENTRIFUGO_CHANNEL_NAMESPACES_CHAT_HISTORY_SIZE: '5',
      CENTRIFUGO_CHANNEL_NAMESPACES_CHAT_HISTORY_TTL: '60s',
    },
  });
  assert.equal(b.code, 0, b.out);
  assert.equal(a.stdout, b.stdout);
  const cfg = JSON.parse(a.stdout);
  assert.equal(cfg.client.token.hmac_secret_key, 's');
  assert.equal(cfg.channel.namespaces[0].history_ttl, '1m0s');
});

test('defaultconfig writes a full v6 file (format by extension) that loads back; defaultenv lists v6 variables', () => {
  const dir = makeTempDir();
  for (const ext of ['json', 'yaml', 'toml']) {
    const f = path.join(dir, `default.${ext}`);
    const r = runGyre(['defaultconfig', '-c', f]);
    assert.equal(r.code, 0, r.out);
    assert.equal(runGyre(['defaultconfig', '-c', f]).code, 1, 'refuses to overwrite');
    const c = runGyre(['checkconfig', '-c', f]);
    assert.equal(c.code, 0, c.out);
    assert.match(c.stdout, /Centrifugo v6 shape/);
  }
  const json = JSON.parse(readFileSync(path.join(dir, 'default.json'), 'utf8'));
  assert.equal(json.http_server.port, 8000);
  assert.equal(json.client.ping_interval, '25s');
  assert.equal(json.channel.history_meta_ttl, '720h0m0s');
  const env = runGyre(['defaultenv']);
  assert.equal(env.code, 0, env.out);
  const lines = env.stdout.trim().split('\n');
  assert.ok(lines.includes('CENTRIFUGO_CLIENT_PING_INTERVAL=25s'), env.stdout);
  assert.ok(lines.includes('CENTRIFUGO_LOG_LEVEL="info"'), env.stdout);
  assert.deepEqual([...lines].sort(), lines);
});

test('SIGHUP reloads a v6 file: new token key and namespaces; v6 env names still apply', { timeout: 30000 }, async (t, s) => {
  const port = await freePort();
  const v6 = (secret, ns) => JSON.stringify({
    http_server: { port }, health: { enabled: true }, http_api: { key: 'k' },
    client: { token: { hmac_secret_key: secret } },
    channel: { namespaces: [{ name: ns, allow_subscribe_for_client: true }] },
  });
  const y = await startV6({
    configText: v6('old-secret', 'aa'), port,
    env: { CENTRIFUGO_CHANNEL_NAMESPACES_BB_PRESENCE: 'true', CENTRIFUGO_CHANNEL_NAMESPACES_BB_ALLOW_PRESENCE_FOR_SUBSCRIBER: 'true' },
  });
  const [c] = await connected(s, y, { token: userToken('stay', {}, { secret: 'old-secret' }) });
  writeFileSync(y.handle.cfgPath, v6('new-secret', 'bb'));
  y.proc.kill('SIGHUP');
  await until(() => /"message":"configuration successfully reloaded"/.test(y.output()), 5000, 'reload log line');
  const [n] = await connected(s, y, { token: userToken('n', {}, { secret: 'new-secret' }) });
  assert.equal(n.state, 'connected');
  // The connection made before the reload sees namespace bb, with presence from the env.
  const [sb] = await subscribed(c, uniq('bb:'));
  assert.deepEqual(await sb.presenceStats(), { numClients: 1, numUsers: 1 });
  const sa = c.newSubscription(uniq('aa:'));
  const ua = once(sa, 'unsubscribed', 5000);
  sa.subscribe();
  assert.equal((await ua).code, 102);
  // A file turned mixed is refused on reload; the running config stays.
  writeFileSync(y.handle.cfgPath, JSON.stringify({ client: {}, presence: true }));
  y.proc.kill('SIGHUP');
  await until(() => /"level":"error","error":".*is a Centrifugo v5 flat key.*","time":"[^"]+","message":"error reloading"/.test(y.output()), 5000, 'reload error');
});

test('defaultenv --base --base-non-zero-only prints the v6 variables of a base file', () => {
  const f = path.join(makeTempDir(), 'base.json');
  writeFileSync(f, JSON.stringify({
    client: { token: { hmac_secret_key: 'my-secret' } },
    channel: {
      without_namespace: { presence: true, history_size: 10, history_ttl: '300s' },
      namespaces: [{ name: 'chat', history_size: 50, history_ttl: '600s', join_leave: true }],
    },
  }));
  const r = runGyre(['defaultenv', '--base', f, '--base-non-zero-only']);
  assert.equal(r.code, 0, r.out);
  assert.equal(r.stdout, [
    'CENTRIFUGO_CHANNEL_NAMESPACES="chat"',
    'CENTRIFUGO_CHANNEL_NAMESPACES_CHAT_HISTORY_SIZE=50',
    'CENTRIFUGO_CHANNEL_NAMESPACES_CHAT_HISTORY_TTL=10m0s',
    'CENTRIFUGO_CHANNEL_NAMESPACES_CHAT_JOIN_LEAVE=true',
    'CENTRIFUGO_CHANNEL_NAMESPACES_CHAT_NAME="chat"',
    'CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_HISTORY_SIZE=10',
    'CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_HISTORY_TTL=5m0s',
    'CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_PRESENCE=true',
    'CENTRIFUGO_CLIENT_TOKEN_HMAC_SECRET_KEY="my-secret"',
  ].join('\n') + '\n');
});
