// A mixed cluster (issue #12): one Gyre node and one real Centrifugo v5.4.9 node on the same
// redis-server (and two more pairs: sharded over two redis-servers, and on a 3-master Redis
// Cluster). Publications, join/leave, presence and history cross in both directions.
// Needs a Centrifugo v5.4.9 binary in CENTRIFUGO_BIN (built from its Go module: see
// docs/scaling.md); without it the tests are skipped with the reason logged.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  test, startServer, freePort, makeTempDir, waitHealthy, Server, userToken, uniq, once, collect, until,
  rawConnected, Centrifuge,
} from './harness.mjs';
import {
  RedisServer, RedisCluster, RespClient, jumpShard, keySlot, connectedClient as connected,
  subscribedTo as subscribed,
} from './redis_server.mjs';

const CENTRIFUGO_BIN = process.env.CENTRIFUGO_BIN ?? '';
const skip = !CENTRIFUGO_BIN || !existsSync(CENTRIFUGO_BIN)
  ? `CENTRIFUGO_BIN (a Centrifugo v5.4.9 binary) not set or missing: "${CENTRIFUGO_BIN}"`
  : false;
if (skip) {
  console.log(`# redis_mixed: skipped: ${skip}`);
}

const NS = [
  {
    name: 'chat', presence: true, join_leave: true, force_push_join_leave: true, history_size: 10,
    history_ttl: '300s', force_recovery: true, allow_subscribe_for_client: true, allow_publish_for_subscriber: true,
  },
];

let redis;
let gyre;
let cf;
let redis2;
let gyreSharded;
let cfSharded;
let cluster;
let gyreCluster;
let cfCluster;
let gyreLists;
let cfLists;

async function startCentrifugo(config) {
  const port = await freePort();
  const dir = makeTempDir('centrifugo-');
  const cfgPath = path.join(dir, 'config.json');
  const cfg = { port: String(port), health: true, ...config };
  writeFileSync(cfgPath, JSON.stringify(cfg));
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('CENTRIFUGO_')) delete env[k];
  const proc = spawn(CENTRIFUGO_BIN, ['--config', cfgPath], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout.on('data', (d) => { output += d; });
  proc.stderr.on('data', (d) => { output += d; });
  const handle = { proc, dir, out: { text: () => output }, exited: null };
  handle.exitPromise = new Promise((resolve) => proc.on('exit', (code, signal) => {
    handle.exited = { code, signal };
    resolve(handle.exited);
  }));
  await waitHealthy(port, handle, 15000);
  return new Server(handle, port, cfg);
}

before(async () => {
  if (skip) return;
  redis = await RedisServer.start();
  const common = {
    engine: 'redis', redis_address: `127.0.0.1:${redis.port}`, api_key: 'k', token_hmac_secret_key: 'secret',
    namespaces: NS, http_stream: true,
  };
  // A short metrics cadence so that the test sees the Gyre node's snapshot follow activity.
  gyre = await startServer({ ...common, name: 'gyre-node', node_info_metrics_aggregate_interval: '1s' });
  cf = await startCentrifugo({ ...common, name: 'centrifugo-node' });
  // A second mixed pair sharded over two Redis instances (client-side sharding).
  redis2 = await RedisServer.start();
  const sharded = { ...common, redis_address: [`127.0.0.1:${redis.port}`, `127.0.0.1:${redis2.port}`],
    redis_prefix: 'sharded' };
  gyreSharded = await startServer(sharded);
  cfSharded = await startCentrifugo(sharded);
  // A third pair on a 3-master Redis Cluster.
  cluster = await RedisCluster.start(3);
  const clustered = { ...common, redis_cluster_address: [cluster.seeds] };
  delete clustered.redis_address;
  gyreCluster = await startServer(clustered);
  cfCluster = await startCentrifugo(clustered);
  // A fourth pair on the first Redis with history in LISTs (redis_use_lists) and the presence
  // user mapping (global_redis_presence_user_mapping).
  const lists = { ...common, redis_use_lists: true, global_redis_presence_user_mapping: true, redis_prefix: 'lists' };
  gyreLists = await startServer(lists);
  cfLists = await startCentrifugo(lists);
});
after(async () => {
  await gyre?.stop();
  await cf?.stop();
  await gyreSharded?.stop();
  await cfSharded?.stop();
  await gyreCluster?.stop();
  await cfCluster?.stop();
  await gyreLists?.stop();
  await cfLists?.stop();
  await cluster?.stop();
  await redis?.stop();
  await redis2?.stop();
});

