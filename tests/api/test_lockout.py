#!/usr/bin/env python3
"""Black-box tests of the lockout (a submission locked after repeated failed similarity checks)
and of the per-address throttle of 401s, against the real binaries over loopback.

    /usr/bin/python3 tests/api/test_lockout.py path/to/faceauthd path/to/faceauth [unittest options]

Uses the server harness of test_api.py and the webhook receiver of test_history.py. Wrong faces
are the demo's other person against a submission made from the demo selfie (the pair of
test_api.py); short locks (a few seconds) keep the waits bounded.
"""

import json
import os
import re
import subprocess
import sys
import time
import unittest
import http.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_api  # noqa: E402
from test_api import ServerTest, call, faceauth  # noqa: E402
from test_history import Receiver  # noqa: E402

FACEAUTH_CLI = None


def decode_count(port):
    """How many images the face engine decoded so far (the decode stage's histogram count)."""
    text = call(port, "GET", "/metrics").body.decode()
    match = re.search(r'^faceauth_stage_seconds_count\{stage="decode"\} (\d+)', text, re.M)
    return int(match.group(1)) if match else 0


class LockoutTest(ServerTest):
    server_args = ("--rate-limit-per-minute", "0", "--webhook-poll-ms", "100", "--webhook-backoff-ms", "200")

    def project(self, lockout):
        kyc_id, kyc_key, fa_id, addon_key = self.new_tenant(policy={"lockout": lockout})
        sid = self.create_submission(kyc_key, approve=True)
        return kyc_id, kyc_key, fa_id, addon_key, sid

    def wrong_faces(self, key, sid, count):
        for i in range(count):
            self.assertRejectedSimilarity(faceauth(self.port, key, sid, self.other))

    def assertLocked(self, resp, at_most):
        self.assertError(resp, "too_many_requests", 429)
        retry = int(resp.headers.get("retry-after", "0"))
        self.assertTrue(1 <= retry <= at_most, resp)
        return retry

    def lockout_path(self, fa_id, sid):
        return "/admin/v1/faceauth-projects/%s/lockouts/%s" % (fa_id, sid)

    def events(self, fa_id, query=""):
        r = self.admin("GET", "/admin/v1/faceauth-projects/%s/lockout-events%s" % (fa_id, query))
        self.assertEqual(r.status, 200, r)
        return r.json()["events"]

    def cli(self, *args):
        if not FACEAUTH_CLI or not os.access(FACEAUTH_CLI, os.X_OK):
            self.fail("the faceauth CLI is needed: test_lockout.py FACEAUTHD FACEAUTH")
        env = {k: v for k, v in os.environ.items() if not k.startswith("FACEAUTH_")}
        demo_json = os.path.join(self.server.data_dir, "demo.json")
        return subprocess.run([FACEAUTH_CLI, "admin"] + list(args) + ["--demo-json", demo_json],
                              capture_output=True, text=True, timeout=60, env=env)


