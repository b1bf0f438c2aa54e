"""Python websockets client for Tachyon's interop tests.

    /usr/bin/python3 client.py ws://host:port/path [subprotocol [config]]

Written for websockets 10.4 (Debian 12's python3-websockets), asyncio API.
Sends text (multi-byte UTF-8 included) and binary messages of each size,
checks every echo byte for byte, pings with a payload and awaits the matching
pong, closes with 1000 and a reason and checks the code echoed. Prints one
JSON line: {peer, ok, checks: [{name, ok, detail}], error, closeCode,
closeReason}. Exits 0 when every check passed, 1 otherwise.

config, JSON, is about compression: {"deflate": {...}, "run": K}. An empty
"deflate" keeps websockets' default (compression="deflate"); otherwise its
keys are ClientPerMessageDeflateFactory's arguments. The client then checks
that the server accepted permessage-deflate (check "deflate-negotiated"),
reports the response's Sec-WebSocket-Extensions as "extensions" and what
websockets agreed as "deflateParams", and first sends K similar JSON-like
messages (check "similar-run"), each echoed before the next goes, and
after the sizes the window probe twice (check "far-repeats") and a text
message in three compressed fragments (check "fragmented").
"""

import asyncio
import json
import sys
import traceback

import websockets
import websockets.client
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory, PerMessageDeflate

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


def run_body():
    """177 letters that do not compress on their own (xorshift32)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    x, out = 2463534242, []
    for _ in range(177):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out.append(alphabet[x % 62])
    return "".join(out)


RUN_BODY = run_body()


def run_message(i):
    """The i-th of a run of similar messages: only the sequence number changes;
    odd ones have the body cut to 77 letters (99 bytes instead of 199)."""
    return '{"seq":%04d,"body":"%s"}' % (i, RUN_BODY[:77] if i % 2 else RUN_BODY)


FAR_DISTANCES = [200, 255, 256, 257, 300, 511, 512, 513, 1000, 1023, 1024, 1025, 2047, 2048, 2049,
                 4095, 4096, 4097, 8191, 8192, 8193, 16383, 16384, 16385, 32767, 32768, 32769]


def far_payload():
    """The window probe: 64000 xorshift32 letters a-p, with a 32-byte copy from
    100 bytes back every 128 bytes, into which 64-byte copies of earlier bytes
    are then pasted at distances just inside and just past every window size
    (from 33000 on, every 400 bytes)."""
    n = 64000
    b = bytearray(n)
    x = 88172645
    for i in range(n):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        b[i] = 0x61 + (x & 15)
    for p in range(200, n - 32 + 1, 128):
        b[p:p + 32] = b[p - 100:p - 68]
    k, p = 0, 33000
    while p + 64 <= n:
        d = FAR_DISTANCES[k % len(FAR_DISTANCES)]
        b[p:p + 64] = b[p - d:p - d + 64]
        k, p = k + 1, p + 400
    return bytes(b)


def binary_payload(n):
    return bytes((i * 7 + (i >> 8) + (i >> 16)) & 0xFF for i in range(n))


def first_diff(want, got):
    if len(want) != len(got):
        return "length %d, want %d" % (len(got), len(want))
    for i, (a, b) in enumerate(zip(want, got)):
        if a != b:
            return "byte %d: 0x%02x, want 0x%02x" % (i, b, a)
    return "equal"


async def run(url, protocol, config):
    kwargs = {"open_timeout": STEP_TIMEOUT, "close_timeout": STEP_TIMEOUT, "max_size": 1 << 20}
    if protocol:
        kwargs["subprotocols"] = [protocol]
    if config and config.get("deflate"):
        kwargs["compression"] = None
        kwargs["extensions"] = [ClientPerMessageDeflateFactory(**config["deflate"])]
    ws = await websockets.client.connect(url, **kwargs)
    try:
        if protocol:
            check("subprotocol", ws.subprotocol == protocol, "got %r" % ws.subprotocol)
        if config is not None:
            result["extensions"] = ws.response_headers.get("Sec-WebSocket-Extensions", "")
            result["deflateParams"] = repr(ws.extensions)
            check(
                "deflate-negotiated",
                any(isinstance(e, PerMessageDeflate) for e in ws.extensions),
                "extensions %r, response %r" % (ws.extensions, result["extensions"]),
            )
            bad = ""
            for i in range(config.get("run", 0)):
                s = run_message(i)
                await ws.send(s)
                m = await asyncio.wait_for(ws.recv(), STEP_TIMEOUT)
                if not bad and m != s:
                    bad = "message %d: %s" % (i, "came back binary" if isinstance(m, bytes) else first_diff(s.encode(), m.encode()))
            check("similar-run", not bad, bad)
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
        if config is not None:
            far, bad = far_payload(), ""
            for i in range(2):
                await ws.send(far)
                m = await asyncio.wait_for(ws.recv(), STEP_TIMEOUT)
                if not bad and m != far:
                    bad = "copy %d: %s" % (i, first_diff(far, m) if isinstance(m, bytes) else "came back text")
            check("far-repeats", not bad, bad)
            # A compressed text message in three fragments (send() takes an
            # iterable: RSV1 on the first frame only, one deflate stream).
            whole = text_payload(30000)
            await ws.send([whole[:1], whole[1:9000], whole[9000:]])
            m = await asyncio.wait_for(ws.recv(), STEP_TIMEOUT)
            check("fragmented", m == whole, "came back binary" if isinstance(m, bytes) else first_diff(whole.encode(), m.encode()))
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
    config = json.loads(sys.argv[3]) if len(sys.argv) > 3 else None
    try:
        asyncio.run(asyncio.wait_for(run(url, protocol, config), 60))
    except Exception:
        result["error"] = traceback.format_exc()
    result["ok"] = not result["error"] and bool(result["checks"]) and all(c["ok"] for c in result["checks"])
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
