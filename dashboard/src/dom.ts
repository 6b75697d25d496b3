// A tiny DOM builder. Text always goes in as text nodes (never as HTML), so whatever a user
// id or a project name holds is shown as text.
type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | EventListener | undefined | null>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value as EventListener);
    } else if (value === true) {
      el.setAttribute(name, '');
    } else {
      el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

const SVG = 'http://www.w3.org/2000/svg';
export function s(tag: string, attrs: Record<string, string | number> = {}, ...children: (Node | string)[]): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  for (const child of children) el.append(child instanceof Node ? child : document.createTextNode(child));
  return el;
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

// A scrollable table wrapper that keyboard users can scroll too.
export function tableBox(label: string, table: HTMLTableElement): HTMLElement {
  return h('div', { class: 'table-box', tabindex: 0, role: 'region', 'aria-label': label }, table);
}

export function table(headers: string[], rows: Child[][], caption: string): HTMLTableElement {
  return h(
    'table',
    {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, headers.map((text) => h('th', { scope: 'col' }, text)))),
    h('tbody', {}, rows.length ? rows.map((row) => h('tr', {}, row.map((cell) => h('td', {}, cell)))) : [
      h('tr', {}, h('td', { colspan: headers.length }, 'Nothing to show.')),
    ]),
  );
}

let fieldCount = 0;
// A labelled input (or select) in a wrapper.
export function field(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: string): HTMLElement {
  if (!control.id) control.id = `f${++fieldCount}`;
  const parts: Child[] = [h('label', { for: control.id }, label), control];
  if (hint) {
    const hintId = `${control.id}-hint`;
    control.setAttribute('aria-describedby', hintId);
    parts.push(h('span', { class: 'hint', id: hintId }, hint));
  }
  return h('div', { class: 'field' }, parts);
}

export function select(name: string, options: [string, string][], value = ''): HTMLSelectElement {
  const el = h('select', { name });
  for (const [v, text] of options) el.append(h('option', { value: v, selected: v === value }, text));
  return el;
}

export function time(iso: string): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}
