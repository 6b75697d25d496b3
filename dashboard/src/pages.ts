// The dashboard's pages. Each renders into <main> and may return a cleanup function.
import { api, enc, type FaceAuthProject, type KycProject, type Policy, type PolicyWarning, type User } from './api';
import { barChart, legend, lineChart, type Series } from './charts';
import { checksOf, failWords, farOf, frrOf, percent, type Check } from './checks';
import { clear, field, h, s, select, table, tableBox, time } from './dom';
import { button, canChange, errorText, pickFaceAuth, pickKyc, say, secretBox, status } from './ui';

export interface Page {
  path: string;
  title: string;
  ownerOnly?: boolean;
  render(main: HTMLElement, params: URLSearchParams, user: User): Promise<(() => void) | void>;
}

const GREEN = '#1b7a3a';
const RED = '#b3261e';
const BLUE = '#1f5fa8';
const ORANGE = '#a04f00';

// ---- Overview ----------------------------------------------------------------------------
async function overview(main: HTMLElement): Promise<() => void> {
  const body = h('div', {});
  main.append(body);
  const draw = async () => {
    const stats = await api<any>('GET', '/admin/v1/stats');
    const series: any[] = stats.series.slice(-60);
    const labels = series.map((m) => new Date(m.start_ms).toTimeString().slice(0, 5));
    const t = stats.totals;
    const decisions: Series[] = [
      { name: 'approved', values: series.map((m) => m.approved), colour: GREEN },
      { name: 'rejected', values: series.map((m) => m.rejected), colour: RED },
    ];
    const requests: Series[] = [
      { name: 'requests', values: series.map((m) => m.requests - m.server_errors), colour: BLUE },
      { name: 'server errors', values: series.map((m) => m.server_errors), colour: ORANGE },
    ];
    const latency: Series[] = [
      { name: 'p50', values: series.map((m) => m.p50_ms), colour: BLUE },
      { name: 'p95', values: series.map((m) => m.p95_ms), colour: ORANGE },
    ];
    clear(body);
    body.append(
      h(
        'div',
        { class: 'tiles' },
        tile('Health', stats.ready ? 'ready' : 'not ready', stats.ready ? 'ok' : 'bad'),
        tile('Requests (2 h)', String(t.requests)),
        tile('Approval rate', t.approved + t.rejected ? `${(t.approval_rate * 100).toFixed(1)} %` : 'no decisions'),
        tile('Latency p50 / p95', `${t.p50_ms} / ${t.p95_ms} ms`),
        tile('Engines', String(stats.engines)),
      ),
      h('section', { 'aria-labelledby': 'c1' }, h('h2', { id: 'c1' }, 'Requests per minute'),
        barChart(`Requests per minute over the last hour: ${t.requests} in two hours`, labels, requests), legend(requests)),
      h('section', { 'aria-labelledby': 'c2' }, h('h2', { id: 'c2' }, 'Decisions per minute'),
        barChart(`FaceAuth decisions per minute: ${t.approved} approved, ${t.rejected} rejected in two hours`, labels, decisions),
        legend(decisions)),
      h('section', { 'aria-labelledby': 'c3' }, h('h2', { id: 'c3' }, 'Latency'),
        lineChart(`Request latency p50 ${t.p50_ms} ms and p95 ${t.p95_ms} ms over two hours`, labels, latency, 'ms'),
        legend(latency)),
      h('p', { class: 'hint' }, 'From the server\u2019s own counters since it started (kept two hours); /metrics has the Prometheus totals.'),
    );
  };
  await draw();
  const timer = window.setInterval(() => void draw().catch(() => {}), 10000);
  return () => window.clearInterval(timer);
}

function tile(label: string, value: string, tone = ''): HTMLElement {
  return h('div', { class: `tile ${tone}` }, h('span', { class: 'tile-label' }, label), h('strong', {}, value));
}

