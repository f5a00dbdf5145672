// Token authentication through the SDK: RS/ES keys from the config, JWKS (server-api.md §3.4)
// with a key-set endpoint served by this test, and SIGHUP reload of token keys and channel
// options (reference.md §7.11).
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import {
  test, startServer, signJWT, uniq, nowSec, once, collect, until, sleep, freePort,
} from './harness.mjs';

const b64url = (s) => Buffer.from(s).toString('base64url');

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsa2 = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const ed = generateKeyPairSync('ed25519');

/** Signs a JWT with a private key: RS*, ES* (JWS R||S) or EdDSA; `header` extras (kid). */
function signAsym(payload, key, alg, header = {}) {
  const h = b64url(JSON.stringify({ alg, typ: 'JWT', ...header }));
  const p = b64url(JSON.stringify(payload));
  const input = Buffer.from(`${h}.${p}`);
  let sig;
  if (alg === 'EdDSA') {
    sig = cryptoSign(null, input, key);
  } else {
    const hash = `sha${alg.slice(2)}`;
    sig = alg.startsWith('ES') ? cryptoSign(hash, input, { key, dsaEncoding: 'ieee-p1363' }) : cryptoSign(hash, input, key);
  }
  return `${h}.${p}.${sig.toString('base64url')}`;
}

const jwk = (pair, extra) => ({ ...pair.publicKey.export({ format: 'jwk' }), ...extra });

// The JWKS endpoint: a path -> key set map, and a log of every request.
const jwksRequests = [];
let jwksSets = {};
let jwksStatus = 200;
let jwksServer;
let jwksPort;

let pemSrv; // RSA + ECDSA keys from the config
let jwksSrv; // token_jwks_public_endpoint
let tmplSrv; // templated endpoint from token_issuer_regex groups

function jwksUrl(path) {
  return `http://127.0.0.1:${jwksPort}${path}`;
}

