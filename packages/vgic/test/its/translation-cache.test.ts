/**
 * The ITS translation cache's direct-mapped front must never answer for a translation the cache no longer
 * holds, whatever collides in it. Differential test against a plain Map over far more keys than front slots.
 */
import { Rng } from '@irqflow/core';
import { TranslationCache, type Ite } from '@irqflow/vgic';

const ite = (n: number): Ite => ({ event: n, icid: n % 7 }) as unknown as Ite;

describe('ITS translation cache', () => {
  it('answers exactly like a Map through 60000 random sets, gets, deletes, collection drops and clears', () => {
    const rng = new Rng(7);
    const cache = new TranslationCache();
    const model = new Map<number, Ite>();
    const keys = Array.from({ length: 2 * TranslationCache.SLOTS }, () => rng.int(65536) * 65536 + rng.int(65536));
    let hits = 0;
    let wrong = 0;
    for (let t = 0; t < 60000; t++) {
      const k = keys[rng.int(keys.length)];
      const op = rng.int(20000);
      if (op < 9000) {
        const v = ite(t);
        cache.set(k, v);
        model.set(k, v);
      } else if (op < 18000) {
        const got = cache.get(k);
        if (got !== model.get(k)) wrong++;
        if (got !== undefined) hits++;
      } else if (op < 19995) {
        cache.delete(k);
        model.delete(k);
      } else if (op < 19999) {
        const icid = rng.int(7);
        cache.deleteWhere((e) => e.icid === icid);
        for (const [mk, e] of model) if (e.icid === icid) model.delete(mk);
      } else {
        cache.clear();
        model.clear();
      }
      if (cache.size !== model.size) wrong++;
    }
    expect(wrong).toBe(0);
    for (const k of keys) expect(cache.get(k)).toBe(model.get(k));
    expect([...cache.keys()].sort((a, b) => a - b)).toEqual([...model.keys()].sort((a, b) => a - b));
    expect(hits).toBeGreaterThan(1000);
  });
});
