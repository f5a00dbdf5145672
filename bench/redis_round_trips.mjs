#!/usr/bin/env node
// Redis round trips per API publication on a two-node Gyre cluster (issue #12: ≤ 2 per
// publication, PUB/SUB reads batched). One redis-server and two Gyre nodes (engine redis) on
// free loopback ports; one SDK subscriber on each node for a history channel (chat:) and a
// channel without history (plain:); publications go to node A's HTTP API.
//
// Figures, from Redis itself (INFO commandstats, INFO stats) as deltas over N publications:
//   - commands per publication, by command (EVALSHA/PUBLISH ...);
//   - read events per publication (total_reads_processed: each is one batch of commands
//     Redis read from a connection, so it counts round trips from the nodes' side);
// and, on the receiving node B, the reads of its PUB/SUB connection (strace -c of recvmsg on
// that socket, when ptrace is allowed): messages per read = PUB/SUB batching.
// Two publishers: "sequential" (one API call at a time) and "burst" (64 in flight).
//
// Usage: node bench/redis_round_trips.mjs [N]   (needs build/gyre, redis-server, strace
// optional; run `npm ci` in tests/compat first — the SDK comes from there).
import { spawn, spawnSync } from 'node:child_process';
import {
  startServer, userToken, once, collect, until, httpRequest, uniq,
} from '../tests/compat/harness.mjs';
import { RedisServer, RespClient } from '../tests/compat/redis_server.mjs';

const N = Number(process.argv[2] ?? 2000);
const NS = [
  { name: 'chat', history_size: 100, history_ttl: '300s', force_recovery: true, allow_subscribe_for_client: true },
  { name: 'plain', allow_subscribe_for_client: true },
];

function parseInfo(text) {
  const out = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

async function snapshot(admin) {
  const stats = parseInfo((await admin.call('INFO', 'stats')).toString());
  const cmds = parseInfo((await admin.call('INFO', 'commandstats')).toString());
  const calls = {};
  for (const [k, v] of Object.entries(cmds)) {
    const m = /calls=(\d+)/.exec(v);
    if (m) calls[k.replace('cmdstat_', '')] = Number(m[1]);
  }
  return { reads: Number(stats.total_reads_processed), writes: Number(stats.total_writes_processed), calls };
}

function delta(a, b) {
  const calls = {};
  for (const [k, v] of Object.entries(b.calls)) {
    const d = v - (a.calls[k] ?? 0);
    if (d > 0) calls[k] = d;
  }
  return { reads: b.reads - a.reads, writes: b.writes - a.writes, calls };
}

// recvmsg calls returning data, per fd, of process `pid` while `fn` runs.
async function countReads(pid, fn) {
  const probe = spawnSync('strace', ['-V']);
  if (probe.status !== 0) return null;
  const st = spawn('strace', ['-f', '-e', 'trace=recvmsg,recvfrom,read', '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  st.stderr.on('data', (d) => { err += d; });
  await new Promise((r) => setTimeout(r, 500));
  if (st.exitCode !== null) return null;
  await fn();
  await new Promise((r) => setTimeout(r, 300));
  st.kill('SIGINT');
  await new Promise((r) => st.on('exit', r));
  const perFd = {};
  for (const m of err.matchAll(/(?:recvmsg|recvfrom|read)\((\d+),.*\) = (\d+)/g)) {
    if (Number(m[2]) > 0) perFd[m[1]] = (perFd[m[1]] ?? 0) + 1;
  }
  return perFd;
}

async function publishAll(node, channel, inFlight, count = N) {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const r = await httpRequest(`${node.base}/api/publish`, {
        method: 'POST', body: JSON.stringify({ channel, data: { i } }), headers: { 'X-API-Key': 'k' },
      });
      if (!r.json?.result) throw new Error(`publish failed: ${r.text}`);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

const redis = await RedisServer.start();
const cfg = {
  engine: 'redis', redis_address: redis.address, api_key: 'k', token_hmac_secret_key: 'secret', namespaces: NS,
  log_level: 'error',
};
const a = await startServer(cfg);
const b = await startServer(cfg);
const admin = await RespClient.connect(redis.port);
const results = [];
try {
  for (const [kind, prefix] of [['history', 'chat'], ['no history', 'plain']]) {
    for (const [mode, inFlight] of [['sequential', 1], ['burst', 64]]) {
      const ch = `${prefix}:${uniq()}`;
      const clients = [];
      const received = [];
      for (const node of [a, b]) {
        const c = node.sdk({ token: userToken(`u${clients.length}`) });
        const p = once(c, 'connected', 5000);
        c.connect();
        await p;
        const sub = c.newSubscription(ch);
        const s = once(sub, 'subscribed', 5000);
        sub.subscribe();
        await s;
        received.push(collect(sub, 'publication'));
        clients.push(c);
      }
      // Warm up (script cache, connections), then measure.
      await publishAll(a, ch, 1, 20);
      await until(() => received.every((r) => r.length === 20), 60000, 'warm-up delivered');
      for (const r of received) r.length = 0;
      const before = await snapshot(admin);
      let perFd = null;
      perFd = await countReads(b.handle.proc.pid, async () => {
        await publishAll(a, ch, inFlight);
        await until(() => received.every((r) => r.length === N), 60000, 'delivered');
      });
      if (perFd === null) {
        await publishAll(a, ch, inFlight);
        await until(() => received.every((r) => r.length === N), 60000, 'delivered');
      }
      const after = await snapshot(admin);
      const d = delta(before, after);
      // The busiest socket of node B is its PUB/SUB connection (the subscriber is idle).
      const pubsubReads = perFd ? Math.max(...Object.values(perFd)) : null;
      results.push({
        kind, mode, n: N,
        commands_per_pub: Object.fromEntries(Object.entries(d.calls).map(([k, v]) => [k, +(v / N).toFixed(3)])),
        redis_reads_per_pub: +(d.reads / N).toFixed(3),
        redis_writes_per_pub: +(d.writes / N).toFixed(3),
        node_b_pubsub_reads: pubsubReads,
        messages_per_pubsub_read: pubsubReads ? +(N / pubsubReads).toFixed(2) : null,
      });
      for (const c of clients) c.disconnect();
    }
  }
} finally {
  admin.close();
  await a.stop();
  await b.stop();
  await redis.stop();
}
console.log(JSON.stringify(results, null, 2));
process.exit(0);
