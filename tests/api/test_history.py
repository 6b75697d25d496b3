#!/usr/bin/env python3
"""Black-box tests of attempt history, image retrieval, purge, retention and webhooks.

    /usr/bin/python3 tests/api/test_history.py path/to/faceauthd path/to/seed_attempts [unittest options]

Uses the server harness of test_api.py (its own faceauthd per class on loopback, fresh data dir).
The 5,000-attempt pagination test writes its attempts with tests/tools/seed_attempts (through the
same Store::insert_attempt the service uses: running the face engine 5,000 times would take
minutes on these machines); every other attempt here is a real POST /v3/faceauth. Webhook
receivers listen on 127.0.0.1 only. The signature is checked with the Python snippet of
docs/webhooks.md, read from that file.
"""

import base64
import http.server
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import unittest
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_api  # noqa: E402
from test_api import Faceauthd, ServerTest, call, faceauth, free_port  # noqa: E402

SEED_ATTEMPTS = None
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def documented_verifier():
    """verify_faceauth_webhook from the Python block of docs/webhooks.md."""
    with open(os.path.join(ROOT, "docs", "webhooks.md")) as f:
        text = f.read()
    block = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    scope = {}
    exec(compile(block, "docs/webhooks.md", "exec"), scope)
    return scope["verify_faceauth_webhook"]


def day_ms(text):
    return int(datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp() * 1000)


def iso_ms(ms):
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


