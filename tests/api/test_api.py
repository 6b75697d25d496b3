#!/usr/bin/env python3
"""Black-box tests of faceauthd over loopback HTTP (Python 3 standard library only).

    /usr/bin/python3 tests/api/test_api.py path/to/faceauthd [unittest options]
    FACEAUTHD=path/to/faceauthd /usr/bin/python3 tests/api/test_api.py

Each test class starts its own faceauthd on 127.0.0.1 (a free port picked by binding port 0)
with a fresh temporary --data-dir, waits for /health and the first-run demo (DATA_DIR/demo.json),
and stops it with SIGTERM at the end, asserting exit code 0. The server finds its models and the
face-api demo photo through its defaults (the set-up cache ${FACEAUTH_CACHE:-~/.cache/faceauth});
FACEAUTH_CACHE, FACEAUTH_MODELS and FACEAUTH_DEMO_PHOTO are passed through, every other
FACEAUTH_* variable is removed so that it cannot change the server under test.

Malformed requests go over raw sockets; the outcome of each corpus case (status and errorCode,
or "closed" when the server closed the connection without an answer) is printed at the end.
"""

import base64
import concurrent.futures
import http.client
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid
import zlib

FACEAUTHD = None
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ERROR_KEYS = {"errorCode", "message", "traceId"}
PASS_THROUGH = {"FACEAUTH_CACHE", "FACEAUTH_MODELS", "FACEAUTH_DEMO_PHOTO"}
CORPUS_LOG = []  # (case, outcome) of the malformed-request corpus, printed at the end


# ---------------------------------------------------------------------------------------------
# Images, made here (no image files are kept in the repository)
# ---------------------------------------------------------------------------------------------

def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_header_only(width, height):
    """A PNG whose IHDR declares width x height, with a tiny (wrong) IDAT: the size is in the header."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) +
            _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _png_chunk(b"IEND", b""))


def png_rgb(width, height, pixel=(128, 128, 128), pattern=False):
    """A valid 8-bit RGB PNG: one colour, or a simple pattern."""
    rows = []
    for y in range(height):
        if pattern:
            row = bytes(((x * 16 + y * 8) & 255, (x * 7) & 255, (y * 13) & 255)[c] for x in range(width) for c in range(3))
        else:
            row = bytes(pixel) * width
        rows.append(b"\x00" + row)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) +
            _png_chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + _png_chunk(b"IEND", b""))


def png_bomb(width, height):
    """A small, valid greyscale PNG of zeros that inflates to width*height bytes."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    parts = [compressor.compress(row) for _ in range(height)]
    parts.append(compressor.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) +
            _png_chunk(b"IDAT", b"".join(parts)) + _png_chunk(b"IEND", b""))


def jpeg_with_declared_size(jpeg, width, height):
    """The JPEG with its SOFn frame header rewritten to declare width x height."""
    data = bytearray(jpeg)
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ValueError("not a marker at %d" % pos)
        marker = data[pos + 1]
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            struct.pack_into(">HH", data, pos + 5, height, width)
            return bytes(data)
        pos += 2 + length
    raise ValueError("no SOF marker")


# ---------------------------------------------------------------------------------------------
# HTTP helpers
# ---------------------------------------------------------------------------------------------

def vendor_client_reads(test, body):
    """What a client typed after the vendor's document (5-3) reads: the vendor's fields with their
    types, `score` an object of numbers only (face_similarity_score, occluded_score, ...: 0-100),
    fail_code and rejected_comment arrays of strings when rejected. Other top-level fields (ours,
    e.g. `quality`) are allowed; a `score` value that is not a number is not."""
    test.assertIsInstance(body.get("authentication_id"), str, body)
    test.assertIn(body.get("auth_status"), ("approved", "rejected"), body)
    test.assertRegex(body.get("create_time", ""), ISO_MS)
    test.assertIsInstance(body.get("score"), dict, body)
    test.assertIn("face_similarity_score", body["score"], body)
    for name, value in body["score"].items():
        test.assertTrue(isinstance(value, (int, float)) and not isinstance(value, bool), (name, body))
        test.assertTrue(0 <= value <= 100, (name, body))
    if body["auth_status"] == "rejected":
        for field in ("fail_code", "rejected_comment"):
            test.assertTrue(isinstance(body.get(field), list) and body[field], body)
            test.assertTrue(all(isinstance(v, str) for v in body[field]), body)
    else:
        test.assertNotIn("fail_code", body, body)


class Resp:
    def __init__(self, status, headers, body, reason=""):
        self.status = status
        self.headers = headers  # lower-case name -> value (last one wins)
        self.body = body
        self.reason = reason

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "Resp(%d, %r, %r)" % (self.status, self.headers, self.body[:400])


def call(port, method, path, body=None, headers=None, timeout=60):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, data, r.reason)
    finally:
        conn.close()


def multipart(fields, boundary=None):
    """fields: (name, value) for text, (name, value, filename[, content_type]) for files."""
    boundary = boundary or "faceauthtest" + uuid.uuid4().hex
    b = boundary.encode()
    out = []
    for f in fields:
        name = f[0].encode() if isinstance(f[0], str) else f[0]
        value = f[1].encode() if isinstance(f[1], str) else f[1]
        disposition = b'Content-Disposition: form-data; name="' + name + b'"'
        if len(f) > 2:
            disposition += b'; filename="' + f[2].encode() + b'"'
        out.append(b"--" + b + b"\r\n" + disposition + b"\r\n")
        if len(f) > 3:
            out.append(b"Content-Type: " + f[3].encode() + b"\r\n")
        out.append(b"\r\n" + value + b"\r\n")
    out.append(b"--" + b + b"--\r\n")
    return b"".join(out), "multipart/form-data; boundary=" + boundary


def faceauth(port, key, submission_id, image, extra=(), headers=None, timeout=60):
    fields = []
    if submission_id is not None:
        fields.append(("submissionId", submission_id))
    if image is not None:
        fields.append(("faceImage", image, "face.jpg", "image/jpeg"))
    fields.extend(extra)
    body, content_type = multipart(fields)
    h = {"Content-Type": content_type}
    if key is not None:
        h["x-api-key"] = key
    h.update(headers or {})
    return call(port, "POST", "/v3/faceauth", body, h, timeout)


class PrefixedSocket:
    """A socket whose first recv() returns bytes already read from it."""

    def __init__(self, sock, prefix):
        self.sock, self.prefix = sock, prefix

    def recv(self, n):
        if self.prefix:
            data, self.prefix = self.prefix, b""
            return data
        return self.sock.recv(n)

    def settimeout(self, t):
        self.sock.settimeout(t)


