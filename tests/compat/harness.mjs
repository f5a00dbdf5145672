// Test harness for the Gyre compatibility suite.
//
// Starts the real server binary (env GYRE_BIN, default <repo>/build/gyre) with a temporary
// config, waits for /health, and offers small helpers for raw WebSocket, the centrifuge SDK,
// the HTTP API and JWT signing. Every helper has a bounded wait.

import { spawn, spawnSync } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test as nodeTest } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { Centrifuge } from 'centrifuge';

export { WebSocket, Centrifuge };

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..', '..');
export const GYRE_BIN = process.env.GYRE_BIN || path.join(REPO, 'build', 'gyre');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Server process management

const liveServers = new Set();

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function makeTempDir(prefix = 'gyre-compat-') {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

function assertBinary() {
  if (!existsSync(GYRE_BIN)) {
    throw new Error(`gyre binary not found at ${GYRE_BIN} (set GYRE_BIN or build target gyre)`);
  }
}

class OutputBuffer {
  constructor(max = 400) {
    this.lines = [];
    this.max = max;
    this.partial = { stdout: '', stderr: '' };
    this.all = '';
  }
  push(stream, chunk) {
    const text = chunk.toString();
    if (this.all.length < 2_000_000) this.all += text;
    const data = this.partial[stream] + text;
    const parts = data.split('\n');
    this.partial[stream] = parts.pop();
    for (const line of parts) {
      this.lines.push(`[${stream}] ${line}`);
      if (this.lines.length > this.max) this.lines.shift();
    }
  }
  text() {
    const tail = [];
    for (const s of ['stdout', 'stderr']) if (this.partial[s]) tail.push(`[${s}] ${this.partial[s]}`);
    return this.lines.concat(tail).join('\n');
  }
}

/** Default config every test server gets unless overridden. */
export function baseConfig(port) {
  return { port: String(port), health: true, log_level: 'debug' };
}

function toYaml(value, indent = '') {
  // Small YAML emitter sufficient for flat configs with arrays of flat objects.
  const scalar = (v) => (typeof v === 'string' ? JSON.stringify(v) : String(v));
  if (Array.isArray(value)) {
    if (value.length === 0) return ' []';
    return value
      .map((item) => {
        if (item && typeof item === 'object') {
          const inner = toYaml(item, indent + '  ').replace(/^\n/, '');
          return `\n${indent}- ${inner.trimStart()}`;
        }
        return `\n${indent}- ${scalar(item)}`;
      })
      .join('');
  }
  if (value && typeof value === 'object') {
    return Object.entries(value)
      .map(([k, v]) => {
        if (v && typeof v === 'object') return `\n${indent}${k}:${toYaml(v, indent + '  ')}`;
        return `\n${indent}${k}: ${scalar(v)}`;
      })
      .join('');
  }
  return ' ' + scalar(value);
}

export function configToYaml(cfg) {
  return toYaml(cfg).replace(/^\n/, '') + '\n';
}

export function configToToml(cfg) {
  const scalar = (v) => (typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? `[${v.map(scalar).join(', ')}]` : String(v));
  const top = [];
  const tables = [];
  for (const [k, v] of Object.entries(cfg)) {
    if (Array.isArray(v) && v.length && typeof v[0] === 'object') {
      for (const item of v) {
        tables.push(`\n[[${k}]]`);
        for (const [ik, iv] of Object.entries(item)) tables.push(`${ik} = ${scalar(iv)}`);
      }
    } else {
      top.push(`${k} = ${scalar(v)}`);
    }
  }
  return top.concat(tables).join('\n') + '\n';
}

/**
 * Spawn gyre. Returns a handle; does not wait for health (see startServer).
 * opts: { configText, ext ('json'|'yaml'|'toml'), args: [] extra args, env: {} extra env,
 *         noConfigFlag: bool }
 */
export function spawnGyre({ configText, ext = 'json', args = [], env = {}, noConfigFlag = false } = {}) {
  assertBinary();
  const dir = makeTempDir();
  const cfgPath = path.join(dir, `config.${ext}`);
  if (configText !== undefined) writeFileSync(cfgPath, configText);
  const fullArgs = noConfigFlag ? args : ['--config', cfgPath, ...args];
  const childEnv = { ...process.env };
  for (const k of Object.keys(childEnv)) if (k.startsWith('CENTRIFUGO_')) delete childEnv[k];
  Object.assign(childEnv, env);
  const proc = spawn(GYRE_BIN, fullArgs, { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = new OutputBuffer();
  proc.stdout.on('data', (d) => out.push('stdout', d));
  proc.stderr.on('data', (d) => out.push('stderr', d));
  const handle = {
    proc,
    dir,
    cfgPath,
    out,
    args: fullArgs,
    exited: null,
  };
  // 'close', not 'exit': it comes after stdout and stderr are drained, so a test that reads the
  // output of an exited server (a start-up error naming a key) sees all of it.
  handle.exitPromise = new Promise((resolve) => {
    proc.on('close', (code, signal) => {
      handle.exited = { code, signal };
      resolve(handle.exited);
    });
    proc.on('error', (err) => {
      handle.exited = { code: null, signal: null, error: err };
      resolve(handle.exited);
    });
  });
  return handle;
}

export async function waitHealthy(port, handle, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  let lastErr = '';
  while (Date.now() < deadline) {
    if (handle && handle.exited) {
      throw new Error(`gyre exited before becoming healthy: ${JSON.stringify(handle.exited)}\n--- output ---\n${handle.out.text()}`);
    }
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
      await res.text();
      if (res.status === 200) return;
      lastErr = `status ${res.status}`;
    } catch (e) {
      lastErr = String(e && e.cause ? e.cause.code || e.cause : e);
    }
    await sleep(100);
  }
  throw new Error(`gyre did not become healthy on port ${port} within ${timeoutMs} ms (${lastErr})\n--- output ---\n${handle ? handle.out.text() : ''}`);
}

/**
 * Start a server with the given config object (merged over baseConfig). Returns a Server.
 * opts: { format: 'json'|'yaml'|'toml', env, args, port (to force a port) }
 */
export async function startServer(config = {}, opts = {}) {
  const port = opts.port ?? (await freePort());
  const cfg = { ...baseConfig(port), ...config };
  const format = opts.format ?? 'json';
  const configText = format === 'yaml' ? configToYaml(cfg) : format === 'toml' ? configToToml(cfg) : JSON.stringify(cfg, null, 2);
  const handle = spawnGyre({ configText, ext: format, args: opts.args ?? [], env: opts.env ?? {} });
  const listenPort = opts.listenPort ?? port;
  const server = new Server(handle, listenPort, cfg);
  liveServers.add(server);
  try {
    await waitHealthy(listenPort, handle, opts.healthTimeout ?? 10000);
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}

export class Server {
  constructor(handle, port, config) {
    this.handle = handle;
    this.port = port;
    this.config = config;
    this.base = `http://127.0.0.1:${port}`;
    this.wsUrl = `ws://127.0.0.1:${port}/connection/websocket`;
    this.apiUrl = `${this.base}/api`;
    this.apiKey = config.api_key;
  }
  get proc() {
    return this.handle.proc;
  }
  output() {
    return this.handle.out.text();
  }
  /** SIGTERM, wait up to graceMs, then SIGKILL. Resolves with {code, signal}. */
  async stop(graceMs = 5000) {
    liveServers.delete(this);
    const h = this.handle;
    if (!h.exited) {
      try {
        h.proc.kill('SIGTERM');
      } catch {}
      const t = setTimeout(() => {
        if (!h.exited) {
          try {
            h.proc.kill('SIGKILL');
          } catch {}
        }
      }, graceMs);
      await h.exitPromise;
      clearTimeout(t);
    }
    try {
      rmSync(h.dir, { recursive: true, force: true });
    } catch {}
    return h.exited;
  }
  async health() {
    const res = await fetch(`${this.base}/health`, { signal: AbortSignal.timeout(3000) });
    const text = await res.text();
    return { status: res.status, text };
  }
  /**
   * Call the HTTP API. body: object (JSON-encoded), string (sent verbatim) or undefined (empty).
   * opts: { key (default server api_key; null = no auth header), headers, method, path, query }
   */
  async api(method, body, opts = {}) {
    const p = opts.path ?? (method === '' || method === null ? '/api' : `/api/${method}`);
    return httpRequest(this.base + p + (opts.query ?? ''), {
      method: opts.method ?? 'POST',
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      headers: {
        ...(opts.key === null ? {} : { 'X-API-Key': opts.key ?? this.apiKey ?? '' }),
        ...(opts.headers ?? {}),
      },
    });
  }
  /** API call that must succeed with HTTP 200 and {"result":...}; returns result. */
  async apiOk(method, body) {
    const r = await this.api(method, body);
    assert.equal(r.status, 200, `API ${method} status ${r.status} body ${r.text}`);
    assert.ok(r.json && 'result' in r.json, `API ${method} expected result, got ${r.text}`);
    return r.json.result;
  }
  /** Connect a raw WebSocket client (not yet sending connect). */
  raw(opts = {}) {
    return RawClient.open(this, opts);
  }
  /** Create a centrifuge SDK client (not connected yet). */
  sdk(opts = {}) {
    return new Centrifuge(this.wsUrl, { websocket: WebSocket, minReconnectDelay: 100, maxReconnectDelay: 1000, ...opts });
  }
}

export async function httpRequest(url, init = {}) {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(init.timeout ?? 8000) });
  const text = await res.text();
  let json;
  try {
    json = text.length ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json, contentType: res.headers.get('content-type') };
}

/** Run gyre synchronously (CLI subcommands). Returns {code, stdout, stderr, out}. */
export function runGyre(args, { env = {}, timeout = 10000, cwd } = {}) {
  assertBinary();
  const childEnv = { ...process.env };
  for (const k of Object.keys(childEnv)) if (k.startsWith('CENTRIFUGO_')) delete childEnv[k];
  Object.assign(childEnv, env);
  const r = spawnSync(GYRE_BIN, args, { env: childEnv, timeout, encoding: 'utf8', cwd });
  return { code: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', out: (r.stdout ?? '') + (r.stderr ?? ''), error: r.error };
}

// ---------------------------------------------------------------------------------------------
// Tests with log dumping and per-test resource cleanup

/**
 * Like node:test `test`, but the callback receives (t, scope). Resources created through the
 * scope (scope.raw(server), scope.sdk(server, opts), scope.defer(fn)) are closed after the test.
 * On failure the tail of every live server's output is printed.
 */
export function test(name, opts, fn) {
  if (typeof opts === 'function') {
    fn = opts;
    opts = {};
  }
  return nodeTest(name, { timeout: 20000, ...opts }, async (t) => {
    const scope = new Scope();
    try {
      await fn(t, scope);
    } catch (err) {
      dumpServerLogs(name);
      throw err;
    } finally {
      await scope.close();
    }
  });
}

/**
 * The last `n` lines of a server's output; when it holds a sanitizer report, the report's first
 * 40 lines (the error and its stacks) come first, since a tail shows only its legend.
 */
export function logTail(output, n = 80) {
  const lines = output.split('\n');
  const at = lines.findIndex((l) => /ERROR: AddressSanitizer|ERROR: LeakSanitizer|WARNING: ThreadSanitizer|runtime error:/.test(l));
  const tail = lines.slice(-n).join('\n');
  return at < 0 ? tail : `${lines.slice(at, at + 40).join('\n')}\n[...]\n${tail}`;
}

export function dumpServerLogs(label) {
  for (const s of liveServers) {
    process.stderr.write(`\n----- gyre output (port ${s.port}) after failure of "${label}" (last 80 lines) -----\n${logTail(s.output())}\n----- end -----\n`);
  }
}

class Scope {
  constructor() {
    this.cleanups = [];
  }
  defer(fn) {
    this.cleanups.push(fn);
  }
  async raw(server, opts) {
    const c = await server.raw(opts);
    this.defer(() => c.close());
    return c;
  }
  sdk(server, opts) {
    const c = server.sdk(opts);
    this.defer(() => {
      try {
        c.disconnect();
      } catch {}
    });
    return c;
  }
  async close() {
    for (const fn of this.cleanups.reverse()) {
      try {
        await fn();
      } catch {}
    }
    this.cleanups = [];
  }
}

// ---------------------------------------------------------------------------------------------
// Raw WebSocket client speaking the JSON protocol

/**
 * Base of the test clients that tests wait on: a subclass calls _notify() whenever its state
 * changes; _wait re-checks on every change.
 */
export class Waitable {
  constructor() {
    this.waiters = [];
  }

  _notify() {
    for (const w of [...this.waiters]) w();
  }

  /**
   * Resolves with the first value of find() other than undefined; rejects with "<failed()>
   * while waiting for <label>" when failed() returns a reason, or after timeoutMs. dump()
   * describes what was received, for the error.
   */
  _wait(find, failed, timeoutMs, label, dump) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = find();
        if (found !== undefined) {
          done();
          resolve(found);
          return;
        }
        const why = failed();
        if (why) {
          done();
          reject(new Error(`${why} while waiting for ${label}; ${dump()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timeout (${timeoutMs} ms) waiting for ${label}; ${dump()}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
      };
      this.waiters.push(check);
      check();
    });
  }
}


export class RawClient extends Waitable {
  static open(server, { protocols, query = '', autoPong = true, url } = {}) {
    return new Promise((resolve, reject) => {
      const target = url ?? server.wsUrl + query;
      const ws = new WebSocket(target, protocols);
      const c = new RawClient(ws, autoPong);
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`raw websocket open timeout: ${target}`));
      }, 5000);
      ws.once('open', () => {
        clearTimeout(timer);
        resolve(c);
      });
      ws.once('unexpected-response', (req, res) => {
        clearTimeout(timer);
        reject(new Error(`websocket upgrade refused: HTTP ${res.statusCode}`));
      });
      ws.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  constructor(ws, autoPong) {
    super();
    this.ws = ws;
    this.autoPong = autoPong;
    this.frames = []; // raw frames (strings or Buffers)
    this.messages = []; // parsed messages in order
    this.taken = new Set();
    this.frameErrors = [];
    this.nextId = 1;
    this.pings = 0;
    this.closed = null;
    this.closePromise = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closed = { code, reason: reason.toString() };
        resolve(this.closed);
        this._notify();
      });
    });
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        this.frames.push(data);
        this.binary = true;
        this._notify();
        return;
      }
      const text = data.toString();
      this.frames.push(text);
      if (text.length === 0) this.frameErrors.push('empty frame');
      if (text.startsWith('\n') || text.endsWith('\n')) this.frameErrors.push(`leading/trailing newline in frame: ${JSON.stringify(text)}`);
      if (text.includes('\n\n')) this.frameErrors.push(`empty line in frame: ${JSON.stringify(text)}`);
      for (const line of text.split('\n')) {
        if (line.trim() === '') continue;
        let msg;
        try {
          msg = JSON.parse(line);
        } catch (e) {
          this.frameErrors.push(`invalid JSON line: ${line}`);
          continue;
        }
        const isPing = msg && typeof msg === 'object' && Object.keys(msg).length === 0;
        if (isPing) {
          this.pings++;
          if (this.autoPong && ws.readyState === WebSocket.OPEN) ws.send('{}');
        }
        this.messages.push(msg);
      }
      this._notify();
    });
  }

  /** Send a raw string, an object, or an array of objects (joined by newline in one frame). */
  send(payload) {
    let text;
    if (typeof payload === 'string' || Buffer.isBuffer(payload)) text = payload;
    else if (Array.isArray(payload)) text = payload.map((m) => JSON.stringify(m)).join('\n');
    else text = JSON.stringify(payload);
    this.ws.send(text);
  }

  /** Wait for a message matching pred (not taken before); marks it taken. */
  waitFor(pred, timeoutMs = 5000, label = 'message') {
    return this._wait(
      () => {
        const i = this.messages.findIndex((m, k) => !this.taken.has(k) && pred(m));
        if (i < 0) return undefined;
        this.taken.add(i);
        return this.messages[i];
      },
      () => this.closed && `connection closed (${this.closed.code} ${JSON.stringify(this.closed.reason)})`,
      timeoutMs, label, () => `received: ${this.dump()}`,
    );
  }

  reply(id, timeoutMs = 5000) {
    return this.waitFor((m) => m.id === id, timeoutMs, `reply id=${id}`);
  }

  push(pred, timeoutMs = 5000, label = 'push') {
    return this.waitFor((m) => m.push && pred(m.push), timeoutMs, label);
  }

  /** Send a command with a fresh id; resolves with the reply. */
  async call(method, params = {}, timeoutMs = 5000) {
    const id = this.nextId++;
    this.send({ id, [method]: params });
    return this.reply(id, timeoutMs);
  }

  async connect(params = {}) {
    const r = await this.call('connect', params);
    return r;
  }

  /** Resolves with {code, reason} once closed; rejects after timeoutMs. */
  waitClose(timeoutMs = 5000) {
    return Promise.race([
      this.closePromise,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`timeout (${timeoutMs} ms) waiting for close; received: ${this.dump()}`)), timeoutMs)),
    ]);
  }

  /** Asserts nothing arrives matching pred for ms. */
  async expectNone(pred, ms = 500, label = 'message') {
    await sleep(ms);
    const idx = this.messages.findIndex((m, i) => !this.taken.has(i) && pred(m));
    if (idx >= 0) throw new Error(`unexpected ${label}: ${JSON.stringify(this.messages[idx])}`);
  }

  dump() {
    const s = JSON.stringify(this.frames.map((f) => (typeof f === 'string' ? f : `<binary ${f.length}>`)));
    return s.length > 3000 ? s.slice(0, 3000) + '...' : s;
  }

  close() {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      try {
        this.ws.close();
      } catch {}
      setTimeout(() => {
        try {
          this.ws.terminate();
        } catch {}
      }, 1000).unref();
    }
  }

  get isOpen() {
    return this.ws.readyState === WebSocket.OPEN;
  }
}

// ---------------------------------------------------------------------------------------------
// SDK helpers

/** Wait for an event on an EventEmitter-like object (centrifuge client / subscription). */
export function once(emitter, event, timeoutMs = 5000, pred = () => true) {
  return new Promise((resolve, reject) => {
    const handler = (ctx) => {
      if (!pred(ctx)) return;
      clearTimeout(timer);
      emitter.off(event, handler);
      resolve(ctx);
    };
    const timer = setTimeout(() => {
      emitter.off(event, handler);
      reject(new Error(`timeout (${timeoutMs} ms) waiting for event "${event}"` + (emitter.state ? ` (state ${emitter.state})` : '')));
    }, timeoutMs);
    emitter.on(event, handler);
  });
}

/** Collect every emission of an event into an array. */
export function collect(emitter, event) {
  const arr = [];
  emitter.on(event, (ctx) => arr.push(ctx));
  return arr;
}

/** Poll until fn() is truthy. */
export async function until(fn, timeoutMs = 5000, label = 'condition') {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v) return v;
    await sleep(50);
  }
  throw new Error(`timeout (${timeoutMs} ms) waiting for ${label}`);
}

/** Await a promise with a timeout. */
export function withTimeout(promise, ms, label = 'operation') {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout (${ms} ms): ${label}`)), ms);
    }),
  ]);
}

