import { PACKAGE } from '@irqflow/rvic';

describe('@irqflow/rvic placeholder', () => {
  it('exports its package name', () => {
    expect(PACKAGE).toBe('@irqflow/rvic');
  });
});