test('mixed cluster: publications cross Gyre -> Centrifugo and Centrifugo -> Gyre', { skip }, async (t, scope) => {
  const ch = `chat:${uniq()}`;
  const [cg] = await connected(scope, gyre, 'g');
  const [cc] = await connected(scope, cf, 'c');
  const [sg] = await subscribed(cg, ch);
  const [sc] = await subscribed(cc, ch);
  const pg = collect(sg, 'publication');
  const pc = collect(sc, 'publication');
  const r1 = await gyre.apiOk('publish', { channel: ch, data: { from: 'gyre' } });
  const r2 = await cf.apiOk('publish', { channel: ch, data: { from: 'centrifugo' } });
  assert.equal(r1.offset, 1);
  assert.equal(r2.offset, 2);
  assert.equal(r2.epoch, r1.epoch);
  await until(() => pg.length === 2 && pc.length === 2, 5000, 'both publications on both nodes');
  for (const got of [pg, pc]) {
    assert.deepEqual(got.map((p) => [p.offset, p.data.from]), [[1, 'gyre'], [2, 'centrifugo']]);
  }
  // History written by both, read by each.
  for (const node of [gyre, cf]) {
    const h = await node.apiOk('history', { channel: ch, limit: -1 });
    assert.equal(h.epoch, r1.epoch);
    assert.deepEqual(h.publications.map((p) => [p.offset, p.data.from]), [[1, 'gyre'], [2, 'centrifugo']]);
  }
});

test('mixed cluster: join/leave and presence across Gyre and Centrifugo', { skip }, async (t, scope) => {
  const ch = `chat:${uniq()}`;
  const [cg, ctxg] = await connected(scope, gyre, 'g');
  const [sg] = await subscribed(cg, ch);
  const joins = collect(sg, 'join');
  const leaves = collect(sg, 'leave');
  const [cc, ctxc] = await connected(scope, cf, 'c');
  const [sc] = await subscribed(cc, ch);
  const cjoins = collect(sc, 'join');
  await until(() => joins.some((j) => j.info.client === ctxc.client), 5000, "Centrifugo client's join on Gyre");
  for (const node of [gyre, cf]) {
    const presence = (await node.apiOk('presence', { channel: ch })).presence;
    assert.deepEqual(Object.keys(presence).sort(), [ctxg.client, ctxc.client].sort());
    assert.equal(presence[ctxg.client].user, 'g');
    assert.equal(presence[ctxc.client].user, 'c');
    assert.deepEqual(await node.apiOk('presence_stats', { channel: ch }), { num_clients: 2, num_users: 2 });
  }
  sc.unsubscribe();
  await until(() => leaves.some((l) => l.info.client === ctxc.client), 5000, "Centrifugo client's leave on Gyre");
  // And a Gyre join reaches Centrifugo's subscriber.
  sc.subscribe();
  await once(sc, 'subscribed', 5000);
  const [cg2, ctxg2] = await connected(scope, gyre, 'g2');
  await subscribed(cg2, ch);
  await until(() => cjoins.some((j) => j.info.client === ctxg2.client), 5000, "Gyre client's join on Centrifugo");
});

