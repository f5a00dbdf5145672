// Operations (issue #15): Prometheus metrics on /metrics with Centrifugo v5.4.9's names, labels
// and values after known activity; /health following the engine; log_file JSON lines; pid_file.
// With a Centrifugo v5.4.9 binary in CENTRIFUGO_BIN the HELP and TYPE lines of every family
// both expose are compared with the real server's (skipped with the reason otherwise).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  test, startServer, spawnGyre, freePort, makeTempDir, waitHealthy, httpRequest, Server, userToken,
  once, until, sleep, rawConnected,
} from './harness.mjs';
import { RedisServer } from './redis_server.mjs';

const NS = [
  {
    name: 'ns', history_size: 10, history_ttl: '300s', force_recovery: true, allow_subscribe_for_client: true,
  },
];
const CONFIG = {
  api_key: 'k', token_hmac_secret_key: 'secret', namespaces: NS, prometheus: true, gomaxprocs: 2,
};

async function server(scope, config, opts) {
  const s = await startServer(config, opts);
  scope.defer(() => s.stop());
  return s;
}

/** Parses the text exposition into Map<series (name{labels}), value> plus HELP/TYPE lines. */
function parseMetrics(text) {
  const series = new Map();
  const meta = new Map();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# ')) {
      const [, kind, name] = line.split(' ', 3);
      meta.set(`${kind} ${name}`, line);
      continue;
    }
    const cut = line.lastIndexOf(' ');
    series.set(line.slice(0, cut), line.slice(cut + 1));
  }
  return { series, meta };
}

async function scrape(server, pathName = '/metrics') {
  const r = await httpRequest(server.base + pathName);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.contentType, 'text/plain; version=0.0.4; charset=utf-8; escaping=underscores');
  return parseMetrics(r.text);
}

async function connected(scope, server, user) {
  const c = scope.sdk(server, { token: userToken(user) });
  const p = once(c, 'connected', 5000);
  c.connect();
  await p;
  return c;
}

async function subscribed(client, channel, opts = {}) {
  const sub = client.newSubscription(channel, opts);
  const p = once(sub, 'subscribed', 5000);
  sub.subscribe();
  return [sub, await p];
}

