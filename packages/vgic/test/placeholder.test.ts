import { PACKAGE } from '@irqflow/vgic';

describe('@irqflow/vgic placeholder', () => {
  it('exports its package name', () => {
    expect(PACKAGE).toBe('@irqflow/vgic');
  });
});