/** Await a promise expected to reject; returns the rejection value. */
export async function rejects(promise, ms = 5000, label = 'operation') {
  try {
    const v = await withTimeout(promise, ms, label);
    throw Object.assign(new Error(`${label} resolved unexpectedly with ${JSON.stringify(v)}`), { unexpected: true });
  } catch (e) {
    if (e && e.unexpected) throw e;
    return e;
  }
}

// ---------------------------------------------------------------------------------------------
// JWT

const b64url = (s) => Buffer.from(s).toString('base64url');

export function signJWT(payload, { secret = 'secret', alg = 'HS256', header } = {}) {
  const h = b64url(typeof header === 'string' ? header : JSON.stringify(header ?? { alg, typ: 'JWT' }));
  const p = b64url(typeof payload === 'string' ? payload : JSON.stringify(payload));
  const hash = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[alg];
  const sig = createHmac(hash, secret).update(`${h}.${p}`).digest('base64url');
  return `${h}.${p}.${sig}`;
}

export function decodeJWT(token) {
  const [h, p] = token.split('.');
  return { header: JSON.parse(Buffer.from(h, 'base64url').toString()), payload: JSON.parse(Buffer.from(p, 'base64url').toString()) };
}

export const nowSec = () => Math.floor(Date.now() / 1000);

