// HTTP-based client transports (client-protocol.md §8.2, §8.3; reference.md §1.2-§1.9):
// HTTP-streaming and SSE emulation with the official SDK (JSON and Protobuf builds), the
// /emulation endpoint, the unidirectional transports byte for byte, CORS and bad input.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createRequire } from 'node:module';
import {
  test, startServer, TOKENS, userToken, uniq, sleep, once, collect, until, withTimeout, rejects,
  httpRequest, Centrifuge, WebSocket, assertServerAlive, Waitable,
} from './harness.mjs';

const require = createRequire(import.meta.url);
const EventSource = require('eventsource');
const { Centrifuge: CentrifugeProto } = require('centrifuge/build/protobuf');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UUID_G = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

const NS = [
  {
    name: 'chat', presence: true, join_leave: true, history_size: 10, history_ttl: '300s',
    allow_subscribe_for_client: true, allow_publish_for_subscriber: true, allow_presence_for_subscriber: true,
    allow_history_for_subscriber: true,
  },
  {
    name: 'rec', history_size: 10, history_ttl: '300s', force_recovery: true, allow_subscribe_for_client: true,
    allow_history_for_subscriber: true,
  },
  { name: 'uni', allow_subscribe_for_client: true },
  { name: 'unih', allow_subscribe_for_client: true, history_size: 10, history_ttl: '300s', force_recovery: true },
  {
    name: 'dd', history_size: 10, history_ttl: '300s', force_recovery: true, allowed_delta_types: ['fossil'],
    allow_subscribe_for_client: true,
  },
];

let emu; // http_stream + sse + emulation
let uni; // unidirectional transports, short pings, code transforms

before(async () => {
  emu = await startServer({
    api_key: 'k', token_hmac_secret_key: 'secret', namespaces: NS, http_stream: true, sse: true,
    allowed_origins: ['http://allowed.example'],
  });
  uni = await startServer({
    api_key: 'k', token_hmac_secret_key: 'secret', namespaces: NS,
    uni_http_stream: true, uni_sse: true, uni_websocket: true, ping_interval: '2s', pong_timeout: '1s',
    allowed_origins: ['http://allowed.example'],
    client_connect_code_to_unidirectional_disconnect: {
      enabled: true, transforms: [{ code: 109, to: { code: 4501, reason: 'token expired (custom)' } }],
    },
    uni_sse_connect_code_to_http_response: {
      enabled: true, transforms: [{ code: 3500, to: { status_code: 403, body: 'bad token' } }],
    },
  });
});
after(async () => {
  if (emu) await emu.stop();
  if (uni) await uni.stop();
});

// ---------------------------------------------------------------------------------------------
// Raw HTTP over a TCP socket: exact status line, headers and (de-chunked) body bytes.

function buildRequest(method, path, { headers = {}, body } = {}) {
  const b = body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(body);
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  if (body !== undefined || method === 'POST') lines.push(`Content-Length: ${b.length}`);
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n'), b]);
}

class RawHttp extends Waitable {
  static open(server, method, path, opts = {}) {
    return new Promise((resolve, reject) => {
      const sock = net.connect(server.port, '127.0.0.1', () => {
        sock.write(buildRequest(method, path, opts));
        resolve(new RawHttp(sock));
      });
      sock.on('error', reject);
    });
  }
  constructor(sock) {
    super();
    this.sock = sock;
    this.raw = Buffer.alloc(0);
    this.closed = false;
    sock.on('data', (d) => {
      this.raw = Buffer.concat([this.raw, d]);
      this._notify();
    });
    sock.on('close', () => {
      this.closed = true;
      this._notify();
    });
    sock.on('error', () => {});
  }
  get headEnd() {
    return this.raw.indexOf('\r\n\r\n');
  }
  /** The response head, with a well-formed `Date` value (IMF-fixdate) replaced by DATE. */
  get head() {
    const i = this.headEnd;
    return i < 0
      ? null
      : this.raw.subarray(0, i).toString()
        .replace(/\r\nDate: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT(?=\r\n|$)/, '\r\nDate: DATE');
  }
  get status() {
    const h = this.head;
    return h === null ? null : Number(h.split(' ')[1]);
  }
  header(name) {
    const h = this.head;
    if (h === null) return undefined;
    for (const line of h.split('\r\n').slice(1)) {
      const i = line.indexOf(':');
      if (line.slice(0, i).toLowerCase() === name.toLowerCase()) return line.slice(i + 1).trim();
    }
    return undefined;
  }
  /** Body bytes: de-chunked when chunked (complete chunks only), else as received. */
  get body() {
    const i = this.headEnd;
    if (i < 0) return Buffer.alloc(0);
    let rest = this.raw.subarray(i + 4);
    if ((this.header('transfer-encoding') || '') !== 'chunked') return rest;
    const parts = [];
    this.ended = false;
    for (;;) {
      const nl = rest.indexOf('\r\n');
      if (nl < 0) break;
      const n = parseInt(rest.subarray(0, nl).toString(), 16);
      if (n === 0) {
        this.ended = true;
        break;
      }
      if (rest.length < nl + 2 + n + 2) break;
      parts.push(rest.subarray(nl + 2, nl + 2 + n));
      rest = rest.subarray(nl + 2 + n + 2);
    }
    return Buffer.concat(parts);
  }
  get text() {
    return this.body.toString();
  }
  /** Waits until pred(this) is true (a throwing pred counts as false). */
  waitFor(pred, ms = 5000, label = 'condition') {
    const holds = () => {
      try {
        return pred(this);
      } catch {
        return false;
      }
    };
    return this._wait(() => (holds() ? this : undefined), () => false, ms, label,
      () => `got ${JSON.stringify(this.raw.toString())}`);
  }
  lines() {
    return this.text.split('\n').filter((l) => l.length > 0);
  }
  /** SSE events: body after the initial CR LF, split on blank lines, `data: ` removed. */
  events() {
    const t = this.text;
    assert.ok(t.startsWith('\r\n'), `SSE body must start with CR LF: ${JSON.stringify(t)}`);
    return t.slice(2).split('\n\n').filter((e) => e.length > 0).map((e) => {
      assert.ok(e.startsWith('data: '), `SSE event must be "data: ...": ${JSON.stringify(e)}`);
      return e.slice(6);
    });
  }
  close() {
    this.sock.destroy();
  }
}

