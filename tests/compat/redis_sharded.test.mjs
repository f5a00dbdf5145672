// Client-side sharding of the Redis engine (issue #12): two redis-servers listed in
// redis_address, two Gyre nodes. Each channel's keys and PUB/SUB live on the instance that
// jump consistent hash of FNV-1a-64(channel) picks — computed here independently of Gyre, as
// centrifuge v0.33 (Centrifugo v5.4.9) computes it — and everything still crosses nodes.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { test, uniq, once, collect, until } from './harness.mjs';
import {
  RedisServer, RespClient, fnv1a64, jumpShard, connectedClient as connected,
  subscribedTo as subscribed, startGyreNodes, redisNodeConfig,
} from './redis_server.mjs';

const NS = [
  {
    name: 'chat', presence: true, join_leave: true, force_push_join_leave: true, history_size: 10,
    history_ttl: '300s', force_recovery: true, allow_subscribe_for_client: true,
  },
  { name: 'plain', allow_subscribe_for_client: true },
];

test('the jump hash of this test agrees with values computed by Go', () => {
  // Go: hash/fnv New64a + centrifuge's consistentIndex loop (see redis_sharding_test.cc).
  assert.equal(fnv1a64('chat:1'), 17504670429736252214n);
  assert.deepEqual(['', 'chat:1', 'a', 'news', 'chat:index', 'personal:#42', 'ünï'].map((c) => jumpShard(c, 3)),
    [1, 0, 2, 2, 0, 1, 0]);
  assert.deepEqual(['chat:1', 'a', 'news', 'ünï'].map((c) => jumpShard(c, 10)), [8, 2, 3, 8]);
});

let redis0;
let redis1;
let a;
let b;

function nodeConfig() {
  return redisNodeConfig({ redis_address: [redis0.address, redis1.address] }, NS);
}

before(async () => {
  redis0 = await RedisServer.start();
  redis1 = await RedisServer.start();
  [a, b] = await startGyreNodes(2, nodeConfig());
});
after(async () => {
  await a?.stop();
  await b?.stop();
  await redis0?.stop();
  await redis1?.stop();
});

// Channels until both shards have at least two.
function channelsOnBothShards(prefix) {
  const out = [];
  const count = [0, 0];
  while (count[0] < 2 || count[1] < 2 || out.length < 6) {
    const ch = `${prefix}${uniq()}`;
    const s = jumpShard(ch, 2);
    count[s]++;
    out.push([ch, s]);
  }
  return out;
}

test('each channel lives on the Redis instance jump hash picks: keys and PUB/SUB', async (t, scope) => {
  const raw = [await RespClient.connect(redis0.port), await RespClient.connect(redis1.port)];
  const listeners = [await RespClient.connect(redis0.port), await RespClient.connect(redis1.port)];
  scope.defer(() => { for (const c of [...raw, ...listeners]) c.close(); });
  const channels = channelsOnBothShards('chat:');
  for (const [ch] of channels) {
    for (const l of listeners) await l.call('SUBSCRIBE', `centrifugo.client.${ch}`);
  }
  const [cb, ctxb] = await connected(scope, b, 'bob');
  for (const [ch] of channels) {
    await subscribed(cb, ch); // presence on the channel's shard
    await a.apiOk('publish', { channel: ch, data: { ch }, idempotency_key: 'k' });
  }
  for (const [ch, s] of channels) {
    const home = raw[s];
    const other = raw[1 - s];
    const keys = [`centrifugo.stream.${ch}`, `centrifugo.stream.meta.${ch}`, `centrifugo.result.${ch}.k`,
      `centrifugo.presence.data.${ch}`, `centrifugo.presence.expire.${ch}`];
    for (const k of keys) {
      assert.equal(await home.call('EXISTS', k), 1, `${k} on shard ${s}`);
      assert.equal(await other.call('EXISTS', k), 0, `${k} not on shard ${1 - s}`);
    }
    assert.equal((await home.call('HGET', `centrifugo.presence.data.${ch}`, ctxb.client)) !== null, true);
  }
  // PUB/SUB: the __j__ and __p1 messages of a channel reach the listener on its shard only.
  await until(() => listeners[0].messages.length + listeners[1].messages.length === 2 * channels.length, 5000,
    'one join and one publication per channel');
  for (const [ch, s] of channels) {
    const on = (i) => listeners[i].messages.filter((m) => m.channel === `centrifugo.client.${ch}`).length;
    assert.deepEqual([on(s), on(1 - s)], [2, 0], `PUB/SUB of ${ch} on shard ${s}`);
  }
});