// ---- Projects ----------------------------------------------------------------------------
async function projects(main: HTMLElement, _params: URLSearchParams, user: User): Promise<void> {
  const note = status();
  const shown = h('div', { class: 'shown', 'aria-live': 'polite' });
  const kyc = await api<{ projects: KycProject[] }>('GET', '/admin/v1/kyc-projects');
  const fa = await api<{ projects: FaceAuthProject[] }>('GET', '/admin/v1/faceauth-projects');
  const editable = canChange(user.role);
  const reload = () => {
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  };
  const showKey = (label: string, value: string) => {
    clear(shown);
    shown.append(secretBox(label, value));
    (shown.querySelector('button') as HTMLButtonElement | null)?.focus();
  };

  const renameCell = (name: string, save: (value: string) => Promise<void>) => {
    if (!editable) return name;
    const input = h('input', { value: name, 'aria-label': `New name for ${name}`, class: 'inline' });
    return h('span', { class: 'rename' }, input, button('Rename', async () => {
      try {
        await save(input.value);
        say(note, `Renamed to ${input.value}.`);
      } catch (e) {
        say(note, errorText(e), true);
      }
    }));
  };

  const kycRows = kyc.projects.map((p) => [
    renameCell(p.name, async (name) => void (await api('PUT', `/admin/v1/kyc-projects/${enc(p.id)}`, { name }))),
    h('code', {}, p.id),
    time(p.create_time),
    editable
      ? button(`Rotate key`, async () => {
          const out = await api<any>('POST', `/admin/v1/kyc-projects/${enc(p.id)}/rotate-key`);
          showKey(`New KYC key of ${p.name}`, out.kyc_key);
        })
      : '—',
  ]);
  const faRows = fa.projects.map((p) => [
    renameCell(p.name, async (name) => void (await api('PUT', `/admin/v1/faceauth-projects/${enc(p.id)}`, { name }))),
    h('code', {}, p.id),
    kyc.projects.find((k) => k.id === p.kyc_project_id)?.name ?? p.kyc_project_id,
    String(p.image_retention_days),
    editable
      ? button(`Rotate key`, async () => {
          const out = await api<any>('POST', `/admin/v1/faceauth-projects/${enc(p.id)}/rotate-key`);
          showKey(`New add-on key of ${p.name}`, out.addon_key);
        })
      : '—',
  ]);
  main.append(note, shown);
  main.append(h('h2', {}, 'KYC projects'), tableBox('KYC projects', table(['Name', 'Id', 'Created', 'Key'], kycRows, 'KYC projects')));
  if (editable) {
    const name = h('input', { name: 'kyc-name', required: true, maxlength: 256 });
    const form = h('form', { class: 'inline-form' }, field('New KYC project name', name), h('button', { type: 'submit' }, 'Create KYC project'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const out = await api<any>('POST', '/admin/v1/kyc-projects', { name: name.value });
        showKey(`KYC key of ${out.project.name}`, out.kyc_key);
        say(note, `KYC project ${out.project.name} created.`);
        kycRows.length = 0;
      } catch (err) {
        say(note, errorText(err), true);
      }
    });
    main.append(form);
  }
  main.append(
    h('h2', {}, 'FaceAuth projects'),
    tableBox('FaceAuth projects', table(['Name', 'Id', 'KYC project', 'Image retention (days)', 'Key'], faRows, 'FaceAuth projects')),
  );
  if (editable && kyc.projects.length) {
    const owner = select('kyc_project_id', kyc.projects.map((p) => [p.id, p.name]));
    const name = h('input', { name: 'fa-name', required: true, maxlength: 256 });
    const form = h('form', { class: 'inline-form' }, field('Of KYC project', owner), field('New FaceAuth project name', name),
      h('button', { type: 'submit' }, 'Create FaceAuth project'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const out = await api<any>('POST', '/admin/v1/faceauth-projects', { kyc_project_id: owner.value, name: name.value });
        showKey(`Add-on key of ${out.project.name}`, out.addon_key);
        say(note, `FaceAuth project ${out.project.name} created.`);
      } catch (err) {
        say(note, errorText(err), true);
      }
    });
    main.append(form);
  }
  main.append(button('Refresh the lists', reload, 'secondary'));
}

