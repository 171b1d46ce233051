/**
 * The ITS translation cache (Arm IHI 0069, 5.2.3 "ITS caching": an implementation may cache translations and
 * must drop them when a command changes them; KVM's vgic_its_cache_translation / vgic_its_invalidate_cache).
 * Keyed by (DeviceID, EventID), both below 2^16, as DeviceID × 2^16 + EventID; the value is the ITE.
 *
 * Two levels. The authoritative set is a Map, which is what invalidation edits and what tests and dumps see.
 * In front of it sits a direct-mapped table of {@link TranslationCache.SLOTS} entries indexed by a hash of the
 * key: an MSI whose translation sits there costs an array compare instead of a Map lookup. A Map hit refills
 * the slot; every deletion clears the slot if it holds that key, so the front never answers for a translation
 * the Map no longer has. Memory is fixed (the front) plus one Map entry per cached translation, which is at
 * most one per mapped ITE.
 *
 * @module
 */
import type { Ite } from './vgic-its';

/** Bits of the direct-mapped front (4096 slots). */
const FRONT_BITS = 12;

/**
 * Slot of `key` in the front: a multiplicative hash of the DeviceID (the top bits) plus the EventID, so that the
 * events of one device (MSI-X vectors are numbered from 0) take consecutive slots and share cache lines.
 */
function slotOf(key: number): number {
  return ((Math.imul(key >>> 16, 0x9e3779b1) >>> (32 - FRONT_BITS)) + key) & (TranslationCache.SLOTS - 1);
}

/** The translation cache of one ITS. */
export class TranslationCache {
  /** Slots in the direct-mapped front. */
  static readonly SLOTS = 1 << FRONT_BITS;
  private readonly map = new Map<number, Ite>();
  /** Front keys, as `key | 0` (a slot is empty when its value is null, whatever its key). */
  private readonly frontKey = new Int32Array(TranslationCache.SLOTS);
  /** Front values (null: empty). */
  private readonly frontIte: (Ite | null)[] = new Array<Ite | null>(TranslationCache.SLOTS).fill(null);

  /** Number of cached translations. */
  get size(): number {
    return this.map.size;
  }

  /** The cached ITE of `key` (DeviceID × 2^16 + EventID), or undefined. No allocation. */
  get(key: number): Ite | undefined {
    const s = slotOf(key);
    if (this.frontKey[s] === (key | 0)) {
      const hit = this.frontIte[s];
      if (hit !== null) return hit;
    }
    const ite = this.map.get(key);
    if (ite !== undefined) {
      this.frontKey[s] = key;
      this.frontIte[s] = ite;
    }
    return ite;
  }

  /** Caches the translation of `key`. */
  set(key: number, ite: Ite): void {
    this.map.set(key, ite);
    const s = slotOf(key);
    this.frontKey[s] = key;
    this.frontIte[s] = ite;
  }

  /** Drops the translation of `key`, if cached. */
  delete(key: number): void {
    if (!this.map.delete(key)) return;
    const s = slotOf(key);
    if (this.frontKey[s] === (key | 0)) this.frontIte[s] = null;
  }

  /** Drops every translation. */
  clear(): void {
    if (this.map.size === 0) return;
    this.map.clear();
    this.frontIte.fill(null);
  }

  /** Drops every translation whose ITE satisfies `pred`. */
  deleteWhere(pred: (ite: Ite) => boolean): void {
    for (const [k, ite] of this.map) if (pred(ite)) this.delete(k);
  }

  /** The cached keys (DeviceID × 2^16 + EventID), in insertion order. */
  keys(): IterableIterator<number> {
    return this.map.keys();
  }
}