const rawHttp = (scope, server, method, path, opts) =>
  RawHttp.open(server, method, path, opts).then((r) => {
    scope.defer(() => r.close());
    return r;
  });

const anonymize = (s) => s.replace(UUID_G, 'UUID');

function varint(n) {
  const out = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}
const pbField = (num, bytes) => Buffer.concat([varint((num << 3) | 2), varint(bytes.length), bytes]);
const pbVarintField = (num, v) => Buffer.concat([varint(num << 3), varint(v)]);
const delimited = (msg) => Buffer.concat([varint(msg.length), msg]);

/** Length-delimited Reply{push: Push{disconnect: {code, reason}}} (Protobuf). */
function pbDisconnectReply(code, reason) {
  const d = Buffer.concat([pbVarintField(1, code), pbField(2, Buffer.from(reason))]);
  return delimited(pbField(4, pbField(11, d)));
}

// ---------------------------------------------------------------------------------------------
// SDK over http_stream and sse

function emuSdk(scope, server, transport, opts = {}, Impl = Centrifuge) {
  const c = new Impl([{ transport, endpoint: `${server.base}/connection/${transport}` }], {
    emulationEndpoint: `${server.base}/emulation`,
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

async function sdkScenario(s, transport, Impl = Centrifuge) {
  const proto = Impl !== Centrifuge;
  const enc = (o) => (proto ? new TextEncoder().encode(JSON.stringify(o)) : o);
  const dec = (d) => (proto ? JSON.parse(new TextDecoder().decode(d)) : d);
  const num = (x) => (x && typeof x === 'object' ? x.toNumber() : x);

  const c = emuSdk(s, emu, transport, { token: userToken(42) }, Impl);
  const conn = once(c, 'connected', 8000);
  c.connect();
  const ctx = await conn;
  assert.match(ctx.client, UUID);
  assert.equal(ctx.transport, transport);

  const ch = uniq('chat:');
  const sub = c.newSubscription(ch);
  const pubs = collect(sub, 'publication');
  const subd = once(sub, 'subscribed', 5000);
  sub.subscribe();
  await subd;

  await withTimeout(sub.publish(enc({ from: 'client' })), 5000, 'client publish');
  await until(() => pubs.length === 1, 5000, 'own publication');
  assert.deepEqual(dec(pubs[0].data), { from: 'client' });
  assert.equal(num(pubs[0].offset), 1);
  assert.equal(pubs[0].info.user, '42');

  await emu.apiOk('publish', { channel: ch, data: { from: 'api' } });
  await until(() => pubs.length === 2, 5000, 'API publication');
  assert.deepEqual(dec(pubs[1].data), { from: 'api' });

  const presence = await sub.presence();
  assert.deepEqual(Object.keys(presence.clients), [ctx.client]);
  assert.deepEqual(await sub.presenceStats(), { numClients: 1, numUsers: 1 });
  const h = await sub.history({ limit: 10 });
  assert.equal(h.publications.length, 2);
  assert.equal(num(h.offset), 2);
  const err = await rejects(c.rpc('m', enc({})));
  assert.equal(err.code, 108);

  // Recovery after reconnect (client-protocol.md §5.3) over the same transport.
  const rch = uniq('rec:');
  const rsub = c.newSubscription(rch);
  const rsubd = collect(rsub, 'subscribed');
  const rpubs = collect(rsub, 'publication');
  rsub.subscribe();
  await until(() => rsubd.length === 1, 5000, 'rec subscribed');
  await emu.apiOk('publish', { channel: rch, data: { n: 1 } });
  await until(() => rpubs.length === 1, 5000, 'rec live');
  c.disconnect();
  await sleep(100);
  await emu.apiOk('publish', { channel: rch, data: { n: 2 } });
  c.connect();
  await until(() => rsubd.length === 2, 8000, 'rec resubscribed');
  assert.equal(rsubd[1].wasRecovering, true);
  assert.equal(rsubd[1].recovered, true);
  await until(() => rpubs.length === 2, 5000, 'recovered publication');
  assert.deepEqual(rpubs.map((p) => [num(p.offset), dec(p.data).n]), [[1, 1], [2, 2]]);
}

test('SDK over http_stream (JSON): connect, subscribe, publish, API publish, presence, history, recovery', async (t, s) => {
  await sdkScenario(s, 'http_stream');
});

test('SDK over http_stream (Protobuf build): the same scenario with varint-delimited frames', async (t, s) => {
  await sdkScenario(s, 'http_stream', CentrifugeProto);
});

test('SDK over sse (eventsource): the same scenario', async (t, s) => {
  await sdkScenario(s, 'sse');
});

test('SDK over http_stream: server disconnect reaches the SDK through the disconnect push', async (t, s) => {
  const c = emuSdk(s, emu, 'http_stream', { token: userToken(7001) });
  const conn = once(c, 'connected', 8000);
  c.connect();
  await conn;
  const disc = once(c, 'disconnected', 5000);
  await emu.apiOk('disconnect', { user: '7001' });
  assert.deepEqual(await disc, { code: 3503, reason: 'force disconnect' });
});

// ---------------------------------------------------------------------------------------------
// Raw http_stream / sse / emulation

const STREAM_HEAD = [
  'HTTP/1.1 200 OK',
  'Cache-Control: private, no-cache, no-store, must-revalidate, max-age=0',
  'Connection: keep-alive',
];
const STREAM_TAIL = ['Date: DATE', 'Expire: 0', 'Pragma: no-cache', 'X-Accel-Buffering: no'];

test('raw http_stream: exact head, connect reply line with session and node, commands via /emulation → 204', async (t, s) => {
  const r = await rawHttp(s, emu, 'POST', '/connection/http_stream', {
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ connect: { token: userToken(42), name: 'js' }, id: 1 }),
  });
  await r.waitFor((x) => x.lines().length >= 1, 5000, 'connect reply');
  assert.equal(r.head, [...STREAM_HEAD, ...STREAM_TAIL, 'Transfer-Encoding: chunked'].join('\r\n'));
  assert.ok(r.text.endsWith('\n'), 'each reply ends with LF');
  const reply = JSON.parse(r.lines()[0]);
  assert.equal(reply.id, 1);
  assert.match(reply.connect.session, UUID);
  assert.equal(typeof reply.connect.node, 'string');
  assert.ok(reply.connect.node.length > 0);
  assert.equal(anonymize(r.lines()[0]),
    `{"id":1,"connect":{"client":"UUID","version":"${reply.connect.version}","ping":25,"pong":true,"session":"UUID","node":"${anonymize(reply.connect.node)}"}}`);
  const { session, node } = reply.connect;
  const ch = uniq('chat:');
  const res = await httpRequest(`${emu.base}/emulation`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ session, node, data: JSON.stringify({ subscribe: { channel: ch }, id: 2 }) }),
  });
  assert.equal(res.status, 204);
  assert.equal(res.text, '');
  await r.waitFor((x) => x.lines().length >= 2, 5000, 'subscribe reply');
  assert.equal(r.lines()[1], '{"id":2,"subscribe":{}}');
  await emu.apiOk('publish', { channel: ch, data: { a: 1 } });
  await r.waitFor((x) => x.lines().length >= 3, 5000, 'publication push');
  const epoch = JSON.parse(r.lines()[2]).push.pub.epoch;
  assert.equal(r.lines()[2], `{"push":{"channel":"${ch}","pub":{"data":{"a":1},"offset":1,"epoch":"${epoch}"}}}`);
  // A server disconnect: the disconnect push, then the last chunk; the socket closes.
  await emu.apiOk('disconnect', { user: '42' });
  await r.waitFor((x) => x.closed, 5000, 'stream end');
  assert.equal(r.lines()[3], '{"push":{"disconnect":{"code":3503,"reason":"force disconnect"}}}');
  r.body;
  assert.equal(r.ended, true, 'terminating chunk');
});

