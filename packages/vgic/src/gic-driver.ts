/**
 * The named irqchips "gic-v3" and "gic-v2": a board recipe (addresses as QEMU's "virt" machine: GICD at
 * 0x08000000, GICv3 redistributors at 0x080A0000 as one REDIST_REGION, GICv2 GICC at 0x08010000) and the guest
 * driver macros, emitted the way Linux's irq-gic-v3.c / irq-gic.c drive the hardware (cpu init, enable, ack,
 * EOI with EOImode 0, IPIs). Per-CPU bookkeeping Linux keeps in per-CPU variables (this CPU's redistributor
 * address, the MPIDR of an IPI target) is computed by a `call` hook, costed as a few cycles of `work`.
 *
 * GICv2 ack/EOI convention: {@link GuestIrqDriver.emitAck} leaves the INTID with the source-CPU bits masked off
 * in `rd` and, unless spurious (>= 1020), pushes the raw GICC_IAR value on the stack; {@link
 * GuestIrqDriver.emitEoi} pops it and writes it to GICC_EOIR. Each non-spurious ack must be paired with one EOI.
 *
 * @module
 */
import {
  type GuestAsm,
  MSI_VALID_DEVID,
  type GuestIrqDriver,
  type IrqchipDescriptor,
  type IrqchipSetupOptions,
  type Msi,
  type Vcpu,
  type Vm,
} from '@irqflow/core';
import { GITS, ITS_GRP, KVM_VGIC_ITS_ADDR_TYPE } from './its';
import { VGIC_ADDR_TYPE, VGIC_CTRL, VGIC_GRP, VgicDevice } from './vgic-kvm-device';
import { GICV3_REDIST_SIZE, SGI_BASE } from './vgic-mmio-v3';

/** Board addresses (QEMU virt: the ITS frame sits between the GICD at 0x08000000 and the redistributors). */
export const GIC_BOARD = { DIST: 0x08000000, REDIST: 0x080a0000, CPU: 0x08010000, ITS: 0x08080000 } as const;

/**
 * Guest RAM the "gic-v3" guest driver uses for the ITS and LPI tables (a 64 MiB slot is added at this address
 * when no RAM covers it): LPI configuration table at +0 (64 KiB, 16 ID bits), command queue at +64 KiB (64 KiB),
 * Device table at +128 KiB and Collection table at +192 KiB (one 64 KiB page each), ITTs from +256 KiB (2 KiB
 * each: 256 events, handed out in the order devices are first set up, at most 384), pending tables from +16 MiB
 * (64 KiB per redistributor, up to 512).
 */
export const GIC_ITS_RAM = {
  BASE: 0x40000000,
  SIZE: 0x04000000,
  PROP: 0,
  CMDQ: 0x10000,
  DT: 0x20000,
  CT: 0x30000,
  ITT: 0x40000,
  ITT_SIZE: 0x800,
  PEND: 0x01000000,
} as const;

/** EventID bits of every device the "gic-v3" guest driver maps (MAPD Size + 1). */
const ITS_EVENT_BITS = 8;

const DEFAULT_PRIO = 0xa0;

/** Reads the device created by a descriptor's setup (for tests and tools). */
export function vgicDeviceOf(vm: Vm): VgicDevice | undefined {
  return vm.devices.find((d): d is VgicDevice => d instanceof VgicDevice);
}

function common(nrIrqs: number) {
  return {
    spurious: 1023,
    ipi: (n: number): number => n,
    timerIntids: { virt: 27, phys: 30 },
    deviceIrqs: { first: 32, count: nrIrqs - 32 },
  };
}

/**
 * The MSI half of the GICv3 guest driver (irq-gic-v3-its.c shape), emitted into one vCPU's program: the first
 * call programs GITS_BASER0/1 and GITS_CBASER and enables the ITS; each target redistributor gets
 * GICR_PROPBASER/PENDBASER and EnableLPIs once; each LPI gets its property byte (priority | enable); each device
 * one MAPD (ITT in {@link GIC_ITS_RAM}), each target one MAPC (collection = vCPU index), each event one MAPTI,
 * then a SYNC. Commands are written into the queue in guest RAM with 32-bit stores and CWRITER is advanced
 * after each one. The program-building state (what is set up, the queue write pointer) lives here, as the
 * Linux driver keeps it in its own memory.
 */
