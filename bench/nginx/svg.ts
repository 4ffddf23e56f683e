// The bar chart of bench:nginx's ratios, as SVG text written by hand (no dependency): one
// horizontal bar per row, a dot per round, the row's target as a dark tick, parity (1.0x) dashed.
// Throughput rows (higher is better) and latency rows (lower is better) get separate panels,
// each with its own scale. Parity (1x) is the reference side of the row: nginx, or node:net.
import type { Target } from './stats.js';

/** One bar: a ratio (median of rounds), the rounds' ratios, and the target. */
export interface ChartRow {
  label: string;
  ratio: number;
  rounds: readonly number[];
  target: Target | null;
  /** 'rps': sluice / nginx requests/s; 'p99': sluice / nginx p99 latency */
  metric: 'rps' | 'p99';
}

export interface ChartOptions { title: string; subtitle?: string; width?: number }

const ROW_H = 26;
const BAR_H = 16;
const LABEL_W = 330;
const GREEN = '#2e7d32';
const ORANGE = '#e65100';
const GREY = '#9e9e9e';

/** Escapes text for an SVG text node or attribute. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '–');

function met(row: ChartRow): boolean | null {
  if (row.target === null || !Number.isFinite(row.ratio)) return null;
  return row.target.op === '>=' ? row.ratio >= row.target.value : row.ratio <= row.target.value;
}

/** A "nice" top of the axis at or above x: 1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10, ... */
export function axisMax(x: number): number {
  const steps = [1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8];
  for (let scale = 1; ; scale *= 10) {
    for (const s of steps) if (s * scale >= x) return s * scale;
  }
}

function panel(out: string[], rows: readonly ChartRow[], y0: number, width: number, heading: string): number {
  const plotW = width - LABEL_W - 70;
  let top = 1.2;
  for (const r of rows) {
    for (const v of [r.ratio, r.target?.value ?? 0, ...r.rounds]) if (Number.isFinite(v)) top = Math.max(top, v * 1.05);
  }
  const max = axisMax(top);
  const x = (v: number): number => LABEL_W + (Math.max(0, v) / max) * plotW;
  out.push(`<text x="${LABEL_W}" y="${y0 + 14}" class="heading">${escapeXml(heading)}</text>`);
  const gridTop = y0 + 22;
  const gridBottom = gridTop + rows.length * ROW_H;
  const ticks = max <= 2 ? 0.25 : max <= 5 ? 0.5 : max / 10;
  for (let t = 0; t <= max + 1e-9; t += ticks) {
    const gx = x(t).toFixed(1);
    out.push(`<line x1="${gx}" y1="${gridTop}" x2="${gx}" y2="${gridBottom}" class="grid"/>`);
    out.push(`<text x="${gx}" y="${gridBottom + 14}" class="tick">${t.toFixed(2).replace(/\.?0+$/, '')}x</text>`);
  }
  out.push(`<line x1="${x(1).toFixed(1)}" y1="${gridTop - 4}" x2="${x(1).toFixed(1)}" y2="${gridBottom}" class="parity"/>`);
  rows.forEach((r, i) => {
    const ry = gridTop + i * ROW_H;
    const by = ry + (ROW_H - BAR_H) / 2;
    const ok = met(r);
    const color = ok === null ? GREY : ok ? GREEN : ORANGE;
    const w = Number.isFinite(r.ratio) ? x(r.ratio) - LABEL_W : 0;
    const target = r.target ? ` (target ${r.target.op === '>=' ? '≥' : '≤'} ${r.target.value}x)` : '';
    out.push(`<text x="${LABEL_W - 8}" y="${ry + ROW_H / 2 + 4}" class="label">${escapeXml(r.label)}</text>`);
    out.push(`<rect class="bar" x="${LABEL_W}" y="${by}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${color}">` +
      `<title>${escapeXml(`${r.label}: ${fmt(r.ratio)}x${target}`)}</title></rect>`);
    for (const v of r.rounds) {
      if (Number.isFinite(v)) out.push(`<circle class="round" cx="${x(v).toFixed(1)}" cy="${ry + ROW_H / 2}" r="2.5"/>`);
    }
    if (r.target) {
      const tx = x(r.target.value).toFixed(1);
      out.push(`<line class="target" x1="${tx}" y1="${by - 3}" x2="${tx}" y2="${by + BAR_H + 3}"/>`);
    }
    out.push(`<text x="${(LABEL_W + Math.max(w, 0) + 6).toFixed(1)}" y="${ry + ROW_H / 2 + 4}" class="value">${fmt(r.ratio)}x</text>`);
  });
  return gridBottom + 22;
}

/** The chart as a standalone SVG document. */
export function chartSvg(rows: readonly ChartRow[], o: ChartOptions): string {
  const width = o.width ?? 860;
  const body: string[] = [];
  let y = o.subtitle ? 46 : 32;
  const rps = rows.filter((r) => r.metric === 'rps');
  const p99 = rows.filter((r) => r.metric === 'p99');
  if (rps.length > 0) y = panel(body, rps, y, width, 'requests/s, sluice / nginx (higher is better)');
  if (p99.length > 0) y = panel(body, p99, y, width, 'p99 latency, sluice / nginx (lower is better)');
  const legendY = y + 4;
  body.push(`<rect x="${LABEL_W}" y="${legendY - 9}" width="10" height="10" fill="${GREEN}"/>` +
    `<text x="${LABEL_W + 14}" y="${legendY}" class="legend">target met</text>` +
    `<rect x="${LABEL_W + 90}" y="${legendY - 9}" width="10" height="10" fill="${ORANGE}"/>` +
    `<text x="${LABEL_W + 104}" y="${legendY}" class="legend">missed</text>` +
    `<line x1="${LABEL_W + 165}" y1="${legendY - 10}" x2="${LABEL_W + 165}" y2="${legendY + 1}" class="target"/>` +
    `<text x="${LABEL_W + 171}" y="${legendY}" class="legend">target</text>` +
    `<circle cx="${LABEL_W + 225}" cy="${legendY - 4}" r="2.5" class="round"/>` +
    `<text x="${LABEL_W + 231}" y="${legendY}" class="legend">one round</text>` +
    `<line x1="${LABEL_W + 300}" y1="${legendY - 10}" x2="${LABEL_W + 300}" y2="${legendY + 1}" class="parity"/>` +
    `<text x="${LABEL_W + 306}" y="${legendY}" class="legend">parity (1x)</text>`);
  const height = legendY + 12;
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    '<style>',
    '.title{font-size:15px;font-weight:bold}.subtitle{font-size:11px;fill:#555}.heading{font-size:12px;font-weight:bold;fill:#333}',
    '.label{font-size:12px;text-anchor:end}.value{font-size:11px}.tick{font-size:10px;text-anchor:middle;fill:#666}',
    '.legend{font-size:11px}.grid{stroke:#eee}.parity{stroke:#555;stroke-dasharray:4 3}.target{stroke:#111;stroke-width:2.5}',
    '.round{fill:#fff;stroke:#111;stroke-width:1}',
    '</style>',
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="12" y="22" class="title">${escapeXml(o.title)}</text>`,
    ...(o.subtitle ? [`<text x="12" y="38" class="subtitle">${escapeXml(o.subtitle)}</text>`] : []),
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
