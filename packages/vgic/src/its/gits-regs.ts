/**
 * ITS architectural constants: the GITS_* register offsets and fields (Arm IHI 0069, chapter 12.19 "The ITS
 * register descriptions"), the command numbers and field positions (chapter 6.3 "ITS commands", 5.13 in older
 * issues), KVM's implemented values (Documentation/virt/kvm/devices/arm-vgic-its.rst; references §3/§4) and the
 * save/restore ABI revision 0 entry layouts.
 *
 * @module
 */

/** GITS_* register offsets within the 128 KiB ITS frame (control frame + translation frame). */
export const GITS = {
  CTLR: 0x0000,
  IIDR: 0x0004,
  TYPER: 0x0008,
  CBASER: 0x0080,
  CWRITER: 0x0088,
  CREADR: 0x0090,
  BASER: 0x0100,
  /** Eight 64-bit GITS_BASER<n>. */
  BASER_END: 0x0140,
  /** GITS_PIDR4 .. GITS_CIDR3 (identification registers). */
  IDREGS: 0xffd0,
  IDREGS_END: 0x10000,
  /** The doorbell in the translation frame. */
  TRANSLATER: 0x10040,
} as const;

/** Size of one ITS frame (ADDR type ITS, references §3). */
export const ITS_FRAME_SIZE = 0x20000;
/** Required alignment of the ITS frame base. */
export const ITS_FRAME_ALIGN = 0x10000;

/** GITS_CTLR.Enable. */
export const CTLR_ENABLE = 1 << 0;
/** GITS_CTLR.Quiescent (bit 31). */
export const CTLR_QUIESCENT = 0x80000000;

/** KVM's product id in GITS_IIDR[31:24]. */
export const IIDR_PRODUCT_KVM = 0x4b;
/** Implementer Arm (JEP106 0x43b). */
export const IIDR_IMPLEMENTER_ARM = 0x43b;
/** Number of save/restore ABI revisions implemented (revision 0 only). */
export const NR_ITS_ABIS = 1;

/** DeviceID bits (GITS_TYPER.Devbits + 1). */
export const ITS_DEVBITS = 16;
/** EventID / LPI ID bits (GITS_TYPER.IDbits + 1). */
export const ITS_IDBITS = 16;
/** ITT entry size in bytes (GITS_TYPER.ITT_entry_size + 1) = ABI rev 0 ITE size. */
export const ITE_SIZE = 8;
/** Device / collection table entry size in bytes for ABI rev 0. */
export const DTE_SIZE = 8;
/** Collection table entry size (ABI rev 0). */
export const CTE_SIZE = 8;

/**
 * GITS_TYPER as KVM builds it: PLPIS (bit 0), ITT_entry_size [7:4] = 7, IDbits [12:8] = 15, Devbits [17:13] = 15;
 * PTA (19) = 0 (RDbase is a processor number), CIL (36) = 0 (16-bit ICIDs), CCT (37) = 0, HCC = 0.
 */
export const GITS_TYPER_VALUE = 1n | (BigInt(ITE_SIZE - 1) << 4n) | (BigInt(ITS_IDBITS - 1) << 8n) | (BigInt(ITS_DEVBITS - 1) << 13n);

/** First LPI INTID. */
export const LPI_MIN_INTID = 8192;

/** GITS_BASER<n> fields. */
export const BASER = {
  VALID: 1n << 63n,
  INDIRECT: 1n << 62n,
  TYPE_SHIFT: 56n,
  ENTRY_SIZE_SHIFT: 48n,
  PAGE_SIZE_SHIFT: 8n,
  /** Page_Size encoding for 64 KiB (the only size KVM implements). */
  PAGE_SIZE_64K: 2n,
  /** Type values. */
  TYPE_NONE: 0n,
  TYPE_DEVICE: 1n,
  TYPE_COLLECTION: 4n,
  /** Bits software may write: Valid, Indirect, InnerCache [61:59], OuterCache [55:53], PA [47:12], Shareability [11:10], Size [7:0]. */
  WRITABLE: (1n << 63n) | (1n << 62n) | (7n << 59n) | (7n << 53n) | (((1n << 36n) - 1n) << 12n) | (3n << 10n) | 0xffn,
} as const;

/** GITS_CBASER fields: Valid [63], caches, PA [51:12] (KVM keeps it 64 KiB aligned), Shareability, Size [7:0]. */
export const CBASER = {
  VALID: 1n << 63n,
  /** Writable bits: Valid, InnerCache [61:59], OuterCache [55:53], PA [51:16], Shareability [11:10], Size [7:0]. */
  WRITABLE: (1n << 63n) | (7n << 59n) | (7n << 53n) | (((1n << 36n) - 1n) << 16n) | (3n << 10n) | 0xffn,
} as const;

/** Size of one command in the queue. */
export const ITS_CMD_SIZE = 32;

/** ITS command numbers (DW0[7:0]). */
export const ItsCmd = {
  MOVI: 0x01,
  INT: 0x03,
  CLEAR: 0x04,
  SYNC: 0x05,
  MAPD: 0x08,
  MAPC: 0x09,
  MAPTI: 0x0a,
  MAPI: 0x0b,
  INV: 0x0c,
  INVALL: 0x0d,
  MOVALL: 0x0e,
  DISCARD: 0x0f,
} as const;

/** A collection not mapped to any redistributor (KVM's COLLECTION_NOT_MAPPED; saved as RDBase 0xffffffff). */
export const COLLECTION_NOT_MAPPED = 0xffffffff;

/** Largest DTE `next` (DeviceID delta) the ABI can hold: 2^14 − 1. */
export const DTE_MAX_NEXT = (1 << 14) - 1;
/** Largest ITE `next` (EventID delta): 2^16 − 1. */
export const ITE_MAX_NEXT = (1 << 16) - 1;
/** 64 KiB: the table page size, and the size of a level-2 device table page. */
export const SZ_64K = 0x10000;
/** DTEs per level-2 page (64 KiB / 8). */
export const L2_DTES_PER_PAGE = SZ_64K / DTE_SIZE;