// ---- Policy editor -----------------------------------------------------------------------
async function policy(main: HTMLElement, params: URLSearchParams, user: User): Promise<void> {
  const { picker, project } = await pickFaceAuth(params);
  main.append(picker);
  if (!project) return void main.append(h('p', {}, 'No FaceAuth project yet.'));
  const calibration = await api<any>('GET', '/admin/v1/calibration');
  const rates = calibration.calibration?.rates_at_score;
  const p: Policy = project.policy;
  const editable = canChange(user.role);
  const num = (name: string, value: number, min: number, max: number, step = 'any') =>
    h('input', { type: 'number', name, value, min, max, step, required: true, disabled: !editable });
  const similarity = num('faceSimilarity_threshold', p.faceSimilarity_threshold, 0, 100);
  const rate = h('p', { class: 'rates', id: 'similarity-rates', 'aria-live': 'polite' });
  const showRates = () => {
    const v = Number(similarity.value);
    rate.textContent = `At ${v}: false-accept rate ${percent(farOf(v))}, false-reject rate ${percent(frrOf(v, rates))}` +
      ` (${calibration.embedder}, calibrated on LFW: ${calibration.calibration?.fitted_on ?? 'no calibration'})`;
  };
  similarity.addEventListener('input', showRates);
  showRates();
  const occludedOn = h('input', { type: 'checkbox', name: 'occluded_enabled', checked: p.occluded_threshold.enabled, disabled: !editable });
  const occluded = num('occluded_threshold', p.occluded_threshold.threshold, 0, 100);
  const faceCover = num('faceCover_threshold', p.faceCover_threshold, 0, 100);
  const headCover = num('headCover_threshold', p.headCover_threshold, 0, 100);
  const liveness = num('liveness_threshold', p.liveness_threshold, 0, 100);
  const retention = num('image_retention_days', project.image_retention_days, -1, 36500, '1');
  const quality: Record<string, HTMLInputElement> = {};
  const qualityLabels: Record<string, string> = {
    min_eye_distance_px: 'Smallest eye distance (px)',
    max_second_face_ratio: 'Largest second-face ratio',
    min_sharpness: 'Least sharpness',
    min_brightness: 'Least brightness (0-255)',
    max_brightness: 'Most brightness (0-255)',
    max_yaw: 'Most yaw (degrees)',
    max_pitch: 'Most pitch (degrees)',
    min_landmark_fit: 'Least landmark fit (jaw / face box)',
  };
  const qualityOrder = Object.keys(qualityLabels).filter((name) => name in p.quality);
  for (const name of [...qualityOrder, ...Object.keys(p.quality).filter((n) => !(n in qualityLabels))]) {
    quality[name] = num(name, p.quality[name], 0, 100000);
  }
  const note = status();
  const warnings = h('ul', { class: 'warnings', id: 'policy-warnings', 'aria-live': 'polite' });
  const showWarnings = (list: PolicyWarning[]) =>
    warnings.replaceChildren(...list.map((w) => h('li', { 'data-code': w.code }, `Warning: ${w.message}`)));
  showWarnings(project.policy_warnings ?? []);
  const form = h(
    'form',
    { class: 'card' },
    warnings,
    h('fieldset', {}, h('legend', {}, 'Face similarity'),
      field('Similarity threshold (0-100)', similarity, 'An attempt below it is rejected with face_compare_underscore.'), rate),
    h('fieldset', {}, h('legend', {}, 'Occlusion, face and head cover, liveness'),
      field('Check occlusion', occludedOn), field('Occlusion threshold', occluded),
      field('Face cover threshold (0 = off)', faceCover), field('Head cover threshold (0 = off)', headCover),
      field('Liveness threshold (0 = off)', liveness)),
    h('fieldset', {}, h('legend', {}, 'Image quality (0 turns a check off)'),
      Object.entries(quality).map(([name, input]) => field(qualityLabels[name] ?? name, input))),
    h('fieldset', {}, h('legend', {}, 'Face images'),
      field('Keep face images (days; 0 = never, -1 = until deleted)', retention)),
    editable ? h('button', { type: 'submit' }, 'Save policy') : h('p', {}, 'Viewers cannot change policies.'),
    note,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const q: Record<string, number> = {};
    for (const [name, input] of Object.entries(quality)) q[name] = Number(input.value);
    try {
      const saved = await api<FaceAuthProject>('PUT', `/admin/v1/faceauth-projects/${enc(project.id)}/policy`, {
        policy: {
          faceSimilarity_threshold: Number(similarity.value),
          occluded_threshold: { enabled: occludedOn.checked, threshold: Number(occluded.value) },
          faceCover_threshold: Number(faceCover.value),
          headCover_threshold: Number(headCover.value),
          liveness_threshold: Number(liveness.value),
          quality: q,
        },
        image_retention_days: Number(retention.value),
      });
      showWarnings(saved.policy_warnings ?? []);
      say(note, 'Policy saved; the next attempt is judged by it.');
    } catch (err) {
      say(note, errorText(err), true);
    }
  });
  main.append(form);
}

