/**
 * Command-line value parsing for the `irqflow` CLI: simulated durations ("10ms", "500us", "1000000ns"),
 * the lookahead, integers, and the usage error (exit code 2, one line naming the valid choices); and the
 * commander argParsers built on them.
 *
 * @module
 */
import { InvalidArgumentError } from 'commander';

/** A bad command line: printed as one line, exit code 2. */
export class UsageError extends Error {
  /** @param message - one line naming the valid choices */
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9 };

/** Parses a simulated duration into ns. @throws UsageError */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s)$/.exec(text.trim());
  if (!m || Number(m[1]) <= 0)
    throw new UsageError(
      `invalid --duration '${text}' (valid: a positive number with a unit ns, us, ms or s, e.g. 10ms, 500us, 1000000ns)`,
    );
  return Number(m[1]) * UNITS[m[2]];
}

/**
 * Parses `--lookahead`: simulated ns, optionally with a unit ("0" = exact lockstep, "306ns", "1us").
 * @throws UsageError
 */
export function parseLookahead(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s)?$/.exec(text.trim());
  if (!m)
    throw new UsageError(
      `invalid --lookahead '${text}' (valid: 0 for lockstep, or a number of ns or with a unit ns, us, ms or s, e.g. 306ns, 1us)`,
    );
  return Number(m[1]) * UNITS[m[2] ?? 'ns'];
}

/** Parses an integer option in [min, max]. @throws UsageError */
export function parseIntOption(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max)
    throw new UsageError(`invalid ${name} '${text}' (valid: an integer from ${min} to ${max})`);
  return n;
}

/** Checks `value` is one of `choices`. @throws UsageError */
export function choose(what: string, value: string, choices: readonly string[]): string {
  if (!choices.includes(value)) throw new UsageError(`unknown ${what} '${value}' (valid: ${choices.join(', ') || 'none registered'})`);
  return value;
}

// ---- commander argParsers: each turns a bad value into commander's one-line InvalidArgumentError ----------

/** argParser: one name of `choices` (aliases mapped by `canon`), with the usual one-line message. */
export function oneOf(
  what: string,
  choices: () => readonly string[],
  canon: (v: string) => string | undefined = (v) => (choices().includes(v) ? v : undefined),
) {
  return (v: string): string => {
    const c = canon(v.trim());
    if (c === undefined) throw new InvalidArgumentError(`unknown ${what} '${v}' (valid: ${choices().join(', ') || 'none registered'})`);
    return c;
  };
}

/** argParser: a comma-separated list, each item parsed by `item`. */
export function listOf<T>(item: (v: string) => T) {
  return (v: string): T[] => {
    const parts = v
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== '');
    if (!parts.length) throw new InvalidArgumentError(`empty list '${v}'`);
    return [...new Set(parts.map(item))];
  };
}

/** argParser: an integer in [min, max] (message as {@link parseIntOption}). */
export function intIn(flag: string, min: number, max: number) {
  return (v: string): number => {
    try {
      return parseIntOption(flag, v, min, max);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
  };
}

/** argParser from a parse function that throws UsageError. */
export function parsed<T>(fn: (v: string) => T) {
  return (v: string): T => {
    try {
      return fn(v);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
  };
}
