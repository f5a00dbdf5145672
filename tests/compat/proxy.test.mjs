// HTTP proxies (server-api.md §4): connect and RPC proxies in default mode, against a real
// backend (node:http) that records every request. Exact request bodies, result fields,
// error/disconnect mappings, transport failures, header forwarding, keep-alive and a
// hostile backend.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Backend } from './proxy_backend.mjs';
import {
  test, startServer, spawnGyre, freePort, RawClient, WebSocket, userToken, until, sleep,
  assertServerAlive,
} from './harness.mjs';

let backend;
let srv;
const PROXY_CONF = (b) => ({
  token_hmac_secret_key: 'secret',
  proxy_connect_endpoint: `${b.url}/connect`,
  proxy_connect_timeout: '1s',
  proxy_rpc_endpoint: `${b.url}/rpc`,
  proxy_rpc_timeout: '1s',
  proxy_subscribe_endpoint: `${b.url}/subscribe`,
  proxy_publish_endpoint: `${b.url}/publish`,
  api_key: 'k',
  proxy_http_headers: ['Authorization', 'x-custom'],
  proxy_include_connection_meta: true,
  uni_websocket: true,
  http_stream: true,
  sse: true,
  namespaces: [
    { name: 'chat', presence: true },
    { name: 'px', proxy_subscribe: true, proxy_publish: true, history_size: 10, history_ttl: '300s', presence: true, join_leave: true },
  ],
});

before(async () => {
  backend = new Backend();
  await backend.start();
  srv = await startServer(PROXY_CONF(backend));
});
after(async () => {
  if (srv) await srv.stop();
  if (backend) await backend.stop();
});

/** A raw WebSocket client with extra upgrade headers. */
async function rawWithHeaders(scope, server, headers) {
  const ws = new WebSocket(server.wsUrl, { headers });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const c = new RawClient(ws, true);
  scope.defer(() => c.close());
  return c;
}

function resetBackend() {
  backend.requests = [];
  backend.routes = {};
}

test('connect proxy: exact request body, forwarded headers, every result field honoured', async (t, scope) => {
  resetBackend();
  const expireAt = Math.floor(Date.now() / 1000) + 3600;
  backend.reply('/connect', {
    result: {
      user: 'u56',
      expire_at: expireAt,
      info: { name: 'Alice' },
      data: { greeting: 'hi' },
      meta: { plan: 'gold' },
      channels: ['news'],
      subs: { 'chat:room': { data: { welcome: 1 }, override: { presence: { value: false } } } },
    },
  });
  const c = await rawWithHeaders(scope, srv, { Authorization: 'Bearer abc', 'X-CUSTOM': 'v1', Cookie: 'no=1' });
  const r = await c.call('connect', { name: 'js', version: '1.2.3', data: { hello: '<world>' }, subs: { news: {} } });
  assert.ok(!r.error, JSON.stringify(r));
  const res = r.connect;
  assert.deepEqual(res.data, { greeting: 'hi' });
  assert.equal(res.expires, true);
  assert.ok(res.ttl > 3590 && res.ttl <= 3600, `ttl ${res.ttl}`);
  assert.deepEqual(Object.keys(res.subs).sort(), ['chat:room', 'news']);
  assert.deepEqual(res.subs['chat:room'].data, { welcome: 1 });

  const req = backend.take('/connect');
  assert.equal(req.method, 'POST');
  assert.equal(req.text,
    `{"client":"${res.client}","transport":"websocket","protocol":"json","encoding":"json",` +
    `"data":{"hello":"\\u003cworld\\u003e"},"name":"js","version":"1.2.3","channels":["news"]}`);
  assert.equal(req.headers['content-type'], 'application/json');
  assert.equal(req.headers.authorization, 'Bearer abc');
  assert.equal(req.headers['x-custom'], 'v1');
  assert.equal(req.headers.cookie, undefined);

  // The user and meta of the result are the connection's: the RPC proxy gets them.
  backend.reply('/rpc', { result: { data: { price: 42 } } });
  const rr = await c.call('rpc', { method: 'getPrice', data: { id: 12 } });
  assert.deepEqual(rr.rpc, { data: { price: 42 } });
  const rreq = backend.take('/rpc');
  assert.equal(rreq.text,
    `{"client":"${res.client}","transport":"websocket","protocol":"json","encoding":"json",` +
    `"user":"u56","method":"getPrice","data":{"id":12},"meta":{"plan":"gold"}}`);
  assert.equal(rreq.headers.authorization, 'Bearer abc');
});

