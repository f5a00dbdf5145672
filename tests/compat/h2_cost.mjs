// The cost of HTTP/2 against HTTP/1.1 over TLS: server CPU per API publish (N requests, 8 in
// flight: 8 keep-alive HTTPS connections, or 8 streams on one HTTP/2 connection) and server RSS
// per idle SSE stream (M streams: M HTTPS connections, or 200 streams per HTTP/2 connection).
// Not part of `npm test` (node --test only picks *.test.mjs). Run from tests/compat:
//   GYRE_BIN=$PWD/../../build/gyre node h2_cost.mjs [N] [M]
import { createHmac } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import http2 from 'node:http2';
import path from 'node:path';
import { GYRE_BIN, freePort, makeTempDir, sleep } from './harness.mjs';

const N = Number(process.argv[2] ?? 4000);
const M = Number(process.argv[3] ?? 1000);
const dir = makeTempDir('gyre-h2-cost-');
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

async function start() {
  const port = await freePort();
  const cfg = {
    port: String(port), token_hmac_secret_key: 'secret', api_key: 'k', sse: true, gomaxprocs: 1,
    log_level: 'error', tls: true, tls_cert: path.join(dir, 'c.pem'), tls_key: path.join(dir, 'k.pem'),
  };
  const cfgPath = path.join(dir, `cfg-${port}.json`);
  writeFileSync(cfgPath, JSON.stringify(cfg));
  const proc = spawn(GYRE_BIN, ['-c', cfgPath], { stdio: 'ignore' });
  await sleep(800);
  const stat = () => readFileSync(`/proc/${proc.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return {
    port,
    proc,
    cpu: () => { const f = stat(); return (Number(f[11]) + Number(f[12])) / 100; }, // utime+stime, s
    rss: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))[1]) * 1024,
  };
}

const body = JSON.stringify({ channel: 'cost', data: { x: 1 } });

async function h1Publish(port) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 8, ca });
  const one = () => new Promise((res, rej) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/api/publish', method: 'POST', agent,
      headers: { 'X-API-Key': 'k', 'Content-Length': Buffer.byteLength(body) } }, (r) => { r.resume(); r.on('end', res); });
    req.on('error', rej);
    req.end(body);
  });
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => { while (next++ < N) await one(); }));
  agent.destroy();
}

async function h2Publish(port) {
  const s = http2.connect(`https://127.0.0.1:${port}`, { ca });
  const one = () => new Promise((res, rej) => {
    const req = s.request({ ':method': 'POST', ':path': '/api/publish', 'x-api-key': 'k' });
    req.on('data', () => {});
    req.on('end', res);
    req.on('error', rej);
    req.end(body);
  });
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => { while (next++ < N) await one(); }));
  s.close();
}

async function cpuPerRequest(kind) {
  const srv = await start();
  await (kind === 'h2' ? h2Publish : h1Publish)(srv.port); // warm-up run
  const c0 = srv.cpu();
  const t0 = Date.now();
  await (kind === 'h2' ? h2Publish : h1Publish)(srv.port);
  const cpu = srv.cpu() - c0;
  const wall = (Date.now() - t0) / 1000;
  srv.proc.kill('SIGKILL');
  return { cpuUsPerRequest: (cpu / N) * 1e6, wallS: wall };
}

function sseUrl(i) {
  return `/connection/sse?cf_connect=${encodeURIComponent(JSON.stringify({ id: 1, connect: { token: token(i) } }))}`;
}

async function ssePerStream(kind) {
  const srv = await start();
  const open = [];
  const sessions = [];
  const openOne = (i) => new Promise((res, rej) => {
    if (kind === 'h2') {
      if (i % 200 === 0) sessions.push(http2.connect(`https://127.0.0.1:${srv.port}`, { ca }));
      const req = sessions[sessions.length - 1].request({ ':method': 'GET', ':path': sseUrl(i) });
      req.once('data', () => res(req));
      req.on('error', rej);
      open.push(req);
    } else {
      const req = https.get({ host: '127.0.0.1', port: srv.port, path: sseUrl(i), ca, agent: false }, (r) => {
        r.once('data', () => res(r));
      });
      req.on('error', rej);
      open.push(req);
    }
  });
  for (let i = 0; i < 50; i++) await openOne(i); // warm-up
  await sleep(300);
  const r0 = srv.rss();
  for (let i = 50; i < 50 + M; i++) await openOne(i);
  await sleep(500);
  const per = (srv.rss() - r0) / M;
  srv.proc.kill('SIGKILL');
  for (const s of sessions) s.destroy();
  for (const r of open) r.destroy?.();
  return { rssBytesPerStream: Math.round(per) };
}

try {
  const out = {
    N, M,
    h1Publish: await cpuPerRequest('h1'),
    h2Publish: await cpuPerRequest('h2'),
    h1Sse: await ssePerStream('h1'),
    h2Sse: await ssePerStream('h2'),
  };
  console.log(JSON.stringify(out, null, 2));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