/** Worked tokens from server-api.md §3.6 (secret "secret"). */
export const TOKENS = {
  A: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiIsImV4cCI6NDEwMjQ0NDgwMCwiaW5mbyI6eyJuYW1lIjoiQWxpY2UifX0.E1L7LumGehBw9ztjyg2t8yOUpuaHeLOxJnwAZZMCmg0',
  B: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiJ9.79CVgMIG_JB921dVUeJDWNJubJojFodH3-XtC_1C408',
  B384: 'eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiJ9._XqjM_YHAu4CWMH7hzfxehwzIF-YR7dACRjxtIVmJX5xNtZlNRiNQT77cP9PWVPM',
  B512: 'eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiJ9.OOnmim08R5KPn3wNhfsu5HW2EyBxHZKIDBHSjSRDrCOhWlmKZr9e10Ktf-JcrAjCDBi6c-wB5_5HlUnSd2KN1g',
  C: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiIsImV4cCI6MTAwMDAwMDAwMH0.VyM4XOSE5PahW3hkxJnSIZ5pQ85f3vRSofg8OL_h9nQ',
  D: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiIsImNoYW5uZWwiOiIkZ29zc2lwcyIsImV4cCI6NDEwMjQ0NDgwMH0.SnJZlcft-WPyvueaJORyvW7s4nxeMBuqtfvxYACqopM',
  E: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiIsImV4cCI6NDEwMjQ0NDgwMCwiY2hhbm5lbHMiOlsibmV3cyJdLCJtZXRhIjp7InJvbGUiOiJhZG1pbiJ9LCJzdWJzIjp7InBlcnNvbmFsOjQyIjp7ImRhdGEiOnsid2VsY29tZSI6dHJ1ZX19fX0.Yv6eDKUzKcic_5xuzo-A2nr64GIKhGUlAAzSNzJeVuE',
  UPSTREAM: 'eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIyNjk0IiwiaW5mbyI6eyJmaXJzdF9uYW1lIjoiQWxleGFuZGVyIiwibGFzdF9uYW1lIjoiRW1lbGluIn19.m-TaS80RxkAiP9jH_s_h2NrKS_TDuPxJ8-z6gI7UewI',
  ANON: 'eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.e30.DMCAvRgzrcf5w0Z879BsqzcrnDFKBY_GN6c3qKOUFtQ',
};