test('connect proxy: a token wins, the proxy is not called', async (t, scope) => {
  resetBackend();
  const c = await scope.raw(srv);
  const r = await c.call('connect', { token: userToken('tok') });
  assert.ok(r.connect, JSON.stringify(r));
  assert.equal(backend.requests.filter((q) => q.path === '/connect').length, 0);
});

test('connect proxy: error object is the connect error reply', async (t, scope) => {
  resetBackend();
  backend.reply('/connect', { error: { code: 1000, message: 'custom', temporary: true } });
  const c = await scope.raw(srv);
  const r = await c.call('connect', {});
  assert.deepEqual(r.error, { code: 1000, message: 'custom', temporary: true });
});

test('connect proxy: disconnect object closes with its code and reason (before error)', async (t, scope) => {
  resetBackend();
  backend.reply('/connect', { error: { code: 1000, message: 'x' }, disconnect: { code: 4501, reason: 'go away' } });
  const c = await scope.raw(srv);
  c.send({ id: 1, connect: {} });
  assert.deepEqual(await c.waitClose(), { code: 4501, reason: 'go away' });
});

test('connect proxy: {} without anonymous access is 3501 bad request', async (t, scope) => {
  resetBackend();
  backend.reply('/connect', {});
  const c = await scope.raw(srv);
  c.send({ id: 1, connect: {} });
  assert.deepEqual(await c.waitClose(), { code: 3501, reason: 'bad request' });
});

test('connect proxy: result with expire_at in the past is error 110', async (t, scope) => {
  resetBackend();
  backend.reply('/connect', { result: { user: 'u', expire_at: 1000 } });
  const c = await scope.raw(srv);
  const r = await c.call('connect', {});
  assert.deepEqual(r.error, { code: 110, message: 'expired' });
});

test('connect proxy: bad b64data in the result is error 100', async (t, scope) => {
  resetBackend();
  backend.reply('/connect', { result: { user: 'u', b64data: '!!!' } });
  const c = await scope.raw(srv);
  const r = await c.call('connect', {});
  assert.deepEqual(r.error, { code: 100, message: 'internal server error', temporary: true });
});

test('connect proxy transport failures: non-200, invalid JSON, slow answer → error 100', async (t, scope) => {
  const cases = [
    ['non-200', (rec, res) => res.writeHead(500).end('{}')],
    ['invalid JSON', (rec, res) => res.writeHead(200).end('{"result":')],
    ['timeout', (rec, res) => setTimeout(() => res.writeHead(200).end('{}'), 2500)],
  ];
  for (const [label, route] of cases) {
    resetBackend();
    backend.routes['/connect'] = route;
    const c = await scope.raw(srv);
    const r = await c.call('connect', {}, 5000);
    assert.deepEqual(r.error, { code: 100, message: 'internal server error', temporary: true }, label);
  }
});

test('connect proxy: a backend that is down → error 100; node healthy', async (t, scope) => {
  const port = await freePort();
  const down = await startServer({ proxy_connect_endpoint: `http://127.0.0.1:${port}/connect`, token_hmac_secret_key: 'secret' });
  scope.defer(() => down.stop());
  const c = await scope.raw(down);
  const r = await c.call('connect', {});
  assert.deepEqual(r.error, { code: 100, message: 'internal server error', temporary: true });
  await assertServerAlive(down, userToken('alive'), scope);
});

test('commands wait for the connect proxy: connect + rpc in one frame keep their order', async (t, scope) => {
  resetBackend();
  backend.routes['/connect'] = (rec, res) => setTimeout(() => res.writeHead(200).end('{"result":{"user":"slow"}}'), 300);
  backend.reply('/rpc', (rec) => ({ result: { data: { user: rec.json.user } } }));
  const c = await scope.raw(srv);
  c.send([{ id: 1, connect: {} }, { id: 2, rpc: { method: 'm', data: {} } }]);
  const r1 = await c.reply(1);
  const r2 = await c.reply(2);
  assert.ok(r1.connect, JSON.stringify(r1));
  assert.deepEqual(r2.rpc, { data: { user: 'slow' } });
  const ids = c.messages.filter((m) => m.id).map((m) => m.id);
  assert.deepEqual(ids, [1, 2]);
});