test('metrics: exact Centrifugo series after known activity, summed over shards', async (t, scope) => {
  const srv = await server(scope, CONFIG);
  const a = await connected(scope, srv, 'alice');
  const b = await connected(scope, srv, 'bob');
  const [subA] = await subscribed(a, 'ns:room');
  const got = [];
  const [subB] = await subscribed(b, 'ns:room');
  subB.on('publication', (ctx) => got.push(ctx.data));
  let last;
  for (let i = 1; i <= 3; i++) last = await srv.apiOk('publish', { channel: 'ns:room', data: { i } });
  await until(() => got.length === 3, 5000, 'three publications at bob');
  // A reply error: presence is not enabled in the namespace (108).
  await assert.rejects(subA.presence(), (e) => e.code === 108);
  // A recovering subscription: a third client subscribes from offset 1 of the stream.
  const c = await connected(scope, srv, 'carol');
  const [, ctx] = await subscribed(c, 'ns:room', { since: { offset: 1, epoch: last.epoch } });
  assert.equal(ctx.recovered, true);
  // Centrifugo answers `channels` with a node survey (op "channels"), even on one node.
  assert.deepEqual(await srv.apiOk('channels', {}), { channels: { 'ns:room': { num_clients: 3 } } });

  const { series, meta } = await scrape(srv);
  const expect = {
    'centrifugo_node_num_clients': '3',
    'centrifugo_node_num_users': '3',
    'centrifugo_node_num_subscriptions': '3',
    'centrifugo_node_num_channels': '1',
    'centrifugo_node_num_nodes': '1',
    'centrifugo_node_build{version="0.1.0"}': '1',
    'centrifugo_node_messages_sent_count{type="publication"}': '3',
    'centrifugo_node_messages_sent_count{type="join"}': '0',
    'centrifugo_node_messages_received_count{type="publication"}': '3',
    'centrifugo_node_action_count{action="add_client"}': '3',
    'centrifugo_node_action_count{action="add_subscription"}': '3',
    'centrifugo_node_action_count{action="history_recover"}': '1',
    'centrifugo_node_action_count{action="history_stream_top"}': '2',
    'centrifugo_node_action_count{action="remove_client"}': '0',
    'centrifugo_transport_connect_count{transport="websocket"}': '3',
    'centrifugo_transport_connect_count{transport="sse"}': '0',
    'centrifugo_client_recover{recovered="yes"}': '1',
    'centrifugo_client_recover{recovered="no"}': '0',
    'centrifugo_client_num_reply_errors{code="108",method="presence"}': '1',
    'centrifugo_client_command_duration_seconds_count{method="connect"}': '3',
    'centrifugo_client_command_duration_seconds_count{method="subscribe"}': '3',
    'centrifugo_client_command_duration_seconds_count{method="presence"}': '1',
    'centrifugo_client_command_duration_seconds_count{method="rpc"}': '0',
    'centrifugo_client_command_duration_seconds{method="rpc",quantile="0.5"}': 'NaN',
    'centrifugo_transport_messages_received{channel_namespace="_",frame_type="connect",transport="websocket"}': '3',
    'centrifugo_transport_messages_received{channel_namespace="_",frame_type="subscribe",transport="websocket"}': '3',
    'centrifugo_transport_messages_sent{channel_namespace="_",frame_type="connect",transport="websocket"}': '3',
    'centrifugo_transport_messages_sent{channel_namespace="_",frame_type="push_publication",transport="websocket"}': '6',
    'centrifugo_transport_messages_sent{channel_namespace="_",frame_type="presence",transport="websocket"}': '1',
    'centrifugo_api_command_duration_seconds_count{method="publish",protocol="http"}': '3',
    'centrifugo_api_command_duration_seconds_histogram_count{method="publish",protocol="http"}': '3',
    'centrifugo_api_command_duration_seconds_histogram_bucket{method="publish",protocol="http",le="+Inf"}': '3',
    'centrifugo_node_client_connection_limit': '0',
    'centrifugo_node_pub_sub_lag_seconds_count': '3',
    'centrifugo_node_pub_sub_lag_seconds_bucket{le="+Inf"}': '3',
    'centrifugo_node_action_count{action="survey"}': '1',
    'centrifugo_node_survey_duration_seconds_count{op="channels"}': '1',
    'gyre_shards': '2',
  };
  for (const [k, v] of Object.entries(expect)) assert.equal(series.get(k), v, k);
  // Each push_publication is the JSON push of {"i":n}: its bytes are counted per subscriber.
  const bytes = Number(series.get('centrifugo_transport_messages_sent_size{channel_namespace="_",frame_type="push_publication",transport="websocket"}'));
  assert.ok(bytes > 6 * 30, `push bytes ${bytes}`);
  // Quantiles of an observed summary are numbers; histogram buckets are cumulative.
  assert.match(series.get('centrifugo_client_command_duration_seconds{method="connect",quantile="0.99"}'), /^[0-9.e+-]+$/);
  const buckets = [...series.entries()].filter(([k]) => k.startsWith('centrifugo_api_command_duration_seconds_histogram_bucket{method="publish"'));
  assert.equal(buckets.length, 12);
  const broadcast = [...series.keys()].filter((k) => k.startsWith('centrifugo_node_broadcast_duration_seconds_bucket'));
  assert.equal(broadcast.length, 20);
  assert.equal(broadcast[0], 'centrifugo_node_broadcast_duration_seconds_bucket{le="1e-06"}');
  for (let i = 1; i < buckets.length; i++) assert.ok(Number(buckets[i][1]) >= Number(buckets[i - 1][1]));
  // Process collector and Gyre's shard loop counters.
  for (const name of ['process_resident_memory_bytes', 'process_virtual_memory_bytes', 'process_open_fds',
    'process_max_fds', 'process_start_time_seconds']) {
    assert.ok(Number(series.get(name)) > 0, `${name} = ${series.get(name)}`);
  }
  assert.ok(Number(series.get('process_cpu_seconds_total')) >= 0);  // may still be 0 (10 ms ticks)
  // IP traffic of the network namespace (client_golang reads /proc/<pid>/net/netstat): this
  // test's own loopback requests are in it.
  for (const name of ['process_network_receive_bytes_total', 'process_network_transmit_bytes_total']) {
    assert.ok(Number(series.get(name)) > 0, `${name} = ${series.get(name)}`);
    assert.equal(meta.get(`TYPE ${name}`), `# TYPE ${name} counter`);
  }
  assert.ok(Number(series.get('gyre_shard_loop_turns_total{shard="0"}')) > 0);
  assert.ok(Number(series.get('gyre_shard_handlers_total{shard="1"}')) > 0);
  assert.equal(meta.get('HELP centrifugo_node_num_clients'), '# HELP centrifugo_node_num_clients Number of clients connected.');
  assert.equal(meta.get('TYPE centrifugo_client_command_duration_seconds'), '# TYPE centrifugo_client_command_duration_seconds summary');
  assert.equal(meta.get('TYPE process_cpu_seconds_total'), '# TYPE process_cpu_seconds_total counter');

  // Disconnects and unsubscribes the server initiates are counted by code.
  await srv.apiOk('unsubscribe', { user: 'bob', channel: 'ns:room' });
  await srv.apiOk('disconnect', { user: 'carol' });
  await until(async () => {
    const m = (await scrape(srv)).series;
    return m.get('centrifugo_client_num_server_unsubscribes{code="2000"}') === '1'
      && m.get('centrifugo_client_num_server_disconnects{code="3503"}') === '1'
      && m.get('centrifugo_node_num_clients') === '2'
      && m.get('centrifugo_node_action_count{action="remove_subscription"}') === '2';
  }, 5000, 'server unsubscribe and disconnect counted');
});

