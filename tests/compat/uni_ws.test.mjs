// uni_websocket options as Centrifugo v5.4 has them (reference.md §1.9: every WebSocket option
// mirrored with the `uni_` prefix): permessage-deflate negotiated from uni_websocket_compression
// alone, uni_websocket_compression_min_size/_level, uni_websocket_write_timeout, and the native
// ping frames with their pong deadline (shortened through the GYRE_TEST_UNI_WS_PING_MS test hook,
// docs/architecture.md).
//
// WireClient (ws_wire.mjs) sees the frames as sent (RSV1, close frames); the `ws` package checks
// that the compressed pushes decode, byte for byte, in a client people use.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { DEFLATE_RESPONSE, inflate, wire, assertDroppedByWriteDeadline } from './ws_wire.mjs';
import { test, startServer, userToken, uniq, until, sleep, withTimeout } from './harness.mjs';

const UUID_G = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const UNI_PATH = '/connection/uni_websocket';
const MIN_SIZE = 120;
const namespaces = [{ name: 'uni', allow_subscribe_for_client: true }];

let srv; // uni compression on above MIN_SIZE; bidirectional compression off
let srvAll; // uni compression on for every message, invalid level (→ 1); short app pings
let srvOff; // bidirectional compression on, uni compression off (default)

before(async () => {
  const base = { api_key: 'k', token_hmac_secret_key: 'secret', namespaces, uni_websocket: true };
  [srv, srvAll, srvOff] = await Promise.all([
    startServer({
      ...base, uni_websocket_compression: true, uni_websocket_compression_min_size: MIN_SIZE,
      uni_websocket_compression_level: 6,
      // Accepted without effect, as their bidirectional twins.
      uni_websocket_read_buffer_size: 512, uni_websocket_write_buffer_size: 512,
      uni_websocket_use_write_buffer_pool: true,
    }),
    startServer({
      ...base, uni_websocket_compression: true, uni_websocket_compression_level: 42,
      ping_interval: '2s', pong_timeout: '1s',
    }),
    startServer({ ...base, websocket_compression: true }),
  ]);
});
after(async () => {
  await Promise.all([srv, srvAll, srvOff].filter(Boolean).map((x) => x.stop()));
});

function connectPush(ch, ping = 25) {
  return `{"connect":{"client":"UUID","version":"VERSION","subs":{"${ch}":{}},"ping":${ping},"session":"UUID"}}`;
}
function expectConnectPush(text, ch, ping) {
  const v = JSON.parse(text).connect.version;
  assert.equal(text.replace(UUID_G, 'UUID'), connectPush(ch, ping).replace('VERSION', v));
}

// A publication push of exactly `size` bytes: {"channel":"<ch>","pub":{"data":"xxx…"}}.
function pubOfSize(ch, size) {
  const overhead = `{"channel":"${ch}","pub":{"data":""}}`.length;
  const data = 'x'.repeat(size - overhead);
  return { data, push: `{"channel":"${ch}","pub":{"data":"${data}"}}` };
}

function wsOpen(s, url, opts = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts);
    s.defer(() => ws.terminate());
    ws.msgs = [];
    ws.on('message', (d) => ws.msgs.push(d.toString()));
    ws.closeInfo = new Promise((res) => ws.on('close', (code, reason) => res({ code, reason: reason.toString() })));
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
  });
}

const uniUrl = (server) => `ws://127.0.0.1:${server.port}${UNI_PATH}`;

// ------------------------------------------------------------------------------ negotiation

test('uni_websocket_compression: negotiated as Centrifugo answers it; independent of websocket_compression', async (t, s) => {
  const c = await wire(s, srv.port, { path: UNI_PATH, extensions: 'permessage-deflate; client_max_window_bits' });
  assert.equal(c.status, 101);
  assert.equal(c.headers['sec-websocket-extensions'], DEFLATE_RESPONSE);
  const ws = await wsOpen(s, uniUrl(srv));
  assert.equal(ws.extensions, 'permessage-deflate');
  // Not offered: nothing negotiated.
  const plain = await wire(s, srv.port, { path: UNI_PATH });
  assert.equal(plain.headers['sec-websocket-extensions'], undefined);
  // The bidirectional endpoint of the same server keeps websocket_compression (off).
  const bidi = await wire(s, srv.port, { extensions: 'permessage-deflate' });
  assert.equal(bidi.headers['sec-websocket-extensions'], undefined);
});

