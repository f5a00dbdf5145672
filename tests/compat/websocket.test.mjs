// WebSocket transport details as Centrifugo v5.4 has them (reference.md §1.2-§1.3,
// client-protocol.md §6, §7.3, §8.1): permessage-deflate (RFC 7692, no context takeover),
// websocket_compression_min_size, compressed client frames and the inflated size limit,
// cf_ws_frame_ping_pong native pings, allowed_origins globs.
//
// `WireClient` (ws_wire.mjs) speaks RFC 6455 over a plain TCP socket so that tests see the
// frames as sent (RSV1, opcodes, close payloads); the `ws` package and the centrifuge SDK check
// that the compressed frames decode in the clients people use.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import WebSocket from 'ws';
import { Centrifuge } from 'centrifuge';
import { DEFLATE_RESPONSE, deflate, inflate, WireClient, wire, assertDroppedByWriteDeadline } from './ws_wire.mjs';
import { test, startServer, userToken, uniq, once, until, sleep, runGyre, makeTempDir } from './harness.mjs';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

const require = createRequire(import.meta.url);
const { Centrifuge: CentrifugeProtobuf } = require('centrifuge/build/protobuf');

function wsOpen(s, url, opts = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts);
    s.defer(() => ws.terminate());
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
  });
}

// ws delivers every message, compressed or not, as 'message' events in order.
function wsMessages(ws) {
  const msgs = [];
  ws.on('message', (data) => {
    for (const line of data.toString().split('\n')) if (line) msgs.push(JSON.parse(line));
  });
  return msgs;
}

const MIN_SIZE = 300;
let srv; // compression on, min size MIN_SIZE
let srvAll; // compression on, min size 0 (every message compressed)
let srvOff; // compression off (default)

const namespaces = [
  { name: 'ns', allow_subscribe_for_client: true, allow_publish_for_client: true, allow_publish_for_subscriber: true },
  { name: 'dd', history_size: 10, history_ttl: '300s', force_recovery: true, allowed_delta_types: ['fossil'], allow_subscribe_for_client: true },
];

before(async () => {
  srv = await startServer({
    api_key: 'k', token_hmac_secret_key: 'secret', websocket_compression: true,
    websocket_compression_min_size: MIN_SIZE, websocket_compression_level: 6, namespaces,
  });
  srvAll = await startServer({
    api_key: 'k', token_hmac_secret_key: 'secret', websocket_compression: true, namespaces,
    ping_interval: '2s', pong_timeout: '1s',
  });
  srvOff = await startServer({ api_key: 'k', token_hmac_secret_key: 'secret', namespaces });
});
after(async () => {
  await Promise.all([srv, srvAll, srvOff].filter(Boolean).map((x) => x.stop()));
});

// ------------------------------------------------------------------------------ negotiation

test('deflate: negotiated with the ws default offer; response as Centrifugo (no context takeover)', async (t, s) => {
  const c = await wire(s, srv.port, { extensions: 'permessage-deflate; client_max_window_bits' });
  assert.equal(c.status, 101);
  assert.equal(c.headers['sec-websocket-extensions'], DEFLATE_RESPONSE);
  // The ws package accepts it.
  let header;
  const ws = await new Promise((resolve, reject) => {
    const w = new WebSocket(srv.wsUrl);
    s.defer(() => w.terminate());
    w.once('upgrade', (res) => (header = res.headers['sec-websocket-extensions']));
    w.once('open', () => resolve(w));
    w.once('error', reject);
  });
  assert.equal(header, DEFLATE_RESPONSE);
  assert.equal(ws.extensions, 'permessage-deflate');
});

