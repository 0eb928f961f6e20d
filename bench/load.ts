// An HTTPS load generator: `clients` keep-alive connections sending POSTs for a fixed duration.
// Closed loop by default (each client sends its next request as soon as the previous one answered);
// with `ratePerSecond`, open loop (requests start on a fixed schedule and latency counts from the
// scheduled start, so a server that falls behind cannot hide it). Reports throughput and latency
// percentiles. Runs the same way against Coco and against the references.

import type { IncomingHttpHeaders } from 'node:http';
import { Agent, request } from 'node:https';

export interface LoadTarget {
  url: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

export interface LoadOptions {
  clients: number;
  durationMs: number;
  path: string;
  body: (i: number) => string;
  /** Open loop at this many requests per second; closed loop when absent. */
  ratePerSecond?: number;
  /**
   * Connections to reuse (see `loadConnections`), so that a measured run opens none: a TLS handshake
   * with client certificates costs both sides far more than a request. A run without them opens its
   * own and closes them at the end.
   */
  connections?: Agent;
  /** Sees each 200 response with its start (`performance.now()` time, scheduled in open loop). */
  onResponse?: (response: { startMs: number; headers: IncomingHttpHeaders }) => void;
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Keep-alive connections to `target` for up to `clients` clients, for several runs to share; destroy them after. */
export function loadConnections(target: LoadTarget, clients: number): Agent {
  return new Agent({ keepAlive: true, maxSockets: clients, ca: target.caPem, cert: target.certPem, key: target.keyPem });
}

export async function runLoad(target: LoadTarget, options: LoadOptions): Promise<LoadResult> {
  const agent = options.connections ?? loadConnections(target, options.clients);
  const url = new URL(options.path, target.url);
  const latencies: number[] = [];
  let errors = 0;
  let sequence = 0;
  const start = performance.now();
  const deadline = start + options.durationMs;
  const one = (i: number, startMs: number): Promise<void> =>
    new Promise((resolve) => {
      const body = options.body(i);
      const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200) errors++;
          else {
            latencies.push(performance.now() - startMs);
            options.onResponse?.({ startMs, headers: res.headers });
          }
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
  const client = async (): Promise<void> => {
    for (;;) {
      const i = sequence++;
      let startMs = performance.now();
      if (options.ratePerSecond !== undefined) {
        startMs = start + (i * 1000) / options.ratePerSecond;
        if (startMs >= deadline) return;
        const wait = startMs - performance.now();
        if (wait > 0) await sleep(wait);
      } else if (startMs >= deadline) return;
      await one(i, startMs);
    }
  };
  await Promise.all(Array.from({ length: options.clients }, client));
  const seconds = (performance.now() - start) / 1000;
  if (options.connections === undefined) agent.destroy();
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, errors, seconds, perSecond: latencies.length / seconds, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}
