/**
 * Chart axes from d3-scale: a "nice" linear value axis with round ticks and SI-prefixed labels (1.2k, 500),
 * shared by the `compare --report` bar charts and the sweep line charts.
 *
 * @module
 */
import { format } from 'd3-format';
import { scaleLinear } from 'd3-scale';

/** A value axis: position of a value, the tick values, and their labels. */
export interface ValueAxis {
  /** Pixel y (or x) of value `v`. */
  readonly at: (v: number) => number;
  /** Tick values (round numbers covering the domain). */
  readonly ticks: readonly number[];
  /** Label of a value in the axis' units (SI prefixes, trailing zeros trimmed). */
  readonly label: (v: number) => string;
  /** The upper end of the (niced) domain. */
  readonly top: number;
}

/**
 * A linear axis from 0 (or `min` when negative) to at least `max`, niced to round ticks, mapped onto
 * [`from`, `to`] pixels.
 */
export function valueAxis(min: number, max: number, from: number, to: number, count = 5): ValueAxis {
  const lo = Math.min(0, min);
  const hi = max > lo ? max : lo + 1;
  const s = scaleLinear().domain([lo, hi]).range([from, to]).nice(count);
  const ticks = s.ticks(count);
  const small = s.tickFormat(count);
  const label = (v: number): string => (Math.abs(v) < 1e-12 ? '0' : Math.abs(v) >= 1000 ? si(v) : small(v));
  return { at: (v) => s(v), ticks, label, top: s.domain()[1] };
}

const si = format('~s');
const si3 = format('.3~s');
const g3 = format('.3~g');

/** A value with three significant digits, SI-prefixed from 1000 up (for data labels): 2.01, 678, 1.26k. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1000 ? si3(v) : g3(v);
}