before(async () => {
  jwksPort = await freePort();
  jwksServer = http.createServer((req, res) => {
    jwksRequests.push(req.url);
    const set = jwksSets[req.url];
    if (jwksStatus !== 200 || !set) {
      res.writeHead(jwksStatus === 200 ? 404 : jwksStatus).end('no');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(typeof set === 'string' ? set : JSON.stringify(set));
  });
  await new Promise((r) => jwksServer.listen(jwksPort, '127.0.0.1', r));
  jwksSets = {
    '/jwks': {
      keys: [
        jwk(rsa, { kid: 'rsa1', alg: 'RS256', use: 'sig' }),
        jwk(ec, { kid: 'ec1', alg: 'ES256', use: 'sig' }),
        jwk(ec384, { kid: 'ec384', alg: 'ES384', use: 'sig' }),
        jwk(ed, { kid: 'ed1', use: 'sig' }),
        jwk(rsa2, { kid: 'enc1', alg: 'RS256', use: 'enc' }),
      ],
    },
    '/tenants/acme/keys': { keys: [jwk(rsa2, { kid: 'acme1', alg: 'RS256', use: 'sig' })] },
  };
  const pem = (pair) => pair.publicKey.export({ type: 'spki', format: 'pem' });
  pemSrv = await startServer({
    token_rsa_public_key: pem(rsa),
    token_ecdsa_public_key: pem(ec),
    allow_subscribe_for_client: true,
    namespaces: [{ name: 'chat', allow_subscribe_for_client: true }],
  });
  jwksSrv = await startServer({
    token_jwks_public_endpoint: jwksUrl('/jwks'),
    namespaces: [{ name: 'chat' }],
  });
  tmplSrv = await startServer({
    token_jwks_public_endpoint: jwksUrl('/tenants/{{tenant}}/keys'),
    token_issuer_regex: '^https://idp\\.test/(?P<tenant>[a-z]+)$',
  });
});

after(async () => {
  for (const s of [pemSrv, jwksSrv, tmplSrv]) if (s) await s.stop();
  if (jwksServer) await new Promise((r) => jwksServer.close(r));
});

async function connectSdk(scope, server, opts) {
  const c = scope.sdk(server, opts);
  const p = once(c, 'connected', 8000);
  c.connect();
  return [c, await p];
}

/** Connects with `token` and resolves with the SDK's disconnected/connected outcome. */
async function outcome(scope, server, token) {
  const c = scope.sdk(server, { token });
  const errors = collect(c, 'error');
  const done = Promise.race([
    once(c, 'connected', 8000).then((ctx) => ({ connected: ctx })),
    once(c, 'disconnected', 8000).then((ctx) => ({ disconnected: ctx })),
  ]);
  c.connect();
  const r = await done;
  c.disconnect();
  return { ...r, errors };
}

test('RS256 and ES256 connection tokens from getToken (keys in the config)', async (t, s) => {
  for (const [alg, key] of [['RS256', rsa.privateKey], ['RS384', rsa.privateKey], ['RS512', rsa.privateKey], ['ES256', ec.privateKey]]) {
    let calls = 0;
    const [c, ctx] = await connectSdk(s, pemSrv, {
      getToken: async () => { calls++; return signAsym({ sub: `u-${alg}`, exp: nowSec() + 600 }, key, alg); },
    });
    assert.equal(calls, 1, alg);
    assert.equal(typeof ctx.client, 'string');
    c.disconnect();
  }
});

test('ES384 with a P-256 key, RS token signed by another key, alg none → 3500 invalid token', async (t, s) => {
  const bad = [
    signAsym({ sub: '1' }, ec384.privateKey, 'ES384'),
    signAsym({ sub: '1' }, rsa2.privateKey, 'RS256'),
    `${b64url('{"alg":"none","typ":"JWT"}')}.${b64url('{"sub":"1"}')}.`,
    signJWT({ sub: '1' }, { secret: 'anything' }),
  ];
  for (const token of bad) {
    const r = await outcome(s, pemSrv, token);
    assert.ok(r.disconnected, `expected a disconnect for ${token.slice(0, 30)}`);
    assert.equal(r.disconnected.code, 3500);
    assert.equal(r.disconnected.reason, 'invalid token');
  }
});

test('RS256 subscription token via getToken on a $ channel', async (t, s) => {
  const [c] = await connectSdk(s, pemSrv, { token: signAsym({ sub: 'subrs' }, rsa.privateKey, 'RS256') });
  let calls = 0;
  const sub = c.newSubscription('$secret', {
    getToken: async () => { calls++; return signAsym({ sub: 'subrs', channel: '$secret', exp: nowSec() + 600 }, rsa.privateKey, 'RS256'); },
  });
  const p = once(sub, 'subscribed', 5000);
  sub.subscribe();
  await p;
  assert.equal(calls, 1);
});

test('JWKS: RSA, EC and Ed25519 keys by kid; the set is fetched once and cached', async (t, s) => {
  const before = jwksRequests.length;
  const cases = [
    ['RS256', rsa.privateKey, 'rsa1'],
    ['ES256', ec.privateKey, 'ec1'],
    ['ES384', ec384.privateKey, 'ec384'],
    ['EdDSA', ed.privateKey, 'ed1'],
  ];
  for (const [alg, key, kid] of cases) {
    let calls = 0;
    const [c, ctx] = await connectSdk(s, jwksSrv, {
      getToken: async () => { calls++; return signAsym({ sub: `j-${kid}`, exp: nowSec() + 600 }, key, alg, { kid }); },
    });
    assert.equal(calls, 1, kid);
    assert.equal(typeof ctx.client, 'string', kid);
    c.disconnect();
  }
  // The first fetch cached every `use: sig` key of the set.
  assert.deepEqual(jwksRequests.slice(before), ['/jwks']);
});

test('JWKS: no kid, unknown kid, use:enc key, alg other than the key\'s, HMAC token → 3500', async (t, s) => {
  const cases = [
    signAsym({ sub: '1' }, rsa.privateKey, 'RS256'),
    signAsym({ sub: '1' }, rsa.privateKey, 'RS256', { kid: 'nope' }),
    signAsym({ sub: '1' }, rsa2.privateKey, 'RS256', { kid: 'enc1' }),
    signAsym({ sub: '1' }, rsa.privateKey, 'RS384', { kid: 'rsa1' }),
    signJWT({ sub: '1' }, { header: { alg: 'HS256', typ: 'JWT', kid: 'rsa1' } }),
  ];
  for (const token of cases) {
    const r = await outcome(s, jwksSrv, token);
    assert.ok(r.disconnected, `expected a disconnect, got ${JSON.stringify(r)}`);
    assert.equal(r.disconnected.code, 3500);
  }
});

test('JWKS: concurrent connects with a new kid share one fetch; an expired token is 109', async (t, s) => {
  jwksSets['/jwks'].keys.push(jwk(rsa2, { kid: 'rsa-new', alg: 'RS256', use: 'sig' }));
  const before = jwksRequests.length;
  const token = signAsym({ sub: 'many' }, rsa2.privateKey, 'RS256', { kid: 'rsa-new' });
  const clients = await Promise.all(Array.from({ length: 5 }, () => connectSdk(s, jwksSrv, { token })));
  assert.equal(clients.length, 5);
  assert.deepEqual(jwksRequests.slice(before), ['/jwks']);
  for (const [c] of clients) c.disconnect();

  const expired = signAsym({ sub: 'old', exp: nowSec() - 10 }, rsa.privateKey, 'RS256', { kid: 'rsa1' });
  const c = s.sdk(jwksSrv, { token: expired, getToken: async () => signAsym({ sub: 'old', exp: nowSec() + 600 }, rsa.privateKey, 'RS256', { kid: 'rsa1' }) });
  const errors = collect(c, 'error');
  const p = once(c, 'connected', 8000);
  c.connect();
  await p;
  assert.equal(errors.find((e) => e.type === 'connect')?.error.code, 109);
});

test('JWKS: endpoint failing (HTTP 500) → two attempts, then 3500; service recovers after', async (t, s) => {
  jwksStatus = 500;
  try {
    const before = jwksRequests.length;
    const r = await outcome(s, jwksSrv, signAsym({ sub: '1' }, ec.privateKey, 'ES256', { kid: 'down-kid' }));
    assert.equal(r.disconnected?.code, 3500);
    assert.deepEqual(jwksRequests.slice(before), ['/jwks', '/jwks']);
  } finally {
    jwksStatus = 200;
  }
  // Cached keys keep working while the endpoint is down, and new ones after it is back.
  const r2 = await outcome(s, jwksSrv, signAsym({ sub: '1' }, ec.privateKey, 'ES256', { kid: 'ec1' }));
  assert.ok(r2.connected);
});

test('JWKS: subscription token verified through the same key set', async (t, s) => {
  const [c] = await connectSdk(s, jwksSrv, { token: signAsym({ sub: 'sj' }, rsa.privateKey, 'RS256', { kid: 'rsa1' }) });
  const sub = c.newSubscription('$chat:room', {
    getToken: async () => signAsym({ sub: 'sj', channel: '$chat:room' }, ed.privateKey, 'EdDSA', { kid: 'ed1' }),
  });
  const p = once(sub, 'subscribed', 5000);
  sub.subscribe();
  await p;
  // A subscription token with an unknown kid → 103 permission denied (subscribe error).
  const bad = c.newSubscription('$chat:other', {
    getToken: async () => signAsym({ sub: 'sj', channel: '$chat:other' }, ed.privateKey, 'EdDSA', { kid: 'zzz' }),
  });
  const err = once(bad, 'error', 5000);
  const unsub = once(bad, 'unsubscribed', 5000);
  bad.subscribe();
  const [e, u] = await Promise.all([err.catch(() => null), unsub]);
  assert.equal(u.code, 103);
  void e;
});

test('JWKS: URL templated from token_issuer_regex named groups', async (t, s) => {
  const before = jwksRequests.length;
  const token = signAsym({ sub: 'acme-user', iss: 'https://idp.test/acme' }, rsa2.privateKey, 'RS256', { kid: 'acme1' });
  const [c, ctx] = await connectSdk(s, tmplSrv, { token });
  assert.equal(typeof ctx.client, 'string');
  c.disconnect();
  assert.deepEqual(jwksRequests.slice(before), ['/tenants/acme/keys']);
  // An issuer the regex does not match never reaches the endpoint.
  const r = await outcome(s, tmplSrv, signAsym({ sub: 'x', iss: 'https://evil.test/acme' }, rsa2.privateKey, 'RS256', { kid: 'acme1' }));
  assert.equal(r.disconnected?.code, 3500);
  assert.equal(jwksRequests.length, before + 1);
});

test('JWKS: checktoken CLI fetches the key set', async () => {
  // Asynchronous spawn: the JWKS endpoint lives in this process and must keep serving.
  const { makeTempDir, GYRE_BIN } = await import('./harness.mjs');
  const { execFile } = await import('node:child_process');
  const runGyre = (args) => new Promise((resolve) => {
    execFile(GYRE_BIN, args, { timeout: 10000 }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code : 0, stdout, stderr, out: stdout + stderr });
    });
  });
  const dir = makeTempDir();
  const cfg = `${dir}/c.json`;
  writeFileSync(cfg, JSON.stringify({ token_jwks_public_endpoint: jwksUrl('/jwks') }));
  const ok = await runGyre(['checktoken', '-c', cfg, signAsym({ sub: 'cli' }, rsa.privateKey, 'RS256', { kid: 'rsa1' })]);
  assert.equal(ok.code, 0, ok.out);
  assert.match(ok.stdout, /valid token for user "cli"/);
  const bad = await runGyre(['checktoken', '-c', cfg, signAsym({ sub: 'cli' }, rsa.privateKey, 'RS256', { kid: 'none' })]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /invalid token/);
});

