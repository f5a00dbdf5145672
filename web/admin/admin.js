// Gyre admin UI: plain JS over <prefix>/admin/{settings,auth,api} (Centrifugo's admin
// endpoints) and the live tail WebSocket <prefix>/admin/connection/websocket (Gyre).
'use strict';
const $ = (id) => document.getElementById(id);
const base = new URL('.', location.href);
let token = sessionStorage.getItem('gyre-admin-token') || '';
let insecure = false;
let tailSocket = null;

function show(loggedIn) {
  $('login').hidden = loggedIn;
  $('app').hidden = !loggedIn;
  $('logout').hidden = !loggedIn || insecure;
  if (loggedIn) refresh();
}

async function call(method, params) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = 'token ' + token;
  const resp = await fetch(new URL('admin/api', base), {
    method: 'POST', headers, body: JSON.stringify({ method, params: params || {} }),
  });
  if (resp.status === 401) { logout(); throw new Error('unauthorized'); }
  if (!resp.ok) throw new Error('HTTP ' + resp.status);
  const reply = JSON.parse((await resp.text()).split('\n')[0]);
  if (reply.error) throw new Error(reply.error.code + ': ' + reply.error.message);
  return reply.result || {};
}

function output(value) {
  $('result').textContent = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

async function run(fn) {
  try { output(await fn()); } catch (e) { output('error: ' + e.message); }
}

function uptime(s) {
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return (h ? h + 'h ' : '') + m + 'm ' + (s % 60) + 's';
}

async function refresh() {
  try {
    const info = await call('info');
    const rows = (info.nodes || []).map((n) => {
      const tr = document.createElement('tr');
      for (const v of [n.name, n.version, n.num_clients || 0, n.num_users || 0,
        n.num_subs || 0, n.num_channels || 0, uptime(n.uptime || 0)]) {
        const td = document.createElement('td'); td.textContent = v; tr.append(td);
      }
      return tr;
    });
    $('nodes').tBodies[0].replaceChildren(...rows);
    const chans = (await call('channels')).channels || {};
    $('channels').replaceChildren(...Object.keys(chans).sort().map((name) => {
      const li = document.createElement('li');
      const a = document.createElement('a');
      a.href = '#'; a.textContent = name;
      a.onclick = (e) => { e.preventDefault(); $('channel').value = name; };
      li.append(a, ' (' + chans[name].num_clients + ' clients)');
      return li;
    }));
  } catch (e) { output('error: ' + e.message); }
}

function logout() {
  token = ''; sessionStorage.removeItem('gyre-admin-token');
  stopTail(); show(false);
}

function stopTail() {
  if (tailSocket) { tailSocket.onclose = null; tailSocket.close(); tailSocket = null; }
  $('tail-state').textContent = '';
}

function tailLine(text) {
  const li = document.createElement('li');
  li.textContent = text;
  $('tail-log').append(li);
  while ($('tail-log').children.length > 200) $('tail-log').firstChild.remove();
}

function startTail() {
  stopTail();
  const channel = $('channel').value.trim();
  if (!channel) return;
  const url = new URL('admin/connection/websocket', base);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('channel', channel);
  if (token) url.searchParams.set('token', token);
  const ws = new WebSocket(url);
  tailSocket = ws;
  $('tail-log').replaceChildren();
  $('tail-state').textContent = '(connecting to ' + channel + ')';
  ws.onopen = () => ws.send(JSON.stringify({ id: 1, connect: { name: 'gyre-admin' } }));
  ws.onmessage = (ev) => {
    for (const line of String(ev.data).split('\n')) {
      if (!line) continue;
      const msg = JSON.parse(line);
      if (Object.keys(msg).length === 0) { ws.send('{}'); continue; } // ping -> pong
      if (msg.id === 1 && msg.connect) $('tail-state').textContent = '(live: ' + channel + ')';
      if (msg.id === 1 && msg.error) $('tail-state').textContent = '(error ' + msg.error.code + ': ' + msg.error.message + ')';
      const pub = msg.push && msg.push.pub;
      if (pub) tailLine((pub.offset ? '#' + pub.offset + ' ' : '') + JSON.stringify(pub.data));
    }
  };
  ws.onclose = (ev) => {
    $('tail-state').textContent = '(closed ' + ev.code + (ev.reason ? ': ' + ev.reason : '') + ')';
    tailSocket = null;
  };
}

$('login').onsubmit = async (e) => {
  e.preventDefault();
  $('login-error').textContent = '';
  const resp = await fetch(new URL('admin/auth', base), {
    method: 'POST', body: new URLSearchParams({ password: $('password').value }),
  });
  if (!resp.ok) {
    $('login-error').textContent = 'Login refused (HTTP ' + resp.status + ')';
    return;
  }
  token = (await resp.json()).token;
  sessionStorage.setItem('gyre-admin-token', token);
  $('password').value = '';
  show(true);
};
$('logout').onclick = logout;
$('refresh').onclick = refresh;
$('presence').onclick = () => run(() => call('presence', { channel: $('channel').value.trim() }));
$('history').onclick = () => run(() => call('history', { channel: $('channel').value.trim(), limit: 20, reverse: true }));
$('tail').onclick = startTail;
$('publish').onclick = () => run(() => {
  let data;
  try { data = JSON.parse($('data').value); } catch (e) { throw new Error('data is not JSON: ' + e.message); }
  return call('publish', { channel: $('channel').value.trim(), data });
});
$('disconnect').onclick = () => run(() => call('disconnect', { user: $('user').value.trim() }));

fetch(new URL('admin/settings', base)).then((r) => r.json()).then((s) => {
  insecure = !!s.insecure;
  show(insecure || !!token);
}).catch(() => show(false));
