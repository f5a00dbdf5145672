// Connect storm through the connect proxy (server-api.md §4.4) versus direct JWT connects:
// connects per server CPU-second (utime+stime of the gyre process from /proc) and the median
// connect latency of each path, so the proxy round trip shows as the difference. The backend is
// a node:http server in this process answering {"result":{"user":...}}. Not part of `npm test`
// (node --test only picks *.test.mjs). Run from tests/compat:
//   GYRE_BIN=$PWD/../../build/gyre node proxy_connect_bench.mjs [clients] [concurrency]
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import WebSocket from 'ws';
import { startServer } from './harness.mjs';

const CLIENTS = Number(process.argv[2] ?? 5000);
const CONCURRENCY = Number(process.argv[3] ?? 50);
const CLK_TCK = 100;  // USER_HZ on Linux

const b64 = (s) => Buffer.from(s).toString('base64url');
function token(sub) {
  const h = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const p = b64(JSON.stringify({ sub }));
  const sig = createHmac('sha256', 'bench-secret').update(`${h}.${p}`).digest('base64url');
  return `${h}.${p}.${sig}`;
}

function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;  // utime + stime
}

async function connectOnce(url, params) {
  const ws = new WebSocket(url);
  await new Promise((r, j) => { ws.on('open', r); ws.on('error', j); });
  const t0 = process.hrtime.bigint();
  const got = new Promise((r) => ws.once('message', (m) => r(m.toString())));
  ws.send(JSON.stringify({ id: 1, connect: params }));
  const msg = await got;
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (!msg.includes('"connect"')) throw new Error(msg.slice(0, 200));
  ws.close();
  return ms;
}

async function storm(server, label, paramsOf) {
  const pid = server.proc.pid;
  const lat = [];
  let next = 0;
  const cpu0 = cpuSeconds(pid);
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < CLIENTS) {
      const i = next++;
      lat.push(await connectOnce(server.wsUrl, paramsOf(i)));
    }
  }));
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = cpuSeconds(pid) - cpu0;
  lat.sort((a, b) => a - b);
  const q = (f) => lat[Math.min(lat.length - 1, Math.floor(lat.length * f))].toFixed(2);
  console.log(`${label}: ${CLIENTS} connects (concurrency ${CONCURRENCY}) in ${wall.toFixed(2)} s ` +
    `= ${(CLIENTS / wall).toFixed(0)}/s wall; server CPU ${cpu.toFixed(2)} s = ` +
    `${(CLIENTS / Math.max(cpu, 0.01)).toFixed(0)} connects per CPU-second; ` +
    `latency p50 ${q(0.5)} ms, p99 ${q(0.99)} ms`);
  return { p50: Number(q(0.5)) };
}

const backend = http.createServer({ keepAlive: true }, (req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString());
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ result: { user: `u-${body.client.slice(0, 8)}` } }));
  });
});
await new Promise((r) => backend.listen(0, '127.0.0.1', r));
const server = await startServer({
  token_hmac_secret_key: 'bench-secret',
  proxy_connect_endpoint: `http://127.0.0.1:${backend.address().port}/connect`,
  proxy_connect_timeout: '5s',
  log_level: 'error',
});
try {
  // Warm-up (keep-alive pool, allocator) then both paths.
  await storm(server, 'warm-up (jwt)', (i) => ({ token: token(`w${i}`) }));
  const jwt = await storm(server, 'direct JWT connect', (i) => ({ token: token(`u${i}`) }));
  const px = await storm(server, 'connect proxy', () => ({}));
  console.log(`proxy round-trip overhead (p50 difference): ${(px.p50 - jwt.p50).toFixed(2)} ms`);
} finally {
  await server.stop();
  backend.close();
}