test('metrics: broadcast duration observed once per publication delivered to subscribers (two shards)', async (t, scope) => {
  // Once per publication per node, as Centrifugo's hub: the fan-out over both shards is one
  // observation (made by the shard that finishes last); a publication nobody receives, none.
  const srv = await server(scope, { ...CONFIG, gomaxprocs: 2 });
  const got = [];
  for (const user of ['alice', 'bob', 'carol', 'dave']) {
    const [sub] = await subscribed(await connected(scope, srv, user), 'ns:b');
    sub.on('publication', (ctx) => got.push(ctx.data));
  }
  await srv.apiOk('publish', { channel: 'ns:b', data: { i: 1 } });
  await srv.apiOk('publish', { channel: 'ns:b', data: { i: 2 } });
  await srv.apiOk('publish', { channel: 'ns:nobody', data: { i: 3 } });  // no subscriber: not observed
  await until(() => got.length === 8, 5000, 'two publications to four subscribers');
  const { series } = await scrape(srv);
  assert.equal(series.get('centrifugo_node_broadcast_duration_seconds_count'), '2');
  assert.equal(series.get('centrifugo_node_broadcast_duration_seconds_bucket{le="+Inf"}'), '2');
  assert.equal(series.get('centrifugo_node_messages_received_count{type="publication"}'), '3');
});

test('metrics: ping/pong round trips observed per transport', async (t, scope) => {
  const srv = await server(scope, { ...CONFIG, ping_interval: '1s', pong_timeout: '500ms' });
  await connected(scope, srv, 'pinger');
  await until(async () => Number((await scrape(srv)).series.get(
    'centrifugo_client_ping_pong_duration_seconds_count{transport="websocket"}')) >= 1, 8000, 'a pong observed');
  const { series, meta } = await scrape(srv);
  assert.equal(meta.get('TYPE centrifugo_client_ping_pong_duration_seconds'), '# TYPE centrifugo_client_ping_pong_duration_seconds histogram');
  assert.ok(series.has('centrifugo_client_ping_pong_duration_seconds_bucket{transport="websocket",le="0.0001"}'));
  assert.ok(Number(series.get('centrifugo_transport_messages_sent{channel_namespace="_",frame_type="server_ping",transport="websocket"}')) >= 1);
  assert.ok(Number(series.get('centrifugo_transport_messages_received{channel_namespace="_",frame_type="client_pong",transport="websocket"}')) >= 1);
});

test('metrics: off by default (404); only on the internal port when it is split', async (t, scope) => {
  const off = await server(scope, { api_key: 'k' });
  assert.equal((await httpRequest(off.base + '/metrics')).status, 404);
  const internal = await freePort();
  const split = await server(scope, { prometheus: true, prometheus_handler_prefix: '/prom', internal_port: String(internal) },
    { listenPort: internal });
  const ext = `http://127.0.0.1:${split.config.port}`;
  assert.equal((await httpRequest(ext + '/prom')).status, 404);
  const r = await httpRequest(`http://127.0.0.1:${internal}/prom`);
  assert.equal(r.status, 200);
  assert.match(r.text, /^centrifugo_node_num_clients 0$/m);
});

test('metrics: proxy calls counted by type, failures as errors', async (t, scope) => {
  // A connect proxy that is down: the call fails (error 100 to the client) and counts.
  const dead = await freePort();
  const srv = await server(scope, {
    prometheus: true, proxy_connect_endpoint: `http://127.0.0.1:${dead}/connect`, proxy_connect_timeout: '1s',
  });
  const ws = await scope.raw(srv);
  ws.send({ id: 1, connect: {} });
  const reply = await ws.reply(1);
  assert.equal(reply.error.code, 100);
  const { series } = await scrape(srv);
  assert.equal(series.get('centrifugo_proxy_duration_seconds_count{protocol="http",type="connect"}'), '1');
  assert.equal(series.get('centrifugo_proxy_duration_seconds_histogram_count{protocol="http",type="connect"}'), '1');
  assert.equal(series.get('centrifugo_proxy_errors{protocol="http",type="connect"}'), '1');
  assert.equal(series.get('centrifugo_client_num_reply_errors{code="100",method="connect"}'), '1');
});

