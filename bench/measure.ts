// Timing helpers for benchmarks: the best of several runs (the least disturbed by the rest of the
// machine), reported as a rate.

export interface Rate {
  perSecond: number;
  seconds: number;
}

export function bestRate(runs: number, count: number, body: () => void): Rate {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    body();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e9);
  }
  return { perSecond: count / best, seconds: best };
}

export function formatRate(rate: Rate): string {
  return Math.round(rate.perSecond).toLocaleString('en-US');
}

export function progress(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}
