/**
 * The named irqchips "gic-v4" and "gic-v4.1": the "gic-v3" board and guest driver on a host whose GIC has direct
 * injection (Arm IHI 0069, 5.3; GICv4.1 adds vSGIs, 5.4). The host capability lives in the host model of the VM
 * ({@link enableGicV4}); everything the guest sees is the GICv3 (plus GICD_TYPER2.nASSGIcap on 4.1), so
 * `irqflow compare` shows what direct injection buys on the same guest.
 *
 * @module
 */
import type { GuestAsm, GuestIrqDriver, IrqchipDescriptor, IrqchipFeature, IrqchipSetupOptions, Vm } from '@irqflow/core';
import { GIC_BOARD, GIC_V3_DESCRIPTOR } from '../gic-driver';
import { GICD_CTLR_NASSGIREQ, GICD_TYPER2_NASSGICAP, GICD_TYPER2_OFFSET } from './vsgi';
import { enableGicV4, type GicV4Version } from './gic-v4';

function features(): readonly IrqchipFeature[] {
  const f = new Set<IrqchipFeature>(GIC_V3_DESCRIPTOR.features);
  f.add('passthrough');
  f.add('direct-injection');
  return [...f];
}

/**
 * Linux's gic_dist_init on a GICD_TYPER2.nASSGIcap distributor ("Enabling SGIs without active state"): after the
 * usual CPU init, if nASSGIcap is set and nASSGIreq is not yet, disable the distributor and enable it again with
 * GICD_CTLR.nASSGIreq (the bit only changes while the distributor is disabled).
 */
function withVsgis(drv: GuestIrqDriver): GuestIrqDriver {
  const D = GIC_BOARD.DIST;
  return {
    ...drv,
    emitCpuInit(a: GuestAsm): void {
      drv.emitCpuInit(a);
      const skip = a.fresh('nassgi');
      a.ldra(0, D + GICD_TYPER2_OFFSET)
        .andi(0, 0, GICD_TYPER2_NASSGICAP)
        .cbz(0, skip);
      a.ldra(0, D).andi(0, 0, GICD_CTLR_NASSGIREQ).cbnz(0, skip);
      a.ldra(1, D).movi(0, 0).stra(0, D);
      a.orri(1, 1, GICD_CTLR_NASSGIREQ).stra(1, D);
      a.label(skip);
    },
  };
}

function descriptor(name: string, version: GicV4Version, description: string): IrqchipDescriptor {
  return {
    name,
    description,
    get features(): readonly IrqchipFeature[] {
      return features();
    },
    maxVcpus: GIC_V3_DESCRIPTOR.maxVcpus,
    setup(vm: Vm, o?: IrqchipSetupOptions): GuestIrqDriver {
      const v4 = enableGicV4(vm, version);
      const drv = GIC_V3_DESCRIPTOR.setup(vm, o);
      v4.attach();
      return version === '4.1' ? withVsgis(drv) : drv;
    },
  };
}

/** The "gic-v4" irqchip: GICv3 on a GICv4 host (vLPI direct injection, doorbells). */
export const GIC_V4_DESCRIPTOR: IrqchipDescriptor = descriptor(
  'gic-v4',
  '4',
  'GICv3 on a GICv4 host (KVM vgic-v4): passthrough MSIs forwarded as vLPIs, no exit for a resident vCPU',
);

/** The "gic-v4.1" irqchip: GICv3 on a GICv4.1 host (plus vSGIs: GICD_TYPER2.nASSGIcap). */
export const GIC_V41_DESCRIPTOR: IrqchipDescriptor = descriptor(
  'gic-v4.1',
  '4.1',
  'GICv3 on a GICv4.1 host (KVM vgic-v4): vLPIs and vSGIs injected directly (GICD_CTLR.nASSGIreq)',
);