// ---- Submissions -------------------------------------------------------------------------
async function submissions(main: HTMLElement, params: URLSearchParams, user: User): Promise<void> {
  const { picker, project } = await pickKyc(params);
  main.append(picker);
  if (!project) return void main.append(h('p', {}, 'No KYC project yet.'));
  const base = `/admin/v1/kyc-projects/${enc(project.id)}/submissions`;
  const editable = canChange(user.role);
  const note = status();
  const userId = h('input', { name: 'userId', value: params.get('userId') ?? '' });
  const state = select('status', [['', 'any'], ['pending', 'pending'], ['approved', 'approved'], ['rejected', 'rejected']], params.get('status') ?? '');
  const list = h('div', {});
  const cursors: string[] = [''];
  const load = async (after: string) => {
    const query = new URLSearchParams({ limit: '20' });
    if (userId.value) query.set('userId', userId.value);
    if (state.value) query.set('status', state.value);
    if (after) query.set('after', after);
    const out = await api<any>('GET', `${base}?${query}`);
    const rows = out.submissions.map((sub: any) => [
      user.role === 'viewer' || !sub.has_selfie
        ? h('span', { class: 'hint' }, sub.has_selfie ? 'hidden' : 'none')
        : h('img', { src: `${base}/${enc(sub.submissionId)}/selfie`, alt: `Selfie of ${sub.userId || 'the submission'}`, class: 'thumb', loading: 'lazy' }),
      h('span', { class: 'user-id' }, sub.userId),
      h('code', {}, sub.submissionId),
      h('span', { class: `badge ${sub.status}` }, sub.status),
      time(sub.create_time),
      editable
        ? h('span', { class: 'actions' },
            button('Approve', async () => act(sub.submissionId, 'POST', '/approve')),
            button('Reject', async () => act(sub.submissionId, 'POST', '/reject')),
            button('Delete', async () => {
              if (confirm(`Delete submission ${sub.submissionId} with its images?`)) await act(sub.submissionId, 'DELETE', '');
            }, 'danger'))
        : '—',
    ]);
    clear(list);
    const pager = h('div', { class: 'pager' });
    if (cursors.length > 1) {
      pager.append(button('Previous page', () => {
        cursors.pop();
        return load(cursors[cursors.length - 1]);
      }));
    }
    if (out.next_after) {
      pager.append(button('Next page', () => {
        cursors.push(out.next_after);
        return load(out.next_after);
      }));
    }
    list.append(tableBox('Submissions', table(['Selfie', 'User id', 'Submission', 'Status', 'Created', 'Actions'], rows, `Submissions of ${project.name}`)), pager);
  };
  const act = async (id: string, method: string, suffix: string) => {
    try {
      await api(method, `${base}/${enc(id)}${suffix}`);
      const done: Record<string, string> = { '/approve': 'approved', '/reject': 'rejected', '': 'deleted' };
      await load(cursors[cursors.length - 1]);  // the note comes once the list shows the change
      say(note, `Submission ${id}: ${done[suffix]}.`);
    } catch (err) {
      say(note, errorText(err), true);
    }
  };
  const search = h('form', { class: 'inline-form', role: 'search' }, field('User id', userId), field('Status', state), h('button', { type: 'submit' }, 'Search'));
  search.addEventListener('submit', (e) => {
    e.preventDefault();
    cursors.length = 1;
    void load('');
  });
  main.append(search, note, list);
  await load('');
  if (!editable) return;
  const selfie = h('input', { type: 'file', name: 'selfieImage', accept: 'image/*' });
  const idImage = h('input', { type: 'file', name: 'idImage', accept: 'image/*' });
  const newUser = h('input', { name: 'new-userId', maxlength: 256 });
  const email = h('input', { name: 'email', type: 'email', maxlength: 256 });
  const form = h('form', { class: 'card' }, h('h2', {}, 'New submission'), field('Selfie', selfie), field('ID photo', idImage),
    field('User id', newUser), field('Email', email), h('button', { type: 'submit' }, 'Create submission'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const data = new FormData();
    if (selfie.files?.[0]) data.append('selfieImage', selfie.files[0]);
    if (idImage.files?.[0]) data.append('idImage', idImage.files[0]);
    data.append('userId', newUser.value);
    data.append('email', email.value);
    try {
      const out = await api<any>('POST', base, data);
      await load('');
      say(note, `Submission ${out.submissionId} created (${out.status}).`);
    } catch (err) {
      say(note, errorText(err), true);
    }
  });
  main.append(form);
}

