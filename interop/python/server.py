"""Python websockets echo server for Tachyon's interop tests.

    /usr/bin/python3 server.py

Written for websockets 10.4 (Debian 12's python3-websockets), asyncio API.
Listens on 127.0.0.1, port 0, accepts the subprotocol "tachyon.echo" when
offered, and echoes every message with its type. Prints JSON lines on
stdout: first {"port": N, "peer": ...}, then
{"event": "close", "code": N, "reason": ..., "protocol": ...} when a
connection closes. Runs until killed.
"""

import asyncio
import json
import sys

import websockets
import websockets.server


def emit(v):
    sys.stdout.write(json.dumps(v) + "\n")
    sys.stdout.flush()


async def echo(ws, path=None):
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass
    await ws.wait_closed()
    emit({"event": "close", "code": ws.close_code, "reason": ws.close_reason, "protocol": ws.subprotocol})


async def main():
    async with websockets.server.serve(
        echo, "127.0.0.1", 0, subprotocols=["tachyon.echo"], max_size=1 << 20
    ) as server:
        port = server.sockets[0].getsockname()[1]
        emit({"port": port, "peer": "python %s websockets %s" % (sys.version.split()[0], websockets.__version__)})
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main())
