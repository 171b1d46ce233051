/**
 * The ITS command queue and the commands. Arm IHI 0069, chapter 6.2 "The ITS command interface" (GITS_CBASER,
 * GITS_CREADR, GITS_CWRITER; the queue is circular, CREADR == CWRITER means empty), 6.3 "ITS commands" (the
 * 32-byte encodings of MAPD, MAPC, MAPTI, MAPI, MOVI, DISCARD, CLEAR, INT, INV, INVALL, MOVALL, SYNC) and 6.4
 * "ITS command error encodings" (a failing command is skipped: KVM's software ITS reports no SError, so an
 * erroneous command is ignored and processing continues, as KVM's vgic_its_process_commands does).
 *
 * Commands run synchronously when CWRITER moves and when the ITS is enabled. The walk advances CREADR by 32
 * bytes per command and wraps at the queue size, so it always ends at CWRITER; a command whose queue slot is not
 * RAM is skipped (6.3.2).
 *
 * @module
 */
import { CostComponent, TraceKind } from '@irqflow/core';
import { COLLECTION_NOT_MAPPED, ITS_CMD_SIZE, ITS_IDBITS, ItsCmd, LPI_MIN_INTID } from './gits-regs';
import { cbaserAddr, cbaserBytes } from './its-tables';
import { peToVcpuIndex } from './lpi-host';
import type { VgicIts } from './vgic-its';

/** Command outcome: 0 = done, 1 = failed (skipped; counted in `commandErrors` of {@link VgicIts.stats}). */
export type CmdResult = 0 | 1;
const CmdResult = { Ok: 0, Error: 1 } as const;

const W = new Uint32Array(8);

/** Read once: `@irqflow/core`'s exports object is in dictionary mode, so an enum member read per use is a lookup. */
const ITS_COMMAND_COST = CostComponent.ItsCommand;

/** DW2[51:16] as a number (RDbase / target). */
function rdbase(lo: number, hi: number): number {
  return (hi & 0xfffff) * 65536 + (lo >>> 16);
}

/** Runs every queued command (CREADR → CWRITER). No-op unless the ITS is enabled with a valid queue. */
export function processCommands(its: VgicIts): void {
  if (!its.enabled || its.cbaser >> 63n === 0n) return;
  const base = cbaserAddr(its.cbaser);
  const size = cbaserBytes(its.cbaser);
  const mem = its.vm.memory;
  if (its.cwriter >= size) return;
  if (its.creadr >= size) its.creadr = 0;
  // the vCPU whose GITS_CWRITER (or GITS_CTLR) write runs the queue pays each command (none from userspace)
  const writer = its.vm.scheduler.current;
  const perCmd = its.vm.costNs.itsCommand;
  while (its.creadr !== its.cwriter) {
    if (writer !== null) {
      writer.clock += perCmd;
      writer.costBy[ITS_COMMAND_COST] += perCmd;
    }
    const a = base + its.creadr;
    if (mem.isRam(a, ITS_CMD_SIZE)) {
      for (let i = 0; i < 8; i++) W[i] = mem.readU32(a + i * 4);
      its.stats.commands++;
      if (its.vm.trace.on) traceCommand(its, W);
      if (executeCommand(its, W) !== CmdResult.Ok) its.stats.commandErrors++;
    } else its.stats.commandFaults++;
    its.creadr += ITS_CMD_SIZE;
    if (its.creadr >= size) its.creadr = 0;
  }
}

/** Trace: the command in `w`, on the track of the vCPU that advanced GITS_CWRITER (the host's otherwise). */
function traceCommand(its: VgicIts, w: ArrayLike<number>): void {
  const vm = its.vm;
  const cur = vm.scheduler.current;
  vm.trace.emit(TraceKind.ItsCommand, vm.id, cur === null ? -1 : cur.index, vm.now, w[0] & 0xff, w[1] >>> 0, w[2] >>> 0);
}

/**
 * Executes one command given as eight little-endian 32-bit words (w[0] = DW0[31:0], w[1] = DW0[63:32], …).
 * Never throws for any input.
 */
export function executeCommand(its: VgicIts, w: ArrayLike<number>): CmdResult {
  const cmd = w[0] & 0xff;
  const devid = w[1] >>> 0;
  const eventid = w[2] >>> 0;
  switch (cmd) {
    case ItsCmd.MAPD:
      return mapd(its, devid, (w[2] & 0x1f) + 1, (w[5] & 0xfffff) * 4294967296 + ((w[4] & 0xffffff00) >>> 0), (w[5] & 0x80000000) !== 0);
    case ItsCmd.MAPC:
      return mapc(its, w[4] & 0xffff, peToVcpuIndex(its.host, rdbase(w[4], w[5])), (w[5] & 0x80000000) !== 0);
    case ItsCmd.MAPTI:
      return mapti(its, devid, eventid, w[3] >>> 0, w[4] & 0xffff);
    case ItsCmd.MAPI:
      return mapti(its, devid, eventid, eventid, w[4] & 0xffff);
    case ItsCmd.MOVI:
      return movi(its, devid, eventid, w[4] & 0xffff);
    case ItsCmd.DISCARD: {
      const dev = its.devices.get(devid);
      const i = dev === undefined ? -1 : dev.ites.indexOf(eventid);
      if (dev === undefined || i < 0 || !its.collectionMapped(dev.ites.icidAt(i))) return CmdResult.Error;
      const ite = dev.ites.iteAt(i);
      its.lpis.clearPending(ite.lpi);
      its.removeIte(dev, ite);
      return CmdResult.Ok;
    }
    case ItsCmd.CLEAR: {
      const ite = its.findIte(devid, eventid);
      if (ite === undefined) return CmdResult.Error;
      its.lpis.clearPending(ite.lpi);
      return CmdResult.Ok;
    }
    case ItsCmd.INT:
      return its.inject(devid, eventid) > 0 ? CmdResult.Ok : CmdResult.Error;
    case ItsCmd.INV: {
      const ite = its.findIte(devid, eventid);
      if (ite === undefined) return CmdResult.Error;
      return its.lpis.readConfig(ite.lpi) ? CmdResult.Ok : CmdResult.Error;
    }
    case ItsCmd.INVALL: {
      const c = its.collections.get(w[4] & 0xffff);
      if (c === undefined || c.target === COLLECTION_NOT_MAPPED) return CmdResult.Error;
      its.lpis.invalidateAll(c.target);
      return CmdResult.Ok;
    }
    case ItsCmd.MOVALL:
      return movall(its, peToVcpuIndex(its.host, rdbase(w[4], w[5])), peToVcpuIndex(its.host, rdbase(w[6], w[7])));
    case ItsCmd.SYNC:
      // Effects of earlier commands are already visible: SYNC only checks its RDbase.
      return peToVcpuIndex(its.host, rdbase(w[4], w[5])) >= 0 ? CmdResult.Ok : CmdResult.Error;
    default:
      return CmdResult.Error;
  }
}

