#!/usr/bin/env bash
# Black-box checks of `faceauth admin` against a real faceauthd on a free loopback port:
# KYC and FaceAuth projects, policies, key rotation, submissions (create, approve, list,
# show, reject, delete, import of a directory), dashboard users and the audit log, and the
# errors (wrong token, https://).
# usage: test_admin.sh FACEAUTH FACEAUTHD
set -euo pipefail
cli=$1
daemon=$2
demo=${FACEAUTH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/faceauth}/npm/face-api/package/demo
work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    wait "$pid" || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAILED: $1"
  echo "--- faceauthd log (tail)"
  tail -n 20 "$work/daemon.log" || true
  exit 1
}
check() { /usr/bin/python3 -c "import json, sys; $1" || fail "$2"; }
unset FACEAUTH_URL FACEAUTH_ADMIN_TOKEN

# --help: exit 0, every setting with its default; a bad flag: exit 64 with the same list.
"$daemon" --help >"$work/help.txt" || fail "faceauthd --help exits non-zero"
grep -q '^  --database-pool = 8$' "$work/help.txt" || fail "--help lists database-pool with its default"
grep -q '^  --embed-parallel = auto$' "$work/help.txt" || fail "--help lists embed-parallel with its default"
status=0
"$daemon" --no-such-setting 1 >/dev/null 2>"$work/bad-flag.txt" || status=$?
[ "$status" = 64 ] && grep -q 'unknown setting no-such-setting' "$work/bad-flag.txt" &&
  grep -q '^  --trusted-proxies = ' "$work/bad-flag.txt" || fail "a bad flag exits 64 with the usage"

