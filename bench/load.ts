// A closed-loop HTTPS load generator: `clients` keep-alive connections, each sending its next
// request as soon as the previous one answered, for a fixed duration. Reports throughput and
// latency percentiles. Runs the same way against Coco and against the reference server.

import { Agent, request } from 'node:https';

export interface LoadTarget {
  url: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function runLoad(target: LoadTarget, options: { clients: number; durationMs: number; path: string; body: (i: number) => string; onResponse?: (txId: string | undefined) => void }): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.clients, ca: target.caPem, cert: target.certPem, key: target.keyPem });
  const url = new URL(options.path, target.url);
  const latencies: number[] = [];
  let errors = 0;
  let sequence = 0;
  const start = performance.now();
  const deadline = start + options.durationMs;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const body = options.body(sequence++);
      const sent = performance.now();
      const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200) errors++;
          else latencies.push(performance.now() - sent);
          options.onResponse?.(res.headers['x-ms-ccf-transaction-id'] as string | undefined);
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
  await Promise.all(
    Array.from({ length: options.clients }, async () => {
      while (performance.now() < deadline) await one();
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, errors, seconds, perSecond: latencies.length / seconds, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}
