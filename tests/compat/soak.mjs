// Soak driver behind scripts/soak (not a test file: node --test only picks *.test.mjs).
// Churn: clients connect, subscribe to a few of 50 channels, publish, unsubscribe, resubscribe
// and disconnect at random; API publishers run throughout. Samples the server's RSS and open
// descriptors from /proc once a second.
import { readFileSync, readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startServer, userToken, sleep, WebSocket, GYRE_BIN } from './harness.mjs';

const { values: opt } = parseArgs({
  options: {
    duration: { type: 'string', default: '300' },
    clients: { type: 'string', default: '200' },
    bin: { type: 'string' },
  },
});
if (opt.bin) process.env.GYRE_BIN = opt.bin;
const duration = Number(opt.duration) * 1000;
const target = Number(opt.clients);

const rssKb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
const fds = (pid) => readdirSync(`/proc/${pid}/fd`).length;

const srv = await startServer({
  api_key: 'k', token_hmac_secret_key: 'secret', log_level: 'info',
  namespaces: [{ name: 'chat', presence: true, join_leave: true, history_size: 20, history_ttl: '30s', allow_subscribe_for_client: true, allow_publish_for_client: true, allow_history_for_client: true, allow_presence_for_client: true }],
});
const pid = srv.proc.pid;
const sample = () => ({ rss_kb: rssKb(pid), fds: fds(pid) });
await sleep(1000);
const baseline = sample();
console.log(`gyre ${GYRE_BIN} pid ${pid}; ${duration / 1000} s, ${target} clients churning`);
console.log(`baseline: RSS ${baseline.rss_kb} KiB, ${baseline.fds} fds`);

const channels = Array.from({ length: 50 }, (_, i) => `chat:soak${i}`);
const pick = () => channels[Math.floor(Math.random() * channels.length)];
const stats = { connects: 0, disconnects: 0, subscribes: 0, publishes: 0, received: 0, api: 0, errors: 0 };
const live = new Set();
let stopping = false;

function client(n) {
  const ws = new WebSocket(srv.wsUrl);
  let id = 1;
  const subs = new Set();
  const send = (m) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify({ id: id++, ...m }));
  live.add(ws);
  ws.on('error', () => { stats.errors++; });
  ws.on('open', () => {
    stats.connects++;
    send({ connect: { token: userToken(`u${n % 500}`) } });
    for (let i = 0; i < 3; i++) {
      const ch = pick();
      subs.add(ch);
      send({ subscribe: { channel: ch } });
      stats.subscribes++;
    }
  });
  ws.on('message', (d) => {
    for (const line of d.toString().split('\n')) {
      if (line === '{}') ws.send('{}'); // pong to the server's ping
      else if (line.includes('"pub"')) stats.received++;
    }
  });
  const tick = setInterval(() => {
    if (ws.readyState !== WebSocket.OPEN) return;
    const r = Math.random();
    if (r < 0.3) {
      send({ publish: { channel: [...subs][0] ?? pick(), data: { t: Date.now(), pad: 'x'.repeat(Math.floor(Math.random() * 512)) } } });
      stats.publishes++;
    } else if (r < 0.45 && subs.size) {
      const ch = [...subs][Math.floor(Math.random() * subs.size)];
      subs.delete(ch);
      send({ unsubscribe: { channel: ch } });
    } else if (r < 0.6) {
      const ch = pick();
      if (!subs.has(ch)) {
        subs.add(ch);
        send({ subscribe: { channel: ch } });
        stats.subscribes++;
      }
    } else if (r < 0.65) {
      send({ history: { channel: pick(), limit: 10 } });
    } else if (r < 0.7) {
      send({ presence: { channel: pick() } });
    }
  }, 200);
  const life = 2000 + Math.random() * 20000;
  const end = setTimeout(() => (Math.random() < 0.2 ? ws.terminate() : ws.close()), life);
  ws.on('close', () => {
    clearInterval(tick);
    clearTimeout(end);
    live.delete(ws);
    stats.disconnects++;
    if (!stopping) client(n + target);
  });
}

for (let i = 0; i < target; i++) {
  client(i);
  if (i % 20 === 0) await sleep(50);
}
const apiLoop = (async () => {
  while (!stopping) {
    const commands = Array.from({ length: 20 }, () => ({ publish: { channel: pick(), data: { api: Date.now() } } }));
    await srv.api('batch', { commands }).then(() => { stats.api += 20; }, () => { stats.errors++; });
    await sleep(50);
  }
})();

let peak = { ...baseline };
const t0 = Date.now();
let lastReport = t0;
while (Date.now() - t0 < duration) {
  await sleep(1000);
  const s = sample();
  peak = { rss_kb: Math.max(peak.rss_kb, s.rss_kb), fds: Math.max(peak.fds, s.fds) };
  if (Date.now() - lastReport >= 30000) {
    lastReport = Date.now();
    console.log(`t+${Math.round((Date.now() - t0) / 1000)} s: RSS ${s.rss_kb} KiB, ${s.fds} fds, ${live.size} clients, ${JSON.stringify(stats)}`);
  }
}
stopping = true;
await apiLoop;
for (const ws of live) ws.close();
const closeDeadline = Date.now() + 10000;
while (live.size && Date.now() < closeDeadline) await sleep(100);
for (const ws of live) ws.terminate();
await sleep(3000); // history TTL and presence cleanup run on timers; give them a moment
const after = sample();
const info = (await srv.apiOk('info', {})).nodes[0];
console.log(`peak:     RSS ${peak.rss_kb} KiB, ${peak.fds} fds`);
console.log(`after:    RSS ${after.rss_kb} KiB, ${after.fds} fds, num_clients ${info.num_clients}, num_subs ${info.num_subs}`);
console.log(`totals:   ${JSON.stringify(stats)}`);
const exited = await srv.stop();
console.log(`server exit: ${JSON.stringify(exited)}`);
// Near baseline: descriptors exactly back (+2 for an HTTP keep-alive of the API client), RSS
// within 25% + 8 MiB of baseline (allocator caches and history of the 50 channels stay).
const fdOk = after.fds <= baseline.fds + 2;
const rssOk = after.rss_kb <= baseline.rss_kb * 1.25 + 8192;
const ok = fdOk && rssOk && info.num_clients === 0 && exited.code === 0;
console.log(ok ? 'soak: ok' : `soak: FAILED (fds ${fdOk ? 'ok' : 'leak'}, rss ${rssOk ? 'ok' : 'grew'})`);
process.exit(ok ? 0 : 1);
