"""Interop peer for permessage-deflate (RFC 7692): Python's `websockets`
(Debian's python3-websockets, 10.4) with its per-message deflate extension,
as a client of `steam-key echo --deflate`.

    /usr/bin/python3 deflate-peer.py ws://127.0.0.1:PORT/ < spec.json > report.json

spec.json: {"messages": [case, ...], "server_no_context_takeover": bool,
"client_no_context_takeover": bool}; a case with "cuts" is sent fragmented,
with a ping between its first two fragments. Content comes from peer.py's
recipes. websockets compresses every frame it sends once the extension is
agreed; the report holds the response header, what the extension object
agreed, and a hash of each echo.
"""

import asyncio
import json
import sys

import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

from peer import DEADLINE, binary_parts, make, report, text_parts


async def run(url, spec):
    factory = ClientPerMessageDeflateFactory(
        server_no_context_takeover=spec["server_no_context_takeover"],
        client_no_context_takeover=spec["client_no_context_takeover"],
        # websockets' own default for the client (enable_client_permessage_deflate).
        compress_settings={"memLevel": 5},
    )
    # max_size=None: no client-side limit, the server's is what is tested.
    # ping_interval=None: no keepalive pings of its own.
    ws = await websockets.connect(url, max_size=None, ping_interval=None, extensions=[factory])
    out = {
        "header": ws.response_headers.get("Sec-WebSocket-Extensions"),
        "agreed": [
            {
                "name": ext.name,
                # local = this client, remote = the server.
                "client_no_context_takeover": ext.local_no_context_takeover,
                "server_no_context_takeover": ext.remote_no_context_takeover,
                "client_max_window_bits": ext.local_max_window_bits,
                "server_max_window_bits": ext.remote_max_window_bits,
            }
            for ext in ws.extensions
        ],
        "messages": [],
        "close": None,
    }

    for case in spec["messages"]:
        sent = make(case)
        pong = None
        if "cuts" in case:
            parts = (text_parts if case["kind"] == "text" else binary_parts)(sent, case["cuts"])
            waiters = []

            async def fragments():
                # One frame per part, then an empty final continuation frame;
                # a ping (never compressed, §6) after the first.
                for i, part in enumerate(parts):
                    yield part
                    if i == 0:
                        waiters.append(await ws.ping(b"between fragments"))

            await ws.send(fragments())
            pong = waiters
        else:
            await ws.send(sent)
        received = await asyncio.wait_for(ws.recv(), DEADLINE)
        entry = report(case, sent, received)
        if pong is not None:
            entry["fragments"] = len(parts) + 1
            await asyncio.wait_for(pong[0], DEADLINE)
        out["messages"].append(entry)

    await ws.close(1000, "done")
    out["close"] = {"code": ws.close_code, "reason": ws.close_reason}
    return out


def main():
    result = asyncio.run(run(sys.argv[1], json.load(sys.stdin)))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
