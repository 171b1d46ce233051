/** The eventfd model. */
import { EventFd } from '../../src';

describe('EventFd', () => {
  it('counts signals, read returns and clears the counter, listeners run synchronously and can unsubscribe', () => {
    const fd = new EventFd('x');
    const seen: number[] = [];
    const off = fd.listen((f) => void seen.push(f.count));
    fd.signal();
    fd.signal(2);
    expect(seen).toEqual([1, 3]);
    expect(fd.read()).toBe(3);
    expect(fd.read()).toBe(0);
    off();
    fd.signal();
    expect(seen).toEqual([1, 3]);
    expect(fd.signals).toBe(4);
  });

  it('a listener unsubscribing during a signal does not disturb the others', () => {
    const fd = new EventFd();
    const seen: string[] = [];
    const offA = fd.listen(() => {
      seen.push('a');
      offA();
    });
    fd.listen(() => void seen.push('b'));
    fd.signal();
    fd.signal();
    expect(seen).toEqual(['a', 'b', 'b']);
  });
});
