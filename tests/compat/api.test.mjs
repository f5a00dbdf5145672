// HTTP server API tests (server-api.md §1, §7) with fetch and cent.js.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CentClient, CentException } from 'cent.js';
import {
  test, startServer, TOKENS, userToken, uniq, sleep, until, httpRequest, rawConnected,
} from './harness.mjs';

// §7 config, plus a namespace "room" used for live-connection checks.
const CONF = {
  api_key: 'k',
  token_hmac_secret_key: 'secret',
  namespaces: [
    { name: 'chat', presence: true, history_size: 10, history_ttl: '300s' },
    { name: 'room', presence: true, history_size: 10, history_ttl: '300s', allow_subscribe_for_client: true },
  ],
};

let srv; // §7 config
let open; // api_insecure + api_error_mode transport
let nokey; // no api_key configured

before(async () => {
  srv = await startServer(CONF);
  open = await startServer({ ...CONF, api_key: undefined, api_insecure: true, api_error_mode: 'transport' });
  nokey = await startServer({ token_hmac_secret_key: 'secret' });
});
after(async () => {
  for (const s of [srv, open, nokey]) if (s) await s.stop();
});

const JSON_CT = /^application\/json/;
const KEY = { 'X-API-Key': 'k' };

function assertJson(r, status, body, label = '') {
  assert.equal(r.status, status, `${label} status; body ${r.text}`);
  assert.match(r.contentType ?? '', JSON_CT, `${label} content-type`);
  assert.ok(!r.text.endsWith('\n'), `${label} body must not end with a newline: ${JSON.stringify(r.text)}`);
  assert.deepEqual(r.json, body, `${label} body`);
}

// ---------------------------------------------------------------- §7 conformance rows 1-19

test('row 1: GET /api/info → 405, empty body (method check precedes auth)', async () => {
  for (const headers of [KEY, {}]) {
    const r = await httpRequest(`${srv.base}/api/info`, { method: 'GET', headers });
    assert.equal(r.status, 405);
    assert.equal(r.text, '');
  }
  for (const m of ['PUT', 'DELETE']) {
    const r = await httpRequest(`${srv.base}/api/publish`, { method: m, headers: KEY, body: '{}' });
    assert.equal(r.status, 405, m);
  }
  const legacy = await httpRequest(`${srv.base}/api`, { method: 'GET', headers: KEY });
  assert.equal(legacy.status, 405);
});

test('row 2: POST /api/info without key → 401, empty body', async () => {
  const r = await srv.api('info', {}, { key: null });
  assert.equal(r.status, 401);
  assert.equal(r.text, '');
});

test('row 3: Authorization: apikey k → 200 info with node shape (before any client connects)', async () => {
  const r = await srv.api('info', {}, { key: null, headers: { Authorization: 'apikey k' } });
  assert.equal(r.status, 200, r.text);
  assert.match(r.contentType, JSON_CT);
  assert.deepEqual(Object.keys(r.json), ['result']);
  const nodes = r.json.result.nodes;
  assert.ok(Array.isArray(nodes) && nodes.length === 1, r.text);
  const n = nodes[0];
  for (const k of ['uid', 'name', 'version', 'num_clients', 'num_users', 'num_channels', 'num_subs']) assert.ok(k in n, `node.${k} missing: ${r.text}`);
  const allowed = new Set(['uid', 'name', 'version', 'num_clients', 'num_users', 'num_channels', 'num_subs', 'uptime', 'metrics', 'process']);
  for (const k of Object.keys(n)) assert.ok(allowed.has(k), `unexpected node key ${k}`);
  assert.equal(typeof n.uid, 'string');
  assert.ok(n.uid.length > 0);
  assert.equal(typeof n.name, 'string');
  assert.ok(n.name.length > 0);
  assert.equal(typeof n.version, 'string');
  assert.deepEqual([n.num_clients, n.num_users, n.num_channels, n.num_subs], [0, 0, 0, 0]);
  assert.ok(!r.text.endsWith('\n'));
});

test('row 4: empty body → 400 Bad Request', async () => {
  const r = await srv.api('info', undefined);
  assert.equal(r.status, 400);
  assert.equal(r.text.trim(), 'Bad Request');
});

test('row 5: publish to channel without history → {"result":{}}', async () => {
  const r = await srv.api('publish', { channel: 'news', data: { a: 1 } });
  assert.equal(r.status, 200);
  assert.equal(r.text, '{"result":{}}');
  assert.match(r.contentType, JSON_CT);
});

