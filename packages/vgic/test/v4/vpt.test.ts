/**
 * The vPE's virtual pending table (v4/vpt.ts): against a plain array model — pending order, coalescing, removal
 * from anywhere, re-stamped arrival times, and the earliest arrival after a clock that mostly grows (and
 * sometimes goes back, as a restore does) — over random steps that make it grow, reuse slots and wrap its index.
 */
import { NO_KEY, VirtualPendingTable } from '../../src/v4/vpt';

describe('VirtualPendingTable', () => {
  it('agrees with an array model over 6 000 random steps', () => {
    const t = new VirtualPendingTable();
    const ref: { id: number; at: number }[] = [];
    let seed = 987;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    let clock = 0;
    for (let step = 0; step < 6_000; step++) {
      // vINTIDs from a spread-out set (LPIs 8192.., a few far apart): index collisions and wrap-around
      const id = rnd(3) === 0 ? 8192 + rnd(48) * 4096 : 8192 + rnd(80);
      const op = rnd(12);
      if (op < 4) {
        const at = clock + rnd(50) - 10;
        const fresh = !ref.some((e) => e.id === id);
        expect(t.add(id, at)).toBe(fresh);
        if (fresh) ref.push({ id, at });
      } else if (op < 7) {
        const k = ref.findIndex((e) => e.id === id);
        expect(t.remove(id)).toBe(k >= 0);
        if (k >= 0) ref.splice(k, 1);
      } else if (op === 7) {
        const at = clock + rnd(40);
        t.setAt(id, at);
        const e = ref.find((x) => x.id === id);
        if (e) e.at = at;
      } else if (op === 8 && rnd(400) === 0) {
        t.clear();
        ref.length = 0;
      } else {
        clock += rnd(8) === 0 ? -rnd(30) : rnd(6); // mostly forward
        const future = ref.filter((e) => e.at > clock).map((e) => e.at);
        expect(t.nextArrival(clock)).toBe(future.length ? Math.min(...future) : Infinity);
      }
      expect(t.size).toBe(ref.length);
      expect(t.has(id)).toBe(ref.some((e) => e.id === id));
      if (step % 5 === 0) {
        expect(t.ids()).toEqual(ref.map((e) => e.id));
        const ats: number[] = [];
        for (let s = t.firstSlot(); s >= 0; s = t.nextSlot(s)) ats.push(t.atOf(s));
        expect(ats).toEqual(ref.map((e) => e.at));
      }
    }
  });

  it('rejects what is not a vINTID without touching the table', () => {
    const t = new VirtualPendingTable();
    t.add(8192, 5);
    for (const bad of [-1, 1.5, 2 ** 32, NaN]) {
      expect(t.add(bad, 0)).toBe(false);
      expect(t.has(bad)).toBe(false);
      expect(t.remove(bad)).toBe(false);
      t.setAt(bad, 1);
    }
    expect(t.ids()).toEqual([8192]);
    expect(t.nextArrival(0)).toBe(5);
  });

  it('answers arrivals right after many entries came and went unasked (the lazy heap is compacted meanwhile)', () => {
    const t = new VirtualPendingTable();
    for (let i = 0; i < 100_000; i++) {
      t.add(8192 + (i % 3), i);
      t.remove(8192 + ((i + 1) % 3));
    }
    expect(t.size).toBeLessThanOrEqual(3);
    const future = collect(t).filter((a) => a > 99_997);
    expect(future.length).toBeGreaterThan(0);
    expect(t.nextArrival(99_997)).toBe(Math.min(...future));
    expect(t.nextArrival(100_000)).toBe(Infinity);
  });

  it('a NaN arrival time (a malformed restore) counts as arrived, as a walk saw it, and leaves the order intact', () => {
    const t = new VirtualPendingTable();
    for (let i = 0; i < 40; i++) t.add(8192 + i, 1000 + 10 * i, 0xa0 * 2 ** 32 + 8192 + i);
    t.setAt(8200, NaN);
    t.add(9000, 500, NO_KEY);
    t.add(9001, 2000, NaN); // no key: never presented
    expect(t.idOf(t.bestArrived(0))).toBe(8200);
    expect(t.nextArrival(0)).toBe(500);
    expect(t.nextArrival(1005)).toBe(1010);
    expect(t.idOf(t.bestArrived(1015))).toBe(8192);
    t.remove(8192);
    expect(t.idOf(t.bestArrived(1015))).toBe(8193);
    expect(t.idOf(t.bestAll())).toBe(8193);
  });

  it('presents the smallest key among the arrived entries and among all, over random steps (keys re-set, index dropped)', () => {
    const t = new VirtualPendingTable();
    const ref = new Map<number, { at: number; key: number }>();
    let seed = 4242;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    // (priority, vINTID) as the vPE packs it; a few priorities so ties on priority are common; sometimes no key
    const keyOf = (id: number) => (rnd(6) === 0 ? NO_KEY : rnd(4) * 0x40 * 2 ** 32 + id);
    const best = (clock: number) => {
      let b = -1;
      let bk = NO_KEY;
      for (const [id, e] of ref) if (e.at <= clock && e.key < bk) [b, bk] = [id, e.key];
      return b;
    };
    let clock = 0;
    for (let step = 0; step < 8_000; step++) {
      const id = rnd(3) === 0 ? 8192 + rnd(300) * 97 : 8192 + rnd(120);
      const op = rnd(14);
      if (op < 4) {
        const key = keyOf(id);
        const at = clock + rnd(60) - 10;
        expect(t.add(id, at, key)).toBe(!ref.has(id));
        if (!ref.has(id)) ref.set(id, { at, key });
      } else if (op < 7) {
        expect(t.remove(id)).toBe(ref.delete(id));
      } else if (op === 7) {
        const at = clock + rnd(40) - 5;
        t.setAt(id, at);
        const e = ref.get(id);
        if (e) e.at = at;
      } else if (op === 8) {
        const key = keyOf(id);
        t.setKey(id, key);
        const e = ref.get(id);
        if (e) e.key = key;
      } else if (op === 9 && rnd(8) === 0) {
        t.dropAll();
      } else if (op === 10 && rnd(300) === 0) {
        t.clear();
        ref.clear();
      } else {
        clock += rnd(10) === 0 ? -rnd(40) : rnd(8);
      }
      const a = t.bestArrived(clock);
      expect(a < 0 ? -1 : t.idOf(a)).toBe(best(clock));
      if (step % 3 === 0) {
        const b = t.bestAll();
        expect(b < 0 ? -1 : t.idOf(b)).toBe(best(Infinity));
      }
    }
  });
});

function collect(t: VirtualPendingTable): number[] {
  const out: number[] = [];
  for (let s = t.firstSlot(); s >= 0; s = t.nextSlot(s)) out.push(t.atOf(s));
  return out;
}
