import { describe, expect, it } from 'vitest';
import { Slots } from './slots.ts';

describe('Slots', () => {
  it('gives up to what is free at once, and makes the next taker wait for a release', async () => {
    const slots = new Slots(3);
    expect(await slots.acquire(2)).toBe(2);
    expect(await slots.acquire(5)).toBe(1);
    expect(slots.free).toBe(0);
    let got: number | undefined;
    const waiting = slots.acquire(2).then((n) => (got = n));
    await Promise.resolve();
    expect(got).toBeUndefined();
    slots.release(2);
    await waiting;
    expect(got).toBe(2);
    expect(slots.free).toBe(0);
  });

  it('serves waiters in order, each as soon as one slot is free', async () => {
    const slots = new Slots(1);
    await slots.acquire(1);
    const order: string[] = [];
    const a = slots.acquire(1).then((n) => order.push(`a${n}`));
    const b = slots.acquire(1).then((n) => order.push(`b${n}`));
    slots.release(1);
    await a;
    slots.release(1);
    await b;
    expect(order).toEqual(['a1', 'b1']);
  });

  it('answers 0 to every waiter when cancelled', async () => {
    const slots = new Slots(1);
    await slots.acquire(1);
    const waiters = [slots.acquire(1), slots.acquire(3)];
    slots.cancelWaiters();
    expect(await Promise.all(waiters)).toEqual([0, 0]);
    expect(slots.free).toBe(0);
  });
});
