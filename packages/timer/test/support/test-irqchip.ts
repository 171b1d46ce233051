/**
 * A small interrupt controller used only by the timer tests (never exported from src). 32 private interrupts
 * per vCPU; an untrapped acknowledge register (ICC_IAR1_EL1) and an untrapped EOI + deactivate register
 * (ICC_EOIR1_EL1). With `mapping: true` it implements mapped interrupts as references §1 describes: the pending
 * state of a mapped interrupt is the device line sampled through its get-input-level callback (no latch), and
 * the guest's deactivation of the virtual interrupt deactivates the host interrupt. With `mapping: false` it has
 * no mapPhysIrq member at all, so the timer must fall back to injectIrq level changes.
 */
import {
  Errno,
  fail,
  IrqchipState,
  SYSREGS,
  VcpuSlot,
  type GetInputLevel,
  type GuestAsm,
  type GuestIrqDriver,
  type IrqchipFlow,
  type Vcpu,
  type Vm,
} from '@irqflow/core';

/** What the ack register reads when nothing is deliverable. */
export const TEST_SPURIOUS = 1023;

const NR = 32;

class TestCpu {
  readonly line = new Uint8Array(NR);
  readonly active = new Uint8Array(NR);
  readonly mapped: (GetInputLevel | null)[] = new Array<GetInputLevel | null>(NR).fill(null);
  readonly hostIrq = new Int32Array(NR).fill(-1);
  readonly owner: unknown[] = new Array(NR).fill(null);
  acks = 0;
}

const TEST_SLOT = new VcpuSlot<TestCpu>('test-irqchip');

/** The test controller. */
export class TestIrqchip {
  readonly slot = TEST_SLOT;
  /** injectIrq calls (intid, level) in order. */
  readonly injections: { cpu: number; intid: number; level: boolean; t: number }[] = [];
  readonly flow: IrqchipFlow;

  constructor(
    readonly vm: Vm,
    readonly mapping: boolean,
  ) {
    const flow: IrqchipFlow = {
      vcpuInit: (v) => this.slot.set(v, new TestCpu()),
      vcpuPendingIrq: (v) => this.deliverable(v) >= 0,
      vcpuFlushHwstate: (v) => {
        v.virq = this.deliverable(v) >= 0;
      },
      // On exit, resample mapped lines as the vgic does: a low line of an interrupt the guest does not hold active
      // releases the host interrupt (which may have fired again after an EOI and gone active).
      vcpuSyncHwstate: (v) => {
        const c = this.slot.get(v);
        for (let i = 16; i < NR; i++) {
          const m = c.mapped[i];
          if (m !== null && c.hostIrq[i] >= 0 && c.active[i] === 0 && !m(v, i))
            this.vm.hv.hostIrqs.setIrqchipState(c.hostIrq[i], IrqchipState.Active, false);
        }
      },
      injectIrq: (vm2, cpu, intid, level, owner) => {
        const v = vm2.vcpuAt(cpu);
        if (!v || intid < 16 || intid >= NR) return;
        const c = this.slot.get(v);
        if (c.owner[intid] !== null && c.owner[intid] !== owner) return;
        this.injections.push({ cpu, intid, level, t: vm2.now });
        c.line[intid] = level ? 1 : 0;
        // a reported drop of a mapped line is a resample point too (see vcpuSyncHwstate)
        if (!level && c.active[intid] === 0 && c.hostIrq[intid] >= 0)
          this.vm.hv.hostIrqs.setIrqchipState(c.hostIrq[intid], IrqchipState.Active, false);
        v.virq = this.deliverable(v) >= 0;
        if (level) vm2.kickVcpu(v);
      },
      mapIsActive: (v, intid) => this.slot.get(v).active[intid] === 1,
      resetMappedIrq: (v, intid) => {
        const c = this.slot.get(v);
        c.active[intid] = 0;
        c.line[intid] = 0;
      },
      unmapPhysIrq: (v, intid) => {
        const c = this.slot.get(v);
        c.mapped[intid] = null;
        c.hostIrq[intid] = -1;
      },
      setOwner: (v, intid, owner) => {
        const c = this.slot.get(v);
        if (intid < 16 || intid >= NR) fail(Errno.EINVAL, `intid ${intid} is not a PPI`);
        if (c.owner[intid] !== null && c.owner[intid] !== owner) fail(Errno.EBUSY, `intid ${intid} has another owner`);
        c.owner[intid] = owner;
      },
    };
    if (mapping) {
      flow.mapPhysIrq = (v, hostIrq, intid, getInputLevel) => {
        const c = this.slot.get(v);
        c.mapped[intid] = getInputLevel;
        c.hostIrq[intid] = hostIrq;
      };
    }
    this.flow = flow;
  }

  /** Installs and initialises the controller on the VM (vCPUs already created). */
  install(): void {
    const vm = this.vm;
    vm.setIrqchip(this.flow, this.mapping ? 'test-mapped' : 'test-emulated');
    vm.sysregs.register(SYSREGS.ICC_IAR1_EL1, { trapped: false, untrappedCost: 'cpuifAccess', read: (v) => this.ack(v) });
    vm.sysregs.register(SYSREGS.ICC_EOIR1_EL1, {
      trapped: false,
      untrappedCost: 'cpuifAccess',
      write: (v, lo) => this.eoi(v, lo),
    });
    vm.finalizeIrqchip();
  }

  /** The pending state of `intid` on `vcpu` (mapped: the sampled line). */
  isPending(vcpu: Vcpu, intid: number): boolean {
    const c = this.slot.get(vcpu);
    const m = c.mapped[intid];
    return m !== null ? m(vcpu, intid) : c.line[intid] === 1;
  }

  /** Whether `intid` is active on `vcpu`. */
  isActive(vcpu: Vcpu, intid: number): boolean {
    return this.slot.get(vcpu).active[intid] === 1;
  }

  private deliverable(v: Vcpu): number {
    const c = this.slot.get(v);
    for (let i = 0; i < NR; i++) if (c.active[i] === 1) return -1;
    for (let i = 16; i < NR; i++) if (this.isPending(v, i)) return i;
    return -1;
  }

  private ack(v: Vcpu): number {
    const i = this.deliverable(v);
    if (i < 0) return TEST_SPURIOUS;
    const c = this.slot.get(v);
    c.active[i] = 1;
    c.acks++;
    v.virq = false;
    return i;
  }

  private eoi(v: Vcpu, intid: number): void {
    if (intid >= NR) return;
    const c = this.slot.get(v);
    c.active[intid] = 0;
    const h = c.hostIrq[intid];
    if (c.mapped[intid] !== null && h >= 0) this.vm.hv.hostIrqs.setIrqchipState(h, IrqchipState.Active, false);
    v.virq = this.deliverable(v) >= 0;
  }

  /** The guest driver. */
  driver(): GuestIrqDriver {
    return {
      name: this.mapping ? 'test-mapped' : 'test-emulated',
      spurious: TEST_SPURIOUS,
      ipi: (n) => n,
      timerIntids: { virt: 27, phys: 30 },
      deviceIrqs: { first: 32, count: 0 },
      emitCpuInit: () => {},
      emitEnable: () => {},
      emitAck: (a: GuestAsm, rd: number) => {
        a.mrs(rd, 'ICC_IAR1_EL1');
      },
      emitEoi: (a: GuestAsm, rs: number) => {
        a.msr('ICC_EOIR1_EL1', rs);
      },
      emitSendIpi: () => {},
    };
  }
}