// The proxy series a scrape shows before any proxy call (Centrifugo builds its proxy handlers,
// and so their labelled series, at start-up): exactly these, all zero.
function proxySeries(series) {
  return [...series].filter(([k]) => k.startsWith('centrifugo_proxy_') || k.startsWith('centrifugo_granular_proxy_'))
    .map(([k, v]) => `${k} ${v}`).sort();
}
function zeroSeries(family, labels) {
  return [
    ...['0.5', '0.99', '0.999'].map((q) => `centrifugo_${family}_duration_seconds{${labels},quantile="${q}"} NaN`),
    `centrifugo_${family}_duration_seconds_sum{${labels}} 0`,
    `centrifugo_${family}_duration_seconds_count{${labels}} 0`,
    ...['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'].map(
      (le) => `centrifugo_${family}_duration_seconds_histogram_bucket{${labels},le="${le}"} 0`),
    `centrifugo_${family}_duration_seconds_histogram_sum{${labels}} 0`,
    `centrifugo_${family}_duration_seconds_histogram_count{${labels}} 0`,
    `centrifugo_${family}_errors{${labels}} 0`,
  ];
}
const PROXY_DEFAULT = {
  prometheus: true, proxy_connect_endpoint: 'http://127.0.0.1:9/c', proxy_rpc_endpoint: 'http://127.0.0.1:9/r',
};
const PROXY_GRANULAR = {
  prometheus: true,
  granular_proxy_mode: true,
  proxies: [{ name: 'p1', endpoint: 'http://127.0.0.1:9/1' }, { name: 'p2', endpoint: 'http://127.0.0.1:9/2' },
    { name: 'unused', endpoint: 'http://127.0.0.1:9/3' }],
  refresh_proxy_name: 'p1',
  subscribe_proxy_name: 'p1',
  namespaces: [{ name: 'ns', publish_proxy_name: 'p2', sub_refresh_proxy_name: 'p1' }],
  rpc_namespaces: [{ name: 'rn', rpc_proxy_name: 'p2' }],
};

test('metrics: proxy series exist at zero before the first call (default and granular mode)', async (t, scope) => {
  const plain = await server(scope, PROXY_DEFAULT);
  assert.deepEqual(proxySeries((await scrape(plain)).series),
    [...zeroSeries('proxy', 'protocol="http",type="connect"'), ...zeroSeries('proxy', 'protocol="http",type="rpc"')].sort());
  const granular = await server(scope, PROXY_GRANULAR);
  assert.deepEqual(proxySeries((await scrape(granular)).series), [
    ...zeroSeries('proxy', 'protocol="http",type="refresh"'),
    ...zeroSeries('granular_proxy', 'name="p1",type="subscribe"'),
    ...zeroSeries('granular_proxy', 'name="p2",type="publish"'),
    ...zeroSeries('granular_proxy', 'name="p1",type="sub_refresh"'),
    ...zeroSeries('granular_proxy', 'name="p2",type="rpc"'),
  ].sort());
});

// The v6 shape (v6-config.md §2.2, §2.5): unnamed proxies per kind plus proxies[] items that
// channel options and rpc namespaces switch on by name; a name without its *_enabled switch
// (namespace "off") is no proxy.
function proxyV6(port) {
  const dead = 'http://127.0.0.1:9';
  return {
    http_server: { port }, health: { enabled: true }, prometheus: { enabled: true },
    client: { token: { hmac_secret_key: 'secret' } },
    channel: {
      proxy: { subscribe: { endpoint: `${dead}/s` } },
      without_namespace: { subscribe_proxy_enabled: true },
      namespaces: [
        { name: 'ns', publish_proxy_enabled: true, publish_proxy_name: 'p2', sub_refresh_proxy_enabled: true, sub_refresh_proxy_name: 'p1' },
        { name: 'off', subscribe_proxy_name: 'p1' },
      ],
    },
    rpc: { namespaces: [{ name: 'rn', proxy_enabled: true, proxy_name: 'p2' }] },
    proxies: [{ name: 'p1', endpoint: `${dead}/1` }, { name: 'p2', endpoint: `${dead}/2` }, { name: 'unused', endpoint: `${dead}/3` }],
  };
}

test('metrics: v6 shape: the named proxies a namespace switches on are pre-created and counted as granular mode does', async (t, scope) => {
  const port = await freePort();
  const srv = new Server(spawnGyre({ configText: JSON.stringify(proxyV6(port)) }), port, {});
  scope.defer(() => srv.stop());
  await waitHealthy(port, srv.handle);
  assert.deepEqual(proxySeries((await scrape(srv)).series), [
    ...zeroSeries('proxy', 'protocol="http",type="subscribe"'),
    ...zeroSeries('granular_proxy', 'name="p2",type="publish"'),
    ...zeroSeries('granular_proxy', 'name="p1",type="sub_refresh"'),
    ...zeroSeries('granular_proxy', 'name="p2",type="rpc"'),
  ].sort());
  // A call through the named RPC proxy (nothing listens there: error 100) lands in its series.
  const [c] = await rawConnected(scope, srv, userToken('u1'));
  assert.equal((await c.call('rpc', { method: 'rn:m', data: {} })).error.code, 100);
  const { series } = await scrape(srv);
  assert.equal(series.get('centrifugo_granular_proxy_errors{name="p2",type="rpc"}'), '1');
  assert.equal(series.get('centrifugo_granular_proxy_duration_seconds_count{name="p2",type="rpc"}'), '1');
  assert.equal(series.get('centrifugo_proxy_errors{protocol="http",type="rpc"}'), undefined);
});

const CENTRIFUGO_BIN = process.env.CENTRIFUGO_BIN ?? '';
const peerSkip = !CENTRIFUGO_BIN || !existsSync(CENTRIFUGO_BIN)
  ? `CENTRIFUGO_BIN (a Centrifugo v5.4.9 binary) not set or missing: "${CENTRIFUGO_BIN}"`
  : false;
if (peerSkip) console.log(`# operations: Centrifugo comparison skipped: ${peerSkip}`);

