// Node ws echo server for Tachyon's interop tests: node server.mjs [config]
//
// Listens on 127.0.0.1, port 0, accepts the subprotocol "tachyon.echo" when
// offered, and echoes every message with its type (a text message that
// starts with "fragment-me:" in three fragments). Prints JSON lines on
// stdout: first {"port": N, "peer": ...}, then for each connection
// {"event": "ping", "payload": ...} per ping it gets and
// {"event": "close", "code": N, "reason": ..., "protocol": ...} when it
// closes. Runs until killed.
//
// config, JSON, turns on compression: {"perMessageDeflate": {...ws options},
// "compressFrom": N (optional: compress only messages of N bytes or more)}.
// Each connection then first prints {"event": "open", "extensions": the
// response's Sec-WebSocket-Extensions, "params": what ws agreed}.
import { createRequire } from 'node:module';
import { WebSocketServer } from 'ws';

const require = createRequire(import.meta.url);
const wsVersion = require('ws/package.json').version;
const print = (v) => process.stdout.write(JSON.stringify(v) + '\n');
const config = process.argv[2] ? JSON.parse(process.argv[2]) : null;
const FRAGMENT_ME = Buffer.from('fragment-me:');

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  maxPayload: 1 << 20,
  handleProtocols: (protocols) => (protocols.has('tachyon.echo') ? 'tachyon.echo' : false),
  ...(config ? { perMessageDeflate: config.perMessageDeflate } : {}),
});

// The response's Sec-WebSocket-Extensions, from the headers ws is about to
// send, for the connection event that follows.
let responseExtensions = '';
wss.on('headers', (headers) => {
  const line = headers.find((h) => h.toLowerCase().startsWith('sec-websocket-extensions:'));
  responseExtensions = line ? line.slice(line.indexOf(':') + 1).trim() : '';
});

wss.on('connection', (ws) => {
  if (config) {
    const pmd = ws._extensions['permessage-deflate'];
    print({ event: 'open', extensions: responseExtensions, params: pmd ? pmd.params : null });
  }
  ws.on('message', (data, isBinary) => {
    if (!isBinary && data.subarray(0, FRAGMENT_ME.length).equals(FRAGMENT_ME)) {
      // Echo in three fragments, cut inside multi-byte characters.
      const cut1 = FRAGMENT_ME.length + 2;
      const cut2 = Math.floor(data.length / 2);
      ws.send(data.subarray(0, cut1), { binary: false, fin: false });
      ws.send(data.subarray(cut1, cut2), { binary: false, fin: false });
      ws.send(data.subarray(cut2), { binary: false, fin: true });
      return;
    }
    // With config.compressFrom, only messages of that size or more go
    // compressed (ws applies its own threshold only without takeover).
    const compress = config && config.compressFrom ? { compress: data.length >= config.compressFrom } : {};
    ws.send(data, { binary: isBinary, ...compress });
  });
  ws.on('ping', (data) => print({ event: 'ping', payload: data.toString() }));
  ws.on('close', (code, reason) => print({ event: 'close', code, reason: reason.toString(), protocol: ws.protocol }));
  ws.on('error', (err) => print({ event: 'error', error: String(err) }));
});

wss.on('listening', () => print({ port: wss.address().port, peer: `node ${process.version} ws ${wsVersion}` }));
wss.on('error', (err) => {
  console.error(err);
  process.exit(1);
});
