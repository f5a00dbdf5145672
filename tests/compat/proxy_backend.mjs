// A recording HTTP proxy backend (node:http) shared by the proxy compat tests.
import assert from 'node:assert/strict';
import http from 'node:http';

/** A backend: `routes[path](body, req, res)` answers; every request is recorded. */
export class Backend {
  constructor() {
    this.requests = [];
    this.connections = 0;
    this.routes = {};
    this.server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        const rec = { path: req.url, method: req.method, headers: req.headers, text, json: JSON.parse(text) };
        this.requests.push(rec);
        const route = this.routes[req.url];
        if (!route) {
          res.writeHead(404).end();
          return;
        }
        route(rec, res);
      });
    });
    this.server.on('connection', (sock) => {
      this.connections++;
      sock.on('error', () => {});
    });
  }
  async start() {
    await new Promise((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = this.server.address().port;
    this.url = `http://127.0.0.1:${this.port}`;
  }
  reply(path, obj, status = 200) {
    this.routes[path] = (rec, res) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(typeof obj === 'string' ? obj : JSON.stringify(typeof obj === 'function' ? obj(rec) : obj));
    };
  }
  take(path) {
    const i = this.requests.findIndex((r) => r.path === path);
    assert.ok(i >= 0, `no request to ${path}; got ${JSON.stringify(this.requests.map((r) => r.path))}`);
    return this.requests.splice(i, 1)[0];
  }
  async stop() {
    this.server.closeAllConnections?.();
    await new Promise((r) => this.server.close(r));
  }
}

