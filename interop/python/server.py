"""Python websockets echo server for Tachyon's interop tests.

    /usr/bin/python3 server.py [config]

Written for websockets 10.4 (Debian 12's python3-websockets), asyncio API.
Listens on 127.0.0.1, port 0, accepts the subprotocol "tachyon.echo" when
offered, and echoes every message with its type (a text message that
starts with "fragment-me:" in three fragments). Prints JSON lines on
stdout: first {"port": N, "peer": ...}, then
{"event": "close", "code": N, "reason": ..., "protocol": ...} when a
connection closes. Runs until killed.

config, JSON, is about compression: {"deflate": {...}}. An empty "deflate"
keeps websockets' default (compression="deflate"); otherwise its keys are
ServerPerMessageDeflateFactory's arguments. Each connection then first
prints {"event": "open", "extensions": the response's
Sec-WebSocket-Extensions, "params": what websockets agreed}.
"""

import asyncio
import json
import sys

import websockets
import websockets.server
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory

CONFIG = json.loads(sys.argv[1]) if len(sys.argv) > 1 else None


def emit(v):
    sys.stdout.write(json.dumps(v) + "\n")
    sys.stdout.flush()


async def echo(ws, path=None):
    if CONFIG is not None:
        emit({"event": "open", "extensions": ws.response_headers.get("Sec-WebSocket-Extensions", ""), "params": repr(ws.extensions)})
    try:
        async for message in ws:
            if isinstance(message, str) and message.startswith("fragment-me:"):
                # Echo in three fragments (send() takes an iterable).
                half = len(message) // 2
                await ws.send([message[:14], message[14:half], message[half:]])
            else:
                await ws.send(message)
    except websockets.ConnectionClosed:
        pass
    await ws.wait_closed()
    emit({"event": "close", "code": ws.close_code, "reason": ws.close_reason, "protocol": ws.subprotocol})


async def main():
    kwargs = {}
    if CONFIG and CONFIG.get("deflate"):
        kwargs["compression"] = None
        kwargs["extensions"] = [ServerPerMessageDeflateFactory(**CONFIG["deflate"])]
    async with websockets.server.serve(
        echo, "127.0.0.1", 0, subprotocols=["tachyon.echo"], max_size=1 << 20, **kwargs
    ) as server:
        port = server.sockets[0].getsockname()[1]
        emit({"port": port, "peer": "python %s websockets %s" % (sys.version.split()[0], websockets.__version__)})
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main())
