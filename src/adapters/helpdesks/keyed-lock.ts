/**
 * Serialises work per key inside one process: a connector's check-then-create (is there a request
 * for this origin key? is this Message-ID already a comment?) must not interleave with itself, or
 * twelve concurrent deliveries of one email make twelve tickets. Across processes the Temporal
 * workflow id and the ledger's delivery claims keep callers apart; this covers the rest.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(work, work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    try {
      return await result;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