def read_response(sock, deadline):
    """Reads one HTTP response (skipping 1xx) from a socket; None when closed before any byte."""
    buf = b""
    while True:
        while b"\r\n\r\n" not in buf:
            chunk = _recv(sock, deadline)
            if not chunk:
                if buf:
                    raise AssertionError("connection closed inside a response head: %r" % buf[:200])
                return None
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        status = int(parts[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        if 100 <= status < 200:
            buf = rest
            continue
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                while b"\r\n" not in rest:
                    rest += _recv(sock, deadline) or _closed()
                size_line, _, rest = rest.partition(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                while len(rest) < size + 2:
                    rest += _recv(sock, deadline) or _closed()
                body += rest[:size]
                rest = rest[size + 2:]
                if size == 0:
                    break
        elif "content-length" in headers:
            length = int(headers["content-length"])
            while len(rest) < length:
                rest += _recv(sock, deadline) or _closed()
            body, rest = rest[:length], rest[length:]
        else:
            while True:
                chunk = _recv(sock, deadline)
                if not chunk:
                    break
                rest += chunk
            body, rest = rest, b""
        resp = Resp(status, headers, body)
        resp.leftover = rest
        return resp


def _closed():
    raise AssertionError("connection closed inside a response body")


def _recv(sock, deadline):
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise AssertionError("no response before the deadline: the server hangs")
    sock.settimeout(remaining)
    try:
        return sock.recv(65536)
    except ConnectionResetError:
        return b""
    except socket.timeout:
        raise AssertionError("no response before the deadline: the server hangs")


def raw_exchange(port, data, shut_wr=False, timeout=30, pause=0.0, after=b""):
    """Sends raw bytes (in a thread, so a server that answers early and closes cannot block us)
    and reads one response. Returns a Resp or None when the server closed without answering."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    deadline = time.monotonic() + timeout

    def send():
        try:
            sock.sendall(data)
            if pause:
                time.sleep(pause)
            if after:
                sock.sendall(after)
            if shut_wr:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        return read_response(sock, deadline)
    finally:
        sender.join(timeout)
        sock.close()


def raw_request(method, target, headers=(), body=b"", version=b"HTTP/1.1", content_length=True):
    lines = [method + b" " + target + b" " + version, b"Host: 127.0.0.1"]
    lines.extend(headers)
    if content_length and body is not None:
        lines.append(b"Content-Length: %d" % len(body))
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# The server under test
# ---------------------------------------------------------------------------------------------

class Faceauthd:
    def __init__(self, data_dir, extra=(), demo=True):
        self.data_dir = data_dir
        self.extra = list(extra)
        self.demo_expected = demo
        self.proc = None
        self.port = None
        self.starts = 0

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("FACEAUTH_") or k in PASS_THROUGH}
        return env

    def start(self, timeout=180):
        last_error = None
        for _ in range(3):
            self.port = free_port()
            self.starts += 1
            self.log_path = os.path.join(os.path.dirname(self.data_dir), "faceauthd-%d-%d.log" % (self.port, self.starts))
            self.log = open(self.log_path, "wb")
            self.proc = subprocess.Popen(
                [FACEAUTHD, "--data-dir", self.data_dir, "--bind", "127.0.0.1", "--port", str(self.port)] + self.extra,
                stdout=self.log, stderr=subprocess.STDOUT, env=self.env())
            try:
                self._wait_ready(timeout)
                return self
            except RuntimeError as e:  # e.g. the port was taken in between: try another one
                last_error = e
                if self.proc.poll() is None:
                    self.proc.kill()
                    self.proc.wait()
                self.log.close()
        raise RuntimeError("faceauthd did not start: %s" % last_error)

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("faceauthd exited with %s:\n%s" % (self.proc.returncode, self.output()[-3000:]))
            try:
                if call(self.port, "GET", "/health", timeout=5).status == 200:
                    if not self.demo_expected or self._demo_ready():
                        return
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.05)
        raise RuntimeError("faceauthd not ready after %ds:\n%s" % (timeout, self.output()[-3000:]))

    def _demo_ready(self):
        try:
            with open(os.path.join(self.data_dir, "demo.json")) as f:
                json.load(f)
            return True
        except (OSError, ValueError):
            return False

    def demo(self):
        with open(os.path.join(self.data_dir, "demo.json")) as f:
            return json.load(f)

    def output(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self, timeout=30):
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = "hung after SIGTERM (killed)"
        self.log.close()
        return rc

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


class ServerTest(unittest.TestCase):
    """A test class with its own faceauthd (started once for the class)."""
    server_args = ()
    server = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="faceauth-api-test-")
        cls.server = Faceauthd(os.path.join(cls.tmp, "data"), cls.server_args).start()
        cls.port = cls.server.port
        cls.demo = cls.server.demo()
        with open(cls.demo["selfie"], "rb") as f:
            cls.selfie = f.read()
        with open(cls.demo["other_person"], "rb") as f:
            cls.other = f.read()
        cls.admin_headers = {"Authorization": "Bearer " + cls.demo["admin_token"]}
        try:
            cls.prepare()
        except BaseException:
            # unittest skips tearDownClass when setUpClass fails: stop the server here.
            cls.tearDownClass()
            raise

    @classmethod
    def prepare(cls):
        """What a test class adds once its server runs (fixtures)."""

    @classmethod
    def tearDownClass(cls):
        server = cls.server
        rc = server.stop() if server else None
        output = server.output() if server else ""
        shutil.rmtree(cls.tmp, ignore_errors=True)
        if rc != 0:
            raise AssertionError("faceauthd exit code after SIGTERM: %r\n%s" % (rc, output[-3000:]))

    def setUp(self):
        self.assertTrue(self.server.alive(), "faceauthd is not running:\n" + self.server.output()[-3000:])

    # -- helpers ---------------------------------------------------------------------------

    def assertError(self, resp, code, status):
        self.assertEqual(resp.status, status, resp)
        self.assertTrue(resp.headers.get("content-type", "").startswith("application/json"), resp)
        body = resp.json()
        self.assertEqual(set(body), ERROR_KEYS, body)
        self.assertEqual(body["errorCode"], code, body)
        self.assertIsInstance(body["message"], str)
        self.assertTrue(body["message"], body)
        self.assertTrue(body["traceId"], body)
        self.assertEqual(resp.headers.get("x-request-id"), body["traceId"], resp)
        return body

    def assertApproved(self, resp):
        self.assertEqual(resp.status, 200, resp)
        body = resp.json()
        self.assertEqual(body["auth_status"], "approved", body)
        self.assertEqual(set(body) - {"quality"}, {"authentication_id", "auth_status", "create_time", "score"}, body)
        self.assertRegex(body["create_time"], ISO_MS)
        self.assertEqual(set(body["score"]), {"face_similarity_score"}, body)
        vendor_client_reads(self, body)
        self.assertTrue(resp.headers.get("x-request-id"), resp)
        return body

    def assertRejectedSimilarity(self, resp):
        self.assertEqual(resp.status, 200, resp)
        body = resp.json()
        self.assertEqual(body["auth_status"], "rejected", body)
        self.assertEqual(body["fail_code"], ["face_compare_underscore"], body)
        self.assertEqual(body["rejected_comment"], ["Face compare similarity score is lower than the threshold"], body)
        self.assertEqual(set(body["score"]), {"face_similarity_score"}, body)
        self.assertRegex(body["create_time"], ISO_MS)
        self.assertTrue(body["authentication_id"])
        vendor_client_reads(self, body)
        return body

    def admin(self, method, path, payload=None, headers=None, body=None):
        h = dict(self.admin_headers)
        if payload is not None:
            body = json.dumps(payload).encode()
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        return call(self.port, method, path, body, h)

    def new_tenant(self, name=None, policy=None):
        """A KYC project and a FaceAuth project under it: (kyc_id, kyc_key, fa_id, addon_key)."""
        name = name or "tenant-" + uuid.uuid4().hex[:8]
        r = self.admin("POST", "/admin/v1/kyc-projects", {"name": name})
        self.assertEqual(r.status, 201, r)
        kyc = r.json()
        payload = {"kyc_project_id": kyc["project"]["id"], "name": name + "-door"}
        if policy is not None:
            payload["policy"] = policy
        r = self.admin("POST", "/admin/v1/faceauth-projects", payload)
        self.assertEqual(r.status, 201, r)
        fa = r.json()
        return kyc["project"]["id"], kyc["kyc_key"], fa["project"]["id"], fa["addon_key"]

    def new_faceauth_project(self, kyc_id, policy=None):
        payload = {"kyc_project_id": kyc_id, "name": "door-" + uuid.uuid4().hex[:8]}
        if policy is not None:
            payload["policy"] = policy
        r = self.admin("POST", "/admin/v1/faceauth-projects", payload)
        self.assertEqual(r.status, 201, r)
        return r.json()["project"]["id"], r.json()["addon_key"]

    def create_submission(self, kyc_key, image=None, user_id="user-1", cf1="c1", approve=False):
        body, ct = multipart([("selfieImage", image or self.selfie, "selfie.jpg", "image/jpeg"),
                              ("userId", user_id), ("cf1", cf1)])
        r = call(self.port, "POST", "/v3/submissions", body, {"Content-Type": ct, "x-api-key": kyc_key})
        self.assertEqual(r.status, 201, r)
        sid = r.json()["submissionId"]
        if approve:
            r = call(self.port, "POST", "/v3/submissions/%s/approve" % sid, b"", {"x-api-key": kyc_key})
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["status"], "approved", r)
        return sid


# ---------------------------------------------------------------------------------------------
# The demo, the error table of POST /v3/faceauth, request ids, health and metrics
# ---------------------------------------------------------------------------------------------

class A1_DemoAndErrors(ServerTest):

    def test_demo_json_fields(self):
        for key in ("admin_token", "kyc_key", "addon_key", "submission_id", "base_url", "kyc_project_id",
                    "faceauth_project_id", "selfie", "other_person"):
            self.assertTrue(self.demo.get(key), key)
        self.assertEqual(self.demo["base_url"], "http://127.0.0.1:%d" % self.port)
        self.assertTrue(os.path.isfile(self.demo["selfie"]))
        self.assertTrue(os.path.isfile(self.demo["other_person"]))
        self.assertEqual(os.stat(os.path.join(self.server.data_dir, "demo.json")).st_mode & 0o077, 0)

    def test_demo_selfie_approved(self):
        r = faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], self.selfie)
        body = self.assertApproved(r)
        self.assertTrue(body["authentication_id"])
        score = body["score"]["face_similarity_score"]
        self.assertTrue(70 <= score <= 100, body)

    def test_demo_other_person_rejected(self):
        r = faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], self.other)
        body = self.assertRejectedSimilarity(r)
        self.assertEqual(set(body), {"authentication_id", "auth_status", "create_time", "score", "fail_code",
                                     "rejected_comment", "quality"})
        self.assertTrue(0 <= body["score"]["face_similarity_score"] < 70, body)

    def test_score_has_one_decimal(self):
        # Contract: "Scores are 0-100 with one decimal".
        for image in (self.selfie, self.other):
            body = faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], image).json()
            score = body["score"]["face_similarity_score"]
            self.assertEqual(score, round(score, 1), "face_similarity_score %r has more than one decimal" % score)

    def test_authentication_ids_unique_and_optional_fields(self):
        extra = [("userId", "user-42"), ("cf1", "a"), ("cf2", "b"), ("cf3", "c")]
        ids = {self.assertApproved(faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"],
                                            self.selfie, extra))["authentication_id"] for _ in range(3)}
        self.assertEqual(len(ids), 3)

    # -- required_field_missing -----------------------------------------------------------

    def test_required_no_api_key(self):
        self.assertError(faceauth(self.port, None, self.demo["submission_id"], self.selfie),
                         "required_field_missing", 400)

    def test_required_empty_api_key(self):
        self.assertError(faceauth(self.port, "", self.demo["submission_id"], self.selfie),
                         "required_field_missing", 400)

    def test_required_no_submission_id(self):
        self.assertError(faceauth(self.port, self.demo["addon_key"], None, self.selfie),
                         "required_field_missing", 400)

    def test_required_empty_submission_id(self):
        self.assertError(faceauth(self.port, self.demo["addon_key"], "", self.selfie),
                         "required_field_missing", 400)

    def test_required_no_face_image(self):
        self.assertError(faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], None),
                         "required_field_missing", 400)

    # -- invalid_data_format --------------------------------------------------------------

    def test_invalid_not_multipart(self):
        r = call(self.port, "POST", "/v3/faceauth", b"submissionId=x",
                 {"Content-Type": "application/x-www-form-urlencoded", "x-api-key": self.demo["addon_key"]})
        self.assertError(r, "invalid_data_format", 400)

    def test_invalid_no_content_type(self):
        r = call(self.port, "POST", "/v3/faceauth", b"hello", {"x-api-key": self.demo["addon_key"]})
        self.assertError(r, "invalid_data_format", 400)

    def test_invalid_json_body(self):
        payload = json.dumps({"submissionId": self.demo["submission_id"],
                              "faceImage": base64.b64encode(self.selfie).decode()}).encode()
        r = call(self.port, "POST", "/v3/faceauth", payload,
                 {"Content-Type": "application/json", "x-api-key": self.demo["addon_key"]})
        self.assertError(r, "invalid_data_format", 400)

    def test_invalid_malformed_multipart(self):
        body, ct = multipart([("submissionId", self.demo["submission_id"]), ("faceImage", self.selfie, "f.jpg")])
        r = call(self.port, "POST", "/v3/faceauth", body[:-10],
                 {"Content-Type": ct, "x-api-key": self.demo["addon_key"]})
        self.assertError(r, "invalid_data_format", 400)

    def test_invalid_duplicated_field(self):
        r = faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], self.selfie,
                     [("submissionId", self.demo["submission_id"])])
        self.assertError(r, "invalid_data_format", 400)

    def test_invalid_non_utf8_user_id(self):
        r = faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], self.selfie,
                     [("userId", b"caf\xe9")])
        self.assertError(r, "invalid_data_format", 400)

    def test_invalid_non_utf8_field_name(self):
        # The name is not echoed (it is not text): 400, never a 5xx from writing the error body.
        for name, value in ((b"user\xffId", b"x"), (b"\xc3(", b"x"), (b"faceImage\xe9", b"x"),
                            (b"\xff\xfe", b"caf\xe9"), (b"n\xff", b"v" * 300)):  # the last two once answered 503
            with self.subTest(name=name):
                extra = [(name, value, "x.jpg")] if name.startswith(b"faceImage") else [(name, value)]
                r = faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], self.selfie, extra)
                body = self.assertError(r, "invalid_data_format", 400)
                self.assertNotIn("\ufffd", body["message"])
        body, ct = multipart([("selfieImage", self.selfie, "s.jpg", "image/jpeg"), (b"e\xffmail", b"x")])
        r = call(self.port, "POST", "/v3/submissions", body, {"Content-Type": ct, "x-api-key": self.demo["kyc_key"]})
        self.assertError(r, "invalid_data_format", 400)

    def test_unknown_non_utf8_field_value_is_not_echoed(self):
        r = faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], self.selfie,
                     [("x\u00e9tra", b"caf\xe9")])
        body = self.assertError(r, "invalid_data_format", 400)
        self.assertNotIn("x\u00e9tra", body["message"])

    def test_text_that_a_store_cannot_keep_is_refused(self):
        # A NUL or bytes that are not UTF-8, anywhere a client sends text: PostgreSQL's text can
        # hold neither (it answered 500, or kept "a" of "a\0b"), so both stores refuse them.
        r = faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], self.selfie,
                     [("userId", b"alice\x00x")])
        self.assertError(r, "invalid_data_format", 400)
        body, ct = multipart([("selfieImage", self.selfie, "s.jpg", "image/jpeg"), ("userId", b"a\x00b")])
        r = call(self.port, "POST", "/v3/submissions", body, {"Content-Type": ct, "x-api-key": self.demo["kyc_key"]})
        self.assertError(r, "invalid_data_format", 400)
        for path in ("/v3/submissions?userId=%ff", "/v3/submissions?userId=a%00b", "/v3/submissions/%ff"):
            with self.subTest(path=path):
                r = call(self.port, "GET", path, None, {"x-api-key": self.demo["kyc_key"]})
                self.assertError(r, "invalid_data_format", 400)
        for method, path in (("DELETE", "/admin/v1/users/%ff"), ("POST", "/admin/v1/kyc-projects/%ff/rotate-key"),
                             ("GET", "/admin/v1/faceauth-projects/a%00b")):
            with self.subTest(path=path):
                self.assertError(self.admin(method, path), "invalid_data_format", 400)
        for payload in ({"name": "a\u0000b"}, {"name": "x", "webhook_url": "http://127.0.0.1:9/a\u0000b"}):
            with self.subTest(payload=payload):
                self.assertError(self.admin("POST", "/admin/v1/kyc-projects", payload), "invalid_data_format", 400)
        names = [p["name"] for p in self.admin("GET", "/admin/v1/kyc-projects").json()["projects"]]
        self.assertNotIn("a", names)
        # The dashboard's rename of a FaceAuth project takes the same text rule.
        path = "/admin/v1/faceauth-projects/" + self.demo["faceauth_project_id"]
        for name in (5, "", "n" * 257, "a\u0000b"):
            with self.subTest(rename=name):
                self.assertError(self.admin("PUT", path, {"name": name}), "invalid_data_format", 400)
        before = self.admin("GET", path).json()["name"]
        self.assertEqual(self.admin("PUT", path, {"name": "\u00e9" * 128}).status, 200)
        self.assertEqual(self.admin("GET", path).json()["name"], "\u00e9" * 128)
        self.assertEqual(self.admin("PUT", path, {"name": before}).status, 200)

    def test_try_it_reads_its_form_by_the_api_rule(self):
        # The dashboard's try-it takes the same multipart rule as POST /v3/faceauth.
        path = "/admin/v1/faceauth-projects/%s/try-it" % self.demo["faceauth_project_id"]
        image = ("faceImage", self.selfie, "face.jpg", "image/jpeg")
        sid = ("submissionId", self.demo["submission_id"])
        cases = (([sid, image, (b"a\x00b", "x")], "invalid_data_format", 400),
                 ([sid, image, ("cf1", b"\xff\xfe")], "invalid_data_format", 400),
                 ([("submissionId", "s" * 257), image], "invalid_data_format", 400),
                 ([sid, image, ("userId", b"u\x00")], "invalid_data_format", 400),
                 ([image], "required_field_missing", 400),
                 ([sid], "required_field_missing", 400))
        for fields, code, status in cases:
            with self.subTest(fields=[f[0] for f in fields]):
                body, ct = multipart(fields)
                self.assertError(self.admin("POST", path, headers={"Content-Type": ct}, body=body), code, status)
        r = self.admin("POST", path, headers={"Content-Type": "application/json"}, body=b"{}")
        self.assertError(r, "invalid_data_format", 400)
        body, ct = multipart([sid, image, ("userId", "\u00e9" * 128)])
        r = self.admin("POST", path, headers={"Content-Type": ct}, body=body)
        self.assertEqual(r.status, 200, r.body[:300])
        self.assertEqual(r.json()["auth_status"], "approved")
        self.assertEqual(len(r.json()["face"]["landmarks"]), 68)

    def test_invalid_user_id_over_256_bytes(self):
        r = faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], self.selfie,
                     [("userId", "u" * 257)])
        self.assertError(r, "invalid_data_format", 400)
        # 256 bytes (here 128 two-byte characters) are still accepted
        r = faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], self.selfie,
                     [("userId", "\u00e9" * 128)])
        self.assertApproved(r)

    # -- Invalid_projectId ----------------------------------------------------------------

    def test_project_unknown_key(self):
        r = faceauth(self.port, "fa_" + uuid.uuid4().hex, self.demo["submission_id"], self.selfie)
        self.assertError(r, "Invalid_projectId", 401)

    def test_project_kyc_key_is_not_an_addon_key(self):
        r = faceauth(self.port, self.demo["kyc_key"], self.demo["submission_id"], self.selfie)
        self.assertError(r, "Invalid_projectId", 401)

    def test_project_admin_token_is_not_an_addon_key(self):
        r = faceauth(self.port, self.demo["admin_token"], self.demo["submission_id"], self.selfie)
        self.assertError(r, "Invalid_projectId", 401)

    # -- Invalid_submissionId -------------------------------------------------------------

    def test_submission_unknown_id(self):
        r = faceauth(self.port, self.demo["addon_key"], uuid.uuid4().hex, self.selfie)
        self.assertError(r, "Invalid_submissionId", 404)

    def test_submission_id_with_odd_characters(self):
        for sid in ("../" + self.demo["submission_id"], self.demo["submission_id"] + "' OR '1'='1", "%"):
            r = faceauth(self.port, self.demo["addon_key"], sid, self.selfie)
            self.assertError(r, "Invalid_submissionId", 404)

    # -- invalid_submission_status --------------------------------------------------------

    def test_status_pending_and_rejected(self):
        sid = self.create_submission(self.demo["kyc_key"])
        r = faceauth(self.port, self.demo["addon_key"], sid, self.selfie)
        self.assertError(r, "invalid_submission_status", 409)
        r = call(self.port, "POST", "/v3/submissions/%s/reject" % sid, b"", {"x-api-key": self.demo["kyc_key"]})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["status"], "rejected")
        r = faceauth(self.port, self.demo["addon_key"], sid, self.selfie)
        self.assertError(r, "invalid_submission_status", 409)

    # -- image errors ---------------------------------------------------------------------

    def test_image_too_large_declared_pixels(self):
        r = faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], png_header_only(10000, 10000))
        self.assertError(r, "image_too_large", 413)

    def test_image_too_large_declared_jpeg_50mp(self):
        image = jpeg_with_declared_size(self.selfie, 8000, 6250)
        r = faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], image)
        self.assertError(r, "image_too_large", 413)

    def test_image_too_large_bytes(self):
        # Over the decoder's 15 MiB byte limit, under the 20 MiB body limit.
        image = self.selfie + b"\x00" * (16 * 1024 * 1024)
        r = faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], image)
        self.assertError(r, "image_too_large", 413)

    def test_image_converting_text(self):
        r = faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], b"this is not an image\n")
        self.assertError(r, "image_converting_error", 415)

    def test_image_converting_base64(self):
        r = faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], base64.b64encode(self.selfie))
        self.assertError(r, "image_converting_error", 415)

    def test_image_converting_truncated_jpeg(self):
        r = faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], self.selfie[:len(self.selfie) // 2])
        self.assertError(r, "image_converting_error", 415)

    def test_image_converting_empty_file(self):
        r = faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], b"")
        self.assertError(r, "image_converting_error", 415)

    def test_image_converting_pdf(self):
        r = faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"],
                     b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
        self.assertError(r, "image_converting_error", 415)

    def test_image_processing_tiny_png(self):
        r = faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], png_rgb(16, 16, pattern=True))
        self.assertError(r, "image_processing_error", 422)

    def test_no_face_grey_png(self):
        r = faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], png_rgb(640, 480))
        self.assertError(r, "no_face", 422)

    def test_error_order_status_before_image(self):
        # An unknown submission is reported before the image is even looked at.
        r = faceauth(self.port, self.demo["addon_key"], uuid.uuid4().hex, b"not an image")
        self.assertError(r, "Invalid_submissionId", 404)

    # -- request ids ----------------------------------------------------------------------

    def test_request_id_on_every_response(self):
        for path in ("/health", "/ready", "/metrics", "/no/such/route"):
            r = call(self.port, "GET", path)
            self.assertTrue(r.headers.get("x-request-id"), (path, r))
        r = faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], self.selfie)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers.get("x-request-id"))
        r2 = faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], self.selfie)
        self.assertNotEqual(r.headers["x-request-id"], r2.headers["x-request-id"])
        r = self.admin("GET", "/admin/v1/kyc-projects")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers.get("x-request-id"))
        r = call(self.port, "GET", "/v3/faceauth")
        self.assertEqual(r.headers.get("x-request-id"), r.json()["traceId"])

    def test_client_request_id_is_echoed(self):
        r = faceauth(self.port, "nope", self.demo["submission_id"], self.selfie, headers={"x-request-id": "client-id-1"})
        body = self.assertError(r, "Invalid_projectId", 401)
        self.assertEqual(body["traceId"], "client-id-1")
        # The same rule on the dashboard's routes: 1-64 of A-Z a-z 0-9 - _, else a new id.
        r = self.admin("GET", "/admin/v1/faceauth-projects/" + uuid.uuid4().hex, headers={"x-request-id": "Client_id-2"})
        self.assertEqual(self.assertError(r, "not_found", 404)["traceId"], "Client_id-2")
        for given in ("a" * 65, "has space", "semi;colon", "caf\u00e9"):
            with self.subTest(given=given):
                r = call(self.port, "GET", "/v3/faceauth", None, {"x-request-id": given.encode("utf-8")})
                self.assertRegex(r.headers["x-request-id"], "^[0-9a-f]{32}$")
                r = self.admin("GET", "/admin/v1/faceauth-projects/x", headers={"x-request-id": given.encode("utf-8")})
                self.assertRegex(r.headers["x-request-id"], "^[0-9a-f]{32}$")

    # -- health, ready, metrics -----------------------------------------------------------

    def test_health_ready(self):
        r = call(self.port, "GET", "/health")
        self.assertEqual(r.status, 200, r)
        r = call(self.port, "GET", "/ready")
        self.assertEqual(r.status, 200, r)

    def test_vendor_client_reads_our_answers(self):
        # The default policy measures quality: the measurements are a top-level `quality`, and
        # `score` (the vendor's object) holds only numbers.
        for image, status in ((self.selfie, "approved"), (self.other, "rejected")):
            body = faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], image).json()
            vendor_client_reads(self, body)
            self.assertEqual(body["auth_status"], status, body)
            self.assertEqual(set(body["quality"]), QUALITY_FIELDS, body)
            self.assertNotIn("quality", body["score"], body)
            record = call(self.port, "GET", "/v3/faceauth?authId=" + body["authentication_id"],
                          headers={"x-api-key": self.demo["addon_key"]}).json()["data"][0]
            self.assertEqual(record["result"], body["score"], record)
            self.assertEqual(record["quality"], body["quality"], record)

    def test_metrics(self):
        self.assertApproved(faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], self.selfie))
        r = call(self.port, "GET", "/metrics")
        self.assertEqual(r.status, 200, r)
        text = r.body.decode()
        self.assertIn('faceauth_requests_total{route="faceauth",status="200"}', text)
        self.assertIn("faceauth_stage_seconds", text)
        m = re.search(r'^faceauth_requests_total\{route="faceauth",status="200"\} (\d+)$', text, re.M)
        self.assertTrue(m and int(m.group(1)) >= 1, text[:2000])


# ---------------------------------------------------------------------------------------------
# Management API, tenant isolation, policies, concurrency
# ---------------------------------------------------------------------------------------------

class A2_Management(ServerTest):
    # A long engine wait: test_concurrent_32 checks that 32 simultaneous requests are all
    # answered correctly; with the default 3 s wait, 32 requests on 2 engines of a loaded
    # 2-core machine (e.g. a compile running beside the tests) can legitimately get a 503.
    # test_admin_requires_token sends 32 bad tokens in a few seconds, over the default 401
    # throttle (30 a minute per address, tests/api/test_lockout.py tests it): raised here.
    server_args = ("--engine-wait-ms", "60000", "--auth-failures-per-address", "1000")

    def test_auto_approval_when_id_photo_and_selfie_match(self):
        kyc_id, kyc_key, _, addon_key = self.new_tenant()
        r = self.admin("PUT", "/admin/v1/kyc-projects/" + kyc_id, {"auto_approve_threshold": 50})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["auto_approve_threshold"], 50, r)
        results = {}
        for name, id_image in (("same", self.selfie), ("other", self.other)):
            body, ct = multipart([("selfieImage", self.selfie, "selfie.jpg", "image/jpeg"),
                                  ("idImage", id_image, "id.jpg", "image/jpeg"), ("userId", name)])
            r = call(self.port, "POST", "/v3/submissions", body, {"Content-Type": ct, "x-api-key": kyc_key})
            self.assertEqual(r.status, 201, r)
            results[name] = r.json()
        self.assertEqual(results["same"]["status"], "approved", results)
        self.assertTrue(results["same"]["auto_approval"]["approved"], results)
        self.assertEqual(results["other"]["status"], "pending", results)
        self.assertFalse(results["other"]["auto_approval"]["approved"], results)
        self.assertLess(results["other"]["auto_approval"]["id_selfie_score"], 50, results)
        # the auto-approved submission authenticates at once
        self.assertApproved(faceauth(self.port, addon_key, results["same"]["submissionId"], self.selfie))
        # a selfie alone stays pending even with auto-approval on
        sid = self.create_submission(kyc_key)
        r = call(self.port, "GET", "/v3/submissions/" + sid, None, {"x-api-key": kyc_key})
        self.assertEqual(r.json()["status"], "pending", r)
        r = self.admin("PUT", "/admin/v1/kyc-projects/" + kyc_id, {"auto_approve_threshold": 101})
        self.assertError(r, "invalid_data_format", 400)

    def test_admin_requires_token(self):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer "},
                        {"Authorization": self.demo["admin_token"]},
                        {"Authorization": "Basic " + self.demo["admin_token"]},
                        {"Authorization": "Bearer " + self.demo["kyc_key"]},
                        {"Authorization": "Bearer " + self.demo["addon_key"]},
                        {"x-api-key": self.demo["admin_token"]}):
            for method, path, body in (("GET", "/admin/v1/kyc-projects", None),
                                       ("POST", "/admin/v1/kyc-projects", b'{"name": "x"}'),
                                       ("GET", "/admin/v1/faceauth-projects/%s/policy" % self.demo["faceauth_project_id"], None),
                                       ("POST", "/admin/v1/faceauth-projects/%s/rotate-key" % self.demo["faceauth_project_id"], b"")):
                r = call(self.port, method, path, body, headers)
                self.assertError(r, "unauthorized", 401)
        # nothing was created or rotated by those requests
        self.assertApproved(faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], self.selfie))

    def test_keys_returned_once(self):
        kyc_id, kyc_key, fa_id, addon_key = self.new_tenant()
        self.assertNotEqual(kyc_key, addon_key)
        for path in ("/admin/v1/kyc-projects", "/admin/v1/faceauth-projects", "/admin/v1/faceauth-projects/" + fa_id,
                     "/admin/v1/faceauth-projects/%s/policy" % fa_id,
                     "/admin/v1/faceauth-projects?kyc_project_id=" + kyc_id):
            r = self.admin("GET", path)
            self.assertEqual(r.status, 200, (path, r))
            self.assertNotIn(kyc_key.encode(), r.body, path)
            self.assertNotIn(addon_key.encode(), r.body, path)
        listed = self.admin("GET", "/admin/v1/faceauth-projects?kyc_project_id=" + kyc_id).json()["projects"]
        self.assertEqual([p["id"] for p in listed], [fa_id])
        self.assertIn(kyc_id, [p["id"] for p in self.admin("GET", "/admin/v1/kyc-projects").json()["projects"]])

    def test_full_lifecycle(self):
        kyc_id, kyc_key, fa_id, addon_key = self.new_tenant()
        # submission by multipart with the KYC key
        body, ct = multipart([("selfieImage", self.selfie, "selfie.jpg", "image/jpeg"), ("userId", "alice"),
                              ("cf1", "badge-7")])
        r = call(self.port, "POST", "/v3/submissions", body, {"Content-Type": ct, "x-api-key": kyc_key})
        self.assertEqual(r.status, 201, r)
        sub = r.json()
        self.assertEqual((sub["status"], sub["userId"], sub["cf1"], sub["has_selfie"]), ("pending", "alice", "badge-7", True))
        self.assertRegex(sub["create_time"], ISO_MS)
        sid = sub["submissionId"]
        # the same with the admin token
        body, ct = multipart([("selfieImage", self.selfie, "selfie.jpg", "image/jpeg"), ("userId", "bob"),
                              ("cf1", "badge-8")])
        r = call(self.port, "POST", "/admin/v1/kyc-projects/%s/submissions" % kyc_id, body,
                 dict(self.admin_headers, **{"Content-Type": ct}))
        self.assertEqual(r.status, 201, r)
        sid2 = r.json()["submissionId"]
        self.assertEqual(r.json()["userId"], "bob")
        # GET
        r = call(self.port, "GET", "/v3/submissions/" + sid, headers={"x-api-key": kyc_key})
        self.assertEqual((r.status, r.json()["submissionId"], r.json()["status"]), (200, sid, "pending"), r)
        r = self.admin("GET", "/admin/v1/kyc-projects/%s/submissions/%s" % (kyc_id, sid2))
        self.assertEqual((r.status, r.json()["userId"]), (200, "bob"), r)
        # pending: 409
        self.assertError(faceauth(self.port, addon_key, sid, self.selfie), "invalid_submission_status", 409)
        # approve, authenticate
        r = call(self.port, "POST", "/v3/submissions/%s/approve" % sid, b"", {"x-api-key": kyc_key})
        self.assertEqual((r.status, r.json()["status"]), (200, "approved"), r)
        self.assertApproved(faceauth(self.port, addon_key, sid, self.selfie))
        self.assertRejectedSimilarity(faceauth(self.port, addon_key, sid, self.other))
        r = self.admin("POST", "/admin/v1/kyc-projects/%s/submissions/%s/approve" % (kyc_id, sid2))
        self.assertEqual((r.status, r.json()["status"]), (200, "approved"), r)
        self.assertApproved(faceauth(self.port, addon_key, sid2, self.selfie))
        # reject
        r = call(self.port, "POST", "/v3/submissions/%s/reject" % sid, b"", {"x-api-key": kyc_key})
        self.assertEqual((r.status, r.json()["status"]), (200, "rejected"), r)
        self.assertError(faceauth(self.port, addon_key, sid, self.selfie), "invalid_submission_status", 409)
        # delete
        r = call(self.port, "DELETE", "/v3/submissions/" + sid, headers={"x-api-key": kyc_key})
        self.assertEqual((r.status, r.json()), (200, {"message": "success"}), r)
        self.assertError(call(self.port, "GET", "/v3/submissions/" + sid, headers={"x-api-key": kyc_key}),
                         "Invalid_submissionId", 404)
        self.assertError(call(self.port, "DELETE", "/v3/submissions/" + sid, headers={"x-api-key": kyc_key}),
                         "Invalid_submissionId", 404)
        self.assertError(faceauth(self.port, addon_key, sid, self.selfie), "Invalid_submissionId", 404)
        r = self.admin("DELETE", "/admin/v1/kyc-projects/%s/submissions/%s" % (kyc_id, sid2))
        self.assertEqual(r.status, 200, r)
        self.assertError(faceauth(self.port, addon_key, sid2, self.selfie), "Invalid_submissionId", 404)

    def test_submission_errors(self):
        kyc_id, kyc_key, _, _ = self.new_tenant()
        body, ct = multipart([("userId", "nobody")])
        r = call(self.port, "POST", "/v3/submissions", body, {"Content-Type": ct, "x-api-key": kyc_key})
        self.assertError(r, "required_field_missing", 400)
        body, ct = multipart([("selfieImage", png_rgb(640, 480), "grey.png", "image/png")])
        r = call(self.port, "POST", "/v3/submissions", body, {"Content-Type": ct, "x-api-key": kyc_key})
        self.assertError(r, "no_face", 422)
        r = call(self.port, "POST", "/v3/submissions", b"{}", {"Content-Type": "application/json", "x-api-key": kyc_key})
        self.assertError(r, "invalid_data_format", 400)
        r = call(self.port, "GET", "/v3/submissions")
        self.assertError(r, "required_field_missing", 400)
        r = call(self.port, "GET", "/v3/submissions", headers={"x-api-key": "kyc_nope"})
        self.assertError(r, "Invalid_projectId", 401)
        r = call(self.port, "GET", "/v3/submissions", headers={"x-api-key": self.demo["addon_key"]})
        self.assertError(r, "Invalid_projectId", 401)
        for query in ("limit=0", "limit=1001", "limit=abc", "limit=99999999999", "limit=1e3", "limit=-5",
                      "limit=%205", "limit=5x", "limit=99999999999999999999999", "status=done"):
            r = call(self.port, "GET", "/v3/submissions?" + query, headers={"x-api-key": kyc_key})
            message = self.assertError(r, "invalid_data_format", 400)["message"]
            if query.startswith("limit"):  # a message a person understands, not the parser's ("stoi")
                self.assertIn("limit is a whole number from 1 to 1000", message, query)
        r = self.admin("GET", "/admin/v1/kyc-projects/%s/submissions" % uuid.uuid4().hex)
        self.assertError(r, "not_found", 404)

    def test_reference_face_rule(self):
        # The reference is the selfie when there is one, else the face on the ID card (vendor rule).
        kyc_id, kyc_key, fa_id, addon_key = self.new_tenant()
        made = {}
        for label, fields in (("both", [("selfieImage", self.other, "s.jpg", "image/jpeg"),
                                        ("idImage", self.selfie, "id.jpg", "image/jpeg")]),
                              ("id_only", [("idImage", self.selfie, "id.jpg", "image/jpeg")])):
            body, ct = multipart(fields)
            r = call(self.port, "POST", "/v3/submissions", body, {"Content-Type": ct, "x-api-key": kyc_key})
            self.assertEqual(r.status, 201, r)
            made[label] = r.json()
            call(self.port, "POST", "/v3/submissions/%s/approve" % r.json()["submissionId"], b"", {"x-api-key": kyc_key})
        self.assertEqual((made["both"]["reference"], made["both"]["has_selfie"], made["both"]["has_id_image"]),
                         ("selfie", True, True))
        self.assertEqual((made["id_only"]["reference"], made["id_only"]["has_selfie"]), ("id", False))
        self.assertApproved(faceauth(self.port, addon_key, made["both"]["submissionId"], self.other))
        self.assertRejectedSimilarity(faceauth(self.port, addon_key, made["both"]["submissionId"], self.selfie))
        self.assertApproved(faceauth(self.port, addon_key, made["id_only"]["submissionId"], self.selfie))

    def test_list_keyset_pagination(self):
        kyc_id, kyc_key, _, _ = self.new_tenant()
        made = sorted(self.create_submission(kyc_key, user_id="u%d" % i) for i in range(5))
        seen, after, pages = [], None, 0
        while True:
            path = "/v3/submissions?limit=2" + ("&after=" + after if after else "")
            r = call(self.port, "GET", path, headers={"x-api-key": kyc_key})
            self.assertEqual(r.status, 200, r)
            body = r.json()
            ids = [s["submissionId"] for s in body["submissions"]]
            self.assertLessEqual(len(ids), 2)
            seen.extend(ids)
            pages += 1
            self.assertLess(pages, 10)
            if "next_after" not in body:
                break
            self.assertEqual(body["next_after"], ids[-1])
            after = body["next_after"]
        self.assertEqual(seen, made)  # every submission once, in id order
        # the admin route lists the same
        r = self.admin("GET", "/admin/v1/kyc-projects/%s/submissions?limit=1000" % kyc_id)
        self.assertEqual([s["submissionId"] for s in r.json()["submissions"]], made)
        # filters
        call(self.port, "POST", "/v3/submissions/%s/approve" % made[1], b"", {"x-api-key": kyc_key})
        r = call(self.port, "GET", "/v3/submissions?status=approved", headers={"x-api-key": kyc_key})
        self.assertEqual([s["submissionId"] for s in r.json()["submissions"]], [made[1]])
        r = call(self.port, "GET", "/v3/submissions?status=pending&limit=10", headers={"x-api-key": kyc_key})
        self.assertEqual(len(r.json()["submissions"]), 4)
        uid = [s for s in self.admin("GET", "/admin/v1/kyc-projects/%s/submissions" % kyc_id).json()["submissions"]
               if s["submissionId"] == made[3]][0]["userId"]
        r = call(self.port, "GET", "/v3/submissions?userId=" + uid, headers={"x-api-key": kyc_key})
        self.assertEqual([s["submissionId"] for s in r.json()["submissions"]], [made[3]])

    def test_rotate_addon_key(self):
        kyc_id, kyc_key, fa_id, addon_key = self.new_tenant()
        sid = self.create_submission(kyc_key, approve=True)
        self.assertApproved(faceauth(self.port, addon_key, sid, self.selfie))
        r = self.admin("POST", "/admin/v1/faceauth-projects/%s/rotate-key" % fa_id)
        self.assertEqual(r.status, 200, r)
        new_key = r.json()["addon_key"]
        self.assertNotEqual(new_key, addon_key)
        self.assertError(faceauth(self.port, addon_key, sid, self.selfie), "Invalid_projectId", 401)
        self.assertApproved(faceauth(self.port, new_key, sid, self.selfie))
        r = self.admin("POST", "/admin/v1/faceauth-projects/%s/rotate-key" % uuid.uuid4().hex)
        self.assertError(r, "not_found", 404)

    def test_rotate_kyc_key(self):
        kyc_id, kyc_key, fa_id, addon_key = self.new_tenant()
        r = self.admin("POST", "/admin/v1/kyc-projects/%s/rotate-key" % kyc_id)
        self.assertEqual(r.status, 200, r)
        new_key = r.json()["kyc_key"]
        self.assertError(call(self.port, "GET", "/v3/submissions", headers={"x-api-key": kyc_key}),
                         "Invalid_projectId", 401)
        self.assertEqual(call(self.port, "GET", "/v3/submissions", headers={"x-api-key": new_key}).status, 200)

    def test_policy_get_put(self):
        fa_id, addon_key = self.new_faceauth_project(self.demo["kyc_project_id"])
        path = "/admin/v1/faceauth-projects/%s/policy" % fa_id
        r = self.admin("GET", path)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["policy"]["faceSimilarity_threshold"], 70)
        self.assertApproved(faceauth(self.port, addon_key, self.demo["submission_id"], self.selfie))
        r = self.admin("PUT", path, {"faceSimilarity_threshold": 99.9})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["policy"]["faceSimilarity_threshold"], 99.9)
        self.assertEqual(self.admin("GET", path).json()["policy"]["faceSimilarity_threshold"], 99.9)
        self.assertRejectedSimilarity(faceauth(self.port, addon_key, self.demo["submission_id"], self.selfie))
        r = self.admin("PUT", path, {"faceSimilarity_threshold": 50})
        self.assertEqual(r.status, 200, r)
        self.assertApproved(faceauth(self.port, addon_key, self.demo["submission_id"], self.selfie))
        # the demo project's own policy was not touched
        self.assertApproved(faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], self.selfie))

    def test_policy_warns_of_a_required_face_cover(self):
        fa_id, _ = self.new_faceauth_project(self.demo["kyc_project_id"])
        path = "/admin/v1/faceauth-projects/%s/policy" % fa_id
        self.assertEqual(self.admin("GET", path).json()["policy_warnings"], [])
        r = self.admin("PUT", path, {"liveness_threshold": 50})
        self.assertEqual((r.status, r.json()["policy_warnings"]), (200, []), r)
        r = self.admin("PUT", path, {"faceCover_threshold": 50})
        self.assertEqual(r.status, 200, r)  # accepted and applied, with the warnings beside it
        self.assertEqual(r.json()["policy"]["faceCover_threshold"], 50)
        both = ["face_cover_lowers_similarity", "face_cover_with_liveness"]
        self.assertEqual([w["code"] for w in r.json()["policy_warnings"]], both)
        listed = [p for p in self.admin("GET", "/admin/v1/faceauth-projects").json()["projects"] if p["id"] == fa_id]
        self.assertEqual([w["code"] for w in listed[0]["policy_warnings"]], both)
        r = self.admin("PUT", path, {"liveness_threshold": 0})
        self.assertEqual([w["code"] for w in r.json()["policy_warnings"]], ["face_cover_lowers_similarity"])
        r = self.admin("PUT", path, {"faceCover_threshold": 0})
        self.assertEqual(r.json()["policy_warnings"], [])

    def test_policy_shows_the_quality_limits_applied(self):
        fa_id, _ = self.new_faceauth_project(self.demo["kyc_project_id"])
        path = "/admin/v1/faceauth-projects/%s/policy" % fa_id
        policy = self.admin("PUT", path, {"headCover_threshold": 50}).json()["policy"]
        self.assertEqual((policy["quality"]["min_eye_distance_px"], policy["quality"]["min_landmark_fit"]), (20, 0))
        applied = policy["quality_applied"]
        self.assertEqual((applied["min_eye_distance_px"], applied["max_pitch"], applied["min_landmark_fit"]), (30, 30, 0.55))
        again = self.admin("PUT", path, {"policy": policy})  # what GET gave, sent back: read only, nothing changes
        self.assertEqual((again.status, again.json()["policy"]), (200, policy), again)

    def test_policy_bad_values(self):
        fa_id, _ = self.new_faceauth_project(self.demo["kyc_project_id"])
        path = "/admin/v1/faceauth-projects/%s/policy" % fa_id
        for change in ({"faceSimilarity_threshold": 101}, {"faceSimilarity_threshold": -1},
                       {"faceSimilarity_threshold": "high"}, [1, 2]):
            r = self.admin("PUT", path, change)
            self.assertError(r, "invalid_data_format", 400)
        r = call(self.port, "PUT", path, b"{not json", dict(self.admin_headers, **{"Content-Type": "application/json"}))
        self.assertError(r, "invalid_data_format", 400)
        r = self.admin("PUT", "/admin/v1/faceauth-projects/%s/policy" % uuid.uuid4().hex, {"faceSimilarity_threshold": 60})
        self.assertError(r, "not_found", 404)

    def test_create_project_errors(self):
        r = self.admin("POST", "/admin/v1/kyc-projects", {})
        self.assertError(r, "invalid_data_format", 400)
        r = self.admin("POST", "/admin/v1/kyc-projects", {"name": 5})
        self.assertError(r, "invalid_data_format", 400)
        r = self.admin("POST", "/admin/v1/faceauth-projects", {"kyc_project_id": uuid.uuid4().hex, "name": "x"})
        self.assertError(r, "not_found", 404)

    def test_tenant_isolation(self):
        a_sub = self.demo["submission_id"]
        b_kyc, b_kyc_key, b_fa, b_addon = self.new_tenant()
        b_sub = self.create_submission(b_kyc_key, approve=True)
        self.assertApproved(faceauth(self.port, b_addon, b_sub, self.selfie))
        # B's add-on key with A's submission id: exactly like an unknown id
        cross = faceauth(self.port, b_addon, a_sub, self.selfie)
        unknown = faceauth(self.port, b_addon, "%032x" % int(uuid.uuid4().hex, 16), self.selfie)
        unknown_same_length = faceauth(self.port, b_addon, "0" * len(a_sub), self.selfie)
        for other in (unknown, unknown_same_length):
            c, u = self.assertError(cross, "Invalid_submissionId", 404), self.assertError(other, "Invalid_submissionId", 404)
            self.assertEqual(cross.body.replace(c["traceId"].encode(), b"TRACE"),
                             other.body.replace(u["traceId"].encode(), b"TRACE"))
            strip = lambda h: {k: v for k, v in h.items() if k not in ("x-request-id", "date")}
            self.assertEqual(strip(cross.headers), strip(other.headers))
        # A's add-on key with B's submission id
        self.assertError(faceauth(self.port, self.demo["addon_key"], b_sub, self.selfie), "Invalid_submissionId", 404)
        # B's KYC key cannot read, approve, reject or delete A's submission
        h = {"x-api-key": b_kyc_key}
        self.assertError(call(self.port, "GET", "/v3/submissions/" + a_sub, headers=h), "Invalid_submissionId", 404)
        for action in ("approve", "reject"):
            r = call(self.port, "POST", "/v3/submissions/%s/%s" % (a_sub, action), b"", h)
            self.assertError(r, "Invalid_submissionId", 404)
        self.assertError(call(self.port, "DELETE", "/v3/submissions/" + a_sub, headers=h), "Invalid_submissionId", 404)
        listed = call(self.port, "GET", "/v3/submissions?limit=1000", headers=h).json()["submissions"]
        self.assertEqual([s["submissionId"] for s in listed], [b_sub])
        # the admin route under B's project does not reach A's submission either
        r = self.admin("GET", "/admin/v1/kyc-projects/%s/submissions/%s" % (b_kyc, a_sub))
        self.assertError(r, "Invalid_submissionId", 404)
        # A is untouched
        r = call(self.port, "GET", "/v3/submissions/" + a_sub, headers={"x-api-key": self.demo["kyc_key"]})
        self.assertEqual((r.status, r.json()["status"]), (200, "approved"), r)
        self.assertApproved(faceauth(self.port, self.demo["addon_key"], a_sub, self.selfie))

    def test_concurrent_32(self):
        body, ct = multipart([("submissionId", self.demo["submission_id"]),
                              ("faceImage", self.selfie, "face.jpg", "image/jpeg")])
        headers = {"Content-Type": ct, "x-api-key": self.demo["addon_key"]}
        barrier = threading.Barrier(32)

        def one(_):
            barrier.wait(30)
            return call(self.port, "POST", "/v3/faceauth", body, headers, timeout=120)

        with concurrent.futures.ThreadPoolExecutor(32) as pool:
            results = list(pool.map(one, range(32)))
        ids = set()
        for r in results:
            ids.add(self.assertApproved(r)["authentication_id"])
        self.assertEqual(len(ids), 32)


# ---------------------------------------------------------------------------------------------
# Limits: a 1 MiB body limit, one engine with a 1 ms wait (saturation), a 2 s read timeout
# ---------------------------------------------------------------------------------------------

class A3_Limits(ServerTest):
    server_args = ("--workers", "1", "--engine-wait-ms", "1", "--max-body-mb", "1", "--read-timeout-ms", "2000")

    def test_body_over_limit(self):
        body, ct = multipart([("submissionId", self.demo["submission_id"]),
                              ("faceImage", self.selfie + b"\x00" * (1200 * 1024), "face.jpg", "image/jpeg")])
        self.assertGreater(len(body), 1024 * 1024)
        data = raw_request(b"POST", b"/v3/faceauth", [b"Content-Type: " + ct.encode(),
                                                       b"x-api-key: " + self.demo["addon_key"].encode()], body)
        r = raw_exchange(self.port, data)
        self.assertIsNotNone(r, "closed without an answer")
        self.assertError(r, "image_too_large", 413)
        self.assertEqual(call(self.port, "GET", "/health").status, 200)

    def test_body_under_limit_ok(self):
        r = faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], self.selfie)
        self.assertIn(r.status, (200, 503), r)

    def test_saturation_503(self):
        body, ct = multipart([("submissionId", self.demo["submission_id"]),
                              ("faceImage", self.selfie, "face.jpg", "image/jpeg")])
        data = raw_request(b"POST", b"/v3/faceauth", [b"Content-Type: " + ct.encode(),
                                                       b"x-api-key: " + self.demo["addon_key"].encode()], body)
        statuses = []
        for attempt in range(5):  # robust against a lucky schedule: a few rounds
            socks = [socket.create_connection(("127.0.0.1", self.port), timeout=60) for _ in range(8)]
            barrier = threading.Barrier(8)
            results = [None] * 8

            def one(i):
                barrier.wait(10)
                socks[i].sendall(data)
                results[i] = read_response(socks[i], time.monotonic() + 60)

            threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(90)
            for s in socks:
                s.close()
            for r in results:
                self.assertIsNotNone(r)
                if r.status == 503:
                    self.assertError(r, "detection_server_error", 503)
                else:
                    self.assertApproved(r)
            statuses = [r.status for r in results]
            if 503 in statuses and 200 in statuses:
                break
        self.assertIn(503, statuses, "no 503 in %d rounds of 8 concurrent requests" % (attempt + 1))
        self.assertIn(200, statuses)

    def test_read_timeout(self):
        # Headers announce 1000 bytes, 10 arrive, then nothing: answered or closed after ~2 s.
        head = raw_request(b"POST", b"/v3/faceauth", [b"Content-Type: multipart/form-data; boundary=x",
                                                      b"x-api-key: k", b"Content-Length: 1000"], None,
                           content_length=False)
        started = time.monotonic()
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        try:
            sock.sendall(head + b"0123456789")
            r = read_response(sock, time.monotonic() + 15)
        finally:
            sock.close()
        elapsed = time.monotonic() - started
        self.assertLess(elapsed, 10, "the read timeout of 2 s was not applied")
        if r is not None:
            self.assertError(r, "invalid_data_format", 400)
        self.assertEqual(call(self.port, "GET", "/health").status, 200)


# ---------------------------------------------------------------------------------------------
# Malformed requests over raw sockets
# ---------------------------------------------------------------------------------------------

CLOSED = "closed"


class A3b_RateLimit(ServerTest):
    server_args = ("--rate-limit-per-minute", "60", "--rate-limit-burst", "2")

    def test_over_the_rate_is_429_with_retry_after(self):
        statuses = [faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], self.selfie)
                    for _ in range(3)]
        self.assertEqual([r.status for r in statuses[:2]], [200, 200], statuses)
        self.assertError(statuses[2], "too_many_requests", 429)
        self.assertGreaterEqual(int(statuses[2].headers.get("retry-after", "0")), 1, statuses[2])
        # A bad key is refused before the limiter and never uses the project's tokens.
        self.assertError(faceauth(self.port, "fa_unknown", self.demo["submission_id"], self.selfie),
                         "Invalid_projectId", 401)


class A3c_StorageFailure(ServerTest):
    """A storage failure mid-request is 500 data_processing_error and leaves no half-written
    attempt: another process holds SQLite's write lock past the server's busy timeout."""

    def test_locked_database_is_500_and_writes_nothing(self):
        import sqlite3
        db = os.path.join(self.server.data_dir, "faceauth.db")
        before = self.count_attempts(db)
        holder = sqlite3.connect(db, timeout=1, isolation_level=None)
        try:
            holder.execute("BEGIN EXCLUSIVE")
            r = faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], self.selfie, timeout=30)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        self.assertError(r, "data_processing_error", 500)
        self.assertEqual(self.count_attempts(db), before)
        # A write failure a moment ago: not ready, though the write lock is gone.
        self.assertEqual(call(self.port, "GET", "/ready").status, 503)
        ok = faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], self.selfie)
        self.assertEqual(ok.status, 200, ok)
        self.assertEqual(self.count_attempts(db), before + 1)

    @staticmethod
    def count_attempts(db):
        import sqlite3
        conn = sqlite3.connect(db, timeout=10)
        try:
            return conn.execute("SELECT COUNT(*) FROM attempts").fetchone()[0]
        finally:
            conn.close()


class A3e_Readiness(ServerTest):
    """/ready requires the start-up (first-run demo.json included) to be complete and the
    store to take a write."""

    def wait_ready(self, port, want, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            status = call(port, "GET", "/ready").status
            if status == want or time.monotonic() > deadline:
                return status
            time.sleep(0.1)

    def test_not_ready_while_every_write_fails(self):
        import sqlite3
        self.assertEqual(self.wait_ready(self.port, 200), 200)
        holder = sqlite3.connect(os.path.join(self.server.data_dir, "faceauth.db"), timeout=1, isolation_level=None)
        try:
            holder.execute("BEGIN EXCLUSIVE")  # reads go on, every write waits and fails
            self.assertEqual(call(self.port, "GET", "/health").status, 200)
            self.assertEqual(self.wait_ready(self.port, 503), 503)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        self.assertEqual(self.wait_ready(self.port, 200), 200)

    def test_not_ready_before_the_first_run_demo_is_written(self):
        # The demo photo is a pipe: the start-up waits on it while the server already listens.
        tmp = tempfile.mkdtemp(prefix="faceauth-ready-test-")
        fifo = os.path.join(tmp, "photo.jpg")
        os.mkfifo(fifo)
        server = Faceauthd(os.path.join(tmp, "data"), ["--demo-photo", fifo], demo=False)
        try:
            server.start()
            self.assertEqual(call(server.port, "GET", "/health").status, 200)
            self.assertEqual(call(server.port, "GET", "/ready").status, 503)
            self.assertFalse(os.path.exists(os.path.join(server.data_dir, "demo.json")))
            photo = read_bytes(os.environ.get("FACEAUTH_DEMO_PHOTO") or default_demo_photo())
            write_fifo(fifo, photo, timeout=60)
            self.assertEqual(self.wait_ready(server.port, 200, timeout=120), 200)
            self.assertTrue(os.path.exists(os.path.join(server.data_dir, "demo.json")))
        finally:
            rc = server.stop()
            shutil.rmtree(tmp, ignore_errors=True)
        self.assertEqual(rc, 0)


def write_fifo(path, data, timeout):
    """Writes data into a named pipe once its reader has opened it (bounded wait)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError:  # ENXIO: no reader yet
            if time.monotonic() > deadline:
                raise AssertionError("nobody opened %s for reading within %ds" % (path, timeout))
            time.sleep(0.05)
    try:
        os.set_blocking(fd, True)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def default_demo_photo():
    cache = os.environ.get("FACEAUTH_CACHE") or os.path.expanduser("~/.cache/faceauth")
    return os.path.join(cache, "npm", "face-api", "package", "demo", "sample1.jpg")


class A3d_ModelChange(ServerTest):
    """A change of the embedding pipeline (here: flip averaging turned on) re-makes a
    submission's reference from its stored image on first use; a submission whose image is
    gone answers a clear error instead of comparing descriptors of two models."""

    def submission(self, kyc_key, sid):
        r = call(self.port, "GET", "/v3/submissions/" + sid, headers={"x-api-key": kyc_key})
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_reference_is_reembedded_after_a_model_change(self):
        _, kyc_key, _, addon_key = self.new_tenant()
        sid = self.create_submission(kyc_key, approve=True)
        gone = self.create_submission(kyc_key, approve=True)
        before = self.submission(kyc_key, sid)["model_version"]
        self.assertTrue(before.startswith("fused-1["), before)
        self.assertEqual(self.server.stop(), 0)
        import sqlite3
        conn = sqlite3.connect(os.path.join(self.server.data_dir, "faceauth.db"), timeout=10)
        try:
            with conn:
                conn.execute("UPDATE submissions SET selfie_sealed = X'' WHERE id = ?", (gone,))
        finally:
            conn.close()
        self.server.extra = ["--embedder", "dlib_recognition"]
        self.server.start()
        type(self).port = self.server.port
        self.assertApproved(faceauth(self.port, addon_key, sid, self.selfie))
        after = self.submission(kyc_key, sid)["model_version"]
        self.assertEqual(after, "dlib-resnet-v1+dlib68")
        self.assertApproved(faceauth(self.port, addon_key, sid, self.selfie))
        body = self.assertError(faceauth(self.port, addon_key, gone, self.selfie), "detection_server_error", 503)
        self.assertIn("re-create the submission", body["message"])
        self.assertEqual(self.submission(kyc_key, gone)["model_version"], before)


class A4_MalformedCorpus(ServerTest):

    def part(self, name, value, filename=None, boundary=b"XyZb", extra=b""):
        disposition = b'Content-Disposition: form-data; name="' + name + b'"'
        if filename:
            disposition += b'; filename="' + filename + b'"'
        return b"--" + boundary + b"\r\n" + disposition + b"\r\n" + extra + b"\r\n" + value + b"\r\n"

    def good_body(self, boundary=b"XyZb", image=None, extra_parts=b""):
        return (self.part(b"submissionId", self.demo["submission_id"].encode(), boundary=boundary) +
                self.part(b"faceImage", self.selfie if image is None else image, b"f.jpg", boundary=boundary) +
                extra_parts + b"--" + boundary + b"--\r\n")

    def post(self, body, content_type=b"multipart/form-data; boundary=XyZb", headers=(), **kw):
        h = [b"Content-Type: " + content_type] if content_type is not None else []
        h.append(b"x-api-key: " + self.demo["addon_key"].encode())
        h.extend(headers)
        return raw_request(b"POST", kw.pop("target", b"/v3/faceauth"), h, body, **kw)

    def corpus(self):
        sid = self.demo["submission_id"].encode()
        key = self.demo["addon_key"].encode()
        kyc = self.demo["kyc_key"].encode()
        kyc_id = self.demo["kyc_project_id"].encode()
        fa_id = self.demo["faceauth_project_id"].encode()
        admin = b"Authorization: Bearer " + self.demo["admin_token"].encode()
        good = self.good_body()
        bad400 = {(400, "invalid_data_format")}
        bad400_or_closed = {(400, "invalid_data_format"), CLOSED}
        ok = {(200, "approved")}
        chunks = b"".join(b"%x\r\n" % len(good[i:i + 4000]) + good[i:i + 4000] + b"\r\n"
                          for i in range(0, len(good), 4000)) + b"0\r\n\r\n"
        cases = [
            ("well-formed control request", self.post(good), ok),
            ("quoted boundary parameter", self.post(good, b'multipart/form-data; boundary="XyZb"'), ok),
            ("upper-case header names", raw_request(b"POST", b"/v3/faceauth", [
                b"CONTENT-TYPE: multipart/form-data; boundary=XyZb", b"X-API-KEY: " + key], good), ok),
            ("chunked body", raw_request(b"POST", b"/v3/faceauth", [
                b"Content-Type: multipart/form-data; boundary=XyZb", b"x-api-key: " + key,
                b"Transfer-Encoding: chunked"], chunks, content_length=False), ok),
            ("HTTP/1.0 request", self.post(good, version=b"HTTP/1.0"), ok),
            ("truncated body (Content-Length larger than sent, then half-close)",
             self.post(good, content_length=False, headers=[b"Content-Length: %d" % (len(good) + 5000)]),
             bad400_or_closed, {"shut_wr": True}),
            ("no boundary parameter", self.post(good, b"multipart/form-data"), bad400),
            ("empty boundary parameter", self.post(good, b"multipart/form-data; boundary="), bad400),
            ("boundary over 70 characters", self.post(self.good_body(b"b" * 71), b"multipart/form-data; boundary=" + b"b" * 71), bad400),
            ("boundary mismatch", self.post(self.good_body(b"OtherBoundary")), bad400),
            ("missing final boundary", self.post(good[:good.rindex(b"--XyZb--")]), bad400),
            ("final boundary without dashes", self.post(good.replace(b"--XyZb--", b"--XyZb")), bad400),
            ("LF-only multipart", self.post(good.replace(b"\r\n", b"\n")), bad400),
            ("part without Content-Disposition",
             self.post(b"--XyZb\r\nContent-Type: text/plain\r\n\r\n" + sid + b"\r\n" + good), bad400),
            ("Content-Disposition not form-data",
             self.post(good.replace(b'form-data; name="submissionId"', b'attachment; name="submissionId"')), bad400),
            ("Content-Disposition without name",
             self.post(good.replace(b'form-data; name="submissionId"', b'form-data; filename="x"')), bad400),
            ("quote inside a field name",
             self.post(good.replace(b'name="submissionId"', b'name="submission"Id"')), bad400),
            ("escaped quote in a field name (an unknown field: submissionId missing)",
             self.post(good.replace(b'name="submissionId"', b'name="submission\\"Id"')),
             {(400, "required_field_missing")}),
            ("unterminated quoted field name",
             self.post(good.replace(b'name="submissionId"', b'name="submissionId')), bad400),
            ("folded part header",
             self.post(good.replace(b'form-data; name="submissionId"', b'form-data;\r\n name="submissionId"')), bad400),
            ("control character in a part header",
             self.post(good.replace(b'name="submissionId"', b'name="submissionId"\x01')), bad400),
            ("an unknown extra field is ignored", self.post(self.good_body(extra_parts=self.part(b"note", b"hi"))), ok),
            ("duplicated submissionId", self.post(self.good_body(extra_parts=self.part(b"submissionId", sid))), bad400),
            ("33 parts", self.post(self.good_body(extra_parts=b"".join(self.part(b"f%d" % i, b"x") for i in range(31)))),
             bad400),
            ("non-UTF-8 userId", self.post(self.good_body(extra_parts=self.part(b"userId", b"\xff\xfe\xfd"))), bad400),
            ("overlong UTF-8 userId", self.post(self.good_body(extra_parts=self.part(b"userId", b"\xc0\xaf"))), bad400),
            ("UTF-16 surrogate in cf1", self.post(self.good_body(extra_parts=self.part(b"cf1", b"\xed\xa0\x80"))), bad400),
            ("cf3 of 257 bytes", self.post(self.good_body(extra_parts=self.part(b"cf3", b"z" * 257))), bad400),
            ("submissionId of 300 bytes", self.post(self.good_body().replace(sid, b"s" * 300)), bad400),
            ("empty body", self.post(b""), bad400),
            ("not multipart (text/plain)", self.post(good, b"text/plain"), bad400),
            ("JSON body", self.post(b'{"submissionId": "%s"}' % sid, b"application/json"), bad400),
            ("no Content-Type", self.post(good, None), bad400),
            ("no faceImage part", self.post(self.part(b"submissionId", sid) + b"--XyZb--\r\n"),
             {(400, "required_field_missing")}),
            ("no x-api-key", raw_request(b"POST", b"/v3/faceauth", [
                b"Content-Type: multipart/form-data; boundary=XyZb"], good), {(400, "required_field_missing")}),
            ("empty file", self.post(self.good_body(image=b"")), {(415, "image_converting_error")}),
            ("base64 text as the file", self.post(self.good_body(image=base64.b64encode(self.selfie))),
             {(415, "image_converting_error")}),
            ("truncated JPEG", self.post(self.good_body(image=self.selfie[:2000])), {(415, "image_converting_error")}),
            ("PNG header only (IHDR 640x480, no data)",
             self.post(self.good_body(image=png_header_only(640, 480))), {(415, "image_converting_error")}),
            ("50-megapixel PNG header", self.post(self.good_body(image=png_header_only(8000, 6250))),
             {(413, "image_too_large")}),
            ("50-megapixel JPEG header", self.post(self.good_body(image=jpeg_with_declared_size(self.selfie, 8000, 6250))),
             {(413, "image_too_large")}),
            ("side over 20000 px (30000x10 PNG header)", self.post(self.good_body(image=png_header_only(30000, 10))),
             {(413, "image_too_large")}),
            ("PNG decompression bomb 6000x6000 of zeros (%d bytes)" % len(self.bomb),
             self.post(self.good_body(image=self.bomb)),
             {(422, "no_face"), (422, "image_processing_error"), (413, "image_too_large")}),
            ("16x16 PNG", self.post(self.good_body(image=png_rgb(16, 16, pattern=True))),
             {(422, "image_processing_error")}),
            ("headers over 16 KiB", self.post(good, headers=[b"X-Pad: " + b"a" * (17 * 1024)]),
             {(431, "invalid_data_format")}),
            ("many headers over 16 KiB in total",
             self.post(good, headers=[b"X-Pad-%d: %s" % (i, b"b" * 100) for i in range(200)]),
             {(431, "invalid_data_format")}),
            ("very long URL (20 KB)", raw_request(b"GET", b"/health?" + b"q" * 20000),
             {(431, "invalid_data_format"), (414, "invalid_data_format"), (400, "invalid_data_format")}),
            ("Expect: 100-continue", self.post(good, headers=[b"Expect: 100-continue"]), ok, {"expect": True}),
            ("unknown method", raw_request(b"BREW", b"/v3/faceauth", [], b""),
             {(405, "method_not_allowed"), (400, "invalid_data_format"), (501, "invalid_data_format")}),
            ("PUT on /v3/faceauth", raw_request(b"PUT", b"/v3/faceauth", [], None, content_length=False),
             {(405, "method_not_allowed")}),
            ("GET on /v3/faceauth without a key (the history)",
             raw_request(b"GET", b"/v3/faceauth", [], None, content_length=False),
             {(400, "required_field_missing")}),
            ("path traversal", raw_request(b"GET", b"/../../../../etc/passwd", [], None, content_length=False),
             {(404, "not_found"), (400, "invalid_data_format")}),
            ("encoded path traversal", raw_request(b"GET", b"/v3/%2e%2e/%2e%2e/etc/passwd", [], None, content_length=False),
             {(404, "not_found"), (400, "invalid_data_format")}),
            ("traversal in a submission id",
             raw_request(b"GET", b"/v3/submissions/..%2f..%2fetc%2fpasswd", [b"x-api-key: " + self.demo["kyc_key"].encode()],
                         None, content_length=False),
             {(404, "Invalid_submissionId"), (404, "not_found"), (400, "invalid_data_format")}),
            ("invalid percent-encoding", raw_request(b"GET", b"/v3/faceauth%zz", [], None, content_length=False),
             {(400, "invalid_data_format"), (404, "not_found")}),
            ("NUL byte in a header value", self.post(good, headers=[b"X-Foo: a\x00b"]), bad400_or_closed),
            ("NUL byte in a header name", self.post(good, headers=[b"X-F\x00oo: ab"]), bad400_or_closed),
            ("header line without colon", self.post(good, headers=[b"NoColonHere"]), bad400_or_closed),
            ("space before colon", self.post(good, headers=[b"X-Foo : bar"]), bad400_or_closed),
            ("obs-fold in request headers", self.post(good, headers=[b"X-Foo: bar\r\n baz"]), bad400_or_closed | ok),
            ("CR-only line endings", self.post(good).replace(b"\r\n", b"\r"), bad400_or_closed),
            ("LF-only request head", self.post(good).split(b"\r\n\r\n", 1)[0].replace(b"\r\n", b"\n") + b"\n\n" + good,
             ok | bad400_or_closed),
            ("Content-Length not a number", self.post(good, content_length=False, headers=[b"Content-Length: abc"]),
             bad400_or_closed),
            ("negative Content-Length", self.post(good, content_length=False, headers=[b"Content-Length: -5"]),
             bad400_or_closed),
            ("two different Content-Length headers",
             self.post(good, headers=[b"Content-Length: %d" % (len(good) - 1)]), bad400_or_closed),
            ("Content-Length and chunked together",
             raw_request(b"POST", b"/v3/faceauth", [b"Content-Type: multipart/form-data; boundary=XyZb",
                                                    b"x-api-key: " + key, b"Transfer-Encoding: chunked"], chunks),
             bad400_or_closed | ok),
            ("unsupported transfer coding (gzip)",
             raw_request(b"POST", b"/v3/faceauth", [b"Content-Type: multipart/form-data; boundary=XyZb",
                                                    b"x-api-key: " + key, b"Transfer-Encoding: gzip"], good,
                         content_length=False), bad400_or_closed | {(501, "invalid_data_format")}),
            ("bad chunk size", raw_request(b"POST", b"/v3/faceauth", [
                b"Content-Type: multipart/form-data; boundary=XyZb", b"x-api-key: " + key,
                b"Transfer-Encoding: chunked"], b"zz\r\nhello\r\n0\r\n\r\n", content_length=False), bad400_or_closed),
            ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", bad400_or_closed),
            ("TLS ClientHello", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + os.urandom(200), bad400_or_closed),
            ("random binary garbage", os.urandom(4096), bad400_or_closed),
            ("request line only, no version", b"GET /health\r\n\r\n", bad400_or_closed),
            ("unknown HTTP version", b"GET /health HTTP/9.9\r\nHost: x\r\n\r\n", bad400_or_closed | {(505, "invalid_data_format")}),
            ("empty request (connect, half-close)", b"", {CLOSED}, {"shut_wr": True}),
            # Field names and values that are not text, and numbers that are not numbers: always a
            # 400 (an error body that embedded them once failed to serialise and answered 503).
            ("text field name not valid UTF-8", self.post(self.good_body(extra_parts=self.part(b"user\xffId", b"u"))),
             bad400),
            ("file field name not valid UTF-8",
             self.post(self.good_body(extra_parts=self.part(b"\xc3(", b"x", b"x.jpg"))), bad400),
            ("field name of 300 bytes", self.post(self.good_body(extra_parts=self.part(b"n" * 300, b"v"))), bad400),
            ("non-UTF-8 field name with a non-UTF-8 value",
             self.post(self.good_body(extra_parts=self.part(b"\xff\xfe", b"caf\xe9"))), bad400),
            ("non-UTF-8 field name with a value over 256 bytes",
             self.post(self.good_body(extra_parts=self.part(b"n\xff", b"v" * 300))), bad400),
            ("unknown field with a non-UTF-8 value",
             self.post(self.good_body(extra_parts=self.part(b"extra", b"\xfe\xff"))), bad400),
            ("submissions limit=abc", raw_request(b"GET", b"/v3/submissions?limit=abc", [b"x-api-key: " + kyc]), bad400),
            ("submissions limit=-1", raw_request(b"GET", b"/v3/submissions?limit=-1", [b"x-api-key: " + kyc]), bad400),
            ("submissions limit of 30 digits",
             raw_request(b"GET", b"/v3/submissions?limit=" + b"9" * 30, [b"x-api-key: " + kyc]), bad400),
            ("history count=abc", raw_request(b"GET", b"/v3/faceauth?startDate=2026-01-01&endDate=2026-01-02&count=abc",
                                              [b"x-api-key: " + key]), bad400),
            ("history count of 30 digits",
             raw_request(b"GET", b"/v3/faceauth?startDate=2026-01-01&endDate=2026-01-02&count=" + b"9" * 30,
                         [b"x-api-key: " + key]), bad400),
            ("deliveries limit=1e3", raw_request(b"GET", b"/admin/v1/kyc-projects/%s/webhook/deliveries?limit=1e3" % kyc_id,
                                                 [admin]), bad400),
            ("lockout events after=x", raw_request(b"GET", b"/admin/v1/faceauth-projects/%s/lockout-events?after=x" % fa_id,
                                                   [admin]), bad400),
            ("webhook PUT {}", raw_request(b"PUT", b"/admin/v1/kyc-projects/%s/webhook" % kyc_id,
                                           [admin, b"Content-Type: application/json"], b"{}"), bad400),
            ("policy lockout.failures as text",
             raw_request(b"PUT", b"/admin/v1/faceauth-projects/%s/policy" % fa_id,
                         [admin, b"Content-Type: application/json"], b'{"lockout": {"failures": "x"}}'), bad400),
            ("KYC project name as a number", raw_request(b"POST", b"/admin/v1/kyc-projects",
                                                         [admin, b"Content-Type: application/json"], b'{"name": 5}'),
             bad400),
            ("admin JSON with a non-UTF-8 string", raw_request(b"POST", b"/admin/v1/kyc-projects",
                                                               [admin, b"Content-Type: application/json"],
                                                               b'{"name": "caf\xe9"}'), bad400),
        ]
        return cases

    @classmethod
    def prepare(cls):
        cls.bomb = png_bomb(6000, 6000)

    def outcome(self, resp):
        if resp is None:
            return CLOSED
        try:
            body = resp.json()
        except ValueError:
            return (resp.status, "non-JSON body %r" % resp.body[:80])
        if resp.status == 200:
            return (200, body.get("auth_status"))
        if set(body) != ERROR_KEYS or resp.headers.get("x-request-id") != body.get("traceId"):
            return (resp.status, "bad error body %r headers %r" % (body, resp.headers))
        return (resp.status, body["errorCode"])

    def test_corpus(self):
        cases = self.corpus()
        self.assertGreaterEqual(len(cases), 30)
        failures = []
        for case in cases:
            name, data, allowed = case[:3]
            options = case[3] if len(case) > 3 else {}
            started = time.monotonic()
            try:
                if options.get("expect"):
                    resp = self.expect_continue(data)
                else:
                    resp = raw_exchange(self.port, data, shut_wr=options.get("shut_wr", False), timeout=30)
                got = self.outcome(resp)
            except AssertionError as e:
                got = "error: %s" % e
            CORPUS_LOG.append((name, got, "%.0f ms" % ((time.monotonic() - started) * 1000)))
            if got not in allowed:
                failures.append("%s: got %r, expected one of %r" % (name, got, sorted(map(str, allowed))))
            if not self.server.alive():
                self.fail("faceauthd died on corpus case %r:\n%s" % (name, self.server.output()[-3000:]))
        # the server still answers normally
        self.assertEqual(call(self.port, "GET", "/health").status, 200)
        self.assertApproved(faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], self.selfie))
        self.assertFalse(failures, "\n".join(failures))

    def expect_continue(self, data):
        head, _, body = data.partition(b"\r\n\r\n")
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        try:
            sock.sendall(head + b"\r\n\r\n")
            sock.settimeout(1.5)
            early = b""
            try:
                early = sock.recv(65536)
            except socket.timeout:
                pass
            CORPUS_LOG.append(("  (100-continue: interim response %s)" % ("received" if early.startswith(b"HTTP/1.1 100")
                                                                         else "not sent" if not early else repr(early[:40])),
                               "", ""))
            if early and not early.startswith(b"HTTP/1.1 100"):
                # a final answer before the body: parse it
                return read_response(PrefixedSocket(sock, early), time.monotonic() + 30)
            sock.sendall(body)
            rest = early.split(b"\r\n\r\n", 1)[1] if early else b""
            return read_response(PrefixedSocket(sock, rest), time.monotonic() + 30)
        finally:
            sock.close()

    def test_pipelined_keep_alive(self):
        req = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        try:
            sock.sendall(req + req + b"GET /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            deadline = time.monotonic() + 10
            b = PrefixedSocket(sock, b"")
            for expected in (b"ok\n", b"ok\n", b"ready\n"):
                r = read_response(b, deadline)
                self.assertIsNotNone(r)
                self.assertEqual((r.status, r.body), (200, expected))
                self.assertTrue(r.headers.get("x-request-id"))
                b.prefix = r.leftover
        finally:
            sock.close()

    def test_slow_client_does_not_block_others(self):
        # A client that sends half a request and waits must not stop other clients.
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        try:
            sock.sendall(b"POST /v3/faceauth HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
            started = time.monotonic()
            self.assertApproved(faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], self.selfie))
            self.assertLess(time.monotonic() - started, 5)
        finally:
            sock.close()


# ---------------------------------------------------------------------------------------------
# Restart: state survives, no second demo
# ---------------------------------------------------------------------------------------------

class A5_Restart(ServerTest):

    def outcome(self, resp):
        return (resp.status, resp.json().get("errorCode"))

    def test_restart_keeps_everything(self):
        data_dir = self.server.data_dir
        demo_before = read_bytes(os.path.join(data_dir, "demo.json"))
        fa_id, addon_key = self.new_faceauth_project(self.demo["kyc_project_id"])
        r = self.admin("PUT", "/admin/v1/faceauth-projects/%s/policy" % fa_id, {"faceSimilarity_threshold": 99.9})
        self.assertEqual(r.status, 200, r)
        sid = self.create_submission(self.demo["kyc_key"], user_id="persisted", approve=True)
        pending = self.create_submission(self.demo["kyc_key"], user_id="still-pending")
        subs_before = call(self.port, "GET", "/v3/submissions?limit=1000", headers={"x-api-key": self.demo["kyc_key"]}).json()
        projects_before = self.admin("GET", "/admin/v1/faceauth-projects").json()
        kyc_before = self.admin("GET", "/admin/v1/kyc-projects").json()

        # SIGTERM while a slow request (a 36-megapixel PNG) is in flight: it is finished first.
        bomb_body, bomb_ct = multipart([("submissionId", self.demo["submission_id"]),
                                        ("faceImage", png_bomb(6000, 6000), "bomb.png", "image/png")])
        in_flight = {}

        def slow():
            in_flight["resp"] = call(self.port, "POST", "/v3/faceauth", bomb_body,
                                     {"Content-Type": bomb_ct, "x-api-key": self.demo["addon_key"]}, timeout=60)

        worker = threading.Thread(target=slow)
        worker.start()
        time.sleep(0.25)
        rc = self.server.stop()
        worker.join(60)
        self.assertEqual(rc, 0, self.server.output()[-3000:])
        self.assertIn("resp", in_flight, "the request in flight got no answer")
        self.assertIn(self.outcome(in_flight["resp"]), {(422, "no_face"), (413, "image_too_large")})
        first_output = self.server.output()
        self.assertIn("demo project created", first_output)
        self.server.demo_expected = False
        self.server.start()
        type(self).port = self.port = self.server.port
        second_output = self.server.output()
        time.sleep(0.3)  # a demo would be made right after "listening": give it time to show
        second_output = self.server.output()
        self.assertNotIn("demo project created", second_output)
        self.assertEqual(read_bytes(os.path.join(data_dir, "demo.json")), demo_before)
        self.assertNotIn("admin token (shown once", second_output)

        # the demo keys and the admin token still work
        self.assertApproved(faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], self.selfie))
        self.assertRejectedSimilarity(faceauth(self.port, self.demo["addon_key"], self.demo["submission_id"], self.other))
        self.assertEqual(self.admin("GET", "/admin/v1/kyc-projects").json(), kyc_before)
        self.assertEqual(self.admin("GET", "/admin/v1/faceauth-projects").json(), projects_before)
        self.assertEqual(len(kyc_before["projects"]), 1)  # no second demo project
        subs_after = call(self.port, "GET", "/v3/submissions?limit=1000", headers={"x-api-key": self.demo["kyc_key"]}).json()
        self.assertEqual(subs_after, subs_before)
        # the policy survived: 99.9 rejects the demo selfie on that project
        r = self.admin("GET", "/admin/v1/faceauth-projects/%s/policy" % fa_id)
        self.assertEqual(r.json()["policy"]["faceSimilarity_threshold"], 99.9)
        self.assertRejectedSimilarity(faceauth(self.port, addon_key, self.demo["submission_id"], self.selfie))
        self.assertApproved(faceauth(self.port, self.demo["addon_key"], sid, self.selfie))
        self.assertError(faceauth(self.port, self.demo["addon_key"], pending, self.selfie), "invalid_submission_status", 409)