port=$(/usr/bin/python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
url="http://127.0.0.1:$port"
"$daemon" --data-dir "$work/data" --bind 127.0.0.1 --port "$port" --workers 1 >"$work/daemon.log" 2>&1 &
pid=$!

# Ready when /health answers and the first-run demo has written demo.json.
for _ in $(seq 1 240); do
  kill -0 "$pid" 2>/dev/null || fail "faceauthd exited during start-up"
  if [ -s "$work/data/demo.json" ] && /usr/bin/python3 -c "import urllib.request as u; u.urlopen('$url/health', timeout=2)" 2>/dev/null; then
    break
  fi
  sleep 0.5
done
[ -s "$work/data/demo.json" ] || fail "no demo.json after 120 s"
token=$(/usr/bin/python3 -c "import json; print(json.load(open('$work/data/demo.json'))['admin_token'])")
[ -n "$token" ] || fail "demo.json has no admin_token"

admin() { "$cli" admin "$@" --url "$url" --token "$token"; }
field() { /usr/bin/python3 -c "import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

# KYC projects
admin kyc create "Test KYC" --webhook http://127.0.0.1:9/hook >"$work/kyc.json"
check "d = json.load(open('$work/kyc.json')); p = d['project']
assert p['name'] == 'Test KYC' and p['webhook_url'] == 'http://127.0.0.1:9/hook' and d['kyc_key'], d
assert p['create_time'].endswith('Z'), p" "kyc create"
kyc=$(field "$work/kyc.json" "d['project']['id']")
"$cli" admin kyc list --demo-json "$work/data/demo.json" >"$work/kycs.json"
check "d = json.load(open('$work/kycs.json')); ids = [p['id'] for p in d['projects']]
assert len(ids) == 2 and '$kyc' in ids, d" "kyc list (URL and token from --demo-json)"
admin kyc rotate-key "$kyc" >"$work/kyc-key.json"
check "d = json.load(open('$work/kyc-key.json')); old = json.load(open('$work/kyc.json'))['kyc_key']
assert d['kyc_key'] and d['kyc_key'] != old, d" "kyc rotate-key"

# Webhooks (deliveries themselves: tests/api/test_history.py)
check "d = json.load(open('$work/kyc.json')); assert d['webhook_secret'].startswith('whsec_'), d" "kyc create shows the webhook secret once"
admin webhook set "$kyc" http://127.0.0.1:9/other >"$work/wh.json"
check "d = json.load(open('$work/wh.json'))
assert d == {'kyc_project_id': '$kyc', 'url': 'http://127.0.0.1:9/other', 'has_secret': True}, d" "webhook set keeps the secret"
admin webhook set "$kyc" http://127.0.0.1:9/other --secret my-own-secret-0123456789 >"$work/wh2.json"
check "d = json.load(open('$work/wh2.json')); assert 'secret' not in d and d['has_secret'], d" "webhook set --secret"
admin webhook show "$kyc" >"$work/wh3.json"
check "d = json.load(open('$work/wh3.json')); assert d['url'] == 'http://127.0.0.1:9/other', d" "webhook show"
admin webhook deliveries "$kyc" --limit 5 >"$work/whd.json"
check "d = json.load(open('$work/whd.json')); assert d == {'deliveries': []}, d" "webhook deliveries"
if admin webhook set "$kyc" https://127.0.0.1/x 2>"$work/wh-err.txt"; then fail "webhook set accepted https"; fi
grep -q invalid_data_format "$work/wh-err.txt" || fail "webhook set https: $(cat "$work/wh-err.txt")"
admin webhook delete "$kyc" >/dev/null
admin webhook show "$kyc" >"$work/wh4.json"
check "d = json.load(open('$work/wh4.json')); assert d['url'] == '' and not d['has_secret'], d" "webhook delete"

# FaceAuth projects and policies
admin faceauth create "$kyc" "Door" --retention-days 7 --policy '{"faceSimilarity_threshold": 60}' >"$work/fa.json"
check "d = json.load(open('$work/fa.json')); p = d['project']
assert p['kyc_project_id'] == '$kyc' and p['name'] == 'Door' and d['addon_key'], d
assert p['image_retention_days'] == 7 and p['policy']['faceSimilarity_threshold'] == 60, p" "faceauth create"
fa=$(field "$work/fa.json" "d['project']['id']")
admin faceauth list --kyc "$kyc" >"$work/fas.json"
check "d = json.load(open('$work/fas.json')); assert [p['id'] for p in d['projects']] == ['$fa'], d" "faceauth list --kyc"
admin faceauth list >"$work/fas-all.json"
check "d = json.load(open('$work/fas-all.json')); assert len(d['projects']) == 2, d" "faceauth list"
admin faceauth show "$fa" >"$work/fa-show.json"
check "d = json.load(open('$work/fa-show.json')); assert d['id'] == '$fa' and d['name'] == 'Door', d" "faceauth show"
admin faceauth rotate-key "$fa" >"$work/fa-key.json"
check "d = json.load(open('$work/fa-key.json')); old = json.load(open('$work/fa.json'))['addon_key']
assert d['addon_key'] and d['addon_key'] != old, d" "faceauth rotate-key"
admin policy get "$fa" >"$work/policy.json"
check "d = json.load(open('$work/policy.json')); pol = d['policy']
assert pol['faceSimilarity_threshold'] == 60 and pol['occluded_threshold']['enabled'] is False, d" "policy get"
admin policy set "$fa" --similarity 72.5 --retention-days 0 >"$work/policy-set.json"
check "d = json.load(open('$work/policy-set.json'))
assert d['policy']['faceSimilarity_threshold'] == 72.5 and d['image_retention_days'] == 0, d" "policy set"
if admin policy set "$fa" --json '{"quality": {"max_yaw": 91}}' >/dev/null 2>"$work/policy-err.txt"; then
  fail "policy set with a yaw limit beyond 90 degrees must fail"
fi
grep -q '"errorCode": "invalid_data_format"' "$work/policy-err.txt" || fail "policy set error body: $(cat "$work/policy-err.txt")"

# Submissions
admin submission create "$kyc" --selfie "$demo/sample2.jpg" --user-id alice --email alice@example.com \
  --cf1 one --cf2 two --cf3 three --approve >"$work/sub.json"
check "d = json.load(open('$work/sub.json'))
assert d['status'] == 'approved' and d['userId'] == 'alice' and d['email'] == 'alice@example.com', d
assert [d['cf1'], d['cf2'], d['cf3']] == ['one', 'two', 'three'] and d['has_selfie'] and not d['has_id_image'], d
assert d['reference'] == 'selfie', d" "submission create --approve"
sub=$(field "$work/sub.json" "d['submissionId']")
admin submission create "$kyc" --id-image "$demo/sample2.jpg" --user-id bob >"$work/sub2.json"
check "d = json.load(open('$work/sub2.json'))
assert d['status'] == 'pending' and d['reference'] == 'id' and d['has_id_image'], d" "submission create from an ID image"
admin submission list "$kyc" >"$work/subs.json"
check "d = json.load(open('$work/subs.json')); assert len(d['submissions']) == 2, d" "submission list"
admin submission list "$kyc" --status approved --user-id alice >"$work/subs-approved.json"
check "d = json.load(open('$work/subs-approved.json'))
assert [s['submissionId'] for s in d['submissions']] == ['$sub'], d" "submission list --status --user-id"
admin submission list "$kyc" --limit 1 >"$work/subs-page.json"
check "d = json.load(open('$work/subs-page.json')); assert len(d['submissions']) == 1 and d['next_after'], d" \
  "submission list --limit"
admin submission show "$kyc" "$sub" >"$work/sub-show.json"
check "d = json.load(open('$work/sub-show.json')); assert d['submissionId'] == '$sub' and d['status'] == 'approved', d" \
  "submission show"
admin submission reject "$kyc" "$sub" >"$work/sub-reject.json"
check "d = json.load(open('$work/sub-reject.json')); assert d['status'] == 'rejected', d" "submission reject"
admin submission delete "$kyc" "$sub" >"$work/sub-delete.json"
check "d = json.load(open('$work/sub-delete.json')); assert d == {'message': 'success'}, d" "submission delete"
if admin submission show "$kyc" "$sub" >/dev/null 2>"$work/gone.txt"; then fail "a deleted submission must be gone"; fi
grep -q '"errorCode": "Invalid_submissionId"' "$work/gone.txt" || fail "show after delete: $(cat "$work/gone.txt")"

# Import: two photos and a text file with an image name; the text file is an error line.
mkdir "$work/import"
cp "$demo/sample1.jpg" "$demo/sample2.jpg" "$work/import/"
printf 'not an image\n' >"$work/import/notes.jpg"
if admin submission import "$kyc" "$work/import" --approve >"$work/import.jsonl"; then
  fail "import with a broken file must exit 1"
fi
check "rows = {r['file']: r for r in map(json.loads, open('$work/import.jsonl'))}
assert sorted(rows) == ['notes.jpg', 'sample1.jpg', 'sample2.jpg'], rows
assert rows['notes.jpg']['error'] == 'image_converting_error' and 'submissionId' not in rows['notes.jpg'], rows
for name in ['sample1', 'sample2']:
    r = rows[name + '.jpg']
    assert r['userId'] == name and r['submissionId'] and r['status'] == 'approved' and 'error' not in r, r" \
  "submission import"
admin submission list "$kyc" --status approved >"$work/subs-imported.json"
check "d = json.load(open('$work/subs-imported.json'))
assert sorted(s['userId'] for s in d['submissions']) == ['sample1', 'sample2'], d" "imported submissions are listed"

# Dashboard users and the audit log
admin user add alice --role admin >"$work/user.json"
check "d = json.load(open('$work/user.json'))
assert d['user']['name'] == 'alice' and d['user']['role'] == 'admin' and len(d['password']) == 20, d" "user add"
printf 'a chosen password\n' | admin user add bob --password-stdin >"$work/user2.json"
check "d = json.load(open('$work/user2.json')); assert d['user']['role'] == 'viewer' and 'password' not in d, d" \
  "user add --password-stdin (default role viewer)"
admin user list >"$work/users.json"
check "d = json.load(open('$work/users.json')); names = [u['name'] for u in d['users']]
assert names == ['alice', 'bob', 'owner'], d
assert 'argon2' not in open('$work/users.json').read(), d" "user list (no hashes)"
admin user reset bob >"$work/reset.json"
check "d = json.load(open('$work/reset.json')); assert d['sessions_ended'] and len(d['password']) == 20, d" "user reset"
admin user remove alice >/dev/null || fail "user remove"
if admin user remove owner >/dev/null 2>"$work/owner.txt"; then fail "the last owner must stay"; fi
admin user list >"$work/users2.json"
check "d = json.load(open('$work/users2.json')); assert [u['name'] for u in d['users']] == ['bob', 'owner'], d" \
  "user remove"
admin audit --actor admin-token --action users >"$work/audit.json"
check "d = json.load(open('$work/audit.json')); acts = [e['action'] for e in d['entries']]
assert acts[0] == 'DELETE /admin/v1/users/{id}' and acts[0:2] == ['DELETE /admin/v1/users/{id}'] * 2, acts
assert d['entries'][1]['status'] == 200 and d['entries'][0]['status'] == 400, d['entries'][:2]
assert 'POST /admin/v1/users' in acts and all(e['actor'] == 'admin-token' for e in d['entries']), d
assert 'a chosen password' not in open('$work/audit.json').read()" "audit lists the user changes, newest first"

# Errors: a wrong token, an https:// URL
if "$cli" admin kyc list --url "$url" --token wrong >/dev/null 2>"$work/unauth.txt"; then fail "a wrong token must fail"; fi
grep -q '"errorCode": "unauthorized"' "$work/unauth.txt" || fail "wrong token error: $(cat "$work/unauth.txt")"
rc=0
"$cli" admin kyc list --url "https://127.0.0.1:$port" --token "$token" >/dev/null 2>"$work/https.txt" || rc=$?
[ "$rc" -eq 64 ] && grep -q "http://" "$work/https.txt" || fail "https:// must be refused (exit $rc)"

# SIGTERM: a clean stop with exit 0
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
[ "$rc" -eq 0 ] || fail "faceauthd exited $rc after SIGTERM"
echo "admin cli checks passed"
