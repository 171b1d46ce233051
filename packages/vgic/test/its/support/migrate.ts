/** Migration helpers: copy guest RAM ranges and replay the documented ITS restore order. */
import type { Vm } from '@irqflow/core';
import { GITS, ITS_GRP } from '../../../src/its';
import type { ItsTestVm } from './its-harness';
import { makeItsVm, RAM_BASE, RAM_SIZE } from './its-harness';

const REG = (off: number) => ({ group: ITS_GRP.ITS_REGS, attr: BigInt(off) });

/**
 * Copies the guest RAM the ITS and redistributors use (the VMM migrating memory): the fixed table areas of the
 * harness layout plus every mapped device's ITT.
 */
export function copyRam(src: ItsTestVm, to: Vm): void {
  const ranges: [number, number][] = [
    [RAM_BASE, 0x10000], // property table
    [RAM_BASE + 0x10_0000, 0x40000], // pending tables of vCPUs 0..3
    [RAM_BASE + 0x100_0000, 0x40000], // command queue
    [RAM_BASE + 0x200_0000, 0x40000], // device table
    [RAM_BASE + 0x300_0000, 0x10000], // collection table
    [RAM_BASE + 0x400_0000 - 0x10000, 0x50000], // level-1 + level-2 device table pages
    [RAM_BASE + 0x800_0000, 0x20000], // ITTs of devices 0..31
  ];
  for (const d of src.its.devices.values()) ranges.push([d.ittAddr, 2 ** d.eventBits * 8]);
  for (const [a, n] of ranges) {
    if (a < RAM_BASE || a + n > RAM_BASE + RAM_SIZE) continue;
    for (let o = 0; o < n; o += 4) {
      const v = src.vm.memory.readU32(a + o);
      if (v !== 0 || to.memory.readU32(a + o) !== 0) to.memory.writeU32(a + o, v);
    }
  }
}

/** The ITS registers a VMM saves (ITS_REGS). */
export function saveItsRegs(t: ItsTestVm): Map<number, bigint> {
  const m = new Map<number, bigint>();
  for (const off of [GITS.IIDR, GITS.CBASER, GITS.CREADR, GITS.CWRITER, GITS.BASER, GITS.BASER + 8, GITS.CTLR])
    m.set(off, t.dev.getAttr(REG(off)));
  return m;
}

/**
 * Restores into a fresh VM in the documented order: redistributors → ITS base → CBASER → other GITS registers
 * except CTLR → RESTORE_TABLES → GITS_CTLR. Returns the VM and the RESTORE_TABLES error, if any.
 */
export function restoreInto(
  src: ItsTestVm,
  regs: Map<number, bigint>,
  vcpus: number,
  vcpuIds?: number[],
): { t: ItsTestVm; error?: unknown } {
  const t = makeItsVm({ vcpus, vcpuIds, enableLpis: false });
  copyRam(src, t.vm);
  t.host.propbaser = src.host.propbaser;
  for (let i = 0; i < vcpus; i++) {
    t.host.pendbaser[i] = src.host.pendbaser[i];
    t.host.setLpis(i, src.host.enabled[i] === true);
  }
  t.dev.setAttr(REG(GITS.CBASER), regs.get(GITS.CBASER));
  for (const off of [GITS.IIDR, GITS.BASER, GITS.BASER + 8, GITS.CREADR, GITS.CWRITER]) t.dev.setAttr(REG(off), regs.get(off));
  let error: unknown;
  try {
    t.dev.setAttr({ group: ITS_GRP.CTRL, attr: 2n });
  } catch (e) {
    error = e;
  }
  t.dev.setAttr(REG(GITS.CTLR), regs.get(GITS.CTLR));
  return { t, error };
}
