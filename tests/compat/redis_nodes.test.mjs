// Node-to-node control over Redis (issue #12): two (and, per test, more) Gyre nodes on one
// real redis-server form a cluster as Centrifugo nodes do (controlpb messages on
// P.control / P.node.<id>): API info lists every node and forgets a killed one, channels
// surveys every node, API subscribe/unsubscribe/disconnect/refresh reach the user on the
// other node, /emulation requests reach the node holding the session, single connection
// works across nodes, and the clients of a SIGKILLed node reconnect elsewhere and recover.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createRequire } from 'node:module';
import {
  test, startServer, userToken, signJWT, nowSec, uniq, once, collect, until, rawConnected, httpRequest,
  Centrifuge, WebSocket,
} from './harness.mjs';
import { RedisServer, startGyreNodes, redisNodeConfig } from './redis_server.mjs';

const require = createRequire(import.meta.url);
const EventSource = require('eventsource');

const NS = [
  {
    name: 'chat', presence: true, join_leave: true, history_size: 100, history_ttl: '300s', force_recovery: true,
    allow_subscribe_for_client: true, allow_publish_for_subscriber: true, allow_history_for_subscriber: true,
  },
  { name: 'plain', allow_subscribe_for_client: true, allow_publish_for_subscriber: true },
];

let redis;
let a;
let b;
let aId;
let bId;

function nodeConfig(extra = {}) {
  return redisNodeConfig({ redis_address: redis.address }, NS, { http_stream: true, sse: true, ...extra });
}

async function infoNodes(server) {
  return (await server.apiOk('info', {})).nodes;
}

// Waits until `server`'s API info lists exactly the nodes `uids` (any order); returns them.
async function nodesAre(server, uids, timeoutMs = 15000, pred = () => true) {
  let nodes = [];
  await until(async () => {
    nodes = await infoNodes(server);
    const got = nodes.map((n) => n.uid).sort();
    return JSON.stringify(got) === JSON.stringify([...uids].sort()) && pred(nodes);
  }, timeoutMs, `info lists ${uids.join(', ')}`).catch(() => {});
  assert.deepEqual(nodes.map((n) => n.uid).sort(), [...uids].sort(), JSON.stringify(nodes));
  return nodes;
}

before(async () => {
  redis = await RedisServer.start();
  [a, b] = await startGyreNodes(2, [nodeConfig({ name: 'node-a' }), nodeConfig({ name: 'node-b' })]);
  aId = (await infoNodes(a))[0].uid;
  bId = (await infoNodes(b))[0].uid;
  await nodesAre(a, [aId, bId]);
  await nodesAre(b, [aId, bId]);
});
after(async () => {
  await a?.stop();
  await b?.stop();
  await redis?.stop();
});

