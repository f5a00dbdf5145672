// The Redis engine (engine: "redis", issue #12): two Gyre nodes on one real redis-server,
// driven with the centrifuge SDK and the HTTP API; what Gyre writes to Redis is checked
// against Centrifugo v5.4.9's format (keys, stream entries, PUB/SUB framing, protobuf).
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { test, startServer, freePort, userToken, uniq, once, collect, until } from './harness.mjs';
import {
  RedisServer, RespClient, decodePublication, decodeClientInfo, watchSubscription, connectedClient as connected,
  subscribedTo as subscribed, startGyreNodes, redisNodeConfig,
} from './redis_server.mjs';

const NS = [
  {
    name: 'chat', presence: true, join_leave: true, force_push_join_leave: true, history_size: 10,
    history_ttl: '300s', force_recovery: true, allow_subscribe_for_client: true,
    allow_publish_for_subscriber: true, allow_presence_for_subscriber: true,
    allow_history_for_subscriber: true,
  },
  { name: 'plain', allow_subscribe_for_client: true },
  {
    name: 'dd', history_size: 10, history_ttl: '300s', force_recovery: true, allowed_delta_types: ['fossil'],
    allow_subscribe_for_client: true,
  },
];

let redis;
let a;
let b;

function nodeConfig(extra = {}) {
  return redisNodeConfig({ redis_address: redis.address }, NS, extra);
}

before(async () => {
  redis = await RedisServer.start();
  [a, b] = await startGyreNodes(2, nodeConfig());
});
after(async () => {
  await a?.stop();
  await b?.stop();
  await redis?.stop();
});

test('a publication made on node A reaches subscribers on A and on B', async (t, scope) => {
  const ch = `plain:${uniq()}`;
  const [ca] = await connected(scope, a, 'alice');
  const [cb] = await connected(scope, b, 'bob');
  const [sa] = await subscribed(ca, ch);
  const [sb] = await subscribed(cb, ch);
  const pa = collect(sa, 'publication');
  const pb = collect(sb, 'publication');
  for (let i = 1; i <= 3; i++) {
    assert.deepEqual(await a.apiOk('publish', { channel: ch, data: { n: i } }), {});
  }
  await b.apiOk('publish', { channel: ch, data: { n: 4 } });
  await until(() => pa.length === 4 && pb.length === 4, 5000, 'four publications on both nodes');
  assert.deepEqual(pa.map((p) => p.data.n), [1, 2, 3, 4]);
  assert.deepEqual(pb.map((p) => p.data.n), [1, 2, 3, 4]);
});

test('join, leave, presence and presence_stats span both nodes', async (t, scope) => {
  const ch = `chat:${uniq()}`;
  const [ca, ctxa] = await connected(scope, a, 'alice');
  const [sa] = await subscribed(ca, ch);
  const joins = collect(sa, 'join');
  const leaves = collect(sa, 'leave');
  const [cb, ctxb] = await connected(scope, b, 'bob');
  const [sb] = await subscribed(cb, ch);
  await until(() => joins.some((j) => j.info.client === ctxb.client), 5000, "bob's join on A");
  assert.equal(joins.find((j) => j.info.client === ctxb.client).info.user, 'bob');

  for (const node of [a, b]) {
    const presence = (await node.apiOk('presence', { channel: ch })).presence;
    assert.deepEqual(Object.keys(presence).sort(), [ctxa.client, ctxb.client].sort());
    assert.equal(presence[ctxa.client].user, 'alice');
    assert.equal(presence[ctxb.client].user, 'bob');
    assert.deepEqual(await node.apiOk('presence_stats', { channel: ch }), { num_clients: 2, num_users: 2 });
  }
  // The SDK's own presence call goes through node B's engine too.
  const viaSdk = await sb.presenceStats();
  assert.deepEqual({ c: viaSdk.numClients, u: viaSdk.numUsers }, { c: 2, u: 2 });

  sb.unsubscribe();
  await until(() => leaves.some((l) => l.info.client === ctxb.client), 5000, "bob's leave on A");
  assert.deepEqual(await a.apiOk('presence_stats', { channel: ch }), { num_clients: 1, num_users: 1 });
});

