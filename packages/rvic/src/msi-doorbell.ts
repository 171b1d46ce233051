/**
 * The rVID MSI doorbell on the VM's MMIO bus (not in ARM-DEN-0103; the 2020 series' dummy address
 * 0xBA5E0000, references §5). A 32-bit write at offset 0 whose data is an MSI input number signals that
 * input in the kernel model, without an exit to userspace; everything else in the frame is RAZ/WI.
 *
 * @module
 */
import type { MmioDevice, MmioValue, Vcpu } from '@irqflow/core';
import type { Rvic } from './rvic';

/** The doorbell frame. */
export class RvidMsiDoorbell implements MmioDevice {
  /** Bus name. */
  readonly name = 'rVID-MSI';
  /** Doorbell writes seen. */
  writes = 0;

  /** @param rvic - the controller */
  constructor(private readonly rvic: Rvic) {}

  /** RAZ. */
  read(_vcpu: Vcpu | null, _offset: number, _len: number, val: MmioValue): boolean {
    val.lo = 0;
    val.hi = 0;
    return true;
  }

  /** A 32-bit write at offset 0 signals MSI input `data`; other writes are ignored. */
  write(_vcpu: Vcpu | null, offset: number, len: number, val: MmioValue): boolean {
    if (offset !== 0 || len !== 4) return true;
    this.writes++;
    this.rvic.doorbell(val.lo >>> 0);
    return true;
  }
}
