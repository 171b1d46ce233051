/**
 * KVM_GET/SET_ONE_REG for every `struct kvm_regs` field the model keeps (ids from
 * arch/arm64/include/uapi/asm/kvm.h), KVM_GET_REG_LIST, and KVM_GET/SET_MP_STATE.
 */
import {
  coreRegId,
  DAIF,
  Errno,
  GuestAsm,
  Hypervisor,
  KVM_REG_ELR_EL1,
  KVM_REG_PC,
  KVM_REG_PSTATE,
  KVM_REG_SP,
  KVM_REG_SP_EL1,
  KVM_REG_SPSR_EL1,
  KvmExitReason,
  KvmMpState,
  MpState,
  spsrRegId,
  SystemEventType,
  type Vcpu,
} from '../../src';
import { tinyVm } from '../support/tiny-controller';
import { errno } from '../support/errno';

describe('ONE_REG ids', () => {
  it('are KVM_REG_ARM64 | SIZE_U64 | ARM_CORE | offsetof(struct kvm_regs, field) / 4', () => {
    expect(coreRegId(0)).toBe(0x6030_0000_0010_0000n);
    expect(KVM_REG_SP).toBe(0x6030_0000_0010_003en); // regs.sp at byte 248
    expect(KVM_REG_PC).toBe(0x6030_0000_0010_0040n); // 256
    expect(KVM_REG_PSTATE).toBe(0x6030_0000_0010_0042n); // 264
    expect(KVM_REG_SP_EL1).toBe(0x6030_0000_0010_0044n); // 272
    expect(KVM_REG_ELR_EL1).toBe(0x6030_0000_0010_0046n); // 280
    expect(KVM_REG_SPSR_EL1).toBe(0x6030_0000_0010_0048n); // 288
    expect(spsrRegId(4)).toBe(0x6030_0000_0010_0050n); // spsr[KVM_SPSR_FIQ] at 320
  });
});

describe('state a handler leaves behind is reachable through ONE_REG', () => {
  /** Runs until the vCPU is inside its IRQ handler with x9 pushed. */
  function inHandler(): Vcpu {
    const { vm } = tinyVm(1);
    const a = new GuestAsm();
    a.label('main').movi(9, 0x1234_5678_9abc_def0n).daifclr(DAIF.I).label('l').work(10).b('l');
    a.label('irq').push(9).label('spin').b('spin');
    const v = vm.vcpus[0];
    v.setProgram(a.build());
    vm.run({ until: 1000 });
    vm.irqLine(0x0100_0000 | 40, 1); // SPI 40 on the tiny controller
    vm.run({ until: 3000 });
    return v;
  }

  it('ELR_EL1, SPSR_EL1 and SP_EL1 read back the exception state; the stack entry too', () => {
    const v = inHandler();
    expect(v.stats.irqsTaken).toBe(1);
    expect(v.getOneReg(KVM_REG_ELR_EL1)).toBe(BigInt(v.elr));
    expect(v.getOneReg(KVM_REG_SPSR_EL1)).toBe(0xdn << 6n); // D, A, F masked, I clear when it was taken
    expect(v.getOneReg(KVM_REG_PSTATE)).toBe(0x3c5n); // DAIF masked, EL1h
    expect(v.getOneReg(KVM_REG_SP_EL1)).toBe(8n);
    expect(v.stackEntry(0)).toBe(0x1234_5678_9abc_def0n);
  });

  it('every listed core register round-trips; bad values are EINVAL and change nothing', () => {
    const v = inHandler();
    v.setOneReg(KVM_REG_ELR_EL1, 3n);
    v.setOneReg(KVM_REG_SPSR_EL1, 0x80n);
    v.setOneReg(KVM_REG_SP_EL1, 16n);
    v.setOneReg(KVM_REG_SP, 0xdead_beef_0000_0001n);
    v.setOneReg(spsrRegId(2), 7n);
    v.setOneReg(KVM_REG_PSTATE, 0x6000_0004n | (2n << 6n)); // Z C, EL1t, I masked
    expect(v.elr).toBe(3);
    expect(v.spsr).toBe(0x80);
    expect(v.stackDepth).toBe(2);
    expect(v.daif).toBe(2);
    expect(v.getOneReg(KVM_REG_SP)).toBe(0xdead_beef_0000_0001n);
    expect(v.getOneReg(spsrRegId(2))).toBe(7n);
    expect(v.getOneReg(KVM_REG_PSTATE)).toBe(0x6000_0084n);
    expect(errno(() => v.setOneReg(KVM_REG_PSTATE, 0x10n))).toBe(Errno.EINVAL); // AArch32 user mode
    expect(errno(() => v.setOneReg(KVM_REG_PSTATE, 0x9n))).toBe(Errno.EINVAL); // EL2h: no nested virt
    expect(errno(() => v.setOneReg(KVM_REG_SP_EL1, 12n))).toBe(Errno.EINVAL);
    expect(errno(() => v.setOneReg(KVM_REG_SP_EL1, 8n * 1025n))).toBe(Errno.EINVAL);
    expect(errno(() => v.setOneReg(KVM_REG_ELR_EL1, 1n << 40n))).toBe(Errno.EINVAL);
    expect(errno(() => v.setStackEntry(1024, 0n))).toBe(Errno.EFAULT);
    expect([v.daif, v.stackDepth, v.elr]).toEqual([2, 2, 3]);
    expect(errno(() => v.getOneReg(coreRegId(41)))).toBe(Errno.ENOENT); // fp_regs: not modelled
  });

  it('KVM_GET_REG_LIST lists the 41 core registers, then device registers, and only ids ONE_REG accepts', () => {
    const { vm } = tinyVm(1);
    vm.oneRegs.set(0x6030_0000_0013_df1an, { get: () => 9n, set: () => undefined });
    const v = vm.vcpus[0];
    const list = v.regList();
    expect(list.slice(0, 41)).toEqual(Array.from({ length: 41 }, (_, i) => coreRegId(i)));
    expect(list[41]).toBe(0x6030_0000_0013_df1an);
    for (const id of list) expect(() => v.getOneReg(id)).not.toThrow();
  });
});

