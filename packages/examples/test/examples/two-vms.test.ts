import { printTwoVms, twoVms } from '@irqflow/examples';

describe('two VMs with different controllers in one hypervisor', () => {
  it('runs both side by side and prints their stats', async () => {
    const rows = twoVms(undefined, 'pic');
    expect(rows).toHaveLength(2);
    for (const r of rows) expect(r.status).toBe('ok');
    expect(rows[0].vm!.hv).toBe(rows[1].vm!.hv);
    expect(rows[0].vm!.id).not.toBe(rows[1].vm!.id);
    expect(rows[1].irqchip).toBe('pic');
    const names = rows[0].vm!.hv.irqchipDescriptors.map((d) => d.name);
    if (names.length > 1) expect(rows[0].irqchip).not.toBe('pic');
    expect(rows[1].vm!.flow.name).toBe('pic');
    if (rows[0].irqchip !== 'pic') expect(rows[0].vm!.flow.name).not.toBe('pic');
    const lines: string[] = [];
    printTwoVms(rows, (s) => lines.push(s));
    expect(lines).toHaveLength(3);
    expect(lines[2]).toContain('pic');
    for (const r of rows) await r.vm!.destroy();
  });
});
