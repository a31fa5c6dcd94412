"""A tiny responder that lab servers run inside their namespace. Standard library only.

    python3 serve.py --name web --tcp 80 --udp 53 [--bind 127.0.0.1] [--reuseport]

Every TCP connection and every UDP datagram gets one line back: "<name> <peer address>\\n",
so a client learns which server answered and which source address the server saw (NAT made
visible). An HTTP request ("GET ...") gets the same line as an HTTP/1.0 200 body. A TCP
request line "big" is answered with the line followed by BIG_BYTES bytes (MTU checks).
Without ports it just waits (a pod's "pause" process). Prints "ready" once listening.
"""

from __future__ import annotations

import argparse
import os
import selectors
import signal
import socket
import sys
import threading

BIG_BYTES = 64 * 1024
READ_TIMEOUT_S = 2.0


def _answer_tcp(conn: socket.socket, name: str) -> None:
    with conn:
        conn.settimeout(READ_TIMEOUT_S)
        peer = conn.getpeername()[0]
        request = b""
        try:
            while b"\n" not in request and len(request) < 4096:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                request += chunk
        except OSError:
            pass
        line = f"{name} {peer}\n".encode()
        try:
            if request.startswith(b"GET "):
                conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(line) + line)
            elif request.strip() == b"big":
                conn.sendall(line + b"x" * BIG_BYTES)
            else:
                conn.sendall(line)
        except OSError:
            pass


def _listeners(tcp: list[int], udp: list[int], bind: str = "0.0.0.0",
               reuseport: bool = False) -> list[tuple[str, socket.socket]]:
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    out = []
    for port in tcp:
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuseport:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind((bind, port))
        s.listen(64)
        out.append(("tcp", s))
    for port in udp:
        s = socket.socket(family, socket.SOCK_DGRAM)
        if reuseport:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind((bind, port))
        out.append(("udp", s))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True)
    parser.add_argument("--tcp", type=int, action="append", default=[])
    parser.add_argument("--udp", type=int, action="append", default=[])
    parser.add_argument("--bind", default="0.0.0.0", help="address to listen on")
    parser.add_argument("--reuseport", action="store_true",
                        help="set SO_REUSEPORT: other sockets may listen on the same port")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    try:
        listeners = _listeners(args.tcp, args.udp, args.bind, args.reuseport)
    except OSError as e:
        print(f"serve {args.name}: cannot listen: {e}", file=sys.stderr)
        return 1
    print("ready", flush=True)
    # Nobody reads stdout after "ready": a write would fail with EPIPE.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    if not listeners:
        while True:
            signal.pause()
    selector = selectors.DefaultSelector()
    for proto, s in listeners:
        selector.register(s, selectors.EVENT_READ, proto)
    while True:
        for key, _ in selector.select():
            s: socket.socket = key.fileobj  # type: ignore[assignment]
            if key.data == "tcp":
                conn, _ = s.accept()
                threading.Thread(target=_answer_tcp, args=(conn, args.name), daemon=True).start()
            else:
                _, peer = s.recvfrom(2048)
                s.sendto(f"{args.name} {peer[0]}\n".encode(), peer)


if __name__ == "__main__":
    sys.exit(main())