/** A real Centrifugo v5.4.9 with `config` (plus port and health) on a free port, healthy. */
async function startCentrifugo(config) {
  const port = await freePort();
  const dir = makeTempDir('centrifugo-');
  const cfgPath = path.join(dir, 'config.json');
  const cfg = { port: String(port), health: true, ...config };
  writeFileSync(cfgPath, JSON.stringify(cfg));
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('CENTRIFUGO_')) delete env[k];
  const proc = spawn(CENTRIFUGO_BIN, ['--config', cfgPath], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const handle = { proc, dir, out: { text: () => '' }, exited: null };
  handle.exitPromise = new Promise((resolve) => proc.on('exit', (code, signal) => resolve(handle.exited = { code, signal })));
  const cf = new Server(handle, port, cfg);
  try {
    await waitHealthy(port, handle, 15000);
  } catch (e) {
    await cf.stop();
    throw e;
  }
  return cf;
}

test('metrics: proxy series before the first call equal Centrifugo v5.4.9\'s', { skip: peerSkip }, async (t, scope) => {
  for (const config of [PROXY_DEFAULT, PROXY_GRANULAR]) {
    const cf = await startCentrifugo(config);
    try {
      const gy = await server(scope, config);
      assert.deepEqual(proxySeries((await scrape(gy)).series), proxySeries((await scrape(cf)).series));
    } finally {
      await cf.stop();
    }
  }
});

test('metrics: HELP and TYPE lines equal Centrifugo v5.4.9\'s for every shared family', { skip: peerSkip }, async (t, scope) => {
  const cf = await startCentrifugo({ prometheus: true, api_key: 'k', token_hmac_secret_key: 'secret' });
  try {
    const gy = await server(scope, { api_key: 'k', prometheus: true, token_hmac_secret_key: 'secret' });
    // The same activity on both: API publishes and a proxy-less client connect + reply error.
    for (const s of [cf, gy]) {
      await s.apiOk('publish', { channel: 'x', data: {} });
      await s.apiOk('info', {});
      await s.apiOk('channels', {});
      const c = await connected(scope, s, 'u');
      await assert.rejects(c.rpc('m', {}), (e) => e.code === 104 || e.code === 108);
      c.disconnect();
    }
    const want = await scrape(cf);
    const have = await scrape(gy);
    let shared = 0;
    for (const [k, line] of have.meta) {
      const name = k.split(' ')[1];
      if (name.startsWith('gyre_')) continue;
      assert.ok(want.meta.has(k), `Centrifugo has no ${k}`);
      assert.equal(line, want.meta.get(k));
      shared++;
    }
    assert.ok(shared > 40, `shared HELP/TYPE lines: ${shared}`);
    for (const name of ['centrifugo_node_broadcast_duration_seconds', 'centrifugo_node_survey_duration_seconds',
      'process_network_receive_bytes_total', 'process_network_transmit_bytes_total']) {
      assert.ok(have.meta.has(`HELP ${name}`), `Gyre has no HELP ${name}`);
    }
    for (const k of [
      'centrifugo_node_messages_sent_count{type="publication"}',
      'centrifugo_node_messages_received_count{type="publication"}',
      'centrifugo_api_command_duration_seconds_count{method="publish",protocol="http"}',
      'centrifugo_api_command_duration_seconds_count{method="info",protocol="http"}',
      'centrifugo_transport_connect_count{transport="websocket"}',
      'centrifugo_client_command_duration_seconds_count{method="connect"}',
      'centrifugo_node_action_count{action="add_client"}',
      'centrifugo_node_action_count{action="remove_client"}',
      'centrifugo_node_action_count{action="survey"}',
      'centrifugo_node_broadcast_duration_seconds_count',
      'centrifugo_node_survey_duration_seconds_count{op="channels"}',
    ]) {
      assert.equal(have.series.get(k), want.series.get(k), k);
    }
  } finally {
    await cf.stop();
  }
});

test('health: 503 while Redis is unreachable, 200 again after; health_engine_check: false keeps 200', async (t, scope) => {
  const redis = await RedisServer.start();
  try {
    const common = { engine: 'redis', redis_address: redis.address, redis_connect_timeout: '300ms', redis_io_timeout: '500ms' };
    const checked = await server(scope, common);
    const plain = await server(scope, { ...common, health_engine_check: false });
    assert.deepEqual(await checked.health(), { status: 200, text: '{}' });
    await redis.stop();
    await until(async () => (await checked.health()).status === 503, 8000, 'health 503 with Redis down');
    assert.deepEqual(await checked.health(), { status: 503, text: '{"error":"engine unavailable"}' });
    assert.deepEqual(await plain.health(), { status: 200, text: '{}' });
    await redis.spawn();
    await until(async () => (await checked.health()).status === 200, 10000, 'health 200 after Redis is back');
  } finally {
    await redis.stop();
  }
});

/** The exit of a spawned server that must stop by itself (killed after 8 s so none leaks). */
async function exited(h) {
  const timer = setTimeout(() => h.proc.kill('SIGKILL'), 8000);
  const r = await h.exitPromise;
  clearTimeout(timer);
  return r;
}

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/;

