#!/usr/bin/env python3
"""The front door under attack: faceauthd over loopback while idle and slowloris connections
are held against it (Python 3 standard library only).

    /usr/bin/python3 tests/api/test_front_door.py path/to/faceauthd [unittest options]

Starts faceauthd like tests/api/test_api.py (free port, temporary data dir, demo.json) with a
header deadline of 8 s. From 127.0.0.2 (one address: 300 idle sockets and 100 slowloris
connections, over the per-address cap of 64) and from 127.0.0.3-127.0.0.22 (700 idle, 200
slowloris, 45 per address) the attackers connect; slowloris connections send one header line
every 2 s. While they are held a well-behaved client on 127.0.0.1 must get /health within
1 s and the demo selfie `approved`; the excess from 127.0.0.2 must be refused (closed without
an answer); every attacker must then be closed by the server at the header deadline, and the
open-connection gauge and VmRSS must come back to their baseline. Every wait is bounded.
"""

import os
import resource
import select
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_api  # noqa: E402  (the server harness and HTTP helpers)

HEADER_TIMEOUT_S = 8
PER_ADDRESS = 64
ONE_ADDRESS = "127.0.0.2"
SPREAD = ["127.0.0.%d" % i for i in range(3, 23)]
RSS_SLACK_MB = 40  # VmRSS after the attack: at most this much above the baseline


def raise_nofile(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, needed), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def metric(port, name):
    """The value of one sample line of /metrics (`name` includes its labels), or None."""
    body = test_api.call(port, "GET", "/metrics", timeout=10).body.decode()
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise AssertionError("no VmRSS")


def connect_from(port, source, first=b""):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    s.setblocking(False)
    if first:
        s.send(first)
    return s


