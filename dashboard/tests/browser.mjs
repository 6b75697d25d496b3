// The dashboard's browser tests: headless Debian Chromium (/usr/bin/chromium) driven by
// playwright-core against the real faceauthd on a free loopback port, with a fresh data dir.
//   node dashboard/tests/browser.mjs PATH/TO/faceauthd
// FACEAUTH_SCREENSHOTS=DIR writes a PNG of each page into DIR (docs/dashboard.md uses them).
// Every wait is bounded; the server and the webhook receiver are stopped by pid / close.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const faceauthd = process.argv[2];
if (!faceauthd || !fs.existsSync(faceauthd)) {
  console.error('usage: node browser.mjs PATH/TO/faceauthd');
  process.exit(2);
}
const CHROMIUM = '/usr/bin/chromium';
if (!fs.existsSync(CHROMIUM)) {
  console.error('no /usr/bin/chromium: run scripts/setup.sh (Debian package chromium)');
  process.exit(1);
}
const shotsDir = process.env.FACEAUTH_SCREENSHOTS || '';
const axeSource = fs.readFileSync(path.join(here, '..', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
const XSS = '<img src=x onerror=alert(1)>';

let failures = 0;
let passed = 0;
function check(condition, what, detail = '') {
  if (condition) {
    passed++;
    console.log(`ok   ${what}`);
  } else {
    failures++;
    console.log(`FAIL ${what}${detail ? `: ${detail}` : ''}`);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what, test, timeoutMs = 30000, stepMs = 250) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await test();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(stepMs);
  }
}

// One HTTP request with exactly the headers given (Origin included, which fetch would not let us forge).
function raw(port, method, target, headers = {}, body = null) {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, method, path: target, headers }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try {
          json = JSON.parse(text);
        } catch {
          json = null;
        }
        resolve({ status: response.statusCode, headers: response.headers, text, json });
      });
    });
    request.setTimeout(60000, () => request.destroy(new Error('request timed out')));
    request.on('error', reject);
    if (body) request.write(body);
    request.end();
  });
}

// True once the image has loaded with pixels (false on an error).
function imageLoaded(locator) {
  return locator.evaluate((img) => new Promise((resolve) => {
    if (img.complete) return resolve(img.naturalWidth > 0);
    img.addEventListener('load', () => resolve(img.naturalWidth > 0));
    img.addEventListener('error', () => resolve(false));
  }));
}

function multipart(fields) {
  const boundary = `----fa${crypto.randomBytes(8).toString('hex')}`;
  const parts = [];
  for (const [name, value] of Object.entries(fields)) {
    const file = Buffer.isBuffer(value);
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"${file ? '; filename="x.jpg"' : ''}\r\n` +
      (file ? 'Content-Type: image/jpeg\r\n' : '') + '\r\n'));
    parts.push(file ? value : Buffer.from(String(value)));
    parts.push(Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { type: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(parts) };
}

async function faceauth(port, key, submissionId, image) {
  const form = multipart({ submissionId, faceImage: image });
  return raw(port, 'POST', '/v3/faceauth', { 'x-api-key': key, 'content-type': form.type }, form.body);
}

// ---- the server and a webhook receiver ---------------------------------------------------
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'faceauth-dashboard-'));
const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'faceauth-chromium-'));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
let serverOut = '';
const server = spawn(faceauthd, ['--data-dir', dataDir, '--bind', '127.0.0.1', '--port', String(port), '--workers', '1'], {
  stdio: ['ignore', 'pipe', 'pipe'],
});
server.stdout.on('data', (chunk) => (serverOut += chunk));
server.stderr.on('data', (chunk) => (serverOut += chunk));
let serverExit = null;
server.on('exit', (code, signal) => (serverExit = { code, signal }));

const hooks = [];
const receiver = http.createServer((request, response) => {
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    hooks.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end('ok');
  });
});
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const hookUrl = `http://127.0.0.1:${receiver.address().port}/hook`;

