/**
 * Loading an {@link IrqflowPlugin} from a module by path or package name — how `--plugin` brings a controller
 * written outside irqflow into the CLI, and how the built-in "pic" example is loaded too
 * ({@link PIC_PLUGIN_MODULE}). A spec that starts with `.` or `/` (or names an existing file) is a path,
 * resolved against `cwd`; anything else is a package name, resolved from `cwd`'s node_modules. The module's
 * default export, or its export named `plugin`, must be an IrqflowPlugin (an object with `name` and
 * `register(hv)`, or a class whose instances are).
 *
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { IrqflowPlugin } from '@irqflow/core';
import { UsageError } from './cli/options';

/** The module of the built-in third-party example "pic", loaded like any `--plugin`. */
export const PIC_PLUGIN_MODULE = path.join(__dirname, 'third-party', 'pic-plugin');

/** A `--plugin` that cannot be loaded (exit code 2, one line). */
export class PluginLoadError extends UsageError {
  /** @param spec - the --plugin value; @param why - what is wrong */
  constructor(
    readonly spec: string,
    why: string,
  ) {
    super(`--plugin '${spec}': ${why}`);
    this.name = 'PluginLoadError';
  }
}

/** Resolves a plugin export that may be an object or a class; undefined when it is neither. */
export function asPlugin(x: unknown): IrqflowPlugin | undefined {
  if (typeof x === 'function') {
    try {
      x = new (x as new () => unknown)();
    } catch {
      return undefined;
    }
  }
  if (x && typeof x === 'object' && typeof (x as IrqflowPlugin).register === 'function' && typeof (x as IrqflowPlugin).name === 'string')
    return x as IrqflowPlugin;
  return undefined;
}

/** Whether `spec` names a file rather than a package. */
function isPath(spec: string, cwd: string): boolean {
  return spec.startsWith('.') || path.isAbsolute(spec) || fs.existsSync(path.resolve(cwd, spec));
}

/** The absolute file a spec resolves to. @throws PluginLoadError when there is none */
export function resolvePlugin(spec: string, cwd = process.cwd()): string {
  const request = isPath(spec, cwd) ? path.resolve(cwd, spec) : spec;
  try {
    return require.resolve(request, { paths: [cwd] });
  } catch {
    throw new PluginLoadError(spec, isPath(spec, cwd) ? `no such module (${request})` : `package not found from ${cwd}`);
  }
}

/**
 * Loads one plugin module.
 * @param spec - a path (relative to `cwd`) or a package name
 * @throws PluginLoadError (one line) when the module is missing, throws while loading, or exports no plugin
 */
export function loadPlugin(spec: string, cwd = process.cwd()): IrqflowPlugin {
  const file = resolvePlugin(spec, cwd);
  let mod: Record<string, unknown>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a plugin is a module path known only at run time, loaded synchronously
    mod = require(file) as Record<string, unknown>;
  } catch (e) {
    throw new PluginLoadError(spec, `loading ${file} failed: ${String((e as Error).message ?? e).split('\n')[0]}`);
  }
  const p = asPlugin(mod?.default) ?? asPlugin(mod?.plugin);
  if (!p)
    throw new PluginLoadError(
      spec,
      `${file} exports no IrqflowPlugin (expected a default export or an export named 'plugin' with a name and register(hv))`,
    );
  return p;
}

/** Absolute module files of `specs` (what a worker thread or a queue worker needs to load them again). */
export function pluginFiles(specs: readonly string[], cwd = process.cwd()): string[] {
  return specs.map((s) => resolvePlugin(s, cwd));
}
