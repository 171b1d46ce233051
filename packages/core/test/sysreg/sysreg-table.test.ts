/** System-register encodings and the per-VM table. */
import {
  decodeSysreg,
  Errno,
  GuestAsm,
  Hypervisor,
  type KvmError,
  PSCI,
  SYSREG_HOT_LANES,
  SYSREGS,
  sysregEncoding,
  sysregName,
  sysregOf,
} from '../../src';

describe('encodings', () => {
  it('pack and unpack Op0/Op1/CRn/CRm/Op2 as the CPU_SYSREGS attribute does', () => {
    const e = sysregEncoding(3, 0, 12, 12, 0);
    expect(e).toBe(SYSREGS.ICC_IAR1_EL1);
    expect(e).toBe(0xc660);
    expect(decodeSysreg(e)).toEqual({ op0: 3, op1: 0, crn: 12, crm: 12, op2: 0 });
    expect(sysregName(e)).toBe('ICC_IAR1_EL1');
    expect(sysregName(sysregEncoding(3, 1, 2, 3, 4))).toBe('S3_1_C2_C3_4');
    expect(sysregOf('ICC_SGI1R_EL1')).toBe(SYSREGS.ICC_SGI1R_EL1);
    expect(sysregOf(0x1c660)).toBe(0xc660);
    expect(() => sysregOf('NOPE' as never)).toThrow(/unknown system register/);
  });
});

describe('SysregTable', () => {
  it('refuses a second handler for an encoding (EEXIST); unregister frees it; untrapped cost from the profile', () => {
    const vm = new Hypervisor({ traceCapacity: 1024 }).createVm({ costProfile: 'gicv2-nonvhe' });
    const t = vm.sysregs;
    t.register(SYSREGS.TPIDR_EL1, { trapped: false, untrappedCost: 'timerAccess', read: () => 1 });
    let err: unknown;
    try {
      t.register(SYSREGS.TPIDR_EL1, { trapped: true });
    } catch (e) {
      err = e;
    }
    expect((err as KvmError).errno).toBe(Errno.EEXIST);
    expect(t.get(SYSREGS.TPIDR_EL1)?.untrappedNs).toBe(vm.costNs.timerAccess);
    t.unregister(SYSREGS.TPIDR_EL1);
    expect(t.get(SYSREGS.TPIDR_EL1)).toBeUndefined();
    t.register(SYSREGS.TPIDR_EL1, { trapped: false, name: 'tp' });
    expect(t.get(SYSREGS.TPIDR_EL1)).toMatchObject({ name: 'tp', untrappedNs: vm.costNs.cpuifAccess });
  });

  it('architectural registers every VM has: MPIDR_EL1, ELR_EL1, SPSR_EL1, DAIF', () => {
    const vm = new Hypervisor({ traceCapacity: 1024 }).createVm();
    for (const r of ['MPIDR_EL1', 'ELR_EL1', 'SPSR_EL1', 'DAIF'] as const) expect(vm.sysregs.get(SYSREGS[r])).toBeDefined();
  });

  it('hot accessors beyond the lanes, and cold ones, all run with their handler as this and the right values', () => {
    const vm = new Hypervisor({ traceCapacity: 16 }).createVm();
    const v = vm.createVcpu();
    const n = SYSREG_HOT_LANES + 2;
    const written: [number, number, number][] = [];
    // accessors reading this.k: they see the handler object only if they are called with it as this
    function read(this: { k: number }): number {
      return 100 + this.k;
    }
    function write(this: { k: number }, _v: unknown, lo: number, hi: number): void {
      written.push([this.k, lo, hi]);
    }
    const regs = Array.from({ length: n + 1 }, (_, k) => sysregEncoding(3, 0, 15, 0, k));
    regs.forEach((enc, k) => {
      vm.sysregs.register(enc, { trapped: false, hot: k < n, read, write, k } as never);
    });
    const lanes = regs.map((e) => [vm.sysregs.get(e)!.readLane, vm.sysregs.get(e)!.writeLane]);
    expect(lanes.filter(([r]) => r >= 0)).toHaveLength(SYSREG_HOT_LANES);
    expect(lanes[n]).toEqual([-1, -1]); // not hot
    const a = new GuestAsm();
    a.label('main');
    regs.forEach((enc, k) =>
      a
        .mrs(1 + k, enc)
        .movi(0, 7 * k + 1)
        .msr(enc, 0),
    );
    a.movi(0, PSCI.SYSTEM_OFF).hvc();
    v.setProgram(a.build());
    expect(vm.run().reason).toBe('shutdown');
    regs.forEach((_e, k) => expect(v.x(1 + k)).toBe(100 + k));
    expect(written).toEqual(regs.map((_e, k) => [k, 7 * k + 1, 0]));
  });
});