test('raw http_stream Protobuf: varint-delimited reply; garbage and truncated varint bodies → 3501 push', async (t, s) => {
  // Command{id:1, connect:{token}} length-delimited.
  const cmd = Buffer.concat([pbVarintField(1, 1), pbField(4, pbField(1, Buffer.from(userToken(42))))]);
  const r = await rawHttp(s, emu, 'POST', '/connection/http_stream', {
    headers: { 'Content-Type': 'application/octet-stream' }, body: delimited(cmd),
  });
  await r.waitFor((x) => x.body.length > 2, 5000, 'pb connect reply');
  assert.equal(r.status, 200);
  const b = r.body;
  // varint length of the rest, then Reply{1: id=1, 5: connect}.
  let len = 0;
  let k = 0;
  for (let shift = 0; ; shift += 7, k++) {
    len += (b[k] & 0x7f) * 2 ** shift;
    if (b[k] < 0x80) break;
  }
  k++;
  assert.equal(len, b.length - k, 'one delimited Reply');
  assert.deepEqual([...b.subarray(k, k + 3)], [0x08, 0x01, 0x2a]);
  for (const bad of [Buffer.from([0x85]), Buffer.from([0x05, 0xff, 0xff]), Buffer.from('garbage')]) {
    const g = await rawHttp(s, emu, 'POST', '/connection/http_stream', {
      headers: { 'Content-Type': 'application/octet-stream' }, body: bad,
    });
    await g.waitFor((x) => x.closed, 5000, 'stream end after bad frame');
    assert.equal(g.status, 200);
    assert.deepEqual(g.body, pbDisconnectReply(3501, 'bad request'));
  }
  await assertServerAlive(emu, userToken(42), s);
});

