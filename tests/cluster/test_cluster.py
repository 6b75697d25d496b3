#!/usr/bin/env python3
"""Several faceauthd as one service: PostgreSQL, three servers and nginx, all on loopback.

    /usr/bin/python3 tests/cluster/test_cluster.py path/to/faceauthd [unittest options]

Starts a throw-away PostgreSQL (tests/tools/pg_test_server.sh), three faceauthd on it (each its
own data dir; the same sealing key and admin token by setting), and Debian's nginx with
deploy/nginx/faceauth.conf (its ports filled in), then checks that they behave as one service:
a project made through one server works through the others, attempts through nginx are each
recorded once, a SIGKILLed server loses no acknowledged attempt and its leased webhook event
is delivered by another, the rate limit holds across servers, and a PostgreSQL restart gives
500s while it is down and normal service after, without restarting the servers. Everything
is stopped by pid at the end; every wait is bounded.
"""

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "api"))
import test_api  # noqa: E402
from test_api import Faceauthd, call, faceauth, free_port, multipart  # noqa: E402
from test_history import Receiver  # noqa: E402

PG_SCRIPT = os.path.join(ROOT, "tests", "tools", "pg_test_server.sh")
NGINX_CONF = os.path.join(ROOT, "deploy", "nginx", "faceauth.conf")


