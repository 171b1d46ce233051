/**
 * Builds a {@link Hypervisor} with every controller package that is installed: @irqflow/vgic ("gic-v2",
 * "gic-v3", …), @irqflow/rvic ("rvic"), @irqflow/timer (the "arch-timer" VM extension) and the third-party
 * "pic" example. A package whose plugin export is missing or whose registration fails is reported in
 * {@link HypervisorSetup.missing} and skipped, so the CLI works with whatever is registered.
 *
 * @module
 */
import 'reflect-metadata';
import { Hypervisor, type HypervisorOptions, type IrqflowPlugin } from '@irqflow/core';
import * as rvic from '@irqflow/rvic';
import * as timer from '@irqflow/timer';
import * as vgic from '@irqflow/vgic';
import { PicPlugin } from './third-party/pic-plugin';

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

/** Resolves a plugin export that may be an object or a class. */
function asPlugin(x: unknown): IrqflowPlugin | undefined {
  if (typeof x === 'function') {
    try {
      x = new (x as new () => unknown)();
    } catch {
      return undefined;
    }
  }
  if (x && typeof x === 'object' && typeof (x as IrqflowPlugin).register === 'function') return x as IrqflowPlugin;
  return undefined;
}

/**
 * Creates a hypervisor and `use`s every available plugin.
 * @param opts - hypervisor options (trace capacity)
 * @param extra - further plugins to register (after the built-in ones)
 */
export function createHypervisor(opts: HypervisorOptions = {}, extra: readonly IrqflowPlugin[] = []): HypervisorSetup {
  const hv = new Hypervisor(opts);
  const loaded: string[] = [];
  const missing: { name: string; reason: string }[] = [];
  const candidates: [string, IrqflowPlugin | undefined][] = SOURCES.map(([pkg, ns, exp]) => [
    pkg,
    asPlugin((ns as Record<string, unknown>)[exp]),
  ]);
  candidates.push(['@irqflow/examples/pic', PicPlugin]);
  for (const p of extra) candidates.push([p.name, p]);
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
