// Redis Cluster (issue #12): three masters made with `redis-cli --cluster create`, two Gyre
// nodes given the seeds in redis_cluster_address. Keys are hash-tagged as Centrifugo v5.4.9
// builds them in cluster mode (P.stream.{ch}, ...) and live on the master of their slot;
// delivery, presence, history and recovery cross nodes; a slot migration (MOVED) is followed.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { test, uniq, once, collect, until } from './harness.mjs';
import {
  RedisCluster, RespClient, keySlot, connectedClient as connected,
  subscribedTo as subscribed, startGyreNodes, redisNodeConfig,
} from './redis_server.mjs';

const NS = [
  {
    name: 'chat', presence: true, join_leave: true, force_push_join_leave: true, history_size: 10,
    history_ttl: '300s', force_recovery: true, allow_subscribe_for_client: true,
  },
];

let cluster;
let a;
let b;

before(async () => {
  cluster = await RedisCluster.start(3);
  const cfg = redisNodeConfig({ redis_cluster_address: [cluster.seeds] }, NS);
  [a, b] = await startGyreNodes(2, cfg);
});
after(async () => {
  await a?.stop();
  await b?.stop();
  await cluster?.stop();
});

// Channels until three different masters own at least one each.
async function channelsOnEveryMaster() {
  const out = [];
  const owners = new Set();
  while (owners.size < 3) {
    const ch = `chat:${uniq()}`;
    const owner = await cluster.ownerOf(keySlot(ch));
    owners.add(owner);
    out.push([ch, owner]);
  }
  return out;
}

test("keys are hash-tagged as Centrifugo's and live on the master of the channel's slot", async (t, scope) => {
  const channels = await channelsOnEveryMaster();
  const [cb, ctxb] = await connected(scope, b, 'bob');
  for (const [ch] of channels) {
    await subscribed(cb, ch);
    const r = await a.apiOk('publish', { channel: ch, data: { ch }, idempotency_key: 'k' });
    assert.equal(r.offset, 1);
  }
  for (const [ch, owner] of channels) {
    const raw = await RespClient.connect(owner);
    scope.defer(() => raw.close());
    for (const k of [`centrifugo.stream.{${ch}}`, `centrifugo.stream.meta.{${ch}}`, `centrifugo.result.{${ch}}.k`,
      `centrifugo.presence.data.{${ch}}`, `centrifugo.presence.expire.{${ch}}`]) {
      assert.equal(await raw.call('EXISTS', k), 1, `${k} on ${owner}`);
    }
    assert.notEqual(await raw.call('HGET', `centrifugo.presence.data.{${ch}}`, ctxb.client), null);
    // Untagged names are not used in cluster mode (asked on the master of their own slot).
    const untagged = `centrifugo.stream.${ch}`;
    assert.equal(await cluster.call(await cluster.ownerOf(keySlot(untagged)), 'EXISTS', untagged), 0);
  }
});

test('delivery, presence, history and recovery cross nodes on every master', async (t, scope) => {
  const channels = await channelsOnEveryMaster();
  const [ca, ctxa] = await connected(scope, a, 'alice');
  const [cb, ctxb] = await connected(scope, b, 'bob');
  const subs = [];
  for (const [ch] of channels) {
    await subscribed(ca, ch);
    const [sb, ctx] = await subscribed(cb, ch);
    assert.equal(ctx.recoverable, true);
    subs.push([sb, collect(sb, 'publication')]);
  }
  for (const [ch] of channels) await a.apiOk('publish', { channel: ch, data: { ch } });
  await until(() => subs.every(([, p]) => p.length === 1), 5000, 'one publication per channel on B');
  for (const [ch] of channels) {
    const presence = (await b.apiOk('presence', { channel: ch })).presence;
    assert.deepEqual(Object.keys(presence).sort(), [ctxa.client, ctxb.client].sort());
    assert.deepEqual(await a.apiOk('presence_stats', { channel: ch }), { num_clients: 2, num_users: 2 });
    const h = await b.apiOk('history', { channel: ch, limit: -1 });
    assert.deepEqual(h.publications.map((p) => [p.offset, p.data.ch]), [[1, ch]]);
  }
  cb.disconnect();
  for (const [ch] of channels) await a.apiOk('publish', { channel: ch, data: { ch, n: 2 } });
  const again = subs.map(([sb]) => once(sb, 'subscribed', 5000));
  cb.connect();
  const ctxs = await Promise.all(again);
  assert.ok(ctxs.every((c) => c.wasRecovering && c.recovered), 'every channel recovered');
  await until(() => subs.every(([, p]) => p.length === 2), 5000, 'recovered publications');
  for (const [, pubs] of subs) assert.deepEqual(pubs.map((p) => p.offset), [1, 2]);
});

test('a slot migration: nodes follow MOVED, offsets continue, subscribers keep receiving', async (t, scope) => {
  const ch = `chat:${uniq()}`;
  const slot = keySlot(ch);
  const from = await cluster.ownerOf(slot);
  const to = cluster.nodes.map((s) => s.port).find((p) => p !== from);
  const [cb] = await connected(scope, b, 'bob');
  const [sb] = await subscribed(cb, ch);
  const pubs = collect(sb, 'publication');
  for (let i = 1; i <= 2; i++) await a.apiOk('publish', { channel: ch, data: { n: i } });
  await cluster.migrateSlot(slot, from, to);
  assert.equal(await cluster.ownerOf(slot), to);
  // Both nodes still have the old map: their next command on the slot gets MOVED.
  const r = await a.apiOk('publish', { channel: ch, data: { n: 3 } });
  assert.equal(r.offset, 3);
  const h = await b.apiOk('history', { channel: ch, limit: -1 });
  assert.deepEqual(h.publications.map((p) => [p.offset, p.data.n]), [[1, 1], [2, 2], [3, 3]]);
  await until(() => pubs.length === 3, 5000, 'three publications delivered');
  assert.deepEqual(pubs.map((p) => p.offset), [1, 2, 3]);
  const raw = await RespClient.connect(to);
  scope.defer(() => raw.close());
  assert.equal(await raw.call('XLEN', `centrifugo.stream.{${ch}}`), 3);
});