let chatEpoch;
test('row 6: publish to chat:1 → {"result":{"offset":1,"epoch":E}}', async () => {
  const r = await srv.api('publish', { channel: 'chat:1', data: { a: 1 } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(Object.keys(r.json.result).sort(), ['epoch', 'offset']);
  assert.equal(r.json.result.offset, 1);
  assert.equal(typeof r.json.result.epoch, 'string');
  assert.ok(r.json.result.epoch.length > 0);
  chatEpoch = r.json.result.epoch;
});

test('row 7: unknown namespace → 200 {"error":{"code":102,"message":"unknown channel"}}', async () => {
  assertJson(await srv.api('publish', { channel: 'x:1', data: {} }), 200, { error: { code: 102, message: 'unknown channel' } });
});

test('row 8: same with X-Centrifugo-Error-Mode: transport → 404 bare error', async () => {
  const r = await srv.api('publish', { channel: 'x:1', data: {} }, { headers: { 'X-Centrifugo-Error-Mode': 'transport' } });
  assertJson(r, 404, { code: 102, message: 'unknown channel' });
});

test('row 9: publish without data → 107', async () => {
  assertJson(await srv.api('publish', { channel: 'news' }), 200, { error: { code: 107, message: 'bad request' } });
  assertJson(await srv.api('publish', { data: {} }), 200, { error: { code: 107, message: 'bad request' } }, 'no channel');
});

test('row 10: type mismatch {"channel":1} → 400', async () => {
  const r = await srv.api('publish', { channel: 1 });
  assert.equal(r.status, 400);
  assert.equal(r.text.trim(), 'Bad Request');
  for (const body of ['{"channel":"news","data":', '[1,2]', '{"channel":"news","data":{},"skip_history":"yes"}', '{"channel":"news","data":{},"tags":{"a":1}}']) {
    const r2 = await srv.api('publish', body);
    assert.equal(r2.status, 400, body);
  }
});

test('row 11: presence on namespace without presence → 108', async () => {
  assertJson(await srv.api('presence', { channel: 'news' }), 200, { error: { code: 108, message: 'not available' } });
  assertJson(await srv.api('presence_stats', { channel: 'news' }), 200, { error: { code: 108, message: 'not available' } });
  assertJson(await srv.api('history', { channel: 'news' }), 200, { error: { code: 108, message: 'not available' } });
  assertJson(await srv.api('history_remove', { channel: 'news' }), 200, { error: { code: 108, message: 'not available' } });
});

test('row 12: presence_stats chat:1 → {"num_clients":0,"num_users":0}', async () => {
  assertJson(await srv.api('presence_stats', { channel: 'chat:1' }), 200, { result: { num_clients: 0, num_users: 0 } });
  assertJson(await srv.api('presence', { channel: 'chat:1' }), 200, { result: { presence: {} } });
});

test('row 13: history chat:1 limit -1 → exact publications, epoch, offset', async () => {
  assertJson(await srv.api('history', { channel: 'chat:1', limit: -1 }), 200, {
    result: { publications: [{ data: { a: 1 }, offset: 1 }], epoch: chatEpoch, offset: 1 },
  });
});

test('row 14: history since with another epoch → 112', async () => {
  assertJson(await srv.api('history', { channel: 'chat:1', since: { offset: 0, epoch: 'zzzz' } }), 200, { error: { code: 112, message: 'unrecoverable position' } });
});

test('row 15: legacy /api command stream: replies joined by \\n, no trailing newline', async () => {
  const body = '{"method":"publish","params":{"channel":"news","data":1}}\n{"id":2,"method":"presence","params":{"channel":"news"}}';
  const r = await srv.api('', body);
  assert.equal(r.status, 200);
  assert.match(r.contentType, JSON_CT);
  assert.equal(r.text, '{"result":{}}\n{"id":2,"error":{"code":108,"message":"not available"}}');
});

test('row 16: legacy unknown method name → 400', async () => {
  const r = await srv.api('', '{"method":"nope"}');
  assert.equal(r.status, 400);
});

test('row 17: batch → {"replies":[{"publish":{}},{"error":{"code":102,...}}]}', async () => {
  assertJson(await srv.api('batch', { commands: [{ publish: { channel: 'news', data: {} } }, { presence: { channel: 'x:y' } }] }), 200, {
    replies: [{ publish: {} }, { error: { code: 102, message: 'unknown channel' } }],
  });
});

test('row 18: rpc unknown method → 104 "not found"; empty method → 107', async () => {
  assertJson(await srv.api('rpc', { method: 'x' }), 200, { error: { code: 104, message: 'not found' } });
  assertJson(await srv.api('rpc', { method: '' }), 200, { error: { code: 107, message: 'bad request' } });
});

test('row 19: channels {} → {"result":{"channels":{}}}', async () => {
  assertJson(await srv.api('channels', {}), 200, { result: { channels: {} } });
});

// ---------------------------------------------------------------- auth variants

test('auth: X-API-Key, Authorization apikey (case-insensitive), ?api_key=, wrong keys', async () => {
  const ok = async (opts, label) => assert.equal((await srv.api('info', {}, opts)).status, 200, label);
  const no = async (opts, label) => {
    const r = await srv.api('info', {}, opts);
    assert.equal(r.status, 401, label);
    assert.equal(r.text, '', label);
  };
  await ok({}, 'X-API-Key');
  await ok({ key: null, headers: { Authorization: 'apikey k' } }, 'apikey');
  await ok({ key: null, headers: { Authorization: 'APIKEY k' } }, 'APIKEY');
  await ok({ key: null, query: '?api_key=k' }, 'query');
  await no({ key: 'wrong' }, 'wrong X-API-Key');
  await no({ key: null, headers: { Authorization: 'Bearer k' } }, 'Bearer');
  await no({ key: null, headers: { Authorization: 'apikey k extra' } }, '3 parts');
  await no({ key: null, headers: { Authorization: 'apikey wrong' } }, 'apikey wrong');
  await no({ key: null, query: '?api_key=wrong' }, 'wrong query');
  // Wrong X-API-Key: Authorization is not consulted, the query still is.
  await no({ key: 'wrong', headers: { Authorization: 'apikey k' } }, 'wrong X-API-Key + good Authorization');
  await ok({ key: 'wrong', query: '?api_key=k' }, 'wrong X-API-Key + good query');
  // Legacy endpoint uses the same auth.
  assert.equal((await srv.api('', '{"method":"info","params":{}}', { key: null, headers: { Authorization: 'apikey k' } })).status, 200);
  assert.equal((await srv.api('', '{"method":"info","params":{}}', { key: null })).status, 401);
});

test('auth: api_insecure needs no key; api_key not configured → always 401', async () => {
  assert.equal((await open.api('info', {}, { key: null })).status, 200);
  for (const key of [null, '', 'anything']) {
    const r = await nokey.api('info', {}, { key });
    assert.equal(r.status, 401, `key ${key}`);
  }
});

test('unknown API paths → 404 (trailing slash, PRO methods)', async () => {
  for (const p of ['/api/publish/', '/api/connections', '/api/nope', '/api/update_user_status']) {
    const r = await srv.api(null, '{}', { path: p });
    assert.equal(r.status, 404, p);
  }
});

// ---------------------------------------------------------------- transport error mode

test('transport error mode via header: 107→400, 108→400, 112→416, 104→404; success unchanged; exact value required', async () => {
  const H = { headers: { 'X-Centrifugo-Error-Mode': 'transport' } };
  assertJson(await srv.api('publish', { channel: 'news' }, H), 400, { code: 107, message: 'bad request' }, '107');
  assertJson(await srv.api('presence', { channel: 'news' }, H), 400, { code: 108, message: 'not available' }, '108');
  assertJson(await srv.api('history', { channel: 'chat:1', since: { offset: 1, epoch: 'zzzz' } }, H), 416, { code: 112, message: 'unrecoverable position' }, '112');
  assertJson(await srv.api('rpc', { method: 'x' }, H), 404, { code: 104, message: 'not found' }, '104');
  assertJson(await srv.api('history', { channel: 'chat:1', reverse: true, since: { offset: 0 } }, H), 500, { code: 100, message: 'internal server error' }, '100');
  assertJson(await srv.api('publish', { channel: 'news', data: {} }, H), 200, { result: {} }, 'success');
  assertJson(await srv.api('publish', { channel: 'x:1', data: {} }, { headers: { 'X-Centrifugo-Error-Mode': 'Transport' } }), 200, { error: { code: 102, message: 'unknown channel' } }, 'inexact value');
  // batch and legacy never use transport mode
  assertJson(await srv.api('batch', { commands: [{ presence: { channel: 'x:y' } }] }, H), 200, { replies: [{ error: { code: 102, message: 'unknown channel' } }] }, 'batch');
  const leg = await srv.api('', '{"method":"presence","params":{"channel":"x:y"}}', H);
  assert.equal(leg.status, 200);
  assert.equal(leg.text, '{"error":{"code":102,"message":"unknown channel"}}');
  // broadcast: only top-level errors
  assertJson(await srv.api('broadcast', { channels: ['x:1'], data: {} }, H), 200, { result: { responses: [{ error: { code: 102, message: 'unknown channel' } }] } }, 'broadcast item');
  assertJson(await srv.api('broadcast', { channels: [], data: {} }, H), 400, { code: 107, message: 'bad request' }, 'broadcast top-level');
});

test('transport error mode via config api_error_mode: "transport"', async () => {
  assertJson(await open.api('publish', { channel: 'x:1', data: {} }, { key: null }), 404, { code: 102, message: 'unknown channel' });
  assertJson(await open.api('publish', { channel: 'news', data: {} }, { key: null }), 200, { result: {} });
});

// ---------------------------------------------------------------- legacy endpoint

test('legacy: missing method = publish (and the publication really happens)', async () => {
  const ch = uniq('room:leg');
  const r = await srv.api('', JSON.stringify({ params: { channel: ch, data: { legacy: true } } }));
  assert.equal(r.status, 200);
  assert.equal(r.json.result.offset, 1, r.text);
  assert.deepEqual(Object.keys(r.json.result).sort(), ['epoch', 'offset']);
  const h = await srv.apiOk('history', { channel: ch, limit: -1 });
  assert.deepEqual(h.publications, [{ data: { legacy: true }, offset: 1 }]);
});

test('legacy: integer methods, case-insensitive names, 104 for handled-but-unknown enum numbers, ids echoed', async () => {
  const lines = [
    { id: 1, method: 5, params: { channel: 'chat:1' } }, // PRESENCE_STATS by number
    { id: 2, method: 'PRESENCE_STATS', params: { channel: 'chat:1' } },
    { id: 3, method: 14, params: {} }, // CONNECTIONS (PRO) → 104
    { id: 4, method: 99, params: {} }, // unknown number → 104
    { method: 'connections', params: {} }, // enum name not handled → 104, no id
    { id: 6, method: 'presence' }, // params missing → 107
    { id: 7, method: 'info', params: 'ignored' },
    { id: 8, method: 'channels', params: {} },
  ];
  const r = await srv.api('', lines.map((l) => JSON.stringify(l)).join('\n'));
  assert.equal(r.status, 200, r.text);
  assert.ok(!r.text.endsWith('\n'));
  const replies = r.text.split('\n').map((x) => JSON.parse(x));
  assert.equal(replies.length, lines.length, r.text);
  assert.deepEqual(replies[0], { id: 1, result: { num_clients: 0, num_users: 0 } });
  assert.deepEqual(replies[1], { id: 2, result: { num_clients: 0, num_users: 0 } });
  assert.deepEqual(replies[2], { id: 3, error: { code: 104, message: 'not found' } });
  assert.deepEqual(replies[3], { id: 4, error: { code: 104, message: 'not found' } });
  assert.deepEqual(replies[4], { error: { code: 104, message: 'not found' } });
  assert.deepEqual(replies[5], { id: 6, error: { code: 107, message: 'bad request' } });
  assert.equal(replies[6].id, 7);
  assert.ok(Array.isArray(replies[6].result.nodes));
  assert.deepEqual(Object.keys(replies[7]), ['id', 'result']);
  assert.ok('channels' in replies[7].result);
  // Key order: id, error, result.
  assert.ok(r.text.split('\n')[2].startsWith('{"id":3,"error":'));
});

test('legacy: empty body → 400; quoted number method → 400; whitespace-separated stream accepted', async () => {
  assert.equal((await srv.api('', undefined)).status, 400);
  assert.equal((await srv.api('', '{"method":"0","params":{"channel":"news","data":1}}')).status, 400);
  const r = await srv.api('', '{"method":"publish","params":{"channel":"news","data":1}}  {"id":9,"method":"publish","params":{"channel":"news","data":2}}');
  assert.equal(r.status, 200);
  assert.equal(r.text, '{"result":{}}\n{"id":9,"result":{}}');
});

// ---------------------------------------------------------------- batch, broadcast

test('batch sequential: order is preserved (history sees earlier publishes)', async () => {
  const ch = uniq('room:b');
  const r = await srv.api('batch', {
    commands: [
      { publish: { channel: ch, data: { n: 1 } } },
      { publish: { channel: ch, data: { n: 2 } } },
      { history: { channel: ch, limit: -1 } },
      { presence_stats: { channel: ch } },
      { connections: {} },
      { info: {} },
      { history_remove: { channel: ch } },
      { unsubscribe: { user: 'nobody', channel: ch } },
    ],
  });
  assert.equal(r.status, 200);
  const rep = r.json.replies;
  assert.equal(rep.length, 8, r.text);
  assert.equal(rep[0].publish.offset, 1);
  assert.equal(rep[1].publish.offset, 2);
  const E = rep[0].publish.epoch;
  assert.deepEqual(rep[2], { history: { publications: [{ data: { n: 1 }, offset: 1 }, { data: { n: 2 }, offset: 2 }], epoch: E, offset: 2 } });
  assert.deepEqual(rep[3], { presence_stats: { num_clients: 0, num_users: 0 } });
  assert.deepEqual(rep[4], { error: { code: 104, message: 'not found' } });
  assert.ok(Array.isArray(rep[5].info.nodes));
  assert.deepEqual(rep[6], { history_remove: {} });
  assert.deepEqual(rep[7], { unsubscribe: {} });
  assert.ok(!('result' in r.json));
});

test('batch parallel: all replies present, in command order', async () => {
  const chans = Array.from({ length: 6 }, (_, i) => uniq(`room:p${i}`));
  const r = await srv.api('batch', { parallel: true, commands: chans.map((c, i) => ({ publish: { channel: c, data: { i } } })) });
  assert.equal(r.status, 200);
  assert.equal(r.json.replies.length, 6);
  for (let i = 0; i < 6; i++) {
    assert.equal(r.json.replies[i].publish.offset, 1);
    const h = await srv.apiOk('history', { channel: chans[i], limit: -1 });
    assert.deepEqual(h.publications[0].data, { i });
  }
});

test('batch: empty commands → {} or {"replies":[]}; undecodable → 400', async () => {
  const r = await srv.api('batch', { commands: [] });
  assert.equal(r.status, 200);
  assert.ok(JSON.stringify(r.json) === '{}' || JSON.stringify(r.json) === '{"replies":[]}', r.text);
  assert.equal((await srv.api('batch', '{"commands":5}')).status, 400);
});

test('broadcast: per-channel results in order; top-level errors', async () => {
  const hc = uniq('room:bc');
  const r = await srv.api('broadcast', { channels: ['news', 'x:y', '', hc], data: { b: 1 } });
  assert.equal(r.status, 200, r.text);
  const resp = r.json.result.responses;
  assert.equal(resp.length, 4);
  assert.deepEqual(resp[0], { result: {} });
  assert.deepEqual(resp[1], { error: { code: 102, message: 'unknown channel' } });
  assert.deepEqual(resp[2], { error: { code: 107, message: 'bad request' } });
  assert.equal(resp[3].result.offset, 1);
  assert.equal(typeof resp[3].result.epoch, 'string');
  assertJson(await srv.api('broadcast', { channels: [], data: {} }), 200, { error: { code: 107, message: 'bad request' } }, 'empty channels');
  assertJson(await srv.api('broadcast', { channels: ['news'] }), 200, { error: { code: 107, message: 'bad request' } }, 'no data');
  assertJson(await srv.api('broadcast', { channels: ['news'], b64data: '%%%' }), 200, { error: { code: 107, message: 'bad request' } }, 'bad b64');
});

// ---------------------------------------------------------------- publish options, history

test('history: limit / reverse / since semantics and history_remove keeps offset/epoch', async () => {
  const ch = uniq('room:h');
  let E;
  for (let i = 1; i <= 5; i++) E = (await srv.apiOk('publish', { channel: ch, data: { i } })).epoch;
  const offs = async (body) => (await srv.apiOk('history', { channel: ch, ...body })).publications.map((p) => p.offset);
  assert.deepEqual(await srv.apiOk('history', { channel: ch }), { publications: [], epoch: E, offset: 5 });
  assert.deepEqual(await offs({ limit: 2 }), [1, 2]);
  assert.deepEqual(await offs({ limit: 2, reverse: true }), [5, 4]);
  assert.deepEqual(await offs({ limit: -1, since: { offset: 2, epoch: E } }), [3, 4, 5]);
  assert.deepEqual(await offs({ limit: 2, since: { offset: 2 } }), [3, 4]);
  assert.deepEqual(await offs({ limit: -1, since: { offset: 5, epoch: E } }), []);
  assert.deepEqual(await offs({ limit: -1, reverse: true, since: { offset: 4, epoch: E } }), [3, 2, 1]);
  assertJson(await srv.api('history', { channel: ch, reverse: true, since: { offset: 0 } }), 200, { error: { code: 100, message: 'internal server error' } }, 'reverse+since 0');
  assertJson(await srv.api('history', { channel: '' }), 200, { error: { code: 107, message: 'bad request' } }, 'empty channel');
  assertJson(await srv.api('history', { channel: 'nope:x' }), 200, { error: { code: 102, message: 'unknown channel' } }, 'unknown ns');

  assertJson(await srv.api('history_remove', { channel: ch }), 200, { result: {} });
  assert.deepEqual(await srv.apiOk('history', { channel: ch, limit: -1 }), { publications: [], epoch: E, offset: 5 });
  assert.deepEqual(await srv.apiOk('publish', { channel: ch, data: { i: 6 } }), { offset: 6, epoch: E });
  // A never-published channel: offset 0 and an epoch.
  const fresh = await srv.apiOk('history', { channel: uniq('room:fresh') });
  assert.deepEqual(fresh.publications, []);
  assert.equal(fresh.offset, 0);
  assert.equal(typeof fresh.epoch, 'string');
  assert.ok(fresh.epoch.length > 0);
});

test('idempotency_key: second publish returns the same offset and does not publish again', async () => {
  const ch = uniq('room:idem');
  const r1 = await srv.apiOk('publish', { channel: ch, data: { x: 1 }, idempotency_key: 'key-1' });
  const r2 = await srv.apiOk('publish', { channel: ch, data: { x: 1 }, idempotency_key: 'key-1' });
  assert.deepEqual(r2, r1);
  assert.equal(r1.offset, 1);
  const h = await srv.apiOk('history', { channel: ch, limit: -1 });
  assert.equal(h.publications.length, 1);
  const r3 = await srv.apiOk('publish', { channel: ch, data: { x: 2 }, idempotency_key: 'key-2' });
  assert.equal(r3.offset, 2);
  // The key is per channel.
  const other = uniq('room:idem');
  assert.equal((await srv.apiOk('publish', { channel: other, data: { x: 1 }, idempotency_key: 'key-1' })).offset, 1);
});

test('b64data: decoded payload wins over data; invalid base64 → 107', async () => {
  const ch = uniq('room:b64');
  const b64 = Buffer.from('{"b":2}').toString('base64');
  await srv.apiOk('publish', { channel: ch, data: { a: 1 }, b64data: b64 });
  const h = await srv.apiOk('history', { channel: ch, limit: -1 });
  assert.deepEqual(h.publications, [{ data: { b: 2 }, offset: 1 }]);
  assertJson(await srv.api('publish', { channel: ch, b64data: 'not base64!!' }), 200, { error: { code: 107, message: 'bad request' } });
});

test('b64data to a JSON subscriber: JSON bytes arrive as JSON; other bytes close it with 3506 "inappropriate protocol"', async (t, s) => {
  const ch = uniq('room:b64j');
  const [c] = await rawConnected(s, srv, userToken('b64j'));
  assert.ok((await c.call('subscribe', { channel: ch })).subscribe);
  await srv.apiOk('publish', { channel: ch, b64data: Buffer.from('{"b":[1,2]}').toString('base64') });
  const m = await c.push((p) => p.channel === ch && p.pub, 5000, 'JSON publication from b64data');
  assert.deepEqual(m.push.pub.data, { b: [1, 2] });
  await srv.apiOk('publish', { channel: ch, b64data: Buffer.from([0, 1, 2, 250, 255]).toString('base64') });
  assert.deepEqual(await c.waitClose(), { code: 3506, reason: 'inappropriate protocol' });
});

test('publish options: tags stored and returned, skip_history → {}, data null is a payload', async () => {
  const ch = uniq('room:t');
  await srv.apiOk('publish', { channel: ch, data: 'x', tags: { a: 'b', c: 'd' } });
  assert.deepEqual(await srv.apiOk('publish', { channel: ch, data: 'y', skip_history: true }), {});
  const r = await srv.api('publish', { channel: ch, data: null });
  assert.equal(r.status, 200);
  assert.ok('result' in r.json, `data null counts as present: ${r.text}`);
  const h = await srv.apiOk('history', { channel: ch, limit: -1 });
  assert.deepEqual(h.publications[0], { data: 'x', offset: 1, tags: { a: 'b', c: 'd' } });
  assert.deepEqual(h.publications[1], { data: null, offset: 2 });
  assert.equal(h.publications.length, 2);
});

// ---------------------------------------------------------------- with live connections

test('presence / channels / info with live connections; channels pattern', { timeout: 30000 }, async (t, s) => {
  const a = uniq('room:alpha');
  const b = uniq('room:beta');
  const [c1, r1] = await rawConnected(s, srv, TOKENS.A);
  const [c2, r2] = await rawConnected(s, srv, userToken(43));
  await c1.call('subscribe', { channel: a, flag: 1 });
  await c2.call('subscribe', { channel: a, flag: 1 });
  await c2.call('subscribe', { channel: b, flag: 1 });
  assertJson(await srv.api('presence', { channel: a }), 200, {
    result: { presence: { [r1.client]: { user: '42', client: r1.client, conn_info: { name: 'Alice' } }, [r2.client]: { user: '43', client: r2.client } } },
  });
  assertJson(await srv.api('presence_stats', { channel: a }), 200, { result: { num_clients: 2, num_users: 2 } });
  const all = await srv.apiOk('channels', {});
  assert.deepEqual(all.channels[a], { num_clients: 2 });
  assert.deepEqual(all.channels[b], { num_clients: 1 });
  const onlyA = await srv.apiOk('channels', { pattern: a.replace(/alpha.*/, 'alph*') });
  assert.deepEqual(onlyA, { channels: { [a]: { num_clients: 2 } } });
  const both = await srv.apiOk('channels', { pattern: `{${a},${b}}` });
  assert.deepEqual(Object.keys(both.channels).sort(), [a, b].sort());
  const q = await srv.apiOk('channels', { pattern: a.slice(0, -1) + '?' });
  assert.deepEqual(Object.keys(q.channels), [a]);
  assertJson(await srv.api('channels', { pattern: 'room:[' }), 200, { error: { code: 100, message: 'internal server error' } }, 'invalid glob');
  // Node counters may be refreshed periodically (Centrifugo: every few seconds): poll.
  let info;
  await until(async () => {
    info = (await srv.apiOk('info', {})).nodes[0];
    return info.num_clients >= 2 && info.num_subs >= 3;
  }, 9000, 'info counters').catch(() => {});
  assert.ok(info.num_clients >= 2, JSON.stringify(info));
  assert.ok(info.num_users >= 2, JSON.stringify(info));
  assert.ok(info.num_channels >= 2, JSON.stringify(info));
  assert.ok(info.num_subs >= 3, JSON.stringify(info));
  c2.close();
  await until(async () => (await srv.apiOk('presence_stats', { channel: a })).num_clients === 1, 5000, 'presence after close');
  await until(async () => !(b in (await srv.apiOk('channels', {})).channels), 5000, 'channel gone after last subscriber left');
});

test('API unsubscribe / subscribe / disconnect / refresh act on live raw connections with exact pushes and close codes', async (t, s) => {
  const ch = uniq('room:u');
  const [c, r] = await rawConnected(s, srv, userToken(900));
  await c.call('subscribe', { channel: ch, flag: 1 });
  assertJson(await srv.api('unsubscribe', { user: '900', channel: ch }), 200, { result: {} });
  const un = await c.push((p) => p.unsubscribe);
  assert.deepEqual(un, { push: { channel: ch, unsubscribe: { code: 2000, reason: 'server unsubscribe' } } });
  assertJson(await srv.api('presence_stats', { channel: ch }), 200, { result: { num_clients: 0, num_users: 0 } });
  // Resubscribe works right away (state dropped before the push).
  const again = await c.call('subscribe', { channel: ch, flag: 1 });
  assert.deepEqual(again.subscribe, {});

  const sch = uniq('chat:s');
  assertJson(await srv.api('subscribe', { user: '900', channel: sch, data: { d: 1 } }), 200, { result: {} });
  const sp = await c.push((p) => p.subscribe);
  assert.equal(sp.push.channel, sch);
  assert.deepEqual(sp.push.subscribe.data, { d: 1 });
  await srv.apiOk('publish', { channel: sch, data: { via: 'server-side' } });
  const pub = await c.push((p) => p.pub && p.channel === sch);
  assert.deepEqual(pub.push.pub.data, { via: 'server-side' });
  assertJson(await srv.api('subscribe', { user: '900', channel: 'x:nope' }), 200, { error: { code: 102, message: 'unknown channel' } });
  assertJson(await srv.api('subscribe', { user: '900', channel: '' }), 200, { error: { code: 107, message: 'bad request' } });
  assertJson(await srv.api('subscribe', { user: 'nobody-online', channel: sch }), 200, { result: {} });

  // disconnect with whitelist keeps the listed client.
  const [c2] = await rawConnected(s, srv, userToken(900));
  assertJson(await srv.api('disconnect', { user: '900', whitelist: [r.client] }), 200, { result: {} });
  assert.deepEqual(await c2.waitClose(), { code: 3503, reason: 'force disconnect' });
  // Positive control instead of a pause: the API answered after every shard acted, so a reply
  // to a later command proves the whitelisted connection was left open.
  assert.ok((await c.call('rpc', { method: 'alive' })).id, 'reply after the disconnect');
  assert.ok(c.isOpen, 'whitelisted client must stay connected');
  // disconnect with custom code
  assertJson(await srv.api('disconnect', { user: '900', client: r.client, disconnect: { code: 4501, reason: 'custom bye' } }), 200, { result: {} });
  assert.deepEqual(await c.waitClose(), { code: 4501, reason: 'custom bye' });

  // refresh expired → 3005
  const [c3] = await rawConnected(s, srv, userToken(901));
  assertJson(await srv.api('refresh', { user: '901', expired: true }), 200, { result: {} });
  assert.deepEqual(await c3.waitClose(), { code: 3005, reason: 'connection expired' });
  // refresh with a future expire_at → refresh push with expires + ttl
  const [c4] = await rawConnected(s, srv, userToken(902));
  const exp = Math.floor(Date.now() / 1000) + 600;
  assertJson(await srv.api('refresh', { user: '902', expire_at: exp }), 200, { result: {} });
  const rp = await c4.push((p) => p.refresh);
  assert.equal(rp.push.refresh.expires, true);
  assert.ok(Math.abs(rp.push.refresh.ttl - 600) <= 3, JSON.stringify(rp));
  // disconnect by client id only affects that connection
  const [c5, r5] = await rawConnected(s, srv, userToken(903));
  const [c6] = await rawConnected(s, srv, userToken(903));
  await srv.apiOk('disconnect', { user: '903', client: r5.client });
  assert.deepEqual(await c5.waitClose(), { code: 3503, reason: 'force disconnect' });
  assert.ok((await c6.call('rpc', { method: 'alive' })).id, 'reply after the disconnect');
  assert.ok(c6.isOpen);
});

// ---------------------------------------------------------------- cent.js

test('cent.js 6.x: methods map to POST /api/<method> and results parse', async () => {
  const cent = new CentClient({ url: `${srv.base}/api`, apiKey: 'k' });
  const ch = uniq('room:cent');
  const p = await cent.publish({ channel: ch, data: { from: 'cent.js' } });
  assert.equal(p.offset, 1);
  assert.equal(typeof p.epoch, 'string');
  assert.deepEqual(await cent.publish({ channel: 'news', data: 1 }), {});
  const h = await cent.getHistory({ channel: ch, limit: 10 });
  assert.deepEqual(h.publications, [{ data: { from: 'cent.js' }, offset: 1 }]);
  assert.deepEqual(await cent.getPresenceStats({ channel: ch }), { num_clients: 0, num_users: 0 });
  assert.deepEqual(await cent.getPresence({ channel: ch }), { presence: {} });
  const info = await cent.getInfo();
  assert.ok(info.nodes[0].uid);
  assert.ok('channels' in (await cent.getChannels()));
  const b = await cent.broadcast({ channels: [ch, 'news'], data: { b: 1 } });
  assert.equal(b.responses.length, 2);
  assert.deepEqual(await cent.removeHistory({ channel: ch }), {});
  assert.deepEqual(await cent.unsubscribe({ user: 'x', channel: ch }), {});
  assert.deepEqual(await cent.disconnect({ user: 'x' }), {});
  assert.deepEqual(await cent.subscribe({ user: 'x', channel: ch }), {});
  assert.deepEqual(await cent.refresh({ user: 'x', expire_at: Math.floor(Date.now() / 1000) + 60 }), {});
  await assert.rejects(cent.publish({ channel: 'x:1', data: {} }), CentException);
  await assert.rejects(cent.getPresence({ channel: 'news' }), CentException);
});

test('cent.js 6.x pipeline() uses the legacy endpoint and splits on \\n', async () => {
  const cent = new CentClient({ url: `${srv.base}/api`, apiKey: 'k' });
  const ch = uniq('room:pipe');
  const res = await cent.pipeline([
    { method: 'publish', params: { channel: ch, data: { n: 1 } } },
    { method: 'publish', params: { channel: ch, data: { n: 2 } } },
    { method: 'presence_stats', params: { channel: ch } },
    { method: 'history', params: { channel: ch, limit: -1 } },
  ]);
  assert.equal(res.length, 4);
  assert.equal(res[0].offset, 1);
  assert.equal(res[1].offset, 2);
  assert.deepEqual(res[2], { num_clients: 0, num_users: 0 });
  assert.deepEqual(res[3].publications.map((p) => p.data.n), [1, 2]);
});

test('cent.js with a wrong key rejects (401 has an empty body)', async () => {
  const cent = new CentClient({ url: `${srv.base}/api`, apiKey: 'wrong' });
  await assert.rejects(cent.getInfo());
});
