// unix:// Redis addresses (centrifuge's confFromAddress: "unix://[user[:password]@]/path"):
// a redis-server listening on a unix socket only (no TCP port), one Gyre node with
// redis_address "unix:///<tmp>/redis.sock"; publish, history and presence through it, the keys
// read back over the same socket. Malformed unix addresses and TLS over a unix socket are
// start-up errors naming redis_address.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, startServer, spawnGyre, freePort, userToken, uniq, once } from './harness.mjs';
import { RedisServer } from './redis_server.mjs';

const NS = [{ name: 'chat', presence: true, history_size: 10, history_ttl: '300s', allow_subscribe_for_client: true }];

let dir;
let redis;
let node;

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gyre-unix-'));
  redis = await RedisServer.start(undefined, [], { unixSocket: path.join(dir, 'redis.sock') });
  node = await startServer({ engine: 'redis', redis_address: `unix://${path.join(dir, 'redis.sock')}`, api_key: 'k',
    token_hmac_secret_key: 'secret', namespaces: NS, redis_db: 2 });
});
after(async () => {
  await node?.stop();
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a node on a unix-socket Redis: publish, history, presence; keys in the configured db', async (t, scope) => {
  assert.match(node.output(), /redis: unix:\/\/\/\S*redis\.sock \(prefix \\?"centrifugo\\?"\)/);
  const ch = `chat:${uniq()}`;
  const c = scope.sdk(node, { token: userToken('alice') });
  const sub = c.newSubscription(ch);
  const subscribed = once(sub, 'subscribed', 5000);
  c.connect();
  sub.subscribe();
  await subscribed;
  assert.equal((await node.apiOk('publish', { channel: ch, data: { n: 1 } })).offset, 1);
  assert.deepEqual((await node.apiOk('history', { channel: ch, limit: -1 })).publications.map((p) => p.data), [{ n: 1 }]);
  const presence = Object.values((await node.apiOk('presence', { channel: ch })).presence);
  assert.deepEqual(presence.map((p) => p.user), ['alice']);
  const rc = await redis.client();
  scope.defer(() => rc.close());
  assert.equal(String(await rc.call('SELECT', '2')), 'OK');
  assert.equal(await rc.call('XLEN', `centrifugo.stream.${ch}`), 1);
  assert.equal(await rc.call('HLEN', `centrifugo.presence.data.${ch}`), 1);
  assert.equal((await node.health()).status, 200);
});

test('malformed unix:// addresses and TLS over a unix socket are start-up errors naming redis_address', async () => {
  const cases = [
    ['unix://relative/redis.sock', /key "redis_address": "unix:\/\/relative\/redis\.sock": expected unix:\/\/\[user\[:password\]@\]\/absolute\/path\/to\/redis\.sock/],
    ['unix://', /key "redis_address": "unix:\/\/": expected unix:\/\//],
    ['unix:///tmp/r.sock?db=1', /key "redis_address": "unix:\/\/\/tmp\/r\.sock\?db=1": URL options/],
  ];
  for (const [address, re] of cases) {
    const h = spawnGyre({ configText: JSON.stringify({ port: String(await freePort()), engine: 'redis', redis_address: address }) });
    const exit = await h.exitPromise;
    assert.notEqual(exit.code, 0, address);
    assert.match(h.out.text(), re, address);
  }
  const h = spawnGyre({ configText: JSON.stringify({ port: String(await freePort()), engine: 'redis',
    redis_address: 'unix:///tmp/r.sock', redis_tls: true }) });
  assert.notEqual((await h.exitPromise).code, 0);
  assert.match(h.out.text(), /key "redis_address": "unix:\/\/\/tmp\/r\.sock": TLS over a unix socket is not supported \(redis_tls is on\)/);
});
