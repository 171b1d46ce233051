/** Counters and their summary. */
import { EXIT_REASON_NAMES, ExitReason, hypercallKey, isHypercallKey, summarize, VcpuStats } from '../../src';

describe('VcpuStats', () => {
  it('counts exits and traps, sums over vCPUs, resets', () => {
    const a = new VcpuStats();
    const b = new VcpuStats();
    a.exits[ExitReason.Hvc] += 2;
    b.exits[ExitReason.Sysreg]++;
    a.trap(0xc661);
    b.trap(0xc661);
    b.trap(hypercallKey(0xc5000209));
    a.injected = 3;
    b.completed = 1;
    expect(a.totalExits()).toBe(2);
    const s = summarize([a, b], (k) => (isHypercallKey(k) ? 'hc' : `r${k.toString(16)}`));
    expect(s.exitsByReason).toEqual({ hvc: 2, sysreg: 1 });
    expect(s.exits).toBe(3);
    expect(s.traps).toEqual({ rc661: 2, hc: 1 });
    expect(s.injected).toBe(3);
    expect(s.completed).toBe(1);
    a.reset();
    expect(a.totalExits()).toBe(0);
    expect(a.traps.size).toBe(0);
    expect(EXIT_REASON_NAMES).toHaveLength(9);
  });

  it('traps keep first-trap order and live counts across sysreg and hypercall keys, and restart after reset', () => {
    const a = new VcpuStats();
    a.trap(0xc6f1);
    a.trap(hypercallKey(0x84000003));
    a.trap(0xc661);
    a.trap(0xc6f1);
    expect([...a.traps]).toEqual([
      [0xc6f1, 2],
      [hypercallKey(0x84000003), 1],
      [0xc661, 1],
    ]);
    a.trap(0xc661);
    expect(a.traps.get(0xc661)).toBe(2);
    a.reset();
    a.trap(0xc661);
    expect([...a.traps]).toEqual([[0xc661, 1]]);
    // many encodings: the per-vCPU counts grow
    const b = new VcpuStats();
    for (let k = 0; k < 100; k++) b.trap(0x8000 + k);
    expect(b.traps.size).toBe(100);
    expect(b.traps.get(0x8063)).toBe(1);
  });

  it('hypercall keys distinguish owners and never look like a sysreg encoding', () => {
    expect(hypercallKey(0xc5000209)).not.toBe(hypercallKey(0xc4000209));
    expect(isHypercallKey(0xffff)).toBe(false);
    expect(isHypercallKey(hypercallKey(0x84000000))).toBe(true);
  });
});
