// Write coalescing (client_write_delay, client_max_messages_in_frame,
// client_reply_without_queue — Centrifugo PRO's option names): a connection written a moment
// ago holds further pushes for a window so they leave in one write; an idle connection is
// written at once; command replies need not wait for the window. `WireClient` sees the frames
// as the server wrote them.
//
// No timing assertions: a held push is observed through what it is joined with (a later reply
// in the same frame), a lone one through arriving alone before the next one is published. The
// servers run one event loop (gomaxprocs 1), so an API publish has been queued on the
// subscriber's connection when its reply comes back.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { wire } from './ws_wire.mjs';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test, startServer, userToken, uniq, runGyre, makeTempDir } from './harness.mjs';

let srvDefault; // adaptive coalescing (the default)
let srvHeld; // a fixed 1-minute window, replies without queue, pushes joined (16 per frame)
let srvTwo; // the same, at most 2 messages per frame
let srvStream; // a fixed 1-minute window, replies without queue, frames by default; http_stream

const base = { api_key: 'k', token_hmac_secret_key: 'secret', allow_subscribe_for_client: true, gomaxprocs: 1 };

before(async () => {
  srvDefault = await startServer({ ...base, prometheus: true });
  srvHeld = await startServer({
    ...base, client_write_delay: '1m', client_reply_without_queue: true, client_max_messages_in_frame: 16,
  });
  srvTwo = await startServer({
    ...base, client_write_delay: '1m', client_reply_without_queue: true, client_max_messages_in_frame: 2,
  });
  srvStream = await startServer({ ...base, client_write_delay: '1m', client_reply_without_queue: true, http_stream: true });
});
after(async () => {
  await Promise.all([srvDefault, srvHeld, srvTwo, srvStream].filter(Boolean).map((x) => x.stop()));
});

async function subscribed(s, server, ch) {
  const c = await wire(s, server.port);
  c.sendText(JSON.stringify({ id: 1, connect: { token: userToken('u1') } }) + '\n' +
    JSON.stringify({ id: 2, subscribe: { channel: ch } }));
  const lines = [];
  while (lines.length < 2) {
    const m = await c.message();
    lines.push(...m.text.split('\n').map((l) => JSON.parse(l)));
  }
  assert.ok(lines[0].connect, JSON.stringify(lines));
  assert.deepEqual(lines[1], { id: 2, subscribe: {} });
  return c;
}

const pushLine = (ch, data) => JSON.stringify({ push: { channel: ch, pub: { data } } });

// The shard's coalescing counters (gyre_shard_*; one shard: gomaxprocs 1).
async function shardCounters(server) {
  const text = await (await fetch(`${server.base}/metrics`)).text();
  const value = (name) => Number(text.match(new RegExp(`^${name}\\{shard="0"\\} (\\S+)$`, 'm'))?.[1]);
  return { holds: value('gyre_shard_write_holds_total'), writes: value('gyre_shard_socket_writes_total') };
}

test('default (adaptive): a lone publication to an idle subscriber is written at once, as its own frame', async (t, s) => {
  const ch = uniq('co');
  const c = await subscribed(s, srvDefault, ch);
  const before = await shardCounters(srvDefault);
  assert.ok(Number.isFinite(before.holds) && Number.isFinite(before.writes), JSON.stringify(before));
  for (let i = 0; i < 3; i++) {
    await srvDefault.apiOk('publish', { channel: ch, data: { i } });
    // Arrives (the wait is only a hang guard) before the next one is published, alone.
    const m = await c.message();
    assert.equal(m.text, pushLine(ch, { i }));
  }
  assert.equal(c.frames.filter((f) => !f.taken).length, 0, c.dump());
  // One socket write per publication, none held (the server's only WebSocket connection).
  assert.deepEqual(await shardCounters(srvDefault), { holds: before.holds, writes: before.writes + 3 });
});

test('default (adaptive): replies to commands arrive while nothing is published', async (t, s) => {
  const ch = uniq('co');
  const c = await subscribed(s, srvDefault, ch);
  c.sendText(JSON.stringify({ id: 3, subscribe: { channel: ch + 'b' } }));
  assert.equal((await c.message()).text, JSON.stringify({ id: 3, subscribe: {} }));
});

test('client_write_delay: publications to a recently written connection are held and leave joined with the next reply (client_reply_without_queue)', async (t, s) => {
  const ch = uniq('co');
  // The connect and subscribe replies were just written: a 1-minute window starts.
  const c = await subscribed(s, srvHeld, ch);
  await srvHeld.apiOk('publish', { channel: ch, data: { n: 1 } });
  await srvHeld.apiOk('publish', { channel: ch, data: { n: 2 } });
  await srvHeld.apiOk('publish', { channel: ch, data: { n: 3 } });
  assert.equal(c.frames.filter((f) => !f.taken).length, 0, `held, nothing written yet: ${c.dump()}`);
  // A command's reply does not wait for the window: it goes at once, with the held pushes
  // before it, all in one frame (client_max_messages_in_frame: 16).
  c.sendText(JSON.stringify({ id: 3, subscribe: { channel: ch + 'b' } }));
  const m = await c.message();
  assert.equal(m.text, [pushLine(ch, { n: 1 }), pushLine(ch, { n: 2 }), pushLine(ch, { n: 3 }),
    JSON.stringify({ id: 3, subscribe: {} })].join('\n'));
});

