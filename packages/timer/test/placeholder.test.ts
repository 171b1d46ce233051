import { PACKAGE } from '@irqflow/timer';

describe('@irqflow/timer placeholder', () => {
  it('exports its package name', () => {
    expect(PACKAGE).toBe('@irqflow/timer');
  });
});
