/**
 * Spawning the built CLI from tests: `irqflow(args, { cwd })` runs `node packages/examples/bin/irqflow.js`
 * (the committed launcher of dist/cli.js; `npm test` builds first, and a missing build is made here).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The checkout. */
export const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
/** The launcher the package's `bin` names. */
export const BIN = path.join(ROOT, 'packages', 'examples', 'bin', 'irqflow.js');

/** Builds the examples package (and its references) if dist/cli.js is missing. */
export function ensureBuilt(): void {
  if (!fs.existsSync(path.join(ROOT, 'packages', 'examples', 'dist', 'cli.js')))
    spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-b', path.join(ROOT, 'packages', 'examples')], { cwd: ROOT });
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