class Receiver:
    """A webhook receiver on 127.0.0.1: records every POST; answers the queued statuses, then 200."""

    def __init__(self, port=0):
        self.received = []  # (headers with lower-case names, raw body)
        self.statuses = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d/hook" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def for_attempt(self, auth_id):
        with self.lock:
            return [(h, b) for h, b in self.received if json.loads(b)["data"]["authentication_id"] == auth_id]

    def wait_for(self, auth_id, count, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.for_attempt(auth_id)
            if len(got) >= count:
                return got
            time.sleep(0.05)
        return self.for_attempt(auth_id)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class HistoryTest(ServerTest):
    server_args = ("--retention-sweep-ms", "200", "--rate-limit-per-minute", "0")

    def tenant(self, retention=None):
        kyc_id, kyc_key, fa_id, addon_key = self.new_tenant()
        if retention is not None:
            r = self.admin("PUT", "/admin/v1/faceauth-projects/%s/policy" % fa_id, {"image_retention_days": retention})
            self.assertEqual(r.status, 200, r)
        sid = self.create_submission(kyc_key, approve=True)
        return kyc_id, fa_id, addon_key, sid

    def history(self, key, query, method="GET", path="/v3/faceauth"):
        headers = {} if key is None else {"x-api-key": key}
        return call(self.port, method, path + ("?" + query if query else ""), headers=headers)

    def record(self, key, auth_id):
        r = self.history(key, "authId=" + auth_id)
        self.assertEqual(r.status, 200, r)
        data = r.json()["data"]
        self.assertEqual(len(data), 1, data)
        return data[0]


class H1_History(HistoryTest):

    def seed(self, fa_id, count, first_ms, step_ms):
        out = subprocess.run([SEED_ATTEMPTS, os.path.join(self.server.data_dir, "faceauth.db"), fa_id, str(count),
                              str(first_ms), str(step_ms)], capture_output=True, text=True, timeout=300)
        self.assertEqual(out.returncode, 0, out.stderr)
        ids = out.stdout.split()
        self.assertEqual(len(ids), count)
        return ids

    def page_all(self, key, start, end, count):
        seen, query, pages = [], "startDate=%s&endDate=%s&count=%d" % (start, end, count), 0
        extra = ""
        while True:
            r = self.history(key, query + extra)
            self.assertEqual(r.status, 200, r)
            body = r.json()
            pages += 1
            self.assertLessEqual(len(body["data"]), count)
            seen.extend(body["data"])
            if "nextPage_key" not in body:
                return seen, pages
            self.assertEqual(len(body["data"]), count)
            nk = body["nextPage_key"]
            self.assertEqual(set(nk), {"nextKey_id", "nextKey_date"})
            extra = "&nextKey_id=%s&nextKey_date=%s" % (nk["nextKey_id"], nk["nextKey_date"])
            self.assertLess(pages, 1000)

    def test_pagination_5000_no_duplicates_no_misses(self):
        _, fa_id, key, _ = self.tenant()
        first = day_ms("2026-01-01") + 3_600_000
        started = time.monotonic()
        seeded = self.seed(fa_id, 5000, first, 150_000)  # 3 per millisecond, over ~2.9 days
        sys.stderr.write("\n  seeded 5000 attempts in %.1f s\n" % (time.monotonic() - started))
        other_key = self.tenant()[2]  # another tenant's attempts never show
        self.seed(self.new_tenant()[2], 10, first, 1)
        # the same set as one query of the database, in (create_time, auth_id) order
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.server.data_dir, "faceauth.db"), uri=True)
        truth = [row[0] for row in db.execute(
            "SELECT id FROM attempts WHERE faceauth_project_id = ? ORDER BY created_ms, id", (fa_id,))]
        self.assertEqual(sorted(truth), sorted(seeded))
        for count in (2000, 777):
            started = time.monotonic()
            records, pages = self.page_all(key, "2026-01-01", "2026-01-04", count)
            sys.stderr.write("  listed %d attempts in %d pages of %d in %.2f s\n"
                             % (len(records), pages, count, time.monotonic() - started))
            ids = [r["auth_id"] for r in records]
            self.assertEqual(len(ids), len(set(ids)), "duplicates with count=%d" % count)
            self.assertEqual(ids, truth, "misses or wrong order with count=%d" % count)
            self.assertEqual(pages, -(-5000 // count))
        # one UTC day: exactly the attempts created that day
        day = [r["auth_id"] for r in self.page_all(key, "2026-01-02", "2026-01-02", 2000)[0]]
        lo, hi = day_ms("2026-01-02"), day_ms("2026-01-03")
        expected = [row[0] for row in db.execute(
            "SELECT id FROM attempts WHERE faceauth_project_id = ? AND created_ms >= ? AND created_ms < ? "
            "ORDER BY created_ms, id", (fa_id, lo, hi))]
        db.close()
        self.assertEqual(day, expected)
        self.assertTrue(0 < len(day) < 5000)
        self.assertEqual(self.history(other_key, "startDate=2026-01-01&endDate=2026-01-04").json(), {"data": []})
        # records carry the vendor's fields
        rec = self.record(key, seeded[0])
        self.assertEqual(set(rec), {"faceAuth_projectId", "policy", "auth_id", "auth_status", "create_time",
                                    "submit_type", "kyc_submission_id", "delete_check", "result", "fail_code",
                                    "reject_comment", "userId", "cf1", "cf2", "cf3", "image_status"})
        self.assertEqual(rec["create_time"], iso_ms(first))
        self.assertEqual(rec["submit_type"], "api")
        self.assertEqual(rec["faceAuth_projectId"], fa_id)

    def test_errors(self):
        kyc_id, fa_id, key, sid = self.tenant()
        r = faceauth(self.port, key, sid, self.selfie)
        auth_id = self.assertApproved(r)["authentication_id"]
        other_key = self.tenant()[2]
        cases = [
            (None, "authId=" + auth_id, "required_field_missing", 400),
            ("fa_nope", "authId=" + auth_id, "Invalid_projectId", 401),
            (key, "", "required_field_missing", 400),
            (key, "startDate=2026-01-01", "required_field_missing", 400),
            (key, "endDate=2026-01-01", "required_field_missing", 400),
            (key, "startDate=2026-02-30&endDate=2026-03-01", "invalid_data_format", 400),
            (key, "startDate=2026-1-1&endDate=2026-01-02", "invalid_data_format", 400),
            (key, "startDate=2026-01-03&endDate=2026-01-02", "invalid_data_format", 400),
            (key, "startDate=2026-01-01&endDate=2026-01-02&count=0", "invalid_data_format", 400),
            (key, "startDate=2026-01-01&endDate=2026-01-02&count=2001", "invalid_data_format", 400),
            (key, "startDate=2026-01-01&endDate=2026-01-02&count=ten", "invalid_data_format", 400),
            (key, "startDate=2026-01-01&endDate=2026-01-02&nextKey_id=x", "required_field_missing", 400),
            (key, "startDate=2026-01-01&endDate=2026-01-02&nextKey_id=x&nextKey_date=yesterday",
             "invalid_data_format", 400),
            (key, "authId=no-such-attempt", "Invalid_authId", 404),
            (other_key, "authId=" + auth_id, "Invalid_authId", 404),
        ]
        for k, query, code, status in cases:
            with self.subTest(query=query, key=k):
                self.assertError(self.history(k, query), code, status)
        for method, path in (("GET", "/v3/faceauth/image"), ("DELETE", "/v3/faceauth")):
            with self.subTest(method=method, path=path):
                self.assertError(self.history(key, "", method, path), "required_field_missing", 400)
                self.assertError(self.history(None, "authId=" + auth_id, method, path), "required_field_missing", 400)
                self.assertError(self.history("fa_nope", "authId=" + auth_id, method, path), "Invalid_projectId", 401)
                self.assertError(self.history(other_key, "authId=" + auth_id, method, path), "Invalid_authId", 404)
        self.assertError(self.history(key, "authId=" + auth_id, "PUT", "/v3/faceauth/image"), "method_not_allowed", 405)
        # nothing was purged by the other tenant's DELETE
        self.assertEqual(self.history(key, "authId=" + auth_id, "GET", "/v3/faceauth/image").status, 200)

    def test_delete_then_image_is_404_and_record_stays(self):
        _, fa_id, key, sid = self.tenant()
        body = self.assertApproved(faceauth(self.port, key, sid, self.selfie,
                                            extra=(("userId", "u-77"), ("cf1", "x"), ("cf3", "z"))))
        auth_id = body["authentication_id"]
        r = self.history(key, "authId=" + auth_id, "GET", "/v3/faceauth/image")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(set(r.json()), {"auth_id", "faceImage"})
        self.assertEqual(base64.b64decode(r.json()["faceImage"]), self.selfie)
        before = self.record(key, auth_id)
        self.assertEqual((before["userId"], before["cf1"], before["cf3"]), ("u-77", "x", "z"))
        self.assertEqual((before["delete_check"], before["image_status"]), (False, "stored"))
        self.assertEqual(before["result"], body["score"])
        self.assertEqual(before["create_time"], body["create_time"])

        r = self.history(key, "authId=" + auth_id, "DELETE")
        self.assertEqual((r.status, r.json()), (200, {"message": "success"}), r)
        self.assertError(self.history(key, "authId=" + auth_id, "GET", "/v3/faceauth/image"), "Invalid_authId", 404)
        after = self.record(key, auth_id)
        self.assertTrue(after["delete_check"])
        self.assertEqual(after["image_status"], "deleted")
        self.assertEqual((after["userId"], after["cf1"], after["cf2"], after["cf3"]), ("", "", "", ""))
        for field in ("auth_id", "auth_status", "create_time", "result", "kyc_submission_id", "policy"):
            self.assertEqual(after[field], before[field], field)
        # it still lists in its day, and a second DELETE finds nothing left to purge
        day = body["create_time"][:10]
        listed = self.history(key, "startDate=%s&endDate=%s" % (day, day)).json()["data"]
        self.assertIn(auth_id, [x["auth_id"] for x in listed])
        self.assertTrue([x for x in listed if x["auth_id"] == auth_id][0]["delete_check"])
        self.assertError(self.history(key, "authId=" + auth_id, "DELETE"), "Invalid_authId", 404)
        # nothing of the image or personal data is left in the database file's row
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.server.data_dir, "faceauth.db"), uri=True)
        row = db.execute("SELECT length(image_sealed), user_id, cf1, cf3 FROM attempts WHERE id = ?", (auth_id,)).fetchone()
        db.close()
        self.assertEqual(row, (0, "", "", ""))

    def test_retention_off_and_sweeper(self):
        _, fa_id, key, sid = self.tenant(retention=0)
        auth_id = self.assertApproved(faceauth(self.port, key, sid, self.selfie))["authentication_id"]
        self.assertError(self.history(key, "authId=" + auth_id, "GET", "/v3/faceauth/image"), "Invalid_authId", 404)
        rec = self.record(key, auth_id)
        self.assertEqual((rec["image_status"], rec["delete_check"]), ("not_stored", False))

        _, fa_id, key, sid = self.tenant(retention=30)
        auth_id = self.assertApproved(faceauth(self.port, key, sid, self.selfie))["authentication_id"]
        self.assertEqual(self.history(key, "authId=" + auth_id, "GET", "/v3/faceauth/image").status, 200)
        time.sleep(0.6)  # several sweeps: a 30-day retention keeps it
        self.assertEqual(self.record(key, auth_id)["image_status"], "stored")
        # retention 0 from now on: the sweeper purges what was kept
        r = self.admin("PUT", "/admin/v1/faceauth-projects/%s/policy" % fa_id, {"image_retention_days": 0})
        self.assertEqual(r.status, 200, r)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.record(key, auth_id)["image_status"] != "expired":
            time.sleep(0.1)
        rec = self.record(key, auth_id)
        self.assertEqual((rec["image_status"], rec["delete_check"], rec["auth_status"]), ("expired", False, "approved"))
        self.assertError(self.history(key, "authId=" + auth_id, "GET", "/v3/faceauth/image"), "Invalid_authId", 404)


