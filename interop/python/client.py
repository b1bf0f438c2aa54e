"""Python websockets client for Tachyon's interop tests.

    /usr/bin/python3 client.py ws://host:port/path [subprotocol]

Written for websockets 10.4 (Debian 12's python3-websockets), asyncio API.
Sends text (multi-byte UTF-8 included) and binary messages of each size,
checks every echo byte for byte, pings with a payload and awaits the matching
pong, closes with 1000 and a reason and checks the code echoed. Prints one
JSON line: {peer, ok, checks: [{name, ok, detail}], error, closeCode,
closeReason}. Exits 0 when every check passed, 1 otherwise.
"""

import asyncio
import json
import sys
import traceback

import websockets
import websockets.client

SIZES = [0, 1, 125, 126, 65535, 65536, 200000]
STEP_TIMEOUT = 10.0

result = {
    "peer": "python %s websockets %s" % (sys.version.split()[0], websockets.__version__),
    "ok": False,
    "checks": [],
    "error": "",
    "closeCode": 0,
    "closeReason": "",
}


def check(name, ok, detail=""):
    result["checks"].append({"name": name, "ok": bool(ok), "detail": "" if ok else str(detail)})


def text_payload(n):
    """A str of exactly n UTF-8 bytes mixing one- to four-byte characters."""
    cycle = ["a", "é", "€", "😀", "Z", "ñ", "中", "𝄞"]
    out, size = [], 0
    while True:
        for c in cycle:
            k = len(c.encode("utf-8"))
            if size + k > n:
                return "".join(out) + "x" * (n - size)
            out.append(c)
            size += k


def binary_payload(n):
    return bytes((i * 7 + (i >> 8) + (i >> 16)) & 0xFF for i in range(n))


def first_diff(want, got):
    if len(want) != len(got):
        return "length %d, want %d" % (len(got), len(want))
    for i, (a, b) in enumerate(zip(want, got)):
        if a != b:
            return "byte %d: 0x%02x, want 0x%02x" % (i, b, a)
    return "equal"


async def run(url, protocol):
    kwargs = {"open_timeout": STEP_TIMEOUT, "close_timeout": STEP_TIMEOUT, "max_size": 1 << 20}
    if protocol:
        kwargs["subprotocols"] = [protocol]
    ws = await websockets.client.connect(url, **kwargs)
    try:
        if protocol:
            check("subprotocol", ws.subprotocol == protocol, "got %r" % ws.subprotocol)
        for n in SIZES:
            s = text_payload(n)
            await ws.send(s)
            m = await asyncio.wait_for(ws.recv(), STEP_TIMEOUT)
            if isinstance(m, str):
                check("text-%d" % n, m == s, first_diff(s.encode("utf-8"), m.encode("utf-8")))
            else:
                check("text-%d" % n, False, "echo came back binary")
        for n in SIZES:
            b = binary_payload(n)
            await ws.send(b)
            m = await asyncio.wait_for(ws.recv(), STEP_TIMEOUT)
            if isinstance(m, bytes):
                check("binary-%d" % n, m == b, first_diff(b, m))
            else:
                check("binary-%d" % n, False, "echo came back text")
        # ping() returns a waiter that completes when the pong with the same
        # payload arrives.
        waiter = await ws.ping("py-ping-✓".encode("utf-8"))
        try:
            await asyncio.wait_for(waiter, STEP_TIMEOUT)
            check("ping-pong", True)
        except asyncio.TimeoutError:
            check("ping-pong", False, "no matching pong within %ss" % STEP_TIMEOUT)
    finally:
        await ws.close(1000, "python done")
    result["closeCode"] = ws.close_code or 0
    result["closeReason"] = ws.close_reason or ""
    check("close-1000", ws.close_code == 1000, "close code %r" % ws.close_code)


def main():
    url = sys.argv[1]
    protocol = sys.argv[2] if len(sys.argv) > 2 else ""
    try:
        asyncio.run(asyncio.wait_for(run(url, protocol), 60))
    except Exception:
        result["error"] = traceback.format_exc()
    result["ok"] = not result["error"] and bool(result["checks"]) and all(c["ok"] for c in result["checks"])
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
