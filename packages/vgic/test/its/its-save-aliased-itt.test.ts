/**
 * SAVE_TABLES / RESTORE_TABLES work is linear in what is mapped, also when devices share (alias) one ITT: the
 * guest-memory words read by a save and by a restore of D devices on one shared ITT are no more than with D
 * distinct ITTs, and bounded by the shared ITT's page plus a few words per device (they used to be D × the ITT
 * span: every device scrubbed and re-scanned the whole shared ITT). Counted, not timed.
 */
import { GITS, ITS_GRP } from '../../src/its';
import { ITT_BASE, makeItsVm, type ItsTestVm } from './support/its-harness';

const CTRL = (attr: bigint) => ({ group: ITS_GRP.CTRL, attr });
const REG = (off: number) => ({ group: ITS_GRP.ITS_REGS, attr: BigInt(off) });
const DEVICES = 64;
const BITS = 12; // 4096 events, a 32 KiB ITT
const LAST = 2 ** BITS - 1;

/** DEVICES devices, each with only its last event mapped (a restore walk steps over 4095 invalid entries). */
function vmWith(aliased: boolean): ItsTestVm {
  const t = makeItsVm({ vcpus: 1 });
  t.g.setup({ qPages: 16 });
  t.g.mapc(0, 0);
  for (let d = 0; d < DEVICES; d++) {
    t.g.prop(8192 + d, 0xa0, true);
    t.g.mapd(d, BITS, aliased ? ITT_BASE : ITT_BASE + d * 2 ** BITS * 8);
    t.g.mapti(d, LAST, 8192 + d, 0);
  }
  expect(t.its.stats.commandErrors).toBe(0);
  t.dev.setAttr(CTRL(1n)); // the first save writes the ITT pages
  return t;
}

/** Words read from guest memory by `fn`. */
function wordsRead(t: ItsTestVm, fn: () => void): number {
  const spy = jest.spyOn(t.vm.memory, 'readU32');
  try {
    fn();
    return spy.mock.calls.length;
  } finally {
    spy.mockRestore();
  }
}

function measure(aliased: boolean): { save: number; restore: number; t: ItsTestVm } {
  const t = vmWith(aliased);
  const save = wordsRead(t, () => t.dev.setAttr(CTRL(1n)));
  const regs = [GITS.CBASER, GITS.BASER, GITS.BASER + 8].map((o) => [o, t.dev.getAttr(REG(o))] as const);
  t.dev.setAttr(CTRL(4n));
  for (const [o, v] of regs) t.dev.setAttr(REG(o), v);
  const restore = wordsRead(t, () => t.dev.setAttr(CTRL(2n)));
  return { save, restore, t };
}

describe('ITS save/restore with devices sharing one ITT', () => {
  it('reads no more guest memory than with distinct ITTs, and about one ITT page plus a few words per device', () => {
    const a = measure(true);
    const d = measure(false);
    const page = 0x10000 / 4; // words in one 64 KiB page
    expect(a.save).toBeLessThanOrEqual(d.save);
    expect(a.restore).toBeLessThanOrEqual(d.restore);
    expect(a.save).toBeLessThan(2 * page + 64 * DEVICES);
    expect(a.restore).toBeLessThan(2 * page + 64 * DEVICES);
    // Both restored the same translations (the shared ITT holds every device's last event).
    expect(a.t.its.iteCount).toBe(DEVICES);
    expect(d.t.its.iteCount).toBe(DEVICES);
    expect(a.t.its.findIte(DEVICES - 1, LAST)?.lpi.intid).toBe(8192 + DEVICES - 1); // the last device's ITE won the shared entry
    expect(d.t.its.findIte(7, LAST)?.lpi.intid).toBe(8192 + 7);
  });
});