test('history and recovery go through Redis: a client recovers on B what A published', async (t, scope) => {
  const ch = `chat:${uniq()}`;
  for (let i = 1; i <= 3; i++) {
    const r = await a.apiOk('publish', { channel: ch, data: { n: i } });
    assert.equal(r.offset, i);
    assert.match(r.epoch, /^\d+$/); // Centrifugo's Redis epoch: Unix seconds of the stream's start
  }
  const h = await b.apiOk('history', { channel: ch, limit: -1 });
  assert.equal(h.offset, 3);
  assert.deepEqual(h.publications.map((p) => [p.offset, p.data.n]), [[1, 1], [2, 2], [3, 3]]);
  const epoch = h.epoch;
  const rev = await b.apiOk('history', { channel: ch, limit: 2, reverse: true });
  assert.deepEqual(rev.publications.map((p) => p.offset), [3, 2]);
  const since = await a.apiOk('history', { channel: ch, limit: 10, since: { offset: 1, epoch } });
  assert.deepEqual(since.publications.map((p) => p.offset), [2, 3]);

  // A client on B subscribes at offset 3, goes away; A publishes twice; it recovers on B.
  const [cb] = await connected(scope, b, 'bob');
  const [sb, ctx] = await subscribed(cb, ch);
  assert.equal(ctx.recoverable, true);
  assert.equal(ctx.streamPosition.offset, 3);
  assert.equal(ctx.streamPosition.epoch, epoch);
  cb.disconnect();
  await a.apiOk('publish', { channel: ch, data: { n: 4 } });
  await a.apiOk('publish', { channel: ch, data: { n: 5 } });
  const pubs = collect(sb, 'publication');
  const again = once(sb, 'subscribed', 5000);
  cb.connect();
  const rctx = await again;
  assert.equal(rctx.wasRecovering, true);
  assert.equal(rctx.recovered, true);
  await until(() => pubs.length === 2, 5000, 'recovered publications');
  assert.deepEqual(pubs.map((p) => [p.offset, p.data.n]), [[4, 4], [5, 5]]);

  await a.apiOk('history_remove', { channel: ch });
  const after = await b.apiOk('history', { channel: ch, limit: -1 });
  assert.deepEqual([after.offset, after.epoch, after.publications ?? []], [5, epoch, []]);
});

test('delta publications cross nodes: the SDK on B decodes every payload A published with delta', async (t, scope) => {
  const ch = `dd:${uniq()}`;
  const [cb] = await connected(scope, b, 'bob');
  const [sb, ctx] = await subscribed(cb, ch, { delta: 'fossil' });
  assert.equal(ctx.recoverable, true);
  const pubs = collect(sb, 'publication');
  const r = await RespClient.connect(redis.port);
  const listener = await RespClient.connect(redis.port);
  scope.defer(() => { r.close(); listener.close(); });
  await listener.call('SUBSCRIBE', `centrifugo.client.${ch}`);
  const payload = (i) => ({ text: 'lorem ipsum dolor sit amet '.repeat(8), i });
  for (let i = 1; i <= 4; i++) {
    await a.apiOk('publish', { channel: ch, data: payload(i), delta: true });
  }
  await until(() => pubs.length === 4, 5000, 'four delta publications');
  assert.deepEqual(pubs.map((p) => p.data), [1, 2, 3, 4].map(payload));
  // Redis carried "__d1:<offset>:<epoch>:<len>:<prev>:<len>:<pub>", the first with no previous.
  await until(() => listener.messages.length === 4, 5000, 'four __d1 messages');
  const second = listener.messages[1].data.toString('latin1');
  assert.match(second, /^__d1:2:\d+:\d+:/);
  assert.match(listener.messages[0].data.toString('latin1'), /^__d1:1:\d+:0::/);
});

test('idempotent publish through Redis returns the first result', async () => {
  const ch = `chat:${uniq()}`;
  const first = await a.apiOk('publish', { channel: ch, data: { x: 1 }, idempotency_key: 'k1' });
  const second = await b.apiOk('publish', { channel: ch, data: { x: 2 }, idempotency_key: 'k1' });
  assert.deepEqual(second, first);
  const h = await a.apiOk('history', { channel: ch, limit: -1 });
  assert.equal(h.publications.length, 1);
});

