/**
 * The interrupt translation table of one mapped device, as the ITS holds it (Arm IHI 0069, 5.2.1 "The ITS
 * tables": the ITT maps each EventID of the device to an ITE = pINTID + ICID; MAPTI/MAPI add ITEs, DISCARD and
 * MAPD remove them). KVM keeps a list of struct its_ite per device; this model keeps the ITEs of a device as
 * one sorted array of 16-bit triples (EventID, pINTID, ICID — all three are below 2^16: IDbits = 16, CIL = 0),
 * so a mapped event costs 6 bytes plus the array's spare capacity instead of an object and a map entry
 * (64 k devices × 32 events: ~13 bytes per event here, where objects took over 60). The LPI of an ITE is found
 * through the VM's {@link LpiTable} by its pINTID.
 *
 * Lookups are binary searches; an insertion or removal moves at most the device's own ITEs (KVM's lists cost a
 * walk over them for every lookup). {@link get} and {@link values} build {@link Ite} views for callers off the
 * MSI path; the translation path uses {@link indexOf} and the `*At` accessors, which allocate nothing.
 *
 * @module
 */
import type { Lpi, LpiTable } from './lpi-table';
import type { Ite } from './vgic-its';

const EMPTY = new Uint16Array(0);

/** The ITEs of one device, ascending by EventID. */
export class Itt {
  private data: Uint16Array = EMPTY;
  private n = 0;

  /** @param lpis - the VM's LPI table (resolves each ITE's pINTID to its LPI) */
  constructor(private readonly lpis: LpiTable) {}

  /** Number of mapped events. */
  get size(): number {
    return this.n;
  }

  /** Index of `event` (in [0, size)), or -1 when it is not mapped. No allocation. */
  indexOf(event: number): number {
    const d = this.data;
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const e = d[mid * 3];
      if (e === event) return mid;
      if (e < event) lo = mid + 1;
      else hi = mid;
    }
    return -1;
  }

  /** EventID of the ITE at `i`. */
  eventAt(i: number): number {
    return this.data[i * 3];
  }

  /** pINTID of the ITE at `i`. */
  intidAt(i: number): number {
    return this.data[i * 3 + 1];
  }

  /** ICID of the ITE at `i`. */
  icidAt(i: number): number {
    return this.data[i * 3 + 2];
  }

  /** Moves the ITE at `i` to collection `icid` (MOVI). */
  setIcidAt(i: number, icid: number): void {
    this.data[i * 3 + 2] = icid;
  }

  /** The LPI of the ITE at `i`. */
  lpiAt(i: number): Lpi {
    return this.lpis.get(this.data[i * 3 + 1])!;
  }

  /** Whether `event` is mapped. */
  has(event: number): boolean {
    return this.indexOf(event) >= 0;
  }

  /** A view of the ITE of `event`, if mapped (allocates; not for the MSI path). */
  get(event: number): Ite | undefined {
    const i = this.indexOf(event);
    return i < 0 ? undefined : this.iteAt(i);
  }

  /** A view of the ITE at `i`. */
  iteAt(i: number): Ite {
    return { event: this.eventAt(i), icid: this.icidAt(i), lpi: this.lpiAt(i) };
  }

  /** Maps `event` (not mapped yet) to LPI `intid` in collection `icid`. Appending in EventID order is O(1). */
  insert(event: number, intid: number, icid: number): void {
    let lo = 0;
    let hi = this.n;
    if (hi > 0 && this.data[(hi - 1) * 3] < event) lo = hi;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.data[mid * 3] < event) lo = mid + 1;
      else hi = mid;
    }
    if (this.n * 3 === this.data.length) {
      const grown = new Uint16Array(Math.max(12, this.data.length * 2));
      grown.set(this.data);
      this.data = grown;
    }
    const d = this.data;
    if (lo < this.n) d.copyWithin((lo + 1) * 3, lo * 3, this.n * 3);
    d[lo * 3] = event;
    d[lo * 3 + 1] = intid;
    d[lo * 3 + 2] = icid;
    this.n++;
  }

  /** Removes the ITE at `i`. */
  removeAt(i: number): void {
    this.data.copyWithin(i * 3, (i + 1) * 3, this.n * 3);
    this.n--;
    if (this.n === 0) this.data = EMPTY;
  }

  /** Removes every ITE. */
  clear(): void {
    this.n = 0;
    this.data = EMPTY;
  }

  /** The mapped EventIDs, ascending. */
  *keys(): IterableIterator<number> {
    for (let i = 0; i < this.n; i++) yield this.data[i * 3];
  }

  /** Views of the ITEs, ascending by EventID. */
  *values(): IterableIterator<Ite> {
    for (let i = 0; i < this.n; i++) yield this.iteAt(i);
  }
}
