// Server RSS per idle WebSocket connection, plain ws:// against TLS wss:// (connected with a
// token, nothing subscribed; 100 warm-up connections, then N measured). Not part of `npm test`
// (node --test only picks *.test.mjs). Run from tests/compat:
//   GYRE_BIN=$PWD/../../build/gyre node tls_idle_memory.mjs [N]
import { createHmac } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { GYRE_BIN, freePort, makeTempDir, sleep } from './harness.mjs';

const N = Number(process.argv[2] ?? 2000);
const dir = makeTempDir('gyre-tls-mem-');
spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
  '-keyout', 'k.pem', '-out', 'c.pem', '-days', '1', '-subj', '/CN=localhost', '-addext',
  'subjectAltName=IP:127.0.0.1'], { cwd: dir });
const ca = readFileSync(path.join(dir, 'c.pem'));
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
function token(u) {
  const h = b64({ alg: 'HS256', typ: 'JWT' });
  const p = b64({ sub: String(u) });
  return `${h}.${p}.${createHmac('sha256', 'secret').update(`${h}.${p}`).digest('base64url')}`;
}

async function measure(tls) {
  const port = await freePort();
  const cfg = { port: String(port), token_hmac_secret_key: 'secret', gomaxprocs: 1, log_level: 'error' };
  if (tls) Object.assign(cfg, { tls: true, tls_cert: path.join(dir, 'c.pem'), tls_key: path.join(dir, 'k.pem') });
  const cfgPath = path.join(dir, `cfg-${port}.json`);
  writeFileSync(cfgPath, JSON.stringify(cfg));
  const srv = spawn(GYRE_BIN, ['-c', cfgPath], { stdio: 'ignore' });
  const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${srv.pid}/status`, 'utf8'))[1]) * 1024;
  await sleep(800);
  const open = async (i) => {
    const ws = new WebSocket(`${tls ? 'wss' : 'ws'}://127.0.0.1:${port}/connection/websocket`, { ca });
    await new Promise((res, rej) => { ws.on('open', res); ws.on('error', rej); });
    ws.send(JSON.stringify({ id: 1, connect: { token: token(i) } }));
    await new Promise((res) => ws.once('message', res));
    return ws;
  };
  const all = [];
  for (let i = 0; i < 100; i++) all.push(await open(i));
  await sleep(500);
  const before = rss();
  for (let i = 0; i < N; i += 50) {
    all.push(...(await Promise.all(Array.from({ length: Math.min(50, N - i) }, (_, k) => open(1000 + i + k)))));
  }
  await sleep(1500);
  const after = rss();
  for (const w of all) w.terminate();
  srv.kill('SIGKILL');
  return Math.round((after - before) / N);
}

const plain = await measure(false);
const tls = await measure(true);
console.log(JSON.stringify({ connections: N, plain_bytes_per_idle_connection: plain, tls_bytes_per_idle_connection: tls }));
rmSync(dir, { recursive: true, force: true });
process.exit(0);