test('raw http_stream: bad JSON and empty body → disconnect push 3501 on a 200 stream', async (t, s) => {
  for (const body of ['not json', '']) {
    const r = await rawHttp(s, emu, 'POST', '/connection/http_stream', { body });
    await r.waitFor((x) => x.closed, 5000, 'stream end');
    assert.equal(r.status, 200);
    assert.equal(r.text, '{"push":{"disconnect":{"code":3501,"reason":"bad request"}}}\n');
  }
});

test('http_stream / sse / emulation: wrong method 405, OPTIONS preflight, oversized bodies 413', async (t, s) => {
  for (const p of ['/connection/http_stream', '/emulation']) {
    const g = await httpRequest(`${emu.base}${p}`, { method: 'GET' });
    assert.equal(g.status, 405, p);
    const put = await httpRequest(`${emu.base}${p}`, { method: 'PUT', body: '{}' });
    assert.equal(put.status, 405, p);
    const o = await httpRequest(`${emu.base}${p}`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://allowed.example', 'Access-Control-Request-Headers': 'content-type' },
    });
    assert.equal(o.status, 200, p);
    assert.equal(o.headers.get('access-control-allow-origin'), 'http://allowed.example');
    assert.equal(o.headers.get('access-control-allow-credentials'), 'true');
    assert.equal(o.headers.get('access-control-allow-headers'), 'content-type');
    const big = await httpRequest(`${emu.base}${p}`, { method: 'POST', body: 'x'.repeat(65537) });
    assert.equal(big.status, 413, p);
  }
  const sseBig = await httpRequest(`${emu.base}/connection/sse`, { method: 'POST', body: 'x'.repeat(65537) });
  assert.equal(sseBig.status, 413);
  const sseNo = await httpRequest(`${emu.base}/connection/sse`, { method: 'GET' });
  assert.equal(sseNo.status, 400);
  const ssePut = await httpRequest(`${emu.base}/connection/sse`, { method: 'PUT', body: '{}' });
  assert.equal(ssePut.status, 405);
  await assertServerAlive(emu, userToken(42), s);
});

test('/emulation: unknown node 404, unknown session 204, undecodable JSON/Protobuf 400', async (t, s) => {
  // The node id comes from a connect reply.
  const r = await rawHttp(s, emu, 'POST', '/connection/http_stream', {
    body: JSON.stringify({ connect: { token: userToken(42) }, id: 1 }),
  });
  await r.waitFor((x) => x.lines().length >= 1, 5000, 'connect reply');
  const { node } = JSON.parse(r.lines()[0]).connect;
  const post = (body, ct = 'application/json') =>
    httpRequest(`${emu.base}/emulation`, { method: 'POST', headers: { 'Content-Type': ct }, body });
  assert.equal((await post(JSON.stringify({ node: 'nope', session: 's', data: '{}' }))).status, 404);
  assert.equal((await post(JSON.stringify({ node, session: 'no-such-session', data: '{}' }))).status, 204);
  assert.equal((await post('{"node":')).status, 400);
  assert.equal((await post('[1,2]')).status, 400);
  assert.equal((await post(JSON.stringify({ node: 1 }))).status, 400);
  assert.equal((await post(Buffer.from([0x0a, 0xff]), 'application/octet-stream')).status, 400);
  assert.equal((await post(Buffer.from([0x0a, 0x05, 0x61]), 'application/octet-stream')).status, 400);
  const pbUnknownNode = Buffer.concat([pbField(1, Buffer.from('nope')), pbField(2, Buffer.from('s'))]);
  assert.equal((await post(pbUnknownNode, 'application/octet-stream')).status, 404);
  // data that is not a JSON string is dropped: 204, and the stream stays open and quiet.
  const { session } = JSON.parse(r.lines()[0]).connect;
  assert.equal((await post(JSON.stringify({ node, session, data: { not: 'a string' } }))).status, 204);
  // Positive control: a valid command sent after it is answered as the very next line.
  assert.equal((await post(JSON.stringify({ node, session, data: JSON.stringify({ id: 2, rpc: { method: 'm' } }) }))).status, 204);
  await r.waitFor((x) => x.lines().length >= 2, 5000, 'reply to the valid command');
  assert.equal(r.lines().length, 2);
  assert.equal(JSON.parse(r.lines()[1]).id, 2);
  assert.equal(r.closed, false);
  await assertServerAlive(emu, userToken(42), s);
});

test('raw sse: GET cf_connect → CR LF then data events; POST body works too', async (t, s) => {
  const connect = JSON.stringify({ connect: { token: userToken(42), name: 'js' }, id: 1 });
  const r = await rawHttp(s, emu, 'GET', `/connection/sse?cf_connect=${encodeURIComponent(connect)}`, {
    headers: { Accept: 'text/event-stream' },
  });
  await r.waitFor((x) => x.text.length > 2 && x.text.endsWith('\n\n'), 5000, 'connect event');
  assert.equal(r.head, [...STREAM_HEAD, 'Content-Type: text/event-stream; charset=utf-8', ...STREAM_TAIL,
    'Transfer-Encoding: chunked'].join('\r\n'));
  const ev = r.events();
  assert.equal(ev.length, 1);
  const reply = JSON.parse(ev[0]);
  assert.equal(reply.id, 1);
  assert.match(reply.connect.session, UUID);
  const p = await rawHttp(s, emu, 'POST', '/connection/sse', { body: connect });
  await p.waitFor((x) => x.text.length > 2 && x.text.endsWith('\n\n'), 5000, 'POST connect event');
  assert.equal(JSON.parse(p.events()[0]).id, 1);
  await emu.apiOk('disconnect', { user: '42' });
  await r.waitFor((x) => x.closed, 5000, 'sse end');
  assert.equal(r.events()[1], '{"push":{"disconnect":{"code":3503,"reason":"force disconnect"}}}');
});

