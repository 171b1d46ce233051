/**
 * What every SVG chart of the examples shares: the series palette, XML escaping, the document frame (root
 * element, title, white background, heading), the horizontal grid with value labels, and the legend. Used by
 * the `compare --report` bar charts (cli/report.ts) and the sweep line charts (sweep/charts.ts), so both look
 * alike and escape alike.
 *
 * @module
 */
import type { ValueAxis } from '../cli/scale';

/** The series palette (Tableau 10 without grey); series `i` takes `seriesColor(i)`. */
export const COLORS: readonly string[] = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
];

/** The colour of series `i`, cycling through {@link COLORS}. */
export function seriesColor(i: number): string {
  return COLORS[i % COLORS.length];
}

/**
 * Escapes text for XML character data and double-quoted attribute values (`&`, `<`, `>`, `"`).
 * @example escapeXml('a < b & "c"') // 'a &lt; b &amp; &quot;c&quot;'
 */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * Opens an SVG document in `out`: the root element (`width` × `height`, sans-serif 11), its `<title>`, a white
 * background and the bold heading at x = `left`. Close it with {@link svgEnd}.
 */
export function svgStart(out: string[], title: string, width: number, height: number, left: number): void {
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
  );
  out.push(`<title>${escapeXml(title)}</title>`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(`<text x="${left}" y="20" font-size="14" font-weight="bold">${escapeXml(title)}</text>`);
}

/** A light grid line from x = `left` to x = `right` at every tick of `y`, labelled left of `left`. */
export function svgValueGrid(out: string[], y: ValueAxis, left: number, right: number): void {
  for (const t of y.ticks) {
    const py = y.at(t);
    out.push(`<line x1="${left}" y1="${py}" x2="${right}" y2="${py}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 6}" y="${py + 4}" text-anchor="end">${escapeXml(y.label(t))}</text>`);
  }
}

/** The legend: a colour swatch and the name of each series, one row of 18 px each from (`x`, `top`). */
export function svgLegend(out: string[], names: readonly string[], x: number, top: number): void {
  names.forEach((name, i) => {
    out.push(`<rect x="${x}" y="${top + i * 18}" width="12" height="12" fill="${seriesColor(i)}"/>`);
    out.push(`<text x="${x + 18}" y="${top + i * 18 + 10}">${escapeXml(name)}</text>`);
  });
}

/** Closes the document opened by {@link svgStart} and returns it as text (one element a line). */
export function svgEnd(out: string[]): string {
  out.push('</svg>');
  return out.join('\n') + '\n';
}
