// Channel permission model and JWT claim handling (server-api.md §3, §5) on the raw JSON protocol.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  test, startServer, TOKENS, userToken, signJWT, uniq, nowSec, assertConnectOk, rawConnected,
} from './harness.mjs';

let srv; // main policy server
let audsrv; // token_audience / token_issuer
let psrv; // personal channels, anonymous tokens disallowed

before(async () => {
  srv = await startServer({
    api_key: 'k', token_hmac_secret_key: 'secret', client_user_connection_limit: 2, client_channel_limit: 3,
    allow_subscribe_for_client: true,
    namespaces: [
      {
        name: 'pos', presence: true, join_leave: true, history_size: 10, history_ttl: '300s', allow_subscribe_for_client: true,
        allow_history_for_subscriber: true, allow_presence_for_subscriber: true,
      },
      { name: 'nohistperm', presence: true, join_leave: true, history_size: 10, history_ttl: '300s', allow_subscribe_for_client: true },
      { name: 'dm', allow_user_limited_channels: true },
      { name: 'rx', channel_regex: '^[a-z]+$', allow_subscribe_for_client: true },
      { name: 'personal', presence: true },
    ],
  });
  audsrv = await startServer({ token_hmac_secret_key: 'secret', token_audience: 'aud1', token_issuer: 'iss1' });
  psrv = await startServer({
    token_hmac_secret_key: 'secret', disallow_anonymous_connection_tokens: true, user_subscribe_to_personal: true,
    user_personal_channel_namespace: 'personal', namespaces: [{ name: 'personal', presence: true }],
  });
});
after(async () => {
  for (const s of [srv, audsrv, psrv]) if (s) await s.stop();
});

async function closeAfterConnect(server, token) {
  const c = await server.raw();
  try {
    c.send({ connect: { token }, id: 1 });
    return await c.waitClose();
  } finally {
    c.close();
  }
}

test('client flags positioned/recoverable granted with history access, ignored without it', async (t, s) => {
  const [c] = await rawConnected(s, srv, userToken(1));
  const a = await c.call('subscribe', { channel: uniq('pos:'), positioned: true, recoverable: true, flag: 1 });
  const { epoch, ...rest } = a.subscribe;
  assert.deepEqual(rest, { recoverable: true, positioned: true });
  assert.ok(epoch && typeof epoch === 'string');
  const p = await c.call('subscribe', { channel: uniq('pos:'), positioned: true, flag: 1 });
  assert.deepEqual(Object.keys(p.subscribe).sort(), ['epoch', 'positioned']);
  const b = await c.call('subscribe', { channel: uniq('nohistperm:'), positioned: true, recoverable: true, flag: 1 });
  assert.deepEqual(b.subscribe, {});
});

test('join_leave client flag: pushes only to subscribers that asked and have presence access', async (t, s) => {
  const ch = uniq('pos:jl');
  const [asker, ra] = await rawConnected(s, srv, userToken(11));
  const [silent, rs] = await rawConnected(s, srv, userToken(12));
  await asker.call('subscribe', { channel: ch, join_leave: true, flag: 1 });
  await silent.call('subscribe', { channel: ch, flag: 1 });
  const j = await asker.push((p) => p.join && p.join.info.client === rs.client);
  assert.deepEqual(j, { push: { channel: ch, join: { info: { user: '12', client: rs.client } } } });
  const [third, rt] = await rawConnected(s, srv, userToken(13));
  await third.call('subscribe', { channel: ch, join_leave: true, flag: 1 });
  await asker.push((p) => p.join && p.join.info.client === rt.client);
  await silent.expectNone((m) => m.push && (m.push.join || m.push.leave), 400, 'join push to a subscriber that did not ask');
  // namespace without presence permission: flag not honoured
  const ch2 = uniq('nohistperm:');
  const [x] = await rawConnected(s, srv, userToken(14));
  await x.call('subscribe', { channel: ch2, join_leave: true, flag: 1 });
  await x.expectNone((m) => m.push && m.push.join, 400, 'own join without presence permission');
});

