// Redis Sentinel (issue #12): a master, a replica and three Sentinels (redis-server
// --sentinel) on free loopback ports; two Gyre nodes find the master through the Sentinels,
// follow a failover (SENTINEL FAILOVER), resubscribe, deliver and recover honestly.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { test, uniq, once, collect, until } from './harness.mjs';
import {
  RedisServer, SentinelServer, RespClient, connectedClient as connected,
  subscribedTo as subscribed, startGyreNodes, redisNodeConfig,
} from './redis_server.mjs';

const NS = [
  {
    name: 'chat', presence: true, join_leave: true, history_size: 100, history_ttl: '300s',
    force_recovery: true, allow_subscribe_for_client: true,
  },
];
const MASTER = 'gyremaster';

let master;
let replica;
let sentinels = [];
let a;
let b;

async function call(port, ...args) {
  const c = await RespClient.connect(port);
  try {
    return await c.call(...args);
  } finally {
    c.close();
  }
}

async function masterPortOf(sentinel) {
  const r = await call(sentinel.port, 'SENTINEL', 'get-master-addr-by-name', MASTER);
  return Number(r[1].toString());
}

before(async () => {
  master = await RedisServer.start();
  replica = await RedisServer.start(undefined, ['--replicaof', '127.0.0.1', String(master.port)]);
  for (let i = 0; i < 3; i++) sentinels.push(await SentinelServer.start(MASTER, master.port));
  // The first Sentinel (the one Gyre asks first and the one told to fail over) must know the
  // replica before a failover can pick it.
  await until(async () => {
    const rs = await call(sentinels[0].port, 'SENTINEL', 'replicas', MASTER);
    return rs.length === 1;
  }, 15000, 'sentinel sees the replica');
  const cfg = redisNodeConfig({
    redis_sentinel_address: [sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')],
    redis_sentinel_master_name: MASTER, redis_client_name: 'gyre-test',
  }, NS);
  [a, b] = await startGyreNodes(2, cfg);
});
after(async () => {
  await a?.stop();
  await b?.stop();
  for (const s of sentinels) await s.stop();
  await replica?.stop();
  await master?.stop();
});

test('nodes find the master through Sentinel; connections carry redis_client_name', async (t, scope) => {
  const ch = `chat:${uniq()}`;
  const [cb] = await connected(scope, b, 'bob');
  const [sb] = await subscribed(cb, ch);
  const pubs = collect(sb, 'publication');
  const r = await a.apiOk('publish', { channel: ch, data: { n: 1 } });
  assert.equal(r.offset, 1);
  await until(() => pubs.length === 1, 5000, 'delivery across nodes');
  assert.equal(await call(master.port, 'EXISTS', `centrifugo.stream.${ch}`), 1);
  const clients = (await call(master.port, 'CLIENT', 'LIST')).toString();
  assert.match(clients, /name=gyre-test /);
});

test('SENTINEL FAILOVER: nodes follow the new master, deliver and recover', { timeout: 90000 }, async (t, scope) => {
  const ch = `chat:${uniq()}`;
  const [cb] = await connected(scope, b, 'bob');
  const [sb] = await subscribed(cb, ch);
  const pubs = collect(sb, 'publication');
  for (let i = 1; i <= 3; i++) await a.apiOk('publish', { channel: ch, data: { n: i } });
  await until(() => pubs.length === 3, 5000, 'three publications before the failover');
  const epoch = (await a.apiOk('history', { channel: ch, limit: 0 })).epoch;
  // The replica has everything before it is promoted.
  assert.equal(await call(master.port, 'WAIT', '1', '5000'), 1);

  assert.equal(await call(sentinels[0].port, 'SENTINEL', 'FAILOVER', MASTER), 'OK');
  await until(async () => (await masterPortOf(sentinels[0])) === replica.port, 30000, 'Sentinel names the new master');
  // Both nodes heard +switch-master from a Sentinel and moved at once.
  for (const node of [a, b]) {
    await until(() => node.handle.out.text().includes(`"switch_master":"${MASTER} 127.0.0.1 ${master.port} 127.0.0.1 ${replica.port}"`),
      10000, '+switch-master logged');
  }
  await until(async () => (await call(master.port, 'ROLE'))[0].toString() === 'slave', 30000,
    'the old master became a replica');

  // Both nodes move over by themselves: publications on A reach the subscriber on B.
  let n = 3;
  await until(async () => {
    const res = await a.api('publish', { channel: ch, data: { n: n + 1 } });
    if (res.json?.result) n++;
    return pubs.length > 3;
  }, 30000, 'delivery after the failover');
  await until(() => pubs.length === n, 5000, 'every acknowledged publication delivered');
  assert.deepEqual(pubs.map((p) => p.offset), Array.from({ length: n }, (_, i) => i + 1));
  assert.deepEqual(pubs.map((p) => p.data.n), Array.from({ length: n }, (_, i) => i + 1));
  // The stream lives on the new master now, same epoch, offsets continued.
  const entries = await call(replica.port, 'XRANGE', `centrifugo.stream.${ch}`, '-', '+');
  assert.equal(entries.length, n);
  const h = await b.apiOk('history', { channel: ch, limit: -1 });
  assert.equal(h.epoch, epoch);
  assert.equal(h.offset, n);

  // Recovery after the failover: B's client leaves, A publishes twice, it comes back.
  cb.disconnect();
  await a.apiOk('publish', { channel: ch, data: { n: n + 1 } });
  await a.apiOk('publish', { channel: ch, data: { n: n + 2 } });
  const again = once(sb, 'subscribed', 10000);
  cb.connect();
  const ctx = await again;
  assert.equal(ctx.wasRecovering, true);
  assert.equal(ctx.recovered, true);
  await until(() => pubs.length === n + 2, 5000, 'recovered publications');
  assert.deepEqual(pubs.slice(n).map((p) => [p.offset, p.data.n]), [[n + 1, n + 1], [n + 2, n + 2]]);
});