test('CORS: allowed origin gets Access-Control headers; forbidden origin gets none (status unchanged)', async (t, s) => {
  const body = JSON.stringify({ connect: { token: userToken(42) }, id: 1 });
  const ok = await rawHttp(s, emu, 'POST', '/connection/http_stream', {
    headers: { Origin: 'http://allowed.example' }, body,
  });
  await ok.waitFor((x) => x.lines().length >= 1, 5000, 'connect reply');
  assert.equal(ok.header('access-control-allow-origin'), 'http://allowed.example');
  assert.equal(ok.header('access-control-allow-credentials'), 'true');
  const bad = await rawHttp(s, emu, 'POST', '/connection/http_stream', {
    headers: { Origin: 'http://evil.example' }, body,
  });
  await bad.waitFor((x) => x.lines().length >= 1, 5000, 'connect reply');
  assert.equal(bad.status, 200);
  assert.equal(bad.header('access-control-allow-origin'), undefined);
  const e = await httpRequest(`${emu.base}/emulation`, {
    method: 'POST', headers: { Origin: 'http://evil.example' }, body: JSON.stringify({ node: 'x' }),
  });
  assert.equal(e.status, 404);
  assert.equal(e.headers.get('access-control-allow-origin'), null);
});

// ---------------------------------------------------------------------------------------------
// Unidirectional transports

const UNI_CONNECT_PUSH = '{"connect":{"client":"UUID","version":"VERSION","subs":{"uni:CH":{}},"ping":2,"session":"UUID"}}';

function expectConnectPush(line, ch) {
  const v = JSON.parse(line).connect.version;
  assert.equal(anonymize(line), UNI_CONNECT_PUSH.replace('VERSION', v).replace('uni:CH', ch));
}

test('uni_http_stream: connect push, bare publication push, {} ping, disconnect push — exact bytes', async (t, s) => {
  const ch = uniq('uni:');
  const r = await rawHttp(s, uni, 'POST', '/connection/uni_http_stream', {
    body: JSON.stringify({ token: userToken(42), subs: { [ch]: {} } }),
  });
  await r.waitFor((x) => x.lines().length >= 1, 5000, 'connect push');
  assert.equal(r.head, [...STREAM_HEAD, ...STREAM_TAIL, 'Transfer-Encoding: chunked'].join('\r\n'));
  expectConnectPush(r.lines()[0], ch);
  await uni.apiOk('publish', { channel: ch, data: { hello: 'uni' } });
  await r.waitFor((x) => x.lines().length >= 2, 5000, 'publication push');
  assert.equal(r.lines()[1], `{"channel":"${ch}","pub":{"data":{"hello":"uni"}}}`);
  await r.waitFor((x) => x.lines().length >= 3, 4000, 'ping');
  assert.equal(r.lines()[2], '{}');
  await uni.apiOk('disconnect', { user: '42' });
  await r.waitFor((x) => x.closed, 5000, 'stream end');
  assert.equal(r.lines().at(-1), '{"disconnect":{"code":3503,"reason":"force disconnect"}}');
  assert.ok(r.text.endsWith('\n'));
});

test('uni_http_stream: bad token → disconnect push 3500; expired token → 109 transformed to 4501', async (t, s) => {
  const bad = await rawHttp(s, uni, 'POST', '/connection/uni_http_stream', {
    body: JSON.stringify({ token: userToken(42, {}, { secret: 'wrong' }) }),
  });
  await bad.waitFor((x) => x.closed, 5000, 'stream end');
  assert.equal(bad.status, 200);
  assert.equal(bad.text, '{"disconnect":{"code":3500,"reason":"invalid token"}}\n');
  const exp = await rawHttp(s, uni, 'POST', '/connection/uni_http_stream', {
    body: JSON.stringify({ token: TOKENS.C }),
  });
  await exp.waitFor((x) => x.closed, 5000, 'stream end');
  assert.equal(exp.text, '{"disconnect":{"code":4501,"reason":"token expired (custom)"}}\n');
  // No credentials at all → 3501.
  const none = await rawHttp(s, uni, 'POST', '/connection/uni_http_stream', { body: '{}' });
  await none.waitFor((x) => x.closed, 5000, 'stream end');
  assert.equal(none.text, '{"disconnect":{"code":3501,"reason":"bad request"}}\n');
});

test('uni_http_stream: bad input — invalid JSON/empty body 400, GET 405, OPTIONS 200, oversized 413', async (t, s) => {
  const url = `${uni.base}/connection/uni_http_stream`;
  assert.equal((await httpRequest(url, { method: 'POST', body: 'nope' })).status, 400);
  assert.equal((await httpRequest(url, { method: 'POST', body: '' })).status, 400);
  assert.equal((await httpRequest(url, { method: 'GET' })).status, 405);
  assert.equal((await httpRequest(url, { method: 'OPTIONS' })).status, 200);
  assert.equal((await httpRequest(url, { method: 'POST', body: `{"data":"${'x'.repeat(65536)}"}` })).status, 413);
  // `null` is an empty request: no credentials → 3501 on a stream.
  const r = await rawHttp(s, uni, 'POST', '/connection/uni_http_stream', { body: 'null' });
  await r.waitFor((x) => x.closed, 5000, 'stream end');
  assert.equal(r.text, '{"disconnect":{"code":3501,"reason":"bad request"}}\n');
  await assertServerAlive(uni, userToken(42), s);
});