def psql_int(url, sql):
    out = subprocess.run(["psql", "-qtA", url, "-c", sql], capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return int(out.stdout.strip().splitlines()[-1])


class Nginx:
    """nginx with the repository's upstream config, its ports replaced, in a private prefix."""

    def __init__(self, prefix, backend_ports):
        self.prefix = prefix
        self.port = free_port()
        os.makedirs(os.path.join(prefix, "temp"), exist_ok=True)
        with open(NGINX_CONF) as f:
            site = f.read()
        ports = iter(backend_ports)
        site = re.sub(r"server 127\.0\.0\.1:808[123]", lambda m: "server 127.0.0.1:%d" % next(ports), site)
        site = site.replace("listen 127.0.0.1:8080;", "listen 127.0.0.1:%d;" % self.port)
        temp = os.path.join(prefix, "temp")
        user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
        conf = (user + "worker_processes 1;\npid %s/nginx.pid;\nerror_log %s/error.log warn;\n"
                "events { worker_connections 512; }\nhttp {\n  access_log off;\n"
                "  client_body_temp_path %s/body;\n  proxy_temp_path %s/proxy;\n"
                "  fastcgi_temp_path %s/fastcgi;\n  uwsgi_temp_path %s/uwsgi;\n  scgi_temp_path %s/scgi;\n%s\n}\n"
                % (prefix, prefix, temp, temp, temp, temp, temp, site))
        self.conf = os.path.join(prefix, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        if os.geteuid() == 0:
            shutil.chown(temp, "nobody", "nogroup")
        with open(os.path.join(prefix, "stderr"), "wb") as err:
            self.proc = subprocess.Popen(["/usr/sbin/nginx", "-p", prefix, "-c", self.conf, "-g", "daemon off;"],
                                         stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if call(self.port, "GET", "/health", timeout=5).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        with open(os.path.join(prefix, "stderr")) as err:
            raise RuntimeError("nginx did not answer: " + err.read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class ClusterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="faceauth-cluster-")
        cls.pg_dir = tempfile.mkdtemp(prefix="faceauth-cluster-pg-")  # its own: the postgres user must reach it
        cls.pg_url = subprocess.run([PG_SCRIPT, "start", cls.pg_dir], capture_output=True, text=True, check=True,
                                    timeout=60).stdout.strip()
        cls.servers, cls.nginx = [], None
        try:
            cls.start_cluster()
        except Exception:
            cls.stop_cluster()
            raise

    @classmethod
    def start_cluster(cls):
        cls.admin_token = "adm_" + secrets.token_hex(16)
        common = ["--database", cls.pg_url, "--database-pool", "4", "--sealing-key", secrets.token_hex(32),
                  "--admin-token", cls.admin_token, "--workers", "1", "--embedder", "faceplugin_recognition",
                  "--rate-limit-per-minute", "60", "--rate-limit-burst", "400", "--webhook-timeout-ms", "2000",
                  "--webhook-lease-ms", "3000", "--webhook-backoff-ms", "200", "--webhook-backoff-max-ms", "2000", "--webhook-poll-ms", "200",
                  "--webhook-max-attempts", "50", "--trusted-proxies", "127.0.0.1"]
        # The first one makes the demo (its selfies are our test images); the others join.
        for i in range(3):
            demo = i == 0
            server = Faceauthd(os.path.join(cls.tmp, "data%d" % (i + 1)), common + ([] if demo else ["--no-demo"]),
                               demo=demo)
            cls.servers.append(server.start())
        demo = cls.servers[0].demo()
        with open(demo["selfie"], "rb") as f:
            cls.selfie = f.read()
        cls.ports = [s.port for s in cls.servers]
        cls.nginx = Nginx(os.path.join(cls.tmp, "nginx"), cls.ports)

    @classmethod
    def stop_cluster(cls):
        if cls.nginx:
            cls.nginx.stop()
        for server in cls.servers:
            server.stop()
        subprocess.run([PG_SCRIPT, "stop", cls.pg_dir], timeout=60)

    @classmethod
    def tearDownClass(cls):
        cls.stop_cluster()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # -- helpers ---------------------------------------------------------------------------

    def admin(self, port, method, path, payload=None):
        headers = {"Authorization": "Bearer " + self.admin_token}
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        return call(port, method, path, body, headers)

    def tenant(self, port):
        """A KYC project, a FaceAuth project and an approved submission, made through `port`."""
        r = self.admin(port, "POST", "/admin/v1/kyc-projects", {"name": "t-" + uuid.uuid4().hex[:8]})
        self.assertEqual(r.status, 201, r)
        kyc_id, kyc_key = r.json()["project"]["id"], r.json()["kyc_key"]
        r = self.admin(port, "POST", "/admin/v1/faceauth-projects", {"kyc_project_id": kyc_id, "name": "door"})
        self.assertEqual(r.status, 201, r)
        addon_key = r.json()["addon_key"]
        body, ct = multipart([("selfieImage", self.selfie, "selfie.jpg", "image/jpeg"), ("userId", "u1")])
        r = call(port, "POST", "/v3/submissions", body, {"Content-Type": ct, "x-api-key": kyc_key})
        self.assertEqual(r.status, 201, r)
        sid = r.json()["submissionId"]
        r = call(port, "POST", "/v3/submissions/%s/approve" % sid, b"", {"x-api-key": kyc_key})
        self.assertEqual(r.status, 200, r)
        return kyc_id, kyc_key, addon_key, sid

    def listed_ids(self, port, key):
        day = datetime.now(timezone.utc)
        start, end = (day - timedelta(days=1)).strftime("%Y-%m-%d"), (day + timedelta(days=2)).strftime("%Y-%m-%d")
        ids, extra = [], ""
        for _ in range(100):
            r = call(port, "GET", "/v3/faceauth?startDate=%s&endDate=%s&count=2000%s" % (start, end, extra),
                     headers={"x-api-key": key})
            self.assertEqual(r.status, 200, r)
            body = r.json()
            ids.extend(a["auth_id"] for a in body["data"])
            if "nextPage_key" not in body:
                return ids
            nk = body["nextPage_key"]
            extra = "&nextKey_id=%s&nextKey_date=%s" % (nk["nextKey_id"], nk["nextKey_date"])
        self.fail("more than 100 pages")

    def post_many(self, port, key, sid, count, workers=6):
        """POSTs through `port`; the authentication_ids acknowledged with 200, and the other statuses."""
        def one(_):
            try:
                r = faceauth(port, key, sid, self.selfie, timeout=120)
                return r.json()["authentication_id"] if r.status == 200 else r.status
            except OSError as e:
                return "error: %s" % e
        with ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(one, range(count)))
        return [r for r in results if isinstance(r, str) and not r.startswith("error")], \
               [r for r in results if not (isinstance(r, str) and not r.startswith("error"))]

    def wait_for(self, predicate, seconds, what):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.2)
        self.fail("not within %d s: %s" % (seconds, what))

    # -- the checks, in order ----------------------------------------------------------------

    def test_1_a_project_made_through_one_server_works_through_the_others(self):
        kyc_id, kyc_key, addon_key, sid = self.tenant(self.ports[0])
        for port in self.ports[1:]:
            r = faceauth(port, addon_key, sid, self.selfie)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["auth_status"], "approved", r)
            r = call(port, "GET", "/v3/submissions/" + sid, headers={"x-api-key": kyc_key})
            self.assertEqual(r.status, 200, r)
        for port in self.ports:
            self.assertEqual(call(port, "GET", "/ready").status, 200)

    def test_1b_text_postgresql_cannot_hold_is_a_400_not_a_500(self):
        # PostgreSQL's text holds neither bytes that are not UTF-8 nor a NUL: these once answered
        # 500 here (SQLite kept them), or kept "a" of "a\0b".
        port = self.ports[0]
        kyc_id, kyc_key, addon_key, sid = self.tenant(port)
        for method, path in (("DELETE", "/admin/v1/users/%ff"), ("POST", "/admin/v1/kyc-projects/%ff/rotate-key"),
                             ("PUT", "/admin/v1/faceauth-projects/%ff/policy")):
            r = self.admin(port, method, path, {})
            self.assertEqual((r.status, r.json()["errorCode"]), (400, "invalid_data_format"), (path, r))
        r = call(port, "GET", "/v3/submissions?userId=%ff", headers={"x-api-key": kyc_key})
        self.assertEqual((r.status, r.json()["errorCode"]), (400, "invalid_data_format"), r)
        r = self.admin(port, "POST", "/admin/v1/kyc-projects", {"name": "a\u0000b"})
        self.assertEqual((r.status, r.json()["errorCode"]), (400, "invalid_data_format"), r)
        body, ct = multipart([("selfieImage", self.selfie, "selfie.jpg", "image/jpeg"), ("userId", b"u1\x00x")])
        r = call(port, "POST", "/v3/submissions", body, {"Content-Type": ct, "x-api-key": kyc_key})
        self.assertEqual((r.status, r.json()["errorCode"]), (400, "invalid_data_format"), r)

    def test_2_300_posts_through_nginx_each_listed_once_and_each_event_delivered_once(self):
        receiver = Receiver()
        try:
            kyc_id, _, addon_key, sid = self.tenant(self.ports[0])
            r = self.admin(self.ports[1], "PUT", "/admin/v1/kyc-projects/%s/webhook" % kyc_id, {"url": receiver.url})
            self.assertEqual(r.status, 200, r)
            acknowledged, others = self.post_many(self.nginx.port, addon_key, sid, 300)
            self.assertEqual(others, [])
            self.assertEqual(len(acknowledged), 300)
            for port in self.ports:
                listed = self.listed_ids(port, addon_key)
                self.assertEqual(sorted(listed), sorted(acknowledged))  # each exactly once
            def delivered():
                with receiver.lock:
                    return len(receiver.received) >= 300
            self.wait_for(delivered, 120, "300 webhook events delivered")
            time.sleep(1)  # a duplicate would come within the poll interval
            with receiver.lock:
                ids = [json.loads(body)["data"]["authentication_id"] for _, body in receiver.received]
            self.assertEqual(sorted(ids), sorted(acknowledged))  # each event once
        finally:
            receiver.server.shutdown()

    def test_3_a_sigkilled_server_loses_nothing_and_its_leased_event_goes_to_another(self):
        receiver = Receiver()
        release = threading.Event()
        original = receiver.server.RequestHandlerClass.do_POST

        def held(handler):  # hold every delivery until released: each server keeps one leased
            release.wait(30)
            original(handler)
        receiver.server.RequestHandlerClass.do_POST = held
        try:
            kyc_id, _, addon_key, sid = self.tenant(self.ports[0])
            r = self.admin(self.ports[0], "PUT", "/admin/v1/kyc-projects/%s/webhook" % kyc_id, {"url": receiver.url})
            self.assertEqual(r.status, 200, r)
            acknowledged, others = self.post_many(self.nginx.port, addon_key, sid, 30)
            self.assertEqual(others, [])
            now_ms = "(extract(epoch from clock_timestamp()) * 1000)::bigint"
            leased = "SELECT COUNT(*) FROM webhook_events WHERE state = 'pending' AND lease_until_ms > " + now_ms
            self.wait_for(lambda: psql_int(self.pg_url, leased) >= 3, 30, "each server holding a leased event")

            # Load through nginx while server 2 is killed.
            results = []
            load = threading.Thread(target=lambda: results.append(self.post_many(self.nginx.port, addon_key, sid, 60)))
            load.start()
            time.sleep(2)
            self.servers[1].proc.send_signal(signal.SIGKILL)
            self.servers[1].proc.wait(10)
            load.join(300)
            self.assertFalse(load.is_alive())
            during, failed = results[0]
            # Only requests that were inside the killed server may fail (nginx does not resend a POST).
            self.assertLessEqual(len(failed), 6, failed)
            self.assertTrue(all(status in (502, 504) for status in failed), failed)
            acknowledged += during
            after, failed_after = self.post_many(self.nginx.port, addon_key, sid, 12)
            self.assertEqual(failed_after, [])  # nginx answers through the two others
            acknowledged += after

            for port in (self.ports[0], self.ports[2]):
                self.assertEqual(sorted(self.listed_ids(port, addon_key)), sorted(acknowledged))
            release.set()
            pending = "SELECT COUNT(*) FROM webhook_events WHERE state <> 'delivered'"
            self.wait_for(lambda: psql_int(self.pg_url, pending) == 0, 120, "every event delivered")
            with receiver.lock:
                ids = {json.loads(body)["data"]["authentication_id"] for _, body in receiver.received}
            self.assertTrue(set(acknowledged) <= ids, set(acknowledged) - ids)
        finally:
            release.set()
            receiver.server.shutdown()
            self.restart_server(1)

    def restart_server(self, index):
        old = self.servers[index]
        if old.alive():
            return
        server = Faceauthd(old.data_dir, old.extra, demo=False)
        server.start()
        self.servers[index] = server
        # nginx keeps its upstream ports: put the new one in place of the dead one.
        self.ports[index] = server.port
        self.nginx.stop()
        self.__class__.nginx = Nginx(os.path.join(self.tmp, "nginx%d" % time.monotonic_ns()), self.ports)

    def test_4_the_rate_limit_holds_across_servers(self):
        _, _, addon_key, _ = self.tenant(self.ports[0])
        # Requests with an unknown submission cost no engine time but take a token each:
        # 460 spread over three servers against one bucket of 400 (one more a second).
        started = time.monotonic()
        statuses = []
        for i in range(460):
            r = faceauth(self.ports[i % 3], addon_key, "no-such-submission", self.selfie)
            statuses.append(r.status)
        elapsed = time.monotonic() - started
        allowed = sum(1 for s in statuses if s != 429)
        self.assertGreaterEqual(allowed, 400)
        self.assertLessEqual(allowed, 400 + int(elapsed) + 1, "each server kept its own bucket")
        self.assertIn(429, statuses[400 + int(elapsed) + 1:])

    def test_5_postgresql_stopped_and_started_without_restarting_the_servers(self):
        _, _, addon_key, sid = self.tenant(self.ports[0])
        subprocess.run([PG_SCRIPT, "pause", self.pg_dir], check=True, timeout=60)
        try:
            for port in self.ports:
                r = faceauth(port, addon_key, sid, self.selfie, timeout=60)
                self.assertEqual(r.status, 500, r)
                self.assertEqual(r.json()["errorCode"], "data_processing_error", r)
                self.assertEqual(call(port, "GET", "/ready").status, 503)
        finally:
            subprocess.run([PG_SCRIPT, "resume", self.pg_dir], check=True, timeout=60)
        # /ready stays 503 for 30 s after a request met a store error (Readiness's error hold),
        # so the bound is that hold plus room for a loaded machine (once over 30 s in CI at load 5).
        for port in self.ports:
            self.wait_for(lambda: call(port, "GET", "/ready").status == 200, 75, "ready again")
            r = faceauth(port, addon_key, sid, self.selfie)
            self.assertEqual(r.status, 200, r)
        for server in self.servers:
            self.assertTrue(server.alive())

    def test_6_idempotency_key_answers_the_first_response_from_any_server(self):
        _, _, addon_key, sid = self.tenant(self.ports[0])
        key = {"Idempotency-Key": str(uuid.uuid4())}
        first = faceauth(self.nginx.port, addon_key, sid, self.selfie, headers=key)
        self.assertEqual(first.status, 200, first)
        for port in self.ports:  # a new multipart boundary each time: still the same request
            again = faceauth(port, addon_key, sid, self.selfie, headers=key)
            self.assertEqual(again.status, 200, again)
            self.assertEqual(again.json(), first.json())
        changed = faceauth(self.ports[2], addon_key, sid, self.selfie, extra=[("cf1", "other")], headers=key)
        self.assertEqual(changed.status, 422, changed)
        self.assertEqual(changed.json()["errorCode"], "idempotency_key_reused", changed)
        bad = faceauth(self.ports[1], addon_key, sid, self.selfie, headers={"Idempotency-Key": "a b"})
        self.assertEqual(bad.status, 400, bad)
        self.assertEqual(bad.json()["errorCode"], "invalid_data_format", bad)
        self.assertEqual(self.listed_ids(self.ports[1], addon_key), [first.json()["authentication_id"]])

    def test_6b_idempotency_key_on_submission_creation(self):
        kyc_id, kyc_key, _, _ = self.tenant(self.ports[0])
        key = {"Idempotency-Key": "sub-" + uuid.uuid4().hex}
        made = []
        for port in self.ports:
            body, ct = multipart([("selfieImage", self.selfie, "s.jpg", "image/jpeg"), ("userId", "idem")])
            r = call(port, "POST", "/v3/submissions", body, dict(key, **{"Content-Type": ct, "x-api-key": kyc_key}))
            self.assertEqual(r.status, 201, r)
            made.append(r.json())
        self.assertEqual(made[1:], made[:1] * 2)  # one submission, the first answer each time
        body, ct = multipart([("selfieImage", self.selfie, "s.jpg", "image/jpeg"), ("userId", "other")])
        r = call(self.ports[1], "POST", "/v3/submissions", body, dict(key, **{"Content-Type": ct, "x-api-key": kyc_key}))
        self.assertEqual(r.status, 422, r)
        self.assertEqual(r.json()["errorCode"], "idempotency_key_reused", r)
        r = call(self.ports[2], "GET", "/v3/submissions?userId=idem", headers={"x-api-key": kyc_key})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(r.json()["submissions"]), 1, r)

    def test_7_a_retry_through_nginx_after_a_sigkill_makes_one_attempt(self):
        _, _, addon_key, sid = self.tenant(self.ports[0])
        key = {"Idempotency-Key": str(uuid.uuid4())}
        victim = self.servers[0]
        answers = []

        def send():
            try:
                answers.append(faceauth(victim.port, addon_key, sid, self.selfie, headers=key, timeout=60))
            except OSError as e:  # the server died under the request
                answers.append(e)
        sender = threading.Thread(target=send)
        sender.start()
        time.sleep(0.15)
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait(10)
        sender.join(60)
        acknowledged = [a.json()["authentication_id"] for a in answers if not isinstance(a, OSError) and a.status == 200]
        # The client does not know whether it was recorded: it retries through nginx until it gets an
        # answer (409 while the dead server's claim is fresh, then the stored or a new attempt).
        retry = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            retry = faceauth(self.nginx.port, addon_key, sid, self.selfie, headers=key)
            if retry.status != 409 and retry.status < 500:
                break
            if retry.status == 409:
                self.assertEqual(retry.json()["errorCode"], "idempotency_key_in_progress", retry)
            time.sleep(1)
        self.assertEqual(retry.status, 200, retry)
        auth_id = retry.json()["authentication_id"]
        if acknowledged:
            self.assertEqual(acknowledged, [auth_id])
        self.assertEqual(self.listed_ids(self.ports[1], addon_key), [auth_id])  # one attempt
        self.restart_server(0)


def main():
    argv = list(sys.argv)
    if len(argv) < 2 or not os.access(argv[1], os.X_OK):
        sys.stderr.write("usage: test_cluster.py PATH/TO/faceauthd [unittest options]\n")
        return 2
    test_api.FACEAUTHD = os.path.abspath(argv.pop(1))
    program = unittest.main(argv=argv, exit=False, verbosity=2)
    return 0 if program.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
