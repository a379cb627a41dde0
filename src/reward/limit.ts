// A concurrency limit shared by every request a server handles: at most `limit` calls toward one
// judge endpoint are in flight at once, however many reward requests arrive together; the others
// wait in FIFO order. (mapPool in src/lm/providers/http.ts limits one batch; this limits the
// whole process, which is what protects a guard model's server from a burst of trainer calls.)

export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be an integer >= 1, got ${limit}`);
  }

  /** Calls in flight now. */
  get inFlight(): number {
    return this.active;
  }

  /** Runs `fn` when a slot is free; the slot is released however `fn` ends. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next)
        next(); // the slot passes straight to the next waiter (active stays the same)
      else this.active--;
    }
  }
}
