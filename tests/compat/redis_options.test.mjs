// Two Redis engine options of Centrifugo v5.4.9, on two Gyre nodes sharing one redis-server
// (the mixed Gyre + Centrifugo tests with both are in redis_mixed.test.mjs):
// - redis_use_lists (v6 engine.redis.history_use_lists): history in LISTs as centrifuge's list
//   branch — P.list.<ch> holds "__p1:<offset>:<epoch>__<Publication>" newest first, trimmed to
//   history_size; P.list.meta.<ch> holds the epoch (e) and top offset (s); no stream key. Raw
//   keys, history filters (since, limit; reverse is ignored as in Centrifugo), recovery on the
//   other node, history_remove.
// - global_redis_presence_user_mapping (v6 engine.redis.presence_user_mapping): per-user
//   P.presence.user.clients.<ch> (user -> connection count) and P.presence.user.expire.<ch>
//   (user -> expiry) beside the presence; presence_stats reads them.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { test, startServer, userToken, uniq, once, collect, until, nowSec } from './harness.mjs';
import { RedisServer, RespClient, decodePublication } from './redis_server.mjs';

const NS = [{
  name: 'chat', history_size: 3, history_ttl: '300s', force_recovery: true, allow_subscribe_for_client: true,
  allow_history_for_subscriber: true,
}, { name: 'room', presence: true, allow_subscribe_for_client: true }];

let redis;
let a;
let b;

before(async () => {
  redis = await RedisServer.start();
  const common = { engine: 'redis', redis_address: redis.address, api_key: 'k', token_hmac_secret_key: 'secret',
    namespaces: NS };
  a = await startServer({ ...common, redis_use_lists: true, global_redis_presence_user_mapping: true });
  // B in the v6 spelling of the options.
  b = await startServer(common, { env: { CENTRIFUGO_ENGINE_REDIS_HISTORY_USE_LISTS: 'true',
    CENTRIFUGO_ENGINE_REDIS_PRESENCE_USER_MAPPING: 'true' } });
});
after(async () => {
  await a?.stop();
  await b?.stop();
  await redis?.stop();
});

/** "__p1:<offset>:<epoch>__<protobuf>" → {offset, epoch, pub}. */
function unframe(buf) {
  const m = /^__p1:(\d+):(\d+)__/.exec(buf.subarray(0, 64).toString('latin1'));
  assert.ok(m, `framed list entry: ${buf.subarray(0, 40).toString('latin1')}`);
  return { offset: Number(m[1]), epoch: m[2], pub: decodePublication(buf.subarray(m[0].length)) };
}

test('raw keys: a LIST of framed publications, newest first, trimmed; the list meta hash; no stream', async (t, scope) => {
  const ch = `chat:${uniq()}`;
  const offsets = [];
  for (let i = 1; i <= 4; i++) {
    const node = i % 2 ? a : b;
    offsets.push((await node.apiOk('publish', { channel: ch, data: { n: i } })).offset);
  }
  assert.deepEqual(offsets, [1, 2, 3, 4]);
  const epoch = (await a.apiOk('history', { channel: ch })).epoch;
  const rc = await RespClient.connect(redis.port);
  scope.defer(() => rc.close());
  const items = (await rc.call('LRANGE', `centrifugo.list.${ch}`, '0', '-1')).map(unframe);
  assert.deepEqual(items.map((e) => [e.offset, e.epoch, JSON.parse(e.pub.data).n]),
    [[4, epoch, 4], [3, epoch, 3], [2, epoch, 2]]);
  const meta = (await rc.call('HGETALL', `centrifugo.list.meta.${ch}`)).map(String);
  assert.deepEqual(Object.fromEntries([[meta[0], meta[1]], [meta[2], meta[3]]]), { e: epoch, s: '4' });
  assert.equal(await rc.call('EXISTS', `centrifugo.stream.${ch}`), 0);
  assert.equal(await rc.call('EXISTS', `centrifugo.stream.meta.${ch}`), 0);
  const ttl = await rc.call('TTL', `centrifugo.list.${ch}`);
  assert.ok(ttl > 290 && ttl <= 300, `list TTL ${ttl}`);
});

