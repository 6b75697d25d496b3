#!/usr/bin/env python3
"""Holds attacking connections against a faceauthd on loopback and probes it meanwhile.

    scripts/front_door_probe.py --port N [--idle 1000] [--slowloris 300] [--sources 20]
                                [--seconds 20] [--line-every 5] [--pid PID]

Opens --idle sockets that send nothing and --slowloris sockets that send one header line
every --line-every seconds, spread over --sources loopback addresses (127.0.0.2, 127.0.0.3,
...; 1 = all from 127.0.0.2). While they are held (--seconds), a client bound to 127.0.0.250
asks GET /health every 0.2 s with a 5 s timeout and prints how many answered, the median, p99
and worst latency; with --pid the server's VmRSS is printed before, while held (once the
server's faceauth_connections_open gauge shows them all or stops growing) and after.
Refused or closed attacker sockets are counted, never reopened. Everything is loopback-only
and bounded in count and time.
"""

import argparse
import resource
import socket
import statistics
import sys
import time


def raise_nofile(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, needed))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


def rss_mb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def open_socket(port, source, data=b""):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.bind((source, 0))
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    if data:
        try:
            s.send(data)
        except OSError:
            pass
    return s


def sources(count):
    return ["127.0.0.%d" % (2 + i % max(count, 1)) for i in range(max(count, 1))]


def health_once(port, source, timeout=5.0):
    """Seconds for one GET /health from `source`, or None when it failed or timed out."""
    start = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0)) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            if not data.startswith(b"HTTP/1.1 200"):
                return None
    except OSError:
        return None
    return time.monotonic() - start


def open_gauge(port):
    """faceauth_connections_open from /metrics (None when the server has no such gauge)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5, source_address=("127.0.0.250", 0)) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return None
    for line in data.decode("latin-1").splitlines():
        if line.startswith("faceauth_connections_open "):
            return float(line.split()[1])
    return None


def wait_all_open(port, count, timeout=8.0):
    """The open-connection gauge once it reaches `count` or stays put for a second (caps refuse
    some), at most `timeout` seconds (under faceauthd's 10 s header deadline)."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        value = open_gauge(port)
        if value is None or value >= count:
            return value
        seen.append(value)
        if len(seen) >= 4 and value > 1 and len(set(seen[-4:])) == 1:
            return value
        time.sleep(0.3)
    return open_gauge(port)


def alive(sock):
    """False when the server closed or reset the socket."""
    try:
        data = sock.recv(4096)
        return data != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--idle", type=int, default=1000)
    p.add_argument("--slowloris", type=int, default=300)
    p.add_argument("--sources", type=int, default=20)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--line-every", type=float, default=5)
    p.add_argument("--pid", type=int, default=0)
    args = p.parse_args()
    raise_nofile(args.idle + args.slowloris + 256)
    addresses = sources(args.sources)
    rss_before = rss_mb(args.pid) if args.pid else None
    idle = [open_socket(args.port, addresses[i % len(addresses)]) for i in range(args.idle)]
    slow = [open_socket(args.port, addresses[i % len(addresses)], b"GET / HTTP/1.1\r\nHost: x\r\n")
            for i in range(args.slowloris)]
    gauge = None
    rss_held = None
    if args.pid:
        gauge = wait_all_open(args.port, args.idle + args.slowloris)
        rss_held = rss_mb(args.pid)
    latencies, failed = [], 0
    end = time.monotonic() + args.seconds
    next_line = time.monotonic() + args.line_every
    while time.monotonic() < end:
        seconds = health_once(args.port, "127.0.0.250")
        if seconds is None:
            failed += 1
        else:
            latencies.append(seconds)
        if time.monotonic() >= next_line:
            for s in slow:
                try:
                    s.send(b"X-a: b\r\n")
                except OSError:
                    pass
            next_line += args.line_every
        time.sleep(0.2)
    idle_alive = sum(alive(s) for s in idle)
    slow_alive = sum(alive(s) for s in slow)
    for s in idle + slow:
        s.close()
    time.sleep(1.0)
    rss_after = rss_mb(args.pid) if args.pid else None
    lat = sorted(latencies)
    out = {"health_ok": len(lat), "health_failed": failed,
           "p50_ms": round(statistics.median(lat) * 1000, 1) if lat else None,
           "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 1) if lat else None,
           "max_ms": round(lat[-1] * 1000, 1) if lat else None,
           "idle_still_open": idle_alive, "slowloris_still_open": slow_alive}
    if args.pid:
        out.update({"open_gauge_held": gauge, "rss_before_mb": round(rss_before, 1),
                    "rss_held_mb": round(rss_held, 1),
                    "rss_after_mb": round(rss_after, 1)})
    print(" ".join("%s=%s" % kv for kv in out.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