// Node-to-node control: both kinds of nodes share one registry over P.control.
// A node's own uid, found by its name (Centrifugo lists nodes in map order).
async function uidOf(node) {
  let found;
  await until(async () => {
    found = (await node.apiOk('info', {})).nodes.find((n) => n.name === node.config.name);
    return found !== undefined;
  }, 5000, `${node.config.name} in its own info`);
  return found.uid;
}

// Waits until `node`'s API info lists every uid of `uids` and exactly `count` nodes.
async function listed(node, uids, count = 2) {
  let nodes = [];
  await until(async () => {
    nodes = (await node.apiOk('info', {})).nodes;
    return nodes.length === count && uids.every((u) => nodes.some((n) => n.uid === u));
  }, 15000, 'both nodes in info').catch(() => {});
  assert.equal(nodes.length, count, JSON.stringify(nodes));
  for (const u of uids) assert.ok(nodes.some((n) => n.uid === u), `${u} in ${JSON.stringify(nodes)}`);
  return nodes;
}

test('mixed cluster: API info lists the Gyre and the Centrifugo node on each side', { skip }, async (t, scope) => {
  const gyreId = await uidOf(gyre);
  const cfId = await uidOf(cf);
  assert.notEqual(gyreId, cfId);
  await connected(scope, cf, 'counted');
  const onGyre = await listed(gyre, [gyreId, cfId]);
  const c = onGyre.find((n) => n.uid === cfId);
  assert.equal(typeof c.name, 'string');
  assert.notEqual(c.version, '0.1.0');
  // Centrifugo's node info reaches Gyre with its counts (within the 3 s cadence).
  await until(async () => {
    const ns = (await gyre.apiOk('info', {})).nodes;
    return ns.find((n) => n.uid === cfId)?.num_clients === 1;
  }, 10000, "Centrifugo's client count on Gyre");
  const onCf = await listed(cf, [gyreId, cfId]);
  // Centrifugo's node metrics (sent once a minute, kept in between) read the same on Gyre as
  // on Centrifugo itself: doubles decoded and written as Go's encoding/json does.
  let mine;
  let relayed;
  await until(async () => {
    mine = (await cf.apiOk('info', {})).nodes.find((n) => n.uid === cfId).metrics;
    relayed = (await gyre.apiOk('info', {})).nodes.find((n) => n.uid === cfId).metrics;
    return JSON.stringify(mine) === JSON.stringify(relayed);
  }, 10000, 'the same metrics on both nodes').catch(() => {});
  assert.ok(mine && mine.interval === 60 && Object.keys(mine.items).length > 10, JSON.stringify(mine));
  assert.deepEqual(relayed, mine);
  const rawCf = await cf.api('info', {});
  const rawGyre = await gyre.api('info', {});
  // The Centrifugo node's entry (the Gyre node's own carries metrics too).
  const metricsText = (text) => {
    const at = text.indexOf('"metrics"', text.indexOf(`"uid":"${cfId}"`));
    return text.slice(at, text.indexOf('"num_subs"', at));
  };
  assert.equal(metricsText(rawGyre.text), metricsText(rawCf.text), 'byte-identical metrics JSON');
  const g = onCf.find((n) => n.uid === gyreId);
  assert.equal(g.version, '0.1.0');
  assert.equal(typeof g.num_clients, 'number');
  assert.equal(typeof g.num_subs, 'number');
});

