/** LPI configuration and pending tables (Arm IHI 0069 5.1): INV/INVALL, EnableLPIs with pending-table load, SAVE_PENDING_TABLES. */
import { itsSavePendingTables, itsInvalidateLpi } from '../../src/its';
import { makeItsVm, msi, PEND_BASE } from './support/its-harness';

/** jest's asymmetric matcher for a thrown KvmError with these fields, typed for `toThrow`. */
const kvmError = (fields: { code?: string; errno?: number }): Error => expect.objectContaining(fields) as Error;

function mapped(vcpus = 2) {
  const t = makeItsVm({ vcpus, enableLpis: false });
  t.g.setup();
  t.g.mapd(0, 4);
  t.g.mapc(0, 0);
  t.g.mapc(1, 1);
  for (let e = 0; e < 4; e++) {
    t.g.prop(8192 + e, 0x80, true);
    t.g.mapti(0, e, 8192 + e, e & 1);
  }
  return t;
}

describe('LPI tables', () => {
  it('an MSI to a redistributor with LPIs disabled is EBUSY and latches nothing', () => {
    const { vm, host, its } = mapped();
    expect(() => msi(vm, 0, 0)).toThrow(kvmError({ code: 'EBUSY' }));
    expect(its.lpis.get(8192)!.pending).toBe(false);
    expect(host.deliveries).toBe(0);
  });

  it('enabling LPIs loads the pending table of that redistributor (only its LPIs; the bit state wins)', () => {
    const { vm, host } = mapped();
    // LPIs 8192 (vcpu0) and 8194 (vcpu0) pending in vcpu0's table; 8193 (vcpu1) in vcpu1's table.
    vm.memory.writeU8(PEND_BASE + 8192 / 8, 0b0101);
    vm.memory.writeU8(PEND_BASE + 0x10000 + 8192 / 8, 0b0010);
    host.setLpis(0, true);
    expect(host.pendingOn(0)).toEqual([8192, 8194]);
    expect(host.pendingOn(1)).toEqual([]);
    host.setLpis(1, true);
    expect(host.pendingOn(1)).toEqual([8193]);
  });

  it('PENDBASER.PTZ = 1 means an all-zero pending table (nothing is read)', () => {
    const { vm, host } = mapped();
    vm.memory.writeU8(PEND_BASE + 8192 / 8, 0xff);
    host.pendbaser[0] |= 1n << 62n;
    host.setLpis(0, true);
    expect(host.pendingOn(0)).toEqual([]);
  });

  it('disabling LPIs drops the pending state of that redistributor and the cached translations', () => {
    const { vm, host, its } = mapped();
    host.setLpis(0, true);
    host.setLpis(1, true);
    msi(vm, 0, 0);
    msi(vm, 0, 1);
    msi(vm, 0, 0);
    expect(its.cache.size).toBe(2);
    host.setLpis(0, false);
    expect(its.cache.size).toBe(0);
    expect(host.pendingOn(0)).toEqual([]);
    expect(host.pendingOn(1)).toEqual([8193]);
    expect(its.lpis.get(8192)!.pending).toBe(false);
  });

  it('a disabled LPI latches; it is delivered once INV (or GICR_INVLPIR) sees it enabled', () => {
    const { vm, host, g } = mapped();
    host.setLpis(0, true);
    g.prop(8192, 0x30, false);
    g.inv(0, 0);
    expect(msi(vm, 0, 0)).toBe(1); // KVM: the ITS accepted it; the LPI stays pending, not delivered
    expect(host.pendingOn(0)).toEqual([]);
    g.prop(8192, 0x30, true);
    itsInvalidateLpi(vm, 0, 8192);
    expect(host.queued.get(0)!.get(8192)).toBe(0x30);
  });

  it('the configuration is cached: a property change without INV/INVALL has no effect', () => {
    const { vm, host, g } = mapped();
    host.setLpis(0, true);
    g.prop(8192, 0x10, false);
    msi(vm, 0, 0);
    expect(host.queued.get(0)!.get(8192)).toBe(0x80);
    host.ack(0, 8192);
    g.invall(0);
    msi(vm, 0, 0);
    expect(host.pendingOn(0)).toEqual([]);
  });

  it('SAVE_PENDING_TABLES writes each LPI bit into its target table and leaves the first 1 KiB alone', () => {
    const { vm, host } = mapped();
    host.setLpis(0, true);
    host.setLpis(1, true);
    vm.memory.writeU8(PEND_BASE + 5, 0xaa); // INTIDs < 8192: never touched
    vm.memory.writeU8(PEND_BASE + 8192 / 8, 0b1000_0000); // a stale bit of an unmapped LPI stays
    msi(vm, 0, 0);
    msi(vm, 0, 1);
    itsSavePendingTables(vm);
    expect(vm.memory.readU8(PEND_BASE + 5)).toBe(0xaa);
    expect(vm.memory.readU8(PEND_BASE + 8192 / 8)).toBe(0b1000_0001);
    expect(vm.memory.readU8(PEND_BASE + 0x10000 + 8192 / 8)).toBe(0b0000_0010);
    host.ack(0, 8192);
    itsSavePendingTables(vm);
    expect(vm.memory.readU8(PEND_BASE + 8192 / 8)).toBe(0b1000_0000);
  });

  it('SAVE_PENDING_TABLES reports EFAULT when a pending table is not RAM', () => {
    const { vm, host } = mapped();
    host.pendbaser[1] = 0x10000n;
    expect(() => itsSavePendingTables(vm)).toThrow(kvmError({ code: 'EFAULT' }));
  });
});
