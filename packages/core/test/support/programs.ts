/** Guest program snippets shared by the core tests. */
import { DAIF, GuestAsm, PSCI } from '../../src';

/** Emits PSCI SYSTEM_OFF (ends the run with reason "shutdown"). */
export function systemOff(a: GuestAsm): GuestAsm {
  return a.movi(0, PSCI.SYSTEM_OFF).hvc();
}

/** IRQ vector for the tiny controller: ack into x0, count in x20, EOI, return. */
export function tinyIrqVector(a: GuestAsm): GuestAsm {
  return a.label('irq').mrs(0, 'ICC_IAR1_EL1').addi(20, 20, 1).msr('ICC_EOIR1_EL1', 0).eret();
}

/** main: unmask IRQs and wait for interrupts forever; irq: tiny vector. */
export function idleLoop(): GuestAsm {
  const a = new GuestAsm();
  a.label('main').daifclr(DAIF.I).label('idle').wfi().b('idle');
  return tinyIrqVector(a);
}

/** main: unmask, wait until x20 (handled count) reaches `n`, then SYSTEM_OFF. */
export function handleN(n: number): GuestAsm {
  const a = new GuestAsm();
  a.label('main').daifclr(DAIF.I).label('wait').bhsi(20, n, 'done').wfi().b('wait');
  a.label('done');
  systemOff(a);
  return tinyIrqVector(a);
}