test('logs: log_file gets zerolog JSON lines (level, fields, time, message); pid_file written and removed', async (t, scope) => {
  const dir = makeTempDir('gyre-logs-');
  const logFile = path.join(dir, 'gyre.log');
  const pidFile = path.join(dir, 'gyre.pid');
  writeFileSync(logFile, 'kept line\n');  // appended to, as Centrifugo opens it with O_APPEND
  const srv = await startServer({ log_file: logFile, pid_file: pidFile, log_level: 'info', gomaxprocs: 1 });
  assert.equal(readFileSync(pidFile, 'utf8'), `${srv.proc.pid}\n`);
  // Nothing goes to stdout with log_file.
  assert.equal(srv.output().includes('starting Gyre'), false);
  await srv.stop();
  assert.equal(existsSync(pidFile), false, 'pid_file removed on shutdown');
  const lines = readFileSync(logFile, 'utf8').split('\n').filter(Boolean);
  assert.equal(lines[0], 'kept line');
  const entries = lines.slice(1).map((l) => JSON.parse(l));
  const start = entries.find((e) => e.message === 'starting Gyre');
  assert.deepEqual(Object.keys(start), ['level', 'version', 'pid', 'engine', 'gomaxprocs', 'node', 'name', 'time', 'message']);
  assert.equal(start.level, 'info');
  assert.equal(start.version, '0.1.0');
  assert.equal(start.pid, srv.proc.pid);
  assert.equal(start.engine, 'memory');
  assert.equal(start.gomaxprocs, 1);
  assert.match(start.time, RFC3339);
  for (const e of entries) {
    assert.ok(['info', 'warn'].includes(e.level), JSON.stringify(e));
    assert.equal(Object.keys(e)[0], 'level');
    assert.deepEqual(Object.keys(e).slice(-2), ['time', 'message']);
  }
  assert.ok(entries.some((e) => e.message === 'bye'));
});

/** The entry with `message` (the first unless `pred` picks another); fails listing the messages. */
function entryOf(entries, message, pred = () => true) {
  const e = entries.find((x) => x.message === message && pred(x));
  assert.ok(e, `no "${message}" line in ${JSON.stringify(entries.map((x) => x.message))}`);
  return e;
}

/**
 * A raw HTTP/1.1 request over TCP whose response is read as it comes (a streaming response):
 * `text` is everything received, `ended` resolves when the server closes the connection.
 */
