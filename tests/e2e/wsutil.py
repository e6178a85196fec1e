"""WebSocket helpers for the stream tests: an asyncio client (python3-websockets) and a raw-socket client
that can stop reading, stop answering pings, and read the close code itself."""
import asyncio
import base64
import json
import os
import socket
import struct

import websockets


async def collect(url, until_type="complete", timeout=60, on_message=None, max_messages=100000):
    """Connects, returns every message up to and including the first of `until_type`."""
    messages = []
    async with websockets.connect(url, max_size=None, max_queue=None, ping_interval=None) as ws:
        async def loop():
            while len(messages) < max_messages:
                m = json.loads(await ws.recv())
                messages.append(m)
                if on_message:
                    await on_message(m, ws)
                if m["type"] == until_type and (until_type != "status" or m["seq"] > 0):
                    return
        await asyncio.wait_for(loop(), timeout)
    return messages


class RawClient:
    """A WebSocket client on a plain socket: the test decides when (and whether) to read."""

    def __init__(self, port, path="/api/v1/pipeline/stream", rcvbuf=None, host="127.0.0.1", source=None,
                 headers=None):
        """`source`: the local address to connect from; `headers`: extra request headers (name -> value)."""
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        if source:
            self.sock.bind((source, 0))
        self.sock.connect((host, port))
        key = base64.b64encode(os.urandom(16)).decode()
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           f"Sec-WebSocket-Version: 13\r\n{extra}\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            data = self.sock.recv(4096)
            if not data:
                raise ConnectionError("closed during the handshake")
            self.buf += data
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        self.status = int(head.split(b" ")[1])

    def _read(self, n):
        while len(self.buf) < n:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed")
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def frame(self):
        """The next frame as (opcode, payload)."""
        b0, b1 = self._read(2)
        assert b1 & 0x80 == 0, "server frames must not be masked"
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read(8))[0]
        return b0 & 0x0F, self._read(n)

    def messages_until_close(self):
        """Reads everything: the text messages (parsed) and the close code (None if the TCP just ended)."""
        texts, code = [], None
        try:
            while True:
                op, payload = self.frame()
                if op == 0x1:
                    texts.append(json.loads(payload))
                elif op == 0x8:
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                    break
        except (ConnectionError, socket.timeout, OSError):
            pass
        return texts, code

    def send(self, opcode, payload=b""):
        mask = os.urandom(4)
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def close(self):
        self.sock.close()