def closed_by_server(sock):
    """True when the server closed (EOF or reset) the socket; never blocks."""
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def wait_until(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def timed_health(port):
    start = time.monotonic()
    r = test_api.call(port, "GET", "/health", timeout=1.0)
    return r, time.monotonic() - start


class FrontDoorTest(test_api.ServerTest):
    server_args = ("--header-timeout-ms", str(HEADER_TIMEOUT_S * 1000),
                   "--max-connections-per-address", str(PER_ADDRESS))

    @classmethod
    def setUpClass(cls):
        raise_nofile(4096)
        super().setUpClass()

    def test_settings_are_printed_and_checked(self):
        out = self.server.output()
        for line in ("header-timeout-ms = %d" % (HEADER_TIMEOUT_S * 1000), "max-connections = 10000",
                     "max-connections-per-address = %d" % PER_ADDRESS, "io-threads = 2", "engine-queue = 64",
                     "min-body-bytes-per-second = 10240", "max-requests-per-connection = 1000",
                     "trusted-proxies = (none)", "handler-threads = auto"):
            self.assertIn(line, out)
        bad = subprocess.run([test_api.FACEAUTHD, "--trusted-proxies", "10.0.0.0/40"], capture_output=True,
                             timeout=30, env=self.server.env())
        self.assertEqual(bad.returncode, 64, bad)
        self.assertIn(b"trusted-proxies", bad.stderr)

    def test_head_answers_like_get_without_a_body(self):
        for path in ("/health", "/ready", "/metrics", "/v3/faceauth?authId=nope", "/no/such/route"):
            headers = {"x-api-key": self.demo["addon_key"]}
            get = test_api.call(self.port, "GET", path, headers=headers)
            head = test_api.call(self.port, "HEAD", path, headers=headers)
            self.assertEqual(head.status, get.status, path)
            self.assertEqual(head.body, b"", path)
            self.assertEqual(head.headers.get("content-type"), get.headers.get("content-type"), path)
            if path in ("/health", "/ready"):
                self.assertEqual(int(head.headers["content-length"]), len(get.body), path)
        self.assertEqual(test_api.call(self.port, "HEAD", "/health").status, 200)

    def test_attackers_do_not_starve_a_well_behaved_client(self):
        if raise_nofile(4096) < 2000:
            self.skipTest("descriptor limit too low")
        pid = self.server.proc.pid
        warm = test_api.faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], self.selfie)
        self.assertEqual(warm.json()["auth_status"], "approved", warm)
        self.assertTrue(wait_until(lambda: metric(self.port, "faceauth_connections_open") == 1, 10))
        baseline_rss = rss_mb(pid)
        refused_before = metric(self.port, 'faceauth_connections_refused_total{reason="per_address"}')
        slow_before = metric(self.port, 'faceauth_connections_closed_total{reason="slow_header"}')

        idle, slow, one_address = [], [], []
        line = b"GET / HTTP/1.1\r\nHost: x\r\n"
        try:
            for i in range(300):
                one_address.append(connect_from(self.port, ONE_ADDRESS))
            for i in range(100):
                one_address.append(connect_from(self.port, ONE_ADDRESS, line))
            for i in range(700):
                idle.append(connect_from(self.port, SPREAD[i % len(SPREAD)]))
            for i in range(200):
                slow.append(connect_from(self.port, SPREAD[i % len(SPREAD)], line))
            held_since = time.monotonic()
            admitted = 900 + PER_ADDRESS

            # The excess from one address is refused, the rest held.
            self.assertTrue(wait_until(lambda: metric(
                self.port, 'faceauth_connections_refused_total{reason="per_address"}') - refused_before
                == 400 - PER_ADDRESS, 5))
            self.assertEqual(sum(closed_by_server(s) for s in one_address), 400 - PER_ADDRESS)
            self.assertGreaterEqual(metric(self.port, "faceauth_connections_open"), admitted)

            # A well-behaved client is served meanwhile.
            for _ in range(3):
                r, seconds = timed_health(self.port)
                self.assertEqual(r.status, 200, r)
                self.assertLessEqual(seconds, 1.0)
            r = test_api.faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], self.selfie,
                                  timeout=30)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["auth_status"], "approved", r)
            self.assertLess(time.monotonic() - held_since, HEADER_TIMEOUT_S - 1,
                            "the checks above ran after the header deadline: the attackers were not held")
            self.assertFalse(any(closed_by_server(s) for s in idle + slow), "closed before the header deadline")

            # Slowloris keeps sending lines; the server closes every attacker at the header deadline.
            attackers = idle + slow + [s for s in one_address if not closed_by_server(s)]
            deadline = time.monotonic() + HEADER_TIMEOUT_S + 10
            next_line = time.monotonic()
            while time.monotonic() < deadline:
                if time.monotonic() >= next_line:
                    for s in slow:
                        try:
                            s.send(b"X-Slow: 1\r\n")
                        except OSError:
                            pass
                    next_line += 2
                if all(closed_by_server(s) for s in attackers):
                    break
                select.select([], [], [], 0.2)
            still_open = sum(not closed_by_server(s) for s in attackers)
            self.assertEqual(still_open, 0, "attackers still open after the header deadline")
            closed_slow = metric(self.port, 'faceauth_connections_closed_total{reason="slow_header"}') - slow_before
            self.assertEqual(closed_slow, len(attackers))
        finally:
            for s in idle + slow + one_address:
                s.close()

        self.assertTrue(wait_until(lambda: metric(self.port, "faceauth_connections_open") == 1, 10),
                        metric(self.port, "faceauth_connections_open"))
        self.assertTrue(wait_until(lambda: rss_mb(pid) <= baseline_rss + RSS_SLACK_MB, 10),
                        "VmRSS %.1f MB, baseline %.1f MB" % (rss_mb(pid), baseline_rss))
        r = test_api.faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], self.other)
        self.assertEqual(r.json()["auth_status"], "rejected", r)


def main():
    argv = list(sys.argv)
    if len(argv) > 1 and os.path.isfile(argv[1]):
        test_api.FACEAUTHD = os.path.abspath(argv.pop(1))
    test_api.FACEAUTHD = test_api.FACEAUTHD or os.environ.get("FACEAUTHD")
    if not test_api.FACEAUTHD or not os.access(test_api.FACEAUTHD, os.X_OK):
        sys.stderr.write("usage: test_front_door.py PATH/TO/faceauthd [unittest options]\n")
        return 2
    program = unittest.main(argv=argv, exit=False, verbosity=2)
    return 0 if program.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
