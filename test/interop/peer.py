"""Interop peer: Python's `websockets` (Debian's python3-websockets, 10.4,
asyncio API) as a client of steam-key's echo server.

    /usr/bin/python3 peer.py ws://127.0.0.1:PORT/ < spec.json > report.json

spec.json names the messages (see messages.ts); this script builds their
content from the same recipe, sends each, checks the echo byte for byte and
by type, and prints one JSON report on stdout. The TypeScript test compares
the reported SHA-256 with the one of the content it built itself.
"""

import asyncio
import hashlib
import json
import sys

import websockets

TEXT_PATTERN = "Grüße, 世界! € 😀🎉 ñ\x00 end "
BINARY_BLOCK = 65521
# A hang detector, not a speed check.
DEADLINE = 60


def make_text(size):
    pattern_bytes = len(TEXT_PATTERN.encode("utf-8"))
    whole = size // pattern_bytes
    parts = [TEXT_PATTERN * whole]
    used = whole * pattern_bytes
    for ch in TEXT_PATTERN:
        n = len(ch.encode("utf-8"))
        if used + n > size:
            break
        parts.append(ch)
        used += n
    parts.append("." * (size - used))
    return "".join(parts)


def make_binary(size):
    block = bytearray(min(size, BINARY_BLOCK))
    x = 1
    for i in range(len(block)):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        block[i] = (x >> 16) & 0xFF
    block = bytes(block)
    if size <= BINARY_BLOCK:
        return block
    return (block * (size // BINARY_BLOCK + 1))[:size]


def make(case):
    return make_text(case["size"]) if case["kind"] == "text" else make_binary(case["size"])


def as_bytes(message):
    return message.encode("utf-8") if isinstance(message, str) else message


def report(case, sent, received):
    data = as_bytes(received)
    return {
        "name": case["name"],
        "kind": "text" if isinstance(received, str) else "binary",
        "length": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "equal": type(received) is type(sent) and received == sent,
    }


def text_parts(text, cuts):
    """websockets fragments str parts, so each cut moves back to a character start."""
    data = text.encode("utf-8")
    parts, start = [], 0
    for cut in cuts + [len(data)]:
        while 0 < cut < len(data) and (data[cut] & 0xC0) == 0x80:
            cut -= 1
        cut = max(cut, start)
        parts.append(data[start:cut].decode("utf-8"))
        start = cut
    return parts


def binary_parts(data, cuts):
    bounds = [0] + cuts + [len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


async def run(url, spec):
    out = {"messages": [], "fragmented": [], "pings": [], "close": None, "extensions": None}
    # max_size=None: no client-side limit, the server's is what is tested.
    # ping_interval=None: no keepalive pings of its own, so every pong is ours.
    ws = await websockets.connect(url, max_size=None, ping_interval=None)
    out["extensions"] = ws.response_headers.get("Sec-WebSocket-Extensions")

    for case in spec["messages"]:
        sent = make(case)
        await ws.send(sent)
        received = await asyncio.wait_for(ws.recv(), DEADLINE)
        out["messages"].append(report(case, sent, received))

    for case in spec["fragmented"]:
        sent = make(case)
        if case["kind"] == "text":
            parts = text_parts(sent, case["cuts"])
        else:
            parts = binary_parts(sent, case["cuts"])
        ping_payload = ("ping inside " + case["name"]).encode("utf-8")
        waiters = []

        async def fragments():
            # An (async) iterable is sent as one fragmented message: one frame
            # per part, then an empty final continuation frame. A ping goes
            # out between the first two fragments (§5.4 allows control frames
            # in the middle of a fragmented message).
            for i, part in enumerate(parts):
                yield part
                if i == 0:
                    waiters.append(await ws.ping(ping_payload))

        await ws.send(fragments())
        received = await asyncio.wait_for(ws.recv(), DEADLINE)
        entry = report(case, sent, received)
        entry["fragments"] = len(parts) + 1
        try:
            await asyncio.wait_for(waiters[0], DEADLINE)
            entry["pongBetweenFragments"] = True
        except asyncio.TimeoutError:
            entry["pongBetweenFragments"] = False
        out["fragmented"].append(entry)

    for payload_hex in spec["pings"]:
        payload = bytes.fromhex(payload_hex)
        # The waiter resolves only on a pong with this exact payload.
        pong_waiter = await ws.ping(payload)
        try:
            await asyncio.wait_for(pong_waiter, DEADLINE)
            answered = True
        except asyncio.TimeoutError:
            answered = False
        out["pings"].append({"payload": payload_hex, "answered": answered})

    await ws.close(1000, "done")
    # close_code/close_reason: what the server's Close frame carried.
    out["close"] = {"code": ws.close_code, "reason": ws.close_reason}
    return out


def main():
    url = sys.argv[1]
    spec = json.load(sys.stdin)
    result = asyncio.run(run(url, spec))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
