// The PUB/SUB connection's SUBSCRIBE deadline (issue #12): a Redis that accepts SUBSCRIBE but
// never confirms it must not leave subscribers waiting forever. A fake Redis (answers PING,
// swallows SUBSCRIBE) stands in for the server: after redis_io_timeout the node drops the
// PUB/SUB connection, the waiting client subscription fails (the client is disconnected with
// 3004 and reconnects), and the node reconnects and subscribes again.
import { after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { test, startServer, userToken, uniq, once, until } from './harness.mjs';
import { parseReply } from './redis_server.mjs';

let node;
let fake;
after(async () => {
  await node?.stop();
  fake?.close();
});

function fakeRedis() {
  const state = { subscribes: [], subscribeConnections: new Set(), connections: 0 };
  const server = net.createServer((sock) => {
    state.connections++;
    const id = state.connections;
    let buf = Buffer.alloc(0);
    sock.on('error', () => {});
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const r = parseReply(buf, 0);
        if (!r) break;
        buf = buf.subarray(r[1]);
        const cmd = r[0][0].toString().toUpperCase();
        if (cmd === 'SUBSCRIBE') {
          state.subscribes.push(r[0].slice(1).map(String));
          state.subscribeConnections.add(id);
          continue; // accepted, never confirmed
        }
        sock.write(cmd === 'PING' ? '+PONG\r\n' : '+OK\r\n');
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    state.port = server.address().port;
    state.close = () => server.close();
    resolve(state);
  }));
}

test('a SUBSCRIBE Redis never confirms fails after redis_io_timeout and is sent again on a new connection', { timeout: 30000 }, async (t, scope) => {
  fake = await fakeRedis();
  node = await startServer({
    engine: 'redis', redis_address: `127.0.0.1:${fake.port}`, redis_io_timeout: '1s',
    redis_connect_timeout: '500ms', api_key: 'k', token_hmac_secret_key: 'secret',
    namespaces: [{ name: 'plain', allow_subscribe_for_client: true }],
  });
  const ch = `plain:${uniq()}`;
  const c = scope.sdk(node, { token: userToken('u') });
  const connected = once(c, 'connected', 5000);
  c.connect();
  await connected;
  const dropped = once(c, 'connecting', 10000, (ctx) => ctx.code === 3004);
  c.newSubscription(ch).subscribe();
  await until(() => fake.subscribes.some((s) => s.includes(`centrifugo.client.${ch}`)), 5000, 'SUBSCRIBE sent');
  const ctx = await dropped;
  assert.equal(ctx.code, 3004);
  // A new PUB/SUB connection subscribes again.
  await until(() => fake.subscribeConnections.size >= 2, 10000, 'SUBSCRIBE on a second connection');
});