test('delivery, presence, history and recovery cross nodes on both shards', async (t, scope) => {
  const channels = channelsOnBothShards('chat:');
  const [ca, ctxa] = await connected(scope, a, 'alice');
  const [cb, ctxb] = await connected(scope, b, 'bob');
  const subsB = [];
  for (const [ch] of channels) {
    await subscribed(ca, ch);
    const [sb, ctx] = await subscribed(cb, ch);
    assert.equal(ctx.recoverable, true);
    subsB.push([sb, collect(sb, 'publication')]);
  }
  for (const [ch] of channels) {
    const r = await a.apiOk('publish', { channel: ch, data: { ch } });
    assert.equal(r.offset, 1);
  }
  await until(() => subsB.every(([, pubs]) => pubs.length === 1), 5000, 'one publication per channel on B');
  for (let i = 0; i < channels.length; i++) {
    const [ch] = channels[i];
    assert.deepEqual(subsB[i][1][0].data, { ch });
    const presence = (await b.apiOk('presence', { channel: ch })).presence;
    assert.deepEqual(Object.keys(presence).sort(), [ctxa.client, ctxb.client].sort());
    assert.deepEqual(await a.apiOk('presence_stats', { channel: ch }), { num_clients: 2, num_users: 2 });
    const h = await b.apiOk('history', { channel: ch, limit: -1 });
    assert.deepEqual(h.publications.map((p) => [p.offset, p.data.ch]), [[1, ch]]);
  }
  // B's client goes away; A publishes on every channel; B's client recovers each one.
  cb.disconnect();
  for (const [ch] of channels) await a.apiOk('publish', { channel: ch, data: { ch, n: 2 } });
  const again = subsB.map(([sb]) => once(sb, 'subscribed', 5000));
  cb.connect();
  const ctxs = await Promise.all(again);
  assert.ok(ctxs.every((c) => c.wasRecovering && c.recovered), 'every channel recovered');
  await until(() => subsB.every(([, pubs]) => pubs.length === 2), 5000, 'recovered publications');
  for (let i = 0; i < channels.length; i++) {
    assert.deepEqual(subsB[i][1].map((p) => p.offset), [1, 2]);
  }
});

test('one Redis shard down: its channels answer 100, the other shard keeps serving', { timeout: 40000 }, async (t, scope) => {
  const channels = channelsOnBothShards('plain:');
  const down = channels.find(([, s]) => s === 1)[0];
  const up = channels.find(([, s]) => s === 0)[0];
  const [cb] = await connected(scope, b, 'bob');
  const [sb] = await subscribed(cb, up);
  const pubs = collect(sb, 'publication');
  await redis1.stop();
  try {
    assert.deepEqual((await a.api('publish', { channel: down, data: {} })).json,
      { error: { code: 100, message: 'internal server error' } });
    assert.deepEqual(await a.apiOk('publish', { channel: up, data: { still: 'up' } }), {});
    await until(() => pubs.length === 1, 5000, 'delivery on the healthy shard');
    assert.deepEqual(pubs[0].data, { still: 'up' });
  } finally {
    await redis1.restart();
  }
  await until(async () => (await a.api('publish', { channel: down, data: {} })).json?.result !== undefined,
    15000, 'the restarted shard serves again');
});