describe('KVM_GET/SET_MP_STATE', () => {
  it('reports RUNNABLE, HALTED in WFI, STOPPED after CPU_OFF; bad values are EINVAL', () => {
    const { vm } = tinyVm(2);
    const [a, b] = vm.vcpus;
    a.setProgram(new GuestAsm().label('main').label('l').wfi().b('l').build());
    b.setProgram(new GuestAsm().label('main').movi(0, 0x84000002).hvc().build()); // PSCI CPU_OFF
    expect(a.getMpState()).toBe(KvmMpState.RUNNABLE);
    vm.run({ until: 5000 });
    expect(a.getMpState()).toBe(KvmMpState.HALTED);
    expect(b.getMpState()).toBe(KvmMpState.STOPPED);
    for (const bad of [1, 2, 4, 6, 7, 8, 9, 11, -1]) expect(errno(() => a.setMpState(bad))).toBe(Errno.EINVAL);
    expect(a.getMpState()).toBe(KvmMpState.HALTED);
  });

  it('a fresh vCPU set HALTED stays blocked until an interrupt, then runs on; STOPPED stays off', () => {
    const { vm } = tinyVm(2);
    const [a, b] = vm.vcpus;
    const prog = new GuestAsm().label('main').daifclr(DAIF.I).label('l').work(5).b('l').label('irq').work(1).eret().build();
    a.setProgram(prog);
    b.setProgram(prog);
    a.setMpState(KvmMpState.HALTED);
    b.setMpState(KvmMpState.STOPPED);
    vm.run({ until: 10_000 });
    expect(a.stats.ops).toBe(0);
    expect(b.stats.ops).toBe(0);
    expect(a.mp).toBe(MpState.Halted);
    vm.irqLine(0x0100_0000 | 40, 1);
    vm.run({ until: 20_000 });
    expect(a.stats.ops).toBeGreaterThan(0);
    expect(a.getMpState()).toBe(KvmMpState.RUNNABLE);
    expect(b.stats.ops).toBe(0);
    b.setMpState(KvmMpState.RUNNABLE);
    vm.run({ until: 30_000 });
    expect(b.stats.ops).toBeGreaterThan(0);
  });

  it('SUSPENDED: a wake-up event makes KVM_RUN exit with KVM_SYSTEM_EVENT_WAKEUP and the vCPU runnable', () => {
    const { vm } = tinyVm(1);
    const v = vm.vcpus[0];
    v.setProgram(new GuestAsm().label('main').daifclr(DAIF.I).label('l').work(5).b('l').label('irq').work(1).eret().build());
    v.setMpState(KvmMpState.SUSPENDED);
    expect(v.getMpState()).toBe(KvmMpState.SUSPENDED);
    expect(vm.run({ until: 10_000 }).reason).toBe('idle');
    vm.irqLine(0x0100_0000 | 40, 1);
    const r = vm.run({ until: 20_000 });
    expect(r.reason).toBe('exit');
    expect(v.kvmRun.exitReason).toBe(KvmExitReason.SystemEvent);
    expect(v.kvmRun.systemEvent).toBe(SystemEventType.Wakeup);
    expect(v.getMpState()).toBe(KvmMpState.RUNNABLE);
  });
});

it('Hypervisor import keeps the public entry point compiling', () => {
  expect(new Hypervisor()).toBeDefined();
});

describe('KVM_SET_MP_STATE on a vCPU stopped inside the guest', () => {
  it('HALTED takes it out of the guest first; an interrupt then wakes it and it takes interrupts', () => {
    const { vm } = tinyVm(1);
    const v = vm.vcpus[0];
    v.setProgram(new GuestAsm().label('main').daifclr(DAIF.I).label('l').work(5).b('l').label('irq').work(1).eret().build());
    vm.run({ until: 1000 });
    expect(v.inGuest).toBe(true);
    v.setMpState(KvmMpState.HALTED);
    expect([v.inGuest, v.loaded, v.getMpState()]).toEqual([false, false, KvmMpState.HALTED]);
    vm.irqLine(0x0100_0000 | 40, 1);
    vm.run({ until: 3000 });
    expect(v.stats.irqsTaken).toBeGreaterThan(0);
    expect(v.getMpState()).toBe(KvmMpState.RUNNABLE);
  });
});
