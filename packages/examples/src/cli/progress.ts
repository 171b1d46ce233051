/**
 * A progress bar on stderr, shown only once a run has taken more than a second, and never when stderr is
 * not a terminal, under CI, or with --quiet. stdout is never touched.
 *
 * @module
 */

/** The progress bar. */
export class Progress {
  private readonly start = Date.now();
  private shown = false;
  private readonly enabled: boolean;

  /** @param quiet - --quiet given; @param delayMs - show the bar only after this long (default 1 s) */
  constructor(
    quiet: boolean,
    private readonly delayMs = 1000,
  ) {
    this.enabled = !quiet && process.stderr.isTTY === true && !process.env.CI;
  }

  /** Reports progress (0..1) with a label. */
  update(fraction: number, label: string): void {
    if (!this.enabled || Date.now() - this.start < this.delayMs) return;
    const f = Math.max(0, Math.min(1, fraction));
    const width = 30;
    const full = Math.round(f * width);
    process.stderr.write(
      `\r[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(f * 100).toFixed(0).padStart(3)}% ${label}`.slice(0, 100).padEnd(100),
    );
    this.shown = true;
  }

  /** Clears the bar. */
  done(): void {
    if (this.shown) process.stderr.write(`\r${' '.repeat(100)}\r`);
    this.shown = false;
  }
}