// ---- Attempt history ---------------------------------------------------------------------
function checkTable(checks: Check[], caption: string): HTMLElement {
  return tableBox(caption, table(['Check', 'Score', 'Threshold', 'Result'], checks.map((c) => [
    c.name,
    c.score === null ? 'not measured' : String(c.score),
    c.threshold,
    h('span', { class: `badge ${c.passed === false ? 'rejected' : 'approved'}` }, c.passed === null ? 'off' : c.passed ? 'pass' : 'fail'),
  ]), caption));
}

async function history(main: HTMLElement, params: URLSearchParams, user: User): Promise<void> {
  const { picker, project } = await pickFaceAuth(params);
  main.append(picker);
  if (!project) return void main.append(h('p', {}, 'No FaceAuth project yet.'));
  const base = `/admin/v1/faceauth-projects/${enc(project.id)}/attempts`;
  const day = (offset: number) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);
  const from = h('input', { type: 'date', name: 'from', value: day(-7) });
  const to = h('input', { type: 'date', name: 'to', value: day(0) });
  const state = select('status', [['', 'any'], ['approved', 'approved'], ['rejected', 'rejected']]);
  const note = status();
  const list = h('div', {});
  const load = async (next?: { after_ms: number; after_id: string }) => {
    const query = new URLSearchParams({ limit: '25' });
    if (from.value) query.set('from_ms', String(Date.parse(`${from.value}T00:00:00`)));
    if (to.value) query.set('to_ms', String(Date.parse(`${to.value}T00:00:00`) + 86400000));
    if (state.value) query.set('status', state.value);
    if (next) {
      query.set('after_ms', String(next.after_ms));
      query.set('after_id', next.after_id);
    }
    const out = await api<any>('GET', `${base}?${query}`);
    clear(list);
    if (!out.attempts.length) list.append(h('p', {}, 'No attempt in this range.'));
    for (const a of out.attempts) list.append(attemptCard(a, base, user, note, () => load(next)));
    if (out.next) list.append(button('Next page', () => load(out.next)));
  };
  const filters = h('form', { class: 'inline-form', role: 'search' }, field('From', from), field('To', to), field('Status', state),
    h('button', { type: 'submit' }, 'Show'));
  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    void load();
  });
  main.append(filters, note, list);
  await load();
}