test("mixed cluster: the Gyre node's metrics snapshot reaches Centrifugo's API info", { skip }, async (t, scope) => {
  const gyreId = await uidOf(gyre);
  const cfId = await uidOf(cf);
  const [c] = await connected(scope, gyre, 'metrics-user');
  const channel = uniq('chat:metrics');
  await subscribed(c, channel);
  // Gauges follow the activity: one client of one user subscribed to one channel, two nodes.
  const want = {
    'centrifugo.node.num_clients': 1,
    'centrifugo.node.num_users': 1,
    'centrifugo.node.num_subscriptions': 1,
    'centrifugo.node.num_channels': 1,
    'centrifugo.node.num_nodes': 2,
    'centrifugo.node.build.version.0.1.0': 1,
  };
  let m;
  await until(async () => {
    m = (await cf.apiOk('info', {})).nodes.find((n) => n.uid === gyreId)?.metrics;
    return m && Object.entries(want).every(([k, v]) => m.items[k] === v);
  }, 15000, "the Gyre node's gauges on Centrifugo").catch(() => {});
  assert.ok(m, 'metrics of the Gyre node on Centrifugo');
  assert.equal(m.interval, 1);
  for (const [k, v] of Object.entries(want)) assert.equal(m.items[k], v, `${k} in ${JSON.stringify(m.items)}`);
  // Counters and summaries as changes over the interval, under Centrifugo's flattened names.
  for (const k of [
    'centrifugo.node.messages_sent_count.type.control',
    'centrifugo.transport.connect_count.transport.websocket',
    'centrifugo.client.command_duration_seconds.count.method.connect',
    'centrifugo.client.command_duration_seconds.sum.method.connect',
  ]) {
    assert.equal(typeof m.items[k], 'number', `${k} in ${JSON.stringify(m.items)}`);
  }
  assert.ok(m.items['process.resident.memory_bytes'] > 0, JSON.stringify(m.items));
  assert.equal(m.items['gyre.shards'] >= 1, true);
  // No histogram series (Centrifugo sends none).
  assert.deepEqual(Object.keys(m.items).filter((k) => k.includes('histogram') || k.includes('bucket')), []);
  // Gyre's own API info shows the snapshot it sent last.
  let own;
  await until(async () => {
    own = (await gyre.apiOk('info', {})).nodes.find((n) => n.uid === gyreId)?.metrics;
    return own && own.items['centrifugo.node.num_clients'] === 1;
  }, 10000, "the Gyre node's metrics in its own info").catch(() => {});
  assert.equal(own?.interval, 1, JSON.stringify(own));
  assert.equal(own.items['centrifugo.node.num_clients'], 1);
  assert.ok(cfId);
});

test('mixed cluster: API disconnect on one node reaches a user on the other, both directions', { skip }, async (t, scope) => {
  await listed(cf, [await uidOf(gyre), await uidOf(cf)]);
  const cOnCf = scope.sdk(cf, { token: userToken('mixed-d1') });
  const conn1 = once(cOnCf, 'connected', 5000);
  cOnCf.connect();
  await conn1;
  const gone1 = once(cOnCf, 'disconnected', 5000);
  assert.deepEqual(await gyre.apiOk('disconnect', { user: 'mixed-d1', disconnect: { code: 4501, reason: 'from gyre' } }), {});
  assert.deepEqual(await gone1, { code: 4501, reason: 'from gyre' });

  const cOnGyre = scope.sdk(gyre, { token: userToken('mixed-d2') });
  const conn2 = once(cOnGyre, 'connected', 5000);
  cOnGyre.connect();
  await conn2;
  const gone2 = once(cOnGyre, 'disconnected', 5000);
  assert.deepEqual(await cf.apiOk('disconnect', { user: 'mixed-d2', disconnect: { code: 4502, reason: 'from centrifugo' } }), {});
  assert.deepEqual(await gone2, { code: 4502, reason: 'from centrifugo' });
});

test('mixed cluster: channels surveys the Gyre and the Centrifugo node', { skip }, async (t, scope) => {
  const ch = `chat:${uniq()}`;
  const [cg] = await connected(scope, gyre, 'sg');
  const [cc] = await connected(scope, cf, 'sc');
  await subscribed(cg, ch);
  await subscribed(cc, ch);
  for (const node of [gyre, cf]) {
    assert.deepEqual(await node.apiOk('channels', { pattern: ch }), { channels: { [ch]: { num_clients: 2 } } });
  }
});

