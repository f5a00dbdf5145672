// A minimal RFC 6455 client over plain TCP for the WebSocket compat tests: it keeps every
// frame as the server sent it (RSV1, opcodes, close payloads), which the `ws` package hides.
import assert from 'node:assert/strict';
import net from 'node:net';
import zlib from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { until, sleep, Waitable } from './harness.mjs';

export const DEFLATE_RESPONSE = 'permessage-deflate; server_no_context_takeover; client_no_context_takeover';
export const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

export function deflate(buf) {
  const out = zlib.deflateRawSync(Buffer.from(buf), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  assert.deepEqual(out.subarray(out.length - 4), TAIL);
  return out.subarray(0, out.length - 4);
}
export function inflate(buf) {
  return zlib.inflateRawSync(Buffer.concat([buf, TAIL]), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
}

/** A minimal RFC 6455 client over TCP that keeps every received frame as it came. */
export class WireClient extends Waitable {
  static open(port, { path = '/connection/websocket', query = '', extensions, origin, headers = {} } = {}) {
    return new Promise((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1');
      const c = new WireClient(sock);
      const timer = setTimeout(() => reject(new Error('handshake timeout')), 5000);
      sock.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      sock.once('connect', () => {
        let req =
          `GET ${path}${query} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
          `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n`;
        if (extensions !== undefined) req += `Sec-WebSocket-Extensions: ${extensions}\r\n`;
        if (origin !== undefined) req += `Origin: ${origin}\r\n`;
        for (const [k, v] of Object.entries(headers)) req += `${k}: ${v}\r\n`;
        sock.write(req + '\r\n');
      });
      c.onHandshake = (err) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(c);
      };
    });
  }

  constructor(sock) {
    super();
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.handshakeDone = false;
    this.frames = [];
    this.ended = false;
    sock.on('data', (d) => this._data(d));
    sock.on('close', () => {
      this.ended = true;
      this._notify();
    });
    sock.on('error', () => {});
  }

  _data(d) {
    this.buf = Buffer.concat([this.buf, d]);
    if (!this.handshakeDone) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buf.subarray(0, end).toString('latin1').split('\r\n');
      this.status = Number(head[0].split(' ')[1]);
      this.headers = {};
      for (const line of head.slice(1)) {
        const i = line.indexOf(':');
        this.headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      this.buf = this.buf.subarray(end + 4);
      this.handshakeDone = true;
      this.onHandshake(this.status === 101 ? null : Object.assign(new Error(`HTTP ${this.status}`), { status: this.status }));
      if (this.status !== 101) return;
    }
    for (;;) {
      if (this.buf.length < 2) break;
      const b0 = this.buf[0];
      const b1 = this.buf[1];
      let len = b1 & 0x7f;
      let pos = 2;
      if (len === 126) {
        if (this.buf.length < 4) break;
        len = this.buf.readUInt16BE(2);
        pos = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) break;
        len = Number(this.buf.readBigUInt64BE(2));
        pos = 10;
      }
      assert.equal(b1 & 0x80, 0, 'server frames are unmasked');
      if (this.buf.length < pos + len) break;
      const payload = Buffer.from(this.buf.subarray(pos, pos + len));
      this.buf = this.buf.subarray(pos + len);
      this.frames.push({ fin: !!(b0 & 0x80), rsv1: !!(b0 & 0x40), rsv23: b0 & 0x30, opcode: b0 & 0x0f, payload, taken: false });
    }
    this._notify();
  }

  /** Next untaken frame matching pred. */
  frame(pred = () => true, timeoutMs = 5000, label = 'frame') {
    return this._wait(
      () => {
        const f = this.frames.find((x) => !x.taken && pred(x));
        if (f) f.taken = true;
        return f;
      },
      () => this.ended && 'connection ended',
      timeoutMs, label, () => `frames: ${this.dump()}`,
    );
  }

  /** Next data frame, decoded to text (inflated when RSV1 is set). */
  async message(pred = () => true, timeoutMs = 5000, label = 'message') {
    const f = await this.frame((x) => (x.opcode === 1 || x.opcode === 2) && pred(x), timeoutMs, label);
    return { ...f, text: (f.rsv1 ? inflate(f.payload) : f.payload).toString() };
  }

  async close(timeoutMs = 5000) {
    const f = await this.frame((x) => x.opcode === 8, timeoutMs, 'close frame');
    return { code: f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005, reason: f.payload.subarray(2).toString() };
  }

  waitEnd(timeoutMs = 5000) {
    return until(() => this.ended, timeoutMs, 'TCP end');
  }

  sendFrame(opcode, payload, { rsv1 = false, fin = true } = {}) {
    payload = Buffer.from(payload);
    const mask = randomBytes(4);
    let head;
    if (payload.length < 126) {
      head = Buffer.from([0, 0x80 | payload.length]);
    } else if (payload.length < 65536) {
      head = Buffer.alloc(4);
      head[1] = 0x80 | 126;
      head.writeUInt16BE(payload.length, 2);
    } else {
      head = Buffer.alloc(10);
      head[1] = 0x80 | 127;
      head.writeBigUInt64BE(BigInt(payload.length), 2);
    }
    head[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
    const masked = Buffer.alloc(payload.length);
    for (let i = 0; i < payload.length; i++) masked[i] = payload[i] ^ mask[i & 3];
    this.sock.write(Buffer.concat([head, mask, masked]));
  }

  sendText(text, { compress = false } = {}) {
    this.sendFrame(1, compress ? deflate(text) : Buffer.from(text), { rsv1: compress });
  }

  dump() {
    return JSON.stringify(this.frames.map((f) => ({ op: f.opcode, rsv1: f.rsv1, len: f.payload.length })));
  }

  destroy() {
    this.sock.destroy();
  }
}

export function wire(s, port, opts) {
  return WireClient.open(port, opts).then((c) => {
    s.defer(() => c.destroy());
    return c;
  });
}


/**
 * A subscribed wire client stops reading while `server` publishes 40 × 512 KiB to `channel`:
 * the write deadline must drop it — only what the kernel buffered arrives (pushes are text
 * frames starting with `pushPrefix`) and no close frame can be written — and the server stays
 * healthy. The server's queue limit must be large enough that 3008 cannot come first.
 */
export async function assertDroppedByWriteDeadline(server, c, channel, pushPrefix) {
  c.sock.pause();
  const n = 40;
  const data = { blob: 'b'.repeat(512 * 1024) };
  for (let i = 0; i < n; i++) await server.apiOk('publish', { channel, data });
  await sleep(2500);
  c.sock.resume();
  await c.waitEnd(15000);
  const pushes = c.frames.filter((f) => f.opcode === 1 && f.payload.toString().startsWith(pushPrefix)).length;
  assert.ok(pushes < n, `only what the kernel buffered arrives: ${pushes} of ${n}`);
  assert.equal(c.frames.filter((f) => f.opcode === 8).length, 0, 'the close frame cannot be written');
  assert.equal((await server.health()).status, 200);
}
