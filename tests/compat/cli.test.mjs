// CLI and configuration tests (reference.md §8.1, §8.6; server-api.md §3 gentoken).
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  test, startServer, spawnGyre, runGyre, freePort, makeTempDir, waitHealthy, decodeJWT, nowSec, sleep, uniq,
  rawConnected, httpRequest, Server, withTimeout, signJWT,
} from './harness.mjs';

const started = [];
after(async () => {
  for (const s of started) await s.stop();
});
async function start(cfg, opts) {
  const s = await startServer(cfg, opts);
  started.push(s);
  return s;
}

function writeTemp(name, content) {
  const dir = makeTempDir();
  const p = path.join(dir, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

test('version prints one version line and exits 0', () => {
  const r = runGyre(['version']);
  assert.equal(r.code, 0, r.out);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `one line expected: ${JSON.stringify(r.stdout)}`);
  assert.match(lines[0], /\d+\.\d+/);
});

test('genconfig writes a config that checkconfig accepts; refuses to overwrite; server runs from it', async (t, s) => {
  const dir = makeTempDir();
  const file = path.join(dir, 'new.json');
  const g = runGyre(['genconfig', '-c', file]);
  assert.equal(g.code, 0, g.out);
  assert.ok(existsSync(file), 'config file written');
  const text = readFileSync(file, 'utf8');
  // Centrifugo v6 shape by default (v6-config.md §5).
  const cfg = JSON.parse(text);
  assert.deepEqual(Object.keys(cfg), ['client', 'admin', 'http_api']);
  assert.equal(typeof cfg.client.token.hmac_secret_key, 'string');
  assert.ok(cfg.client.token.hmac_secret_key.length >= 16, 'random secret');
  assert.deepEqual(cfg.client.allowed_origins, []);
  assert.equal(cfg.admin.enabled, false);
  assert.equal(typeof cfg.http_api.key, 'string');
  assert.ok(cfg.http_api.key.length >= 16, 'random api key');
  cfg.api_key = cfg.http_api.key;  // what Server.api() sends
  const c = runGyre(['checkconfig', '-c', file]);
  assert.equal(c.code, 0, c.out);
  // Refuses to overwrite.
  const g2 = runGyre(['genconfig', '-c', file]);
  assert.notEqual(g2.code, 0, 'genconfig must refuse to overwrite');
  assert.equal(readFileSync(file, 'utf8'), text, 'file unchanged');
  // Two runs generate different secrets.
  const file2 = path.join(dir, 'other.json');
  assert.equal(runGyre(['genconfig', '-c', file2]).code, 0);
  assert.notEqual(JSON.parse(readFileSync(file2, 'utf8')).http_api.key, cfg.api_key);
  // Run the server from the generated config (flags give port + health).
  const port = await freePort();
  const handle = spawnGyre({ noConfigFlag: true, args: ['--config', file, '--port', String(port), '--health'] });
  const srv = new Server(handle, port, cfg);
  started.push(srv);
  await waitHealthy(port, handle);
  const r = await srv.api('info', {}, { key: cfg.api_key });
  assert.equal(r.status, 200, r.text);
  assert.equal((await srv.api('info', {}, { key: 'wrong' })).status, 401);
});

test('genconfig with .yaml extension writes YAML that checkconfig accepts', () => {
  const file = path.join(makeTempDir(), 'new.yaml');
  const g = runGyre(['genconfig', '-c', file]);
  assert.equal(g.code, 0, g.out);
  const text = readFileSync(file, 'utf8');
  assert.ok(!text.trim().startsWith('{'), `expected YAML, got ${text}`);
  assert.match(text, /^http_api:\n  key: "[0-9a-f-]{36}"$/m);
  const c = runGyre(['checkconfig', '-c', file]);
  assert.equal(c.code, 0, c.out);
  assert.equal(c.stdout, 'config is valid (Centrifugo v6 shape)\n');
});

test('genconfig --v5 keeps the v5 flat keys', () => {
  const file = path.join(makeTempDir(), 'v5.json');
  const g = runGyre(['genconfig', '--v5', '-c', file]);
  assert.equal(g.code, 0, g.out);
  const cfg = JSON.parse(readFileSync(file, 'utf8'));
  assert.deepEqual(Object.keys(cfg), ['token_hmac_secret_key', 'admin_password', 'admin_secret', 'api_key', 'allowed_origins']);
  const c = runGyre(['checkconfig', '-c', file]);
  assert.equal(c.code, 0, c.out);
  assert.equal(c.stdout, 'config is valid (Centrifugo v5 shape)\n');
});

test('gentoken escapes control characters in the user ID (JSON payload stays valid)', () => {
  const file = writeTemp('tok.json', { token_hmac_secret_key: 'secret' });
  const user = 'a"b\\c\u0001\n';
  const r = runGyre(['gentoken', '-c', file, '-u', user, '-t', '-1', '-q']);
  assert.equal(r.code, 0, r.out);
  const payload = decodeJWT(r.stdout.trim()).payload;
  assert.equal(payload.sub, user);
});

function expectCheckconfigFails(cfg, re) {
  const f = writeTemp('bad.json', cfg);
  const r = runGyre(['checkconfig', '-c', f]);
  assert.notEqual(r.code, 0, `checkconfig must fail for ${JSON.stringify(cfg)}; output: ${r.out}`);
  assert.match(r.out, re, `message for ${JSON.stringify(cfg)} should match ${re}: ${r.out}`);
}

test('checkconfig accepts a valid config and rejects invalid channel options (as Centrifugo does)', () => {
  const good = writeTemp('good.json', {
    token_hmac_secret_key: 'secret', api_key: 'k', ping_interval: '25s', namespaces: [{ name: 'chat', presence: true, history_size: 10, history_ttl: '300s' }],
  });
  const g = runGyre(['checkconfig', '-c', good]);
  assert.equal(g.code, 0, g.out);
  expectCheckconfigFails({ namespaces: [{ name: 'chat', history_size: 10 }] }, /history/);
  expectCheckconfigFails({ namespaces: [{ name: 'chat', force_recovery: true }] }, /recovery|history/);
  expectCheckconfigFails({ namespaces: [{ name: 'a b' }] }, /namespace|name/i);
  expectCheckconfigFails({ namespaces: [{ name: 'chat' }, { name: 'chat' }] }, /unique|duplicate/i);
  expectCheckconfigFails({ history_size: 10, history_ttl: 'abc' }, /history_ttl/);
  expectCheckconfigFails({ namespaces: [{ name: 'chat', history_size: 10, history_ttl: '300s', force_recovery_mode: 'weird' }] }, /recovery/);
  const broken = writeTemp('broken.json', '{"api_key": "k",');
  assert.notEqual(runGyre(['checkconfig', '-c', broken]).code, 0, 'JSON syntax error must fail');
});

test('checkconfig names a bad non-channel value: {"ping_interval":"abc"} (harness contract; stricter than Centrifugo)', () => {
  expectCheckconfigFails({ ping_interval: 'abc' }, /ping_interval/);
});

test('a bad config value makes the server exit non-zero at start, naming the key', async () => {
  const port = await freePort();
  const handle = spawnGyre({ configText: JSON.stringify({ port: String(port), health: true, ping_interval: 'abc' }) });
  const exited = await withTimeout(handle.exitPromise, 8000, 'server should exit on bad config');
  assert.notEqual(exited.code, 0, `exit ${JSON.stringify(exited)}`);
  assert.equal(exited.signal, null);
  assert.match(handle.out.all, /ping_interval/);
  for (const [cfg, re] of [[{ api_error_mode: 'bogus' }, /api_error_mode/], [{ token_issuer: 'x', token_issuer_regex: 'y' }, /token_issuer/]]) {
    const h = spawnGyre({ configText: JSON.stringify({ port: String(await freePort()), health: true, ...cfg }) });
    const ex = await withTimeout(h.exitPromise, 8000, `server should exit on ${JSON.stringify(cfg)}`);
    assert.notEqual(ex.code, 0, `${JSON.stringify(cfg)}: exit ${JSON.stringify(ex)}`);
    assert.match(h.out.all, re, `${JSON.stringify(cfg)}: ${h.out.all}`);
  }
});

test('unknown keys are only warnings (server starts)', async () => {
  const srv = await start({ api_key: 'k', some_unknown_option: 123, namespaces: [{ name: 'chat', unknown_ns_key: true }] });
  assert.equal((await srv.health()).status, 200);
});

test('health endpoint: 200 with body {}', async () => {
  const srv = await start({ api_key: 'k' });
  const h = await srv.health();
  assert.equal(h.status, 200);
  assert.deepEqual(JSON.parse(h.text), {});
});

test('YAML config file starts the server and is honoured', async () => {
  const srv = await start({ api_key: 'yamlkey', namespaces: [{ name: 'chat', presence: true }] }, { format: 'yaml' });
  assert.ok(srv.handle.cfgPath.endsWith('.yaml'));
  const r = await srv.api('presence_stats', { channel: 'chat:x' }, { key: 'yamlkey' });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { result: { num_clients: 0, num_users: 0 } });
  assert.equal((await srv.api('info', {}, { key: 'k' })).status, 401);
});