test('mixed cluster: API unsubscribe, subscribe and refresh on one node reach a user on the other, both directions', { skip }, async (t, scope) => {
  await listed(cf, [await uidOf(gyre), await uidOf(cf)]);
  for (const [apiNode, clientNode] of [[gyre, cf], [cf, gyre]]) {
    const user = uniq('mu');
    const ch = `chat:${uniq()}`;
    const [c] = await rawConnected(scope, clientNode, userToken(user));
    await c.call('subscribe', { channel: ch });
    assert.deepEqual(await apiNode.apiOk('unsubscribe', { user, channel: ch }), {});
    const un = await c.push((p) => p.unsubscribe);
    assert.deepEqual(un, { push: { channel: ch, unsubscribe: { code: 2000, reason: 'server unsubscribe' } } });
    const sch = `chat:${uniq()}`;
    assert.deepEqual(await apiNode.apiOk('subscribe', { user, channel: sch, data: { d: 1 } }), {});
    const sp = await c.push((p) => p.subscribe);
    assert.equal(sp.push.channel, sch);
    assert.deepEqual(sp.push.subscribe.data, { d: 1 });
    await apiNode.apiOk('publish', { channel: sch, data: { via: 'server-side' } });
    const pub = await c.push((p) => p.pub && p.channel === sch);
    assert.deepEqual(pub.push.pub.data, { via: 'server-side' });
    const exp = Math.floor(Date.now() / 1000) + 600;
    assert.deepEqual(await apiNode.apiOk('refresh', { user, expire_at: exp }), {});
    const rp = await c.push((p) => p.refresh);
    assert.equal(rp.push.refresh.expires, true);
    assert.ok(Math.abs(rp.push.refresh.ttl - 600) <= 3, JSON.stringify(rp));
  }
});

test('mixed cluster: /emulation posted to one node reaches an http_stream session on the other, both directions', { skip }, async (t, scope) => {
  await listed(cf, [await uidOf(gyre), await uidOf(cf)]);
  for (const [streamNode, emulationNode] of [[cf, gyre], [gyre, cf]]) {
    const c = new Centrifuge([{ transport: 'http_stream', endpoint: `${streamNode.base}/connection/http_stream` }], {
      emulationEndpoint: `${emulationNode.base}/emulation`, token: userToken('emu'),
      fetch: globalThis.fetch, readableStream: globalThis.ReadableStream, minReconnectDelay: 100, maxReconnectDelay: 1000,
    });
    scope.defer(() => c.disconnect());
    const conn = once(c, 'connected', 8000);
    c.connect();
    await conn;
    const ch = `chat:${uniq()}`;
    const sub = c.newSubscription(ch);
    const subscribed = once(sub, 'subscribed', 8000);
    const pubs = collect(sub, 'publication');
    sub.subscribe();
    await subscribed;
    await sub.publish({ from: 'client' });
    await until(() => pubs.length === 1, 8000, 'the client publication');
    assert.deepEqual(pubs[0].data, { from: 'client' });
    c.disconnect();
  }
});

test('mixed cluster: user_personal_single_connection holds across Gyre and Centrifugo, both directions', { skip, timeout: 60000 }, async (t, scope) => {
  const common = {
    engine: 'redis', redis_address: `127.0.0.1:${redis.port}`, api_key: 'k', token_hmac_secret_key: 'secret',
    namespaces: NS, redis_prefix: 'single', user_subscribe_to_personal: true, user_personal_single_connection: true,
    presence: true,
  };
  const g = await startServer({ ...common, name: 'gyre-single' });
  scope.defer(() => g.stop());
  const c = await startCentrifugo({ ...common, name: 'centrifugo-single' });
  scope.defer(() => c.stop());
  await listed(g, [await uidOf(g), await uidOf(c)]);
  await listed(c, [await uidOf(g), await uidOf(c)]);
  for (const [older, newer] of [[g, c], [c, g]]) {
    const user = uniq('single');
    const [c1] = await rawConnected(scope, older, userToken(user));
    const [c2] = await rawConnected(scope, newer, userToken(user));
    assert.deepEqual(await c1.waitClose(), { code: 3504, reason: 'connection limit' });
    assert.ok(c2.isOpen, 'the newest connection stays');
  }
});