test('deflate: not negotiated when disabled, not offered, or only unacceptable offers', async (t, s) => {
  const off = await wire(s, srvOff.port, { extensions: 'permessage-deflate; client_max_window_bits' });
  assert.equal(off.headers['sec-websocket-extensions'], undefined);
  const none = await wire(s, srv.port);
  assert.equal(none.headers['sec-websocket-extensions'], undefined);
  const small = await wire(s, srv.port, { extensions: 'permessage-deflate; server_max_window_bits=10' });
  assert.equal(small.headers['sec-websocket-extensions'], undefined);
  const unknown = await wire(s, srv.port, { extensions: 'permessage-deflate; foo=1, x-webkit-deflate-frame' });
  assert.equal(unknown.headers['sec-websocket-extensions'], undefined);
  // A later acceptable offer is taken.
  const later = await wire(s, srv.port, { extensions: 'permessage-deflate; server_max_window_bits=10, permessage-deflate' });
  assert.equal(later.headers['sec-websocket-extensions'], DEFLATE_RESPONSE);
  // ws against a server without compression: plain frames.
  const ws = await wsOpen(s, srvOff.wsUrl);
  assert.equal(ws.extensions, '');
});

// ------------------------------------------------------------------------------ server frames

test('deflate: replies and pushes above min size are compressed (RSV1), below/at it are not', async (t, s) => {
  const c = await wire(s, srv.port, { extensions: 'permessage-deflate' });
  const ch = uniq('ns:');
  c.sendText(JSON.stringify({ id: 1, connect: { token: userToken('u1') } }) + '\n' + JSON.stringify({ id: 2, subscribe: { channel: ch } }));
  const r1 = await c.message();
  // connect + subscribe replies share a frame; short: sent uncompressed.
  assert.equal(r1.rsv1, r1.payload.length > MIN_SIZE, r1.text);
  assert.equal(r1.opcode, 1);
  let lines = r1.text.split('\n');
  if (lines.length < 2) lines = lines.concat((await c.message()).text.split('\n'));
  assert.equal(JSON.parse(lines[0]).id, 1);
  assert.deepEqual(JSON.parse(lines[1]), { id: 2, subscribe: {} });

  // Small publication: uncompressed, exact bytes.
  await srv.apiOk('publish', { channel: ch, data: { s: 'x' } });
  const small = await c.message();
  assert.equal(small.rsv1, false);
  const smallText = JSON.stringify({ push: { channel: ch, pub: { data: { s: 'x' } } } });
  assert.equal(small.text, smallText);
  // Exactly MIN_SIZE bytes: not compressed (Centrifuge compresses when len > min size).
  const pad = MIN_SIZE - smallText.length + 1;
  const atMin = { s: 'x'.repeat(pad) };
  await srv.apiOk('publish', { channel: ch, data: atMin });
  const m1 = await c.message();
  assert.equal(m1.payload.length, MIN_SIZE);
  assert.equal(m1.rsv1, false);
  assert.deepEqual(JSON.parse(m1.text), { push: { channel: ch, pub: { data: atMin } } });
  // One byte more: compressed.
  const aboveMin = { s: 'x'.repeat(pad + 1) };
  await srv.apiOk('publish', { channel: ch, data: aboveMin });
  const m2 = await c.message();
  assert.equal(m2.rsv1, true);
  assert.equal(m2.text, JSON.stringify({ push: { channel: ch, pub: { data: aboveMin } } }));
  assert.ok(m2.payload.length < MIN_SIZE, `compressed ${m2.payload.length} bytes`);
  // Large.
  const big = { blob: 'abcdefgh'.repeat(20000), n: 1 };
  await srv.apiOk('publish', { channel: ch, data: big });
  const m3 = await c.message();
  assert.equal(m3.rsv1, true);
  assert.equal(m3.text, JSON.stringify({ push: { channel: ch, pub: { data: big } } }));
  assert.ok(m3.payload.length < 5000);
});

test('deflate: the same compressed bytes reach every subscriber; uncompressed clients get plain frames', async (t, s) => {
  const ch = uniq('ns:');
  const clients = [];
  for (let i = 0; i < 3; i++) {
    const c = await wire(s, srv.port, { extensions: i < 2 ? 'permessage-deflate' : undefined });
    c.sendText(JSON.stringify({ id: 1, connect: { token: userToken(`u${i}`) } }) + '\n' + JSON.stringify({ id: 2, subscribe: { channel: ch } }));
    await until(() => c.frames.some((f) => f.opcode === 1 && (f.rsv1 ? inflate(f.payload) : f.payload).toString().includes('"id":2')) , 5000, 'subscribed');
    for (const f of c.frames) f.taken = true;
    clients.push(c);
  }
  const data = { text: 'hello '.repeat(200) };
  await srv.apiOk('publish', { channel: ch, data });
  const got = await Promise.all(clients.map((c) => c.message()));
  const expected = JSON.stringify({ push: { channel: ch, pub: { data } } });
  assert.equal(got[0].rsv1, true);
  assert.deepEqual(got[0].payload, got[1].payload);
  assert.equal(got[2].rsv1, false);
  for (const g of got) assert.equal(g.text, expected);
});

