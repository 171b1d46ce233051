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

describe('ITS translation cache front edges', () => {
  it('keeps DeviceID 0 EventID 0, the largest key and the neighbouring events of one device apart', () => {
    const cache = new TranslationCache();
    const top = 65535 * 65536 + 65535; // 2^32 - 1: the same 32 bits as -1
    const a = ite(1);
    const b = ite(2);
    // empty slots answer nothing, also for key 0 (an empty slot's stored key is 0)
    expect(cache.get(0)).toBeUndefined();
    expect(cache.get(top)).toBeUndefined();
    cache.set(top, a);
    expect(cache.get(top)).toBe(a);
    expect(cache.get(0)).toBeUndefined();
    cache.set(0, b);
    expect(cache.get(0)).toBe(b);
    cache.delete(0);
    expect(cache.get(0)).toBeUndefined();
    expect(cache.get(top)).toBe(a);
    // a device's events are cached side by side: every one answers with its own ITE, before and after deletes
    const dev = 4321 * 65536;
    const v = Array.from({ length: 64 }, (_, e) => ite(100 + e));
    v.forEach((x, e) => cache.set(dev + e, x));
    v.forEach((x, e) => expect(cache.get(dev + e)).toBe(x));
    for (let e = 0; e < 64; e += 2) cache.delete(dev + e);
    v.forEach((x, e) => expect(cache.get(dev + e)).toBe(e % 2 === 0 ? undefined : x));
    expect(cache.size).toBe(1 + 32);
  });
});
