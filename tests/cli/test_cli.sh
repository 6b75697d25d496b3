#!/usr/bin/env bash
# Black-box checks of the faceauth command-line tool on the face-api demo photos:
# verify, embed, detect, compare and eval print what their usage says, errors included.
set -euo pipefail
bin=$1
demo=${FACEAUTH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/faceauth}/npm/face-api/package/demo
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
check() { /usr/bin/python3 -c "import json, sys; $1" || { echo "FAILED: $2"; exit 1; }; }

"$bin" verify "$demo/sample1.jpg" "$demo/sample1.jpg" --detector hm_blazeface >"$work/verify.json"
check "d = json.load(open('$work/verify.json')); a = d['a']
assert a['face_count'] == 3 and len(a['faces'][0]['landmarks']) == 68, a
assert abs(d['similarity'] - 1.0) < 1e-5 and d['score'] == 100.0, d
assert set(a['ms']) >= {'decode', 'detect', 'landmarks', 'align', 'embed', 'total'}" "verify of one photo with itself"

printf 'not an image' >"$work/text.jpg"
if "$bin" verify "$demo/sample1.jpg" "$work/text.jpg" >"$work/bad.json"; then echo "FAILED: verify must fail"; exit 1; fi
check "d = json.load(open('$work/bad.json')); assert d['b']['error'] == 'image_converting_error' and d['similarity'] is None, d" \
  "verify with a text file"

"$bin" embed "$demo/sample2.jpg" "$work/text.jpg" >"$work/embed.jsonl"
check "rows = [json.loads(l) for l in open('$work/embed.jsonl')]
assert len(rows) == 2 and len(rows[0]['embedding']) == 640 and rows[0]['model_version'].startswith('fused-1[') and rows[1]['error'] == 'image_converting_error', rows" "embed"

cp "$demo/sample1.jpg" "$demo/sample2.jpg" "$work/"
printf 'same\timage_a\textra\timage_b\n1\tsample1.jpg\tx\tsample1.jpg\n0\tsample1.jpg\tx\tsample2.jpg\n0\tsample1.jpg\tx\tmissing.jpg\n' >"$work/pairs.tsv"
"$bin" compare --pairs "$work/pairs.tsv" --images "$work" --threads 2 >"$work/compare.jsonl"
check "rows = [json.loads(l) for l in open('$work/compare.jsonl')]
assert [r['image_b'] for r in rows] == ['sample1.jpg', 'sample2.jpg', 'missing.jpg'], rows
assert rows[0]['similarity'] > 0.999 and rows[0]['error'] is None, rows[0]
assert rows[1]['similarity'] < rows[0]['similarity'] and rows[1]['error'] is None, rows[1]
assert rows[2]['error'] == 'image_converting_error' and rows[2]['similarity'] is None, rows[2]" "compare"

"$bin" eval --pairs "$work/pairs.tsv" --images "$work" --threads 2 --roc "$work/roc.png" >"$work/eval.json"
check "d = json.load(open('$work/eval.json'))
assert (d['pairs'], d['same'], d['different'], d['error_pairs']) == (3, 1, 2, 1), d
assert d['failed_images'] == {'image_converting_error': 1} and d['no_face_images'] == 0, d
assert abs(d['accuracy'] - 2 / 3) < 1e-3 and d['roc_auc'] == 0.5, d  # the error pair ranks first
assert d['impostors']['generated'] == 1 and all(t['tar'] == 'not measurable' for t in d['tar_at_far']), d
import struct; png = open('$work/roc.png', 'rb').read(24)
assert png[:8] == b'\\x89PNG\\r\\n\\x1a\\n' and struct.unpack('>II', png[16:24]) == (640, 480), png" "eval"

"$bin" detect "$demo/sample5.jpg" --detector hm_blazeface >"$work/detect.jsonl"
check "r = json.loads(open('$work/detect.jsonl').read()); assert r['faces'] == len(r['boxes']) == 5, r" "detect"
echo "cli checks passed"
