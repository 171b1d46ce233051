/**
 * The cost model: named profiles of primitive costs, in simulated nanoseconds.
 *
 * Only primitives enter a profile (a trap round trip, an MMIO exit handled in the kernel, an untrapped
 * CPU-interface access, …). Composite latencies — an IPI end to end, an LPI from MSI to handler, a timer
 * interrupt — are never constants: they emerge from the run loop charging these primitives as the model runs.
 * Sources: references §6 (kvm-unit-tests micro-benchmarks; Dall et al., ISCA 2016 and USENIX ATC 2017).
 *
 * @module
 */

/** The primitive operations the run loop and controllers charge. */
export interface CostPrimitives {
  /** Null HVC round trip: guest → EL2 → guest, handled without leaving the hypervisor's fast path. */
  hvc: number;
  /** A trapped system-register access handled in the hypervisor (same exception round trip as an HVC plus decode). */
  sysregTrap: number;
  /** A data abort on an emulated MMIO region handled by an in-kernel device (e.g. a GICD read). */
  mmioKernel: number;
  /** A data abort forwarded to the VMM in userspace and back. */
  mmioUser: number;
  /** An exit taken because a physical interrupt (a kick IPI, a maintenance interrupt) arrived while in the guest. */
  irqExit: number;
  /** Sending a kick IPI to a vCPU running on another physical CPU (charged to the sender). */
  kickSend: number;
  /** WFI trap, block and wake-up (scheduler round trip), excluding the time spent blocked. */
  wfi: number;
  /** Saving or restoring one list register on an exit (GICv2: a GICH MMIO access; GICv3: an ICH_LR sysreg). */
  lrAccess: number;
  /** A guest access to the virtual CPU interface that does not trap (ICC_IAR1_EL1, ICC_EOIR1_EL1, GICV_*). */
  cpuifAccess: number;
  /** A guest access to the virtual timer registers (no trap with VHE / CNTHCTL configured for the guest). */
  timerAccess: number;
  /** Exception entry + ERET in the guest (IRQ vector dispatch). */
  exception: number;
  /** One plain guest instruction cycle. */
  cycle: number;
  /**
   * Physical IPI delivery between two physical CPUs: from the instant the sender produces it (the kick at the end
   * of its handler, a doorbell or an interrupt the GIC forwards to a resident vPE) to the target physical CPU
   * taking the host interrupt. Every asynchronous signal from one vCPU (or the host) to another carries it: the
   * receiver acts no earlier than the sender's instant plus this. Also the upper bound of the default
   * conservative lookahead ({@link defaultLookaheadNs}).
   */
  ipiLatency: number;
  /**
   * A store on one physical CPU becoming visible to a load on another (a cache-line transfer between cores): a
   * load of a line another vCPU stored to completes no earlier than that store plus this.
   */
  cacheLineTransfer: number;
}

/** A named cost profile: the primitives plus where they come from. */
export interface CostProfile {
  /** Short name used on the command line (`--profile NAME`). */
  readonly name: string;
  /** One-line description of the machine the figures come from. */
  readonly description: string;
  /** The public source(s) of the figures. */
  readonly source: string;
  /** The primitive costs in nanoseconds. */
  readonly ns: Readonly<CostPrimitives>;
}

/**
 * Modern GICv3 + VHE server: Ampere Altra figures from kvm-unit-tests micro-benchmarks (references §6):
 * null HVC 306 ns, MMIO exit handled in the kernel 451 ns, MMIO exit to userspace 1,683 ns, guest EOI via the
 * virtual CPU interface 14 ns. A trapped sysreg and a kick/maintenance exit are the same exception round trip as
 * a null HVC (306 ns). The list-register access, WFI and clock figures are estimates for a 3 GHz core with
 * ICH_LR as a system register (a few cycles each), stated here so they can be changed.
 */
