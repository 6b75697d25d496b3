// The faceauth dashboard: no framework, a hash router over a few pages, each calling the
// management API (docs/openapi.yaml) with the session cookie.
import { api, ApiError, setCsrf, whenSignedOut, type User } from './api';
import { clear, field, h } from './dom';
import { pages, type Page } from './pages';

let user: User | null = null;
const app = document.getElementById('app') as HTMLElement;
let cleanup: (() => void) | null = null;

// A request that finds the session gone shows the sign-in form, once: a later one (still in
// flight when the user signed out) must not redraw it and wipe what is being typed into it.
whenSignedOut(() => {
  if (!user) return;
  user = null;
  render();
});

async function loadSession(): Promise<void> {
  try {
    const session = await api<{ user: User; csrf_token: string }>('GET', '/admin/v1/auth/session');
    user = session.user;
    setCsrf(session.csrf_token);
  } catch {
    user = null;
  }
}

function signInPage(main: HTMLElement): void {
  const name = h('input', { name: 'username', autocomplete: 'username', required: true });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const status = h('p', { role: 'status', class: 'status' });
  const form = h(
    'form',
    { class: 'card narrow', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in to faceauth'),
    field('User name', name),
    field('Password', password),
    h('button', { type: 'submit' }, 'Sign in'),
    status,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    status.textContent = 'Signing in…';
    try {
      const { csrf_token } = await api<{ csrf_token: string }>('GET', '/admin/v1/auth/csrf');
      setCsrf(csrf_token);
      const session = await api<{ user: User; csrf_token: string }>('POST', '/admin/v1/auth/sign-in', {
        username: name.value,
        password: password.value,
      });
      user = session.user;
      setCsrf(session.csrf_token);
      if (!location.hash.startsWith('#/')) location.hash = '#/overview';
      render();
    } catch (error) {
      status.textContent = error instanceof ApiError ? `Sign-in failed: ${error.message}` : 'Sign-in failed';
    }
  });
  main.append(form);
  name.focus();
}

function route(): { page: Page; params: URLSearchParams } {
  const hash = location.hash.startsWith('#/') ? location.hash.slice(2) : 'overview';
  const [name, query] = hash.split('?');
  const found = pages.find((one) => one.path === name);
  const page = found && (!found.ownerOnly || user?.role === 'owner') ? found : pages[0];
  return { page, params: new URLSearchParams(query ?? '') };
}

function nav(current: Page): HTMLElement {
  const links = pages
    .filter((page) => !page.ownerOnly || user?.role === 'owner')
    .map((page) =>
      h('li', {}, h('a', { href: `#/${page.path}`, 'aria-current': page === current ? 'page' : undefined }, page.title)),
    );
  const signOut = h('button', { type: 'button', class: 'link' }, 'Sign out');
  signOut.addEventListener('click', async () => {
    try {
      await api('POST', '/admin/v1/auth/sign-out');
    } finally {
      user = null;
      render();
    }
  });
  return h(
    'header',
    { class: 'top' },
    h('span', { class: 'brand' }, 'faceauth'),
    h('nav', { 'aria-label': 'Main' }, h('ul', {}, links)),
    h('span', { class: 'who' }, `${user?.name} (${user?.role})`, ' ', signOut),
  );
}

async function render(): Promise<void> {
  if (cleanup) cleanup();
  cleanup = null;
  clear(app);
  const main = h('main', { id: 'main', tabindex: -1 });
  if (!user) {
    app.append(main);
    signInPage(main);
    return;
  }
  const { page, params } = route();
  document.title = `${page.title} · faceauth dashboard`;
  app.append(nav(page), main);
  main.append(h('h1', {}, page.title));
  try {
    cleanup = (await page.render(main, params, user)) ?? null;
  } catch (error) {
    main.append(h('p', { class: 'error', role: 'alert' }, error instanceof Error ? error.message : String(error)));
  }
}

window.addEventListener('hashchange', () => {
  if (location.hash.startsWith('#/')) render().then(() => document.getElementById('main')?.focus({ preventScroll: true }));
});

await loadSession();
await render();
