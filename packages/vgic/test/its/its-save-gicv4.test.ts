/**
 * SAVE_TABLES and GICv4 direct injection (KVM's vgic_its_save_itt): on a GICv4 host without GICv4.1 the pending
 * state of a forwarded vLPI lives in the physical redistributor and cannot be read back, so the save fails with
 * EACCES while any saved ITE is backed by one, writing nothing. GICv4.1 hosts (and ITEs not forwarded) save.
 */
import { ITS_GRP } from '@irqflow/vgic';
import { DT_BASE, ITT_BASE } from './support/its-harness';
import { boot, passthrough, v4Vm } from '../v4/support';

/** jest's asymmetric matcher for a thrown KvmError with these fields, typed for `toThrow`. */
const kvmError = (fields: { code?: string; errno?: number }): Error => expect.objectContaining(fields) as Error;

const SAVE = { group: ITS_GRP.CTRL, attr: 1n };

function forwardedVm(version: '4' | '4.1') {
  const t = v4Vm(version, 1);
  boot(t, [[]]);
  t.g.prop(8192, 0xa0, true);
  t.g.prop(8193, 0xa0, true);
  t.g.mapd(1, 2);
  t.g.mapc(0, 0);
  t.g.mapti(1, 0, 8192, 0);
  t.g.mapti(1, 1, 8193, 0);
  const { pt } = passthrough(t, 1, [0]); // event 0 forwarded, event 1 on software injection
  expect(t.v4!.mappingOfVlpi(8192)).toBeDefined();
  return { t, pt };
}

describe('SAVE_TABLES with forwarded vLPIs', () => {
  it('GICv4 without GICv4.1: EACCES while an ITE is backed by a forwarded vLPI; nothing is written', () => {
    const { t } = forwardedVm('4');
    expect(() => t.its.setAttr(SAVE)).toThrow(kvmError({ code: 'EACCES' }));
    expect(t.vm.memory.readU64(DT_BASE + 8)).toBe(0n);
    expect(t.vm.memory.readU64(ITT_BASE + 0x1000 + 8)).toBe(0n);
  });

  it('GICv4 without GICv4.1: once the forwarding is undone the save succeeds', () => {
    const { t, pt } = forwardedVm('4');
    t.v4!.unsetForwarding(pt.vectors[0].hostIrq.irq);
    t.its.setAttr(SAVE);
    expect(t.vm.memory.readU64(DT_BASE + 8) >> 63n).toBe(1n);
  });

  it('GICv4.1: the save succeeds with the vLPI forwarded', () => {
    const { t } = forwardedVm('4.1');
    t.its.setAttr(SAVE);
    expect(t.vm.memory.readU64(DT_BASE + 8) >> 63n).toBe(1n);
  });
});
