import { PACKAGE } from '@irqflow/examples';

describe('@irqflow/examples placeholder', () => {
  it('exports its package name', () => {
    expect(PACKAGE).toBe('@irqflow/examples');
  });
});
