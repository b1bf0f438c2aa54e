// Node ws client for Tachyon's interop tests:
//
//	node client.mjs ws://host:port/path [subprotocol [config]]
//
// Sends text (multi-byte UTF-8 included) and binary messages of each size,
// checks every echo byte for byte, pings with a payload and checks the pong,
// closes with 1000 and a reason and checks the code echoed. Prints one JSON
// line: {peer, ok, checks: [{name, ok, detail}], error, closeCode, closeReason}.
// Exits 0 when every check passed, 1 otherwise.
//
// config, JSON, turns on compression: {"perMessageDeflate": {...ws options},
// "run": K, "compressFrom": N (optional)}. The client then offers permessage-deflate with those options,
// checks that the server accepted it (check "deflate-negotiated"), reports
// the response's Sec-WebSocket-Extensions as "extensions" and what ws agreed
// as "deflateParams", and first sends K similar JSON-like messages (check
// "similar-run"), each echoed before the next goes, and after the sizes
// the window probe twice (check "far-repeats") and a text message in three
// compressed fragments (check "fragmented").
import { createRequire } from 'node:module';
import WebSocket from 'ws';

const require = createRequire(import.meta.url);
const wsVersion = require('ws/package.json').version;

const SIZES = [0, 1, 125, 126, 65535, 65536, 200000];
const STEP_TIMEOUT_MS = 10000;

const url = process.argv[2];
const protocol = process.argv[3]; // optional subprotocol to offer
const config = process.argv[4] ? JSON.parse(process.argv[4]) : null;

// sendOptions are ws.send's options for a whole message of n bytes: with
// config.compressFrom, only messages of that size or more are compressed
// (ws applies its own threshold only without context takeover).
function sendOptions(n) {
  return config && config.compressFrom ? { compress: n >= config.compressFrom } : {};
}
const result = { peer: `node ${process.version} ws ${wsVersion}`, ok: false, checks: [], error: '', closeCode: 0, closeReason: '' };

function check(name, ok, detail = '') {
  result.checks.push({ name, ok: !!ok, detail: ok ? '' : String(detail) });
}

// textPayload returns a string of exactly n UTF-8 bytes mixing one- to
// four-byte characters, padded with ASCII.
function textPayload(n) {
  const cycle = ['a', 'é', '€', '😀', 'Z', 'ñ', '中', '𝄞'];
  let s = '';
  let len = 0;
  outer: for (;;) {
    for (const c of cycle) {
      const l = Buffer.byteLength(c);
      if (len + l > n) break outer;
      s += c;
      len += l;
    }
  }
  return s + 'x'.repeat(n - len);
}

// runMessage returns the i-th of a run of similar messages: JSON whose only
// change from one to the next is the sequence number, around a body that
// does not compress on its own (xorshift32 letters), so that only context
// takeover shrinks the later ones. Even ones are 199 bytes, odd ones 99
// (the body cut to 77 letters): a threshold between the two sends every
// other one uncompressed, which must stay out of the windows.
const RUN_BODY = (() => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let x = 2463534242;
  let s = '';
  for (let j = 0; j < 177; j++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    s += alphabet[x % 62];
  }
  return s;
})();

function runMessage(i) {
  return `{"seq":${String(i).padStart(4, '0')},"body":"${i % 2 ? RUN_BODY.slice(0, 77) : RUN_BODY}"}`;
}

// farPayload returns the message that probes compression windows: 64000
// pseudo-random letters a-p (xorshift32) with a 32-byte copy from 100 bytes
// back every 128 bytes (matches within any window, so that a compressor does
// not just store the lot), into which 64-byte copies of earlier bytes are
// then pasted at distances just inside and just past every window size (from
// 33000 on, every 400 bytes). A compressor must not refer back farther than its
// negotiated window; the inflating side's zlib, with that window, fails on
// one that does. It goes twice in a row: with context takeover the second
// copy repeats the first from 64000 bytes back, past any window.
const FAR_DISTANCES = [200, 255, 256, 257, 300, 511, 512, 513, 1000, 1023, 1024, 1025, 2047, 2048, 2049,
  4095, 4096, 4097, 8191, 8192, 8193, 16383, 16384, 16385, 32767, 32768, 32769];
function farPayload() {
  const n = 64000;
  const b = new Uint8Array(n);
  let x = 88172645;
  for (let i = 0; i < n; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    b[i] = 0x61 + (x & 15);
  }
  for (let p = 200; p + 32 <= n; p += 128) b.copyWithin(p, p - 100, p - 68);
  for (let k = 0, p = 33000; p + 64 <= n; k++, p += 400) {
    const d = FAR_DISTANCES[k % FAR_DISTANCES.length];
    b.copyWithin(p, p - d, p - d + 64);
  }
  return b;
}

function binaryPayload(n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >> 8) + (i >> 16)) & 0xff;
  return b;
}

// firstDiff describes where two buffers differ.
function firstDiff(a, b) {
  if (a.length !== b.length) return `length ${b.length}, want ${a.length}`;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return `byte ${i}: 0x${b[i].toString(16)}, want 0x${a[i].toString(16)}`;
  }
  return 'equal';
}

