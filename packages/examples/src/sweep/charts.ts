/**
 * The sweep's SVG line charts: for each workload × profile (× list-register count) and each metric
 * (exits per interrupt, busy simulated ns per interrupt), the metric against vCPUs with one line per
 * controller through the mean over seeds, a shaded band from the lowest to the highest seed, and a dot per
 * seed. Axes come from d3-scale (round ticks, SI units).
 *
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { scalePoint } from 'd3-scale';
import { io } from '../cli/exit-codes';
import { formatValue, valueAxis } from '../cli/scale';
import { escapeXml as esc, seriesColor, svgEnd, svgLegend, svgStart, svgValueGrid } from '../svg/svg-frame';
import type { SweepRow } from './point';

/** The metrics charted, with their axis labels. */
export const SWEEP_METRICS = [
  { key: 'exitsPerInterrupt', slug: 'exits-per-interrupt', label: 'exits per interrupt' },
  { key: 'simNsPerInterrupt', slug: 'ns-per-interrupt', label: 'busy simulated ns per interrupt' },
] as const;

/** One line of a chart: per vCPU count, the values of every seed. */
export interface ChartSeries {
  /** Controller. */
  readonly name: string;
  /** vCPUs → values (one per seed). */
  readonly points: ReadonlyMap<number, readonly number[]>;
}

/**
 * A line chart (SVG document) of a metric against vCPUs: mean line, min–max band, a dot per seed.
 * @param title - chart title; @param yLabel - the metric and its unit
 */
export function lineChartSvg(title: string, yLabel: string, xs: readonly number[], series: readonly ChartSeries[]): string {
  const left = 64;
  const top = 40;
  const w = Math.max(320, 90 * xs.length);
  const h = 240;
  const width = left + w + 170;
  const height = top + h + 56;
  const all = series.flatMap((s) => [...s.points.values()].flat());
  const y = valueAxis(Math.min(0, ...all), Math.max(0, ...all), top + h, top);
  const x = scalePoint<number>()
    .domain([...xs])
    .range([left + 20, left + w - 20]);
  const o: string[] = [];
  svgStart(o, title, width, height, left);
  svgValueGrid(o, y, left, left + w);
  o.push(`<text transform="translate(14 ${top + h / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  for (const v of xs) o.push(`<text x="${x(v)}" y="${top + h + 16}" text-anchor="middle">${v}</text>`);
  o.push(`<text x="${left + w / 2}" y="${top + h + 36}" text-anchor="middle">vCPUs</text>`);
  series.forEach((s, si) => {
    const c = seriesColor(si);
    const pts = xs
      .filter((v) => (s.points.get(v) ?? []).length > 0)
      .map((v) => {
        const vals = s.points.get(v)!;
        return { v, mean: vals.reduce((a, b) => a + b, 0) / vals.length, lo: Math.min(...vals), hi: Math.max(...vals), vals };
      });
    if (!pts.length) return;
    const band = [...pts.map((p) => `${x(p.v)},${y.at(p.hi)}`), ...pts.reverse().map((p) => `${x(p.v)},${y.at(p.lo)}`)].join(' ');
    pts.reverse();
    o.push(
      `<polygon points="${band}" fill="${c}" fill-opacity="0.18" stroke="none"><title>${esc(s.name)}: spread across seeds</title></polygon>`,
    );
    o.push(`<polyline points="${pts.map((p) => `${x(p.v)},${y.at(p.mean)}`).join(' ')}" fill="none" stroke="${c}" stroke-width="2"/>`);
    for (const p of pts) {
      for (const v of p.vals) o.push(`<circle cx="${x(p.v)}" cy="${y.at(v)}" r="2" fill="${c}" fill-opacity="0.6"/>`);
      o.push(
        `<circle cx="${x(p.v)}" cy="${y.at(p.mean)}" r="3.5" fill="${c}"><title>${esc(s.name)} @ ${p.v} vCPUs: mean ${esc(formatValue(p.mean))} (min ${esc(formatValue(p.lo))}, max ${esc(formatValue(p.hi))}, ${p.vals.length} seeds)</title></circle>`,
      );
    }
  });
  svgLegend(
    o,
    series.map((s) => s.name),
    left + w + 20,
    top,
  );
  return svgEnd(o);
}

/** Writes one chart per (workload, profile, lrs) group and metric from the ok rows; returns the files. */
export function writeSweepCharts(dir: string, rows: readonly SweepRow[]): string[] {
  const ok = rows.filter((r) => r.status === 'ok');
  const groups = new Map<string, SweepRow[]>();
  for (const r of ok) {
    const k = `${r.workload}|${r.profile}|${r.lrs ?? ''}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(r);
  }
  const files: string[] = [];
  for (const g of groups.values()) {
    const { workload, profile, lrs } = g[0];
    const xs = [...new Set(g.map((r) => r.vcpus))].sort((a, b) => a - b);
    const chips = [...new Set(g.map((r) => r.irqchip))];
    for (const m of SWEEP_METRICS) {
      const series: ChartSeries[] = chips.map((name) => {
        const points = new Map<number, number[]>();
        for (const r of g) {
          if (r.irqchip !== name) continue;
          const l = points.get(r.vcpus) ?? [];
          l.push(r[m.key]);
          points.set(r.vcpus, l);
        }
        return { name, points };
      });
      const suffix = lrs === null ? '' : `-lrs${lrs}`;
      const file = path.join(dir, `${workload}-${profile}${suffix}-${m.slug}.svg`);
      const title = `${workload} · ${profile}${lrs === null ? '' : ` · ${lrs} LRs`}: ${m.label}`;
      io(`writing ${file}`, () => fs.writeFileSync(file, lineChartSvg(title, m.label, xs, series)));
      files.push(file);
    }
  }
  return files;
}