test('user-limited channels: listed users allowed, others 103; "#" is ordinary without the flag', async (t, s) => {
  const [c42] = await rawConnected(s, srv, userToken(42));
  const [c44] = await rawConnected(s, srv, userToken(44));
  const ch = `dm:${uniq('room')}#42,43`;
  assert.deepEqual((await c42.call('subscribe', { channel: ch, flag: 1 })).subscribe, {});
  assert.deepEqual((await c44.call('subscribe', { channel: ch, flag: 1 })).error, { code: 103, message: 'permission denied' });
  assert.deepEqual((await c44.call('subscribe', { channel: `pos:${uniq('x')}#42`, flag: 1 })).subscribe, {});
});

test('channel_regex and ASCII rule → 107', async (t, s) => {
  const [c] = await rawConnected(s, srv, userToken(1));
  assert.deepEqual((await c.call('subscribe', { channel: 'rx:abc', flag: 1 })).subscribe, {});
  assert.deepEqual((await c.call('subscribe', { channel: 'rx:ABC', flag: 1 })).error, { code: 107, message: 'bad request' });
  const c2 = (await rawConnected(s, srv, userToken(2)))[0];
  assert.deepEqual((await c2.call('subscribe', { channel: 'привет', flag: 1 })).error, { code: 107, message: 'bad request' });
});

test('client_user_connection_limit 2 → third connection closed 3504 "connection limit"', async (t, s) => {
  await rawConnected(s, srv, userToken(77));
  await rawConnected(s, srv, userToken(77));
  assert.deepEqual(await closeAfterConnect(srv, userToken(77)), { code: 3504, reason: 'connection limit' });
});

test('client_channel_limit 3 → 106 on the 4th subscribe; 3505 when the token has 4 server-side channels', async (t, s) => {
  const [c] = await rawConnected(s, srv, userToken(5));
  for (let i = 0; i < 3; i++) assert.deepEqual((await c.call('subscribe', { channel: uniq('pos:'), flag: 1 })).subscribe !== undefined, true);
  assert.deepEqual((await c.call('subscribe', { channel: uniq('pos:'), flag: 1 })).error, { code: 106, message: 'limit exceeded' });
  const tok = userToken(6, { channels: ['a1', 'a2', 'a3', 'a4'] });
  assert.deepEqual(await closeAfterConnect(srv, tok), { code: 3505, reason: 'channel limit' });
});

test('connection token: expire_at in the past → 110; expire_at 0 overrides exp; nbf in the future → 109', async (t, s) => {
  const c = await s.raw(srv);
  c.send({ connect: { token: userToken(8, { exp: nowSec() + 3600, expire_at: nowSec() - 10 }) }, id: 1 });
  assert.deepEqual(await c.reply(1), { id: 1, error: { code: 110, message: 'expired' } });
  const [, r] = await rawConnected(s, srv, userToken(9, { exp: nowSec() + 3600, expire_at: 0 }));
  assert.equal(r.expires, undefined);
  assert.equal(r.ttl, undefined);
  const [, r2] = await rawConnected(s, srv, userToken(10, { expire_at: nowSec() + 100 }));
  assert.equal(r2.expires, true);
  assert.ok(Math.abs(r2.ttl - 100) <= 3);
  const n = await s.raw(srv);
  n.send({ connect: { token: userToken(8, { nbf: nowSec() + 3600 }) }, id: 1 });
  assert.deepEqual(await n.reply(1), { id: 1, error: { code: 109, message: 'token expired' } });
});

