// Test helpers for the Redis engine: a real `redis-server` (from PATH) on a free loopback port,
// without persistence, stopped after the test; and a minimal RESP2 client to read what Gyre
// wrote (keys, streams, PUB/SUB messages) and to decode Centrifugo's protobuf Publication and
// ClientInfo. Every wait is bounded.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import {
  freePort, sleep, once, collect, httpRequest, startServer, userToken, until,
} from './harness.mjs';

export function redisServerPath() {
  const r = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const p = r.stdout.trim();
  if (!p) {
    throw new Error('redis-server not found on PATH (scripts/install-deps.sh installs it)');
  }
  return p;
}

export class RedisServer {
  /**
   * `extraArgs`: more redis-server options, e.g. ['--replicaof', '127.0.0.1', '6379'].
   * `tls`: serve TLS only on the port ({cert, key, ca} file paths, `authClients` 'yes'|'no';
   * `client`: {ca, cert, key} PEM texts the readiness check and `client()` connect with).
   * `unixSocket`: listen on this unix socket path only (no TCP port).
   */
  static async start(port, extraArgs = [], { tls: tlsOpts, unixSocket } = {}) {
    const s = new RedisServer();
    s.port = port ?? (await freePort());
    s.extraArgs = extraArgs;
    s.tls = tlsOpts;
    s.unixSocket = unixSocket;
    await s.spawn();
    return s;
  }
  portArgs() {
    if (this.unixSocket) return ['--port', '0', '--unixsocket', this.unixSocket, '--unixsocketperm', '700'];
    if (!this.tls) return ['--port', String(this.port)];
    return ['--port', '0', '--tls-port', String(this.port), '--tls-cert-file', this.tls.cert,
      '--tls-key-file', this.tls.key, '--tls-ca-cert-file', this.tls.ca,
      '--tls-auth-clients', this.tls.authClients ?? 'no'];
  }
  /** A RespClient connected to this server (over TLS when it serves TLS). */
  client() {
    if (this.unixSocket) return RespClient.connectPath(this.unixSocket);
    return RespClient.connect(this.port, this.tls?.client);
  }
  async spawn() {
    this.output = '';
    // A replica's full sync writes an RDB file even with `--save ''`: keep it in a temp dir,
    // never in the test's working directory.
    this.dir ??= mkdtempSync(path.join(os.tmpdir(), 'gyre-redis-'));
    this.proc = spawn(redisServerPath(), [...this.portArgs(), '--bind', '127.0.0.1', '--save', '',
      '--appendonly', 'no', '--daemonize', 'no', '--dir', this.dir, ...(this.extraArgs ?? [])],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout.on('data', (d) => { this.output += d; });
    this.proc.stderr.on('data', (d) => { this.output += d; });
    this.exited = new Promise((resolve) => this.proc.on('exit', resolve));
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        const c = await this.client();
        await c.call('PING');
        c.close();
        return;
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`redis-server did not start: ${e.message}\n${this.output}`);
        await sleep(50);
      }
    }
  }
  get address() {
    return `redis://127.0.0.1:${this.port}`;
  }
  /** Kills the server (SIGKILL: no chance to say goodbye) and waits for it to exit. */
  async stop() {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
  }
  /** Same port, empty data set. */
  async restart() {
    await this.stop();
    await this.spawn();
  }
}

/**
 * A Redis Sentinel (`redis-server <conf> --sentinel`, what Debian's redis-sentinel runs) on a
 * free loopback port, monitoring `masterName` at 127.0.0.1:`masterPort` with quorum 2 and a
 * 1 s down-after. Its config file lives in a temp dir (Sentinel rewrites it).
 */
