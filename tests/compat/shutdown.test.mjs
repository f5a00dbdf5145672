// Graceful shutdown: SIGTERM → every WebSocket closed with 3001 "shutdown", process exits 0.
import assert from 'node:assert/strict';
import { test, startServer, userToken, once, withTimeout, uniq, sleep } from './harness.mjs';

test('SIGTERM: raw and SDK clients get 3001 "shutdown"; process exits 0 within a few seconds', { timeout: 30000 }, async (t, s) => {
  const srv = await startServer({
    api_key: 'k', token_hmac_secret_key: 'secret',
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

  const t0 = Date.now();
  srv.proc.kill('SIGTERM');
  for (const c of raws) assert.deepEqual(await c.waitClose(8000), { code: 3001, reason: 'shutdown' });
  assert.deepEqual(await connecting, { code: 3001, reason: 'shutdown' });
  const exited = await withTimeout(srv.handle.exitPromise, 10000, 'process exit after SIGTERM');
  const took = Date.now() - t0;
  assert.deepEqual(exited, { code: 0, signal: null });
  assert.ok(took < 8000, `shutdown took ${took} ms`);
  sdk.disconnect();
});

test('SIGTERM with no clients exits 0 promptly; SIGINT too', { timeout: 30000 }, async (t, s) => {
  for (const sig of ['SIGTERM', 'SIGINT']) {
    const srv = await startServer({ api_key: 'k' });
    s.defer(() => srv.stop());
    const t0 = Date.now();
    srv.proc.kill(sig);
    const exited = await withTimeout(srv.handle.exitPromise, 8000, `exit after ${sig}`);
    assert.deepEqual(exited, { code: 0, signal: null }, sig);
    assert.ok(Date.now() - t0 < 5000, `${sig} shutdown took ${Date.now() - t0} ms`);
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

test('SIGTERM with an idle HTTP/1.1 keep-alive connection open: idle connection closed and exit within 2 s (as Go http.Server.Shutdown)', { timeout: 30000 }, async (t, s) => {
  const net = await import('node:net');
  const srv = await startServer({ api_key: 'k' });
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
  const t0 = Date.now();
  srv.proc.kill('SIGTERM');
  const exited = await withTimeout(srv.handle.exitPromise, 10000, 'exit after SIGTERM');
  const took = Date.now() - t0;
  assert.deepEqual(exited, { code: 0, signal: null });
  await withTimeout(ended, 1000, 'idle connection closed');
  assert.ok(took < 2000, `exit took ${took} ms with one idle keep-alive connection (Centrifugo: ~10 ms)`);
});