test('mixed cluster on two Redis shards: Gyre and Centrifugo put each channel on the same shard', { skip }, async (t, scope) => {
  const raw = [await RespClient.connect(redis.port), await RespClient.connect(redis2.port)];
  scope.defer(() => raw.forEach((c) => c.close()));
  const [cg] = await connected(scope, gyreSharded, 'g');
  const [cc] = await connected(scope, cfSharded, 'c');
  // Two channels per shard, picked with this test's own jump hash.
  const channels = [];
  const count = [0, 0];
  while (count[0] < 2 || count[1] < 2) {
    const ch = `chat:${uniq()}`;
    const s = jumpShard(ch, 2);
    if (count[s] < 2) {
      count[s]++;
      channels.push([ch, s]);
    }
  }
  for (const [ch, shard] of channels) {
    const [sg] = await subscribed(cg, ch);
    const [sc] = await subscribed(cc, ch);
    const pg = collect(sg, 'publication');
    const pc = collect(sc, 'publication');
    const r1 = await gyreSharded.apiOk('publish', { channel: ch, data: { from: 'gyre' } });
    const r2 = await cfSharded.apiOk('publish', { channel: ch, data: { from: 'centrifugo' } });
    // One stream for both writers: offsets continue, the epoch is shared.
    assert.deepEqual([r1.offset, r2.offset, r2.epoch], [1, 2, r1.epoch]);
    await until(() => pg.length === 2 && pc.length === 2, 5000, `both publications on both nodes (${ch})`);
    const on = [];
    for (const r of raw) on.push(await r.call('EXISTS', `sharded.stream.${ch}`));
    assert.deepEqual(on, shard === 0 ? [1, 0] : [0, 1], `the stream of ${ch} on shard ${shard} only`);
    for (const node of [gyreSharded, cfSharded]) {
      const h = await node.apiOk('history', { channel: ch, limit: -1 });
      assert.deepEqual(h.publications.map((p) => p.data.from), ['gyre', 'centrifugo']);
    }
  }
});

test('mixed cluster on Redis Cluster: same hash-tagged keys, publications, history and presence both ways', { skip }, async (t, scope) => {
  const [cg, ctxg] = await connected(scope, gyreCluster, 'g');
  const [cc, ctxc] = await connected(scope, cfCluster, 'c');
  for (let i = 0; i < 4; i++) {
    const ch = `chat:${uniq()}`;
    const [sg] = await subscribed(cg, ch);
    const [sc] = await subscribed(cc, ch);
    const pg = collect(sg, 'publication');
    const pc = collect(sc, 'publication');
    const r1 = await gyreCluster.apiOk('publish', { channel: ch, data: { from: 'gyre' } });
    const r2 = await cfCluster.apiOk('publish', { channel: ch, data: { from: 'centrifugo' } });
    assert.deepEqual([r1.offset, r2.offset, r2.epoch], [1, 2, r1.epoch]);
    await until(() => pg.length === 2 && pc.length === 2, 5000, `both publications on both nodes (${ch})`);
    const owner = await cluster.ownerOf(keySlot(ch));
    assert.equal(await cluster.call(owner, 'XLEN', `centrifugo.stream.{${ch}}`), 2);
    for (const node of [gyreCluster, cfCluster]) {
      const h = await node.apiOk('history', { channel: ch, limit: -1 });
      assert.deepEqual(h.publications.map((p) => p.data.from), ['gyre', 'centrifugo']);
      const presence = (await node.apiOk('presence', { channel: ch })).presence;
      assert.deepEqual(Object.keys(presence).sort(), [ctxg.client, ctxc.client].sort());
    }
  }
});