test("Gyre's Redis keys and PUB/SUB messages are Centrifugo v5.4.9's", async (t, scope) => {
  const ch = `chat:${uniq()}`;
  const r = await RespClient.connect(redis.port);
  const listener = await RespClient.connect(redis.port);
  scope.defer(() => { r.close(); listener.close(); });
  await listener.call('SUBSCRIBE', `centrifugo.client.${ch}`);

  const [cb, ctxb] = await connected(scope, b, 'bob');
  await subscribed(cb, ch); // presence entry and a __j__ message
  const pub = await a.apiOk('publish', { channel: ch, data: { hello: 'world' }, tags: { t: 'v' } });
  assert.equal(pub.offset, 1);

  // History meta: HASH {e: epoch, s: top offset}.
  const meta = await r.call('HGETALL', `centrifugo.stream.meta.${ch}`);
  const metaObj = {};
  for (let i = 0; i < meta.length; i += 2) metaObj[meta[i].toString()] = meta[i + 1].toString();
  assert.deepEqual(metaObj, { e: pub.epoch, s: '1' });
  assert.ok((await r.call('TTL', `centrifugo.stream.meta.${ch}`)) > 0);
  // Stream: entry id <offset>-0, one field "d" = protobuf Publication without offset.
  assert.equal((await r.call('TYPE', `centrifugo.stream.${ch}`)), 'stream');
  const entries = await r.call('XRANGE', `centrifugo.stream.${ch}`, '-', '+');
  assert.equal(entries.length, 1);
  assert.equal(entries[0][0].toString(), '1-0');
  assert.equal(entries[0][1].length, 2);
  assert.equal(entries[0][1][0].toString(), 'd');
  const stored = decodePublication(entries[0][1][1]);
  assert.equal(stored.data, '{"hello":"world"}');
  assert.deepEqual(stored.tags, { t: 'v' });
  assert.equal(stored.offset, 0n);
  assert.ok(stored.time > 0n);
  const ttl = await r.call('TTL', `centrifugo.stream.${ch}`);
  assert.ok(ttl > 290 && ttl <= 300, `stream TTL ${ttl}`);

  // Presence: HASH client -> ClientInfo, ZSET client -> expire-at (Unix s, now + 60).
  const data = await r.call('HGETALL', `centrifugo.presence.data.${ch}`);
  assert.equal(data.length, 2);
  assert.equal(data[0].toString(), ctxb.client);
  assert.deepEqual(decodeClientInfo(data[1]), { user: 'bob', client: ctxb.client, conn_info: '', chan_info: '' });
  const score = Number((await r.call('ZSCORE', `centrifugo.presence.expire.${ch}`, ctxb.client)).toString());
  const now = Math.floor(Date.now() / 1000);
  assert.ok(score >= now + 55 && score <= now + 61, `presence expire-at ${score} vs now ${now}`);

  // PUB/SUB: "__j__" + ClientInfo, then "__p1:<offset>:<epoch>__" + Publication.
  await until(() => listener.messages.length >= 2, 5000, 'two PUB/SUB messages');
  const [join, p1] = listener.messages;
  assert.equal(join.channel, `centrifugo.client.${ch}`);
  assert.equal(join.data.subarray(0, 5).toString(), '__j__');
  assert.deepEqual(decodeClientInfo(join.data.subarray(5)).user, 'bob');
  const head = `__p1:1:${pub.epoch}__`;
  assert.equal(p1.data.subarray(0, head.length).toString(), head);
  assert.deepEqual(p1.data.subarray(head.length), entries[0][1][1]);

  // Idempotency result: HASH {e, s}, TTL 300 s.
  await a.apiOk('publish', { channel: ch, data: {}, idempotency_key: 'abc' });
  const res = await r.call('HGETALL', `centrifugo.result.${ch}.abc`);
  assert.deepEqual(res.map(String), ['e', pub.epoch, 's', '2']);
  const rttl = await r.call('TTL', `centrifugo.result.${ch}.abc`);
  assert.ok(rttl > 290 && rttl <= 300);

  // Without history: the bare protobuf Publication.
  const plain = `plain:${uniq()}`;
  await listener.call('SUBSCRIBE', `centrifugo.client.${plain}`);
  const before = listener.messages.length;
  await a.apiOk('publish', { channel: plain, data: [1, 2] });
  await until(() => listener.messages.length > before, 5000, 'bare publication');
  const bare = listener.messages[before];
  assert.equal(bare.channel, `centrifugo.client.${plain}`);
  assert.equal(decodePublication(bare.data).data, '[1,2]');
});

test('a message published into Redis by another node (Centrifugo framing) is delivered', async (t, scope) => {
  // What a Centrifugo node would PUBLISH: "__p1:<offset>:<epoch>__" + Publication{data=4}.
  const ch = `plain:${uniq()}`;
  const [cb] = await connected(scope, b, 'bob');
  const [sb] = await subscribed(cb, ch);
  const pubs = collect(sb, 'publication');
  const r = await RespClient.connect(redis.port);
  scope.defer(() => r.close());
  const body = Buffer.from('{"from":"centrifugo"}');
  const pb = Buffer.concat([Buffer.from([0x22, body.length]), body]);
  assert.equal(await r.call('PUBLISH', `centrifugo.client.${ch}`, pb), 1);
  await until(() => pubs.length === 1, 5000, 'foreign publication');
  assert.deepEqual(pubs[0].data, { from: 'centrifugo' });
});