function gicV3Msi(vm: Vm) {
  const R = GIC_ITS_RAM.BASE;
  const I = GIC_BOARD.ITS;
  const QSIZE = 0x10000;
  let itsOn = false;
  let wptr = 0;
  let itts = 0;
  const rds = new Set<number>();
  const devs = new Map<number, number>();
  const colls = new Set<number>();
  const st32 = (a: GuestAsm, addr: number, v: number): void => void a.movi(0, v >>> 0).stra(0, addr);
  const cmd = (a: GuestAsm, w: number[]): void => {
    for (let i = 0; i < 8; i++) st32(a, R + GIC_ITS_RAM.CMDQ + wptr + i * 4, w[i] ?? 0);
    wptr = (wptr + 32) % QSIZE;
    st32(a, I + GITS.CWRITER, wptr);
  };
  const ensureRam = (): void => {
    if (vm.memory.isRam(R, GIC_ITS_RAM.SIZE)) return;
    const used = vm.memory.memorySlots.map((r) => r.slot);
    const slot = used.length === 0 ? 0 : Math.max(...used) + 1;
    vm.setUserMemoryRegion({ slot, guestPhysAddr: R, size: GIC_ITS_RAM.SIZE });
  };
  return {
    /**
     * emitEnable for an LPI: its property byte (priority | enable), then GICR_INVLPIR on a redistributor with
     * LPIs enabled (KVM re-reads the LPI whatever its target); before any MSI setup the byte alone suffices,
     * as MAPTI reads it.
     */
    enableLpi(a: GuestAsm, intid: number, prio: number): void {
      ensureRam();
      a.movi(0, (prio & 0xfc) | 1).stra(0, R + GIC_ITS_RAM.PROP + intid - 8192, 1);
      const rd = rds.values().next();
      if (!rd.done) st32(a, GIC_BOARD.REDIST + rd.value * GICV3_REDIST_SIZE + 0xa0, intid);
    },
    msiIrqs: { first: 8192, count: 65536 - 8192 },
    emitMsiSetup(this: void, a: GuestAsm, spec: { devid: number; event: number; intid: number; target: number }): Msi {
      const { devid, event, intid, target } = spec;
      ensureRam();
      if (!rds.has(target)) {
        rds.add(target);
        const rd = GIC_BOARD.REDIST + target * GICV3_REDIST_SIZE;
        st32(a, rd + 0x70, R + GIC_ITS_RAM.PROP + 15); // GICR_PROPBASER: IDbits = 15 (16 bits)
        st32(a, rd + 0x74, 0);
        st32(a, rd + 0x78, R + GIC_ITS_RAM.PEND + target * 0x10000); // GICR_PENDBASER (PTZ = 0: table is zero)
        st32(a, rd + 0x7c, 0);
        st32(a, rd, 1); // GICR_CTLR.EnableLPIs
      }
      a.movi(0, DEFAULT_PRIO | 1).stra(0, R + GIC_ITS_RAM.PROP + intid - 8192, 1);
      if (!itsOn) {
        itsOn = true;
        st32(a, I + GITS.BASER, R + GIC_ITS_RAM.DT); // 1 page, flat
        st32(a, I + GITS.BASER + 4, 0x80000000);
        st32(a, I + GITS.BASER + 8, R + GIC_ITS_RAM.CT);
        st32(a, I + GITS.BASER + 12, 0x80000000);
        st32(a, I + GITS.CBASER, R + GIC_ITS_RAM.CMDQ + QSIZE / 4096 - 1);
        st32(a, I + GITS.CBASER + 4, 0x80000000);
        st32(a, I + GITS.CWRITER, 0);
        st32(a, I + GITS.CTLR, 1);
      }
      let itt = devs.get(devid);
      if (itt === undefined) {
        itt = R + GIC_ITS_RAM.ITT + itts++ * GIC_ITS_RAM.ITT_SIZE;
        devs.set(devid, itt);
        cmd(a, [0x08, devid, ITS_EVENT_BITS - 1, 0, itt, 0x80000000]); // MAPD
      }
      if (!colls.has(target)) {
        colls.add(target);
        cmd(a, [0x09, 0, 0, 0, ((target << 16) | target) >>> 0, 0x80000000 | (target >>> 16)]); // MAPC
      }
      cmd(a, [0x0a, devid, event, intid, target]); // MAPTI (collection = target vCPU)
      cmd(a, [0x05, 0, 0, 0, (target << 16) >>> 0]); // SYNC
      return { address: I + GITS.TRANSLATER, data: event, devid, flags: MSI_VALID_DEVID };
    },
  };
}