test('rpc proxy: error, disconnect, empty result, b64data, transport failure', async (t, scope) => {
  resetBackend();
  backend.reply('/connect', { result: { user: 'r' } });
  const c = await scope.raw(srv);
  assert.ok((await c.call('connect', {})).connect);
  backend.reply('/rpc', { error: { code: 1001, message: 'nope', temporary: false } });
  assert.deepEqual((await c.call('rpc', { method: 'a' })).error, { code: 1001, message: 'nope' });
  backend.reply('/rpc', {});
  const empty = await c.call('rpc', { method: 'a' });
  assert.ok(!empty.error && 'rpc' in empty, JSON.stringify(empty));
  assert.equal(empty.rpc.data, undefined);
  backend.reply('/rpc', { result: { data: { a: 1 }, b64data: Buffer.from('{"b":2}').toString('base64') } });
  assert.deepEqual((await c.call('rpc', { method: 'a' })).rpc, { data: { b: 2 } });
  backend.reply('/rpc', 'not json');
  assert.deepEqual((await c.call('rpc', { method: 'a' })).error, { code: 100, message: 'internal server error', temporary: true });
  const req = backend.requests.filter((q) => q.path === '/rpc').pop();
  assert.equal(req.json.method, 'a');
  assert.equal(req.json.user, 'r');
  assert.equal('data' in req.json, false, 'empty data is omitted');
  backend.reply('/rpc', { disconnect: { code: 4000, reason: 'reconnect please' } });
  c.send({ id: 99, rpc: { method: 'a' } });
  assert.deepEqual(await c.waitClose(), { code: 4000, reason: 'reconnect please' });
});

test('proxy connections are kept alive: sequential calls share one connection', async (t, scope) => {
  const b = new Backend();
  await b.start();
  scope.defer(() => b.stop());
  const s = await startServer({ ...PROXY_CONF(b), gomaxprocs: 1 });
  scope.defer(() => s.stop());
  b.reply('/connect', { result: { user: 'k' } });
  b.reply('/rpc', { result: { data: {} } });
  const c = await scope.raw(s);
  assert.ok((await c.call('connect', {})).connect);
  for (let i = 0; i < 5; i++) assert.ok((await c.call('rpc', { method: 'x' })).rpc);
  assert.equal(b.requests.length, 6);
  assert.equal(b.connections, 1);
});

test('uni_websocket connects through the connect proxy with forwarded headers', async (t, scope) => {
  resetBackend();
  backend.reply('/connect', { result: { user: 'uni', data: { x: 1 } } });
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/connection/uni_websocket`, { headers: { 'x-custom': 'uni-h' } });
  scope.defer(() => ws.terminate());
  const first = new Promise((resolve, reject) => {
    ws.once('message', (d) => resolve(JSON.parse(d.toString())));
    ws.once('error', reject);
  });
  await new Promise((r) => ws.once('open', r));
  ws.send(JSON.stringify({ name: 'uni-js' }));
  const push = await first;
  assert.deepEqual(push.connect.data, { x: 1 });
  const req = backend.take('/connect');
  assert.equal(req.json.transport, 'uni_websocket');
  assert.equal(req.json.name, 'uni-js');
  assert.equal(req.headers['x-custom'], 'uni-h');
});

test('uni_websocket: connect proxy failure is disconnect 3004', async (t, scope) => {
  resetBackend();
  backend.reply('/connect', 'garbage');
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/connection/uni_websocket`);
  scope.defer(() => ws.terminate());
  const closed = new Promise((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString() })));
  await new Promise((r) => ws.once('open', r));
  ws.send('{}');
  assert.deepEqual(await closed, { code: 3004, reason: 'internal server error' });
});