test('deflate: min size 0 compresses every message, pings included', async (t, s) => {
  const c = await wire(s, srvAll.port, { extensions: 'permessage-deflate' });
  c.sendText(JSON.stringify({ id: 1, connect: { token: userToken('u1') } }));
  const r = await c.message();
  assert.equal(r.rsv1, true);
  const res = JSON.parse(r.text);
  assert.equal(res.id, 1);
  assert.equal(res.connect.ping, 2);
  assert.equal(res.connect.pong, true);
  const ping = await c.message(() => true, 4000, 'ping');
  assert.equal(ping.rsv1, true);
  assert.equal(ping.text, '{}');
});

// ------------------------------------------------------------------------------ client frames

test('deflate: compressed client frames are inflated (raw and ws with compression)', async (t, s) => {
  const c = await wire(s, srv.port, { extensions: 'permessage-deflate' });
  const ch = uniq('ns:');
  c.sendText(JSON.stringify({ id: 1, connect: { token: userToken('u1') } }), { compress: true });
  assert.equal(JSON.parse((await c.message()).text).id, 1);
  // A fragmented compressed message: RSV1 on the first frame only.
  const z = deflate(JSON.stringify({ id: 2, subscribe: { channel: ch } }));
  c.sendFrame(1, z.subarray(0, 5), { rsv1: true, fin: false });
  c.sendFrame(0, z.subarray(5), { fin: true });
  assert.deepEqual(JSON.parse((await c.message()).text), { id: 2, subscribe: {} });

  // ws compresses messages of 1024 bytes and more by default.
  const ws = await wsOpen(s, srv.wsUrl);
  const msgs = wsMessages(ws);
  ws.send(JSON.stringify({ id: 1, connect: { token: userToken('u2') } }) + '\n' + JSON.stringify({ id: 2, subscribe: { channel: ch } }));
  await until(() => msgs.some((m) => m.id === 2), 5000, 'subscribe reply');
  const data = { blob: 'y'.repeat(5000) };
  ws.send(JSON.stringify({ id: 3, publish: { channel: ch, data } }), { compress: true });
  await until(() => msgs.some((m) => m.id === 3), 5000, 'publish reply');
  assert.deepEqual(msgs.find((m) => m.id === 3), { id: 3, publish: {} });
  await until(() => msgs.some((m) => m.push), 5000, 'push');
  assert.deepEqual(msgs.find((m) => m.push).push.pub.data, data);
  const raw = await c.message();
  assert.equal(raw.rsv1, true);
  assert.deepEqual(JSON.parse(raw.text).push.pub.data, data);
});

test('deflate: inflated size above websocket_message_size_limit → close 1009 (deflate bomb)', async (t, s) => {
  const c = await wire(s, srv.port, { extensions: 'permessage-deflate' });
  c.sendText(JSON.stringify({ id: 1, connect: { token: userToken('u1') } }));
  await c.message();
  // ~1 MiB of JSON that compresses to ~1 KiB: under the 65536 limit on the wire, far above it inflated.
  const bomb = JSON.stringify({ id: 2, publish: { channel: 'ns:x', data: { s: ' '.repeat(1 << 20) } } });
  const z = deflate(bomb);
  assert.ok(z.length < 4096);
  c.sendFrame(1, z, { rsv1: true });
  assert.deepEqual(await c.close(), { code: 1009, reason: '' });
  await c.waitEnd(7000);
  // Just under the limit inflated: accepted.
  const ok = await wire(s, srv.port, { extensions: 'permessage-deflate' });
  ok.sendText(JSON.stringify({ id: 1, connect: { token: userToken('u1') } }), { compress: true });
  await ok.message();
  const fits = JSON.stringify({ id: 2, publish: { channel: 'ns:x', data: { s: ' '.repeat(60000) } } });
  ok.sendText(fits, { compress: true });
  assert.deepEqual(JSON.parse((await ok.message()).text), { id: 2, publish: {} });
});