test('connection token: b64info wins over info; unknown namespace in channels → 102', async (t, s) => {
  const ch = uniq('pos:');
  const [c, r] = await rawConnected(s, srv, userToken(21, { info: { plain: 1 }, b64info: Buffer.from('{"b64":true}').toString('base64') }));
  await c.call('subscribe', { channel: ch, flag: 1 });
  const p = await srv.apiOk('presence', { channel: ch });
  assert.deepEqual(p.presence[r.client], { user: '21', client: r.client, conn_info: { b64: true } });
  const u = await s.raw(srv);
  u.send({ connect: { token: userToken(22, { channels: ['nope:x'] }) }, id: 1 });
  assert.deepEqual(await u.reply(1), { id: 1, error: { code: 102, message: 'unknown channel' } });
});

test('Example E: subs wins over channels; personal:42 subscribed server-side with data', async (t, s) => {
  const c = await s.raw(srv);
  c.send({ connect: { token: TOKENS.E }, id: 1 });
  const r = await c.reply(1);
  const res = assertConnectOk(r, 1);
  assert.deepEqual(Object.keys(res.subs ?? {}), ['personal:42']);
  assert.deepEqual(res.subs['personal:42'], { data: { welcome: true } });
  await srv.apiOk('publish', { channel: 'personal:42', data: { to: 42 } });
  const pub = await c.push((p) => p.pub);
  assert.deepEqual(pub, { push: { channel: 'personal:42', pub: { data: { to: 42 } } } });
});

test('subscription token: info → chan_info; expire_at in the past → 110; client claim mismatch → 3500', async (t, s) => {
  const [c, r] = await rawConnected(s, srv, userToken(31));
  const ch = uniq('$pos:');
  const tok = signJWT({ sub: '31', channel: ch, info: { role: 'mod' } });
  assert.deepEqual((await c.call('subscribe', { channel: ch, token: tok, flag: 1 })).subscribe, {});
  const p = await srv.apiOk('presence', { channel: ch });
  assert.deepEqual(p.presence[r.client], { user: '31', client: r.client, chan_info: { role: 'mod' } });
  const ch2 = uniq('$pos:');
  const past = signJWT({ sub: '31', channel: ch2, exp: nowSec() + 3600, expire_at: nowSec() - 5 });
  assert.deepEqual((await c.call('subscribe', { channel: ch2, token: past, flag: 1 })).error, { code: 110, message: 'expired' });
  const ch3 = uniq('$pos:');
  const other = signJWT({ sub: '31', channel: ch3, client: 'some-other-client' });
  c.send({ subscribe: { channel: ch3, token: other, flag: 1 }, id: 99 });
  assert.deepEqual(await c.waitClose(), { code: 3500, reason: 'invalid token' });
});

test('token_audience / token_issuer: matching aud (string or array) and iss accepted, others 3500', async (t, s) => {
  await rawConnected(s, audsrv, userToken(1, { aud: 'aud1', iss: 'iss1' }));
  await rawConnected(s, audsrv, userToken(1, { aud: ['x', 'aud1'], iss: 'iss1' }));
  const invalid = { code: 3500, reason: 'invalid token' };
  assert.deepEqual(await closeAfterConnect(audsrv, userToken(1, { aud: 'aud2', iss: 'iss1' })), invalid);
  assert.deepEqual(await closeAfterConnect(audsrv, userToken(1, { aud: 'aud1' })), invalid);
  assert.deepEqual(await closeAfterConnect(audsrv, userToken(1, { aud: 'aud1', iss: 'iss2' })), invalid);
});

test('disallow_anonymous_connection_tokens → 3507; user_subscribe_to_personal → personal:#42 in connect subs', async (t, s) => {
  assert.deepEqual(await closeAfterConnect(psrv, TOKENS.ANON), { code: 3507, reason: 'permission denied' });
  const c = await s.raw(psrv);
  c.send({ connect: { token: TOKENS.B }, id: 1 });
  const res = assertConnectOk(await c.reply(1), 1);
  assert.deepEqual(Object.keys(res.subs ?? {}), ['personal:#42']);
  // No token and anonymous access not allowed → 3501.
  const a = await s.raw(psrv);
  a.send({ connect: {}, id: 1 });
  assert.deepEqual(await a.waitClose(), { code: 3501, reason: 'bad request' });
});