test('hostile backend: 100 MB response, never-ending response, answer after the client left', async (t, scope) => {
  resetBackend();
  const big = Buffer.alloc(1024 * 1024, 0x20);
  backend.routes['/connect'] = (rec, res) => {
    res.writeHead(200, { 'Content-Length': String(100 * 1024 * 1024) });
    let sent = 0;
    const pump = () => {
      while (sent < 100 && res.write(big)) sent++;
      if (sent < 100) res.once('drain', pump);
      else res.end();
    };
    res.on('error', () => {});
    pump();
  };
  const c1 = await scope.raw(srv);
  assert.deepEqual((await c1.call('connect', {})).error, { code: 100, message: 'internal server error', temporary: true });

  backend.routes['/connect'] = (rec, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write('{"result":{"user":"x"');
    const t = setInterval(() => res.write(' '), 50);
    res.on('close', () => clearInterval(t));
  };
  const c2 = await scope.raw(srv);
  assert.deepEqual((await c2.call('connect', {}, 5000)).error, { code: 100, message: 'internal server error', temporary: true });

  backend.routes['/connect'] = (rec, res) => setTimeout(() => res.writeHead(200).end('{"result":{"user":"late"}}'), 400);
  const c3 = await scope.raw(srv);
  c3.send({ id: 1, connect: {} });
  await until(() => backend.requests.length === 3, 3000, 'third connect request');
  c3.close();
  await sleep(600);
  await assertServerAlive(srv, userToken('alive'), scope);
});

test('grpc proxy endpoints are a start-up error naming the key', async () => {
  const port = await freePort();
  const h = spawnGyre({ configText: JSON.stringify({ port: String(port), proxy_rpc_endpoint: 'grpc://127.0.0.1:1' }) });
  const code = await h.exitPromise;
  assert.notEqual(code.code, 0);
  assert.match(h.out.text(), /proxy_rpc_endpoint.*GRPC proxies are not supported/);
});

/** A connected raw client (through the connect proxy) as user `user` with meta {m:user}. */
async function proxied(scope, user, headers = {}) {
  backend.reply('/connect', { result: { user, meta: { m: user } } });
  const c = await rawWithHeaders(scope, srv, headers);
  const r = await c.call('connect', {});
  assert.ok(r.connect, JSON.stringify(r));
  return [c, r.connect.client];
}

test('subscribe proxy: exact request, result info/data/override/expire_at honoured', async (t, scope) => {
  resetBackend();
  const [c, client] = await proxied(scope, 'sub1', { 'X-Custom': 'h-sub' });
  const expireAt = Math.floor(Date.now() / 1000) + 600;
  backend.reply('/subscribe', { result: { info: { role: 'admin' }, data: { hello: 'sub' }, expire_at: expireAt, override: { join_leave: { value: false } } } });
  const r = await c.call('subscribe', { channel: 'px:room', data: { want: 1 } });
  assert.ok(!r.error, JSON.stringify(r));
  assert.deepEqual(r.subscribe.data, { hello: 'sub' });
  assert.equal(r.subscribe.expires, true);
  assert.ok(r.subscribe.ttl > 590 && r.subscribe.ttl <= 600, `ttl ${r.subscribe.ttl}`);
  const req = backend.take('/subscribe');
  assert.equal(req.text,
    `{"client":"${client}","transport":"websocket","protocol":"json","encoding":"json",` +
    `"user":"sub1","channel":"px:room","data":{"want":1},"meta":{"m":"sub1"}}`);
  assert.equal(req.headers['x-custom'], 'h-sub');
  // The channel info from the proxy is the subscriber's: presence shows it.
  const p = await srv.apiOk('presence', { channel: 'px:room' });
  assert.deepEqual(Object.values(p.presence).map((e) => [e.user, e.chan_info]), [['sub1', { role: 'admin' }]]);
});

test('subscribe proxy: {} allows; error → error reply; disconnect → close; failure → 100', async (t, scope) => {
  resetBackend();
  const [c] = await proxied(scope, 'sub2');
  backend.reply('/subscribe', {});
  const ok = await c.call('subscribe', { channel: 'px:a' });
  assert.ok(ok.subscribe && !ok.error, JSON.stringify(ok));
  backend.reply('/subscribe', { error: { code: 1003, message: 'denied', temporary: false } });
  assert.deepEqual((await c.call('subscribe', { channel: 'px:b' })).error, { code: 1003, message: 'denied' });
  backend.reply('/subscribe', 'oops', 500);
  assert.deepEqual((await c.call('subscribe', { channel: 'px:c' })).error, { code: 100, message: 'internal server error', temporary: true });
  backend.reply('/subscribe', { disconnect: { code: 4100, reason: 'bye' } });
  c.send({ id: 50, subscribe: { channel: 'px:d' } });
  assert.deepEqual(await c.waitClose(), { code: 4100, reason: 'bye' });
});