test('history through lists: limit, since, reverse ignored (as Centrifugo), history_remove', async () => {
  const ch = `chat:${uniq()}`;
  for (let i = 1; i <= 3; i++) await a.apiOk('publish', { channel: ch, data: { n: i } });
  const all = await b.apiOk('history', { channel: ch, limit: -1 });
  assert.equal(all.offset, 3);
  assert.deepEqual(all.publications.map((p) => [p.offset, p.data.n]), [[1, 1], [2, 2], [3, 3]]);
  const { epoch } = all;
  assert.deepEqual((await b.apiOk('history', { channel: ch, limit: 2 })).publications.map((p) => p.offset), [1, 2]);
  assert.deepEqual((await a.apiOk('history', { channel: ch, limit: 10, since: { offset: 1, epoch } }))
    .publications.map((p) => p.offset), [2, 3]);
  assert.deepEqual((await a.apiOk('history', { channel: ch, limit: 1, since: { offset: 1, epoch } }))
    .publications.map((p) => p.offset), [2]);
  assert.deepEqual((await a.apiOk('history', { channel: ch, limit: 10, since: { offset: 3, epoch } })).publications ?? [], []);
  assert.deepEqual((await a.apiOk('history', { channel: ch, limit: 2, reverse: true })).publications.map((p) => p.offset), [1, 2]);
  const top = await a.apiOk('history', { channel: ch });
  assert.deepEqual([top.offset, top.epoch, top.publications ?? []], [3, epoch, []]);
  await b.apiOk('history_remove', { channel: ch });
  const gone = await a.apiOk('history', { channel: ch, limit: -1 });
  assert.deepEqual([gone.offset, gone.epoch, gone.publications ?? []], [3, epoch, []]);
});

test('recovery through lists: a client subscribed on B recovers what A published meanwhile', async (t, scope) => {
  const ch = `chat:${uniq()}`;
  await a.apiOk('publish', { channel: ch, data: { n: 1 } });
  const c = scope.sdk(b, { token: userToken('bob') });
  const connected = once(c, 'connected', 5000);
  c.connect();
  await connected;
  const sub = c.newSubscription(ch);
  const first = once(sub, 'subscribed', 5000);
  sub.subscribe();
  const ctx = await first;
  assert.equal(ctx.streamPosition.offset, 1);
  c.disconnect();
  await a.apiOk('publish', { channel: ch, data: { n: 2 } });
  await a.apiOk('publish', { channel: ch, data: { n: 3 } });
  const pubs = collect(sub, 'publication');
  const again = once(sub, 'subscribed', 5000);
  c.connect();
  const rctx = await again;
  assert.equal(rctx.recovered, true);
  await until(() => pubs.length === 2, 5000, 'recovered publications');
  assert.deepEqual(pubs.map((p) => [p.offset, p.data.n]), [[2, 2], [3, 3]]);
});

async function member(scope, server, user, channel) {
  const c = scope.sdk(server, { token: userToken(user) });
  const sub = c.newSubscription(channel);
  const p = once(sub, 'subscribed', 5000);
  c.connect();
  sub.subscribe();
  await p;
  return sub;
}

test('presence user mapping: per-user connection counts and expiry keys; presence_stats reads them', async (t, scope) => {
  const ch = `room:${uniq()}`;
  const rc = await RespClient.connect(redis.port);
  scope.defer(() => rc.close());
  const users = async () => {
    const flat = (await rc.call('HGETALL', `centrifugo.presence.user.clients.${ch}`)).map(String);
    const out = {};
    for (let i = 0; i < flat.length; i += 2) out[flat[i]] = flat[i + 1];
    return out;
  };
  const aliceA = await member(scope, a, 'alice', ch);
  await member(scope, b, 'alice', ch);
  const bob = await member(scope, b, 'bob', ch);
  assert.deepEqual(await users(), { alice: '2', bob: '1' });
  const expiry = (await rc.call('ZRANGE', `centrifugo.presence.user.expire.${ch}`, '0', '-1', 'WITHSCORES')).map(String);
  assert.deepEqual([expiry[0], expiry[2]].sort(), ['alice', 'bob']);
  for (const score of [expiry[1], expiry[3]]) {
    assert.ok(Math.abs(Number(score) - (nowSec() + 60)) <= 5, `user expiry ${score}`);
  }
  for (const node of [a, b]) {
    assert.deepEqual(await node.apiOk('presence_stats', { channel: ch }), { num_clients: 3, num_users: 2 });
  }
  // The user count comes from the mapping: a user only in the mapping counts until it expires.
  await rc.call('HSET', `centrifugo.presence.user.clients.${ch}`, 'ghost', '1');
  await rc.call('ZADD', `centrifugo.presence.user.expire.${ch}`, String(nowSec() + 60), 'ghost');
  assert.deepEqual(await a.apiOk('presence_stats', { channel: ch }), { num_clients: 3, num_users: 3 });
  await rc.call('ZADD', `centrifugo.presence.user.expire.${ch}`, '1', 'ghost');
  assert.deepEqual(await b.apiOk('presence_stats', { channel: ch }), { num_clients: 3, num_users: 2 });
  assert.deepEqual(await users(), { alice: '2', bob: '1' });

  // Leaving: alice's count drops; bob's last connection removes him from both keys.
  aliceA.unsubscribe();
  await until(async () => (await users()).alice === '1', 5000, "alice's count down to 1");
  bob.unsubscribe();
  await until(async () => !('bob' in (await users())), 5000, 'bob gone from the mapping');
  const left = (await rc.call('ZRANGE', `centrifugo.presence.user.expire.${ch}`, '0', '-1')).map(String);
  assert.deepEqual(left, ['alice']);
  assert.deepEqual(await a.apiOk('presence_stats', { channel: ch }), { num_clients: 1, num_users: 1 });
});
