// Tests driving the real server with the official centrifuge-js SDK (npm "centrifuge" v5, over ws).
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  test, startServer, TOKENS, userToken, signJWT, uniq, sleep, once, collect, until, rejects, withTimeout,
} from './harness.mjs';

const NS = [
  {
    name: 'chat', presence: true, join_leave: true, force_push_join_leave: true, history_size: 10, history_ttl: '300s',
    allow_subscribe_for_client: true, allow_publish_for_subscriber: true, allow_presence_for_subscriber: true,
    allow_history_for_subscriber: true,
  },
  {
    name: 'rec', history_size: 10, history_ttl: '300s', force_recovery: true, allow_subscribe_for_client: true,
    allow_history_for_subscriber: true,
  },
  { name: 'ro', allow_subscribe_for_client: true },
  { name: 'closed' },
  {
    name: 'anon', presence: true, allow_subscribe_for_client: true, allow_subscribe_for_anonymous: true,
    allow_publish_for_client: true, allow_presence_for_client: true,
  },
  { name: 'anonpub', allow_subscribe_for_client: true, allow_subscribe_for_anonymous: true, allow_publish_for_client: true, allow_publish_for_anonymous: true },
  { name: 'news', allow_subscribe_for_client: true },
];

let srv; // tokens required; anonymous allowed without token (for permission tests)
let insecure; // client_insecure

before(async () => {
  srv = await startServer({
    api_key: 'k', token_hmac_secret_key: 'secret', allow_anonymous_connect_without_token: true, namespaces: NS,
  });
  insecure = await startServer({
    api_key: 'k', client_insecure: true,
    namespaces: [{ name: 'chat', presence: true, history_size: 10, history_ttl: '300s' }],
  });
});
after(async () => {
  if (srv) await srv.stop();
  if (insecure) await insecure.stop();
});

async function connected(scope, server, opts) {
  const c = scope.sdk(server, opts);
  const p = once(c, 'connected', 5000);
  c.connect();
  const ctx = await p;
  return [c, ctx];
}