test('TOML config file starts the server and is honoured', async () => {
  const srv = await start({ api_key: 'tomlkey', namespaces: [{ name: 'chat', presence: true }] }, { format: 'toml' });
  assert.ok(srv.handle.cfgPath.endsWith('.toml'));
  const r = await srv.api('presence_stats', { channel: 'chat:x' }, { key: 'tomlkey' });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { result: { num_clients: 0, num_users: 0 } });
});

test('CENTRIFUGO_* env overrides the file (api_key, bool, namespaces as JSON); empty env is unset', async () => {
  const srv = await start({ api_key: 'filekey', token_hmac_secret_key: 'secret' }, {
    env: {
      CENTRIFUGO_API_KEY: 'envkey',
      CENTRIFUGO_CLIENT_INSECURE: 'true',
      CENTRIFUGO_NAMESPACES: JSON.stringify([{ name: 'envns', presence: true }]),
      CENTRIFUGO_TOKEN_HMAC_SECRET_KEY: '',
    },
  });
  assert.equal((await srv.api('info', {}, { key: 'envkey' })).status, 200);
  assert.equal((await srv.api('info', {}, { key: 'filekey' })).status, 401);
  const ps = await srv.api('presence_stats', { channel: 'envns:x' }, { key: 'envkey' });
  assert.deepEqual(ps.json, { result: { num_clients: 0, num_users: 0 } });
  // client_insecure from env → anonymous connect works
  const c = await srv.raw();
  try {
    const r = await c.call('connect', {});
    assert.ok(r.connect && r.connect.client, JSON.stringify(r));
    // empty CENTRIFUGO_TOKEN_HMAC_SECRET_KEY is ignored: file secret still verifies tokens
    const c2 = await srv.raw();
    const r2 = await c2.call('connect', { token: signJWT({ sub: '1' }) });
    c2.close();
    assert.ok(r2.connect, `token signed with file secret must work: ${JSON.stringify(r2)}`);
  } finally {
    c.close();
  }
});