export const GICV3_VHE_ALTRA: CostProfile = {
  name: 'gicv3-vhe',
  description: 'GICv3 + VHE server (Ampere Altra, 3.0 GHz)',
  source:
    'kvm-unit-tests micro-bench on Ampere Altra (references §6): hvc 306 ns, mmio-kernel 451 ns, ' +
    'mmio-user 1683 ns, untrapped EOI 14 ns; sysreg trap and IRQ exit = hvc round trip (derived)',
  ns: {
    hvc: 306,
    sysregTrap: 306,
    mmioKernel: 451,
    mmioUser: 1683,
    irqExit: 306,
    kickSend: 30,
    wfi: 306,
    lrAccess: 2,
    cpuifAccess: 14,
    timerAccess: 3,
    exception: 10,
    cycle: 1 / 3,
    // provisional (the cost-profile work owns the final figures): a cross-core IPI and a core-to-core line transfer
    ipiLatency: 200,
    cacheLineTransfer: 100,
  },
};

/** Kunpeng 920 figures from the same kvm-unit-tests micro-benchmarks (references §6). */
export const GICV3_VHE_KUNPENG: CostProfile = {
  name: 'gicv3-vhe-kunpeng',
  description: 'GICv3 + VHE server (HiSilicon Kunpeng 920, 2.6 GHz)',
  source:
    'kvm-unit-tests micro-bench on Kunpeng 920 (references §6): hvc 408 ns, mmio-kernel 638 ns, ' +
    'mmio-user 2306 ns, untrapped EOI 26 ns; sysreg trap and IRQ exit = hvc round trip (derived)',
  ns: {
    hvc: 408,
    sysregTrap: 408,
    mmioKernel: 638,
    mmioUser: 2306,
    irqExit: 408,
    kickSend: 40,
    wfi: 408,
    lrAccess: 3,
    cpuifAccess: 26,
    timerAccess: 4,
    exception: 12,
    cycle: 1 / 2.6,
    // provisional (the cost-profile work owns the final figures)
    ipiLatency: 250,
    cacheLineTransfer: 120,
  },
};

const XGENE_GHZ = 2.4;
const c = (cycles: number): number => cycles / XGENE_GHZ;

/**
 * Older GICv2, non-VHE (split-mode) KVM on APM X-Gene at 2.4 GHz: Dall et al., ISCA 2016 (hypercall 6,500 cycles
 * of which 3,250 save/restore the GICv2 virtual interface; distributor trap 7,370; virtual IRQ completion 71) and
 * USENIX ATC 2017 (exit to host userspace 10,012 cycles). A list-register access is a GICH MMIO access: 3,250
 * cycles spread over the 4 LRs plus control registers saved per exit (≈ 400 cycles each).
 */
export const GICV2_NONVHE_XGENE: CostProfile = {
  name: 'gicv2-nonvhe',
  description: 'GICv2, non-VHE split-mode KVM (APM X-Gene, 2.4 GHz)',
  source:
    'Dall et al. ISCA 2016 (hypercall 6500 cyc, distributor trap 7370 cyc, vIRQ completion 71 cyc) and ' +
    'ATC 2017 (exit to userspace 10012 cyc), converted at 2.4 GHz',
  ns: {
    hvc: c(6500),
    sysregTrap: c(6500),
    mmioKernel: c(7370),
    mmioUser: c(10012),
    irqExit: c(6500),
    kickSend: c(300),
    wfi: c(6500),
    lrAccess: c(400),
    cpuifAccess: c(71),
    timerAccess: c(10),
    exception: c(30),
    cycle: 1 / XGENE_GHZ,
    // provisional (the cost-profile work owns the final figures): ≈ 1,000 and 400 cycles
    ipiLatency: c(1000),
    cacheLineTransfer: c(400),
  },
};

/** The built-in profiles, first one is the default. */
export const BUILTIN_COST_PROFILES: readonly CostProfile[] = [GICV3_VHE_ALTRA, GICV3_VHE_KUNPENG, GICV2_NONVHE_XGENE];

/**
 * The default conservative lookahead of a VM under a profile: the smallest delivery latency of an asynchronous
 * signal between vCPUs, {@link CostPrimitives.ipiLatency}. A signal produced at `t` takes effect at `t + latency`;
 * a vCPU running ahead has executed no operation starting later than the next vCPU's clock plus the lookahead,
 * so with the lookahead at most the latency it has not passed `t + latency` when the signal is posted, and takes
 * it at exactly the boundary lockstep would (results identical to `lookaheadNs: 0`). Guest memory needs no
 * bound here: loads and stores never run ahead (the line-transfer latency is applied at the load).
 */
export function defaultLookaheadNs(ns: Readonly<CostPrimitives>): number {
  return ns.ipiLatency;
}