test('mixed cluster with redis_use_lists: one LIST history written by both, read and recovered on each', { skip }, async (t, scope) => {
  const ch = `chat:${uniq()}`;
  const r1 = await gyreLists.apiOk('publish', { channel: ch, data: { from: 'gyre' } });
  const r2 = await cfLists.apiOk('publish', { channel: ch, data: { from: 'centrifugo' } });
  assert.deepEqual([r1.offset, r2.offset, r2.epoch], [1, 2, r1.epoch]);
  for (const node of [gyreLists, cfLists]) {
    const h = await node.apiOk('history', { channel: ch, limit: -1 });
    assert.deepEqual([h.offset, h.epoch], [2, r1.epoch]);
    assert.deepEqual(h.publications.map((p) => [p.offset, p.data.from]), [[1, 'gyre'], [2, 'centrifugo']]);
    const since = await node.apiOk('history', { channel: ch, limit: 10, since: { offset: 1, epoch: r1.epoch } });
    assert.deepEqual(since.publications.map((p) => p.offset), [2]);
  }
  const rc = await RespClient.connect(redis.port);
  scope.defer(() => rc.close());
  const items = (await rc.call('LRANGE', `lists.list.${ch}`, '0', '-1')).map((b) => b.toString('latin1'));
  assert.deepEqual(items.map((v) => /^__p1:(\d+):(\d+)__/.exec(v)?.slice(1)), [['2', r1.epoch], ['1', r1.epoch]]);
  assert.equal(await rc.call('EXISTS', `lists.stream.${ch}`), 0);

  // Recovery both ways: a subscriber on one node misses publications made on the other.
  for (const [home, other] of [[gyreLists, cfLists], [cfLists, gyreLists]]) {
    const [c] = await connected(scope, home, 'u');
    const [sub, ctx] = await subscribed(c, ch);
    const at = ctx.streamPosition.offset;
    c.disconnect();
    await other.apiOk('publish', { channel: ch, data: { n: at + 1 } });
    await other.apiOk('publish', { channel: ch, data: { n: at + 2 } });
    const pubs = collect(sub, 'publication');
    const again = once(sub, 'subscribed', 5000);
    c.connect();
    const rctx = await again;
    assert.equal(rctx.recovered, true);
    await until(() => pubs.length === 2, 5000, 'recovered publications');
    assert.deepEqual(pubs.map((p) => [p.offset, p.data.n]), [[at + 1, at + 1], [at + 2, at + 2]]);
    c.disconnect();
  }
});

test('mixed cluster with global_redis_presence_user_mapping: one per-user mapping kept by both, stats equal', { skip }, async (t, scope) => {
  const ch = `chat:${uniq()}`;
  const rc = await RespClient.connect(redis.port);
  scope.defer(() => rc.close());
  const users = async () => {
    const flat = (await rc.call('HGETALL', `lists.presence.user.clients.${ch}`)).map(String);
    const out = {};
    for (let i = 0; i < flat.length; i += 2) out[flat[i]] = flat[i + 1];
    return out;
  };
  const [cg] = await connected(scope, gyreLists, 'alice');
  await subscribed(cg, ch);
  const [cc] = await connected(scope, cfLists, 'alice');
  const [sc] = await subscribed(cc, ch);
  const [cb] = await connected(scope, cfLists, 'bob');
  await subscribed(cb, ch);
  assert.deepEqual(await users(), { alice: '2', bob: '1' });
  for (const node of [gyreLists, cfLists]) {
    assert.deepEqual(await node.apiOk('presence_stats', { channel: ch }), { num_clients: 3, num_users: 2 });
  }
  // Centrifugo's connection leaves, then Gyre's: each removal is counted by the other's keys.
  sc.unsubscribe();
  await until(async () => (await users()).alice === '1', 5000, "alice's count down to 1");
  cg.disconnect();
  await until(async () => !('alice' in (await users())), 5000, 'alice gone from the mapping');
  for (const node of [gyreLists, cfLists]) {
    assert.deepEqual(await node.apiOk('presence_stats', { channel: ch }), { num_clients: 1, num_users: 1 });
  }
});
