// HTTP proxies, second part (server-api.md §4.1.2, §4.2, §4.8, §4.10): granular mode with two
// backends, the sub refresh proxy, static headers, HTTP status transforms and every new
// start-up error naming its key. Backends are node:http servers recording each request.
import assert from 'node:assert/strict';
import { Backend } from './proxy_backend.mjs';
import {
  test, startServer, spawnGyre, freePort, WebSocket, RawClient, until, sleep, Server, waitHealthy,
} from './harness.mjs';

/** A raw WebSocket client with extra upgrade headers. */
async function rawWithHeaders(scope, server, headers = {}) {
  const ws = new WebSocket(server.wsUrl, { headers });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const c = new RawClient(ws, true);
  scope.defer(() => c.close());
  return c;
}

async function backends(scope, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const b = new Backend();
    await b.start();
    scope.defer(() => b.stop());
    out.push(b);
  }
  return out;
}

const paths = (b) => b.requests.map((r) => r.path);

test('granular mode: two backends chosen by *_proxy_name, per-proxy options and RPC routing', async (t, scope) => {
  const [a, b] = await backends(scope, 2);
  const s = await startServer({
    granular_proxy_mode: true,
    prometheus: true,
    proxies: [
      { name: 'alpha', endpoint: `${a.url}/alpha`, timeout: '1s', http_headers: ['X-A'], static_http_headers: { 'X-Static': 'from-alpha' } },
      { name: 'beta', endpoint: `${b.url}/beta`, http_headers: ['x-b'], binary_encoding: true, include_connection_meta: true },
    ],
    connect_proxy_name: 'alpha',
    rpc_proxy_name: 'alpha',
    rpc_namespaces: [{ name: 'bns', rpc_proxy_name: 'beta' }, { name: 'dead' }],
    // Ignored in granular mode (a warning says so), as in Centrifugo.
    proxy_connect_endpoint: `${b.url}/never`,
    namespaces: [
      { name: 'sa', subscribe_proxy_name: 'alpha', publish_proxy_name: 'beta' },
      { name: 'flag', proxy_subscribe: true },
    ],
  });
  scope.defer(() => s.stop());
  assert.match(s.handle.out.text(), /proxy_connect_endpoint\\?" is ignored in granular proxy mode/);

  a.reply('/alpha', (rec) => (rec.json.method === undefined && rec.json.channel === undefined
    ? { result: { user: 'g1', meta: { k: 1 } } }
    : rec.json.channel ? { result: { info: { via: 'alpha' } } } : { result: { data: { from: 'alpha', m: rec.json.method } } }));
  b.reply('/beta', (rec) => (rec.json.channel
    ? { result: { b64data: Buffer.from('{"rewritten":true}').toString('base64') } }
    : { result: { data: { from: 'beta', m: rec.json.method } } }));

  const c = await rawWithHeaders(scope, s, { 'X-A': 'ha', 'X-B': 'hb' });
  const con = await c.call('connect', {});
  assert.ok(con.connect, JSON.stringify(con));
  const creq = a.take('/alpha');
  assert.equal(creq.text, `{"client":"${con.connect.client}","transport":"websocket","protocol":"json","encoding":"json"}`);
  assert.equal(creq.headers['x-a'], 'ha');
  assert.equal(creq.headers['x-b'], undefined, 'alpha forwards only its own http_headers');
  assert.equal(creq.headers['x-static'], 'from-alpha');
  assert.equal(creq.headers['content-type'], 'application/json');

  // RPC: top level → alpha, "bns:" → beta, unknown rpc namespace → 104, no proxy name → 108.
  assert.deepEqual((await c.call('rpc', { method: 'plain', data: {} })).rpc.data, { from: 'alpha', m: 'plain' });
  const areq = a.take('/alpha');
  assert.equal(areq.text,
    `{"client":"${con.connect.client}","transport":"websocket","protocol":"json","encoding":"json",` +
    `"user":"g1","method":"plain","data":{}}`, 'alpha: json encoding, no meta');
  assert.deepEqual((await c.call('rpc', { method: 'bns:get', data: { q: 1 } })).rpc.data, { from: 'beta', m: 'bns:get' });
  const breq = b.take('/beta');
  assert.equal(breq.text,
    `{"client":"${con.connect.client}","transport":"websocket","protocol":"json","encoding":"binary",` +
    `"user":"g1","method":"bns:get","b64data":"${Buffer.from('{"q":1}').toString('base64')}","meta":{"k":1}}`);
  assert.equal(breq.headers['x-b'], 'hb');
  assert.equal(breq.headers['x-a'], undefined);
  assert.equal(breq.headers['x-static'], undefined);
  assert.deepEqual((await c.call('rpc', { method: 'nope:get' })).error, { code: 104, message: 'method not found' });
  assert.deepEqual((await c.call('rpc', { method: 'dead:get' })).error, { code: 108, message: 'not available' });

  // Namespace "sa": subscribe through alpha, publish through beta (binary, data rewritten).
  const sub = await c.call('subscribe', { channel: 'sa:room' });
  assert.ok(sub.subscribe, JSON.stringify(sub));
  assert.equal(a.take('/alpha').json.channel, 'sa:room');
  const pub = await c.call('publish', { channel: 'sa:room', data: { original: true } });
  assert.ok('publish' in pub, JSON.stringify(pub));
  const preq = b.take('/beta');
  assert.equal(preq.json.encoding, 'binary');
  assert.equal(Buffer.from(preq.json.b64data, 'base64').toString(), '{"original":true}');
  const push = await c.push((p) => p.channel === 'sa:room' && p.pub);
  assert.deepEqual(push.push.pub.data, { rewritten: true });

  // A proxy flag without a proxy name in granular mode: 108, no backend is called.
  assert.deepEqual((await c.call('subscribe', { channel: 'flag:x' })).error, { code: 108, message: 'not available' });
  assert.deepEqual([...paths(a), ...paths(b)], []);

  // Metrics as Centrifugo v5.4.9: connect stays in centrifugo_proxy_*, the granular calls go
  // to centrifugo_granular_proxy_*{name,type}.
  const text = await (await fetch(`${s.base}/metrics`)).text();
  const series = new Map(text.split('\n').filter((l) => l && !l.startsWith('#'))
    .map((l) => [l.slice(0, l.lastIndexOf(' ')), l.slice(l.lastIndexOf(' ') + 1)]));
  const want = {
    'centrifugo_proxy_duration_seconds_count{protocol="http",type="connect"}': '1',
    'centrifugo_proxy_duration_seconds_count{protocol="http",type="rpc"}': undefined,
    'centrifugo_granular_proxy_duration_seconds_count{name="alpha",type="rpc"}': '1',
    'centrifugo_granular_proxy_duration_seconds_count{name="beta",type="rpc"}': '1',
    'centrifugo_granular_proxy_duration_seconds_count{name="alpha",type="subscribe"}': '1',
    'centrifugo_granular_proxy_duration_seconds_count{name="beta",type="publish"}': '1',
    'centrifugo_granular_proxy_duration_seconds_histogram_count{name="beta",type="publish"}': '1',
    // No error, but the series exists from the start (pre-created, as Centrifugo's).
    'centrifugo_granular_proxy_errors{name="alpha",type="rpc"}': '0',
  };
  for (const [k, v] of Object.entries(want)) assert.equal(series.get(k), v, k);
  for (const line of [
    '# HELP centrifugo_granular_proxy_duration_seconds Duration of granular proxy call.',
    '# TYPE centrifugo_granular_proxy_duration_seconds summary',
    '# HELP centrifugo_granular_proxy_duration_seconds_histogram Histogram of duration of granular proxy call.',
    '# TYPE centrifugo_granular_proxy_duration_seconds_histogram histogram',
  ]) assert.ok(text.includes(line + '\n'), line);
});

test('granular mode without any rpc_proxy_name: every RPC gets 108', async (t, scope) => {
  const [a] = await backends(scope, 1);
  const s = await startServer({
    granular_proxy_mode: true,
    proxies: [{ name: 'alpha', endpoint: `${a.url}/alpha` }],
    connect_proxy_name: 'alpha',
    rpc_namespaces: [{ name: 'ns1' }],
  });
  scope.defer(() => s.stop());
  a.reply('/alpha', { result: { user: 'u' } });
  const c = await rawWithHeaders(scope, s);
  assert.ok((await c.call('connect', {})).connect);
  assert.deepEqual((await c.call('rpc', { method: 'ns9:x' })).error, { code: 108, message: 'not available' });
});

test('sub refresh proxy: server-side subscription refresh, info update, failure +60 s, expired → 2501', async (t, scope) => {
  const [b] = await backends(scope, 1);
  const s = await startServer({
    proxy_connect_endpoint: `${b.url}/connect`,
    proxy_subscribe_endpoint: `${b.url}/subscribe`,
    proxy_sub_refresh_endpoint: `${b.url}/sub_refresh`,
    proxy_sub_refresh_timeout: '1s',
    proxy_include_connection_meta: true,
    client_expired_sub_close_delay: '0s',
    client_presence_update_interval: '1s',
    api_key: 'k',
    namespaces: [{ name: 'sr', proxy_subscribe: true, proxy_sub_refresh: true, presence: true }],
  });
  scope.defer(() => s.stop());
  const soon = () => Math.floor(Date.now() / 1000) + 1;
  b.reply('/connect', { result: { user: 'sru', meta: { mm: 1 } } });
  b.reply('/subscribe', () => ({ result: { expire_at: soon(), info: { v: 0 } } }));
  const c = await rawWithHeaders(scope, s);
  const con = await c.call('connect', {});
  assert.ok(con.connect);
  const sub = await c.call('subscribe', { channel: 'sr:a' });
  assert.ok(sub.subscribe, JSON.stringify(sub));
  assert.equal(sub.subscribe.expires, undefined, 'server-side refresh: the client gets no ttl');
  assert.equal(sub.subscribe.ttl, undefined);

  let calls = 0;
  let release;
  const released = new Promise((r) => { release = r; });
  b.routes['/sub_refresh'] = async (rec, res) => {
    calls++;
    if (calls === 1) {
      res.writeHead(200).end(JSON.stringify({ result: { expire_at: soon() + 1, b64info: Buffer.from('{"v":1}').toString('base64') } }));
      return;
    }
    await released;  // the second answer waits until the test saw the new channel info
    res.writeHead(200).end(JSON.stringify({ result: { expired: true } }));
  };
  await until(() => calls >= 1, 6000, 'first sub refresh call');
  const first = b.take('/sub_refresh');
  assert.equal(first.text,
    `{"client":"${con.connect.client}","transport":"websocket","protocol":"json","encoding":"json",` +
    `"user":"sru","channel":"sr:a","meta":{"mm":1}}`);
  await until(async () => {
    const p = await s.apiOk('presence', { channel: 'sr:a' });
    return Object.values(p.presence).some((e) => e.chan_info && e.chan_info.v === 1);
  }, 6000, 'channel info replaced by b64info (seen on the next presence update)');
  release();
  const unsub = await c.push((p) => p.channel === 'sr:a' && p.unsubscribe, 8000, 'unsubscribe push');
  assert.deepEqual(unsub.push.unsubscribe, { code: 2501, reason: 'subscription expired' });
  assert.equal(calls, 2);

  // Transport failure: the subscription is kept and retried only after 60 s.
  b.reply('/sub_refresh', 'down', 500);
  assert.ok((await c.call('subscribe', { channel: 'sr:b' })).subscribe);
  await until(() => paths(b).filter((p) => p === '/sub_refresh').length >= 2, 6000, 'failing sub refresh call');
  await sleep(1500);
  assert.ok(c.isOpen);
  assert.equal(paths(b).filter((p) => p === '/sub_refresh').length, 2, 'no retry before 60 s');
  assert.ok(!c.messages.some((m) => m.push?.channel === 'sr:b' && m.push.unsubscribe), 'sr:b kept');
  // sub_refresh from the client for this subscription closes with 3501.
  c.send({ id: 900, sub_refresh: { channel: 'sr:b', token: 'x' } });
  assert.deepEqual(await c.waitClose(), { code: 3501, reason: 'bad request' });
});

test('static headers, forwarded headers override them; status transforms to error and disconnect', async (t, scope) => {
  const [b] = await backends(scope, 1);
  const s = await startServer({
    proxy_connect_endpoint: `${b.url}/connect`,
    proxy_subscribe_endpoint: `${b.url}/subscribe`,
    proxy_publish_endpoint: `${b.url}/publish`,
    proxy_rpc_endpoint: `${b.url}/rpc`,
    proxy_refresh_endpoint: `${b.url}/refresh`,
    proxy_sub_refresh_endpoint: `${b.url}/sub_refresh`,
    proxy_http_headers: ['Authorization'],
    proxy_static_http_headers: { Authorization: 'static-auth', 'X-Static': 'yes' },
    proxy_http_status_code_transforms: [
      { status_code: 404, to_error: { code: 1404, message: 'not found', temporary: true } },
      { status_code: 403, to_disconnect: { code: 4403, reason: 'forbidden' } },
      { status_code: 410, to_error: { code: 1410, message: 'gone' } },
    ],
    client_expired_sub_close_delay: '0s',
    namespaces: [{ name: 'px', proxy_subscribe: true, proxy_publish: true, proxy_sub_refresh: true }],
  });
  scope.defer(() => s.stop());
  b.reply('/connect', { result: { user: 'st' } });
  const c1 = await rawWithHeaders(scope, s, { Authorization: 'Bearer client' });
  assert.ok((await c1.call('connect', {})).connect);
  const r1 = b.take('/connect');
  assert.equal(r1.headers.authorization, 'Bearer client', 'a forwarded client header wins');
  assert.equal(r1.headers['x-static'], 'yes');
  const c2 = await rawWithHeaders(scope, s);
  assert.ok((await c2.call('connect', {})).connect);
  const r2 = b.take('/connect');
  assert.equal(r2.headers.authorization, 'static-auth');
  assert.equal(r2.headers['x-static'], 'yes');

  // Transforms: 404 → error (subscribe, rpc), 403 → disconnect (publish), 500 → 100.
  b.reply('/subscribe', 'x', 404);
  assert.deepEqual((await c1.call('subscribe', { channel: 'px:1' })).error, { code: 1404, message: 'not found', temporary: true });
  b.reply('/rpc', 'x', 410);
  assert.deepEqual((await c1.call('rpc', { method: 'm' })).error, { code: 1410, message: 'gone' });
  b.reply('/rpc', 'x', 500);
  assert.deepEqual((await c1.call('rpc', { method: 'm' })).error, { code: 100, message: 'internal server error', temporary: true });
  // Connect: 404 → the error reply.
  b.reply('/connect', 'x', 404);
  const c3 = await rawWithHeaders(scope, s);
  assert.deepEqual((await c3.call('connect', {})).error, { code: 1404, message: 'not found', temporary: true });
  // Sub refresh: a transformed status counts as no result → expired (2501).
  b.reply('/subscribe', () => ({ result: { expire_at: Math.floor(Date.now() / 1000) + 1 } }));
  b.reply('/sub_refresh', 'x', 404);
  assert.ok((await c2.call('subscribe', { channel: 'px:2' })).subscribe);
  const unsub = await c2.push((p) => p.channel === 'px:2' && p.unsubscribe, 8000, 'unsubscribe push');
  assert.deepEqual(unsub.push.unsubscribe, { code: 2501, reason: 'subscription expired' });
  b.reply('/publish', 'x', 403);
  c1.send({ id: 77, publish: { channel: 'px:1', data: {} } });
  assert.deepEqual(await c1.waitClose(), { code: 4403, reason: 'forbidden' });
});

/** Starts gyre with `config`; resolves with its output once it exits (it must fail). */
async function startupError(config) {
  const port = await freePort();
  const h = spawnGyre({ configText: JSON.stringify({ port: String(port), ...config }) });
  const exit = await h.exitPromise;
  assert.notEqual(exit.code, 0, `expected a start-up error; output: ${h.out.text()}`);
  return h.out.text();
}

test('proxy config errors name the key', async () => {
  const proxies = [{ name: 'alpha', endpoint: 'http://127.0.0.1:1/a' }];
  const cases = [
    [{ granular_proxy_mode: true, proxies, connect_proxy_name: 'nope' }, /key "connect_proxy_name": connect proxy not found: nope/],
    [{ granular_proxy_mode: true, proxies, refresh_proxy_name: 'nope' }, /key "refresh_proxy_name": refresh proxy not found: nope/],
    [{ granular_proxy_mode: true, proxies, rpc_proxy_name: 'nope' }, /key "rpc_proxy_name": rpc proxy not found: nope/],
    [{ granular_proxy_mode: true, proxies, namespaces: [{ name: 'ns', subscribe_proxy_name: 'nope' }] }, /key "namespaces\[0\]\.subscribe_proxy_name": subscribe proxy not found: nope/],
    [{ granular_proxy_mode: true, proxies, namespaces: [{ name: 'ns', sub_refresh_proxy_name: 'nope' }] }, /key "namespaces\[0\]\.sub_refresh_proxy_name": sub refresh proxy not found: nope/],
    [{ granular_proxy_mode: true, proxies, publish_proxy_name: 'nope' }, /key "publish_proxy_name": publish proxy not found: nope/],
    [{ granular_proxy_mode: true, proxies, rpc_namespaces: [{ name: 'r1', rpc_proxy_name: 'nope' }] }, /key "rpc_namespaces\[0\]\.rpc_proxy_name": rpc proxy not found: nope/],
    [{ granular_proxy_mode: true, proxies: [{ name: 'alpha' }] }, /key "proxies\[0\]\.endpoint": no endpoint set for proxy alpha/],
    [{ granular_proxy_mode: true, proxies: [{ name: 'a', endpoint: 'http://x' }] }, /key "proxies\[0\]\.name": invalid proxy name "a"/],
    [{ granular_proxy_mode: true, proxies: [...proxies, ...proxies] }, /key "proxies\[1\]\.name": duplicate proxy name: alpha/],
    [{ granular_proxy_mode: true, proxies: [{ name: 'alpha', endpoint: 'grpc://127.0.0.1:1' }] }, /key "proxies\[0\]\.endpoint".*GRPC proxies are not supported/],
    [{ proxy_sub_refresh_endpoint: 'grpc://127.0.0.1:1' }, /key "proxy_sub_refresh_endpoint".*GRPC proxies are not supported/],
    [{ proxy_http_status_code_transforms: [{ status_code: 404 }] }, /key "proxy_http_status_code_transforms\[0\]": no error or disconnect code set/],
    [{ proxy_static_http_headers: ['x'] }, /key "proxy_static_http_headers": expected object/],
    [{ rpc_namespaces: [{ name: 'x' }] }, /key "rpc_namespaces\[0\]\.name": invalid rpc namespace name "x"/],
  ];
  for (const [config, pattern] of cases) {
    assert.match(await startupError(config), pattern, JSON.stringify(config));
  }
});

test('v6 environment only: a connect proxy configured by CENTRIFUGO_CLIENT_PROXY_CONNECT_* takes a tokenless client', async (t, scope) => {
  const [b] = await backends(scope, 1);
  b.reply('/env-connect', { result: { user: 'env-user', data: { via: 'env' } } });
  const port = await freePort();
  // An empty file: the shape comes from the (v6) variable names.
  const handle = spawnGyre({
    configText: '{}',
    env: {
      CENTRIFUGO_HTTP_SERVER_PORT: String(port),
      CENTRIFUGO_HEALTH_ENABLED: 'true',
      CENTRIFUGO_CLIENT_PROXY_CONNECT_ENABLED: 'true',
      CENTRIFUGO_CLIENT_PROXY_CONNECT_ENDPOINT: `${b.url}/env-connect`,
      CENTRIFUGO_CLIENT_PROXY_CONNECT_TIMEOUT: '2s',
      CENTRIFUGO_CLIENT_PROXY_CONNECT_HTTP_HEADERS: 'X-Custom',
      CENTRIFUGO_CLIENT_PROXY_CONNECT_HTTP_STATIC_HEADERS: '{"X-Static":"from-env"}',
    },
  });
  const s = new Server(handle, port, {});
  scope.defer(() => s.stop());
  await waitHealthy(port, handle);
  assert.doesNotMatch(s.output(), /not supported|unknown key/);
  const c = await rawWithHeaders(scope, s, { 'X-Custom': 'c1' });
  const r = await c.call('connect', { data: { hi: 1 } });
  assert.ok(r.connect, JSON.stringify(r));
  assert.deepEqual(r.connect.data, { via: 'env' });
  const req = b.take('/env-connect');
  assert.equal(req.text,
    `{"client":"${r.connect.client}","transport":"websocket","protocol":"json","encoding":"json",` +
    `"data":{"hi":1}}`);
  assert.equal(req.headers['x-custom'], 'c1');
  assert.equal(req.headers['x-static'], 'from-env');
  assert.equal(b.requests.length, 0);
});

test('sub refresh proxy: an expiring server-side subscription (API subscribe with expire_at) is refreshed, then expired → 3006', async (t, scope) => {
  const [b] = await backends(scope, 1);
  // Default mode: Centrifugo v5.4.9 calls proxy_sub_refresh_endpoint for every expiring
  // subscription without client-side refresh, whatever the namespace's proxy_sub_refresh.
  const s = await startServer({
    proxy_connect_endpoint: `${b.url}/connect`,
    proxy_sub_refresh_endpoint: `${b.url}/sub_refresh`,
    proxy_sub_refresh_timeout: '1s',
    client_expired_sub_close_delay: '0s',
    client_presence_update_interval: '1s',
    api_key: 'k',
    namespaces: [{ name: 'ss', presence: true }],
  });
  scope.defer(() => s.stop());
  const soon = () => Math.floor(Date.now() / 1000) + 1;
  b.reply('/connect', { result: { user: 'ssu' } });
  const c = await rawWithHeaders(scope, s);
  const con = await c.call('connect', {});
  assert.ok(con.connect, JSON.stringify(con));
  let calls = 0;
  let release;
  const released = new Promise((r) => { release = r; });
  b.routes['/sub_refresh'] = async (rec, res) => {
    calls++;
    if (calls === 1) {
      res.writeHead(200).end(JSON.stringify({ result: { expire_at: soon() + 1, info: { v: 1 } } }));
      return;
    }
    await released;  // the second answer waits until the test saw the new channel info
    res.writeHead(200).end(JSON.stringify({ result: { expired: true } }));
  };
  await s.apiOk('subscribe', { user: 'ssu', channel: 'ss:a', expire_at: soon() });
  await c.push((p) => p.channel === 'ss:a' && p.subscribe, 5000, 'server-side subscribe push');
  await until(() => calls >= 1, 6000, 'first sub refresh call');
  const first = b.take('/sub_refresh');
  assert.equal(first.text,
    `{"client":"${con.connect.client}","transport":"websocket","protocol":"json","encoding":"json",` +
    `"user":"ssu","channel":"ss:a"}`);
  await until(async () => {
    const p = await s.apiOk('presence', { channel: 'ss:a' });
    return Object.values(p.presence).some((e) => e.chan_info && e.chan_info.v === 1);
  }, 6000, 'channel info replaced by the refresh result');
  assert.ok(c.isOpen, 'refreshed: the connection stays');
  release();
  // The second answer says expired: a server-side subscription ends the connection.
  assert.deepEqual(await c.waitClose(8000), { code: 3006, reason: 'subscription expired' });
  assert.equal(calls, 2);
});