function rawStream(scope, srv, method, pathName, { headers = {}, body = '' } = {}) {
  const sock = net.connect(srv.port, '127.0.0.1');
  scope.defer(() => sock.destroy());
  const r = { sock, text: '' };
  sock.on('data', (d) => { r.text += d.toString(); });
  r.ended = new Promise((resolve) => sock.on('close', resolve));
  const lines = [`${method} ${pathName} HTTP/1.1`, 'Host: 127.0.0.1', `Content-Length: ${Buffer.byteLength(body)}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  sock.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
  r.client = async () => {
    await until(() => /"client":"[^"]+"/.test(r.text), 5000, `${pathName} connect`);
    return r.text.match(/"client":"([^"]+)"/)[1];
  };
  return r;
}

/** Asserts the exact members of a JSON log line, in order, with "time" checked as RFC 3339. */
function assertLine(e, expected) {
  const { time, ...rest } = e;
  assert.match(time, RFC3339);
  assert.deepEqual(Object.keys(e), [...Object.keys(expected).filter((k) => k !== 'message'), 'time', 'message']);
  assert.deepEqual(rest, expected);
}

test('logs: lines carry Centrifugo\'s structured fields (client lines, refused subscribes, API errors, a proxy error, HTTP requests incl. streams)', async (t, scope) => {
  const dir = makeTempDir('gyre-logs-');
  const logFile = path.join(dir, 'gyre.log');
  const closedPort = await freePort();  // nothing listens there: the RPC proxy call fails
  const srv = await startServer({
    log_file: logFile, log_level: 'debug', api_key: 'k', token_hmac_secret_key: 'secret',
    proxy_rpc_endpoint: `http://127.0.0.1:${closedPort}/rpc`, proxy_rpc_timeout: '1s',
    http_stream: true, sse: true, uni_http_stream: true, uni_sse: true, gomaxprocs: 1,
    uni_sse_connect_code_to_http_response: { enabled: true, transforms: [{ code: 3500, to: { status_code: 403, body: 'bad token' } }] },
  });
  let stopped = false;
  scope.defer(() => (stopped ? undefined : srv.stop()));
  const [c, connected] = await rawConnected(scope, srv, userToken('u1'));
  assert.equal((await c.call('rpc', { method: 'm', data: {} })).error.code, 100);
  // Refused subscribes, each with Centrifugo's info line naming why.
  assert.equal((await c.call('subscribe', { channel: 'x'.repeat(256) })).error.code, 107);
  assert.equal((await c.call('subscribe', { channel: 'news', token: 'not.a.jwt' })).error.code, 103);
  assert.equal((await c.call('subscribe', { channel: 'news' })).error.code, 103);
  const badConn = await scope.raw(srv);
  badConn.send({ id: 1, connect: { token: 'not.a.jwt' } });
  assert.equal((await badConn.waitClose()).code, 3500);
  // A subscription token for another channel: Centrifugo's mismatch line, then 3500.
  const [c5] = await rawConnected(scope, srv, userToken('u5'));
  c5.send({ id: 2, subscribe: { channel: 'news2', token: userToken('u5', { channel: 'other' }) } });
  assert.equal((await c5.waitClose()).code, 3500);
  // API errors: a missing channel, missing data, an undecodable body.
  assert.deepEqual((await srv.api('publish', { data: { a: 1 } })).json, { error: { code: 107, message: 'bad request' } });
  assert.deepEqual((await srv.api('publish', { channel: 'x' })).json, { error: { code: 107, message: 'bad request' } });
  assert.equal((await srv.api('publish', 'not json')).status, 400);
  await srv.apiOk('disconnect', { user: 'u1', disconnect: { code: 4501, reason: 'custom bye' } });
  assert.deepEqual(await c.waitClose(), { code: 4501, reason: 'custom bye' });
  // Streaming requests, each with its own X-Real-IP to find its line: ended by the server
  // (HTTP-stream, uni HTTP-stream), by the client going away (SSE, uni SSE), refused with
  // the status of a connect-code transform (uni SSE, bad token → 403).
  const cmd = (user) => JSON.stringify({ id: 1, connect: { token: userToken(user) } });
  const hs = rawStream(scope, srv, 'POST', '/connection/http_stream', { headers: { 'X-Real-IP': '10.0.0.1' }, body: cmd('u2') });
  const hsClient = await hs.client();
  const sse = rawStream(scope, srv, 'GET', `/connection/sse?cf_connect=${encodeURIComponent(cmd('u3'))}`, { headers: { 'X-Real-IP': '10.0.0.2' } });
  const sseClient = await sse.client();
  const uhs = rawStream(scope, srv, 'POST', '/connection/uni_http_stream', { headers: { 'X-Forwarded-For': '10.0.0.3' }, body: JSON.stringify({ token: userToken('u2') }) });
  await uhs.client();
  const usse = rawStream(scope, srv, 'POST', '/connection/uni_sse', { headers: { 'X-Real-IP': '10.0.0.4' }, body: JSON.stringify({ token: userToken('u4') }) });
  await usse.client();
  const bad = rawStream(scope, srv, 'POST', '/connection/uni_sse', { headers: { 'X-Real-IP': '10.0.0.5' }, body: JSON.stringify({ token: userToken('u4', {}, { secret: 'wrong' }) }) });
  await bad.ended;
  assert.match(bad.text, /^HTTP\/1\.1 403 Forbidden\r\n[^]*\r\n\r\nbad token$/);
  await srv.apiOk('disconnect', { user: 'u2' });
  await hs.ended;
  await uhs.ended;
  sse.sock.destroy();
  usse.sock.destroy();
  await srv.apiOk('info', {});  // one shard (gomaxprocs 1): it saw the two closes before answering
  stopped = true;
  await srv.stop();  // flushes the file: debug lines are buffered until a line at info or above
  const entries = readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const client = connected.client;
  assertLine(entryOf(entries, 'client connection established'),
    { level: 'debug', client, transport: 'websocket', message: 'client connection established' });
  assertLine(entryOf(entries, 'client authenticated'), { level: 'debug', client, user: 'u1', message: 'client authenticated' });
  const proxyError = entryOf(entries, 'error proxying RPC');
  assert.equal(typeof proxyError.error, 'string');
  assert.notEqual(proxyError.error, '');
  assertLine(proxyError, { level: 'error', client, error: proxyError.error, user: 'u1', message: 'error proxying RPC' });
  assertLine(entryOf(entries, 'client command error'),
    { level: 'info', client, code: 100, command: 'rpc', error: 'internal server error', user: 'u1', message: 'client command error' });
  assertLine(entryOf(entries, 'channel too long'),
    { level: 'info', channel: 'x'.repeat(256), client, max: 255, user: 'u1', message: 'channel too long' });
  assertLine(entryOf(entries, 'invalid subscription token'),
    { level: 'info', client, error: 'invalid token', user: 'u1', message: 'invalid subscription token' });
  const badToken = entryOf(entries, 'invalid connection token');
  assert.match(badToken.client, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assertLine(badToken, { level: 'info', client: badToken.client, error: 'invalid token', message: 'invalid connection token' });
  const mismatch = entryOf(entries, 'token channel mismatch');
  assertLine(mismatch, { level: 'info', channel: 'news2', client: mismatch.client, tokenChannel: 'other', user: 'u5', message: 'token channel mismatch' });
  assertLine(entryOf(entries, 'attempt to subscribe without sufficient permission'),
    { level: 'info', channel: 'news', client, user: 'u1', message: 'attempt to subscribe without sufficient permission' });
  assertLine(entryOf(entries, 'channel required for publish'), { level: 'error', message: 'channel required for publish' });
  assertLine(entryOf(entries, 'data required for publish'), { level: 'error', message: 'data required for publish' });
  assertLine(entryOf(entries, 'error decoding API request body'),
    { level: 'error', error: 'malformed request body', path: '/api/publish', message: 'error decoding API request body' });
  assertLine(entryOf(entries, 'closing client connection', (e) => e.client === client),
    { level: 'debug', client, reason: 'custom bye', user: 'u1', message: 'closing client connection' });
  const completed = entryOf(entries, 'client connection completed', (e) => e.client === client);
  assert.match(completed.duration, /^\d+(\.\d+)?(ns|µs|ms|s)$|^\d+m/);
  assertLine(completed, { level: 'debug', client, duration: completed.duration, transport: 'websocket', message: 'client connection completed' });
  // Centrifugo's request line: method, status, path, addr, duration (a Go duration string).
  const req = entryOf(entries, 'http request', (e) => e.path === '/api/disconnect');
  assert.match(req.addr, /^127\.0\.0\.1:\d+$/);
  assert.match(req.duration, /^\d+(\.\d+)?(ns|µs|ms|s)$/);
  assertLine(req, { level: 'debug', method: 'POST', status: 200, path: '/api/disconnect', addr: req.addr, duration: req.duration, message: 'http request' });
  assert.equal(entryOf(entries, 'http request', (e) => e.path === '/api/publish' && e.status === 400).method, 'POST');
  const upgrade = entryOf(entries, 'http request', (e) => e.status === 101);
  assertLine(upgrade, { level: 'debug', method: 'GET', status: 101, path: '/connection/websocket', addr: upgrade.addr, duration: upgrade.duration, message: 'http request' });
  // As Centrifugo writes them: the upgrade's line before the connection's.
  assert.ok(entries.indexOf(upgrade) < entries.indexOf(entryOf(entries, 'client connection established')));
  // A streaming request's line when the stream ends (status 200, the duration the stream
  // lasted), after its connection's "client connection completed" line, as Centrifugo's
  // middleware writes it when the handler returns; the uni SSE refused by a transform: 403.
  const streamLine = (addr, method, status, p) => {
    const e = entryOf(entries, 'http request', (x) => x.addr === addr);
    assert.match(e.duration, /^\d+(\.\d+)?(ns|µs|ms|s)$/);
    assertLine(e, { level: 'debug', method, status, path: p, addr, duration: e.duration, message: 'http request' });
    return e;
  };
  const hsLine = streamLine('10.0.0.1', 'POST', 200, '/connection/http_stream');
  const sseLine = streamLine('10.0.0.2', 'GET', 200, '/connection/sse');
  streamLine('10.0.0.3', 'POST', 200, '/connection/uni_http_stream');
  streamLine('10.0.0.4', 'POST', 200, '/connection/uni_sse');
  streamLine('10.0.0.5', 'POST', 403, '/connection/uni_sse');
  for (const [client, line] of [[hsClient, hsLine], [sseClient, sseLine]]) {
    const done = entryOf(entries, 'client connection completed', (x) => x.client === client);
    assert.ok(entries.indexOf(done) < entries.indexOf(line), `${line.path}: completed before the request line`);
  }
  assert.equal(entries.filter((x) => x.message === 'http request' && x.path.startsWith('/connection/') && x.status !== 101).length, 5);
});

