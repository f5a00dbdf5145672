// Connect latency with N server-side subscriptions from the token's `channels` (median of 5
// connects per N): the connect path's cost per subscription (docs/architecture.md, "Files of a
// client session"). Not part of `npm test` (node --test only picks *.test.mjs). Run from
// tests/compat: GYRE_BIN=$PWD/../../build/gyre node connect_subs_bench.mjs
import { createHmac } from 'node:crypto';
import WebSocket from 'ws';
import { startServer } from './harness.mjs';

const b64 = (s) => Buffer.from(s).toString('base64url');
function token(payload) {
  const h = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const p = b64(JSON.stringify(payload));
  const sig = createHmac('sha256', 'bench-secret').update(`${h}.${p}`).digest('base64url');
  return `${h}.${p}.${sig}`;
}
async function once(url, tok) {
  const ws = new WebSocket(url);
  await new Promise((r, j) => { ws.on('open', r); ws.on('error', j); });
  const t0 = process.hrtime.bigint();
  const got = new Promise((r) => ws.once('message', (m) => r(m.toString())));
  ws.send(JSON.stringify({ id: 1, connect: { token: tok } }));
  const msg = await got;
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (!msg.includes('"connect"')) throw new Error(msg.slice(0, 200));
  ws.close();
  return ms;
}
const server = await startServer({ token_hmac_secret_key: 'bench-secret', client_channel_limit: 100000,
  websocket_message_size_limit: 10000000 });
try {
  for (const n of [500, 2000, 4000]) {
    const chans = Array.from({ length: n }, (_, i) => `c${i}`);
    const tok = token({ sub: 'u', channels: chans });
    const runs = [];
    for (let i = 0; i < 5; i++) runs.push(await once(server.wsUrl, tok));
    runs.sort((a, b) => a - b);
    console.log(`N=${n} median connect ${runs[2].toFixed(1)} ms (runs ${runs.map((x) => x.toFixed(1)).join(', ')})`);
  }
} finally {
  await server.stop();
}