test('deflate: invalid compressed data → 3501 bad request; RSV1 without negotiation → 1002', async (t, s) => {
  const c = await wire(s, srv.port, { extensions: 'permessage-deflate' });
  c.sendText(JSON.stringify({ id: 1, connect: { token: userToken('u1') } }));
  await c.message();
  c.sendFrame(1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]), { rsv1: true });
  assert.deepEqual(await c.close(), { code: 3501, reason: 'bad request' });

  const p = await wire(s, srv.port); // nothing negotiated
  p.sendFrame(1, deflate('{}'), { rsv1: true });
  assert.equal((await p.close()).code, 1002);
  // RSV1 on a control frame is invalid even when negotiated.
  const q = await wire(s, srv.port, { extensions: 'permessage-deflate' });
  q.sendFrame(9, Buffer.alloc(0), { rsv1: true });
  assert.equal((await q.close()).code, 1002);
});

// ------------------------------------------------------------------------------ SDK

/**
 * An SDK client (JSON or Protobuf build) of `server`, subscribed to `ch`; its publications'
 * data (Protobuf bytes parsed as JSON) collect in `got`.
 */
async function subscribedSdk(s, server, Client, ch, subOpts = {}) {
  const client = new Client(server.wsUrl, { websocket: WebSocket, token: userToken('sdk'), minReconnectDelay: 100 });
  s.defer(() => client.disconnect());
  const sub = client.newSubscription(ch, subOpts);
  const got = [];
  const decode = (d) => (d instanceof Uint8Array ? JSON.parse(new TextDecoder().decode(d)) : d);
  sub.on('publication', (ctx) => got.push(decode(ctx.data)));
  sub.subscribe();
  client.connect();
  await once(sub, 'subscribed', 5000);
  return { client, sub, got };
}

for (const [label, Client, protobuf] of [['JSON', Centrifuge, false], ['Protobuf', CentrifugeProtobuf, true]]) {
  test(`SDK ${label} with compression: publications above and below min size arrive exact`, async (t, s) => {
    const ch = uniq('ns:');
    const { sub, got } = await subscribedSdk(s, srv, Client, ch);
    const payloads = [{ a: 1 }, { big: 'z'.repeat(3000), n: [1, 2, 3] }, { s: 'short' }, { big: 'q'.repeat(70000) }];
    for (const p of payloads) {
      await srv.apiOk('publish', { channel: ch, data: p });
    }
    await until(() => got.length === payloads.length, 5000, 'publications');
    assert.deepEqual(got, payloads);
    // Client → server publish of a large payload (compressed by ws).
    const mine = { mine: 'w'.repeat(4000) };
    await sub.publish(protobuf ? new TextEncoder().encode(JSON.stringify(mine)) : mine);
    await until(() => got.length === payloads.length + 1, 5000, 'own publication');
    assert.deepEqual(got.at(-1), mine);
  });
}

for (const [label, Client] of [['JSON', Centrifuge], ['Protobuf', CentrifugeProtobuf]]) {
  test(`SDK ${label} with compression and fossil delta: every payload exact`, async (t, s) => {
    const ch = uniq('dd:');
    const { got } = await subscribedSdk(s, srvAll, Client, ch, { delta: 'fossil' });
    const sent = [];
    for (let i = 1; i <= 5; i++) {
      const data = { i, text: 'mostly constant text for fossil deltas '.repeat(20), tail: 'x'.repeat(i) };
      sent.push(data);
      await srvAll.apiOk('publish', { channel: ch, data, delta: true });
    }
    await until(() => got.length === sent.length, 5000, 'publications');
    assert.deepEqual(got, sent);
  });
}

