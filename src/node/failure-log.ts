// Throttles log lines for failures that repeat: the first failure of a key (a peer dialled, a source
// address refused) is logged, then at most one line per interval with how many came in between, so a
// peer down for a weekend or a flood of bad connections costs a line a minute, not one per attempt.
// Memory is bounded: past `keysMax` keys, the one counted longest ago is forgotten.

export interface FailureCount {
  /** Failures in a row under this key with this reason, this one included. */
  attempts: number;
  /** Of those, how many were not logged: the failures since the last line. */
  suppressed: number;
}

interface Failing {
  reason: string;
  attempts: number;
  loggedAttempts: number;
  loggedAtMs: number;
}

export class FailureLog {
  /** In the order last (re)started, so the first key is the one to forget. */
  private readonly failing = new Map<string, Failing>();

  constructor(
    readonly intervalMs: number,
    readonly keysMax: number,
  ) {}

  /** Counts a failure; returns what to log with, or undefined when this one goes unlogged. A new reason logs at once. */
  record(key: string, reason: string, nowMs = performance.now()): FailureCount | undefined {
    const failing = this.failing.get(key);
    if (failing === undefined || failing.reason !== reason) {
      this.failing.delete(key);
      if (this.failing.size >= this.keysMax) this.failing.delete(this.failing.keys().next().value as string);
      this.failing.set(key, { reason, attempts: 1, loggedAttempts: 1, loggedAtMs: nowMs });
      return { attempts: 1, suppressed: 0 };
    }
    failing.attempts += 1;
    if (nowMs - failing.loggedAtMs < this.intervalMs) return undefined;
    const suppressed = failing.attempts - failing.loggedAttempts - 1;
    failing.loggedAttempts = failing.attempts;
    failing.loggedAtMs = nowMs;
    return { attempts: failing.attempts, suppressed };
  }

  /** Forgets the key (it succeeded, or is gone); returns how many failures in a row it had. */
  clear(key: string): number {
    const attempts = this.failing.get(key)?.attempts ?? 0;
    this.failing.delete(key);
    return attempts;
  }
}
