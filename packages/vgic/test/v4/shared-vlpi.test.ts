import { ITS_GRP } from '@irqflow/vgic';
import { boot, passthrough, v4Vm } from './support';

/**
 * Seed 001 (shared vLPI), exactly as reported: a virtio device behind VFIO with 7 MSI-X vectors; the guest's
 * virtio-pci driver uses vector 0 for config (its own LPI) and programs vectors 1–6 with the same message (one
 * event → one vLPI shared by the queues). The VMM (QEMU) sets one MSI route + irqfd per vector and VFIO attaches
 * a trigger per vector. Upstream resolution (2025): the first host interrupt that maps the vLPI wins, the others
 * stay on software injection, unset-forwarding undoes only its own mapping, and a guest reboot leaves no host
 * interrupt forwarded to a stale vLPI.
 */
const DEV = 0x10;
const CONFIG_LPI = 8192;
const QUEUE_LPI = 8193;
const DATA = [0, 1, 1, 1, 1, 1, 1]; // MSI-X entry 0: event 0; entries 1–6: event 1

function setup() {
  const t = v4Vm('4.1', 1);
  const log: number[] = [];
  boot(t, [log]);
  const guestMapsDevice = (cfg: number, queue: number) => {
    t.g.prop(cfg, 0xa0, true);
    t.g.prop(queue, 0xa0, true);
    t.g.mapd(DEV, 4);
    t.g.mapc(0, 0);
    t.g.mapti(DEV, 0, cfg, 0);
    t.g.mapti(DEV, 1, queue, 0);
  };
  guestMapsDevice(CONFIG_LPI, QUEUE_LPI);
  const { pt, fds } = passthrough(t, DEV, DATA);
  let now = 20_000;
  /** Raises every vector `rounds` times, letting the guest take each interrupt before the next. */
  const raiseAll = (rounds: number) => {
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < 7; i++) {
        pt.raise(i);
        now += 5_000;
        t.vm.run({ until: now });
      }
    }
  };
  const forwarded = () => pt.vectors.map((v) => (v.hostIrq.forward !== null ? t.v4!.mappingOfHostIrq(v.hostIrq.irq)!.intid : 0));
  return { t, log, pt, fds, raiseAll, forwarded, guestMapsDevice };
}