test('deflate + delta: patches are compressed frames with delta:true', async (t, s) => {
  const c = await wire(s, srvAll.port, { extensions: 'permessage-deflate' });
  const ch = uniq('dd:');
  c.sendText(JSON.stringify({ id: 1, connect: { token: userToken('u1') } }) + '\n' + JSON.stringify({ id: 2, subscribe: { channel: ch, delta: 'fossil' } }));
  await until(() => c.frames.some((f) => f.opcode === 1 && inflate(f.payload).toString().includes('"id":2')), 5000, 'subscribed');
  for (const f of c.frames) f.taken = true;
  const data = (i) => ({ i, text: 'mostly constant text for fossil deltas '.repeat(20) });
  for (let i = 1; i <= 2; i++) await srvAll.apiOk('publish', { channel: ch, data: data(i), delta: true });
  const first = await c.message((f) => f.payload.length > 0 && inflate(f.payload).toString().startsWith('{"push"'));
  const second = await c.message((f) => f.payload.length > 0 && inflate(f.payload).toString().startsWith('{"push"'));
  assert.equal(first.rsv1, true);
  assert.equal(second.rsv1, true);
  const p1 = JSON.parse(first.text).push.pub;
  const p2 = JSON.parse(second.text).push.pub;
  assert.deepEqual(JSON.parse(p1.data), data(1));
  assert.equal(p1.delta, undefined);
  assert.equal(p2.delta, true);
  assert.equal(typeof p2.data, 'string');
});

// ------------------------------------------------------------------------------ native ping/pong

test('cf_ws_frame_ping_pong: ping frames every ping_interval, no {} pings, no ping/pong in connect result', async (t, s) => {
  const ws = await wsOpen(s, srvAll.wsUrl + '?cf_ws_frame_ping_pong=true', { perMessageDeflate: false });
  const msgs = wsMessages(ws);
  const pings = [];
  ws.on('ping', (d) => pings.push({ at: Date.now(), len: d.length }));
  const t0 = Date.now();
  ws.send(JSON.stringify({ id: 1, connect: { token: userToken('u1') } }));
  await until(() => msgs.length > 0, 5000, 'connect reply');
  assert.equal(msgs[0].id, 1);
  assert.equal(msgs[0].connect.ping, undefined);
  assert.equal(msgs[0].connect.pong, undefined);
  // ws answers pings automatically: the connection outlives several pong deadlines.
  await sleep(5000);
  assert.ok(pings.length >= 2, `pings: ${pings.length}`);
  assert.ok(pings[0].at - t0 >= 1500, `first ping after ~2 s, got ${pings[0].at - t0} ms`);
  assert.equal(pings[0].len, 0);
  assert.equal(ws.readyState, WebSocket.OPEN);
  assert.equal(msgs.length, 1, `no app-level pings: ${JSON.stringify(msgs)}`);
});

test('cf_ws_frame_ping_pong: no pong within pong_timeout → TCP closed without close frame (1006)', async (t, s) => {
  const ws = await wsOpen(s, srvAll.wsUrl + '?cf_ws_frame_ping_pong=true', { autoPong: false });
  let pinged = 0;
  ws.on('ping', () => pinged++);
  ws.send(JSON.stringify({ id: 1, connect: { token: userToken('u1') } }));
  const t0 = Date.now();
  const code = await once(ws, 'close', 8000);
  assert.equal(code, 1006);
  assert.equal(pinged, 1);
  const elapsed = Date.now() - t0;
  assert.ok(elapsed >= 2500 && elapsed < 5000, `closed after ${elapsed} ms (ping at 2 s + 1 s pong timeout)`);
});

test('cf_ws_frame_ping_pong: the raw client sees ping frames; a pong keeps it; no pong drops it without close frame', async (t, s) => {
  const c = await wire(s, srvAll.port, { query: '?cf_ws_frame_ping_pong=true' });
  c.sendText(JSON.stringify({ id: 1, connect: { token: userToken('u1') } }));
  const r = JSON.parse((await c.message()).text);
  assert.deepEqual(Object.keys(r.connect).includes('ping'), false);
  const ping = await c.frame((f) => f.opcode === 9, 4000, 'ping frame');
  assert.equal(ping.payload.length, 0);
  c.sendFrame(10, Buffer.alloc(0));
  const ping2 = await c.frame((f) => f.opcode === 9, 4000, 'second ping frame');
  assert.ok(ping2);
  // Do not answer this one.
  await c.waitEnd(3000);
  assert.equal(c.frames.filter((f) => f.opcode === 8).length, 0, 'no close frame');
  assert.equal(c.frames.filter((f) => f.opcode === 1 && f.payload.toString() === '{}').length, 0, 'no app-level ping');
});

