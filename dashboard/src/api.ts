// The management API (docs/openapi.yaml) with the session cookie: every state-changing call
// carries the session's CSRF token in X-CSRF-Token.
export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken = '';
let onSignedOut: () => void = () => {};
// Bumped with every new CSRF token (a new session, or a sign-in begun): a 401 that answers a
// request of an earlier session is not a sign-out of this one.
let epoch = 0;

export function setCsrf(token: string): void {
  csrfToken = token;
  epoch += 1;
}
export function whenSignedOut(callback: () => void): void {
  onSignedOut = callback;
}

export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  let payload: BodyInit | undefined;
  if (body instanceof FormData) {
    payload = body;
  } else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  const started = epoch;
  const response = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
  const text = await response.text();
  let data: any = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    if (response.status === 401 && !path.startsWith('/admin/v1/auth/') && started === epoch) onSignedOut();
    throw new ApiError(response.status, data?.errorCode ?? 'error', data?.message ?? response.statusText);
  }
  return data as T;
}

export const enc = encodeURIComponent;

export interface User {
  name: string;
  role: 'owner' | 'admin' | 'viewer';
}
export interface KycProject {
  id: string;
  name: string;
  webhook_url: string;
  auto_approve_threshold: number;
  create_time: string;
}
export interface FaceAuthProject {
  id: string;
  kyc_project_id: string;
  name: string;
  policy: Policy;
  policy_warnings: PolicyWarning[];
  image_retention_days: number;
  create_time: string;
}
export interface PolicyWarning {
  code: string;
  message: string;
}
export interface Policy {
  faceSimilarity_threshold: number;
  occluded_threshold: { enabled: boolean; threshold: number };
  faceCover_threshold: number;
  headCover_threshold: number;
  liveness_threshold: number;
  quality: Record<string, number>;
  quality_applied?: Record<string, number>; // the limits judged by (the server's); absent in old records
}

export async function kycProjects(): Promise<KycProject[]> {
  return (await api<{ projects: KycProject[] }>('GET', '/admin/v1/kyc-projects')).projects;
}
export async function faceauthProjects(): Promise<FaceAuthProject[]> {
  return (await api<{ projects: FaceAuthProject[] }>('GET', '/admin/v1/faceauth-projects')).projects;
}
