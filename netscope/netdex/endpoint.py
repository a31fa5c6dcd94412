"""Small TCP measurements run inside a namespace (`ip netns exec NS python3 endpoint.py ...`).

Standard library only: it runs as a script by path, like the labs' serve.py.

    endpoint.py serve --port P               echo on P, accept-and-close on P+1; prints "ready"
    endpoint.py rr --host H --port P --seconds S [--size B] [--max N]
        request/response round trips of B bytes on one connection -> JSON summary
    endpoint.py connect --host H --port P --seconds S [--max N]
        connections opened and closed one after another (to serve's P+1) -> JSON summary
    endpoint.py sink --port P --reply B      read each connection to EOF, answer B bytes;
        prints {"port", "wire_sent"} for each connection once its answer is acknowledged
    endpoint.py send --host H --port P --bytes N
        send N bytes, half-close, read the answer to EOF -> JSON {"sent", "received",
        "sport", "wire_sent"}

wire_sent is what TCP put on the wire (tcpi_bytes_sent: retransmissions included), read
once everything sent is acknowledged: what a counter of the traffic (conntrack) sees.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import signal
import socket
import struct
import sys
import threading
import time

CHUNK = 256 * 1024
WARMUP = 200  # round trips not timed: the first ones pay for cold caches and page faults


def _listener(port: int, host: str = "0.0.0.0") -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(1024)
    return s


def _ready(reports: bool = False) -> None:
    """Say "ready"; stdout then goes nowhere unless the mode reports on it (nobody reads it,
    and a full pipe would block the server)."""
    print("ready", flush=True)
    if not reports:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)


# struct tcp_info (linux/tcp.h): tcpi_unacked at 24, tcpi_bytes_sent at 200 (kernel 4.19+)
_TCP_INFO_LEN, _UNACKED, _BYTES_SENT = 232, 24, 200


def wire_sent(s: socket.socket, wait_s: float = 5.0) -> int | None:
    """The data bytes TCP sent on `s`, retransmissions included, once nothing is left
    unacknowledged (or after wait_s); None on a kernel without tcpi_bytes_sent."""
    deadline = time.monotonic() + wait_s
    while True:
        info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_LEN)
        if len(info) < _BYTES_SENT + 8:
            return None
        if struct.unpack_from("I", info, _UNACKED)[0] == 0 or time.monotonic() > deadline:
            return struct.unpack_from("Q", info, _BYTES_SENT)[0]
        time.sleep(0.01)


def serve(port: int) -> int:
    """Echo on `port`, accept-and-close on `port + 1`, one thread, until killed."""
    echo, closer = _listener(port), _listener(port + 1)
    sel = selectors.DefaultSelector()
    sel.register(echo, selectors.EVENT_READ, "echo")
    sel.register(closer, selectors.EVENT_READ, "close")
    _ready()
    while True:
        for key, _ in sel.select():
            sock: socket.socket = key.fileobj  # type: ignore[assignment]
            if key.data == "close":
                conn, _ = sock.accept()
                conn.close()
            elif key.data == "echo":
                conn, _ = sock.accept()
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sel.register(conn, selectors.EVENT_READ, "conn")
            else:
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if data:
                    sock.sendall(data)
                else:
                    sel.unregister(sock)
                    sock.close()


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    rank = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[rank]


def _round_trip(s: socket.socket, payload: bytes) -> None:
    s.sendall(payload)
    got = 0
    while got < len(payload):
        chunk = s.recv(len(payload) - got)
        if not chunk:
            raise ConnectionError("the echo server closed the connection")
        got += len(chunk)


def round_trips(host: str, port: int, seconds: float, size: int, limit: int) -> dict:
    """Send `size` bytes, wait for them back, repeat; RTTs in microseconds."""
    payload = b"x" * size
    rtts: list[float] = []
    with socket.create_connection((host, port), timeout=5) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(WARMUP):
            _round_trip(s, payload)
        deadline = time.monotonic() + seconds
        while len(rtts) < limit and time.monotonic() < deadline:
            start = time.perf_counter_ns()
            _round_trip(s, payload)
            rtts.append((time.perf_counter_ns() - start) / 1000)
    rtts.sort()
    return {"count": len(rtts), "size": size, "min_us": rtts[0] if rtts else 0.0,
            "median_us": _percentile(rtts, 0.5), "p99_us": _percentile(rtts, 0.99)}


def connections(host: str, port: int, seconds: float, limit: int) -> dict:
    """Open and close connections one at a time for `seconds` (at most `limit`)."""
    done = errors = 0
    start = time.monotonic()
    deadline = start + seconds
    while done < limit and time.monotonic() < deadline:
        try:
            s = socket.create_connection((host, port), timeout=2)
        except OSError:
            errors += 1
            if errors > 50:
                break
            continue
        s.close()
        done += 1
    elapsed = time.monotonic() - start
    return {"connections": done, "errors": errors, "seconds": elapsed,
            "per_second": done / elapsed if elapsed > 0 else 0.0}


def _drain_then_answer(conn: socket.socket, reply: int) -> None:
    with conn:
        port = conn.getpeername()[1]
        while conn.recv(CHUNK):
            pass
        block = b"r" * min(reply, CHUNK)
        left = reply
        while left > 0:
            conn.sendall(block[:left])
            left -= min(left, len(block))
        conn.shutdown(socket.SHUT_WR)
        print(json.dumps({"port": port, "wire_sent": wire_sent(conn)}), flush=True)


def sink(port: int, reply: int) -> int:
    """Read every connection to EOF, then answer `reply` bytes and close."""
    listener = _listener(port)
    _ready(reports=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=_drain_then_answer, args=(conn, reply), daemon=True).start()


def send(host: str, port: int, count: int) -> dict:
    """Send `count` bytes, half-close, read the answer to EOF."""
    block = b"s" * min(count, CHUNK)
    received = 0
    with socket.create_connection((host, port), timeout=10) as s:
        left = count
        while left > 0:
            s.sendall(block[:left])
            left -= min(left, len(block))
        s.shutdown(socket.SHUT_WR)
        while True:
            chunk = s.recv(CHUNK)
            if not chunk:
                break
            received += len(chunk)
        sport = s.getsockname()[1]
        wire = wire_sent(s)
    return {"sent": count, "received": received, "sport": sport, "wire_sent": wire}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("serve")
    p.add_argument("--port", type=int, required=True)
    p = sub.add_parser("sink")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--reply", type=int, default=0)
    for name in ("rr", "connect", "send"):
        p = sub.add_parser(name)
        p.add_argument("--host", required=True)
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--seconds", type=float, default=1.0)
        p.add_argument("--max", type=int, default=20000)
        p.add_argument("--size", type=int, default=64)
        p.add_argument("--bytes", type=int, default=0)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    try:
        if args.what == "serve":
            return serve(args.port)
        if args.what == "sink":
            return sink(args.port, args.reply)
        if args.what == "rr":
            out = round_trips(args.host, args.port, args.seconds, args.size, args.max)
        elif args.what == "connect":
            out = connections(args.host, args.port, args.seconds, args.max)
        else:
            out = send(args.host, args.port, args.bytes)
    except OSError as e:
        print(f"endpoint {args.what}: {e}", file=sys.stderr)
        return 1
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