// ------------------------------------------------------------------------------ write timeout

test('websocket_write_timeout: a client that stops reading is dropped after the timeout, without close frame', async (t, s) => {
  // A queue large enough that 3008 cannot come first: only the write deadline can end it.
  const w = await startServer({
    api_key: 'k', token_hmac_secret_key: 'secret', namespaces, client_queue_max_size: 200 * 1024 * 1024,
    websocket_write_timeout: '1s',
  });
  s.defer(() => w.stop());
  const c = await wire(s, w.port);
  const ch = uniq('ns:');
  c.sendText(JSON.stringify({ id: 1, connect: { token: userToken('u1') } }) + '\n' + JSON.stringify({ id: 2, subscribe: { channel: ch } }));
  await until(() => c.frames.some((f) => f.payload.toString().includes('"id":2')), 5000, 'subscribed');
  await assertDroppedByWriteDeadline(w, c, ch, '{"push"');
});

// ------------------------------------------------------------------------------ allowed_origins

test('allowed_origins: gobwas/glob patterns, case-insensitive; refused upgrades get 403', async (t, s) => {
  const o = await startServer({
    token_hmac_secret_key: 'secret',
    allowed_origins: ['https://*.example.com', 'http://localhost:[3-5]000', 'https://{foo,bar}.test', 'HTTPS://Upper.Example.ORG', 'http://?.single.io', 'https://[!x]*.neg.io'],
  });
  s.defer(() => o.stop());
  const cases = [
    ['https://a.example.com', true],
    ['https://a.b.example.com', true], // no separators: * crosses dots
    ['HTTPS://A.EXAMPLE.COM', true],
    ['http://a.example.com', false],
    ['https://example.com', false],
    ['https://a.example.com.evil.net', false],
    ['http://localhost:3000', true],
    ['http://localhost:5000', true],
    ['http://localhost:6000', false],
    ['https://foo.test', true],
    ['https://bar.test', true],
    ['https://baz.test', false],
    ['https://upper.example.org', true],
    ['http://a.single.io', true],
    ['http://ab.single.io', false],
    ['https://a.neg.io', true],
    ['https://x.neg.io', false],
    [undefined, true], // no Origin header
  ];
  for (const [origin, ok] of cases) {
    const r = await WireClient.open(o.port, { origin }).then((c) => (c.destroy(), 101), (e) => e.status);
    assert.equal(r, ok ? 101 : 403, `origin ${origin}`);
  }
  // The ws package (sends Origin when told).
  await wsOpen(s, o.wsUrl, { origin: 'https://app.example.com' });
  await assert.rejects(wsOpen(s, o.wsUrl, { origin: 'https://app.example.net' }), (e) => e.status === 403);
});

test('allowed_origins: ["*"] allows any origin; empty list allows only the same host', async (t, s) => {
  const any = await startServer({ token_hmac_secret_key: 'secret', allowed_origins: ['*'] });
  s.defer(() => any.stop());
  for (const origin of ['https://whatever.io', 'null', 'http://127.0.0.1:1']) {
    const r = await WireClient.open(any.port, { origin }).then((c) => (c.destroy(), 101), (e) => e.status);
    assert.equal(r, 101, origin);
  }
  const same = async (origin) => WireClient.open(srvOff.port, { origin }).then((c) => (c.destroy(), 101), (e) => e.status);
  assert.equal(await same(`http://127.0.0.1:${srvOff.port}`), 101);
  assert.equal(await same(`HTTP://127.0.0.1:${srvOff.port}`), 101);
  assert.equal(await same(`http://127.0.0.1:${srvOff.port + 1}`), 403);
  assert.equal(await same('https://example.com'), 403);
});

test('allowed_origins: an invalid glob fails checkconfig', () => {
  const dir = makeTempDir();
  const f = path.join(dir, 'bad.json');
  writeFileSync(f, JSON.stringify({ allowed_origins: ['https://[z-a].example.com'] }));
  const r = runGyre(['checkconfig', '-c', f]);
  assert.notEqual(r.code, 0, r.out);
  assert.match(r.out, /allowed_origins\[0\]/);
});
