// Fossil delta compression (client-protocol.md §9): negotiation, wire form, and that the
// official SDK reconstructs the exact payloads (JSON and Protobuf builds).
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import WebSocket from 'ws';
import { test, startServer, userToken, uniq, once, until } from './harness.mjs';

const require = createRequire(import.meta.url);
const { Centrifuge: CentrifugeProtobuf } = require('centrifuge/build/protobuf');

let srv;

before(async () => {
  srv = await startServer({
    api_key: 'k', token_hmac_secret_key: 'secret',
    namespaces: [
      {
        name: 'dd', history_size: 10, history_ttl: '300s', force_recovery: true, allowed_delta_types: ['fossil'],
        allow_subscribe_for_client: true,
      },
      { name: 'dp', history_size: 10, history_ttl: '300s', force_recovery: true, allowed_delta_types: ['fossil'],
        delta_publish: true, allow_subscribe_for_client: true },
      { name: 'nodelta', history_size: 10, history_ttl: '300s', force_recovery: true, allow_subscribe_for_client: true },
    ],
  });
});
after(async () => {
  if (srv) await srv.stop();
});

// Payloads that share most of their bytes, so patches are shorter than the payloads.
function payload(i) {
  return { counter: i, text: 'hello world, this is a fairly long and mostly constant text ' + 'x'.repeat(80), list: [1, 2, 3, i] };
}

test('raw: delta negotiated; first publication full as a JSON string, next ones patches with delta:true', async (t, s) => {
  const ch = uniq('dd:');
  const c = await s.raw(srv);
  const r1 = await c.connect({ token: userToken('u1') });
  assert.ok(r1.connect);
  const r2 = await c.call('subscribe', { channel: ch, delta: 'fossil' });
  assert.equal(r2.subscribe.delta, true, JSON.stringify(r2));
  for (let i = 1; i <= 3; i++) {
    await srv.apiOk('publish', { channel: ch, data: payload(i), delta: true });
  }
  const pubs = [];
  for (let i = 1; i <= 3; i++) {
    const m = await c.push((p) => p.channel === ch && p.pub && p.pub.offset === i, 5000, `pub ${i}`);
    pubs.push(m.push.pub);
  }
  assert.equal(typeof pubs[0].data, 'string');
  assert.deepEqual(JSON.parse(pubs[0].data), payload(1));
  assert.equal(pubs[0].delta, undefined);
  for (const p of pubs.slice(1)) {
    assert.equal(typeof p.data, 'string');
    assert.equal(p.delta, true, JSON.stringify(p));
    assert.ok(p.data.length < JSON.stringify(payload(2)).length, 'patch shorter than payload');
  }
});

test('raw: fossil not in allowed_delta_types → delta silently not negotiated, plain JSON data', async (t, s) => {
  const ch = uniq('nodelta:');
  const c = await s.raw(srv);
  await c.connect({ token: userToken('u2') });
  const r = await c.call('subscribe', { channel: ch, delta: 'fossil' });
  assert.equal(r.subscribe.delta, undefined, JSON.stringify(r));
  await srv.apiOk('publish', { channel: ch, data: payload(1), delta: true });
  const m = await c.push((p) => p.channel === ch && p.pub, 5000, 'pub');
  assert.deepEqual(m.push.pub.data, payload(1));
});

test('raw: unknown delta type → disconnect 3501', async (t, s) => {
  const c = await s.raw(srv);
  await c.connect({ token: userToken('u3') });
  c.send({ id: 9, subscribe: { channel: uniq('dd:'), delta: 'xdelta' } });
  const closed = await c.waitClose();
  assert.equal(closed.code, 3501);
});

for (const [label, Ctor] of [['JSON', null], ['Protobuf', CentrifugeProtobuf]]) {
  test(`SDK ${label}: delta subscription decodes every payload exactly (API delta and delta_publish)`, async (t, s) => {
    const client = Ctor
      ? new Ctor(srv.wsUrl, { websocket: WebSocket, token: userToken('sdk-' + label) })
      : s.sdk(srv, { token: userToken('sdk-' + label) });
    if (Ctor) s.defer(() => client.disconnect());
    client.connect();
    await once(client, 'connected', 5000);
    for (const [ns, apiDelta] of [['dd', true], ['dp', false]]) {
      const ch = uniq(ns + ':');
      const sub = client.newSubscription(ch, { delta: 'fossil' });
      const got = [];
      sub.on('publication', (ctx) => got.push(ctx.data));
      const sp = once(sub, 'subscribed', 5000);
      sub.subscribe();
      await sp;
      const sent = [];
      for (let i = 1; i <= 6; i++) {
        const data = payload(i);
        sent.push(data);
        await srv.apiOk('publish', { channel: ch, data, ...(apiDelta ? { delta: true } : {}) });
      }
      await until(() => got.length === sent.length, 5000, `${label} ${ns}: 6 publications`);
      const decoded = got.map((d) => (d instanceof Uint8Array ? JSON.parse(new TextDecoder().decode(d)) : d));
      assert.deepEqual(decoded, sent);
      sub.unsubscribe();
    }
  });
}
