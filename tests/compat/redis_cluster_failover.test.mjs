// Redis Cluster failover (issue #12): three masters with a replica each (`redis-cli --cluster
// create --cluster-replicas 1`, cluster-node-timeout 1 s), two Gyre nodes given every node as
// a seed. The master serving the test channel's slot — also the first seed, where both Gyre
// nodes' PUB/SUB connections are — is SIGKILLed while a publisher publishes through both
// nodes and subscribers listen on both. The replica is promoted; the nodes refresh the slot
// map (connection loss / CLUSTERDOWN / the timer), resubscribe PUB/SUB elsewhere and keep
// delivering; API calls meanwhile answer error 100 (never hang); every publication answered
// OK is in the stream and reaches every subscriber (live, or recovered with
// `recovered: true`); /health is 200 again once the dead master is out of the map.
//
// Timing-heavy (a cluster failover): skipped under sanitizers (GYRE_SANITIZED).
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { test, uniq, until } from './harness.mjs';
import {
  RedisCluster, RespClient, keySlot, watchSubscription, startPublisher, connectedClient as connected,
  startGyreNodes, redisNodeConfig, assertNothingOkdLost,
} from './redis_server.mjs';

const skip = process.env.GYRE_SANITIZED ? 'timing-heavy fault test (GYRE_SANITIZED)' : false;
const NS = [
  {
    name: 'chat', history_size: 100, history_ttl: '300s', force_recovery: true,
    allow_subscribe_for_client: true,
  },
];
const IO_TIMEOUT_MS = 1000;

let cluster;
let a;
let b;

before(async () => {
  if (skip) return;
  cluster = await RedisCluster.start(3, { replicas: 1, nodeTimeout: 1000 });
  const cfg = redisNodeConfig({ redis_cluster_address: [cluster.seeds] }, NS, { redis_io_timeout: `${IO_TIMEOUT_MS}ms` });
  [a, b] = await startGyreNodes(2, cfg);
});
after(async () => {
  await a?.stop();
  await b?.stop();
  await cluster?.stop();
});

test('a killed master: its replica takes over, nodes follow and lose nothing OK\'d', { skip, timeout: 90000 }, async (t, scope) => {
  const first = cluster.nodes[0].port;
  // A channel served by the first seed (a master: redis-cli makes the first three masters).
  let ch;
  do ch = `chat:${uniq()}`; while ((await cluster.ownerOf(keySlot(`{${ch}}`))) !== first);
  const slot = keySlot(`{${ch}}`);
  const [, replicaPort] = await cluster.servers(slot);
  const survivor = cluster.nodes.find((s) => s.port !== first && s.port !== replicaPort).port;

  const [ca] = await connected(scope, a, 'alice');
  const [cb] = await connected(scope, b, 'bob');
  const watches = [await watchSubscription(ca, ch), await watchSubscription(cb, ch)];

  const publisher = startPublisher([a, b], ch, 3 * IO_TIMEOUT_MS);
  scope.defer(() => publisher.stop());
  const { oked } = publisher;
  await until(() => oked.length >= 5, 10000, 'publications before the kill');
  // Everything OK'd so far is on the replica (no write is lost by the promotion here; the
  // Sentinel test covers a lost write).
  await publisher.pause();
  assert.equal(await cluster.call(first, 'WAIT', '1', '5000'), 1);
  const beforeKill = oked.length;
  await cluster.nodes[0].stop(); // SIGKILL
  publisher.resume();

  await until(async () => (await cluster.ownerOf(slot, survivor)) === replicaPort, 30000, 'the replica promoted');
  await until(() => oked.length >= beforeKill + 6, 20000, 'publications after the failover');
  // Health is back once the dead master left the slot map and PUB/SUB is up on another node.
  const stream = await assertNothingOkdLost(t, { publisher, nodes: [a, b], channel: ch, watches, healthyWithinMs: 15000 });
  // The stream lives on the promoted replica, under the hash-tagged key.
  const raw = await RespClient.connect(replicaPort);
  scope.defer(() => raw.close());
  assert.equal(await raw.call('XLEN', `centrifugo.stream.{${ch}}`), stream.length);
});