test('client_max_messages_in_frame default: held pushes leave with the reply, each push in its own frame', async (t, s) => {
  const ch = uniq('co');
  const c = await subscribed(s, srvStream, ch);
  await srvStream.apiOk('publish', { channel: ch, data: { n: 1 } });
  await srvStream.apiOk('publish', { channel: ch, data: { n: 2 } });
  assert.equal(c.frames.filter((f) => !f.taken).length, 0, `held: ${c.dump()}`);
  c.sendText(JSON.stringify({ id: 3, subscribe: { channel: ch + 'b' } }));
  assert.equal((await c.message()).text, pushLine(ch, { n: 1 }));
  assert.equal((await c.message()).text, pushLine(ch, { n: 2 }));
  assert.equal((await c.message()).text, JSON.stringify({ id: 3, subscribe: {} }));
});

test('client_write_delay: a disconnect does not wait for the window: held pushes, then the close frame', async (t, s) => {
  const ch = uniq('co');
  const c = await subscribed(s, srvHeld, ch);
  await srvHeld.apiOk('publish', { channel: ch, data: { n: 1 } });
  assert.equal(c.frames.filter((f) => !f.taken).length, 0, `held: ${c.dump()}`);
  await srvHeld.apiOk('disconnect', { user: 'u1', disconnect: { code: 4000, reason: 'bye' } });
  assert.equal((await c.message()).text, pushLine(ch, { n: 1 }));
  assert.deepEqual(await c.close(), { code: 4000, reason: 'bye' });
});

test('client_write_delay: HTTP-stream output is held and leaves with the next reply too', async (t, s) => {
  const ch = uniq('co');
  const ac = new AbortController();
  s.defer(() => ac.abort());
  const res = await fetch(`${srvStream.base}/connection/http_stream`, {
    method: 'POST', signal: ac.signal,
    body: JSON.stringify({ id: 1, connect: { token: userToken('u1') } }) + '\n' +
      JSON.stringify({ id: 2, subscribe: { channel: ch } }) + '\n',
  });
  assert.equal(res.status, 200);
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let text = '';
  const readUntil = async (pred) => {
    while (!pred(text)) {
      const { value, done } = await reader.read();
      assert.ok(!done, `stream ended: ${text}`);
      text += dec.decode(value, { stream: true });
    }
  };
  await readUntil((x) => x.includes('"id":2'));
  const { session, node } = JSON.parse(text.split('\n')[0]).connect;
  text = '';
  await srvStream.apiOk('publish', { channel: ch, data: { n: 1 } });
  // The reply to a command sent through /emulation does not wait for the window and carries
  // the held push before it.
  const em = await fetch(`${srvStream.base}/emulation`, {
    method: 'POST',
    body: JSON.stringify({ session, node, data: JSON.stringify({ id: 3, subscribe: { channel: ch + 'b' } }) }),
  });
  assert.equal(em.status, 204);
  await readUntil((x) => x.includes('"id":3'));
  assert.equal(text, pushLine(ch, { n: 1 }) + '\n' + JSON.stringify({ id: 3, subscribe: {} }) + '\n');
});

test('client_max_messages_in_frame: 2 splits the held output into frames of two messages', async (t, s) => {
  const ch = uniq('co');
  const c = await subscribed(s, srvTwo, ch);
  for (let n = 1; n <= 3; n++) {
    await srvTwo.apiOk('publish', { channel: ch, data: { n } });
  }
  c.sendText(JSON.stringify({ id: 3, subscribe: { channel: ch + 'b' } }));
  const a = await c.message();
  const b = await c.message();
  assert.equal(a.text, [pushLine(ch, { n: 1 }), pushLine(ch, { n: 2 })].join('\n'));
  assert.equal(b.text, [pushLine(ch, { n: 3 }), JSON.stringify({ id: 3, subscribe: {} })].join('\n'));
});

test('client_max_messages_in_frame below -1 is a config error naming the key; -1, 0 and negative delays are valid', () => {
  const dir = makeTempDir();
  const check = (cfg) => {
    const file = path.join(dir, `${uniq('cfg')}.json`);
    writeFileSync(file, JSON.stringify(cfg));
    return runGyre(['checkconfig', '-c', file]);
  };
  const bad = check({ client_max_messages_in_frame: -2 });
  assert.notEqual(bad.code, 0, bad.out);
  assert.match(bad.out, /key "client_max_messages_in_frame": must be positive, 0 \(default\) or -1 \(no limit\), got -2/);
  for (const cfg of [{ client_max_messages_in_frame: -1 }, { client_max_messages_in_frame: 0 },
    { client_write_delay: '-1ms' }, { client_write_delay: '5ms', client_reply_without_queue: true }]) {
    const r = check(cfg);
    assert.equal(r.code, 0, `${JSON.stringify(cfg)}: ${r.out}`);
  }
});
