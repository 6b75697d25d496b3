// Each check of a policy against the scores an attempt got: what the dashboard shows beside
// every decision. Quality measurements may sit in score.quality or in a top-level quality.
import type { Policy } from './api';

export interface Check {
  name: string;
  score: number | null; // null: not measured
  threshold: string; // the rule, e.g. ">= 70"
  passed: boolean | null; // null: the check is off
}

const FAIL_WORDS: Record<string, string> = {
  face_compare_underscore: 'The face does not match the submission closely enough',
  Face_Occluded_fail: 'The face is covered or hidden',
  Face_cover_fail: 'No face protection equipment was found',
  Head_cover_fail: 'No head protection equipment was found',
  Liveness_fail: 'The photo does not look like a live person',
  Face_too_small_fail: 'The face is too small in the photo',
  Multiple_faces_fail: 'More than one face is in the photo',
  Blur_fail: 'The face is blurred',
  Exposure_fail: 'The face is too dark or too bright',
  Pose_fail: 'The face is not turned to the camera',
};

export function failWords(code: string): string {
  return FAIL_WORDS[code] ?? code;
}

function atLeast(name: string, score: number | undefined, threshold: number): Check {
  const measured = typeof score === 'number' ? score : null;
  return { name, score: measured, threshold: `≥ ${threshold}`, passed: measured === null ? false : measured >= threshold };
}

function limit(name: string, value: number | undefined, rule: string, ok: (v: number) => boolean): Check {
  const measured = typeof value === 'number' ? value : null;
  return { name, score: measured, threshold: rule, passed: measured === null ? null : ok(measured) };
}

export function checksOf(score: any, policy: Policy | null, topQuality?: any): Check[] {
  if (!policy) return [];
  const s = score ?? {};
  const out: Check[] = [atLeast('Face similarity', s.face_similarity_score, policy.faceSimilarity_threshold)];
  if (policy.occluded_threshold?.enabled) out.push(atLeast('Not occluded', s.occluded_score, policy.occluded_threshold.threshold));
  if (policy.faceCover_threshold > 0) out.push(atLeast('Face cover', s.face_cover_score, policy.faceCover_threshold));
  if (policy.headCover_threshold > 0) out.push(atLeast('Head cover', s.head_cover_score, policy.headCover_threshold));
  if (policy.liveness_threshold > 0) out.push(atLeast('Liveness', s.liveness_score, policy.liveness_threshold));
  // The limits the attempt was judged by: the policy's, tightened by the PPE and liveness rules.
  const q = policy.quality_applied ?? policy.quality ?? {};
  const m = s.quality ?? topQuality ?? null;
  if (m) {
    if (q.min_eye_distance_px > 0)
      out.push(limit('Eye distance (px)', m.eye_distance_px, `≥ ${q.min_eye_distance_px}`, (v) => v >= q.min_eye_distance_px));
    if (q.max_second_face_ratio > 0)
      out.push(limit('Second face ratio', m.second_face_ratio, `≤ ${q.max_second_face_ratio}`, (v) => v <= q.max_second_face_ratio));
    if (q.min_sharpness > 0) out.push(limit('Sharpness', m.sharpness, `≥ ${q.min_sharpness}`, (v) => v >= q.min_sharpness));
    if (q.min_brightness > 0 || q.max_brightness > 0)
      out.push(
        limit('Brightness', m.brightness, `${q.min_brightness}–${q.max_brightness}`, (v) =>
          (q.min_brightness <= 0 || v >= q.min_brightness) && (q.max_brightness <= 0 || v <= q.max_brightness),
        ),
      );
    if (q.max_yaw > 0) out.push(limit('Yaw (°)', m.yaw, `|yaw| ≤ ${q.max_yaw}`, (v) => Math.abs(v) <= q.max_yaw));
    if (q.max_pitch > 0) out.push(limit('Pitch (°)', m.pitch, `|pitch| ≤ ${q.max_pitch}`, (v) => Math.abs(v) <= q.max_pitch));
    if (q.min_landmark_fit > 0)
      out.push(limit('Landmark fit', m.landmark_fit, `≥ ${q.min_landmark_fit}`, (v) => v >= q.min_landmark_fit));
  }
  return out;
}

// The false-accept rate a similarity score stands for (README: score = 10 + 20 log10(1/FAR)).
export function farOf(score: number): number {
  return Math.min(1, Math.pow(10, -(score - 10) / 20));
}

// The false-reject rate at a score, interpolated between the calibration's measured points
// (LFW genuine pairs); null without calibration or outside the measured scores.
export function frrOf(score: number, rates: Record<string, { far: number; frr: number }> | undefined): number | null {
  if (!rates) return null;
  const points = Object.entries(rates)
    .filter(([, v]) => typeof v === 'object' && v && typeof v.frr === 'number')
    .map(([k, v]) => [Number(k), v.frr] as [number, number])
    .sort((a, b) => a[0] - b[0]);
  if (points.length === 0 || score < points[0][0] || score > points[points.length - 1][0]) return null;
  for (let i = 1; i < points.length; i++) {
    const [x0, y0] = points[i - 1];
    const [x1, y1] = points[i];
    if (score <= x1) return y0 + ((y1 - y0) * (score - x0)) / (x1 - x0 || 1);
  }
  return points[points.length - 1][1];
}

export function percent(rate: number | null): string {
  if (rate === null) return 'not measured';
  if (rate === 0) return '0 %';
  if (rate < 0.001) return `${(rate * 100).toPrecision(2)} % (1 in ${Math.round(1 / rate).toLocaleString()})`;
  return `${(rate * 100).toPrecision(3)} %`;
}
