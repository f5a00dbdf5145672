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
} from './harness.mjs';
import { RedisServer, RedisCluster, RespClient, jumpShard, keySlot } from './redis_server.mjs';

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
    history_ttl: '300s', force_recovery: true, allow_subscribe_for_client: true,
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
    namespaces: NS,
  };
  gyre = await startServer(common);
  cf = await startCentrifugo(common);
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
});
after(async () => {
  await gyre?.stop();
  await cf?.stop();
  await gyreSharded?.stop();
  await cfSharded?.stop();
  await gyreCluster?.stop();
  await cfCluster?.stop();
  await cluster?.stop();
  await redis?.stop();
  await redis2?.stop();
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