describe('seed 001: several MSI-X vectors sharing one vLPI under GICv4', () => {
  it('the first host interrupt maps the vLPI; vectors 2–6 stay on software injection', () => {
    const { t, forwarded } = setup();
    expect(forwarded()).toEqual([CONFIG_LPI, QUEUE_LPI, 0, 0, 0, 0, 0]);
    expect(t.v4!.stats.mapped).toBe(2);
    expect(t.v4!.stats.sharedRefused).toBe(5);
    expect(t.v4!.mappingOfVlpi(QUEUE_LPI)!.hostIrq.name).toBe('vfio-16/msix1');
  });

  it("every vector's interrupts reach the guest: 0 and 1 directly, 2–6 through irqfd → ITS emulation", () => {
    const { t, log, pt, fds, raiseAll } = setup();
    raiseAll(3);
    expect(log.filter((x) => x === CONFIG_LPI)).toHaveLength(3);
    expect(log.filter((x) => x === QUEUE_LPI)).toHaveLength(18); // 6 vectors × 3
    expect(log).toHaveLength(21);
    expect(fds.map((f) => f.signals)).toEqual([0, 0, 3, 3, 3, 3, 3]);
    expect(pt.vectors.map((v) => v.hostIrq.forwarded)).toEqual([3, 3, 0, 0, 0, 0, 0]);
    expect(pt.vectors.map((v) => v.hostIrq.fired)).toEqual([0, 0, 3, 3, 3, 3, 3]);
    // WFI guest: every interrupt wakes it through the doorbell — vectors 2–6 too: the ITS emulation makes the
    // forwarded vLPI pending in the virtual pending table (KVM's vgic_its_trigger_msi on irq->hw)
    expect(t.v4!.vpes[0].stats.doorbells).toBe(21);
    expect(t.v4!.vpes[0].stats.deferred).toBe(21);
  });

  it('unmapping each producer undoes exactly its own mapping', () => {
    const { t, fds, forwarded } = setup();
    for (const i of [2, 3, 4, 5, 6]) {
      t.vm.irqfd({ fd: fds[i], gsi: 100 + i, deassign: true });
      expect(forwarded()).toEqual([CONFIG_LPI, QUEUE_LPI, 0, 0, 0, 0, 0]); // the winner keeps its vLPI
    }
    expect(t.v4!.stats.unmapped).toBe(0);
    t.vm.irqfd({ fd: fds[1], gsi: 101, deassign: true });
    expect(forwarded()).toEqual([CONFIG_LPI, 0, 0, 0, 0, 0, 0]);
    t.vm.irqfd({ fd: fds[0], gsi: 100, deassign: true });
    expect(forwarded()).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(t.v4!.stats.unmapped).toBe(2);
  });

  it("the winner leaving does not hand the vLPI to a loser behind the VMM's back; a routing update does", () => {
    const { t, log, fds, forwarded, raiseAll } = setup();
    t.vm.irqfd({ fd: fds[1], gsi: 101, deassign: true });
    expect(forwarded()).toEqual([CONFIG_LPI, 0, 0, 0, 0, 0, 0]);
    raiseAll(1);
    expect(log.filter((x) => x === QUEUE_LPI)).toHaveLength(5); // vector 1 has no irqfd any more
    t.vm.setGsiRouting(DATA.map((d, i) => ({ gsi: 100 + i, type: 'msi', msi: { address: 0x08090040, data: d, devid: DEV, flags: 1 } })));
    expect(forwarded()).toEqual([CONFIG_LPI, 0, QUEUE_LPI, 0, 0, 0, 0]);
  });

  it('guest reboot with ITS CTRL_RESET, then remap: no host interrupt is left forwarded to a stale vLPI', () => {
    const { t, log, pt, fds, raiseAll, forwarded, guestMapsDevice } = setup();
    raiseAll(1);
    t.its.setAttr({ group: ITS_GRP.CTRL, attr: 4n }); // the VMM resets the ITS on reboot
    expect(forwarded()).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(t.v4!.mappings).toEqual([]);
    const forwardedBefore = pt.vectors.map((v) => v.hostIrq.forwarded);
    // the rebooted guest (firmware) has not set the ITS up yet: every MSI is dropped, nothing reaches a vLPI
    log.length = 0;
    raiseAll(1);
    expect(log).toEqual([]);
    expect(pt.vectors.map((v) => v.hostIrq.forwarded)).toEqual(forwardedBefore);
    // the guest OS sets the ITS up again, with other LPIs
    t.g.setup();
    guestMapsDevice(8300, 8301);
    raiseAll(1);
    expect(log.filter((x) => x === 8300)).toHaveLength(1);
    expect(log.filter((x) => x === 8301)).toHaveLength(6);
    expect(log.some((x) => x === CONFIG_LPI || x === QUEUE_LPI)).toBe(false);
    expect(pt.vectors.map((v) => v.hostIrq.forwarded)).toEqual(forwardedBefore);
    // the guest programs MSI-X again; QEMU updates the routes: forwarding to the new vLPIs, first wins again
    t.vm.setGsiRouting(DATA.map((d, i) => ({ gsi: 100 + i, type: 'msi', msi: { address: 0x08090040, data: d, devid: DEV, flags: 1 } })));
    expect(forwarded()).toEqual([8300, 8301, 0, 0, 0, 0, 0]);
    log.length = 0;
    raiseAll(1);
    expect(log.filter((x) => x === 8301)).toHaveLength(6);
    expect(fds.map((f) => f.signals)).toEqual([2, 2, 4, 4, 4, 4, 4]);
  });

  it('guest reboot by unmapping the device (MAPD V=0), then remapping: nothing stale', () => {
    const { t, log, raiseAll, forwarded, guestMapsDevice } = setup();
    t.g.mapd(DEV, 4, undefined, false);
    expect(forwarded()).toEqual([0, 0, 0, 0, 0, 0, 0]);
    guestMapsDevice(8400, 8401);
    raiseAll(1);
    expect(log.filter((x) => x === 8400)).toHaveLength(1);
    expect(log.filter((x) => x === 8401)).toHaveLength(6);
    expect(log).toHaveLength(7);
  });

  it('VMM teardown (VFIO release) after all that leaves no host interrupt forwarded', () => {
    const { t, pt, forwarded } = setup();
    pt.release();
    expect(forwarded()).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(t.v4!.mappings).toEqual([]);
  });
});
