// Stream and connection semantics of issue #3 not covered elsewhere: the periodic position
// check (reference.md §7.2), user_personal_single_connection (§7.7), client_concurrency,
// delta for server-side subscriptions and delta chains in recovered publications
// (client-protocol.md §9.1, §9.2 rule 5).
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { test, startServer, userToken, uniq, once, collect, until, sleep } from './harness.mjs';

let srv;
let single;

const payload = (i) => ({ counter: i, text: 'a fairly long and mostly constant text for the patches ' + 'y'.repeat(60), i });

before(async () => {
  srv = await startServer({
    api_key: 'k', token_hmac_secret_key: 'secret', client_channel_position_check_delay: '1s', client_concurrency: 4, client_presence_update_interval: '1s',
    namespaces: [
      // history_meta_ttl 1s: an idle stream expires and comes back with a new epoch.
      { name: 'short', history_size: 10, history_ttl: '1s', history_meta_ttl: '1s', force_positioning: true, allow_subscribe_for_client: true },
      { name: 'pos', history_size: 10, history_ttl: '300s', force_positioning: true, allow_subscribe_for_client: true, allow_history_for_subscriber: true, allow_presence_for_subscriber: true, allow_publish_for_subscriber: true, presence: true },
      { name: 'dd', history_size: 20, history_ttl: '300s', force_recovery: true, allowed_delta_types: ['fossil'], allow_subscribe_for_client: true },
    ],
  });
  single = await startServer({
    token_hmac_secret_key: 'secret', user_subscribe_to_personal: true, user_personal_single_connection: true,
    user_personal_channel_namespace: 'personal', namespaces: [{ name: 'personal', presence: true }],
  });
});
after(async () => {
  for (const s of [srv, single]) if (s) await s.stop();
});

test('position check: a stream that lost its epoch → unsubscribe push 2500 after two failed checks', { timeout: 20000 }, async (t, s) => {
  const c = await s.raw(srv);
  await c.connect({ token: userToken('pc1') });
  const ch = uniq('short:');
  const r = await c.call('subscribe', { channel: ch });
  assert.equal(r.subscribe.positioned, true);
  const m = await c.push((p) => p.channel === ch && p.unsubscribe, 10000, 'unsubscribe push');
  assert.deepEqual(m.push.unsubscribe, { code: 2500, reason: 'insufficient state' });
  assert.ok(c.isOpen, 'connection stays');
});

test('position check: a healthy positioned subscription is never flagged', { timeout: 20000 }, async (t, s) => {
  const c = await s.raw(srv);
  await c.connect({ token: userToken('pc2') });
  const ch = uniq('pos:');
  await c.call('subscribe', { channel: ch });
  for (let i = 0; i < 6; i++) {
    await srv.apiOk('publish', { channel: ch, data: { i } });
    await sleep(500);
  }
  await c.expectNone((m) => m.push && m.push.unsubscribe, 1500, 'no unsubscribe');
  const h = await c.call('history', { channel: ch, limit: -1 });
  assert.equal(h.history.publications.length, 6);
});

test('position check on a server-side subscription → disconnect 3010', { timeout: 20000 }, async (t, s) => {
  const ch = uniq('short:');
  const c = await s.raw(srv);
  const r = await c.connect({ token: userToken('pc3', { channels: [ch] }) });
  assert.ok(r.connect.subs[ch]);
  const closed = await c.waitClose(10000);
  assert.equal(closed.code, 3010);
  assert.equal(closed.reason, 'insufficient state');
});

