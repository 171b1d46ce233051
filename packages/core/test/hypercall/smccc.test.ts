/** The SMCCC hypercall table and filter. */
import { Errno, HypercallTable } from '../../src';
import { errno } from '../support/errno';

describe('HypercallTable', () => {
  it('finds ranges, names calls, refuses overlaps (EEXIST) and unregisters by name', () => {
    const t = new HypercallTable();
    t.register({ base: 0xc5000200, count: 11, name: 'rVIC', callNames: ['VERSION', 'INFO'], handler: () => undefined });
    expect(errno(() => t.register({ base: 0xc500020a, count: 2, name: 'X', handler: () => undefined }))).toBe(Errno.EEXIST);
    expect(t.find(0xc500020a)?.name).toBe('rVIC');
    expect(t.find(0xc500020b)).toBeUndefined();
    expect(t.nameOf(0xc5000201)).toBe('rVIC.INFO');
    expect(t.nameOf(0xc5000205)).toBe('rVIC+5');
    expect(t.nameOf(0xc6000000)).toBe('0xc6000000');
    t.unregister('rVIC');
    expect(t.all).toHaveLength(0);
  });

  it('filter ranges: default handle; bad ranges EINVAL; overlapping filters EEXIST', () => {
    const t = new HypercallTable();
    expect(t.filterAction(0x84000000)).toBe('handle');
    t.setFilter(0x84000000, 0x20, 'forward');
    expect(t.filterAction(0x8400001f)).toBe('forward');
    expect(t.filterAction(0x84000020)).toBe('handle');
    expect(errno(() => t.setFilter(0x84000010, 1, 'deny'))).toBe(Errno.EEXIST);
    expect(errno(() => t.setFilter(0, 0, 'deny'))).toBe(Errno.EINVAL);
    expect(errno(() => t.setFilter(0xffffffff, 2, 'deny'))).toBe(Errno.EINVAL);
  });
});
