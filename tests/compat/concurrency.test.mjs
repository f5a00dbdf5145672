// Concurrency across event loops (gomaxprocs >= 2): the TSan stage of .ci/run runs this file and
// shutdown.test.mjs against build-tsan/gyre (docs/reliability.md); it runs in every other stage
// too. Sizes shrink under a sanitizer (GYRE_SANITIZED), the checks do not.
import assert from 'node:assert/strict';
import { test, startServer, userToken, uniq, sleep, until, rawConnected, assertServerAlive, WebSocket } from './harness.mjs';

const SLOW = !!process.env.GYRE_SANITIZED;
const CFG = {
  api_key: 'k', token_hmac_secret_key: 'secret', gomaxprocs: 4,
  namespaces: [{ name: 'chat', presence: true, join_leave: true, history_size: 100, history_ttl: '60s', allow_subscribe_for_client: true, allow_publish_for_client: true, allow_presence_for_client: true }],
};

test('fan-out across 4 loops: concurrent API publishers on 4 channels, every subscriber gets every publication in order', { timeout: 120000 }, async (t, s) => {
  const srv = await startServer(CFG);
  s.defer(() => srv.stop());
  const channels = [uniq('chat:a'), uniq('chat:b'), uniq('chat:c'), uniq('chat:d')];
  const perChannel = SLOW ? 6 : 15;
  const M = SLOW ? 60 : 200;
  const subs = [];
  for (const ch of channels) {
    for (let i = 0; i < perChannel; i++) {
      const [c] = await rawConnected(s, srv, userToken(`${ch}-${i}`));
      await c.call('subscribe', { channel: ch });
      subs.push({ c, ch });
    }
  }
  // 4 publishers at once, one per channel, plus client-side publishes from the subscribers.
  await Promise.all(channels.map(async (ch) => {
    for (let n = 0; n < M; n += 10) {
      const commands = Array.from({ length: 10 }, (_, k) => ({ publish: { channel: ch, data: { n: n + k } } }));
      const r = await srv.api('batch', { commands });
      assert.equal(r.status, 200);
    }
  }));
  for (const { c, ch } of subs) {
    await until(() => c.messages.filter((m) => m.push && m.push.pub).length >= M, 30000, `all pubs on ${ch}`);
    const got = c.messages.filter((m) => m.push && m.push.pub).map((m) => m.push.pub.data.n);
    assert.deepEqual(got, Array.from({ length: M }, (_, i) => i));
    const offsets = c.messages.filter((m) => m.push && m.push.pub).map((m) => m.push.pub.offset);
    assert.deepEqual(offsets, Array.from({ length: M }, (_, i) => i + 1));
  }
  // A sanitizer report (halt_on_error) would end the process with a non-zero code.
  assert.deepEqual(await srv.stop(), { code: 0, signal: null });
});

test('connect/disconnect races: connections dropped mid-upgrade, mid-connect and mid-subscribe while publishing; nothing leaks', { timeout: 120000 }, async (t, s) => {
  const srv = await startServer(CFG);
  s.defer(() => srv.stop());
  const ch = uniq('chat:race');
  const [watcher] = await rawConnected(s, srv, userToken('watcher'));
  await watcher.call('subscribe', { channel: ch });
  let stop = false;
  s.defer(() => { stop = true; }); // a failed assertion must not leave the publisher spinning
  let published = 0;
  const publisher = (async () => {
    while (!stop) {
      await srv.api('publish', { channel: ch, data: { n: published++ } });
    }
  })();
  const rounds = SLOW ? 60 : 300;
  const tasks = [];
  for (let i = 0; i < rounds; i++) {
    tasks.push((async () => {
      const ws = new WebSocket(srv.wsUrl);
      ws.on('error', () => {});
      const kind = i % 4;
      if (kind === 0) {
        ws.terminate(); // before or during the upgrade
        return;
      }
      await new Promise((r) => { ws.once('open', r); ws.once('close', r); });
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.send(JSON.stringify({ id: 1, connect: { token: userToken(`u${i}`) } }));
      if (kind === 1) { ws.terminate(); return; } // connect in flight
      ws.send(JSON.stringify({ id: 2, subscribe: { channel: ch, recover: false } }));
      if (kind === 2) { ws.terminate(); return; } // subscribe in flight
      await sleep(Math.random() * 50);
      ws.close();
    })());
    if (i % 20 === 0) await sleep(5);
  }
  await Promise.all(tasks);
  stop = true;
  await publisher;
  // Every dropped client is gone from the node and the channel: only the watcher remains.
  await until(async () => (await srv.apiOk('presence_stats', { channel: ch })).num_clients === 1, 10000, 'presence back to 1');
  await until(async () => (await srv.apiOk('info', {})).nodes[0].num_clients === 1, 10000, 'num_clients back to 1');
  // The API reply does not wait for the fan-out, and the adaptive write window may hold the
  // watcher's last pushes for up to 50 ms: wait for them (a lost one still fails here).
  const watched = () => watcher.messages.filter((m) => m.push && m.push.pub).length;
  await until(() => watched() >= published - 1, 5000).catch(() => {});
  assert.ok(watched() >= published - 1, `watcher got ${watched()} of ${published}`);
  await assertServerAlive(srv, userToken(1));
  assert.deepEqual(await srv.stop(), { code: 0, signal: null });
});

// The node's user count (info num_users, centrifugo_node_num_users) is the distinct user ids of
// the loops' user indexes: a user with connections on several loops counts once.
test('info num_users: a user connected on several loops counts once', async (t, s) => {
  const srv = await startServer(CFG);
  s.defer(() => srv.stop());
  const u = uniq('u');
  const alice = [];
  for (let i = 0; i < 4; i++) alice.push((await rawConnected(s, srv, userToken(`${u}-alice`)))[0]);
  const [bob] = await rawConnected(s, srv, userToken(`${u}-bob`));
  const node = async () => (await srv.apiOk('info', {})).nodes[0];
  let n = await node();
  assert.deepEqual([n.num_clients, n.num_users], [5, 2]);
  for (const c of alice) c.close();
  await until(async () => (await node()).num_clients === 1, 5000, 'alice gone');
  n = await node();
  assert.deepEqual([n.num_clients, n.num_users], [1, 1]);
  bob.close();
  await until(async () => (await node()).num_clients === 0, 5000, 'bob gone');
  assert.equal((await node()).num_users, 0);
});