let browser = null;
try {
  await until('faceauthd and its demo', () => fs.existsSync(path.join(dataDir, 'demo.json')) && /dashboard user: owner/.test(serverOut), 240000, 500);
  const demo = JSON.parse(fs.readFileSync(path.join(dataDir, 'demo.json'), 'utf8'));
  const ownerPassword = /dashboard user: owner, password \(shown once, only its hash is kept\): (\S+)/.exec(serverOut)?.[1];
  check(ownerPassword && ownerPassword === demo.dashboard_password, 'the first start prints the owner password once and writes it to demo.json');
  check(serverOut.includes(`dashboard: ${base}/dashboard/`), 'the first start prints the dashboard address');
  const selfie = fs.readFileSync(demo.selfie);
  const other = fs.readFileSync(demo.other_person);

  // ---- serving: CSP, types, caching --------------------------------------------------------
  const index = await raw(port, 'GET', '/dashboard/');
  const csp = index.headers['content-security-policy'] || '';
  check(index.status === 200 && index.headers['content-type'].startsWith('text/html'), 'index.html is served as text/html');
  check(/script-src 'self'/.test(csp) && /style-src 'self'/.test(csp) && !csp.includes('unsafe-inline'), 'a strict Content-Security-Policy', csp);
  check(index.headers['cache-control'] === 'no-cache', 'index.html is no-cache', index.headers['cache-control']);
  check(!/<script>|<style>|style=/.test(index.text), 'index.html has no inline script or style');
  const script = /src="\/dashboard\/(assets\/[^"]+\.js)"/.exec(index.text)?.[1];
  const asset = await raw(port, 'GET', `/dashboard/${script}`);
  check(asset.status === 200 && asset.headers['content-type'].startsWith('text/javascript'), 'the bundle is served as JavaScript');
  check(/immutable/.test(asset.headers['cache-control'] || ''), 'hashed assets are immutable', asset.headers['cache-control']);
  check((await raw(port, 'GET', '/dashboard/nope.js')).status === 404, 'an unknown dashboard file is 404');

  // ---- sign-in needs the CSRF token and a same-site Origin -------------------------------------
  const credentials = JSON.stringify({ username: 'owner', password: ownerPassword });
  const csrf = await raw(port, 'GET', '/admin/v1/auth/csrf');
  const signinCookie = (csrf.headers['set-cookie'] || []).map((c) => c.split(';')[0]).join('; ');
  check(/HttpOnly/.test(csrf.headers['set-cookie']?.[0] || '') && /SameSite=Strict/.test(csrf.headers['set-cookie']?.[0] || ''),
    'the sign-in cookie is HttpOnly and SameSite=Strict');
  const json = { 'content-type': 'application/json' };
  const noToken = await raw(port, 'POST', '/admin/v1/auth/sign-in', { ...json, origin: base, cookie: signinCookie }, credentials);
  check(noToken.status === 403 && !noToken.headers['set-cookie'], 'sign-in without the CSRF token is refused', noToken.text);
  const crossSite = await raw(port, 'POST', '/admin/v1/auth/sign-in',
    { ...json, origin: 'http://evil.example', cookie: signinCookie, 'x-csrf-token': csrf.json.csrf_token }, credentials);
  check(crossSite.status === 403 && !crossSite.headers['set-cookie'], 'sign-in from a cross-site Origin is refused', crossSite.text);
  const wrongToken = await raw(port, 'POST', '/admin/v1/auth/sign-in',
    { ...json, origin: base, cookie: signinCookie, 'x-csrf-token': 'f'.repeat(48) }, credentials);
  check(wrongToken.status === 403, 'sign-in with another CSRF token is refused');
  const noOrigin = await raw(port, 'POST', '/admin/v1/auth/sign-in',
    { ...json, cookie: signinCookie, 'x-csrf-token': csrf.json.csrf_token }, credentials);
  check(noOrigin.status === 403, 'sign-in without an Origin is refused');

  // Failed sign-ins are throttled per user name: the 6th try waits, whatever the password.
  const tries = [];
  for (let i = 0; i < 6; i++) {
    const wrong = JSON.stringify({ username: 'mallory', password: `guess-${i}` });
    tries.push(await raw(port, 'POST', '/admin/v1/auth/sign-in',
      { ...json, origin: base, cookie: signinCookie, 'x-csrf-token': csrf.json.csrf_token }, wrong));
  }
  check(tries.slice(0, 5).every((r) => r.status === 401) && tries[5].status === 429 && Number(tries[5].headers['retry-after']) > 0,
    'failed sign-ins are throttled (429 with Retry-After)', tries.map((r) => r.status).join(','));

  // ---- the browser ---------------------------------------------------------------------------
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1000, height: 700 },
  });
  browser = context;
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(60000);
  let alerts = 0;
  page.on('dialog', async (dialog) => {
    if (dialog.type() === 'alert') alerts++;
    await dialog.accept();
  });
  const consoleErrors = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });

  const axeChecked = [];
  async function axe(name) {
    if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
    const result = await page.evaluate(async () => {
      const out = await window.axe.run(document, { resultTypes: ['violations'] });
      return out.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help, target: v.nodes[0]?.target }));
    });
    const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    axeChecked.push(name);
    check(bad.length === 0, `axe-core: no serious or critical violation on ${name}`, JSON.stringify(bad));
  }
  // The page from its top, or one element of it.
  async function shot(name, selector = '') {
    if (!shotsDir) return;
    fs.mkdirSync(shotsDir, { recursive: true });
    const file = path.join(shotsDir, `${name}.png`);
    if (selector) return void (await page.locator(selector).screenshot({ path: file }));
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: file, fullPage: false });
  }
  async function open(route, heading) {
    await page.goto(`${base}/dashboard/#/${route}`);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  }
  async function adminApi(method, target, body) {
    return page.evaluate(async ([m, t, b]) => {
      const session = await (await fetch('/admin/v1/auth/session')).json();
      const response = await fetch(t, {
        method: m,
        headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrf_token || '' },
        body: b === undefined ? undefined : JSON.stringify(b),
      });
      return { status: response.status, body: await response.text() };
    }, [method, target, body]);
  }

  // Sign in with the keyboard alone.
  await page.goto(`${base}/dashboard/`);
  await page.getByRole('heading', { name: 'Sign in to faceauth' }).waitFor();
  await axe('sign-in');
  await shot('sign-in');
  await page.keyboard.type('owner');
  await page.keyboard.press('Tab');
  await page.keyboard.type(ownerPassword);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  check(true, 'sign-in with the keyboard alone');
  const cookies = await context.cookies(base);
  const session = cookies.find((c) => c.name === 'fa_session');
  check(session && session.httpOnly && session.sameSite === 'Strict', 'the session cookie is HttpOnly and SameSite=Strict');
  await page.locator('svg.chart').first().waitFor();
  check((await page.locator('svg.chart').count()) === 3, 'the overview draws its charts as SVG');
  await axe('overview');

  // Cookie calls without the CSRF header are refused.
  const noCsrf = await page.evaluate(async () => (await fetch('/admin/v1/kyc-projects', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x' }) })).status);
  check(noCsrf === 403, 'a cookie call that changes state without the CSRF token is refused', String(noCsrf));

  // Projects: create both kinds, copy the keys, use them.
  await open('projects', 'Projects');
  await page.getByLabel('New KYC project name').fill('Browser KYC');
  await page.getByRole('button', { name: 'Create KYC project' }).click();
  const kycKeyBox = page.locator('input.secret');
  await kycKeyBox.waitFor();
  const kycKey = await kycKeyBox.inputValue();
  await page.getByRole('button', { name: 'Copy' }).click();
  await page.getByText('Copied to the clipboard.').waitFor();
  const copiedKyc = await page.evaluate(() => navigator.clipboard.readText());
  check(kycKey.startsWith('kyc_') && copiedKyc === kycKey, 'a new KYC key is shown once and copied', copiedKyc);
  const kycList = await raw(port, 'GET', '/v3/submissions', { 'x-api-key': copiedKyc });
  check(kycList.status === 200, 'the copied KYC key works with an HTTP client', kycList.text);
  await page.reload();
  await page.getByRole('heading', { level: 1, name: 'Projects' }).waitFor();
  await page.getByLabel('Of KYC project').selectOption({ label: 'Browser KYC' });
  await page.getByLabel('New FaceAuth project name').fill('Browser door');
  await page.getByRole('button', { name: 'Create FaceAuth project' }).click();
  await page.locator('input.secret').waitFor();
  await page.getByRole('button', { name: 'Copy' }).click();
  await page.getByText('Copied to the clipboard.').waitFor();
  const addonKey = await page.evaluate(() => navigator.clipboard.readText());
  check(addonKey.startsWith('fa_') && addonKey === (await page.locator('input.secret').inputValue()), 'a new add-on key is shown once and copied');
  const projectsNow = JSON.parse((await adminApi('GET', '/admin/v1/faceauth-projects')).body).projects;
  const door = projectsNow.find((p) => p.name === 'Browser door');
  const kycId = door.kyc_project_id;
  await page.reload();
  await page.locator('tr', { hasText: door.id }).getByLabel('New name for Browser door').fill('Browser front door');
  await page.locator('tr', { hasText: door.id }).getByRole('button', { name: 'Rename' }).click();
  await page.getByText('Renamed to Browser front door.').waitFor();
  const renamed = JSON.parse((await adminApi('GET', `/admin/v1/faceauth-projects/${door.id}`)).body);
  check(renamed.name === 'Browser front door', 'a FaceAuth project is renamed');
  await axe('projects');
  await shot('projects');

  // Submissions: create from an upload (a user id that is HTML), approve, search.
  await open(`submissions?kyc=${kycId}`, 'Submissions');
  await page.getByLabel('Selfie', { exact: true }).setInputFiles(demo.selfie);
  await page.getByLabel('User id').last().fill(XSS);
  await page.getByRole('button', { name: 'Create submission' }).click();
  await page.getByText(/Submission [0-9a-f]+ created \(pending\)/).waitFor();
  const row = page.locator('tr', { has: page.locator('.user-id') }).first();
  check((await row.locator('.user-id').textContent()) === XSS, 'a userId holding HTML is shown as text');
  check((await page.locator('main img[src="x"]').count()) === 0 && alerts === 0, 'the userId HTML is not run');
  await row.getByRole('button', { name: 'Approve' }).click();
  await page.locator('tr .badge.approved').first().waitFor();
  const submissionId = (await row.locator('code').textContent()).trim();
  check(await imageLoaded(row.locator('img.thumb')), 'the submission thumbnail loads');
  await page.getByLabel('ID photo').setInputFiles(demo.other_person);
  await page.getByLabel('User id').last().fill('second-user');
  await page.getByRole('button', { name: 'Create submission' }).click();
  const second = page.locator('tr', { hasText: 'second-user' });
  await second.waitFor();
  await second.getByRole('button', { name: 'Reject' }).click();
  await second.locator('.badge.rejected').waitFor();
  check(true, 'a submission made from an ID photo is rejected');
  await page.getByLabel('Status').selectOption('approved');
  await page.getByRole('button', { name: 'Search' }).click();
  await until('the status search', async () => (await page.locator('tr', { hasText: 'second-user' }).count()) === 0);
  check((await page.locator('tr .badge.approved').count()) === 1, 'submissions are searched by status');
  await page.getByLabel('Status').selectOption('');
  await page.getByRole('button', { name: 'Search' }).click();
  await second.getByRole('button', { name: 'Delete' }).click();
  await page.getByText(/: deleted\./).waitFor();
  check((await page.locator('tr', { hasText: 'second-user' }).count()) === 0, 'a submission is deleted');
  await page.getByLabel('User id').first().fill('nobody-has-this');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByText('Nothing to show.').waitFor();
  await page.getByLabel('User id').first().fill(XSS);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('tr .user-id').first().waitFor();
  check((await page.locator('tr .user-id').count()) === 1, 'submissions are searched by userId');
  await axe('submissions');
  await shot('submissions');

  // Try it: the same person is approved, someone else rejected; the face is drawn.
  await open(`try?fa=${door.id}`, 'Try it');
  await page.getByLabel('Approved submission').selectOption(submissionId);
  await page.getByLabel('Selfie', { exact: true }).setInputFiles(demo.selfie);
  await page.getByRole('button', { name: 'Try it', exact: true }).click();
  await page.locator('#decision').waitFor();
  check((await page.locator('#decision strong').textContent()) === 'approved', 'try it: the demo selfie is approved');
  check((await page.locator('rect.face-box').count()) === 1 && (await page.locator('circle.landmark').count()) === 68,
    'try it: the face box and 68 landmarks are drawn');
  await axe('try it');
  await shot('try-it', '.try-result');
  await page.getByLabel('Selfie', { exact: true }).setInputFiles(demo.other_person);
  await page.getByRole('button', { name: 'Try it', exact: true }).click();
  await page.locator('#decision strong', { hasText: 'rejected' }).waitFor();
  check(await page.getByText('The face does not match the submission closely enough').isVisible(), 'try it: the other person is rejected, in words');

  // History: both attempts, a photo, a purge.
  await open(`history?fa=${door.id}`, 'History');
  await page.locator('article.attempt').nth(1).waitFor();
  check((await page.locator('article.attempt.approved').count()) === 1 && (await page.locator('article.attempt.rejected').count()) === 1,
    'history lists the approved and the rejected attempt');
  await page.getByLabel('Status').selectOption('rejected');
  await page.getByRole('button', { name: 'Show', exact: true }).click();
  await until('the status filter', async () => (await page.locator('article.attempt').count()) === 1);
  check((await page.locator('article.attempt.rejected').count()) === 1, 'history filters by status');
  const rejected = page.locator('article.attempt.rejected');
  await rejected.getByRole('button', { name: 'Show photo' }).click();
  check(await imageLoaded(rejected.locator('img.attempt-photo')), 'an attempt\u2019s kept photo is shown');
  await axe('history');
  await shot('history');
  await rejected.getByRole('button', { name: 'Purge photo and personal data' }).click();
  await page.getByText(/Attempt .* purged\./).waitFor();
  await page.locator('article.attempt.rejected', { hasText: '(purged)' }).waitFor();
  check(await page.locator('article.attempt.rejected').getByText('Photo: deleted').isVisible(), 'a purged attempt keeps its record without its photo');

  // Policy: the rates beside the threshold, and the next attempt judged by the new policy.
  await open(`policy?fa=${door.id}`, 'Policy');
  const rates = await page.locator('#similarity-rates').textContent();
  check(/At 70: false-accept rate 0\.100 %.*false-reject rate 1\.60 %/.test(rates), 'the threshold shows its FAR and FRR', rates);
  await shot('policy');
  await page.getByLabel('Similarity threshold (0-100)').fill('50');
  check(/At 50: false-accept rate 1\.00 %/.test(await page.locator('#similarity-rates').textContent()), 'the rates follow the threshold');
  await page.getByLabel('Smallest eye distance (px)').fill('900');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await page.getByText('Policy saved; the next attempt is judged by it.').waitFor();
  const judged = await faceauth(port, addonKey, submissionId, selfie);
  check(judged.status === 200 && judged.json.auth_status === 'rejected' && judged.json.fail_code.includes('Face_too_small_fail'),
    'the next attempt is judged by the changed policy', judged.text);
  await axe('policy');
  await page.getByLabel('Smallest eye distance (px)').fill('20');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await page.getByText('Policy saved; the next attempt is judged by it.').waitFor();
  // A required face cover with liveness on is saved, with the server's warnings shown beside it.
  check(await page.locator('#policy-warnings li').count() === 0, 'no warning for the default checks');
  await page.getByLabel('Face cover threshold (0 = off)').fill('50');
  await page.getByLabel('Liveness threshold (0 = off)').fill('50');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await page.locator('#policy-warnings li[data-code="face_cover_with_liveness"]').waitFor();
  check(await page.locator('#policy-warnings li[data-code="face_cover_lowers_similarity"]').isVisible(), 'a required mask warns of similarity');
  const warned = JSON.parse((await adminApi('GET', `/admin/v1/faceauth-projects/${door.id}`)).body);
  check(warned.policy.liveness_threshold === 50 && warned.policy_warnings.length === 2, 'the warned policy was saved', JSON.stringify(warned));
  await page.getByLabel('Face cover threshold (0 = off)').fill('0');
  await page.getByLabel('Liveness threshold (0 = off)').fill('0');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await page.locator('#policy-warnings li').first().waitFor({ state: 'detached' });

  // Rotate the add-on key: the old one is refused, the new one works.
  await open('projects', 'Projects');
  await page.locator('tr', { hasText: door.id }).getByRole('button', { name: 'Rotate key' }).click();
  await page.locator('input.secret').waitFor();
  const newKey = await page.locator('input.secret').inputValue();
  const old = await faceauth(port, addonKey, submissionId, selfie);
  check(old.status === 401 && old.json.errorCode === 'Invalid_projectId', 'after a rotation the old key is refused', old.text);
  const fresh = await faceauth(port, newKey, submissionId, selfie);
  check(fresh.status === 200 && fresh.json.auth_status === 'approved', 'the new key works', fresh.text);

  // Webhooks: set one, see its delivery (signed), redeliver it.
  await open(`webhooks?kyc=${kycId}`, 'Webhooks');
  await page.getByLabel('Webhook URL').fill(hookUrl);
  await page.getByRole('button', { name: 'Save URL' }).click();
  await page.locator('input.secret').waitFor();
  const secret = await page.locator('input.secret').inputValue();
  const decided = await faceauth(port, newKey, submissionId, selfie);
  const delivery = await until('a webhook delivery', () => hooks.find((h) => h.body.includes(decided.json.authentication_id)), 60000);
  const signature = crypto.createHmac('sha256', secret).update(`${delivery.headers['x-faceauth-timestamp']}.${delivery.body}`).digest('hex');
  check(delivery.headers['x-faceauth-signature'] === `v1=${signature}`, 'the webhook is delivered, signed with the shown secret');
  await page.reload();
  await page.getByRole('heading', { level: 1, name: 'Webhooks' }).waitFor();
  const logRow = page.locator('tr', { hasText: decided.json.authentication_id }).first();
  await logRow.waitFor();
  const before = hooks.length;
  await logRow.getByRole('button', { name: 'Redeliver' }).click();
  await page.getByText(/queued again/).waitFor();
  await until('the redelivery', () => hooks.length > before, 60000);
  check(hooks[hooks.length - 1].body.includes(decided.json.authentication_id), 'one event is redelivered');
  await page.getByRole('button', { name: 'Rotate secret' }).click();
  await page.getByText('New webhook secret (shown once: only its hash is kept)').waitFor();
  check((await page.locator('input.secret').inputValue()) !== secret, 'the webhook secret is rotated');
  await axe('webhooks');
  await shot('webhooks');

  // Audit log: what was done, by whom.
  await open('audit', 'Audit log');
  const auditText = await page.locator('main table').textContent();
  check(auditText.includes('rotate-key') && auditText.includes('owner') && auditText.includes('/redeliver'), 'the audit log lists the changes');
  const auditBody = (await adminApi('GET', '/admin/v1/audit?limit=1000')).body;
  check(!auditBody.includes(newKey) && !auditBody.includes(secret) && !auditBody.includes(ownerPassword), 'the audit log holds no secret');
  await axe('audit log');
  await shot('audit');
  // With head cover required, an attempt's checks show the limits it was judged by (the PPE rule's).
  const ppeOn = await adminApi('PUT', `/admin/v1/faceauth-projects/${door.id}/policy`, { headCover_threshold: 1 });
  check(ppeOn.status === 200, 'head cover turned on', ppeOn.body);
  await open(`try?fa=${door.id}`, 'Try it');
  await page.getByLabel('Approved submission').selectOption(submissionId);
  await page.getByLabel('Selfie', { exact: true }).setInputFiles(demo.selfie);
  await page.getByRole('button', { name: 'Try it', exact: true }).click();
  await page.locator('#decision').waitFor();
  const eyeRow = await page.locator('tr', { hasText: 'Eye distance (px)' }).textContent();
  check(eyeRow.includes('\u2265 30') && (await page.locator('tr', { hasText: 'Landmark fit' }).count()) === 1,
    'the checks show the limits applied under a PPE check', eyeRow);
  await adminApi('PUT', `/admin/v1/faceauth-projects/${door.id}/policy`, { headCover_threshold: 0 });
  await open('overview', 'Overview');
  await page.locator('svg.chart rect').first().waitFor();
  await shot('overview');

  // Users: a viewer, who can change nothing, also with its cookie against the API.
  await open('users', 'Users');
  await page.getByLabel('New user name').fill('viewer1');
  await page.getByLabel('Role').selectOption('viewer');
  await page.getByRole('button', { name: 'Add user' }).click();
  await page.locator('input.secret').waitFor();
  const viewerPassword = await page.locator('input.secret').inputValue();
  await axe('users');
  // A request still in flight at sign-out comes back 401 once the form is up: it must not redraw
  // the form and wipe what is typed in it (a race a loaded machine once showed).
  let release;
  const held = new Promise((resolve) => (release = resolve));
  let seen;
  const holding = new Promise((resolve) => (seen = resolve));
  await page.route('**/admin/v1/users', async (route) => {
    if (route.request().method() !== 'GET') return route.continue();
    seen();
    await held;
    return route.continue();
  });
  await page.reload();
  await holding;
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to faceauth' }).waitFor();
  check((await adminApi('GET', '/admin/v1/kyc-projects')).status === 401, 'after sign-out the session is gone');
  await page.getByLabel('User name').fill('viewer1');
  const late = page.waitForResponse((r) => r.url().endsWith('/admin/v1/users') && r.request().method() === 'GET');
  release();
  check((await late).status() === 401, 'the held request is answered 401 after the sign-out');
  await sleep(500);
  check((await page.getByLabel('User name').inputValue()) === 'viewer1', 'a late 401 leaves the sign-in form as typed');
  await page.unroute('**/admin/v1/users');
  await page.getByLabel('Password').fill(viewerPassword);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  await open('projects', 'Projects');
  await page.locator('main table tr').nth(1).waitFor();  // the heading comes first, the lists after
  check((await page.getByRole('button', { name: /Create|Rotate key|Rename/ }).count()) === 0, 'a viewer gets no buttons that change anything');
  const attempts = JSON.parse((await adminApi('GET', `/admin/v1/faceauth-projects/${door.id}/attempts`)).body).attempts;
  const stored = attempts.find((a) => a.image_status === 'stored');
  const denied = [
    await adminApi('POST', '/admin/v1/kyc-projects', { name: 'nope' }),
    await adminApi('POST', `/admin/v1/faceauth-projects/${door.id}/rotate-key`),
    await adminApi('PUT', `/admin/v1/faceauth-projects/${door.id}/policy`, { faceSimilarity_threshold: 1 }),
    await adminApi('DELETE', `/admin/v1/kyc-projects/${kycId}/submissions/${submissionId}`),
    await adminApi('DELETE', `/admin/v1/faceauth-projects/${door.id}/attempts/${stored.authId}`),
    await adminApi('GET', `/admin/v1/faceauth-projects/${door.id}/attempts/${stored.authId}/image`),
    await adminApi('GET', `/admin/v1/kyc-projects/${kycId}/submissions/${submissionId}/selfie`),
    await adminApi('GET', '/admin/v1/users'),
    await adminApi('POST', '/admin/v1/users', { name: 'sneaky', role: 'owner' }),
  ];
  check(denied.every((r) => r.status === 403), 'a viewer\u2019s cookie cannot change anything or see a face through the API',
    denied.map((r) => r.status).join(','));
  const policyAfter = JSON.parse((await adminApi('GET', `/admin/v1/faceauth-projects/${door.id}`)).body).policy;
  check(policyAfter.faceSimilarity_threshold === 50, 'the viewer\u2019s policy change did not happen');
  check((await adminApi('GET', '/admin/v1/kyc-projects')).status === 200, 'a viewer reads');
  await open(`submissions?kyc=${kycId}`, 'Submissions');
  await page.locator('tr .user-id').first().waitFor();
  check((await page.locator('img.thumb').count()) === 0, 'a viewer sees no face thumbnails');

  // Phone width: no sideways scrolling of the page.
  const viewerCookie = (await context.cookies(base)).find((c) => c.name === 'fa_session').value;
  await page.setViewportSize({ width: 390, height: 844 });
  for (const route of [['overview', 'Overview'], ['projects', 'Projects'], [`history?fa=${door.id}`, 'History']]) {
    await open(route[0], route[1]);
    const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
    check(fits, `${route[1]} fits a phone's width`);
  }
  await shot('phone-history');

  // A viewer signs out too; the old cookie is dead afterwards.
  await page.setViewportSize({ width: 1000, height: 700 });
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to faceauth' }).waitFor();
  const replay = await raw(port, 'GET', '/admin/v1/kyc-projects', { cookie: `fa_session=${viewerCookie}` });
  check(replay.status === 401, 'a viewer signs out, and its old session cookie is refused', String(replay.status));

  // The bearer token still works for scripts, without CSRF.
  const bearer = await raw(port, 'POST', '/admin/v1/kyc-projects', { ...json, authorization: `Bearer ${demo.admin_token}` },
    JSON.stringify({ name: 'scripted' }));
  check(bearer.status === 201, 'the admin bearer token works without a CSRF token');
  check(alerts === 0, 'no alert ran during the whole run');
  check(consoleErrors.filter((e) => /Content Security Policy/.test(e)).length === 0, 'no CSP violation in the console', consoleErrors.join(' | '));
  check(axeChecked.length >= 10, 'axe-core ran on every page', axeChecked.join(', '));
} catch (error) {
  failures++;
  console.log(`FAIL ${error.stack || error}`);
  console.log(serverOut.split('\n').slice(-20).join('\n'));
} finally {
  if (browser) await browser.close().catch(() => {});
  receiver.close();
  if (serverExit === null) {
    server.kill('SIGTERM');
    await until('faceauthd to stop', () => serverExit !== null, 30000).catch(() => server.kill('SIGKILL'));
  }
  check(serverExit && serverExit.code === 0, 'faceauthd stops cleanly on SIGTERM', JSON.stringify(serverExit));
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(profileDir, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