test('user_personal_single_connection: a new connection of the user disconnects the older one with 3504', { timeout: 15000 }, async (t, s) => {
  const first = s.sdk(single, { token: userToken('solo') });
  const firstDisc = once(first, 'disconnected', 8000);
  const p1 = once(first, 'connected', 5000);
  first.connect();
  await p1;
  const other = s.sdk(single, { token: userToken('someone-else') });
  const p0 = once(other, 'connected', 5000);
  other.connect();
  await p0;
  const second = s.sdk(single, { token: userToken('solo') });
  const secondDisc = collect(second, 'disconnected');
  const p2 = once(second, 'connected', 5000);
  second.connect();
  await p2;
  const d = await firstDisc;
  assert.equal(d.code, 3504);
  assert.equal(d.reason, 'connection limit');
  // Positive control instead of a pause: both connections answer a command after the 3504
  // (rpc without a proxy answers 108), so neither was dropped with the first one.
  for (const cl of [second, other]) {
    const e = await cl.rpc('alive', {}).catch((err) => err);
    assert.equal(e.code, 108);
  }
  assert.equal(second.state, 'connected');
  assert.equal(other.state, 'connected', 'other users are not touched');
  assert.equal(secondDisc.length, 0);
});

test('client_concurrency 4: a batch of async commands all get their replies', async (t, s) => {
  const c = await s.raw(srv);
  await c.connect({ token: userToken('cc') });
  const ch = uniq('pos:');
  await c.call('subscribe', { channel: ch });
  const cmds = [];
  for (let i = 0; i < 8; i++) cmds.push({ id: 100 + i, publish: { channel: ch, data: { i } } });
  for (let i = 0; i < 4; i++) cmds.push({ id: 200 + i, history: { channel: ch, limit: 0 } });
  cmds.push({ id: 300, presence_stats: { channel: ch } });
  c.send(cmds);
  const replies = {};
  for (const cmd of cmds) {
    const r = await c.reply(cmd.id);
    assert.ok(!r.error, JSON.stringify(r));
    replies[cmd.id] = r;
  }
  assert.deepEqual(replies[300].presence_stats, { num_clients: 1, num_users: 1 });
  // Every publication arrives, in stream order.
  for (let i = 1; i <= 8; i++) await c.push((p) => p.channel === ch && p.pub && p.pub.offset === i, 5000, `pub ${i}`);
});

test('delta for a server-side subscription asked in connect subs', async (t, s) => {
  const ch = uniq('dd:');
  const c = await s.raw(srv);
  const r = await c.connect({ token: userToken('ssd', { channels: [ch] }), subs: { [ch]: { delta: 'fossil' } } });
  assert.equal(r.connect.subs[ch].delta, true, JSON.stringify(r));
  for (let i = 1; i <= 2; i++) await srv.apiOk('publish', { channel: ch, data: payload(i), delta: true });
  const p1 = await c.push((p) => p.channel === ch && p.pub && p.pub.offset === 1, 5000, 'pub 1');
  const p2 = await c.push((p) => p.channel === ch && p.pub && p.pub.offset === 2, 5000, 'pub 2');
  assert.deepEqual(JSON.parse(p1.push.pub.data), payload(1));
  assert.equal(p2.push.pub.delta, true);
  assert.equal(typeof p2.push.pub.data, 'string');

  // Unknown type in connect subs → 3501.
  const bad = await s.raw(srv);
  bad.send({ id: 1, connect: { token: userToken('ssd2', { channels: [ch] }), subs: { [ch]: { delta: 'xdelta' } } } });
  assert.equal((await bad.waitClose()).code, 3501);
});