test('publish proxy: exact request, modified data is published, skip_history', async (t, scope) => {
  resetBackend();
  backend.reply('/subscribe', {});
  const [c, client] = await proxied(scope, 'pub1');
  assert.ok((await c.call('subscribe', { channel: 'px:news' })).subscribe);
  backend.reply('/publish', { result: { data: { text: 'modified' } } });
  const r = await c.call('publish', { channel: 'px:news', data: { text: 'original' } });
  assert.ok(!r.error && 'publish' in r, JSON.stringify(r));
  const req = backend.take('/publish');
  assert.equal(req.text,
    `{"client":"${client}","transport":"websocket","protocol":"json","encoding":"json",` +
    `"user":"pub1","channel":"px:news","data":{"text":"original"},"meta":{"m":"pub1"}}`);
  const push = await c.push((p) => p.channel === 'px:news' && p.pub);
  assert.deepEqual(push.push.pub.data, { text: 'modified' });
  assert.equal(push.push.pub.info.user, 'pub1');

  backend.reply('/publish', { result: { skip_history: true } });
  assert.ok('publish' in (await c.call('publish', { channel: 'px:news', data: { n: 2 } })));
  backend.reply('/publish', {});
  assert.ok('publish' in (await c.call('publish', { channel: 'px:news', data: { n: 3 } })));
  const h = await srv.apiOk('history', { channel: 'px:news', limit: 10 });
  assert.deepEqual(h.publications.map((p) => p.data), [{ text: 'modified' }, { n: 3 }]);
});

test('publish proxy: error, disconnect and failure mappings', async (t, scope) => {
  resetBackend();
  const [c] = await proxied(scope, 'pub2');
  backend.reply('/publish', { error: { code: 1004, message: 'no', temporary: true } });
  assert.deepEqual((await c.call('publish', { channel: 'px:x', data: {} })).error, { code: 1004, message: 'no', temporary: true });
  backend.reply('/publish', '{"result":{"b64data":"***"}}');
  assert.deepEqual((await c.call('publish', { channel: 'px:x', data: {} })).error, { code: 100, message: 'internal server error', temporary: true });
  backend.reply('/publish', { disconnect: { code: 4600, reason: 'stop' } });
  c.send({ id: 70, publish: { channel: 'px:x', data: {} } });
  assert.deepEqual(await c.waitClose(), { code: 4600, reason: 'stop' });
});

/** Opens an HTTP streaming connection; resolves with the body once `done(text)` holds. */
function firstChunk(port, method, path, headers, body, done = (t) => t.includes('\n')) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (d) => {
        text += d.toString();
        if (!done(text)) return;
        resolve({ status: res.statusCode, text });
        req.destroy();
      });
    });
    req.on('error', (e) => (e.code === 'ECONNRESET' ? null : reject(e)));
    req.setTimeout(5000, () => reject(new Error('no chunk')));
    req.end(body);
  });
}

test('http_stream and SSE connect through the connect proxy with forwarded headers', async () => {
  resetBackend();
  backend.reply('/connect', (rec) => ({ result: { user: rec.json.transport, data: { via: rec.json.transport } } }));
  const hs = await firstChunk(srv.port, 'POST', '/connection/http_stream',
    { 'Content-Type': 'application/json', Authorization: 'Bearer hs' }, JSON.stringify({ id: 1, connect: { name: 'hs' } }));
  assert.equal(hs.status, 200);
  assert.deepEqual(JSON.parse(hs.text.split('\n')[0]).connect.data, { via: 'http_stream' });
  const r1 = backend.take('/connect');
  assert.equal(r1.json.transport, 'http_stream');
  assert.equal(r1.headers.authorization, 'Bearer hs');

  const q = encodeURIComponent(JSON.stringify({ id: 1, connect: { name: 'sse' } }));
  const sse = await firstChunk(srv.port, 'GET', `/connection/sse?cf_connect=${q}`, { 'x-custom': 'sse-h' },
    undefined, (t) => /data: .*\n/.test(t));
  assert.equal(sse.status, 200);
  const line = sse.text.split('\n').find((l) => l.startsWith('data: '));
  assert.deepEqual(JSON.parse(line.slice(6)).connect.data, { via: 'sse' });
  const r2 = backend.take('/connect');
  assert.equal(r2.json.transport, 'sse');
  assert.equal(r2.headers['x-custom'], 'sse-h');
});