test('logs: JSON lines on a non-terminal stdout; log_level is case-insensitive (WARN drops info)', async (t, scope) => {
  const srv = await server(scope, { log_level: 'WARN', bogus_option: 1 });
  const out = srv.output().split('\n').filter((l) => l.startsWith('[stdout] ')).map((l) => l.slice(9));
  const entries = out.map((l) => JSON.parse(l));
  // Centrifugo's line for an unknown key: the key as a field.
  assert.deepEqual(entries.map((e) => [e.level, e.key, e.message]), [['warn', 'bogus_option', 'unknown key found in the configuration file']]);
  assert.deepEqual(Object.keys(entries[0]), ['level', 'key', 'time', 'message']);
  assert.match(entries[0].time, RFC3339);
});

test('logs: a log_file that cannot be opened and a pid_file that cannot be written stop start-up', async () => {
  const dir = makeTempDir('gyre-logs-');
  const h1 = spawnGyre({ configText: JSON.stringify({ port: String(await freePort()), log_file: path.join(dir, 'no', 'such', 'x.log') }) });
  assert.equal((await exited(h1)).code, 1);
  assert.match(h1.out.text(), /error: log_file ".*no\/such\/x\.log": cannot open it: No such file or directory/);
  const h2 = spawnGyre({ configText: JSON.stringify({ port: String(await freePort()), pid_file: path.join(dir, 'no', 'such', 'x.pid') }) });
  assert.equal((await exited(h2)).code, 1);
  assert.match(h2.out.text(), /"level":"fatal","pid_file":".*x\.pid","error":"cannot write it","time":"[^"]+","message":"error writing PID"/);
});