test('recovered publications of a delta subscription form a fossil chain; the SDK decodes every payload', { timeout: 20000 }, async (t, s) => {
  const ch = uniq('dd:');
  // Raw view of the wire: recover from offset 1 over 5 publications.
  for (let i = 1; i <= 5; i++) await srv.apiOk('publish', { channel: ch, data: payload(i), delta: true });
  const c = await s.raw(srv);
  await c.connect({ token: userToken('rc') });
  const top = await srv.apiOk('history', { channel: ch, limit: 0 });
  const r = await c.call('subscribe', { channel: ch, delta: 'fossil', recover: true, offset: 1, epoch: top.epoch });
  const pubs = r.subscribe.publications;
  assert.equal(r.subscribe.recovered, true);
  assert.equal(pubs.length, 4);
  assert.equal(pubs[0].delta, undefined);
  assert.deepEqual(JSON.parse(pubs[0].data), payload(2));
  for (const p of pubs.slice(1)) assert.equal(p.delta, true, JSON.stringify(p));

  // The SDK: receive two, go away, miss four, come back: every payload exact.
  const sdk = s.sdk(srv, { token: userToken('rc2') });
  const sub = sdk.newSubscription(ch, { delta: 'fossil' });
  const got = [];
  sub.on('publication', (ctx) => got.push(ctx.data));
  const subscribed = collect(sub, 'subscribed');
  sub.subscribe();
  sdk.connect();
  await until(() => subscribed.length === 1, 5000, 'subscribed');
  for (let i = 6; i <= 7; i++) await srv.apiOk('publish', { channel: ch, data: payload(i), delta: true });
  await until(() => got.length === 2, 5000, 'two live publications');
  sdk.disconnect();
  for (let i = 8; i <= 11; i++) await srv.apiOk('publish', { channel: ch, data: payload(i), delta: true });
  sdk.connect();
  await until(() => got.length === 6, 8000, 'recovered publications');
  assert.equal(subscribed[1].recovered, true);
  await srv.apiOk('publish', { channel: ch, data: payload(12), delta: true });
  await until(() => got.length === 7, 5000, 'live after recovery');
  assert.deepEqual(got, [6, 7, 8, 9, 10, 11, 12].map(payload));
});

test('client_presence_update_interval: presence entries are re-added with the current connection info', { timeout: 15000 }, async (t, s) => {
  const c = await s.raw(srv);
  const r = await c.connect({ token: userToken('pu', { info: { v: 1 } }) });
  const ch = uniq('pos:');
  await c.call('subscribe', { channel: ch });
  const before = await srv.apiOk('presence', { channel: ch });
  assert.deepEqual(before.presence[r.connect.client].conn_info, { v: 1 });
  await srv.apiOk('refresh', { user: 'pu', info: { v: 2 }, expire_at: Math.floor(Date.now() / 1000) + 600 });
  await until(async () => {
    const p = await srv.apiOk('presence', { channel: ch });
    return JSON.stringify(p.presence[r.connect.client].conn_info) === '{"v":2}';
  }, 5000, 'presence updated with the refreshed info');
});

test('client_channel_position_max_time_lag: a publication checked later than the lag after it was published → 2500; without the option the same one is delivered', { timeout: 30000 }, async (t, s) => {
  const namespaces = [{ name: 'pos', history_size: 10, history_ttl: '300s', force_positioning: true, allow_subscribe_for_client: true }];
  const base = { api_key: 'k', token_hmac_secret_key: 'secret', client_queue_max_size: 64 * 1024 * 1024, namespaces };
  const lagged = await startServer({ ...base, client_channel_position_max_time_lag: '1ms' });
  s.defer(() => lagged.stop());
  const plain = await startServer(base);
  s.defer(() => plain.stop());
  // 4 MiB of data: storing, validating and encoding it puts well over 1 ms between the
  // publication's timestamp (taken when the API call is executed) and each subscriber's check.
  const data = { blob: 'z'.repeat(4 * 1024 * 1024) };
  for (const [server, late] of [[lagged, true], [plain, false]]) {
    const c = await s.raw(server);
    await c.connect({ token: userToken('lag') });
    const ch = uniq('pos:');
    assert.equal((await c.call('subscribe', { channel: ch })).subscribe.positioned, true);
    await server.apiOk('publish', { channel: ch, data });
    if (late) {
      const m = await c.push((p) => p.channel === ch && p.unsubscribe, 10000, 'unsubscribe push');
      assert.deepEqual(m.push.unsubscribe, { code: 2500, reason: 'insufficient state' });
      await c.expectNone((x) => x.push && x.push.pub, 300, 'the lagging publication');
      assert.ok(c.isOpen, 'connection stays');
    } else {
      const m = await c.push((p) => p.channel === ch && p.pub, 10000, 'publication');
      assert.equal(m.push.pub.data.blob.length, data.blob.length);
      assert.equal(m.push.pub.offset, 1);
    }
  }
});
