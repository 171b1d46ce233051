/** The host interrupt model. */
import { Errno, HostIrqModel, IrqchipState, type KvmError } from '../../src';

describe('HostIrqModel', () => {
  it('raise runs the handler once and leaves the IRQ active; raises while active stay pending until deactivation', () => {
    const h = new HostIrqModel();
    const seen: number[] = [];
    const irq = h.allocate('vtimer', (i) => void seen.push(i.irq));
    h.raise(irq.irq);
    h.raise(irq.irq);
    expect(seen).toEqual([irq.irq]);
    expect(h.getIrqchipState(irq.irq, IrqchipState.Active)).toBe(true);
    expect(h.getIrqchipState(irq.irq, IrqchipState.Pending)).toBe(true);
    h.setIrqchipState(irq.irq, IrqchipState.Active, false);
    expect(seen).toEqual([irq.irq, irq.irq]);
    expect(irq.fired).toBe(2);
  });

  it('masked lines only become pending; unknown numbers → EINVAL', () => {
    const h = new HostIrqModel();
    const irq = h.allocate('x', () => undefined);
    h.setIrqchipState(irq.irq, IrqchipState.Masked, true);
    h.raise(irq.irq);
    expect(irq.fired).toBe(0);
    expect(irq.pending).toBe(true);
    expect(h.has(irq.irq)).toBe(true);
    expect(h.has(irq.irq + 1)).toBe(false);
    let err: unknown;
    try {
      h.get(1);
    } catch (e) {
      err = e;
    }
    expect((err as KvmError).errno).toBe(Errno.EINVAL);
  });
});
