// Pieces the pages share: project pickers, status lines, the shown-once secret box.
import { faceauthProjects, kycProjects, type FaceAuthProject, type KycProject } from './api';
import { field, h, select } from './dom';

export function status(): HTMLElement {
  return h('p', { role: 'status', class: 'status', 'aria-live': 'polite' });
}

export function say(el: HTMLElement, text: string, error = false): void {
  el.textContent = text;
  el.classList.toggle('error', error);
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// Replaces one parameter of the current route (a new page render follows).
export function setParam(name: string, value: string): void {
  const [path, query] = location.hash.slice(2).split('?');
  const params = new URLSearchParams(query ?? '');
  if (value) params.set(name, value);
  else params.delete(name);
  location.hash = `#/${path}${params.toString() ? `?${params}` : ''}`;
}

export async function pickKyc(params: URLSearchParams): Promise<{ picker: HTMLElement; project: KycProject | null }> {
  const projects = await kycProjects();
  const chosen = projects.find((p) => p.id === params.get('kyc')) ?? projects[0] ?? null;
  const control = select('kyc', projects.map((p) => [p.id, `${p.name} (${p.id.slice(0, 8)})`]), chosen?.id ?? '');
  control.addEventListener('change', () => setParam('kyc', control.value));
  return { picker: h('div', { class: 'toolbar' }, field('KYC project', control)), project: chosen };
}

export async function pickFaceAuth(
  params: URLSearchParams,
): Promise<{ picker: HTMLElement; project: FaceAuthProject | null; all: FaceAuthProject[] }> {
  const projects = await faceauthProjects();
  const chosen = projects.find((p) => p.id === params.get('fa')) ?? projects[0] ?? null;
  const control = select('fa', projects.map((p) => [p.id, `${p.name} (${p.id.slice(0, 8)})`]), chosen?.id ?? '');
  control.addEventListener('change', () => setParam('fa', control.value));
  return { picker: h('div', { class: 'toolbar' }, field('FaceAuth project', control)), project: chosen, all: projects };
}

// A secret shown once: read-only text and a copy button.
export function secretBox(label: string, value: string): HTMLElement {
  const input = h('input', { readonly: true, value, class: 'secret', 'data-secret': label, spellcheck: 'false' });
  const copied = status();
  const copy = h('button', { type: 'button' }, 'Copy');
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(value);
      say(copied, 'Copied to the clipboard.');
    } catch {
      input.select();
      say(copied, 'Select the text and copy it (the clipboard is not available here).');
    }
  });
  return h(
    'div',
    { class: 'once', role: 'group', 'aria-label': label },
    field(`${label} (shown once: only its hash is kept)`, input),
    copy,
    copied,
  );
}

export function button(text: string, onClick: () => void | Promise<void>, kind = ''): HTMLButtonElement {
  const el = h('button', { type: 'button', class: kind || undefined }, text);
  el.addEventListener('click', () => void onClick());
  return el;
}

export function canChange(role: string): boolean {
  return role === 'owner' || role === 'admin';
}