test('uni_websocket_compression false: no compression on uni_websocket even with websocket_compression true', async (t, s) => {
  const c = await wire(s, srvOff.port, { path: UNI_PATH, extensions: 'permessage-deflate; client_max_window_bits' });
  assert.equal(c.headers['sec-websocket-extensions'], undefined);
  const ch = uniq('uni:');
  c.sendText(JSON.stringify({ token: userToken('u1'), subs: { [ch]: {} } }));
  const m = await c.message(() => true, 5000, 'connect push');
  assert.equal(m.rsv1, false);
  expectConnectPush(m.text, ch);
  const { data, push } = pubOfSize(ch, 400);
  await srvOff.apiOk('publish', { channel: ch, data });
  const p = await c.message(() => true, 5000, 'publication');
  assert.equal(p.rsv1, false);
  assert.equal(p.text, push);
  const ws = await wsOpen(s, uniUrl(srvOff));
  assert.equal(ws.extensions, '');
  // The bidirectional endpoint negotiates.
  const bidi = await wire(s, srvOff.port, { extensions: 'permessage-deflate' });
  assert.equal(bidi.headers['sec-websocket-extensions'], DEFLATE_RESPONSE);
});

// ------------------------------------------------------------------------------ payloads

test('uni_websocket compression: connect and publication pushes exact, compressed above the min size only', async (t, s) => {
  const ch = uniq('uni:');
  const c = await wire(s, srv.port, { path: UNI_PATH, extensions: 'permessage-deflate' });
  const c2 = await wire(s, srv.port, { path: UNI_PATH, extensions: 'permessage-deflate' });
  const ws = await wsOpen(s, uniUrl(srv));
  const connect = JSON.stringify({ token: userToken('u1'), subs: { [ch]: {} } });
  // The connect message itself may come compressed.
  c.sendText(connect, { compress: true });
  c2.sendText(connect);
  ws.send(connect);
  for (const x of [c, c2]) {
    const m = await x.message(() => true, 5000, 'connect push');
    assert.ok(m.payload.length > 0 && m.text.length > MIN_SIZE, m.text);
    assert.equal(m.rsv1, true, 'the connect push is longer than the min size');
    expectConnectPush(m.text, ch);
  }
  await until(() => ws.msgs.length >= 1, 5000, 'ws connect push');
  expectConnectPush(ws.msgs[0], ch);

  const sizes = [MIN_SIZE - 1, MIN_SIZE, MIN_SIZE + 1, 2000];
  const pubs = sizes.map((n) => pubOfSize(ch, n));
  for (const p of pubs) await srv.apiOk('publish', { channel: ch, data: p.data });
  const frames = [];
  for (const p of pubs) {
    const m = await c.message(() => true, 5000, `publication of ${p.push.length} bytes`);
    assert.equal(m.text, p.push);
    // Centrifuge compresses a message when it is longer than the minimum.
    assert.equal(m.rsv1, p.push.length > MIN_SIZE, `${p.push.length} bytes`);
    if (m.rsv1) assert.ok(m.payload.length < p.push.length);
    frames.push(m);
  }
  // Compressed once per shard: the other subscriber gets the same bytes.
  for (const f of frames) {
    const m = await c2.message(() => true, 5000, 'publication (second subscriber)');
    assert.equal(m.rsv1, f.rsv1);
    assert.equal(m.text, f.text);
  }
  // ws inflates them to the exact pushes.
  await until(() => ws.msgs.length >= 1 + pubs.length, 5000, 'ws publications');
  assert.deepEqual(ws.msgs.slice(1), pubs.map((p) => p.push));
});