function withTimeout(promise, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout waiting for ${what}`)), STEP_TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function run() {
  let ws;
  if (config) {
    ws = new WebSocket(url, protocol ? [protocol] : [], { perMessageDeflate: config.perMessageDeflate });
    ws.on('upgrade', (res) => { result.extensions = res.headers['sec-websocket-extensions'] || ''; });
  } else {
    ws = protocol ? new WebSocket(url, protocol) : new WebSocket(url);
  }
  const inbox = [];
  const waiters = [];
  let ended = null; // once closed: why, for whoever waits for a message
  const deliver = (m) => (waiters.length ? waiters.shift().res(m) : inbox.push(m));
  ws.on('message', (data, isBinary) => deliver({ data, isBinary }));
  const next = (what) => withTimeout(new Promise((res, rej) => {
    if (inbox.length) res(inbox.shift());
    else if (ended) rej(new Error(`${ended} while waiting for ${what}`));
    else waiters.push({ res, rej });
  }), what);
  const closed = new Promise((res) => ws.on('close', (code, reason) => {
    ended = `connection closed (${code} ${JSON.stringify(reason.toString())})`;
    for (const w of waiters.splice(0)) w.rej(new Error(ended));
    res({ code, reason: reason.toString() });
  }));
  const failed = new Promise((_, reject) => ws.on('error', reject));
  failed.catch(() => {});

  await withTimeout(Promise.race([new Promise((res) => ws.once('open', res)), failed]), 'open');
  if (protocol) check('subprotocol', ws.protocol === protocol, `got ${JSON.stringify(ws.protocol)}`);

  if (config) {
    const pmd = ws._extensions['permessage-deflate']; // ws keeps what it agreed here
    result.deflateParams = pmd ? pmd.params : null;
    check('deflate-negotiated', ws.extensions === 'permessage-deflate' && pmd,
      `extensions ${JSON.stringify(ws.extensions)}, response ${JSON.stringify(result.extensions)}`);
    let bad = '';
    for (let i = 0; i < (config.run || 0); i++) {
      const s = runMessage(i);
      ws.send(s, sendOptions(Buffer.byteLength(s)));
      const m = await next(`run-${i} echo`);
      if (!bad && (m.isBinary || m.data.toString('utf8') !== s)) bad = `message ${i}: ${m.isBinary ? 'came back binary' : firstDiff(Buffer.from(s), m.data)}`;
    }
    check('similar-run', !bad, bad);
  }

  for (const n of SIZES) {
    const s = textPayload(n);
    ws.send(s, sendOptions(Buffer.byteLength(s)));
    const m = await next(`text-${n} echo`);
    const want = Buffer.from(s, 'utf8');
    check(`text-${n}`, !m.isBinary && m.data.equals(want) && m.data.toString('utf8') === s,
      m.isBinary ? 'echo came back binary' : firstDiff(want, m.data));
  }
  for (const n of SIZES) {
    const b = binaryPayload(n);
    ws.send(b, sendOptions(b.length));
    const m = await next(`binary-${n} echo`);
    check(`binary-${n}`, m.isBinary && m.data.equals(b), m.isBinary ? firstDiff(b, m.data) : 'echo came back text');
  }

  if (config) {
    const far = Buffer.from(farPayload());
    let bad = '';
    for (let i = 0; i < 2; i++) {
      ws.send(far, sendOptions(far.length));
      const m = await next(`far-repeats ${i} echo`);
      if (!bad && !(m.isBinary && m.data.equals(far))) bad = `copy ${i}: ${m.isBinary ? firstDiff(far, m.data) : 'came back text'}`;
    }
    check('far-repeats', !bad, bad);

    // A compressed text message in three fragments, cut inside multi-byte
    // characters (RSV1 on the first frame only, one deflate stream).
    const whole = Buffer.from(textPayload(30000), 'utf8');
    ws.send(whole.subarray(0, 2), { binary: false, fin: false });
    ws.send(whole.subarray(2, 20001), { binary: false, fin: false });
    ws.send(whole.subarray(20001), { binary: false, fin: true });
    const m = await next('fragmented echo');
    check('fragmented', !m.isBinary && m.data.equals(whole), m.isBinary ? 'came back binary' : firstDiff(whole, m.data));
  }

  const pingPayload = Buffer.from('node-ping-✓');
  const pong = new Promise((res) => ws.once('pong', res));
  ws.ping(pingPayload);
  const got = await withTimeout(pong, 'pong');
  check('ping-pong', got.equals(pingPayload), `pong payload ${JSON.stringify(got.toString())}`);

  ws.close(1000, 'node done');
  const c = await withTimeout(closed, 'close');
  result.closeCode = c.code;
  result.closeReason = c.reason;
  check('close-1000', c.code === 1000, `close code ${c.code}`);
}

try {
  await run();
} catch (e) {
  result.error = String(e && e.stack ? e.stack : e);
}
result.ok = !result.error && result.checks.length > 0 && result.checks.every((c) => c.ok);
process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(result.ok ? 0 : 1));