export class SentinelServer {
  /**
   * `tls`: as RedisServer.start's; the Sentinel then serves TLS only and reaches the master
   * over TLS (`tls-replication yes`).
   */
  static async start(masterName, masterPort, { tls: tlsOpts } = {}) {
    const s = new SentinelServer();
    s.port = await freePort();
    s.dir = mkdtempSync(path.join(os.tmpdir(), 'gyre-sentinel-'));
    s.conf = path.join(s.dir, 'sentinel.conf');
    const portLines = tlsOpts
      ? ['port 0', `tls-port ${s.port}`, `tls-cert-file ${tlsOpts.cert}`, `tls-key-file ${tlsOpts.key}`,
        `tls-ca-cert-file ${tlsOpts.ca}`, `tls-auth-clients ${tlsOpts.authClients ?? 'no'}`, 'tls-replication yes']
      : [`port ${s.port}`];
    writeFileSync(s.conf, [
      ...portLines, 'bind 127.0.0.1', `dir ${s.dir}`,
      `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} 2`,
      `sentinel down-after-milliseconds ${masterName} 1000`,
      `sentinel failover-timeout ${masterName} 5000`,
      `sentinel parallel-syncs ${masterName} 1`, '',
    ].join('\n'));
    s.output = '';
    s.proc = spawn(redisServerPath(), [s.conf, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
    s.proc.stdout.on('data', (d) => { s.output += d; });
    s.proc.stderr.on('data', (d) => { s.output += d; });
    s.exited = new Promise((resolve) => s.proc.on('exit', resolve));
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        const c = await RespClient.connect(s.port, tlsOpts?.client);
        await c.call('PING');
        c.close();
        return s;
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`sentinel did not start: ${e.message}\n${s.output}`);
        await sleep(50);
      }
    }
  }
  async stop() {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------------------- RESP client

function encodeCommand(args) {
  const parts = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

// Parses one reply at buf[pos]; returns [value, nextPos] or null when incomplete. Bulk strings
// stay Buffers (binary protobuf inside); errors become {error}.
export function parseReply(buf, pos) {
  const eol = buf.indexOf('\r\n', pos);
  if (eol < 0) return null;
  const type = String.fromCharCode(buf[pos]);
  const line = buf.toString('utf8', pos + 1, eol);
  const next = eol + 2;
  switch (type) {
    case '+': return [line, next];
    case '-': return [{ error: line }, next];
    case ':': return [Number(line), next];
    case '$': {
      const n = Number(line);
      if (n < 0) return [null, next];
      if (buf.length < next + n + 2) return null;
      return [buf.subarray(next, next + n), next + n + 2];
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return [null, next];
      const out = [];
      let p = next;
      for (let i = 0; i < n; i++) {
        const r = parseReply(buf, p);
        if (!r) return null;
        out.push(r[0]);
        p = r[1];
      }
      return [out, p];
    }
    default:
      throw new Error(`bad RESP type ${type}`);
  }
}

export class RespClient {
  /** `tlsOpts`: {ca, cert, key} PEM texts to connect over TLS. */
  static connect(port, tlsOpts) {
    return new Promise((resolve, reject) => {
      const sock = tlsOpts ? tls.connect({ port, host: '127.0.0.1', ...tlsOpts }) : net.connect(port, '127.0.0.1');
      const c = new RespClient(sock);
      sock.once(tlsOpts ? 'secureConnect' : 'connect', () => resolve(c));
      sock.once('error', reject);
    });
  }
  static connectPath(socketPath) {
    return new Promise((resolve, reject) => {
      const sock = net.connect(socketPath);
      const c = new RespClient(sock);
      sock.once('connect', () => resolve(c));
      sock.once('error', reject);
    });
  }
  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.waiting = [];
    this.messages = []; // PUB/SUB ["message", channel, data]
    this.onMessage = null;
    sock.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (;;) {
        const r = parseReply(this.buf, 0);
        if (!r) break;
        this.buf = this.buf.subarray(r[1]);
        const v = r[0];
        if (Array.isArray(v) && v.length === 3 && Buffer.isBuffer(v[0]) && v[0].toString() === 'message') {
          this.messages.push({ channel: v[1].toString(), data: v[2] });
          continue;
        }
        const w = this.waiting.shift();
        if (w) w(v);
      }
    });
    sock.on('error', () => {});
  }
  call(...args) {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`redis ${args[0]} timed out`)), 5000);
      this.waiting.push((v) => {
        clearTimeout(t);
        resolve(v);
      });
      this.sock.write(encodeCommand(args));
    });
  }
  close() {
    this.sock.destroy();
  }
}

// ------------------------------------------------------------------------------- protobuf

function readVarint(buf, pos) {
  let v = 0n;
  let shift = 0n;
  for (;;) {
    const b = buf[pos++];
    v |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return [v, pos];
    shift += 7n;
  }
}

function fields(buf) {
  const out = [];
  let pos = 0;
  while (pos < buf.length) {
    let tag;
    [tag, pos] = readVarint(buf, pos);
    const num = Number(tag >> 3n);
    const wt = Number(tag & 7n);
    if (wt === 0) {
      let v;
      [v, pos] = readVarint(buf, pos);
      out.push({ num, value: v });
    } else if (wt === 2) {
      let len;
      [len, pos] = readVarint(buf, pos);
      out.push({ num, bytes: buf.subarray(pos, pos + Number(len)) });
      pos += Number(len);
    } else {
      throw new Error(`unexpected wire type ${wt}`);
    }
  }
  return out;
}

