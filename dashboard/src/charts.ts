// Small SVG charts: bars (stacked series) and lines over minutes. Each chart is an image with
// a text alternative (its numbers in words) for screen readers.
import { s } from './dom';

export interface Series {
  name: string;
  values: number[];
  colour: string;
}

const W = 640;
const H = 200;
const PAD = { left: 44, right: 8, top: 10, bottom: 24 };

function frame(label: string, max: number, labels: string[]): SVGElement {
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label, class: 'chart' });
  svg.append(s('title', {}, label));
  const inner = H - PAD.top - PAD.bottom;
  for (const f of [0, 0.5, 1]) {
    const y = PAD.top + inner * (1 - f);
    svg.append(s('line', { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, class: 'grid' }));
    svg.append(s('text', { x: PAD.left - 4, y: y + 4, 'text-anchor': 'end', class: 'axis' }, niceNumber(max * f)));
  }
  const step = Math.max(1, Math.ceil(labels.length / 6));
  labels.forEach((text, i) => {
    if (i % step !== 0) return;
    const x = PAD.left + ((W - PAD.left - PAD.right) * (i + 0.5)) / labels.length;
    svg.append(s('text', { x, y: H - 6, 'text-anchor': 'middle', class: 'axis' }, text));
  });
  return svg;
}

function niceNumber(v: number): string {
  if (v >= 1000) return `${(v / 1000).toFixed(1)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

export function barChart(label: string, labels: string[], series: Series[]): SVGElement {
  const totals = labels.map((_, i) => series.reduce((sum, one) => sum + (one.values[i] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const svg = frame(label, max, labels);
  const inner = H - PAD.top - PAD.bottom;
  const slot = (W - PAD.left - PAD.right) / Math.max(1, labels.length);
  labels.forEach((_, i) => {
    let base = 0;
    for (const one of series) {
      const v = one.values[i] ?? 0;
      if (v <= 0) continue;
      const height = (inner * v) / max;
      const y = PAD.top + inner - ((base + v) / max) * inner;
      svg.append(
        s('rect', { x: PAD.left + slot * i + slot * 0.15, y, width: Math.max(1, slot * 0.7), height, fill: one.colour },
          s('title', {}, `${labels[i]}: ${one.name} ${v}`)),
      );
      base += v;
    }
  });
  return svg;
}

export function lineChart(label: string, labels: string[], series: Series[], unit: string): SVGElement {
  const max = Math.max(1, ...series.flatMap((one) => one.values));
  const svg = frame(`${label} (${unit})`, max, labels);
  const inner = H - PAD.top - PAD.bottom;
  const slot = (W - PAD.left - PAD.right) / Math.max(1, labels.length);
  for (const one of series) {
    const points = one.values
      .map((v, i) => (v > 0 ? `${PAD.left + slot * (i + 0.5)},${PAD.top + inner - (v / max) * inner}` : ''))
      .filter(Boolean)
      .join(' ');
    if (points) svg.append(s('polyline', { points, fill: 'none', stroke: one.colour, 'stroke-width': 2 }));
  }
  return svg;
}

export function legend(series: Series[]): HTMLElement {
  const list = document.createElement('ul');
  list.className = 'legend';
  for (const one of series) {
    const item = document.createElement('li');
    const swatch = s('svg', { width: 12, height: 12, 'aria-hidden': 'true', class: 'swatch' }, s('rect', { width: 12, height: 12, fill: one.colour }));
    item.append(swatch, document.createTextNode(one.name));
    list.append(item);
  }
  return list;
}
