/**
 * Spawning the built CLI from tests: `irqflow(args, { cwd })` runs `node packages/examples/bin/irqflow.js`
 * (the committed launcher of dist/cli.js, which jest's global setup brings up to date with the sources).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

/** The checkout. */
export const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
/** The launcher the package's `bin` names. */
export const BIN = path.join(ROOT, 'packages', 'examples', 'bin', 'irqflow.js');

/**
 * Brings packages/<pkg>/dist up to date with the sources (`tsc -b`, incremental). Jest's global setup
 * (jest.global-setup.js) has done it once for the run, so this returns at once; under another runner it
 * builds here. A failed build throws, rather than letting the test run an older dist.
 */
export function ensureBuilt(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require(path.join(ROOT, 'jest.global-setup.js')) as () => void)();
}

/** What a finished CLI process printed. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion. */
export function irqflow(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? ROOT,
    encoding: 'utf8',
    env: { ...process.env, CI: '1', ...opts.env },
    timeout: opts.timeout ?? 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Starts the CLI in the background (e.g. a queue worker); stdout/stderr are collected. */
export function irqflowBackground(
  args: string[],
  opts: { cwd?: string } = {},
): { child: ChildProcess; output: () => string; exited: Promise<number> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, CI: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout.on('data', (d) => (text += String(d)));
  child.stderr.on('data', (d) => (text += String(d)));
  const exited = new Promise<number>((resolve) => child.on('exit', (code, sig) => resolve(code ?? (sig ? 128 : -1))));
  return { child, output: () => text, exited };
}