/** client.proto ClientInfo {user=1, client=2, conn_info=3, chan_info=4}. */
export function decodeClientInfo(buf) {
  const o = { user: '', client: '', conn_info: '', chan_info: '' };
  for (const f of fields(buf)) {
    if (f.num === 1) o.user = f.bytes.toString();
    else if (f.num === 2) o.client = f.bytes.toString();
    else if (f.num === 3) o.conn_info = f.bytes.toString();
    else if (f.num === 4) o.chan_info = f.bytes.toString();
  }
  return o;
}

/** client.proto Publication {data=4, info=5, offset=6, tags=7, delta=8, time=9}. */
export function decodePublication(buf) {
  const o = { data: '', offset: 0n, tags: {}, delta: false, time: 0n, info: null, fieldNumbers: [] };
  for (const f of fields(buf)) {
    o.fieldNumbers.push(f.num);
    if (f.num === 4) o.data = f.bytes.toString();
    else if (f.num === 5) o.info = decodeClientInfo(f.bytes);
    else if (f.num === 6) o.offset = f.value;
    else if (f.num === 7) {
      let k = '';
      let v = '';
      for (const e of fields(f.bytes)) {
        if (e.num === 1) k = e.bytes.toString();
        if (e.num === 2) v = e.bytes.toString();
      }
      o.tags[k] = v;
    } else if (f.num === 8) o.delta = f.value !== 0n;
    else if (f.num === 9) o.time = f.value;
  }
  return o;
}

// ------------------------------------------------------------------------------- sharding

const MASK64 = (1n << 64n) - 1n;

/** 64-bit FNV-1a of the UTF-8 bytes (Go's hash/fnv New64a), as a BigInt. */
export function fnv1a64(str) {
  let h = 14695981039346656037n;
  for (const byte of Buffer.from(str, 'utf8')) {
    h ^= BigInt(byte);
    h = (h * 1099511628211n) & MASK64;
  }
  return h;
}

/**
 * The Redis shard of a channel with client-side sharding: jump consistent hash (Lamping &
 * Veach) of FNV-1a-64, the division in doubles as Go's float64 — centrifuge's consistentIndex.
 */
export function jumpShard(channel, buckets) {
  let key = fnv1a64(channel);
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    key = (key * 2862933555777941757n + 1n) & MASK64;
    j = Math.trunc((b + 1) * (2 ** 31 / (Number(key >> 33n) + 1)));
  }
  return b;
}

// ------------------------------------------------------------------------------- cluster