/** Connection token for a user, signed with secret "secret" unless told otherwise. */
export function userToken(user, extra = {}, opts = {}) {
  return signJWT({ sub: String(user), ...extra }, opts);
}

export const uniq = (prefix = 'c') => `${prefix}${randomUUID().slice(0, 8)}`;

/** Asserts a reply to a connect: {id, connect:{client,...}}; returns the connect result. */
export function assertConnectOk(reply, id) {
  assert.equal(reply.id, id, `connect reply id; got ${JSON.stringify(reply)}`);
  assert.ok(!reply.error, `connect failed: ${JSON.stringify(reply)}`);
  assert.ok(reply.connect, `no connect result: ${JSON.stringify(reply)}`);
  assert.equal(typeof reply.connect.client, 'string');
  assert.ok(reply.connect.client.length > 0, 'empty client id');
  return reply.connect;
}

/** Open a raw client, connect it with a token (or anonymously) and return [client, connectResult]. */
export async function rawConnected(scope, server, token, extra = {}) {
  const c = await scope.raw(server, extra.rawOpts);
  const params = token ? { token, name: 'js' } : { name: 'js' };
  const r = await c.call('connect', params);
  return [c, assertConnectOk(r, r.id)];
}

/** Throws if the server is not healthy or a new raw client can not connect with the given token. */
export async function assertServerAlive(server, token, scope) {
  const h = await server.health();
  assert.equal(h.status, 200, 'health after bad input');
  const c = await server.raw();
  try {
    const r = await c.call('connect', token ? { token } : {});
    assertConnectOk(r, r.id);
  } finally {
    c.close();
  }
}
