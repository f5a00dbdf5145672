// redis_address forms beyond host:port and redis://:
// - unix:// (centrifuge's confFromAddress: "unix://[user[:password]@]/path"): a redis-server on
//   a unix socket only (no TCP port); publish, history and presence through it, the keys read
//   back over the same socket. Malformed unix addresses and TLS over a unix socket are
//   start-up errors naming redis_address.
// - Centrifugo v6 URLs: redis+sentinel://<sentinel>?sentinel_master_name=... and
//   redis+cluster://<seed>?addr=<seed>&addr=<seed> (rediss:// is in redis_tls.test.mjs);
//   unknown URL options and mixed cluster/non-cluster lists are start-up errors.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, startServer, spawnGyre, freePort, userToken, uniq, once } from './harness.mjs';
import { RedisServer, SentinelServer, RedisCluster, RespClient, keySlot } from './redis_server.mjs';

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
  assert.match(node.output(), /"mode":"standalone","address":"unix:\/\/\/[^"]*redis\.sock","prefix":"centrifugo","shards":1,"tls":false,"time":"[^"]+","message":"using Redis engine"/);
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

test('v6 redis+sentinel:// URL: the master is found through the Sentinel named in the URL', { timeout: 30000 }, async (t, scope) => {
  const master = await RedisServer.start();
  scope.defer(() => master.stop());
  const sentinel = await SentinelServer.start('urlmaster', master.port);
  scope.defer(() => sentinel.stop());
  const node = await startServer({ engine: 'redis', api_key: 'k', token_hmac_secret_key: 'secret', namespaces: NS,
    redis_address: `redis+sentinel://127.0.0.1:${sentinel.port}?sentinel_master_name=urlmaster&io_timeout=2s` });
  scope.defer(() => node.stop());
  const ch = `chat:${uniq()}`;
  assert.equal((await node.apiOk('publish', { channel: ch, data: { v: 1 } })).offset, 1);
  const rc = await RespClient.connect(master.port);
  scope.defer(() => rc.close());
  assert.equal(await rc.call('XLEN', `centrifugo.stream.${ch}`), 1);
});

test('v6 redis+cluster:// URL with ?addr= seeds: hash-tagged keys on the owning master', { timeout: 60000 }, async (t, scope) => {
  const cluster = await RedisCluster.start(3);
  scope.defer(() => cluster.stop());
  const [first, ...rest] = cluster.nodes.map((n) => `127.0.0.1:${n.port}`);
  const node = await startServer({ engine: 'redis', api_key: 'k', token_hmac_secret_key: 'secret', namespaces: NS,
    redis_address: `redis+cluster://${first}?${rest.map((a) => `addr=${a}`).join('&')}` });
  scope.defer(() => node.stop());
  for (let i = 0; i < 4; i++) {
    const ch = `chat:${uniq()}`;
    assert.equal((await node.apiOk('publish', { channel: ch, data: { i } })).offset, 1);
    const owner = await cluster.ownerOf(keySlot(ch));
    assert.equal(await cluster.call(owner, 'XLEN', `centrifugo.stream.{${ch}}`), 1);
  }
});

test('v6 URL errors name redis_address: unknown option, mixed cluster list, replica reads', async () => {
  const cases = [
    [['redis://127.0.0.1:1?pool_size=3'], /key "redis_address": "redis:\/\/127\.0\.0\.1:1\?pool_size=3": unknown URL option \\?"pool_size\\?"/],
    [['redis+cluster://127.0.0.1:1', '127.0.0.1:2'], /key "redis_address": redis\+cluster:\/\/ addresses cannot be mixed with other kinds/],
    [['redis+sentinel://127.0.0.1:1'], /sentinel master name must be set/],
    [['redis+cluster://127.0.0.1:1?replica_client_enabled=true'], /replica_client_enabled: reads from replicas are not supported yet/],
  ];
  for (const [address, re] of cases) {
    const h = spawnGyre({ configText: JSON.stringify({ port: String(await freePort()), engine: 'redis', redis_address: address }) });
    const exit = await h.exitPromise;
    assert.notEqual(exit.code, 0, JSON.stringify(address));
    assert.match(h.out.text(), re, JSON.stringify(address));
  }
});