test('SIGHUP reloads token keys and namespaces; connections stay; a bad file keeps the running config', { timeout: 30000 }, async (t, s) => {
  const srv = await startServer({ token_hmac_secret_key: 'old-secret', namespaces: [{ name: 'aa', allow_subscribe_for_client: true }] });
  t.after(() => srv.stop());
  const [c] = await connectSdk(s, srv, { token: signJWT({ sub: 'stay' }, { secret: 'old-secret' }) });
  const disconnects = collect(c, 'disconnected');
  const cfg = { ...srv.config, token_hmac_secret_key: 'new-secret', namespaces: [{ name: 'bb', allow_subscribe_for_client: true }] };
  writeFileSync(srv.handle.cfgPath, JSON.stringify(cfg));
  srv.proc.kill('SIGHUP');
  await until(() => /"message":"configuration successfully reloaded"/.test(srv.output()), 5000, 'reload log line');

  // New secret accepted, old one refused.
  const ok = await outcome(s, srv, signJWT({ sub: 'n' }, { secret: 'new-secret' }));
  assert.ok(ok.connected);
  const old = await outcome(s, srv, signJWT({ sub: 'n' }, { secret: 'old-secret' }));
  assert.equal(old.disconnected?.code, 3500);
  // The existing connection sees the new namespaces: bb exists, aa is gone (102).
  const sb = c.newSubscription(uniq('bb:'));
  const p = once(sb, 'subscribed', 5000);
  sb.subscribe();
  await p;
  const sa = c.newSubscription(uniq('aa:'));
  const ua = once(sa, 'unsubscribed', 5000);
  sa.subscribe();
  assert.equal((await ua).code, 102);

  // A broken file: error logged, running config kept.
  writeFileSync(srv.handle.cfgPath, '{ not json');
  srv.proc.kill('SIGHUP');
  await until(() => /"level":"error","error":".*","time":"[^"]+","message":"error reloading"/.test(srv.output()), 5000, 'reload error line');
  const still = await outcome(s, srv, signJWT({ sub: 'n2' }, { secret: 'new-secret' }));
  assert.ok(still.connected);
  // A config that fails validation (personal namespace missing) is refused too.
  writeFileSync(srv.handle.cfgPath, JSON.stringify({ ...cfg, user_subscribe_to_personal: true, user_personal_channel_namespace: 'missing' }));
  srv.proc.kill('SIGHUP');
  await until(() => (srv.output().match(/"message":"error reloading"/g) || []).length >= 2, 5000, 'second reload error');
  await sleep(100);
  assert.equal(disconnects.length, 0, 'the old connection was never dropped');
  assert.equal(c.state, 'connected');
});