/** Guest driver for the GICv3 (irq-gic-v3.c shape); with `vm`, also the ITS/MSI half. */
export function gicV3Driver(nrIrqs: number, vm?: Vm): GuestIrqDriver {
  const D = GIC_BOARD.DIST;
  const rdOf = (v: Vcpu): number => GIC_BOARD.REDIST + v.index * GICV3_REDIST_SIZE;
  const its = vm ? gicV3Msi(vm) : null;
  const msi = its ? { msiIrqs: its.msiIrqs, emitMsiSetup: its.emitMsiSetup } : {};
  return {
    name: 'gic-v3',
    ...common(nrIrqs),
    ...msi,
    emitCpuInit(a: GuestAsm): void {
      const wait = a.fresh('waker');
      a.mrs(0, 'ICC_SRE_EL1').orri(0, 0, 1).msr('ICC_SRE_EL1', 0);
      a.call((v) => v.setX(1, rdOf(v))).work(20);
      a.ldr(2, 1, 0x14)
        .andi(2, 2, ~2 >>> 0)
        .str(2, 1, 0x14);
      a.label(wait).ldr(2, 1, 0x14).andi(2, 2, 4).cbnz(2, wait);
      a.movi(0, 0xf0).msr('ICC_PMR_EL1', 0);
      a.movi(0, 0).msr('ICC_BPR1_EL1', 0);
      a.movi(0, 0).msr('ICC_CTLR_EL1', 0);
      a.movi(0, 1).msr('ICC_IGRPEN1_EL1', 0);
      a.movi(0, 0x12).stra(0, D);
    },
    emitEnable(a: GuestAsm, intid: number, opts = {}): void {
      const prio = opts.priority ?? DEFAULT_PRIO;
      if (intid >= 8192) {
        its?.enableLpi(a, intid, prio);
        return;
      }
      if (intid < 32) {
        a.call((v) => v.setX(1, rdOf(v) + SGI_BASE)).work(10);
        a.movi(0, prio).str(0, 1, 0x400 + intid, 1);
        a.movi(0, 1 << intid).str(0, 1, 0x100);
        return;
      }
      a.movi(0, prio).stra(0, D + 0x400 + intid, 1);
      const cfg = D + 0xc00 + (intid >> 4) * 4;
      const bit = 2 << (2 * (intid & 15));
      a.ldra(0, cfg);
      if (opts.level) a.andi(0, 0, ~bit >>> 0);
      else a.orri(0, 0, bit >>> 0);
      a.stra(0, cfg);
      a.mrs(0, 'MPIDR_EL1')
        .andi(0, 0, 0xffffff)
        .stra(0, D + 0x6000 + 8 * intid, 8);
      a.movi(0, (1 << (intid & 31)) >>> 0).stra(0, D + 0x100 + (intid >> 5) * 4);
    },
    emitAck(a: GuestAsm, rd: number): void {
      a.mrs(rd, 'ICC_IAR1_EL1');
    },
    emitEoi(a: GuestAsm, rs: number): void {
      a.msr('ICC_EOIR1_EL1', rs);
    },
    emitSendIpi(a: GuestAsm, rt: number, n: number): void {
      a.call((v) => {
        const t = v.vm.vcpuAt(v.x(rt));
        const m = t ? t.mpidr : 0;
        const lo = ((1 << (m & 0xf)) | (((m >>> 8) & 0xff) << 16) | ((n & 0xf) << 24)) >>> 0;
        const hi = (((m >>> 16) & 0xff) | (((m & 0xf0) >>> 4) << 12)) >>> 0;
        v.setX64(0, lo, hi);
      }).work(10);
      a.msr('ICC_SGI1R_EL1', 0);
    },
  };
}