function attemptCard(a: any, base: string, user: User, note: HTMLElement, reload: () => Promise<void>): HTMLElement {
  const checks = checksOf(a.score, a.policy, a.quality);
  const photo = h('div', { class: 'photo' });
  const card = h('article', { class: `attempt card ${a.auth_status}`, 'data-auth-id': a.authId },
    h('h2', { class: 'attempt-title' }, h('span', { class: `badge ${a.auth_status}` }, a.auth_status), ' ', time(a.create_time),
      a.via === 'try-it' ? ' (try it)' : ''),
    h('p', {}, 'Attempt ', h('code', {}, a.authId), ' on submission ', h('code', {}, a.submissionId),
      a.userId ? [' by user ', h('span', { class: 'user-id' }, a.userId)] : '', a.delete_check ? ' (purged)' : ''),
    a.fail_code?.length
      ? h('ul', { class: 'fails' }, a.fail_code.map((code: string) => h('li', {}, failWords(code), ' ', h('code', {}, code))))
      : null,
    checkTable(checks, `Scores of attempt ${a.authId} against the policy it was judged under`),
    photo,
  );
  if (a.image_status === 'stored' && user.role !== 'viewer') {
    photo.append(button('Show photo', () => {
      clear(photo);
      photo.append(h('img', { src: `${base}/${enc(a.authId)}/image`, alt: `Face photo of attempt ${a.authId}`, class: 'attempt-photo' }));
    }));
  } else {
    photo.append(h('p', { class: 'hint' }, `Photo: ${a.image_status.replace('_', ' ')}${user.role === 'viewer' && a.image_status === 'stored' ? ' (hidden from viewers)' : ''}`));
  }
  if (canChange(user.role) && !a.delete_check) {
    card.append(button('Purge photo and personal data', async () => {
      if (!confirm('Erase this attempt\u2019s photo, user id and custom fields?')) return;
      try {
        await api('DELETE', `${base}/${enc(a.authId)}`);
        await reload();
        say(note, `Attempt ${a.authId} purged.`);
      } catch (err) {
        say(note, errorText(err), true);
      }
    }, 'danger'));
  }
  return card;
}

// ---- Webhooks ----------------------------------------------------------------------------
async function webhooks(main: HTMLElement, params: URLSearchParams, user: User): Promise<void> {
  const { picker, project } = await pickKyc(params);
  main.append(picker);
  if (!project) return void main.append(h('p', {}, 'No KYC project yet.'));
  const base = `/admin/v1/kyc-projects/${enc(project.id)}/webhook`;
  const editable = canChange(user.role);
  const hook = await api<any>('GET', base);
  const note = status();
  const shown = h('div', { 'aria-live': 'polite' });
  const url = h('input', { type: 'url', name: 'url', value: hook.url ?? '', disabled: !editable, placeholder: 'http://host:port/path' });
  const form = h('form', { class: 'inline-form' }, field('Webhook URL', url, 'http:// only; events are signed with the secret.'),
    editable ? h('button', { type: 'submit' }, 'Save URL') : null);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const out = await api<any>('PUT', base, { url: url.value });
      clear(shown);
      if (out.secret) shown.append(secretBox('Webhook secret', out.secret));
      say(note, 'Webhook saved.');
    } catch (err) {
      say(note, errorText(err), true);
    }
  });
  main.append(form, note, shown);
  if (editable && hook.url) {
    main.append(h('div', { class: 'toolbar' },
      button('Rotate secret', async () => {
        try {
          const out = await api<any>('POST', `${base}/rotate-secret`);
          clear(shown);
          shown.append(secretBox('New webhook secret', out.secret));
        } catch (err) {
          say(note, errorText(err), true);
        }
      }),
      button('Turn the webhook off', async () => {
        await api('DELETE', base);
        say(note, 'Webhook removed.');
      }, 'danger')));
  }
  const log = h('div', {});
  main.append(h('h2', {}, 'Delivery log'), log);
  const load = async () => {
    const out = await api<any>('GET', `${base}/deliveries?limit=1000`);
    const rows = out.deliveries.slice().reverse().map((d: any) => [
      String(d.seq), h('code', {}, d.event_id), h('code', {}, d.authentication_id), String(d.attempt), time(d.time),
      d.http_status ? String(d.http_status) : 'no answer', d.error || 'ok', d.event_state,
      editable ? button('Redeliver', async () => {
        try {
          await api('POST', `${base}/events/${enc(d.event_id)}/redeliver`);
          say(note, `Event ${d.event_id} queued again.`);
          window.setTimeout(() => void load(), 1500);
        } catch (err) {
          say(note, errorText(err), true);
        }
      }) : '—',
    ]);
    clear(log);
    log.append(tableBox('Deliveries', table(['Seq', 'Event', 'Attempt', 'Try', 'Started', 'HTTP', 'Error', 'State', ''], rows, `Webhook deliveries of ${project.name}, newest first`)),
      button('Refresh the log', load, 'secondary'));
  };
  await load();
}