test('uni_sse: GET cf_connect and POST body → data events; connect_code_to_http_response transforms', async (t, s) => {
  const ch = uniq('uni:');
  const q = encodeURIComponent(JSON.stringify({ token: userToken(42), subs: { [ch]: {} } }));
  const r = await rawHttp(s, uni, 'GET', `/connection/uni_sse?cf_connect=${q}`);
  await r.waitFor((x) => x.text.endsWith('\n\n'), 5000, 'connect event');
  assert.equal(r.header('content-type'), 'text/event-stream; charset=utf-8');
  expectConnectPush(r.events()[0], ch);
  await uni.apiOk('publish', { channel: ch, data: [1, 2] });
  await r.waitFor((x) => x.events().length >= 2, 5000, 'publication event');
  assert.equal(r.events()[1], `{"channel":"${ch}","pub":{"data":[1,2]}}`);
  const p = await rawHttp(s, uni, 'POST', '/connection/uni_sse', { body: JSON.stringify({ token: userToken(43) }) });
  await p.waitFor((x) => x.text.endsWith('\n\n'), 5000, 'POST connect event');
  assert.ok(JSON.parse(p.events()[0]).connect);
  // Transforms enabled on uni_sse: 3500 → 403 "bad token"; an unmatched code (109) → 500.
  const bad = await httpRequest(`${uni.base}/connection/uni_sse?cf_connect=${encodeURIComponent(
    JSON.stringify({ token: userToken(42, {}, { secret: 'wrong' }) }))}`);
  assert.equal(bad.status, 403);
  assert.equal(bad.text, 'bad token');
  const exp = await httpRequest(`${uni.base}/connection/uni_sse`, { method: 'POST', body: JSON.stringify({ token: TOKENS.C }) });
  assert.equal(exp.status, 500);
  assert.equal(exp.text, 'Internal Server Error');
  assert.equal((await httpRequest(`${uni.base}/connection/uni_sse?cf_connect=%7Bx`)).status, 400);
  assert.equal((await httpRequest(`${uni.base}/connection/uni_sse`, { method: 'PUT', body: '{}' })).status, 405);
  assert.equal((await httpRequest(`${uni.base}/connection/uni_sse`, { method: 'POST', body: 'x'.repeat(65537) })).status, 413);
});