async function subscribed(client, channel, opts = {}) {
  const sub = client.newSubscription(channel, opts);
  const p = once(sub, 'subscribed', 5000);
  sub.subscribe();
  const ctx = await p;
  return [sub, ctx];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

test('harness self-check: our HS256 signer reproduces the worked tokens', () => {
  assert.equal(signJWT({ sub: '42', exp: 4102444800, info: { name: 'Alice' } }), TOKENS.A);
  assert.equal(signJWT({ sub: '42', exp: 1000000000 }), TOKENS.C);
  assert.equal(signJWT({ sub: '42' }, { alg: 'HS512' }), TOKENS.B512);
});

test('connect with Example A token: connected ctx has client id and transport websocket', async (t, s) => {
  const [c, ctx] = await connected(s, srv, { token: TOKENS.A });
  assert.match(ctx.client, UUID);
  assert.equal(ctx.transport, 'websocket');
  assert.equal(c.state, 'connected');
});

test('connect with self-signed HS256/HS384/HS512 tokens', async (t, s) => {
  for (const alg of ['HS256', 'HS384', 'HS512']) {
    const tok = signJWT({ sub: `u-${alg}`, exp: Math.floor(Date.now() / 1000) + 3600 }, { alg });
    const [c, ctx] = await connected(s, srv, { token: tok });
    assert.match(ctx.client, UUID, alg);
    c.disconnect();
  }
});

test('connect with getToken only', async (t, s) => {
  let calls = 0;
  const [, ctx] = await connected(s, srv, { getToken: async () => { calls++; return userToken(42); } });
  assert.match(ctx.client, UUID);
  assert.equal(calls, 1);
});

test('anonymous connect with client_insecure; subscribe/publish/presence/history all allowed', async (t, s) => {
  const [c, ctx] = await connected(s, insecure, {});
  assert.match(ctx.client, UUID);
  const ch = uniq('chat:');
  const [sub] = await subscribed(c, ch);
  const pubP = once(sub, 'publication');
  await withTimeout(sub.publish({ anon: true }), 5000, 'publish');
  const pub = await pubP;
  assert.deepEqual(pub.data, { anon: true });
  assert.equal(pub.info.user, '');
  assert.equal(pub.info.client, ctx.client);
  const stats = await sub.presenceStats();
  assert.deepEqual(stats, { numClients: 1, numUsers: 1 });
  const hist = await sub.history({ limit: 10 });
  assert.equal(hist.publications.length, 1);
});

test('expired token (Example C) → connect error 109, SDK calls getToken and connects', async (t, s) => {
  let calls = 0;
  const c = s.sdk(srv, { token: TOKENS.C, getToken: async () => { calls++; return userToken(42); } });
  const errors = collect(c, 'error');
  const p = once(c, 'connected', 8000);
  c.connect();
  await p;
  assert.equal(calls, 1, 'getToken must be called exactly once after 109');
  const connectErr = errors.find((e) => e.type === 'connect');
  assert.ok(connectErr, `expected a connect error event, got ${JSON.stringify(errors)}`);
  assert.equal(connectErr.error.code, 109);
  assert.equal(connectErr.error.message, 'token expired');
});

test('invalid signature → disconnected with code 3500, no reconnect', async (t, s) => {
  const bad = signJWT({ sub: '42', exp: 4102444800, info: { name: 'Alice' } }, { secret: 'wrong' });
  const c = s.sdk(srv, { token: bad });
  const connecting = collect(c, 'connecting');
  const p = once(c, 'disconnected', 5000);
  c.connect();
  const ctx = await p;
  assert.deepEqual(ctx, { code: 3500, reason: 'invalid token' });
  await sleep(800);
  assert.equal(c.state, 'disconnected');
  assert.equal(connecting.length, 1, 'only the initial connecting event');
});

test('subscribe, publish from client and receive own publication (with info and offset)', async (t, s) => {
  const [c, ctx] = await connected(s, srv, { token: TOKENS.A });
  const ch = uniq('chat:');
  const [sub, sctx] = await subscribed(c, ch);
  assert.equal(sctx.channel, ch);
  assert.equal(sctx.wasRecovering, false);
  const pubP = once(sub, 'publication');
  const res = await withTimeout(sub.publish({ text: 'hello' }), 5000, 'publish');
  assert.deepEqual(res, {});
  const pub = await pubP;
  assert.equal(pub.channel, ch);
  assert.deepEqual(pub.data, { text: 'hello' });
  assert.equal(pub.offset, 1);
  assert.deepEqual(pub.info, { client: ctx.client, user: '42', connInfo: { name: 'Alice' } });
});

test('API publish is received by the subscriber with exact data; tags delivered', async (t, s) => {
  const [c] = await connected(s, srv, { token: userToken(42) });
  const ch = uniq('chat:');
  const [sub] = await subscribed(c, ch);
  const pubs = collect(sub, 'publication');
  const data = { text: 'hi', n: 1, nested: { arr: [1, 2, 'x'], t: true, z: null }, uni: 'привет <&>' };
  const r = await srv.apiOk('publish', { channel: ch, data, tags: { k: 'v' } });
  assert.equal(r.offset, 1);
  assert.equal(typeof r.epoch, 'string');
  await until(() => pubs.length === 1, 5000, 'publication');
  assert.deepEqual(pubs[0].data, data);
  assert.deepEqual(pubs[0].tags, { k: 'v' });
  assert.equal(pubs[0].info, undefined, 'API publications carry no info');
  assert.equal(pubs[0].offset, 1);
});

test('presence and presence_stats: num_users counts distinct users', async (t, s) => {
  const ch = uniq('chat:');
  const [a1, a1ctx] = await connected(s, srv, { token: TOKENS.A });
  const [a2, a2ctx] = await connected(s, srv, { token: userToken(42) });
  const [b, bctx] = await connected(s, srv, { token: userToken(43) });
  const [sa1] = await subscribed(a1, ch);
  await subscribed(a2, ch);
  await subscribed(b, ch);
  const stats = await sa1.presenceStats();
  assert.deepEqual(stats, { numClients: 3, numUsers: 2 });
  const raw = await sa1.presence();
  // JS adds connInfo/chanInfo next to the wire fields; compare the SDK view.
  const pres = { clients: Object.fromEntries(Object.entries(raw.clients).map(([k, v]) => [k, { client: v.client, user: v.user, ...(v.connInfo ? { connInfo: v.connInfo } : {}) }])) };
  assert.deepEqual(pres, {
    clients: {
      [a1ctx.client]: { client: a1ctx.client, user: '42', connInfo: { name: 'Alice' } },
      [a2ctx.client]: { client: a2ctx.client, user: '42' },
      [bctx.client]: { client: bctx.client, user: '43' },
    },
  });
  // After b disconnects presence shrinks.
  b.disconnect();
  await until(async () => (await sa1.presenceStats()).numClients === 2, 5000, 'presence to shrink');
  assert.deepEqual(await sa1.presenceStats(), { numClients: 2, numUsers: 1 });
});

test('history with limit / reverse / since', async (t, s) => {
  const ch = uniq('chat:');
  const [c] = await connected(s, srv, { token: userToken(42) });
  const [sub] = await subscribed(c, ch);
  for (let i = 1; i <= 5; i++) await srv.apiOk('publish', { channel: ch, data: { i } });
  const top = await sub.history();
  assert.deepEqual(top.publications, []);
  assert.equal(top.offset, 5);
  assert.equal(typeof top.epoch, 'string');
  const E = top.epoch;
  const first2 = await sub.history({ limit: 2 });
  assert.deepEqual(first2.publications.map((p) => [p.offset, p.data.i]), [[1, 1], [2, 2]]);
  assert.equal(first2.offset, 5);
  const last2 = await sub.history({ limit: 2, reverse: true });
  assert.deepEqual(last2.publications.map((p) => p.offset), [5, 4]);
  const since = await sub.history({ limit: 10, since: { offset: 3, epoch: E } });
  assert.deepEqual(since.publications.map((p) => p.offset), [4, 5]);
  assert.equal(since.epoch, E);
  const sinceRev = await sub.history({ limit: 10, since: { offset: 3, epoch: E }, reverse: true });
  assert.deepEqual(sinceRev.publications.map((p) => p.offset), [2, 1]);
  const err = await rejects(sub.history({ limit: 1, since: { offset: 1, epoch: 'xxxx' } }));
  assert.equal(err.code, 112);
});

test('recovery after reconnect: subscribed ctx wasRecovering+recovered and missed publication delivered', async (t, s) => {
  const ch = uniq('rec:');
  const [c] = await connected(s, srv, { token: userToken(42) });
  const sub = c.newSubscription(ch);
  const subscribedEvents = collect(sub, 'subscribed');
  const pubs = collect(sub, 'publication');
  sub.subscribe();
  await until(() => subscribedEvents.length === 1, 5000, 'first subscribed');
  assert.equal(subscribedEvents[0].recoverable, true);
  assert.equal(subscribedEvents[0].positioned, true);
  assert.equal(subscribedEvents[0].wasRecovering, false);
  await srv.apiOk('publish', { channel: ch, data: { n: 1 } });
  await until(() => pubs.length === 1, 5000, 'live publication');
  c.disconnect();
  assert.equal(c.state, 'disconnected');
  await sleep(200);
  await srv.apiOk('publish', { channel: ch, data: { n: 2, missed: true } });
  await srv.apiOk('publish', { channel: ch, data: { n: 3, missed: true } });
  c.connect();
  await until(() => subscribedEvents.length === 2, 5000, 'resubscribed');
  const ctx = subscribedEvents[1];
  assert.equal(ctx.wasRecovering, true);
  assert.equal(ctx.recovered, true);
  assert.equal(ctx.hasRecoveredPublications, true);
  assert.equal(ctx.streamPosition.epoch, subscribedEvents[0].streamPosition.epoch);
  await until(() => pubs.length === 3, 5000, 'recovered publications');
  assert.deepEqual(pubs.map((p) => [p.offset, p.data.n]), [[1, 1], [2, 2], [3, 3]]);
  // Live delivery continues after recovery without duplicates.
  await srv.apiOk('publish', { channel: ch, data: { n: 4 } });
  await until(() => pubs.length === 4, 5000, 'live after recovery');
  // A sentinel publication: delivery is ordered, so a duplicate of 1-4 would come before it.
  await srv.apiOk('publish', { channel: ch, data: { n: 5 } });
  await until(() => pubs.some((p) => p.offset === 5), 5000, 'sentinel');
  assert.deepEqual(pubs.map((p) => p.offset), [1, 2, 3, 4, 5]);
});

test('rpc → error 108 not available', async (t, s) => {
  const [c] = await connected(s, srv, { token: userToken(42) });
  const err = await rejects(c.rpc('anything', { a: 1 }));
  assert.equal(err.code, 108);
  assert.equal(err.message, 'not available');
});

test('unknown namespace subscribe → unsubscribed with code 102', async (t, s) => {
  const [c] = await connected(s, srv, { token: userToken(42) });
  const sub = c.newSubscription('nosuchns:room');
  const p = once(sub, 'unsubscribed');
  sub.subscribe();
  const ctx = await p;
  assert.deepEqual(ctx, { channel: 'nosuchns:room', code: 102, reason: 'unknown channel' });
  assert.equal(sub.state, 'unsubscribed');
  assert.equal(c.state, 'connected');
});

test('$ channel without token → unsubscribed 103; with Example D subscription token → subscribed', async (t, s) => {
  const [c] = await connected(s, srv, { token: TOKENS.A });
  const sub = c.newSubscription('$gossips');
  const p = once(sub, 'unsubscribed');
  sub.subscribe();
  assert.deepEqual(await p, { channel: '$gossips', code: 103, reason: 'permission denied' });
  c.removeSubscription(sub);
  const [sub2, ctx] = await subscribed(c, '$gossips', { token: TOKENS.D });
  assert.equal(ctx.channel, '$gossips');
  assert.equal(sub2.state, 'subscribed');
});

test('subscription token via getToken; expired sub token (109) → SDK fetches a new one', async (t, s) => {
  const [c] = await connected(s, srv, { token: userToken(42) });
  let calls = 0;
  const sub = c.newSubscription('$private', {
    token: signJWT({ sub: '42', channel: '$private', exp: 1000000000 }),
    getToken: async () => { calls++; return signJWT({ sub: '42', channel: '$private', exp: Math.floor(Date.now() / 1000) + 600 }); },
  });
  const errors = collect(sub, 'error');
  const p = once(sub, 'subscribed', 8000);
  sub.subscribe();
  await p;
  assert.equal(calls, 1);
  assert.ok(errors.some((e) => e.error.code === 109), `expected 109 error, got ${JSON.stringify(errors)}`);
});

test('permissions: subscribe denied without allow_subscribe_for_client → 103', async (t, s) => {
  const [c] = await connected(s, srv, { token: userToken(42) });
  const sub = c.newSubscription('closed:x');
  const p = once(sub, 'unsubscribed');
  sub.subscribe();
  assert.deepEqual(await p, { channel: 'closed:x', code: 103, reason: 'permission denied' });
});

test('permissions: allow_publish_for_subscriber needs a subscription; read-only namespace → 103', async (t, s) => {
  const [c] = await connected(s, srv, { token: userToken(42) });
  const ch = uniq('chat:');
  const e1 = await rejects(c.publish(ch, { x: 1 }));
  assert.equal(e1.code, 103);
  assert.equal(e1.message, 'permission denied');
  const [sub] = await subscribed(c, ch);
  assert.deepEqual(await sub.publish({ x: 1 }), {});
  const [ro] = await subscribed(c, uniq('ro:'));
  const e2 = await rejects(ro.publish({ x: 1 }));
  assert.equal(e2.code, 103);
  // presence without presence enabled → 108; history without history → 108
  const e3 = await rejects(ro.presence());
  assert.equal(e3.code, 108);
  const e4 = await rejects(ro.history({ limit: 1 }));
  assert.equal(e4.code, 108);
  // presence allowed only for subscribers in chat
  const e5 = await rejects(c.presence(uniq('chat:')));
  assert.equal(e5.code, 103);
});

test('permissions: anonymous flags (allow_*_for_anonymous)', async (t, s) => {
  const [c, ctx] = await connected(s, srv, {}); // anonymous: allow_anonymous_connect_without_token
  assert.match(ctx.client, UUID);
  // chat allows subscribe for clients, not anonymous
  const sub = c.newSubscription(uniq('chat:'));
  const p = once(sub, 'unsubscribed');
  sub.subscribe();
  assert.equal((await p).code, 103);
  // anon allows subscribe for anonymous, publish only for authenticated clients
  const [asub] = await subscribed(c, uniq('anon:'));
  const e = await rejects(asub.publish({ x: 1 }));
  assert.equal(e.code, 103);
  const e2 = await rejects(asub.presence());
  assert.equal(e2.code, 103, 'presence for anonymous needs allow_presence_for_anonymous');
  // anonpub allows anonymous publish
  const [psub] = await subscribed(c, uniq('anonpub:'));
  assert.deepEqual(await psub.publish({ x: 1 }), {});
  // presence_stats counts the anonymous user "" as one user
  const [c2] = await connected(s, srv, {});
  const ch = uniq('anon:');
  await subscribed(c, ch);
  await subscribed(c2, ch);
  const st = await srv.apiOk('presence_stats', { channel: ch });
  assert.deepEqual(st, { num_clients: 2, num_users: 1 });
});

test('join/leave events with join_leave + force_push_join_leave', async (t, s) => {
  const ch = uniq('chat:');
  const [a] = await connected(s, srv, { token: userToken(1) });
  const [sa] = await subscribed(a, ch);
  const joins = collect(sa, 'join');
  const leaves = collect(sa, 'leave');
  const [b, bctx] = await connected(s, srv, { token: TOKENS.A });
  const [sb] = await subscribed(b, ch);
  await until(() => joins.some((j) => j.info.client === bctx.client), 5000, 'join of b');
  const j = joins.find((x) => x.info.client === bctx.client);
  assert.deepEqual(j, { channel: ch, info: { client: bctx.client, user: '42', connInfo: { name: 'Alice' } } });
  sb.unsubscribe();
  await until(() => leaves.some((l) => l.info.client === bctx.client), 5000, 'leave of b');
  assert.deepEqual(leaves[0], { channel: ch, info: { client: bctx.client, user: '42', connInfo: { name: 'Alice' } } });
  // leave on disconnect too
  sb.subscribe();
  await once(sb, 'subscribed');
  b.disconnect();
  await until(() => leaves.length === 2, 5000, 'leave on disconnect');
});

test('server API unsubscribe → unsubscribe push 2000 → SDK subscription unsubscribed, no resubscribe', async (t, s) => {
  const [c] = await connected(s, srv, { token: userToken(4242) });
  const ch = uniq('chat:');
  const [sub] = await subscribed(c, ch);
  const p = once(sub, 'unsubscribed');
  assert.deepEqual(await srv.apiOk('unsubscribe', { user: '4242', channel: ch }), {});
  assert.deepEqual(await p, { channel: ch, code: 2000, reason: 'server unsubscribe' });
  await sleep(700);
  assert.equal(sub.state, 'unsubscribed');
  assert.deepEqual(await srv.apiOk('presence_stats', { channel: ch }), { num_clients: 0, num_users: 0 });
  // The client can subscribe again right away (no spurious 105).
  sub.subscribe();
  await once(sub, 'subscribed');
});

test('server API disconnect → disconnected code 3503 "force disconnect", no reconnect', async (t, s) => {
  const [c] = await connected(s, srv, { token: userToken(5150) });
  const p = once(c, 'disconnected');
  assert.deepEqual(await srv.apiOk('disconnect', { user: '5150' }), {});
  assert.deepEqual(await p, { code: 3503, reason: 'force disconnect' });
  await sleep(1000);
  assert.equal(c.state, 'disconnected');
});

test('server API disconnect with reconnect code 4000 → SDK reconnects', async (t, s) => {
  const [c] = await connected(s, srv, { token: userToken(5151) });
  const p = once(c, 'connecting');
  await srv.apiOk('disconnect', { user: '5151', disconnect: { code: 4000, reason: 'come back' } });
  assert.deepEqual(await p, { code: 4000, reason: 'come back' });
  await once(c, 'connected', 5000);
});

test('server API subscribe → server-side subscription: client "subscribed" with the channel, then publications', async (t, s) => {
  const [c] = await connected(s, srv, { token: userToken(6060) });
  const ch = uniq('news:');
  const p = once(c, 'subscribed', 5000, (ctx) => ctx.channel === ch);
  assert.deepEqual(await srv.apiOk('subscribe', { user: '6060', channel: ch, data: { hello: 1 } }), {});
  const ctx = await p;
  assert.equal(ctx.channel, ch);
  assert.deepEqual(ctx.data, { hello: 1 });
  const pub = once(c, 'publication', 5000, (x) => x.channel === ch);
  await srv.apiOk('publish', { channel: ch, data: { srv: true } });
  assert.deepEqual((await pub).data, { srv: true });
  // A client-side subscribe to the same channel → 105.
  const sub = c.newSubscription(ch);
  const un = once(sub, 'unsubscribed');
  sub.subscribe();
  assert.equal((await un).code, 105);
  c.removeSubscription(sub); // otherwise the SDK routes the unsubscribe push to this object
  // Server-side unsubscribe emits unsubscribed on the client.
  const u = once(c, 'unsubscribed', 5000, (x) => x.channel === ch);
  await srv.apiOk('unsubscribe', { user: '6060', channel: ch });
  assert.deepEqual(await u, { channel: ch });
});

test('server-side subscriptions from the connection token (channels claim) arrive in connect subs', async (t, s) => {
  const ch = uniq('news:');
  const c = s.sdk(srv, { token: userToken(7070, { channels: [ch] }) });
  const p = once(c, 'subscribed', 5000, (ctx) => ctx.channel === ch);
  c.connect();
  await p;
  const pub = once(c, 'publication', 5000, (x) => x.channel === ch);
  await srv.apiOk('publish', { channel: ch, data: [1, 2, 3] });
  assert.deepEqual((await pub).data, [1, 2, 3]);
});

test('server API refresh with expired:true → connecting/disconnect 3005 and reconnect', async (t, s) => {
  const [c] = await connected(s, srv, { token: userToken(8080), getToken: async () => userToken(8080) });
  const p = once(c, 'connecting');
  await srv.apiOk('refresh', { user: '8080', expired: true });
  assert.deepEqual(await p, { code: 3005, reason: 'connection expired' });
  await once(c, 'connected', 5000);
});

test('Protobuf SDK (centrifuge/build/protobuf, subprotocol centrifuge-protobuf): connect, subscribe, publish, history, API publish', async (t, s) => {
  const { Centrifuge: CentrifugeProto } = await import('centrifuge/build/protobuf');
  const { WebSocket } = await import('./harness.mjs');
  const c = new CentrifugeProto(srv.wsUrl, { websocket: WebSocket, token: TOKENS.A, minReconnectDelay: 100 });
  s.defer(() => c.disconnect());
  const conn = once(c, 'connected');
  c.connect();
  const ctx = await conn;
  assert.match(ctx.client, UUID);
  const ch = uniq('chat:');
  const sub = c.newSubscription(ch);
  const subd = once(sub, 'subscribed');
  sub.subscribe();
  await subd;
  const pubs = collect(sub, 'publication');
  const payload = new TextEncoder().encode('{"pb":true}');
  await withTimeout(sub.publish(payload), 5000, 'publish');
  await until(() => pubs.length === 1, 5000, 'own publication');
  assert.equal(new TextDecoder().decode(pubs[0].data), '{"pb":true}');
  const num = (x) => (x && typeof x === 'object' ? x.toNumber() : x); // protobufjs uint64 → Long
  assert.equal(num(pubs[0].offset), 1);
  assert.equal(pubs[0].info.user, '42');
  // Binary payload through the API (b64data) reaches a Protobuf subscriber byte-exact.
  const bin = Buffer.from([0, 1, 2, 250, 255]);
  await srv.apiOk('publish', { channel: ch, b64data: bin.toString('base64') });
  await until(() => pubs.length === 2, 5000, 'binary publication');
  assert.deepEqual(Buffer.from(pubs[1].data), bin);
  const h = await sub.history({ limit: 10 });
  assert.equal(h.publications.length, 2);
  assert.equal(num(h.offset), 2);
  const stats = await sub.presenceStats();
  assert.deepEqual(stats, { numClients: 1, numUsers: 1 });
  const err = await rejects(c.rpc('m', new Uint8Array()));
  assert.equal(err.code, 108);
});

test('client-side connection refresh: token with short exp → SDK calls getToken and sends refresh; stays connected', { timeout: 20000 }, async (t, s) => {
  const now = () => Math.floor(Date.now() / 1000);
  let calls = 0;
  const c = s.sdk(srv, {
    token: userToken(3030, { exp: now() + 2 }),
    getToken: async () => { calls++; return userToken(3030, { exp: now() + 600 }); },
  });
  const disconnects = collect(c, 'disconnected');
  const connecting = collect(c, 'connecting');
  const p = once(c, 'connected');
  c.connect();
  await p;
  await until(() => calls === 1, 6000, 'getToken call for refresh');
  await sleep(2500);
  assert.equal(c.state, 'connected');
  assert.equal(disconnects.length, 0);
  assert.equal(connecting.length, 1, 'no reconnect happened');
  const r = await c.rpc('x', {}).catch((e) => e);
  assert.equal(r.code, 108, 'connection still usable');
});

test('client-side subscription refresh: sub token with short exp → SDK sub_refresh with new token; stays subscribed', { timeout: 20000 }, async (t, s) => {
  const now = () => Math.floor(Date.now() / 1000);
  const [c] = await connected(s, srv, { token: userToken(3131) });
  let calls = 0;
  const sub = c.newSubscription('$refresh', {
    token: signJWT({ sub: '3131', channel: '$refresh', exp: now() + 2 }),
    getToken: async () => { calls++; return signJWT({ sub: '3131', channel: '$refresh', exp: now() + 600 }); },
  });
  const unsubs = collect(sub, 'unsubscribed');
  const subscribing = collect(sub, 'subscribing');
  const p = once(sub, 'subscribed');
  sub.subscribe();
  await p;
  await until(() => calls === 1, 6000, 'getToken call for sub refresh');
  await sleep(2500);
  assert.equal(sub.state, 'subscribed');
  assert.equal(unsubs.length, 0);
  assert.equal(subscribing.length, 1, 'no resubscribe happened');
  const pubs = collect(sub, 'publication');
  await srv.apiOk('publish', { channel: '$refresh', data: { still: 'here' } });
  await until(() => pubs.length === 1, 5000, 'publication after sub refresh');
});

test('fan-out: one client with 100 subscriptions gets a broadcast on each; 30 clients on one channel all get a publication', { timeout: 30000 }, async (t, s) => {
  const [c] = await connected(s, srv, { token: userToken(9000) });
  const chans = Array.from({ length: 100 }, (_, i) => uniq(`news:f${i}-`));
  const got = new Map();
  const subscribedAll = chans.map((ch) => {
    const sub = c.newSubscription(ch);
    sub.on('publication', (ctx) => got.set(ch, ctx.data));
    const p = once(sub, 'subscribed', 10000);
    sub.subscribe();
    return p;
  });
  await Promise.all(subscribedAll);
  const b = await srv.apiOk('broadcast', { channels: chans, data: { all: true } });
  assert.equal(b.responses.length, 100);
  await until(() => got.size === 100, 8000, 'broadcast to all 100 subscriptions');
  for (const v of got.values()) assert.deepEqual(v, { all: true });

  const ch = uniq('news:fan');
  const received = [];
  const clients = [];
  for (let i = 0; i < 30; i++) clients.push(s.sdk(srv, { token: userToken(9100 + i) }));
  await Promise.all(clients.map(async (cl, i) => {
    const p = once(cl, 'connected', 8000);
    cl.connect();
    await p;
    const sub = cl.newSubscription(ch);
    sub.on('publication', (ctx) => received.push([i, ctx.data]));
    const sp = once(sub, 'subscribed', 8000);
    sub.subscribe();
    await sp;
  }));
  await srv.apiOk('publish', { channel: ch, data: 'to-everyone' });
  await until(() => received.length === 30, 8000, 'fan-out to 30 clients');
  // A sentinel publication reaches every client after any duplicate of the first would.
  await srv.apiOk('publish', { channel: ch, data: 'sentinel' });
  await until(() => received.filter(([, d]) => d === 'sentinel').length === 30, 8000, 'sentinel to 30 clients');
  const first = received.filter(([, d]) => d === 'to-everyone');
  assert.equal(first.length, 30, 'exactly once each');
  assert.deepEqual(new Set(first.map(([i]) => i)).size, 30);
  const chInfo = (await srv.apiOk('channels', { pattern: ch })).channels;
  assert.deepEqual(chInfo, { [ch]: { num_clients: 30 } });
});