class L1_Lockout(LockoutTest):

    def test_wrong_faces_lock_until_the_lock_ends_and_other_submissions_go_on(self):
        kyc_id, kyc_key, fa_id, key, sid = self.project({"failures": 3, "window_seconds": 900, "lock_seconds": 3})
        other_sid = self.create_submission(kyc_key, approve=True)
        self.wrong_faces(key, sid, 3)
        decoded = decode_count(self.port)
        self.assertGreater(decoded, 0)
        attempts = len(call(self.port, "GET", "/v3/faceauth?startDate=2020-01-01&endDate=2100-01-01",
                            headers={"x-api-key": key}).json()["data"])
        # The right face is refused now, without running the face engine or recording an attempt.
        self.assertLocked(faceauth(self.port, key, sid, self.selfie), 3)
        retry = self.assertLocked(faceauth(self.port, key, sid, self.other), 3)
        self.assertEqual(decode_count(self.port), decoded)
        history = call(self.port, "GET", "/v3/faceauth?startDate=2020-01-01&endDate=2100-01-01",
                       headers={"x-api-key": key}).json()["data"]
        self.assertEqual(len(history), attempts)
        # The policy snapshot of each attempt has the lockout it was judged under.
        self.assertEqual(history[0]["policy"]["lockout"], {"failures": 3, "window_seconds": 900, "lock_seconds": 3})
        # Another submission of the same project is not locked.
        self.assertApproved(faceauth(self.port, key, other_sid, self.selfie))
        state = self.admin("GET", self.lockout_path(fa_id, sid)).json()
        self.assertEqual((state["locked"], state["submissionId"]), (True, sid), state)
        self.assertTrue(1 <= state["retry_after_seconds"] <= 3, state)
        # Once the lock has ended, the right face is approved again.
        deadline = time.monotonic() + 10
        time.sleep(retry)
        while True:
            r = faceauth(self.port, key, sid, self.selfie)
            if r.status != 429 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertApproved(r)
        self.assertEqual(self.admin("GET", self.lockout_path(fa_id, sid)).json()["locked"], False)
        events = self.events(fa_id)
        self.assertEqual([(e["event"], e["submissionId"], e["actor"], e["failures"]) for e in events],
                         [("locked", sid, "policy", 3)], events)
        self.assertEqual(events[0]["authentication_id"], history[-1]["auth_id"])

    def test_admin_unlocks_through_the_api(self):
        _, _, fa_id, key, sid = self.project({"failures": 2, "window_seconds": 900, "lock_seconds": 900})
        self.wrong_faces(key, sid, 2)
        self.assertLocked(faceauth(self.port, key, sid, self.selfie), 900)
        r = self.admin("DELETE", self.lockout_path(fa_id, sid))
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()["was_locked"], r.json()["lockout"]["locked"], r.json()["lockout"]["failures"]),
                         (True, False, 0), r.json())
        self.assertApproved(faceauth(self.port, key, sid, self.selfie))
        again = self.admin("DELETE", self.lockout_path(fa_id, sid))
        self.assertEqual((again.status, again.json()["was_locked"]), (200, False), again)
        events = self.events(fa_id)
        self.assertEqual([(e["event"], e["actor"]) for e in events], [("locked", "policy"), ("unlocked", "admin")])
        self.assertEqual(len(self.events(fa_id, "?after=%d" % events[0]["seq"])), 1)
        # The count starts again after an unlock: one wrong face does not lock.
        self.wrong_faces(key, sid, 1)
        self.assertApproved(faceauth(self.port, key, sid, self.selfie))

    def test_admin_unlocks_with_the_cli(self):
        _, _, fa_id, key, sid = self.project({"failures": 2, "window_seconds": 900, "lock_seconds": 900})
        self.wrong_faces(key, sid, 2)
        self.assertLocked(faceauth(self.port, key, sid, self.selfie), 900)
        shown = self.cli("lockout", "show", fa_id, sid)
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertTrue(json.loads(shown.stdout)["locked"], shown.stdout)
        done = self.cli("lockout", "unlock", fa_id, sid)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertTrue(json.loads(done.stdout)["was_locked"], done.stdout)
        self.assertApproved(faceauth(self.port, key, sid, self.selfie))
        log = self.cli("lockout", "events", fa_id)
        self.assertEqual([e["event"] for e in json.loads(log.stdout)["events"]], ["locked", "unlocked"], log.stdout)
        missing = self.cli("lockout", "show", fa_id, "no-such-submission")
        self.assertEqual(missing.returncode, 1)
        self.assertIn("Invalid_submissionId", missing.stderr)

    def test_policy_set_with_the_cli_and_lockout_off(self):
        _, _, fa_id, key, sid = self.project({"failures": 2, "window_seconds": 900, "lock_seconds": 900})
        r = self.cli("policy", "set", fa_id, "--lockout-failures", "0")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["policy"]["lockout"],
                         {"failures": 0, "window_seconds": 900, "lock_seconds": 900})
        self.wrong_faces(key, sid, 5)
        self.assertApproved(faceauth(self.port, key, sid, self.selfie))
        self.assertEqual(self.events(fa_id), [])

    def test_default_lockout_and_validation(self):
        kyc_id, _, fa_id, _ = self.new_tenant()
        policy = self.admin("GET", "/admin/v1/faceauth-projects/%s/policy" % fa_id).json()["policy"]
        self.assertEqual(policy["lockout"], {"failures": 5, "window_seconds": 900, "lock_seconds": 900})
        path = "/admin/v1/faceauth-projects/%s/policy" % fa_id
        for bad in ({"failures": -1}, {"failures": "5"}, {"window_seconds": 0}, {"lock_seconds": 2592001},
                    {"failures": 1.5}, 7):
            with self.subTest(bad=bad):
                self.assertError(self.admin("PUT", path, {"lockout": bad}), "invalid_data_format", 400)
        r = self.admin("PUT", path, {"lockout": {"failures": 7}})
        self.assertEqual(r.json()["policy"]["lockout"], {"failures": 7, "window_seconds": 900, "lock_seconds": 900})
        # Errors of the admin routes.
        self.assertError(self.admin("GET", self.lockout_path("nope", "abc")), "not_found", 404)
        self.assertError(self.admin("GET", self.lockout_path(fa_id, "abc")), "Invalid_submissionId", 404)
        self.assertError(self.admin("GET", self.lockout_path(fa_id, "a%20b")), "Invalid_submissionId", 404)
        self.assertError(self.admin("POST", self.lockout_path(fa_id, "abc")), "method_not_allowed", 405)
        for query in ("?limit=0", "?limit=abc", "?after=-1", "?limit=1001"):
            self.assertError(self.admin("GET", "/admin/v1/faceauth-projects/%s/lockout-events%s" % (fa_id, query)),
                             "invalid_data_format", 400)
        self.assertError(call(self.port, "GET", self.lockout_path(fa_id, "abc")), "unauthorized", 401)

    def test_a_quality_rejection_does_not_count(self):
        _, kyc_key, fa_id, key, sid = self.project({"failures": 1, "window_seconds": 900, "lock_seconds": 900})
        # A 200 rejected for something else than similarity (liveness required, no liveness) leaves
        # the submission open; a similarity failure with lockout 1 locks at once.
        r = self.admin("PUT", "/admin/v1/faceauth-projects/%s/policy" % fa_id, {"liveness_threshold": 100})
        self.assertEqual(r.status, 200, r)
        body = faceauth(self.port, key, sid, self.selfie).json()
        self.assertEqual(body["auth_status"], "rejected", body)
        self.assertNotIn("face_compare_underscore", body["fail_code"], body)
        self.assertEqual(self.admin("GET", self.lockout_path(fa_id, sid)).json()["failures"], 0)
        r = self.admin("PUT", "/admin/v1/faceauth-projects/%s/policy" % fa_id, {"liveness_threshold": 0})
        self.assertEqual(r.status, 200, r)
        self.wrong_faces(key, sid, 1)
        self.assertLocked(faceauth(self.port, key, sid, self.selfie), 900)