test('env overrides the file port; --port flag overrides env', async () => {
  const [filePort, envPort, flagPort] = [await freePort(), await freePort(), await freePort()];
  const s1 = await start({ api_key: 'k' }, { port: filePort, listenPort: envPort, env: { CENTRIFUGO_PORT: String(envPort) } });
  assert.equal((await s1.health()).status, 200);
  await assert.rejects(httpRequest(`http://127.0.0.1:${filePort}/health`, { timeout: 1500 }), 'file port must not be used');
  await s1.stop();
  const s2 = await start({ api_key: 'k' }, { port: filePort, listenPort: flagPort, env: { CENTRIFUGO_PORT: String(envPort) }, args: ['--port', String(flagPort)] });
  assert.equal((await s2.health()).status, 200);
  await assert.rejects(httpRequest(`http://127.0.0.1:${envPort}/health`, { timeout: 1500 }), 'env port must not be used');
});

test('gentoken prints an HS256 token for user 42 with ttl 3600 that connects', async (t, s) => {
  const srv = await start({
    api_key: 'k', token_hmac_secret_key: 'gentoken-secret',
    namespaces: [{ name: 'room', presence: true, allow_subscribe_for_client: true }],
  });
  const r = runGyre(['gentoken', '-c', srv.handle.cfgPath, '-u', '42', '-t', '3600']);
  assert.equal(r.code, 0, r.out);
  const m = r.stdout.match(/eyJ[\w-]+\.[\w-]+\.[\w-]+/);
  assert.ok(m, `no token in output: ${r.out}`);
  const token = m[0];
  const { header, payload } = decodeJWT(token);
  assert.equal(header.alg, 'HS256');
  assert.equal(payload.sub, '42');
  assert.ok(Math.abs(payload.exp - (nowSec() + 3600)) <= 10, `exp ${payload.exp}`);
  const [c, res] = await rawConnected(s, srv, token);
  assert.equal(res.expires, true);
  const ch = uniq('room:');
  await c.call('subscribe', { channel: ch, flag: 1 });
  const p = await srv.apiOk('presence', { channel: ch });
  assert.equal(p.presence[res.client].user, '42');
});