test('Redis restart: the API answers 100 while it is down; nodes reconnect, resubscribe and deliver', { timeout: 40000 }, async (t, scope) => {
  const ch = `plain:${uniq()}`;
  const [cb] = await connected(scope, b, 'bob');
  const [sb] = await subscribed(cb, ch);
  const pubs = collect(sb, 'publication');

  await redis.stop();
  // A hang would fail here: the harness's HTTP calls give up after 8 s.
  const r = await a.api('publish', { channel: ch, data: { down: true } });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { error: { code: 100, message: 'internal server error' } });
  assert.deepEqual((await b.api('history', { channel: `chat:${uniq()}`, limit: 1 })).json,
    { error: { code: 100, message: 'internal server error' } });

  await redis.restart();
  // Until both nodes are back: publish until the subscriber on B gets one.
  await until(async () => {
    const res = await a.api('publish', { channel: ch, data: { up: true } });
    return res.json?.result !== undefined && pubs.length > 0;
  }, 15000, 'delivery after the restart');
  assert.deepEqual(pubs[0].data, { up: true });
  assert.equal(cb.state, 'connected');
});

test('Redis restart with data loss: recoverable subscribers get insufficient state, then recovered: false', { timeout: 40000 }, async (t, scope) => {
  const ch = `chat:${uniq()}`;
  const [ca] = await connected(scope, a, 'alice');
  const [cb] = await connected(scope, b, 'bob');
  const watches = [await watchSubscription(ca, ch), await watchSubscription(cb, ch)];
  for (let n = 1; n <= 2; n++) await a.apiOk('publish', { channel: ch, data: { n } });
  await until(() => watches.every((w) => w.pubs.length === 2), 5000, 'publications 1, 2');
  const { epoch } = await a.apiOk('history', { channel: ch, limit: 0 });

  await redis.restart(); // same port, empty data set: the stream and its epoch are gone
  for (const node of [a, b]) {
    await until(async () => (await node.health()).status === 200, 15000, 'node back on Redis');
  }
  // The stream starts again at offset 1. Its epoch is the Unix second of the first write
  // (as Centrifugo's), so within the same second as the old one it is the same epoch: the
  // nodes see offset 1 after 2 and move the stream to a new epoch themselves. Either way no
  // subscriber may take it for a continuation of the old stream.
  const first = await b.apiOk('publish', { channel: ch, data: { n: 'new 1' } });
  assert.equal(first.offset, 1);
  for (const w of watches) {
    await until(() => w.subscribed.length === 2, 10000, 'resubscribed after insufficient state');
  }
  const now = await a.apiOk('history', { channel: ch, limit: 0 });
  assert.notEqual(now.epoch, epoch);
  assert.equal(now.offset, 1);
  for (const w of watches) {
    assert.deepEqual(w.subscribing.slice(1).map((c) => [c.code, c.reason]), [[2500, 'insufficient state']]);
    assert.equal(w.subscribed[1].wasRecovering, true);
    assert.equal(w.subscribed[1].recovered, false);
    assert.deepEqual(w.subscribed[1].streamPosition, { offset: 1, epoch: now.epoch });
  }
  const second = await a.apiOk('publish', { channel: ch, data: { n: 'new 2' } });
  assert.deepEqual(second, { offset: 2, epoch: now.epoch });
  for (const w of watches) {
    await until(() => w.pubs.length === 3, 5000, 'live in the new epoch');
    assert.deepEqual(w.pubs.map((p) => [p.offset, p.data.n]), [[1, 1], [2, 2], [2, 'new 2']]);
  }
});

test('a node started before Redis answers 100, then serves once Redis is up', { timeout: 40000 }, async (t, scope) => {
  const port = await freePort();
  const node = await startServer({
    engine: 'redis', redis_address: `127.0.0.1:${port}`, redis_io_timeout: '1s', redis_connect_timeout: '500ms',
    api_key: 'k', token_hmac_secret_key: 'secret', namespaces: NS,
    health_engine_check: false,  // /health would answer 503 until Redis is up (docs/operations.md)
  });
  scope.defer(() => node.stop());
  assert.deepEqual((await node.api('publish', { channel: 'plain:x', data: {} })).json,
    { error: { code: 100, message: 'internal server error' } });
  // A subscription attempted meanwhile fails (3004, the SDK retries) and succeeds later.
  const c = scope.sdk(node, { token: userToken('carol') });
  const sub = c.newSubscription(`plain:${uniq()}`);
  const subscribedP = once(sub, 'subscribed', 30000);
  c.connect();
  sub.subscribe();
  const late = await RedisServer.start(port);
  scope.defer(() => late.stop());
  await subscribedP;
  await until(async () => (await node.api('publish', { channel: sub.channel, data: { ok: 1 } })).json?.result, 15000,
    'publish after Redis started');
});