/** Guest driver for the GICv2 (irq-gic.c shape). */
export function gicV2Driver(nrIrqs: number): GuestIrqDriver {
  const D = GIC_BOARD.DIST;
  const C = GIC_BOARD.CPU;
  return {
    name: 'gic-v2',
    ...common(nrIrqs),
    emitCpuInit(a: GuestAsm): void {
      a.movi(0, 1).stra(0, D);
      a.movi(0, 0xf0).stra(0, C + 0x04);
      a.movi(0, 1).stra(0, C);
    },
    emitEnable(a: GuestAsm, intid: number, opts = {}): void {
      const prio = opts.priority ?? DEFAULT_PRIO;
      a.movi(0, prio).stra(0, D + 0x400 + intid, 1);
      if (intid >= 32) {
        const cfg = D + 0xc00 + (intid >> 4) * 4;
        const bit = 2 << (2 * (intid & 15));
        a.ldra(0, cfg);
        if (opts.level) a.andi(0, 0, ~bit >>> 0);
        else a.orri(0, 0, bit >>> 0);
        a.stra(0, cfg);
        a.ldra(0, D + 0x800, 1).stra(0, D + 0x800 + intid, 1);
      }
      a.movi(0, (1 << (intid & 31)) >>> 0).stra(0, D + 0x100 + (intid >> 5) * 4);
    },
    emitAck(a: GuestAsm, rd: number): void {
      const skip = a.fresh('spur');
      a.ldra(7, C + 0x0c)
        .andi(rd, 7, 0x3ff)
        .bhsi(rd, 1020, skip)
        .push(7)
        .label(skip);
    },
    emitEoi(a: GuestAsm): void {
      a.pop(7).stra(7, C + 0x10);
    },
    emitSendIpi(a: GuestAsm, rt: number, n: number): void {
      a.call((v) => v.setX(0, ((1 << (16 + (v.x(rt) & 7))) | (n & 0xf)) >>> 0)).work(10);
      a.stra(0, D + 0xf00);
    },
  };
}

function setupV3(vm: Vm, o: IrqchipSetupOptions = {}): GuestIrqDriver {
  const nr = o.nrIrqs ?? 256;
  const dev = vm.createDevice(7) as VgicDevice;
  dev.setAttr({ group: VGIC_GRP.NR_IRQS, attr: 0n }, BigInt(nr));
  dev.setAttr({ group: VGIC_GRP.ADDR, attr: BigInt(VGIC_ADDR_TYPE.V3_DIST) }, BigInt(GIC_BOARD.DIST));
  const region = (BigInt(Math.max(1, vm.vcpus.length)) << 52n) | BigInt(GIC_BOARD.REDIST);
  dev.setAttr({ group: VGIC_GRP.ADDR, attr: BigInt(VGIC_ADDR_TYPE.V3_REDIST_REGION) }, region);
  if (o.nrLrs !== undefined) dev.vgic.setNrLrs(o.nrLrs);
  dev.setAttr({ group: VGIC_GRP.CTRL, attr: BigInt(VGIC_CTRL.INIT) });
  if (o.msi === false) return gicV3Driver(nr);
  const its = vm.createDevice(8);
  its.setAttr({ group: ITS_GRP.ADDR, attr: BigInt(KVM_VGIC_ITS_ADDR_TYPE) }, BigInt(GIC_BOARD.ITS));
  return gicV3Driver(nr, vm);
}

function setupV2(vm: Vm, o: IrqchipSetupOptions = {}): GuestIrqDriver {
  const nr = o.nrIrqs ?? 256;
  const dev = vm.createDevice(5) as VgicDevice;
  dev.setAttr({ group: VGIC_GRP.NR_IRQS, attr: 0n }, BigInt(nr));
  dev.setAttr({ group: VGIC_GRP.ADDR, attr: BigInt(VGIC_ADDR_TYPE.V2_DIST) }, BigInt(GIC_BOARD.DIST));
  dev.setAttr({ group: VGIC_GRP.ADDR, attr: BigInt(VGIC_ADDR_TYPE.V2_CPU) }, BigInt(GIC_BOARD.CPU));
  if (o.nrLrs !== undefined) dev.vgic.setNrLrs(o.nrLrs);
  dev.setAttr({ group: VGIC_GRP.CTRL, attr: BigInt(VGIC_CTRL.INIT) });
  return gicV2Driver(nr);
}

/** The "gic-v3" irqchip. */
export const GIC_V3_DESCRIPTOR: IrqchipDescriptor = {
  name: 'gic-v3',
  description: 'GICv3 (KVM vgic-v3): GICD 0x08000000, ITS 0x08080000, redistributors 0x080A0000, ICC system registers',
  features: ['ipi', 'msi', 'level', 'timer', 'passthrough', 'priorities'],
  maxVcpus: 512,
  // kvmtool's --irqchip spellings (gicv3, gicv3-its: this board always has the ITS unless msi: false).
  aliases: ['gicv3', 'gicv3-its'],
  setup: setupV3,
};

/** The "gic-v2" irqchip. */
export const GIC_V2_DESCRIPTOR: IrqchipDescriptor = {
  name: 'gic-v2',
  description: 'GICv2 (KVM vgic-v2): GICD 0x08000000, GICC (GICV) 0x08010000',
  features: ['ipi', 'level', 'timer', 'passthrough', 'priorities'],
  maxVcpus: 8,
  aliases: ['gicv2'],
  setup: setupV2,
};
