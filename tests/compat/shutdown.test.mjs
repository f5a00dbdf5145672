// Graceful shutdown: SIGTERM → every WebSocket closed with 3001 "shutdown", process exits 0.
import assert from 'node:assert/strict';
import { test, startServer, userToken, once, withTimeout, uniq, sleep, until, logTail } from './harness.mjs';

// Upper bounds on shutdown time are not asserted as latencies: each server gets a 60 s
// shutdown_timeout, so a shutdown that waited for a connection instead of closing it would run
// into the exit wait (10-15 s, a hang guard) and fail.
test('SIGTERM: raw and SDK clients get 3001 "shutdown"; process exits 0 without waiting for shutdown_timeout', { timeout: 30000 }, async (t, s) => {
  const srv = await startServer({
    api_key: 'k', token_hmac_secret_key: 'secret', shutdown_timeout: '60s',
    namespaces: [{ name: 'chat', presence: true, allow_subscribe_for_client: true }],
  });
  s.defer(() => srv.stop());
  const raws = [];
  for (let i = 0; i < 3; i++) {
    const c = await s.raw(srv);
    const r = await c.call('connect', { token: userToken(i + 1) });
    assert.ok(r.connect, JSON.stringify(r));
    await c.call('subscribe', { channel: uniq('chat:'), flag: 1 });
    raws.push(c);
  }
  const sdk = s.sdk(srv, { token: userToken(99), minReconnectDelay: 5000, maxReconnectDelay: 10000 });
  const conn = once(sdk, 'connected');
  sdk.connect();
  await conn;
  const connecting = once(sdk, 'connecting', 8000);

  srv.proc.kill('SIGTERM');
  for (const c of raws) assert.deepEqual(await c.waitClose(8000), { code: 3001, reason: 'shutdown' });
  assert.deepEqual(await connecting, { code: 3001, reason: 'shutdown' });
  const exited = await withTimeout(srv.handle.exitPromise, 10000, 'process exit after SIGTERM');
  assert.deepEqual(exited, { code: 0, signal: null }, logTail(srv.output(), 20));
  sdk.disconnect();
});

test('SIGTERM with no clients exits 0 without waiting for shutdown_timeout; SIGINT too', { timeout: 30000 }, async (t, s) => {
  for (const sig of ['SIGTERM', 'SIGINT']) {
    const srv = await startServer({ api_key: 'k', shutdown_timeout: '60s' });
    s.defer(() => srv.stop());
    srv.proc.kill(sig);
    const exited = await withTimeout(srv.handle.exitPromise, 10000, `exit after ${sig}`);
    assert.deepEqual(exited, { code: 0, signal: null }, `${sig}\n${logTail(srv.output(), 20)}`);
  }
});

test('SIGTERM: a WebSocket that has not sent connect yet is closed with 3001 too (harness contract; Centrifugo just drops it)', { timeout: 30000 }, async (t, s) => {
  const srv = await startServer({ api_key: 'k', token_hmac_secret_key: 'secret' });
  s.defer(() => srv.stop());
  const unauth = await s.raw(srv);
  srv.proc.kill('SIGTERM');
  assert.deepEqual(await unauth.waitClose(8000), { code: 3001, reason: 'shutdown' });
  assert.deepEqual(await withTimeout(srv.handle.exitPromise, 10000, 'exit'), { code: 0, signal: null });
});

test('SIGTERM with an idle HTTP/1.1 keep-alive connection open: idle connection closed, exit without waiting for it (as Go http.Server.Shutdown)', { timeout: 30000 }, async (t, s) => {
  const net = await import('node:net');
  const srv = await startServer({ api_key: 'k', shutdown_timeout: '60s' });
  s.defer(() => srv.stop());
  const sock = net.connect(srv.port, '127.0.0.1');
  s.defer(() => sock.destroy());
  let data = '';
  const ended = new Promise((resolve) => { sock.on('close', resolve); sock.on('end', resolve); });
  sock.on('data', (d) => { data += d; });
  sock.on('error', () => {});
  await new Promise((r) => sock.once('connect', r));
  sock.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  const deadline = Date.now() + 3000;
  while (!/\r\n\r\n[\s\S]*\{\}/.test(data) && Date.now() < deadline) await sleep(20);
  assert.match(data, /^HTTP\/1\.1 200/, `health response: ${data}`);
  srv.proc.kill('SIGTERM');
  const exited = await withTimeout(srv.handle.exitPromise, 10000, 'exit after SIGTERM');
  assert.deepEqual(exited, { code: 0, signal: null }, logTail(srv.output(), 20));
  await withTimeout(ended, 1000, 'idle connection closed');
});

test('SIGTERM under load, then restart on the same port: no crash or hang, every client gets 3001 and reconnects', { timeout: 90000 }, async (t, s) => {
  const { freePort } = await import('./harness.mjs');
  const start = startServer;
  const slow = !!process.env.GYRE_SANITIZED;
  const port = await freePort();
  const cfg = {
    api_key: 'k', token_hmac_secret_key: 'secret', gomaxprocs: 2, shutdown_timeout: '60s',
    namespaces: [{ name: 'chat', presence: true, history_size: 50, history_ttl: '60s', allow_subscribe_for_client: true, allow_publish_for_client: true }],
  };
  let srv = await start(cfg, { port });
  s.defer(() => srv.stop());
  const N = slow ? 20 : 60;
  const ch = uniq('chat:load');
  const clients = [];
  const disconnects = [];
  for (let i = 0; i < N; i++) {
    const c = s.sdk(srv, { token: userToken(i), minReconnectDelay: 200, maxReconnectDelay: 1000 });
    const sub = c.newSubscription(ch);
    const codes = [];
    disconnects.push(codes);
    c.on('connecting', (ctx) => { if (ctx.code >= 3000) codes.push(ctx.code); });
    sub.subscribe();
    const conn = once(c, 'connected', 10000);
    c.connect();
    await conn;
    clients.push({ c, sub });
  }
  // Load: API publishes and client publishes, still running when SIGTERM arrives.
  let stop = false;
  s.defer(() => { stop = true; }); // a failed assertion must not leave the load loops spinning
  const api = (async () => {
    let i = 0;
    while (!stop) {
      await srv.api('publish', { channel: ch, data: { i: i++ } }).catch(() => {});
    }
  })();
  const pubs = (async () => {
    while (!stop) {
      await Promise.all(clients.slice(0, 10).map(({ c }) => c.publish(ch, { from: 'client' }).catch(() => {})));
      await sleep(5);
    }
  })();
  await sleep(1000);
  srv.proc.kill('SIGTERM');
  const exited = await withTimeout(srv.handle.exitPromise, 15000, 'exit under load');
  assert.deepEqual(exited, { code: 0, signal: null }, logTail(srv.output(), 20));
  await until(() => disconnects.every((d) => d.includes(3001)), 5000, 'every client saw 3001');
  assert.ok(disconnects.every((d) => d.every((code) => code === 3001)), JSON.stringify(disconnects));
  await srv.stop();

  srv = await start(cfg, { port });
  await until(() => clients.every(({ c, sub }) => c.state === 'connected' && sub.state === 'subscribed'), 20000, 'all clients reconnected and resubscribed');
  stop = true;
  await Promise.all([api, pubs]);
  const st = await srv.apiOk('presence_stats', { channel: ch });
  assert.equal(st.num_clients, N);
});