test('hostile tokens: bad base64, RSA key used as ES, huge claims, deep nesting → 3500, server unharmed', async (t, s) => {
  const rsSig = signAsym({ sub: '1' }, rsa.privateKey, 'RS256').split('.')[2];
  const cases = [
    'eyJ!!!.eyJ.sig',
    `${b64url('{"alg":"ES256","typ":"JWT"}')}.${b64url('{"sub":"1"}')}.${rsSig}`,
    signAsym({ sub: '1', info: { blob: 'z'.repeat(40000) } }, rsa2.privateKey, 'RS256'),
    `${b64url('{"alg":"RS256"}')}.${b64url('['.repeat(5000) + ']'.repeat(5000))}.${rsSig}`,
    `${b64url('{"alg":"RS256","kid":' + '1'.repeat(400) + '}')}.${b64url('{}')}.x`,
  ];
  for (const token of cases) {
    const r = await outcome(s, pemSrv, token);
    assert.equal(r.disconnected?.code, 3500, `token ${token.slice(0, 40)}`);
  }
  // A huge but validly signed token still works (under websocket_message_size_limit).
  const big = signAsym({ sub: 'big', info: { blob: 'q'.repeat(30000) } }, rsa.privateKey, 'RS256');
  const ok = await outcome(s, pemSrv, big);
  assert.ok(ok.connected);
});