test('refresh proxy: server-side refresh extends, failure extends by 60 s, expired closes 3005', async (t, scope) => {
  const b = new Backend();
  await b.start();
  scope.defer(() => b.stop());
  const s = await startServer({ ...PROXY_CONF(b), proxy_refresh_endpoint: `${b.url}/refresh`, api_key: 'k' });
  scope.defer(() => s.stop());
  const soon = () => Math.floor(Date.now() / 1000) + 1;
  b.reply('/connect', { result: { user: 'rf', expire_at: soon(), meta: { v: 1 } } });
  const c = await scope.raw(s);
  const r = await c.call('connect', {});
  assert.ok(r.connect, JSON.stringify(r));
  assert.equal(r.connect.expires, undefined, 'server-side refresh: the client is not told');
  assert.equal(r.connect.ttl, undefined);

  // 1st refresh: extend by a second with new info and meta.
  let calls = 0;
  b.routes['/refresh'] = (rec, res) => {
    calls++;
    const body = calls === 1 ? { result: { expire_at: soon() + 1, info: { fresh: true }, meta: { v: 2 } } }
      : calls === 2 ? { result: { expired: true } } : {};
    res.writeHead(200).end(JSON.stringify(body));
  };
  await until(() => calls >= 1, 5000, 'first refresh call');
  const first = b.take('/refresh');
  assert.equal(first.text,
    `{"client":"${r.connect.client}","transport":"websocket","protocol":"json","encoding":"json","user":"rf","meta":{"v":1}}`);
  await until(() => calls >= 2, 6000, 'second refresh call');
  const second = b.take('/refresh');
  assert.deepEqual(second.json.meta, { v: 2 }, 'meta replaced by the refresh result');
  assert.deepEqual(await c.waitClose(), { code: 3005, reason: 'connection expired' });

  // A failing backend keeps the connection (expiry + 60 s).
  b.reply('/connect', { result: { user: 'rf2', expire_at: soon() } });
  b.reply('/refresh', 'broken', 500);
  const c2 = await scope.raw(s);
  assert.ok((await c2.call('connect', {})).connect);
  await until(() => b.requests.filter((q) => q.path === '/refresh').length >= 1, 5000, 'refresh call');
  await sleep(1500);
  assert.ok(c2.isOpen, 'connection kept after a refresh proxy failure');
  assert.equal(b.requests.filter((q) => q.path === '/refresh').length, 1, 'next attempt only after 60 s');
});

test('binary mode with the Protobuf SDK: b64data both ways (proxy_binary_encoding)', async (t, scope) => {
  const { Centrifuge: CentrifugeProto } = await import('centrifuge/build/protobuf');
  const b = new Backend();
  await b.start();
  scope.defer(() => b.stop());
  const s = await startServer({ ...PROXY_CONF(b), proxy_binary_encoding: true });
  scope.defer(() => s.stop());
  const bin = Buffer.from([0, 1, 2, 250, 255]);
  b.reply('/connect', { result: { user: 'pb', b64data: Buffer.from([9, 8, 7]).toString('base64') } });
  b.reply('/rpc', (rec) => ({ result: { b64data: Buffer.from(rec.json.b64data, 'base64').reverse().toString('base64') } }));
  const c = new CentrifugeProto(s.wsUrl, { websocket: WebSocket, data: new Uint8Array(bin), minReconnectDelay: 100 });
  scope.defer(() => c.disconnect());
  const connected = new Promise((resolve) => c.once('connected', resolve));
  c.connect();
  const ctx = await connected;
  assert.deepEqual(Buffer.from(ctx.data), Buffer.from([9, 8, 7]));
  const creq = b.take('/connect');
  assert.equal(creq.text,
    `{"client":"${ctx.client}","transport":"websocket","protocol":"protobuf","encoding":"binary","b64data":"${bin.toString('base64')}","name":"js"}`);
  const res = await c.rpc('rev', new Uint8Array([1, 2, 3]));
  assert.deepEqual(Buffer.from(res.data), Buffer.from([3, 2, 1]));
  const rreq = b.take('/rpc');
  assert.equal(rreq.json.encoding, 'binary');
  assert.equal(rreq.json.protocol, 'protobuf');
  assert.equal(rreq.json.b64data, Buffer.from([1, 2, 3]).toString('base64'));
});
