/** Counting semaphore of work slots, shared by every event type of one consume() call. */
export class Slots {
  #free: number;
  readonly #waiters: Array<(n: number) => void> = [];

  constructor(total: number) {
    this.#free = total;
  }

  /** Free slots now. */
  get free(): number {
    return this.#free;
  }

  /** Waits for at least one free slot and takes up to `max` (0 when the waiters are cancelled). */
  acquire(max: number): Promise<number> {
    if (this.#free > 0 && this.#waiters.length === 0) {
      const n = Math.min(max, this.#free);
      this.#free -= n;
      return Promise.resolve(n);
    }
    return new Promise((resolve) => {
      this.#waiters.push((given) => {
        if (given === 0) return resolve(0);
        const n = Math.min(max, this.#free);
        this.#free -= n;
        resolve(n);
      });
    });
  }

  release(n: number): void {
    if (n <= 0) return;
    this.#free += n;
    while (this.#free > 0 && this.#waiters.length) this.#waiters.shift()!(1);
  }

  /** Wakes every waiter with 0 slots (the consumer is stopping). */
  cancelWaiters(): void {
    while (this.#waiters.length) this.#waiters.shift()!(0);
  }
}
