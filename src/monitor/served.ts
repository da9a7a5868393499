/**
 * The fronts a monitor made (serveHttp(), serveMcp()) that are still up: close() closes them,
 * so that a monitor closed for good leaves no port, thread (the exposition worker) or listener
 * of its fronts behind. A service that built a new monitor per cycle (a config reload, tests)
 * and closed only the monitor leaked one thread, ~8 fds and ~14 MB a cycle, and the closed
 * monitor's /metrics still answered. stop() leaves them up: an agent may start the monitor
 * again through /mcp, and the dashboard says it is stopped.
 *
 * A front's own close() takes it out of the set, and closing it twice is closing it once.
 */
export interface Closable {
  close(): Promise<void>;
}

export class ServedFronts {
  private readonly open = new Set<Closable>();

  /** Wraps `front`'s close() (once only, and out of the set) and holds it until it is closed. */
  add<T extends Closable>(front: T): T {
    const close = front.close.bind(front);
    let closing: Promise<void> | undefined;
    front.close = () => {
      this.open.delete(front);
      closing ??= close();
      return closing;
    };
    this.open.add(front);
    return front;
  }

  get size(): number {
    return this.open.size;
  }

  /** Closes every front still up, all at once; `failed` hears of one whose close failed. */
  async closeAll(failed: (error: unknown) => void): Promise<void> {
    const ended = await Promise.allSettled([...this.open].map((front) => front.close()));
    for (const end of ended) if (end.status === 'rejected') failed(end.reason);
  }
}
