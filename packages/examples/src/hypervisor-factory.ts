/**
 * Builds a {@link Hypervisor} with every controller package that is installed: @irqflow/vgic ("gic-v2",
 * "gic-v3", …), @irqflow/rvic ("rvic") and @irqflow/timer (the "arch-timer" VM extension), then the plugin
 * modules it is given — by default the third-party "pic" example, loaded from its module exactly as
 * `--plugin` loads a controller that lives outside irqflow. A package whose plugin export is missing or whose
 * registration fails is reported in {@link HypervisorSetup.missing} and skipped, so the CLI works with
 * whatever is registered; a plugin module the caller named that cannot be loaded throws.
 *
 * @module
 */
import 'reflect-metadata';
import { Hypervisor, type HypervisorOptions, type IrqflowPlugin } from '@irqflow/core';
import * as rvic from '@irqflow/rvic';
import * as timer from '@irqflow/timer';
import * as vgic from '@irqflow/vgic';
import { asPlugin, loadPlugin, PIC_PLUGIN_MODULE } from './plugin-loader';

/** A hypervisor and what was (not) loaded into it. */
export interface HypervisorSetup {
  /** The hypervisor. */
  readonly hv: Hypervisor;
  /** Plugins registered. */
  readonly loaded: readonly string[];
  /** Plugins that are not available, with the reason. */
  readonly missing: readonly { readonly name: string; readonly reason: string }[];
}

/** Where each plugin comes from: package name, module namespace, export name. */
const SOURCES: readonly (readonly [string, unknown, string])[] = [
  ['@irqflow/timer', timer, 'TimerPlugin'],
  ['@irqflow/vgic', vgic, 'VgicPlugin'],
  ['@irqflow/rvic', rvic, 'RvicPlugin'],
];

/** The plugin modules {@link createHypervisor} loads after the packages unless told otherwise: "pic". */
export const DEFAULT_PLUGIN_MODULES: readonly string[] = [PIC_PLUGIN_MODULE];

let processModules: readonly string[] = [];

/**
 * Plugin modules every later {@link createHypervisor} in this process loads after the defaults (when the caller
 * does not pass `pluginModules`). The CLI sets the command's `--plugin` values here before the command's action
 * runs, so any command — including ones added later — gets the plugins from `createHypervisor()` alone.
 */
export function setProcessPluginModules(specs: readonly string[]): void {
  processModules = [...specs];
}

/** Options of {@link createHypervisor} beyond the hypervisor's own. */
export interface CreateHypervisorOptions extends HypervisorOptions {
  /**
   * Plugin modules (paths or package names, see plugin-loader.ts) loaded after the packages, replacing
   * {@link DEFAULT_PLUGIN_MODULES} and those of {@link setProcessPluginModules}. Pass `[]` for the packages only.
   */
  pluginModules?: readonly string[];
}

/**
 * Creates a hypervisor and `use`s every available plugin.
 * @param opts - hypervisor options (trace capacity) and the plugin modules to load
 * @param extra - further plugins: objects, or module specs loaded like `--plugin` (after the modules)
 * @throws PluginLoadError for a named plugin module that is missing or exports no plugin
 */
export function createHypervisor(opts: CreateHypervisorOptions = {}, extra: readonly (IrqflowPlugin | string)[] = []): HypervisorSetup {
  const hv = new Hypervisor(opts);
  const loaded: string[] = [];
  const missing: { name: string; reason: string }[] = [];
  const candidates: [string, IrqflowPlugin | undefined][] = SOURCES.map(([pkg, ns, exp]) => [
    pkg,
    asPlugin((ns as Record<string, unknown>)[exp]),
  ]);
  for (const spec of opts.pluginModules ?? [...DEFAULT_PLUGIN_MODULES, ...processModules]) {
    const p = loadPlugin(spec);
    candidates.push([p.name, p]);
  }
  for (const x of extra) {
    const p = typeof x === 'string' ? loadPlugin(x) : x;
    candidates.push([p.name, p]);
  }
  for (const [name, plugin] of candidates) {
    if (!plugin) {
      missing.push({ name, reason: 'not built yet (no plugin export)' });
      continue;
    }
    try {
      hv.use(plugin);
      loaded.push(name);
    } catch (e) {
      missing.push({ name, reason: `registration failed: ${(e as Error).message}` });
    }
  }
  return { hv, loaded, missing };
}