function uniWs(scope, server, { query = '', origin } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/connection/uni_websocket${query}`,
      origin ? { headers: { Origin: origin } } : {});
    const msgs = [];
    ws.msgs = msgs;
    ws.on('message', (d) => msgs.push(d.toString()));
    ws.closeInfo = new Promise((res) => ws.on('close', (code, reason) => res({ code, reason: reason.toString() })));
    ws.on('open', () => resolve(ws));
    ws.on('unexpected-response', (req, res) => reject(Object.assign(new Error('unexpected response'), { status: res.statusCode })));
    ws.on('error', (e) => reject(e));
    scope.defer(() => ws.terminate());
  });
}

test('uni_websocket: connect as first message; pushes; disconnect push then close frame', async (t, s) => {
  const ch = uniq('uni:');
  const ws = await uniWs(s, uni);
  ws.send(JSON.stringify({ token: userToken(42), subs: { [ch]: {} } }));
  await until(() => ws.msgs.length >= 1, 5000, 'connect push');
  expectConnectPush(ws.msgs[0], ch);
  ws.send('anything later is ignored');
  await uni.apiOk('publish', { channel: ch, data: { w: 1 } });
  await until(() => ws.msgs.length >= 2, 5000, 'publication');
  assert.equal(ws.msgs[1], `{"channel":"${ch}","pub":{"data":{"w":1}}}`);
  await uni.apiOk('disconnect', { user: '42' });
  const ci = await withTimeout(ws.closeInfo, 5000, 'close');
  assert.equal(ws.msgs.at(-1), '{"disconnect":{"code":3503,"reason":"force disconnect"}}');
  assert.deepEqual(ci, { code: 3503, reason: 'force disconnect' });
});

test('uni_websocket: cf_connect in the URL (Centrifugo v6 style); bad first message → 3501', async (t, s) => {
  const ch = uniq('uni:');
  const ws = await uniWs(s, uni, { query: `?cf_connect=${encodeURIComponent(JSON.stringify({ token: userToken(42), subs: { [ch]: {} } }))}` });
  await until(() => ws.msgs.length >= 1, 5000, 'connect push');
  expectConnectPush(ws.msgs[0], ch);
  const bad = await uniWs(s, uni);
  bad.send('not json');
  const ci = await withTimeout(bad.closeInfo, 5000, 'close');
  assert.equal(bad.msgs.at(-1), '{"disconnect":{"code":3501,"reason":"bad request"}}');
  assert.deepEqual(ci, { code: 3501, reason: 'bad request' });
  const err = await uniWs(s, uni, { query: '?cf_connect=%7Bbad' }).catch((e) => e);
  assert.equal(err.status, 400);
});

test('uni_websocket: forbidden origin → 403; allowed origin upgrades', async (t, s) => {
  const err = await uniWs(s, uni, { origin: 'http://evil.example' }).catch((e) => e);
  assert.equal(err.status, 403);
  const ok = await uniWs(s, uni, { origin: 'http://allowed.example' });
  ok.send('{}');
  // No credentials: disconnect push and close 3501.
  const ci = await withTimeout(ok.closeInfo, 5000, 'close');
  assert.equal(ci.code, 3501);
  await assertServerAlive(uni, userToken(42), s);
});

test('uni transports: recovery positions from ConnectRequest.subs', async (t, s) => {
  const ch = uniq('unih:');
  await uni.apiOk('publish', { channel: ch, data: { n: 1 } });
  const first = await rawHttp(s, uni, 'POST', '/connection/uni_http_stream', {
    body: JSON.stringify({ token: userToken(42), subs: { [ch]: {} } }),
  });
  await first.waitFor((x) => x.lines().length >= 1, 5000, 'connect push');
  const sr = JSON.parse(first.lines()[0]).connect.subs[ch];
  assert.equal(sr.recoverable, true);
  assert.equal(sr.offset, 1);
  first.close();
  await uni.apiOk('publish', { channel: ch, data: { n: 2 } });
  const again = await rawHttp(s, uni, 'POST', '/connection/uni_http_stream', {
    body: JSON.stringify({ token: userToken(42), subs: { [ch]: { recover: true, offset: 1, epoch: sr.epoch } } }),
  });
  await again.waitFor((x) => x.lines().length >= 1, 5000, 'connect push');
  const rr = JSON.parse(again.lines()[0]).connect.subs[ch];
  assert.equal(rr.recovered, true);
  assert.equal(rr.was_recovering, true);
  assert.deepEqual(rr.publications.map((p) => p.data.n), [2]);
});

test('SIGTERM: http_stream, sse and uni_http_stream get a 3001 disconnect push and the stream ends; exit 0', async (t, s) => {
  const srv = await startServer({
    token_hmac_secret_key: 'secret', http_stream: true, sse: true, uni_http_stream: true,
  });
  const connect = JSON.stringify({ connect: { token: userToken(42) }, id: 1 });
  const hs = await rawHttp(s, srv, 'POST', '/connection/http_stream', { body: connect });
  const sse = await rawHttp(s, srv, 'POST', '/connection/sse', { body: connect });
  const us = await rawHttp(s, srv, 'POST', '/connection/uni_http_stream', { body: JSON.stringify({ token: userToken(42) }) });
  await hs.waitFor((x) => x.lines().length >= 1, 5000, 'http_stream connect');
  await sse.waitFor((x) => x.text.endsWith('\n\n'), 5000, 'sse connect');
  await us.waitFor((x) => x.lines().length >= 1, 5000, 'uni connect');
  const started = Date.now();
  const exit = await srv.stop(8000);
  assert.equal(exit.code, 0);
  assert.ok(Date.now() - started < 5000, 'prompt exit');
  for (const r of [hs, sse, us]) await r.waitFor((x) => x.closed, 5000, 'stream end');
  assert.equal(hs.lines().at(-1), '{"push":{"disconnect":{"code":3001,"reason":"shutdown"}}}');
  assert.equal(sse.events().at(-1), '{"push":{"disconnect":{"code":3001,"reason":"shutdown"}}}');
  assert.equal(us.lines().at(-1), '{"disconnect":{"code":3001,"reason":"shutdown"}}');
  hs.body;
  assert.equal(hs.ended, true);
});

test('flags --http_stream --uni_sse enable the transports; custom prefixes with a trailing slash; disabled → 404', async (t, s) => {
  const srv = await startServer({ client_insecure: true, http_stream_handler_prefix: '/hs/', uni_sse_handler_prefix: '/us' }, {
    args: ['--http_stream', '--uni_sse'],
  });
  s.defer(() => srv.stop());
  const r = await rawHttp(s, srv, 'POST', '/hs', { body: JSON.stringify({ connect: {}, id: 1 }) });
  await r.waitFor((x) => x.lines().length >= 1, 5000, 'connect reply');
  assert.equal(JSON.parse(r.lines()[0]).id, 1);
  const u = await rawHttp(s, srv, 'GET', '/us');
  await u.waitFor((x) => x.text.endsWith('\n\n'), 5000, 'uni connect event');
  assert.ok(JSON.parse(u.events()[0]).connect);
  for (const p of ['/connection/sse', '/connection/uni_http_stream', '/connection/uni_websocket', '/connection/http_stream']) {
    assert.equal((await httpRequest(`${srv.base}${p}`, { method: 'POST', body: '{}' })).status, 404, p);
  }
});

test('client_connection_limit → 503 on stream endpoints; client_user_id_http_header applies to streams', async (t, s) => {
  const srv = await startServer({
    http_stream: true, uni_http_stream: true, client_connection_limit: 1, client_user_id_http_header: 'X-User',
    namespaces: [{ name: 'uni', allow_subscribe_for_client: true }],
  });
  s.defer(() => srv.stop());
  const r = await rawHttp(s, srv, 'POST', '/connection/http_stream', {
    headers: { 'X-User': 'hdr-user' }, body: JSON.stringify({ connect: {}, id: 1 }),
  });
  await r.waitFor((x) => x.lines().length >= 1, 5000, 'connect reply');
  assert.ok(JSON.parse(r.lines()[0]).connect, r.lines()[0]);
  assert.equal((await httpRequest(`${srv.base}/connection/http_stream`, { method: 'POST', body: '{}' })).status, 503);
  assert.equal((await httpRequest(`${srv.base}/connection/uni_http_stream`, { method: 'POST', body: '{}' })).status, 503);
  r.close();
  await sleep(200);
  const u = await rawHttp(s, srv, 'POST', '/connection/uni_http_stream', {
    headers: { 'X-User': 'hdr-user' }, body: '{}',
  });
  await u.waitFor((x) => x.lines().length >= 1, 5000, 'uni connect push');
  assert.ok(JSON.parse(u.lines()[0]).connect, u.lines()[0]);
});

// Payloads that share most of their bytes, so fossil patches are shorter than the payloads.
const deltaPayload = (i) => ({ counter: i, text: 'a mostly constant text '.repeat(8), list: [1, 2, 3, i] });

for (const [transport, Impl, label] of [
  ['http_stream', Centrifuge, 'JSON'], ['http_stream', CentrifugeProto, 'Protobuf'], ['sse', Centrifuge, 'JSON'],
]) {
  test(`SDK over ${transport} (${label}): fossil delta subscription reconstructs every payload`, async (t, s) => {
    const proto = Impl !== Centrifuge;
    const dec = (d) => (proto ? JSON.parse(new TextDecoder().decode(d)) : d);
    const c = emuSdk(s, emu, transport, { token: userToken(42) }, Impl);
    const conn = once(c, 'connected', 8000);
    c.connect();
    await conn;
    const ch = uniq('dd:');
    const sub = c.newSubscription(ch, { delta: 'fossil' });
    const pubs = collect(sub, 'publication');
    const subd = once(sub, 'subscribed', 5000);
    sub.subscribe();
    await subd;
    for (let i = 1; i <= 4; i++) {
      await emu.apiOk('publish', { channel: ch, data: deltaPayload(i), delta: true });
    }
    await until(() => pubs.length === 4, 5000, 'publications');
    assert.deepEqual(pubs.map((p) => dec(p.data)), [1, 2, 3, 4].map(deltaPayload));
  });
}

test('raw http_stream: delta publications are the shared delta forms (full JSON string, then patch with delta:true)', async (t, s) => {
  const r = await rawHttp(s, emu, 'POST', '/connection/http_stream', {
    body: JSON.stringify({ connect: { token: userToken(42) }, id: 1 }),
  });
  await r.waitFor((x) => x.lines().length >= 1, 5000, 'connect reply');
  const { session, node } = JSON.parse(r.lines()[0]).connect;
  const ch = uniq('dd:');
  const res = await httpRequest(`${emu.base}/emulation`, {
    method: 'POST',
    body: JSON.stringify({ session, node, data: JSON.stringify({ subscribe: { channel: ch, delta: 'fossil' }, id: 2 }) }),
  });
  assert.equal(res.status, 204);
  await r.waitFor((x) => x.lines().length >= 2, 5000, 'subscribe reply');
  assert.equal(JSON.parse(r.lines()[1]).subscribe.delta, true);
  for (let i = 1; i <= 2; i++) await emu.apiOk('publish', { channel: ch, data: deltaPayload(i), delta: true });
  await r.waitFor((x) => x.lines().length >= 4, 5000, 'publications');
  const p1 = JSON.parse(r.lines()[2]).push.pub;
  const p2 = JSON.parse(r.lines()[3]).push.pub;
  assert.deepEqual(JSON.parse(p1.data), deltaPayload(1));
  assert.equal(p1.delta, undefined);
  assert.equal(p2.delta, true);
  assert.equal(typeof p2.data, 'string');
  assert.ok(p2.data.length < JSON.stringify(deltaPayload(2)).length);
});

test('streams aborted mid-flight under publish load (and a non-reading client) leave the server healthy', async (t, s) => {
  // Its own server with a queue larger than the 1.8 MB burst: a live stream whose reader
  // falls behind (a busy test machine) must not be dropped with 3008 before it reads all.
  const uni = await startServer({
    api_key: 'k', token_hmac_secret_key: 'secret', namespaces: NS, uni_http_stream: true, uni_sse: true,
    client_queue_max_size: 16 * 1024 * 1024,
  });
  s.defer(() => uni.stop());
  const ch = uniq('uni:');
  const streams = [];
  for (let i = 0; i < 20; i++) {
    const path = i % 2 ? '/connection/uni_http_stream' : '/connection/uni_sse';
    streams.push(await rawHttp(s, uni, 'POST', path, { body: JSON.stringify({ token: userToken(`a${i}`), subs: { [ch]: {} } }) }));
  }
  await Promise.all(streams.map((r) => r.waitFor((x) => x.body.length > 0, 5000, 'connect')));
  // One client stops reading: its writes block and the 1 s write deadline drops it.
  streams[0].sock.pause();
  const big = 'x'.repeat(60000);
  const pubs = [];
  for (let i = 0; i < 30; i++) {
    pubs.push(uni.apiOk('publish', { channel: ch, data: { i, big } }));
    if (i % 3 === 0) streams[1 + (i / 3)].close();
  }
  await Promise.all(pubs);
  await sleep(1500);
  await assertServerAlive(uni, userToken(42), s);
  const last = streams[19];
  await last.waitFor((x) => x.lines().length >= 31, 5000, 'all publications on a live stream');
});