class L2_LockoutWebhook(LockoutTest):

    @classmethod
    def prepare(cls):
        cls.receiver = Receiver()

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "receiver", None):
            cls.receiver.close()
        super().tearDownClass()

    def lockout_events(self, sid, count, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            with self.receiver.lock:
                got = [json.loads(b) for _, b in self.receiver.received]
            got = [e for e in got if e["webhook_trigger"] == "faceAuthLockout" and e["data"]["submission_id"] == sid]
            if len(got) >= count or time.monotonic() > deadline:
                return got
            time.sleep(0.05)

    def test_lock_and_unlock_are_told_by_webhook(self):
        kyc_id, _, fa_id, key, sid = self.project({"failures": 2, "window_seconds": 900, "lock_seconds": 600})
        r = self.admin("PUT", "/admin/v1/kyc-projects/%s/webhook" % kyc_id, {"url": self.receiver.url})
        self.assertEqual(r.status, 200, r)
        self.wrong_faces(key, sid, 1)
        last = self.assertRejectedSimilarity(faceauth(self.port, key, sid, self.other))
        got = self.lockout_events(sid, 1)
        self.assertEqual(len(got), 1, got)
        data = got[0]["data"]
        self.assertEqual((data["state"], data["faceauth_project_id"], data["failures"], data["authentication_id"]),
                         ("locked", fa_id, 2, last["authentication_id"]), data)
        self.assertEqual(data["time"], last["create_time"])
        self.assertRegex(data["locked_until"], test_api.ISO_MS)
        self.assertEqual(self.admin("DELETE", "/admin/v1/faceauth-projects/%s/lockouts/%s" % (fa_id, sid)).status, 200)
        got = self.lockout_events(sid, 2)
        self.assertEqual([e["data"]["state"] for e in got], ["locked", "unlocked"], got)
        # The faceAuth events of the attempts are there too, unchanged.
        with self.receiver.lock:
            triggers = [json.loads(b)["webhook_trigger"] for _, b in self.receiver.received]
        self.assertEqual(triggers.count("faceAuth"), 2, triggers)


class L3_AuthThrottle(ServerTest):
    server_args = ("--auth-failures-per-address", "3", "--auth-failure-window-ms", "60000",
                   "--auth-failure-block-ms", "2000")

    def from_address(self, address, path, headers):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30, source_address=(address, 0))
        try:
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            return test_api.Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            conn.close()

    def test_repeated_401s_from_one_address_are_throttled(self):
        key = {"x-api-key": self.demo["addon_key"]}
        path = "/v3/faceauth?authId=none"
        self.assertError(self.from_address("127.0.0.1", path, key), "Invalid_authId", 404)
        for _ in range(2):
            self.assertError(self.from_address("127.0.0.1", path, {"x-api-key": "fa_wrong"}), "Invalid_projectId", 401)
        self.assertError(self.from_address("127.0.0.1", "/admin/v1/kyc-projects", {"Authorization": "Bearer x"}),
                         "unauthorized", 401)
        # Blocked now, before the key is looked up: even the right key is refused.
        r = self.from_address("127.0.0.1", path, key)
        self.assertError(r, "too_many_requests", 429)
        retry = int(r.headers.get("retry-after", "0"))
        self.assertTrue(1 <= retry <= 2, r)
        self.assertEqual(self.from_address("127.0.0.1", "/health", {}).status, 200)
        # Another address is not blocked.
        self.assertError(self.from_address("127.0.0.2", path, key), "Invalid_authId", 404)
        # After the block the address is served again.
        time.sleep(retry)
        deadline = time.monotonic() + 10
        while True:
            r = self.from_address("127.0.0.1", path, key)
            if r.status != 429 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertError(r, "Invalid_authId", 404)


def main():
    global FACEAUTH_CLI
    argv = list(sys.argv)
    if len(argv) < 3 or not os.path.isfile(argv[1]) or not os.path.isfile(argv[2]):
        sys.stderr.write("usage: test_lockout.py PATH/TO/faceauthd PATH/TO/faceauth [unittest options]\n")
        return 2
    test_api.FACEAUTHD = os.path.abspath(argv.pop(1))
    FACEAUTH_CLI = os.path.abspath(argv.pop(1))
    program = unittest.main(argv=argv, exit=False, verbosity=2)
    return 0 if program.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