/** The cluster slot of a key (CRC16/XMODEM of the key or of its {hash tag}, mod 16384). */
export function keySlot(key) {
  let k = Buffer.from(key, 'utf8');
  const open = k.indexOf('{');
  if (open >= 0) {
    const close = k.indexOf('}', open + 1);
    if (close > open + 1) k = k.subarray(open + 1, close);
  }
  let crc = 0;
  for (const byte of k) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = (crc & 0x8000) ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

function canListen(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A free loopback port whose cluster bus port (port + 10000) is free too. */
export async function freeClusterPort() {
  for (;;) {
    const port = await freePort();
    if (port + 10000 <= 65535 && (await canListen(port + 10000))) return port;
  }
}

/**
 * A Redis Cluster of `n` masters, each with `replicas` replicas, on free loopback ports, made
 * with `redis-cli --cluster create`; nodes files in a temp dir. `nodeTimeout` (ms) is
 * cluster-node-timeout: how long a killed master takes to be failed over.
 */
export class RedisCluster {
  static async start(n = 3, { replicas = 0, nodeTimeout = 2000 } = {}) {
    const c = new RedisCluster();
    c.dir = mkdtempSync(path.join(os.tmpdir(), 'gyre-cluster-'));
    c.nodes = [];
    try {
      for (let i = 0; i < n * (1 + replicas); i++) {
        const port = await freePort();
        // The bus port is chosen too: the default (port + 10000) may be taken by another process.
        const busPort = await freePort();
        c.nodes.push(await RedisServer.start(port, ['--cluster-enabled', 'yes', '--cluster-port', String(busPort),
          '--cluster-config-file', path.join(c.dir, `nodes-${port}.conf`), '--dir', c.dir,
          '--cluster-node-timeout', String(nodeTimeout)]));
      }
    } catch (e) {
      await c.stop(); // no redis-server left behind when one of them cannot start
      throw e;
    }
    const r = spawnSync('redis-cli', ['--cluster', 'create', ...c.nodes.map((s) => `127.0.0.1:${s.port}`),
      '--cluster-replicas', String(replicas), '--cluster-yes'], { encoding: 'utf8', timeout: 30000 });
    if (r.status !== 0) throw new Error(`redis-cli --cluster create failed: ${r.stdout}\n${r.stderr}`);
    const deadline = Date.now() + 20000;
    for (;;) {
      let ok = true;
      for (const s of c.nodes) {
        const info = (await c.call(s.port, 'CLUSTER', 'INFO')).toString();
        if (!info.includes('cluster_state:ok')) ok = false;
      }
      // Every replica attached to its master (a failover needs it).
      if (ok && replicas > 0) {
        const slots = await c.call(c.nodes[0].port, 'CLUSTER', 'SLOTS');
        if (slots.some((range) => range.length < 3 + replicas)) ok = false;
      }
      if (ok) return c;
      if (Date.now() > deadline) throw new Error('the cluster did not reach cluster_state:ok');
      await sleep(100);
    }
  }
  get seeds() {
    return this.nodes.map((s) => `127.0.0.1:${s.port}`).join(',');
  }
  async call(port, ...args) {
    const cl = await RespClient.connect(port);
    try {
      return await cl.call(...args);
    } finally {
      cl.close();
    }
  }
  /** The port of the master serving `slot` (from CLUSTER SLOTS of the node on `askPort`). */
  async ownerOf(slot, askPort = this.nodes[0].port) {
    return (await this.servers(slot, askPort))[0];
  }
  /** The ports serving `slot`: master first, then its replicas. */
  async servers(slot, askPort = this.nodes[0].port) {
    const ranges = await this.call(askPort, 'CLUSTER', 'SLOTS');
    for (const [start, end, ...nodes] of ranges) {
      if (slot >= start && slot <= end) return nodes.map((n) => Number(n[1]));
    }
    throw new Error(`slot ${slot} not served`);
  }
  /** Moves `slot` with its keys from the node on port `from` to the node on port `to`. */
  async migrateSlot(slot, from, to) {
    const fromId = (await this.call(from, 'CLUSTER', 'MYID')).toString();
    const toId = (await this.call(to, 'CLUSTER', 'MYID')).toString();
    assertOk(await this.call(to, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', fromId));
    assertOk(await this.call(from, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', toId));
    for (;;) {
      const keys = await this.call(from, 'CLUSTER', 'GETKEYSINSLOT', slot, 100);
      if (keys.length === 0) break;
      assertOk(await this.call(from, 'MIGRATE', '127.0.0.1', to, '', 0, 5000, 'KEYS', ...keys));
    }
    for (const s of this.nodes) assertOk(await this.call(s.port, 'CLUSTER', 'SETSLOT', slot, 'NODE', toId));
  }
  async stop() {
    for (const s of this.nodes ?? []) await s.stop();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

function assertOk(reply) {
  if (reply !== 'OK') throw new Error(`expected OK, got ${JSON.stringify(reply)}`);
}

// ------------------------------------------------------------------------------- Gyre nodes

/**
 * The configuration of a Gyre node on the Redis engine as the Redis tests run it: `redis`
 * holds the mode's keys (`redis_address`, `redis_sentinel_address` + master name,
 * `redis_cluster_address`, ...), then 1 s IO / 500 ms connect timeouts, API key "k", HMAC
 * secret "secret", `namespaces`, and `extra` last (it wins).
 */
export function redisNodeConfig(redis, namespaces, extra = {}) {
  return {
    engine: 'redis', ...redis, redis_io_timeout: '1s', redis_connect_timeout: '500ms', api_key: 'k',
    token_hmac_secret_key: 'secret', namespaces, ...extra,
  };
}

/** Starts Gyre nodes one after another (each healthy before the next); configs[i] or one for all. */
export async function startGyreNodes(count, config) {
  const nodes = [];
  for (let i = 0; i < count; i++) {
    nodes.push(await startServer(Array.isArray(config) ? config[i] : config));
  }
  return nodes;
}

/** An SDK client of `server`, connected as `user`: [client, connected context]. */
export async function connectedClient(scope, server, user, opts = {}) {
  const c = scope.sdk(server, { token: userToken(user), ...opts });
  const p = once(c, 'connected', 5000);
  c.connect();
  return [c, await p];
}

/** A subscription of `client` to `channel`, subscribed: [subscription, subscribed context]. */
export async function subscribedTo(client, channel, opts = {}) {
  const sub = client.newSubscription(channel, opts);
  const p = once(sub, 'subscribed', 5000);
  sub.subscribe();
  return [sub, await p];
}

// ------------------------------------------------------------------------------- fault tests

/** Subscribes `client` to `channel` and records everything the subscription reports. */
export async function watchSubscription(client, channel) {
  const sub = client.newSubscription(channel);
  const w = {
    sub, pubs: collect(sub, 'publication'), subscribing: collect(sub, 'subscribing'),
    subscribed: collect(sub, 'subscribed'),
  };
  const p = once(sub, 'subscribed', 5000);
  sub.subscribe();
  await p;
  return w;
}

/**
 * A publisher for fault tests: publishes {i} to `channel` one at a time through the API of
 * `nodes` in turn (20 ms apart) until stop(). Each call must be answered within
 * `answerWithinMs` (no hang); `oked` gets [offset, i] of every OK, `errors` every error code
 * (or "no answer: ..."), `slowestErrorMs` the longest wait for an error answer (a figure
 * for the report, not asserted). pause() resolves once no call is in flight.
 */
export function startPublisher(nodes, channel, answerWithinMs, apiKey = 'k') {
  const p = { oked: [], errors: [], slowestErrorMs: 0, running: true, paused: false, idle: Promise.resolve() };
  const one = async (node, data) => {
    try {
      const r = await httpRequest(`${node.base}/api/publish`, {
        method: 'POST', body: JSON.stringify({ channel, data }), headers: { 'X-API-Key': apiKey },
        timeout: answerWithinMs,
      });
      if (r.json?.result) return { ok: true, offset: r.json.result.offset };
      return { ok: false, code: r.json?.error?.code ?? `HTTP ${r.status}` };
    } catch (e) {
      return { ok: false, code: `no answer: ${e.message}` };
    }
  };
  p.done = (async () => {
    for (let i = 1; p.running;) {
      if (p.paused) {
        await sleep(10);
        continue;
      }
      let finished;
      p.idle = new Promise((r) => { finished = r; });
      const t0 = Date.now();
      const r = await one(nodes[i % nodes.length], { i });
      if (r.ok) {
        p.oked.push([r.offset, i]);
      } else {
        p.errors.push(r.code);
        p.slowestErrorMs = Math.max(p.slowestErrorMs, Date.now() - t0);
      }
      finished();
      i++;
      await sleep(20);
    }
  })();
  p.pause = async () => {
    p.paused = true;
    await p.idle;
  };
  p.resume = () => { p.paused = false; };
  p.stop = async () => {
    p.running = false;
    await p.done;
  };
  return p;
}

/**
 * The end of a fault test, once Redis is back: the publisher (startPublisher) is stopped; the
 * outage was seen and answered with error 100 only; `nodes` report healthy within
 * `healthyWithinMs`; a last publication through the last node is OK'd; `channel`'s history holds
 * every OK'd publication with offsets 1..n; and every watcher (watchSubscription) ends with the
 * whole stream in order, any resubscription recovered. Returns the stream as [offset, i].
 */
export async function assertNothingOkdLost(t, { publisher, nodes, channel, watches, healthyWithinMs = 10000 }) {
  const { oked, errors } = publisher;
  await publisher.stop();
  assert.ok(errors.length > 0, 'the outage was seen');
  assert.deepEqual([...new Set(errors)], [100]);
  t.diagnostic(`${oked.length} OK'd, ${errors.length} answered 100, slowest error answer ${publisher.slowestErrorMs} ms`);
  for (const node of nodes) {
    await until(async () => (await node.health()).status === 200, healthyWithinMs, 'healthy again');
  }
  const last = await nodes[nodes.length - 1].apiOk('publish', { channel, data: { i: 'last' } });
  oked.push([last.offset, 'last']);

  const h = await nodes[0].apiOk('history', { channel, limit: -1 });
  const stream = h.publications.map((p) => [p.offset, p.data.i]);
  for (const o of oked) assert.ok(stream.some(([off, i]) => off === o[0] && i === o[1]), `OK'd ${o} kept`);
  assert.deepEqual(stream.map(([off]) => off), Array.from({ length: stream.length }, (_, k) => k + 1));
  for (const w of watches) {
    await until(() => w.pubs.length >= stream.length, 10000, 'every publication delivered');
    assert.deepEqual(w.pubs.map((p) => [p.offset, p.data.i]), stream);
    assert.ok(w.subscribed.slice(1).every((c) => c.recovered === true), 'any resubscription recovered');
  }
  return stream;
}