# ---------------------------------------------------------------------------------------------
# Quality checks and passive liveness (ours): fixtures made from the demo selfie with OpenCV
# ---------------------------------------------------------------------------------------------

QUALITY_FIELDS = {"eye_distance_px", "face_count", "second_face_ratio", "sharpness", "brightness", "yaw", "pitch",
                  "landmark_fit"}


class A7_AttributeChecks(ServerTest):
    """Occlusion, face cover and head cover checks of a FaceAuth project's policy, on the demo
    selfie and on the same selfie with a mask drawn over the lower face or a hard hat drawn on
    the head from its landmarks (found by the faceauth tool built beside faceauthd)."""

    @classmethod
    def prepare(cls):
        import cv2  # Debian python3-opencv (scripts/setup.sh)
        import numpy
        tool = os.path.join(os.path.dirname(FACEAUTHD), "faceauth")
        out = subprocess.run([tool, "embed", cls.demo["selfie"]], capture_output=True, check=True, timeout=120)
        landmarks = json.loads(out.stdout.decode().splitlines()[0])["landmarks"]
        pixels = cv2.imdecode(numpy.frombuffer(cls.selfie, numpy.uint8), cv2.IMREAD_COLOR)
        # A light-blue mask from the nose bridge over the jaw line (points 1-15 and 28).
        polygon = numpy.array([landmarks[i] for i in range(1, 16)] + [landmarks[28]], numpy.int32)
        cv2.fillPoly(pixels, [polygon], (230, 200, 150), cv2.LINE_AA)
        ok, data = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 92])
        assert ok
        cls.masked = data.tobytes()
        cls.hatted = cls.with_hard_hat(cv2.imdecode(numpy.frombuffer(cls.selfie, numpy.uint8), cv2.IMREAD_COLOR),
                                       landmarks)

    @staticmethod
    def with_hard_hat(pixels, landmarks):
        """A yellow hard hat as tests/unit/test_attributes.cpp draws one (a dome from the
        forehead, a brim, a ridge, a highlight), on the selfie with a margin above the head."""
        import cv2
        import numpy
        pad = pixels.shape[0] // 3
        pixels = cv2.copyMakeBorder(pixels, pad, 0, 0, 0, cv2.BORDER_REPLICATE)
        points = numpy.array(landmarks, numpy.float64) + (0, pad)
        brows = points[17:27].mean(0)
        along = points[[42, 45]].mean(0) - points[[36, 39]].mean(0)
        along /= numpy.linalg.norm(along)
        up = numpy.array([along[1], -along[0]])
        width = float(numpy.dot(points[16] - points[0], along))
        roll = float(numpy.degrees(numpy.arctan2(along[1], along[0])))
        brim = brows + up * 0.1 * width
        yellow, dark = (20, 210, 250), (12, 126, 150)

        def at(p):
            return tuple(int(round(v)) for v in p)

        def axes(a, b):
            return (int(a * width), int(b * width))

        cv2.ellipse(pixels, at(brim), axes(0.65, 0.8), roll, 180, 360, yellow, cv2.FILLED, cv2.LINE_AA)
        cv2.ellipse(pixels, at(brim), axes(0.78, 0.06), roll, 0, 360, yellow, cv2.FILLED, cv2.LINE_AA)
        cv2.line(pixels, at(brim - along * 0.78 * width), at(brim + along * 0.78 * width), dark, 3)
        cv2.line(pixels, at(brim + up * 0.1 * width), at(brim + up * 0.8 * width), dark, 5)
        spot = brim + up * 0.5 * width - along * 0.25 * width
        cv2.ellipse(pixels, at(spot), axes(0.1, 0.07), roll - 20, 0, 360, (250, 250, 250), cv2.FILLED, cv2.LINE_AA)
        ok, data = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 92])
        assert ok
        return data.tobytes()

    def project_with(self, policy):
        r = self.admin("POST", "/admin/v1/faceauth-projects",
                       {"kyc_project_id": self.demo["kyc_project_id"], "name": "ppe", "policy": policy})
        self.assertEqual(r.status, 201, r)
        return r.json()["project"]["id"], r.json()["addon_key"]

    def attempt(self, addon_key, image):
        r = faceauth(self.port, addon_key, self.demo["submission_id"], image)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def scores(self, body):  # the vendor's score object: numbers only
        vendor_client_reads(self, body)
        return set(body["score"])

    def test_a_tight_head_crop_is_found_by_the_pad_retry(self):
        """A crop 0.65 face boxes wide around the face's centre: no face on a first pass (the
        tool without --pad-retry says so), found by the service's pad retry, the same person."""
        import cv2
        import numpy
        tool = os.path.join(os.path.dirname(FACEAUTHD), "faceauth")
        out = subprocess.run([tool, "embed", self.demo["selfie"]], capture_output=True, check=True, timeout=120)
        box = json.loads(out.stdout.decode().splitlines()[0])["box"]
        centre, half = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2), 0.325 * box["width"]
        pixels = cv2.imdecode(numpy.frombuffer(self.selfie, numpy.uint8), cv2.IMREAD_COLOR)
        top, left = int(centre[1] - half), int(centre[0] - half)
        ok, data = cv2.imencode(".jpg", pixels[top:top + int(2 * half), left:left + int(2 * half)],
                                [cv2.IMWRITE_JPEG_QUALITY, 95])
        self.assertTrue(ok)
        path = os.path.join(self.tmp, "tight.jpg")
        with open(path, "wb") as f:
            f.write(data.tobytes())
        first = subprocess.run([tool, "analyze", path], capture_output=True, check=True, timeout=120)
        self.assertEqual(json.loads(first.stdout)["faces"], 0, first.stdout)
        _, addon_key = self.project_with({})
        body = self.attempt(addon_key, data.tobytes())
        self.assertEqual(body["auth_status"], "approved", body)
        self.assertGreaterEqual(body["score"]["face_similarity_score"], 70, body)

    def test_face_cover_required_rejects_a_bare_face(self):
        _, addon_key = self.project_with({"faceCover_threshold": 50})
        body = self.attempt(addon_key, self.selfie)
        self.assertEqual(body["auth_status"], "rejected", body)
        self.assertEqual(body["fail_code"], ["Face_cover_fail"], body)
        self.assertEqual(body["rejected_comment"], ["Protection equipment is not found on Face"], body)
        self.assertEqual(self.scores(body), {"face_similarity_score", "face_cover_score"}, body)
        self.assertLess(body["score"]["face_cover_score"], 50, body)
        # The attempt is stored with the score and the failure.
        import sqlite3
        conn = sqlite3.connect(os.path.join(self.server.data_dir, "faceauth.db"), timeout=10)
        try:
            scores, fails = conn.execute("SELECT scores_json, fail_codes_json FROM attempts WHERE id = ?",
                                         (body["authentication_id"],)).fetchone()
        finally:
            conn.close()
        stored = json.loads(scores)  # the score object, with the quality measurements kept beside it
        self.assertEqual(stored.pop("quality", None), body.get("quality"))
        self.assertEqual(stored, body["score"])
        self.assertEqual(json.loads(fails), ["Face_cover_fail"])

    def test_face_cover_required_accepts_a_masked_face(self):
        # With a mask required, occlusion judges only the eyes and brows: the mask is no occlusion.
        # A mask hides half the face from recognition too (similarity about 30 here against 99
        # bare, docs/attributes.md), so this project accepts a lower similarity.
        _, addon_key = self.project_with({"faceSimilarity_threshold": 20, "faceCover_threshold": 50,
                                          "occluded_threshold": {"enabled": True, "threshold": 50}})
        body = self.attempt(addon_key, self.masked)
        self.assertEqual(body["auth_status"], "approved", body)
        self.assertNotIn("fail_code", body)
        self.assertEqual(self.scores(body), {"face_similarity_score", "occluded_score", "face_cover_score"}, body)
        self.assertGreaterEqual(body["score"]["face_cover_score"], 50, body)
        self.assertGreaterEqual(body["score"]["occluded_score"], 50, body)

    def test_occlusion_check_rejects_a_masked_face_without_face_cover(self):
        _, addon_key = self.project_with({"faceSimilarity_threshold": 20,
                                          "occluded_threshold": {"enabled": True, "threshold": 50}})
        body = self.attempt(addon_key, self.masked)
        self.assertEqual(body["auth_status"], "rejected", body)
        self.assertEqual(body["fail_code"], ["Face_Occluded_fail"], body)
        self.assertEqual(body["rejected_comment"], ["Face is occluded"], body)
        self.assertEqual(self.scores(body), {"face_similarity_score", "occluded_score"}, body)
        body = self.attempt(addon_key, self.selfie)
        self.assertEqual(body["auth_status"], "approved", body)
        self.assertGreaterEqual(body["score"]["occluded_score"], 50, body)

    def test_all_checks_fail_in_the_vendor_order(self):
        # Similarity unreachable, occlusion threshold 100, a mask and a hard hat required: the
        # bare selfie fails all four, in the seed's order.
        fa_id, addon_key = self.project_with({"faceSimilarity_threshold": 99.9,
                                              "occluded_threshold": {"enabled": True, "threshold": 100},
                                              "faceCover_threshold": 50, "headCover_threshold": 50})
        body = self.attempt(addon_key, self.selfie)
        self.assertLess(body["score"]["occluded_score"], 100, body)
        self.assertEqual(body["fail_code"],
                         ["face_compare_underscore", "Face_Occluded_fail", "Face_cover_fail", "Head_cover_fail"], body)
        self.assertEqual(body["rejected_comment"][1:], ["Face is occluded", "Protection equipment is not found on Face",
                                                        "Protection equipment is not found on Head"], body)
        self.assertEqual(self.scores(body),
                         {"face_similarity_score", "occluded_score", "face_cover_score", "head_cover_score"}, body)
        # Turned off again (0 and enabled false), the scores leave the response and it passes.
        r = self.admin("PUT", "/admin/v1/faceauth-projects/%s/policy" % fa_id,
                       {"faceSimilarity_threshold": 50, "occluded_threshold": {"enabled": False, "threshold": 50},
                        "faceCover_threshold": 0, "headCover_threshold": 0})
        self.assertEqual(r.status, 200, r)
        body = self.attempt(addon_key, self.selfie)
        self.assertEqual(body["auth_status"], "approved", body)
        self.assertEqual(self.scores(body), {"face_similarity_score"}, body)

    def test_head_cover_required_rejects_a_bare_head_and_accepts_a_hard_hat(self):
        fa_id, addon_key = self.project_with({"headCover_threshold": 50})
        body = self.attempt(addon_key, self.selfie)
        self.assertEqual(body["auth_status"], "rejected", body)
        self.assertEqual(body["fail_code"], ["Head_cover_fail"], body)
        self.assertEqual(body["rejected_comment"], ["Protection equipment is not found on Head"], body)
        self.assertEqual(self.scores(body), {"face_similarity_score", "head_cover_score"}, body)
        self.assertLess(body["score"]["head_cover_score"], 50, body)
        body = self.attempt(addon_key, self.hatted)
        self.assertEqual(body["auth_status"], "approved", body)
        self.assertNotIn("fail_code", body)
        self.assertGreaterEqual(body["score"]["head_cover_score"], 50, body)
        # Set by a policy change too, and off again.
        r = self.admin("PUT", "/admin/v1/faceauth-projects/%s/policy" % fa_id, {"headCover_threshold": 0})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["policy"]["headCover_threshold"], 0, r)
        body = self.attempt(addon_key, self.selfie)
        self.assertEqual(body["auth_status"], "approved", body)
        self.assertNotIn("head_cover_score", body["score"], body)
        r = self.admin("PUT", "/admin/v1/faceauth-projects/%s/policy" % fa_id, {"headCover_threshold": 60})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["policy"]["headCover_threshold"], 60, r)

    def test_server_refuses_heads_of_another_pipeline(self):
        # A head trained on other features (e.g. before a change of the landmark model) must
        # stop the server at start with the retrain command, never score with wrong features.
        heads = os.path.join(self.tmp, "heads")
        shutil.copytree(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models", "heads"), heads)
        with open(os.path.join(heads, "head_cover.json")) as f:
            doc = json.load(f)
        doc["pipeline"] = "faceapi-1.7.15-recognition-1 descriptor"
        with open(os.path.join(heads, "head_cover.json"), "w") as f:
            json.dump(doc, f)
        env = dict(self.server.env(), FACEAUTH_HEADS=heads)
        try:
            done = subprocess.run([FACEAUTHD, "--data-dir", os.path.join(self.tmp, "data-heads"), "--bind", "127.0.0.1",
                                   "--port", str(free_port())], env=env, capture_output=True, timeout=120)
        except subprocess.TimeoutExpired:
            self.fail("faceauthd started with a head of another feature pipeline")
        self.assertNotEqual(done.returncode, 0)
        self.assertIn(b"head_cover.json", done.stderr)
        self.assertIn(b"tools/train/attributes.sh", done.stderr)


class A6_QualityAndLiveness(ServerTest):

    @classmethod
    def prepare(cls):
        import cv2  # Debian python3-opencv (scripts/setup.sh)
        import numpy
        cls.cv2 = cv2
        cls.pixels = cv2.imdecode(numpy.frombuffer(cls.selfie, numpy.uint8), cv2.IMREAD_COLOR)

    def jpeg(self, image):
        ok, data = self.cv2.imencode(".jpg", image, [self.cv2.IMWRITE_JPEG_QUALITY, 95])
        self.assertTrue(ok)
        return data.tobytes()

    def rejected_for(self, addon_key, image, code, comment):
        r = faceauth(self.port, addon_key, self.demo["submission_id"], self.jpeg(image))
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertEqual(body["auth_status"], "rejected", body)
        self.assertIn(code, body["fail_code"], body)
        self.assertEqual(body["rejected_comment"][body["fail_code"].index(code)], comment, body)
        self.assertEqual(set(body["quality"]), QUALITY_FIELDS, body)
        vendor_client_reads(self, body)
        return body

    def test_each_bad_photo_gets_its_own_fail_code(self):
        _, addon_key = self.new_faceauth_project(self.demo["kyc_project_id"],
                                                 {"quality": {"max_second_face_ratio": 0.5}})
        approved = self.assertApproved(faceauth(self.port, addon_key, self.demo["submission_id"], self.selfie))
        self.assertEqual(set(approved["quality"]), QUALITY_FIELDS, approved)
        blurred = self.cv2.GaussianBlur(self.pixels, (0, 0), 6)
        body = self.rejected_for(addon_key, blurred, "Blur_fail", "Face is blurred")
        self.assertLess(body["quality"]["sharpness"], 1.5, body)
        dark = self.cv2.convertScaleAbs(self.pixels, alpha=0.12)
        body = self.rejected_for(addon_key, dark, "Exposure_fail", "Face is too dark or too bright")
        self.assertLess(body["quality"]["brightness"], 40, body)
        pair = self.cv2.hconcat([self.pixels, self.cv2.flip(self.pixels, 1)])
        body = self.rejected_for(addon_key, pair, "Multiple_faces_fail", "More than one face is found")
        self.assertEqual(body["quality"]["face_count"], 2, body)

    def test_landmarks_off_the_face_fail_pose(self):
        # quality.min_landmark_fit (off by default; 0.55 with a PPE check): the selfie's landmarks
        # fit its face (jaw over box about 0.8), so a limit over that is Pose_fail and 0 passes.
        fa_id, addon_key = self.new_faceauth_project(self.demo["kyc_project_id"], {"quality": {"min_landmark_fit": 1.5}})
        body = self.rejected_for(addon_key, self.pixels, "Pose_fail", "Face is not turned to the camera")
        self.assertEqual(body["fail_code"], ["Pose_fail"], body)
        self.assertTrue(0.6 < body["quality"]["landmark_fit"] < 1.5, body)
        r = self.admin("PUT", "/admin/v1/faceauth-projects/%s/policy" % fa_id, {"quality": {"min_landmark_fit": 0}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["policy"]["quality"]["min_landmark_fit"], 0)
        self.assertApproved(faceauth(self.port, addon_key, self.demo["submission_id"], self.selfie))

    def test_quality_checks_off_approve_the_blurred_photo(self):
        off = {"min_eye_distance_px": 0, "max_second_face_ratio": 0, "min_sharpness": 0, "min_brightness": 0,
               "max_brightness": 0, "max_yaw": 0, "max_pitch": 0}
        _, addon_key = self.new_faceauth_project(self.demo["kyc_project_id"], {"quality": off})
        r = faceauth(self.port, addon_key, self.demo["submission_id"],
                     self.jpeg(self.cv2.GaussianBlur(self.pixels, (0, 0), 3)))
        body = self.assertApproved(r)
        self.assertNotIn("quality", body, body)
        self.assertNotIn("quality", body["score"], body)

    def test_liveness_score_and_fail_code(self):
        _, addon_key = self.new_faceauth_project(self.demo["kyc_project_id"], {"liveness_threshold": 50})
        r = faceauth(self.port, addon_key, self.demo["submission_id"], self.selfie)
        self.assertEqual(r.status, 200, r)
        score = r.json()["score"]["liveness_score"]
        self.assertTrue(0 <= score <= 100, r)
        _, strict_key = self.new_faceauth_project(self.demo["kyc_project_id"], {"liveness_threshold": 100})
        r = faceauth(self.port, strict_key, self.demo["submission_id"], self.selfie)
        body = r.json()
        self.assertEqual(body["fail_code"], ["Liveness_fail"], body)
        vendor_client_reads(self, body)
        self.assertEqual(body["rejected_comment"], ["Face liveness score is lower than the threshold"], body)
        self.assertEqual(body["score"]["liveness_score"], score, body)

    def test_bad_quality_limits_are_refused(self):
        fa_id, _ = self.new_faceauth_project(self.demo["kyc_project_id"])
        path = "/admin/v1/faceauth-projects/%s/policy" % fa_id
        for change in ({"quality": {"max_yaw": 91}}, {"quality": {"max_second_face_ratio": 2}},
                       {"quality": {"min_sharpness": "sharp"}}, {"quality": []},
                       {"quality": {"min_landmark_fit": 2.5}}):
            self.assertError(self.admin("PUT", path, change), "invalid_data_format", 400)
        r = self.admin("PUT", path, {"quality": {"max_yaw": 30}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["policy"]["quality"]["max_yaw"], 30)
        self.assertEqual(r.json()["policy"]["quality"]["min_brightness"], 40)


def main():
    global FACEAUTHD
    argv = list(sys.argv)
    if len(argv) > 1 and os.path.isfile(argv[1]):
        FACEAUTHD = argv.pop(1)
    FACEAUTHD = FACEAUTHD or os.environ.get("FACEAUTHD")
    if not FACEAUTHD or not os.access(FACEAUTHD, os.X_OK):
        sys.stderr.write("usage: test_api.py PATH/TO/faceauthd [unittest options] (or set FACEAUTHD)\n")
        return 2
    FACEAUTHD = os.path.abspath(FACEAUTHD)
    program = unittest.main(argv=argv, exit=False, verbosity=2)
    if CORPUS_LOG:
        sys.stderr.write("\nmalformed-request corpus outcomes (status, errorCode) or 'closed':\n")
        for name, got, ms in CORPUS_LOG:
            sys.stderr.write("  %-70s %s %s\n" % (name, got, ms))
    return 0 if program.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