// ---- Try it ------------------------------------------------------------------------------
async function tryIt(main: HTMLElement, params: URLSearchParams, user: User): Promise<void> {
  const { picker, project } = await pickFaceAuth(params);
  main.append(picker);
  if (!project) return void main.append(h('p', {}, 'No FaceAuth project yet.'));
  if (!canChange(user.role)) return void main.append(h('p', {}, 'Viewers cannot run attempts.'));
  const subs = await api<any>('GET', `/admin/v1/kyc-projects/${enc(project.kyc_project_id)}/submissions?status=approved&limit=200`);
  const submission = select('submissionId', subs.submissions.map((sub: any) => [sub.submissionId, `${sub.userId || '(no user id)'} · ${sub.submissionId.slice(0, 8)}`]));
  const file = h('input', { type: 'file', name: 'faceImage', accept: 'image/*', required: true });
  const note = status();
  const result = h('div', { class: 'try-result', 'aria-live': 'polite' });
  const form = h('form', { class: 'card' }, field('Approved submission', submission), field('Selfie', file),
    h('button', { type: 'submit' }, 'Try it'), note);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const image = file.files?.[0];
    if (!image) {
      say(note, 'Choose a selfie first.', true);
      return;
    }
    const data = new FormData();
    data.append('submissionId', submission.value);
    data.append('faceImage', image);
    say(note, 'Checking…');
    try {
      const out = await api<any>('POST', `/admin/v1/faceauth-projects/${enc(project.id)}/try-it`, data);
      say(note, '');
      showTry(result, out, URL.createObjectURL(image));
    } catch (err) {
      clear(result);
      say(note, errorText(err), true);
    }
  });
  main.append(form, result);
}

function showTry(result: HTMLElement, out: any, imageUrl: string): void {
  clear(result);
  const decision = h('p', { class: `decision ${out.auth_status}`, id: 'decision' }, 'Decision: ',
    h('strong', {}, out.auth_status), ' · attempt ', h('code', {}, out.authentication_id));
  const figure = h('figure', { class: 'face-figure' });
  const img = h('img', { src: imageUrl, alt: 'The selfie tried, with the face box and landmarks drawn over it' });
  figure.append(img);
  if (out.face) {
    const f = out.face;
    const svg = s('svg', { viewBox: `0 0 ${f.image_width} ${f.image_height}`, class: 'overlay', 'aria-hidden': 'true' });
    const stroke = Math.max(2, f.image_width / 200);
    svg.append(s('rect', { x: f.box.x, y: f.box.y, width: f.box.width, height: f.box.height, fill: 'none', stroke: '#00c853', 'stroke-width': stroke, class: 'face-box' }));
    for (const [x, y] of f.landmarks) svg.append(s('circle', { cx: x, cy: y, r: stroke, fill: '#ffd600', class: 'landmark' }));
    figure.append(svg, h('figcaption', {}, `Face box and ${f.landmarks.length} landmarks (${f.face_count} face${f.face_count === 1 ? '' : 's'} found)`));
  }
  result.append(decision, figure);
  if (out.fail_code?.length) {
    result.append(h('ul', { class: 'fails' }, out.fail_code.map((code: string) => h('li', {}, failWords(code), ' ', h('code', {}, code)))));
  }
  result.append(
    checkTable(checksOf(out.score, out.policy, out.quality), 'Each check against its threshold'));
}

