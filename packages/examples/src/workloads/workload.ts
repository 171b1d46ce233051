/**
 * What a workload is: a set of {@link Component}s — each a guest-side part (setup code per vCPU and an
 * interrupt handler decision) plus an optional host-side device written against the public VM API — and the
 * controller features it needs. The harness (harness.ts) turns the components into one guest program per vCPU
 * and runs it; components count what they sent and what the guest received, so every run checks that the
 * counts match exactly.
 *
 * @module
 */
import type { GuestAsm, GuestIrqDriver, Hypervisor, IrqchipDescriptor, IrqchipFeature, Rng, RoutingEntry, Vcpu, Vm } from '@irqflow/core';

/** Guest-side actions a component may ask for (executed by guest code, so they cost what they cost). */
export const enum ActionKind {
  /** Nothing. */
  None = 0,
  /** Send IPI 0 to vCPU index `arg` through the driver. */
  SendIpi = 1,
  /** Program the virtual timer: CNTV_TVAL_EL0 = arg, CNTV_CTL_EL0 = 1. */
  ArmTimer = 2,
  /** Stop the virtual timer: CNTV_CTL_EL0 = 0. */
  StopTimer = 3,
  /** Guest "think time": `arg` iterations of {@link THINK_CYCLES} cycles of work (excluded from busy time). */
  Think = 4,
}

/** Cycles of guest work per iteration of {@link ActionKind.Think}. */
export const THINK_CYCLES = 25;

/** One queued action. */
export interface Action {
  /** What to do. */
  readonly kind: ActionKind;
  /** Its argument. */
  readonly arg: number;
}

/** What a component sees while the harness builds and runs it. */
export interface WorkloadContext {
  /** The hypervisor. */
  readonly hv: Hypervisor;
  /** The VM. */
  readonly vm: Vm;
  /** The controller. */
  readonly irqchip: IrqchipDescriptor;
  /** Its guest driver. */
  readonly driver: GuestIrqDriver;
  /** Number of vCPUs. */
  readonly vcpus: number;
  /** Queues an action for `vcpu` (run by the guest right after the current hook). */
  act(vcpu: Vcpu, kind: ActionKind, arg?: number): void;
  /** Whether the timer extension is present. */
  readonly hasTimer: boolean;
  /**
   * The run's seeded random source (the VM's, seeded by `--seed`): components draw arrival jitter and bursts
   * from it, so different seeds give a distribution and the same seed the same run bit for bit.
   */
  readonly rng: Rng;
}

/** A part of a workload. */
export interface Component {
  /** Short name (shown in the path column). */
  readonly name: string;
  /** Interrupt numbers it handles. */
  readonly intids: readonly number[];
  /** Which of them are level-sensitive (EOI with `level`). */
  readonly levelIntids?: readonly number[];
  /** Whether it uses the timer actions (the harness assembles the timer path only then). */
  readonly usesTimer?: boolean;
  /** Whether it sends IPIs (the harness assembles the IPI path, needing `ipi`/`emitSendIpi`, only then). */
  readonly usesIpi?: boolean;
  /** How it delivers (e.g. "its-msi", "spi-irqfd"). */
  readonly path: string;
  /** Guest setup code on vCPU `cpu` (after CPU init, interrupts masked). */
  emitSetup?(a: GuestAsm, cpu: number): void;
  /** Routing entries it needs (collected into one KVM_SET_GSI_ROUTING). */
  routes?(): RoutingEntry[];
  /** Host-side setup after routing is installed (irqfds, host interrupts). */
  hostSetup?(): void;
  /** vCPU `vcpu` passed the start barrier. */
  start?(vcpu: Vcpu): void;
  /** Every vCPU passed the start barrier (devices start firing). */
  hostStart?(now: number): void;
  /** The run is over (release host resources). */
  teardown?(): void;
  /** The guest acknowledged `intid` on `vcpu` (called before EOI). */
  onIrq(vcpu: Vcpu, intid: number): void;
  /** Interrupts sent so far. */
  readonly sent: number;
  /** Interrupts the guest received so far. */
  readonly delivered: number;
  /** Interrupts it will send in total. */
  readonly planned: number;
}

/** A named workload. */
export interface Workload {
  /** Name used on the command line. */
  readonly name: string;
  /** One line. */
  readonly description: string;
  /** Controller features it needs. */
  readonly needs: readonly IrqchipFeature[];
  /** VM extensions it needs (e.g. "arch-timer"). */
  readonly needsExtensions?: readonly string[];
  /** Smallest vCPU count. */
  readonly minVcpus: number;
  /** Default vCPU count. */
  readonly defaultVcpus: number;
  /** Builds its components for one run. */
  components(ctx: WorkloadContext): Component[];
}

/** Why `workload` cannot run on `irqchip` with `vcpus` vCPUs, or null when it can. */
export function unsupportedReason(hv: Hypervisor, irqchip: IrqchipDescriptor, workload: Workload, vcpus: number): string | null {
  const missing = workload.needs.filter((f) => !irqchip.features.includes(f));
  if (missing.length) return `${irqchip.name} lacks ${missing.join(', ')}`;
  const ext = (workload.needsExtensions ?? []).filter((e) => !hv.extensions.some((x) => x.name === e));
  if (ext.length) return `needs the ${ext.join(', ')} extension (not registered)`;
  if (vcpus < workload.minVcpus) return `needs at least ${workload.minVcpus} vCPUs`;
  if (vcpus > irqchip.maxVcpus) return `${irqchip.name} supports at most ${irqchip.maxVcpus} vCPUs`;
  return null;
}