class H2_Webhooks(HistoryTest):
    server_args = ("--webhook-backoff-ms", "200", "--webhook-backoff-max-ms", "400", "--webhook-max-attempts", "4",
                   "--webhook-poll-ms", "100", "--rate-limit-per-minute", "0")

    @classmethod
    def prepare(cls):
        cls.receiver = Receiver()
        cls.verify = staticmethod(documented_verifier())

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "receiver", None):
            cls.receiver.close()
        super().tearDownClass()

    def hooked_tenant(self):
        kyc_id, fa_id, key, sid = self.tenant()
        r = self.admin("PUT", "/admin/v1/kyc-projects/%s/webhook" % kyc_id, {"url": self.receiver.url})
        self.assertEqual(r.status, 200, r)
        secret = r.json()["secret"]
        self.assertTrue(secret.startswith("whsec_"))
        shown = self.admin("GET", "/admin/v1/kyc-projects/%s/webhook" % kyc_id).json()
        self.assertEqual(shown, {"kyc_project_id": kyc_id, "url": self.receiver.url, "has_secret": True})
        return kyc_id, key, sid, secret

    def deliveries(self, kyc_id):
        r = self.admin("GET", "/admin/v1/kyc-projects/%s/webhook/deliveries" % kyc_id)
        self.assertEqual(r.status, 200, r)
        return r.json()["deliveries"]

    def test_delivered_once_signed(self):
        kyc_id, key, sid, secret = self.hooked_tenant()
        body = self.assertApproved(faceauth(self.port, key, sid, self.selfie, extra=(("userId", "w-1"), ("cf2", "b"))))
        auth_id = body["authentication_id"]
        got = self.receiver.wait_for(auth_id, 1)
        time.sleep(1.0)  # longer than the poll interval and the backoff: no second delivery
        got = self.receiver.for_attempt(auth_id)
        self.assertEqual(len(got), 1, got)
        headers, raw = got[0]
        self.assertTrue(self.verify(secret, headers, raw))
        self.assertEqual(json.loads(raw), {"webhook_trigger": "faceAuth", "data": {
            "authentication_id": auth_id, "submission_id": sid, "auth_status": "approved",
            "create_time": body["create_time"], "user_id": "w-1", "cf1": "", "cf2": "b", "cf3": ""}})
        log = self.deliveries(kyc_id)
        self.assertEqual(len(log), 1, log)
        self.assertEqual((log[0]["attempt"], log[0]["http_status"], log[0]["event_state"], log[0]["error"]),
                         (1, 200, "delivered", ""))
        self.assertEqual(log[0]["event_id"], headers["x-faceauth-event-id"])
        self.assertEqual(log[0]["authentication_id"], auth_id)

    def test_redelivered_after_two_500s(self):
        kyc_id, key, sid, secret = self.hooked_tenant()
        with self.receiver.lock:
            self.receiver.statuses[:] = [500, 500]
        auth_id = self.assertRejectedSimilarity(faceauth(self.port, key, sid, self.other))["authentication_id"]
        got = self.receiver.wait_for(auth_id, 3)
        time.sleep(1.0)
        got = self.receiver.for_attempt(auth_id)
        self.assertEqual(len(got), 3, got)
        self.assertEqual(len({h["x-faceauth-event-id"] for h, _ in got}), 1)
        self.assertEqual(len({b for _, b in got}), 1)
        self.assertTrue(all(self.verify(secret, h, b) for h, b in got))
        self.assertEqual(json.loads(got[0][1])["data"]["auth_status"], "rejected")
        log = self.deliveries(kyc_id)
        self.assertEqual([(d["attempt"], d["http_status"], d["event_state"]) for d in log],
                         [(1, 500, "pending"), (2, 500, "pending"), (3, 200, "delivered")])

    def test_gives_up_after_max_attempts(self):
        kyc_id, key, sid, _ = self.hooked_tenant()
        with self.receiver.lock:
            self.receiver.statuses[:] = [503] * 10
        auth_id = self.assertApproved(faceauth(self.port, key, sid, self.selfie))["authentication_id"]
        self.receiver.wait_for(auth_id, 4)
        time.sleep(1.0)
        with self.receiver.lock:
            self.receiver.statuses[:] = []
        self.assertEqual(len(self.receiver.for_attempt(auth_id)), 4)
        self.assertEqual([d["event_state"] for d in self.deliveries(kyc_id)], ["pending"] * 3 + ["failed"])

    def test_forged_and_stale_signatures_are_detected(self):
        kyc_id, key, sid, secret = self.hooked_tenant()
        auth_id = self.assertApproved(faceauth(self.port, key, sid, self.selfie))["authentication_id"]
        headers, raw = self.receiver.wait_for(auth_id, 1)[0]
        ts = int(headers["x-faceauth-timestamp"])
        self.assertTrue(self.verify(secret, headers, raw))
        self.assertFalse(self.verify("whsec_wrong", headers, raw), "another secret")
        self.assertFalse(self.verify(secret, headers, raw.replace(b"approved", b"rejected")), "altered body")
        moved = dict(headers, **{"x-faceauth-timestamp": str(ts + 1)})
        self.assertFalse(self.verify(secret, moved, raw), "timestamp changed without re-signing")
        self.assertFalse(self.verify(secret, headers, raw, now=ts + 301), "stale: replayed after 5 minutes")
        self.assertTrue(self.verify(secret, headers, raw, now=ts + 299))
        forged = dict(headers, **{"x-faceauth-signature": "v1=" + "0" * 64})
        self.assertFalse(self.verify(secret, forged, raw), "forged signature")

    def test_management_errors_and_removal(self):
        kyc_id, key, sid, _ = self.hooked_tenant()
        for url in ("https://127.0.0.1/x", "ftp://a", "http://", "http://a b/", "http://user@host/", "http://h:0/",
                    "http://h:99999/", "http://h/#frag"):
            with self.subTest(url=url):
                self.assertError(self.admin("PUT", "/admin/v1/kyc-projects/%s/webhook" % kyc_id, {"url": url}),
                                 "invalid_data_format", 400)
        # As every admin route answers a missing field of its JSON body.
        self.assertError(self.admin("PUT", "/admin/v1/kyc-projects/%s/webhook" % kyc_id, {}),
                         "invalid_data_format", 400)
        self.assertError(self.admin("PUT", "/admin/v1/kyc-projects/%s/webhook" % kyc_id,
                                    {"url": self.receiver.url, "secret": "short"}), "invalid_data_format", 400)
        self.assertError(self.admin("GET", "/admin/v1/kyc-projects/nope/webhook"), "not_found", 404)
        self.assertError(self.admin("GET", "/admin/v1/kyc-projects/%s/webhook/deliveries?limit=0" % kyc_id),
                         "invalid_data_format", 400)
        # a caller's own secret is used and not echoed
        mine = "my-own-secret-of-32-characters!!"
        r = self.admin("PUT", "/admin/v1/kyc-projects/%s/webhook" % kyc_id, {"url": self.receiver.url, "secret": mine})
        self.assertEqual(r.status, 200, r)
        self.assertNotIn("secret", r.json())
        auth_id = self.assertApproved(faceauth(self.port, key, sid, self.selfie))["authentication_id"]
        headers, raw = self.receiver.wait_for(auth_id, 1)[0]
        self.assertTrue(self.verify(mine, headers, raw))
        # removed: no more events
        r = self.admin("DELETE", "/admin/v1/kyc-projects/%s/webhook" % kyc_id)
        self.assertEqual(r.status, 200, r)
        auth_id = self.assertApproved(faceauth(self.port, key, sid, self.selfie))["authentication_id"]
        time.sleep(0.8)
        self.assertEqual(self.receiver.for_attempt(auth_id), [])
        self.assertNotIn(self.receiver.url, self.server.output())  # nor any secret: URLs are not logged either


