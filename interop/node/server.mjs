// Node ws echo server for Tachyon's interop tests: node server.mjs
//
// Listens on 127.0.0.1, port 0, accepts the subprotocol "tachyon.echo" when
// offered, and echoes every message with its type. Prints JSON lines on
// stdout: first {"port": N, "peer": ...}, then for each connection
// {"event": "ping", "payload": ...} per ping it gets and
// {"event": "close", "code": N, "reason": ..., "protocol": ...} when it
// closes. Runs until killed.
import { createRequire } from 'node:module';
import { WebSocketServer } from 'ws';

const require = createRequire(import.meta.url);
const wsVersion = require('ws/package.json').version;
const print = (v) => process.stdout.write(JSON.stringify(v) + '\n');

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  maxPayload: 1 << 20,
  handleProtocols: (protocols) => (protocols.has('tachyon.echo') ? 'tachyon.echo' : false),
});

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('ping', (data) => print({ event: 'ping', payload: data.toString() }));
  ws.on('close', (code, reason) => print({ event: 'close', code, reason: reason.toString(), protocol: ws.protocol }));
  ws.on('error', (err) => print({ event: 'error', error: String(err) }));
});

wss.on('listening', () => print({ port: wss.address().port, peer: `node ${process.version} ws ${wsVersion}` }));
wss.on('error', (err) => {
  console.error(err);
  process.exit(1);
});