function mapd(its: VgicIts, devid: number, eventBits: number, ittAddr: number, valid: boolean): CmdResult {
  if (its.deviceEntryAddr(devid) < 0) return CmdResult.Error; // MAPD_DEVICE_OOR
  if (valid && eventBits > ITS_IDBITS) return CmdResult.Error; // MAPD_ITTSIZE_OOR
  const old = its.devices.get(devid);
  if (old !== undefined) its.removeDevice(old);
  if (!valid) return CmdResult.Ok;
  its.devices.set(devid, its.newDevice(devid, ittAddr, eventBits));
  return CmdResult.Ok;
}

/** MAPC; `target` is the vCPU index of the RDbase (PE number = vcpu_id), -1 when no vCPU has it. */
function mapc(its: VgicIts, icid: number, target: number, valid: boolean): CmdResult {
  if (target < 0) return CmdResult.Error; // MAPC_PROCNUM_OOR
  const c = its.collections.get(icid);
  if (!valid) {
    if (c === undefined) return CmdResult.Ok;
    its.collectionUnmappedV4(icid);
    its.invalidateCollection(icid);
    // ITEs keep their ICID (architecture); a collection still referenced stays known as unmapped so that
    // a later MAPC reconnects it and SAVE_TABLES can describe it (RDBase 0xffffffff, as KVM saves it).
    if (its.collectionReferenced(icid)) c.target = COLLECTION_NOT_MAPPED;
    else its.collections.delete(icid);
    return CmdResult.Ok;
  }
  if (c === undefined) {
    if (!its.collectionFits(icid)) return CmdResult.Error; // MAPC_COLLECTION_OOR
    its.collections.set(icid, { icid, target });
    return CmdResult.Ok;
  }
  c.target = target;
  its.invalidateCollection(icid);
  its.retargetCollection(icid, target);
  return CmdResult.Ok;
}

function mapti(its: VgicIts, devid: number, eventid: number, intid: number, icid: number): CmdResult {
  const dev = its.devices.get(devid);
  if (dev === undefined) return CmdResult.Error; // MAPTI_UNMAPPED_DEVICE
  if (eventid >= 2 ** dev.eventBits) return CmdResult.Error; // MAPTI_ID_OOR
  if (intid < LPI_MIN_INTID || intid >= its.lpis.maxIntid()) return CmdResult.Error; // MAPTI_PHYSICALID_OOR
  if (dev.ites.has(eventid)) return CmdResult.Ok; // remapping a mapped event: UNPREDICTABLE, ignored (KVM)
  let c = its.collections.get(icid);
  let created = false;
  if (c === undefined) {
    if (!its.collectionFits(icid)) return CmdResult.Error; // MAPC_COLLECTION_OOR
    c = { icid, target: COLLECTION_NOT_MAPPED };
    its.collections.set(icid, c);
    created = true;
  }
  const lpi = its.lpis.acquire(intid, c.target === COLLECTION_NOT_MAPPED ? -1 : c.target);
  if (lpi === null) {
    if (created) its.collections.delete(icid);
    return CmdResult.Error; // the property table is not readable
  }
  its.invalidateEvent(devid, eventid);
  dev.ites.insert(eventid, intid, icid);
  return CmdResult.Ok;
}

function movi(its: VgicIts, devid: number, eventid: number, icid: number): CmdResult {
  const itt = its.devices.get(devid)?.ites;
  const i = itt === undefined ? -1 : itt.indexOf(eventid);
  if (itt === undefined || i < 0) return CmdResult.Error; // MOVI_UNMAPPED_INTERRUPT
  if (!its.collectionMapped(itt.icidAt(i))) return CmdResult.Error; // MOVI_UNMAPPED_COLLECTION
  const c = its.collections.get(icid);
  if (c === undefined || c.target === COLLECTION_NOT_MAPPED) return CmdResult.Error;
  itt.setIcidAt(i, icid);
  its.invalidateEvent(devid, eventid);
  its.lpis.moveTo(itt.lpiAt(i), c.target);
  return CmdResult.Ok;
}

/** MOVALL between two vCPU indexes (from the RDbases' PE numbers; -1 = no such vCPU). */
function movall(its: VgicIts, from: number, to: number): CmdResult {
  if (from < 0 || to < 0) return CmdResult.Error; // MOVALL_PROCNUM_OOR
  if (from === to) return CmdResult.Ok;
  const moving = [...its.lpis.all()].filter((l) => l.vcpu === from);
  for (const l of moving) its.lpis.moveTo(l, to);
  its.invalidateCache();
  return CmdResult.Ok;
}