class H3_WebhookAfterSigkill(HistoryTest):
    server_args = ("--webhook-backoff-ms", "300", "--webhook-backoff-max-ms", "300", "--webhook-max-attempts", "50",
                   "--webhook-poll-ms", "100")

    def test_event_survives_sigkill_before_delivery(self):
        kyc_id, fa_id, key, sid = self.tenant()
        port = free_port()  # nothing listens there yet: every try fails until the receiver starts
        r = self.admin("PUT", "/admin/v1/kyc-projects/%s/webhook" % kyc_id, {"url": "http://127.0.0.1:%d/hook" % port})
        secret = r.json()["secret"]
        auth_id = self.assertApproved(faceauth(self.port, key, sid, self.selfie))["authentication_id"]
        self.server.proc.send_signal(signal.SIGKILL)
        self.server.proc.wait(30)
        self.server.log.close()
        receiver = Receiver(port)
        try:
            self.server.demo_expected = False
            self.server.start()
            type(self).port = self.port = self.server.port
            got = receiver.wait_for(auth_id, 1, timeout=30)
            time.sleep(1.0)
            got = receiver.for_attempt(auth_id)
            self.assertEqual(len(got), 1, got)
            self.assertTrue(documented_verifier()(secret, got[0][0], got[0][1]))
            log = self.deliveries_of(kyc_id)
            self.assertEqual(log[-1]["event_state"], "delivered")
            self.assertTrue(all(d["http_status"] == 0 and d["error"] for d in log[:-1]), log)
        finally:
            receiver.close()

    def deliveries_of(self, kyc_id):
        return self.admin("GET", "/admin/v1/kyc-projects/%s/webhook/deliveries" % kyc_id).json()["deliveries"]


def main():
    global SEED_ATTEMPTS
    argv = list(sys.argv)
    if len(argv) < 3 or not os.path.isfile(argv[1]) or not os.path.isfile(argv[2]):
        sys.stderr.write("usage: test_history.py PATH/TO/faceauthd PATH/TO/seed_attempts [unittest options]\n")
        return 2
    test_api.FACEAUTHD = os.path.abspath(argv.pop(1))
    SEED_ATTEMPTS = os.path.abspath(argv.pop(1))
    program = unittest.main(argv=argv, exit=False, verbosity=2)
    return 0 if program.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
