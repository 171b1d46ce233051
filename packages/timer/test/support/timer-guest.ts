/** Guest programs for the timer tests, written against the controller-neutral guest driver. */
import { DAIF, GuestAsm, type GuestIrqDriver, type SysregName, type Vcpu } from '@irqflow/core';

/** The system registers of one timer. */
export interface TimerRegs {
  readonly name: 'virt' | 'phys';
  readonly cnt: SysregName;
  readonly ctl: SysregName;
  readonly cval: SysregName;
  readonly tval: SysregName;
}

/** The virtual timer's registers. */
export const VREGS: TimerRegs = { name: 'virt', cnt: 'CNTVCT_EL0', ctl: 'CNTV_CTL_EL0', cval: 'CNTV_CVAL_EL0', tval: 'CNTV_TVAL_EL0' };
/** The physical timer's registers. */
export const PREGS: TimerRegs = { name: 'phys', cnt: 'CNTPCT_EL0', ctl: 'CNTP_CTL_EL0', cval: 'CNTP_CVAL_EL0', tval: 'CNTP_TVAL_EL0' };

/** One interrupt as the guest handler saw it. */
export interface IrqRecord {
  readonly vcpu: number;
  readonly intid: number;
  /** vCPU clock at handler entry (after the ack). */
  readonly t: number;
  /** The timer's counter read in the handler. */
  readonly cnt: bigint;
  /** The timer's CVAL read in the handler. */
  readonly cval: bigint;
  /** The timer's CTL read in the handler. */
  readonly ctl: number;
}

/**
 * What the handler does to the timer: disable or mask it before EOI (Linux's order), nothing, or EOI first and
 * mask after it (kvm-unit-tests arm/micro-bench's order).
 */
export type OnIrq = 'disable' | 'mask' | 'nothing' | 'eoi-then-mask';

/** A guest program under construction plus the log its handler fills. */
export class TimerGuest {
  readonly a = new GuestAsm();
  readonly irqs: IrqRecord[] = [];
  /** Values captured by {@link capture}. */
  readonly captured: bigint[] = [];
  private n = 0;

  constructor(
    readonly driver: GuestIrqDriver,
    readonly intids: { virt: number; phys: number },
    onIrq: OnIrq = 'disable',
  ) {
    this.emitHandler(onIrq);
    const a = this.a;
    a.label('main');
    driver.emitCpuInit(a);
    driver.emitEnable(a, intids.virt, { level: true });
    driver.emitEnable(a, intids.phys, { level: true });
  }

  private emitHandler(onIrq: OnIrq): void {
    const a = this.a;
    const d = this.driver;
    const rec = (v: Vcpu): void => {
      this.irqs.push({ vcpu: v.index, intid: v.xlo[10], t: v.clock, cnt: v.xBig(11), cval: v.xBig(12), ctl: v.xlo[13] });
    };
    a.label('irq');
    d.emitAck(a, 10);
    a.beqi(10, d.spurious, '.irq_out');
    for (const [regs, intid] of [
      [VREGS, this.intids.virt],
      [PREGS, this.intids.phys],
    ] as const) {
      const skip = `.irq_not_${regs.name}`;
      a.bnei(10, intid, skip);
      a.mrs(11, regs.cnt).mrs(12, regs.cval).mrs(13, regs.ctl).call(rec);
      // like Linux: only a timer whose ISTATUS is set is handled (a stale interrupt is just completed)
      a.andi(14, 13, 4).cbz(14, '.irq_eoi');
      if (onIrq === 'disable') a.msr(regs.ctl, 31);
      else if (onIrq === 'mask') a.movi(14, 3).msr(regs.ctl, 14);
      else if (onIrq === 'eoi-then-mask') {
        d.emitEoi(a, 10, { level: true });
        a.movi(14, 3).msr(regs.ctl, 14).b('.irq_out');
      }
      a.b('.irq_eoi');
      a.label(skip);
    }
    a.movi(11, 0).movi(12, 0).movi(13, 0).call(rec);
    a.label('.irq_eoi');
    d.emitEoi(a, 10, { level: true });
    a.label('.irq_out').eret();
  }

  /** Unmasks IRQs. */
  unmask(): this {
    this.a.daifclr(DAIF.I);
    return this;
  }

  /** Masks IRQs. */
  mask(): this {
    this.a.daifset(DAIF.I);
    return this;
  }

  /** Programs `regs` to expire `delta` ticks from now through CVAL (counter + delta) or TVAL, enabled, unmasked. */
  program(regs: TimerRegs, mode: 'cval' | 'tval', delta: number | bigint, ctl = 1): this {
    const a = this.a;
    if (mode === 'cval') a.mrs(9, regs.cnt).addi(9, 9, Number(delta)).msr(regs.cval, 9);
    else a.movi(9, delta).msr(regs.tval, 9);
    return this.ctl(regs, ctl);
  }

  /** Writes CTL. */
  ctl(regs: TimerRegs, value: number): this {
    this.a.movi(9, value).msr(regs.ctl, 9);
    return this;
  }

  /** Reads a system register into the captured list (index = order of capture). */
  capture(reg: SysregName): this {
    this.a.mrs(9, reg).call((v) => {
      this.captured.push(v.xBig(9));
    });
    return this;
  }

  /** Waits in WFI until `cond` holds. */
  waitUntil(cond: () => boolean): this {
    const l = `.wait${this.n++}`;
    const done = `${l}_done`;
    this.a.label(l).callb(cond, done).wfi().b(l).label(done);
    return this;
  }

  /** Spins (no WFI) until `cond` holds. */
  spinUntil(cond: () => boolean): this {
    const l = `.spinwait${this.n++}`;
    const done = `${l}_done`;
    this.a.label(l).callb(cond, done).work(300).b(l).label(done);
    return this;
  }

  /** Interrupts logged with ISTATUS set (the stale ones a latching controller may deliver left out). */
  get timerIrqs(): IrqRecord[] {
    return this.irqs.filter((r) => (r.ctl & 4) !== 0);
  }

  /** Waits until the handler logged `n` interrupts in total. */
  waitIrqs(n: number): this {
    return this.waitUntil(() => this.irqs.length >= n);
  }

  /** Runs a hook (no simulated time). */
  hook(fn: (v: Vcpu) => void): this {
    this.a.call(fn);
    return this;
  }

  /** A loop of `n` computations of `cycles` cycles each (interruptible between them). */
  spin(n: number, cycles: number): this {
    const l = `.spin${this.n++}`;
    this.a.movi(15, n).label(l).work(cycles).addi(15, 15, -1).cbnz(15, l);
    return this;
  }

  /** Spins for `cycles` guest cycles (one operation). */
  work(cycles: number): this {
    this.a.work(cycles);
    return this;
  }

  /** Ends with an idle WFI loop and loads the program on `vcpu`. */
  load(vcpu: Vcpu): void {
    this.a.label('.end').wfi().b('.end');
    vcpu.setProgram(this.a.build());
  }
}