// ---- Audit log ---------------------------------------------------------------------------
async function audit(main: HTMLElement): Promise<void> {
  const actor = h('input', { name: 'actor' });
  const action = h('input', { name: 'action', placeholder: 'e.g. rotate-key' });
  const list = h('div', {});
  const load = async (before?: number) => {
    const query = new URLSearchParams({ limit: '50' });
    if (actor.value) query.set('actor', actor.value);
    if (action.value) query.set('action', action.value);
    if (before) query.set('before', String(before));
    const out = await api<any>('GET', `/admin/v1/audit?${query}`);
    clear(list);
    list.append(tableBox('Audit log', table(['When', 'Who', 'Role', 'What', 'Ids', 'Status', 'From'], out.entries.map((e: any) => [
      time(e.time), e.actor, e.role, h('code', {}, e.action), e.target, String(e.status), e.client_address,
    ]), 'Changes made through the admin API, the dashboard and the CLI, newest first')));
    if (out.next_before) list.append(button('Older entries', () => load(out.next_before)));
  };
  const form = h('form', { class: 'inline-form', role: 'search' }, field('Who', actor), field('Action contains', action), h('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void load();
  });
  main.append(form, list);
  await load();
}

// ---- Users -------------------------------------------------------------------------------
async function users(main: HTMLElement): Promise<void> {
  const note = status();
  const shown = h('div', { 'aria-live': 'polite' });
  const list = h('div', {});
  const load = async () => {
    const out = await api<any>('GET', '/admin/v1/users');
    clear(list);
    list.append(tableBox('Users', table(['Name', 'Role', 'Created', 'Password changed', ''], out.users.map((u: any) => [
      u.name, u.role, time(u.create_time), time(u.password_changed_time),
      h('span', { class: 'actions' },
        button('Reset password', async () => {
          const r = await api<any>('POST', `/admin/v1/users/${enc(u.name)}/reset-password`);
          clear(shown);
          shown.append(secretBox(`New password of ${u.name}`, r.password));
        }),
        button('Remove', async () => {
          if (!confirm(`Remove ${u.name}? Their sessions end at once.`)) return;
          try {
            await api('DELETE', `/admin/v1/users/${enc(u.name)}`);
            await load();
          } catch (err) {
            say(note, errorText(err), true);
          }
        }, 'danger')),
    ]), 'Dashboard users')));
  };
  const name = h('input', { name: 'name', required: true, maxlength: 64 });
  const role = select('role', [['viewer', 'viewer'], ['admin', 'admin'], ['owner', 'owner']]);
  const form = h('form', { class: 'inline-form' }, field('New user name', name), field('Role', role), h('button', { type: 'submit' }, 'Add user'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const out = await api<any>('POST', '/admin/v1/users', { name: name.value, role: role.value });
      clear(shown);
      shown.append(secretBox(`Password of ${out.user.name}`, out.password));
      await load();
    } catch (err) {
      say(note, errorText(err), true);
    }
  });
  main.append(form, note, shown, list);
  await load();
}

export const pages: Page[] = [
  { path: 'overview', title: 'Overview', render: overview },
  { path: 'projects', title: 'Projects', render: projects },
  { path: 'policy', title: 'Policy', render: policy },
  { path: 'submissions', title: 'Submissions', render: submissions },
  { path: 'history', title: 'History', render: history },
  { path: 'webhooks', title: 'Webhooks', render: webhooks },
  { path: 'try', title: 'Try it', render: tryIt },
  { path: 'audit', title: 'Audit log', render: audit },
  { path: 'users', title: 'Users', ownerOnly: true, render: users },
];