// A TCP forwarder standing in for a load balancer: new connections go to `target`'s port.
async function balancer(scope, target) {
  const lb = { target, sockets: new Set() };
  const server = net.createServer((client) => {
    const upstream = net.connect(lb.target.port, '127.0.0.1');
    lb.sockets.add(client);
    lb.sockets.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  lb.port = server.address().port;
  lb.wsUrl = `ws://127.0.0.1:${lb.port}/connection/websocket`;
  scope.defer(async () => {
    for (const s of lb.sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  return lb;
}

function killNode(server) {
  server.proc.kill('SIGKILL');
  return server.handle.exitPromise;
}

test('info lists every node with its counts, as each node reported them', async (t, s) => {
  const ch = uniq('plain:i');
  const [c] = await rawConnected(s, b, userToken('info-user'));
  await c.call('subscribe', { channel: ch });
  const nodes = await nodesAre(a, [aId, bId], 15000, (ns) => ns.find((n) => n.uid === bId)?.num_subs === 1);
  const nb = nodes.find((n) => n.uid === bId);
  assert.equal(nb.name, 'node-b');
  assert.equal(nb.version, '0.1.0');
  assert.equal(nb.num_clients, 1);
  assert.equal(nb.num_users, 1);
  assert.equal(nb.num_channels, 1);
  assert.equal(nb.num_subs, 1);
  assert.ok(Number.isInteger(nb.uptime) && nb.uptime > 0, JSON.stringify(nb));
  const na = nodes.find((n) => n.uid === aId);
  assert.equal(na.name, 'node-a');
  assert.equal(na.num_clients, 0);
});

test('channels surveys every node: counts of both nodes are summed, the pattern applies everywhere', async (t, s) => {
  const p = uniq('x');
  const ch1 = `plain:${p}-1`;
  const ch2 = `plain:${p}-2`;
  const [ca] = await rawConnected(s, a, userToken('ch-a'));
  const [cb] = await rawConnected(s, b, userToken('ch-b'));
  const [cb2] = await rawConnected(s, b, userToken('ch-b2'));
  await ca.call('subscribe', { channel: ch1 });
  await cb.call('subscribe', { channel: ch1 });
  await cb.call('subscribe', { channel: ch2 });
  await cb2.call('subscribe', { channel: ch2 });
  const want = { channels: { [ch1]: { num_clients: 2 }, [ch2]: { num_clients: 2 } } };
  assert.deepEqual(await a.apiOk('channels', { pattern: `plain:${p}-*` }), want);
  assert.deepEqual(await b.apiOk('channels', { pattern: `plain:${p}-*` }), want);
  assert.deepEqual(await a.apiOk('channels', { pattern: ch2 }), { channels: { [ch2]: { num_clients: 2 } } });
});

test('API disconnect, unsubscribe, subscribe and refresh on node A reach a user connected to node B', async (t, s) => {
  const ch = uniq('chat:u');
  const user = uniq('u');
  const [c, r] = await rawConnected(s, b, userToken(user));
  await c.call('subscribe', { channel: ch });

  assert.deepEqual(await a.apiOk('unsubscribe', { user, channel: ch }), {});
  const un = await c.push((p) => p.unsubscribe);
  assert.deepEqual(un, { push: { channel: ch, unsubscribe: { code: 2000, reason: 'server unsubscribe' } } });

  const sch = uniq('chat:s');
  assert.deepEqual(await a.apiOk('subscribe', { user, channel: sch, data: { d: 1 } }), {});
  const sp = await c.push((p) => p.subscribe);
  assert.equal(sp.push.channel, sch);
  assert.deepEqual(sp.push.subscribe.data, { d: 1 });
  assert.equal(sp.push.subscribe.recoverable, true);
  await a.apiOk('publish', { channel: sch, data: { via: 'server-side' } });
  const pub = await c.push((p) => p.pub && p.channel === sch);
  assert.deepEqual(pub.push.pub.data, { via: 'server-side' });

  const exp = nowSec() + 600;
  assert.deepEqual(await a.apiOk('refresh', { user, expire_at: exp }), {});
  const rp = await c.push((p) => p.refresh);
  assert.equal(rp.push.refresh.expires, true);
  assert.ok(Math.abs(rp.push.refresh.ttl - 600) <= 3, JSON.stringify(rp));

  // A whitelisted client stays; a custom code reaches the other node as given.
  const [c2] = await rawConnected(s, b, userToken(user));
  assert.deepEqual(await a.apiOk('disconnect', { user, whitelist: [r.client] }), {});
  assert.deepEqual(await c2.waitClose(), { code: 3503, reason: 'force disconnect' });
  assert.ok((await c.call('rpc', { method: 'alive' })).id, 'reply after the disconnect');
  assert.ok(c.isOpen, 'whitelisted client must stay connected');
  assert.deepEqual(await a.apiOk('disconnect', { user, disconnect: { code: 4501, reason: 'custom bye' } }), {});
  assert.deepEqual(await c.waitClose(), { code: 4501, reason: 'custom bye' });

  const [c3] = await rawConnected(s, b, userToken(user));
  assert.deepEqual(await a.apiOk('refresh', { user, expired: true }), {});
  assert.deepEqual(await c3.waitClose(), { code: 3005, reason: 'connection expired' });
});

function emuSdk(scope, streamServer, emulationServer, transport, opts = {}) {
  const c = new Centrifuge([{ transport, endpoint: `${streamServer.base}/connection/${transport}` }], {
    emulationEndpoint: `${emulationServer.base}/emulation`,
    fetch: globalThis.fetch,
    readableStream: globalThis.ReadableStream,
    eventsource: EventSource,
    minReconnectDelay: 100,
    maxReconnectDelay: 1000,
    ...opts,
  });
  scope.defer(() => {
    try {
      c.disconnect();
    } catch {}
  });
  return c;
}

for (const transport of ['http_stream', 'sse']) {
  test(`${transport}: /emulation requests posted to node A reach the session held by node B`, async (t, s) => {
    const ch = uniq('chat:e');
    const c = emuSdk(s, b, a, transport, { token: userToken('emu') });
    const conn = once(c, 'connected', 8000);
    c.connect();
    await conn;
    const sub = c.newSubscription(ch);
    const subscribed = once(sub, 'subscribed', 8000);
    const pubs = collect(sub, 'publication');
    sub.subscribe();
    await subscribed;
    await sub.publish({ from: 'client' });
    await a.apiOk('publish', { channel: ch, data: { from: 'api' } });
    await until(() => pubs.length === 2, 8000, 'two publications');
    assert.deepEqual(pubs.map((p) => p.data), [{ from: 'client' }, { from: 'api' }]);
    const h = await sub.history({ limit: 10 });
    assert.deepEqual(h.publications.map((p) => p.data), [{ from: 'client' }, { from: 'api' }]);
  });
}

test('/emulation for a node outside the cluster is 404, for a gone session of a known node 204', async () => {
  const post = (node) => httpRequest(`${a.base}/emulation`, {
    method: 'POST', body: JSON.stringify({ node, session: 'nope', data: '{}' }),
  });
  assert.equal((await post('00000000-0000-4000-8000-000000000000')).status, 404);
  assert.equal((await post(bId)).status, 204);
});

test('user_personal_single_connection: a connection on node B closes the older one on node A (3504)', async (t, s) => {
  const extra = { user_subscribe_to_personal: true, user_personal_single_connection: true, presence: true };
  const x = await startServer(nodeConfig({ name: 'single-x', ...extra }));
  s.defer(() => x.stop());
  const y = await startServer(nodeConfig({ name: 'single-y', ...extra }));
  s.defer(() => y.stop());
  const yId = (await infoNodes(y))[0].uid;
  await until(async () => (await infoNodes(x)).some((n) => n.uid === yId), 15000, 'x knows y');
  const user = uniq('single');
  const [c1] = await rawConnected(s, x, userToken(user));
  const [c2] = await rawConnected(s, y, userToken(user));
  assert.deepEqual(await c1.waitClose(), { code: 3504, reason: 'connection limit' });
  assert.ok((await c2.call('rpc', { method: 'alive' })).id, 'the newest connection stays');
  assert.ok(c2.isOpen);
});

test('a SIGKILLed node: info forgets it, its SDK clients reconnect to another node and recover every publication', { timeout: 60000 }, async (t, s) => {
  const c3 = await startServer(nodeConfig({ name: 'node-c' }));
  s.defer(() => c3.stop());
  const cId = (await infoNodes(c3))[0].uid;
  await nodesAre(a, [aId, bId, cId]);

  const lb = await balancer(s, c3);
  const ch = uniq('chat:k');
  const client = new Centrifuge(lb.wsUrl, {
    websocket: WebSocket, minReconnectDelay: 100, maxReconnectDelay: 500, token: userToken('survivor'),
  });
  s.defer(() => client.disconnect());
  const connected = once(client, 'connected', 5000);
  client.connect();
  assert.equal((await connected).transport, 'websocket');
  const sub = client.newSubscription(ch);
  const subscribed = collect(sub, 'subscribed');
  const pubs = collect(sub, 'publication');
  sub.subscribe();
  await until(() => subscribed.length === 1, 5000, 'subscribed');
  for (let i = 1; i <= 3; i++) await a.apiOk('publish', { channel: ch, data: { n: i } });
  await until(() => pubs.length === 3, 5000, 'three live publications');

  lb.target = a; // the balancer sends the reconnect to node A
  await killNode(c3);
  for (let i = 4; i <= 8; i++) await b.apiOk('publish', { channel: ch, data: { n: i } });
  await until(() => subscribed.length === 2 && pubs.length === 8, 15000, 'resubscribed with the missed publications');
  assert.equal(subscribed[1].wasRecovering, true);
  assert.equal(subscribed[1].recovered, true);
  assert.deepEqual(pubs.map((p) => p.data.n), [1, 2, 3, 4, 5, 6, 7, 8]);
  await b.apiOk('publish', { channel: ch, data: { n: 9 } });
  await until(() => pubs.length === 9, 5000, 'live again on node A');

  // The killed node sent nothing more: the others forget it after ~7 s of silence.
  await nodesAre(a, [aId, bId], 20000);
  await nodesAre(b, [aId, bId], 20000);
});

test('a node stopped gracefully is forgotten at once (Shutdown command)', { timeout: 30000 }, async () => {
  const d = await startServer(nodeConfig({ name: 'node-d' }));
  const dId = (await infoNodes(d))[0].uid;
  await nodesAre(a, [aId, bId, dId]);
  await d.stop();
  // Well before the 7 s expiry: the info right after the stop no longer lists it.
  const nodes = await infoNodes(a);
  assert.deepEqual(nodes.map((n) => n.uid).sort(), [aId, bId].sort());
});

test('server-side subscriptions (token subs) recover through Redis while a publish storm runs: no deadlock, no loss', { timeout: 60000 }, async (t, s) => {
  const e = await startServer(nodeConfig({ name: 'node-e' }));
  s.defer(() => e.stop());
  const lb = await balancer(s, e);
  const channels = [uniq('chat:st'), uniq('chat:st'), uniq('chat:st')];
  const token = signJWT({ sub: 'storm', exp: nowSec() + 3600, subs: Object.fromEntries(channels.map((c) => [c, {}])) });
  const client = new Centrifuge(lb.wsUrl, {
    websocket: WebSocket, minReconnectDelay: 100, maxReconnectDelay: 500, token,
  });
  s.defer(() => client.disconnect());
  const got = Object.fromEntries(channels.map((c) => [c, []]));
  const subscribedEvents = [];
  client.on('publication', (ctx) => got[ctx.channel]?.push(ctx.data.n));
  client.on('subscribed', (ctx) => subscribedEvents.push(ctx));
  const connected = once(client, 'connected', 5000);
  client.connect();
  await connected;
  await until(() => subscribedEvents.length === 3, 5000, 'three server-side subscriptions');

  // The storm: every channel gets publications from two nodes the whole time.
  let n = 0;
  let storming = true;
  const storm = (async () => {
    while (storming) {
      n += 1;
      const k = n;
      await Promise.all(channels.map((c, i) => ((k + i) % 2 ? a : b).apiOk('publish', { channel: c, data: { n: k } })));
    }
  })();
  await until(() => channels.every((c) => got[c].length >= 20), 10000, 'storm delivered live');
  lb.target = b;
  await killNode(e);
  await until(() => subscribedEvents.length === 6, 20000, 'server-side subscriptions recovered on node B');
  await until(() => channels.every((c) => got[c].length >= n - 1), 10000, 'storm delivered after the reconnect');
  storming = false;
  await storm;
  // Every publication exactly once, in order, on every channel.
  await until(() => channels.every((c) => got[c].length === n), 10000, 'all storm publications');
  for (const c of channels) {
    assert.deepEqual(got[c], Array.from({ length: n }, (_, i) => i + 1), c);
  }
  for (const ev of subscribedEvents.slice(3)) {
    assert.equal(ev.wasRecovering, true, JSON.stringify(ev));
    assert.equal(ev.recovered, true, JSON.stringify(ev));
  }
  // No deadlock: the node that took the reconnect still answers.
  assert.ok(Array.isArray((await b.apiOk('info', {})).nodes));
});