test('uni_websocket compression min size 0: every message compressed (app pings, disconnect push); close frame plain; bad level → 1', async (t, s) => {
  const ch = uniq('uni:');
  const c = await wire(s, srvAll.port, { path: UNI_PATH, extensions: 'permessage-deflate' });
  assert.equal(c.headers['sec-websocket-extensions'], DEFLATE_RESPONSE);
  c.sendText(JSON.stringify({ token: userToken('u7'), subs: { [ch]: {} } }));
  const m = await c.message(() => true, 5000, 'connect push');
  assert.equal(m.rsv1, true);
  expectConnectPush(m.text, ch, 2);
  // App pings ({}) come every 2 s, so other messages are picked by content.
  const text = (f) => (f.rsv1 ? inflate(f.payload) : f.payload).toString();
  const notPing = (f) => text(f) !== '{}';
  await srvAll.apiOk('publish', { channel: ch, data: 1 });
  const p = await c.message(notPing, 5000, 'publication');
  assert.equal(p.rsv1, true);
  assert.equal(p.text, `{"channel":"${ch}","pub":{"data":1}}`);
  const ping = await c.message((f) => !notPing(f), 5000, 'app ping');
  assert.equal(ping.rsv1, true);
  assert.equal(ping.text, '{}');
  await srvAll.apiOk('disconnect', { user: 'u7' });
  const d = await c.message(notPing, 5000, 'disconnect push');
  assert.equal(d.rsv1, true);
  assert.equal(d.text, '{"disconnect":{"code":3503,"reason":"force disconnect"}}');
  const close = await c.frame((f) => f.opcode === 8, 5000, 'close frame');
  assert.equal(close.rsv1, false);
  assert.equal(close.payload.readUInt16BE(0), 3503);
  assert.equal(close.payload.subarray(2).toString(), 'force disconnect');
  assert.match(srvAll.output(), /"level":"error","error":"websocket: invalid compression level","compression_level":42,"transport":"uni_websocket","time":"[^"]+","message":"websocket error setting compression level"/);
  // inflate() is what a client does with level 1 output too.
  assert.equal(inflate(p.payload).toString(), p.text);
});

// ------------------------------------------------------------------------------ write timeout

test('uni_websocket_write_timeout: its own key drops a client that stops reading (websocket_write_timeout is long)', async (t, s) => {
  const w = await startServer({
    api_key: 'k', token_hmac_secret_key: 'secret', namespaces, uni_websocket: true,
    client_queue_max_size: 200 * 1024 * 1024, websocket_write_timeout: '60s', uni_websocket_write_timeout: '1s',
  });
  s.defer(() => w.stop());
  const c = await wire(s, w.port, { path: UNI_PATH });
  const ch = uniq('uni:');
  c.sendText(JSON.stringify({ token: userToken('u1'), subs: { [ch]: {} } }));
  await c.message(() => true, 5000, 'connect push');
  await assertDroppedByWriteDeadline(w, c, ch, '{"channel"');
});

// ------------------------------------------------------------------------------ native ping/pong

test('uni_websocket native pings: a client that does not pong is dropped (1006); one that pongs stays', async (t, s) => {
  // Test hook: ping every 600 ms, pong due within 300 ms (production: 25 s and 25 s / 9).
  const p = await startServer({ api_key: 'k', token_hmac_secret_key: 'secret', namespaces, uni_websocket: true }, {
    env: { GYRE_TEST_UNI_WS_PING_MS: '600,300' },
  });
  s.defer(() => p.stop());
  const ch = uniq('uni:');
  const connect = JSON.stringify({ token: userToken('u1'), subs: { [ch]: {} } });

  const silent = await wsOpen(s, uniUrl(p), { autoPong: false });
  const answering = await wsOpen(s, uniUrl(p));
  for (const ws of [silent, answering]) {
    ws.pings = [];
    ws.on('ping', (d) => ws.pings.push({ at: Date.now(), data: d.length }));
    ws.send(connect);
  }
  await until(() => silent.msgs.length >= 1 && answering.msgs.length >= 1, 5000, 'connect pushes');
  expectConnectPush(silent.msgs[0], ch);

  const ci = await withTimeout(silent.closeInfo, 5000, 'silent client dropped');
  assert.equal(silent.pings.length, 1, 'one ping, then dropped');
  assert.equal(silent.pings[0].data, 0, 'empty ping payload');
  assert.deepEqual(ci, { code: 1006, reason: '' }, 'no close frame');
  assert.ok(Date.now() - silent.pings[0].at >= 200, 'dropped at the pong deadline, not at once');

  await until(() => answering.pings.length >= 3, 5000, 'pings keep coming');
  assert.equal(answering.readyState, WebSocket.OPEN);
  await p.apiOk('publish', { channel: ch, data: { still: 'here' } });
  await until(() => answering.msgs.length >= 2, 5000, 'publication after pings');
  assert.equal(answering.msgs.at(-1), `{"channel":"${ch}","pub":{"data":{"still":"here"}}}`);
  assert.match(p.output(), /GYRE_TEST_UNI_WS_PING_MS/);
});
