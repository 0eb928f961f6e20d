// Ports for tests that must name them before a process listens. COCO_TEST_PORTS=first-last draws
// them from that range (a machine shared with other test runs); otherwise from freePort's range.
// Each is claimed as freePort claims it, so tests side by side never draw the same one.

import { freePort } from '../../src/cli/free-port.js';

const HOST = '127.0.0.1';
const configured = /^(\d+)-(\d+)$/.exec(process.env.COCO_TEST_PORTS ?? '');
/** COCO_TEST_PORTS as freePort's range (first included, end excluded), if set. */
export const testPortRange = configured === null ? undefined : ([Number(configured[1]), Number(configured[2]) + 1] as const);

/** A free port, from COCO_TEST_PORTS when set. */
export function testPort(): Promise<number> {
  return freePort(HOST, testPortRange && { range: testPortRange });
}

const PAIR_ATTEMPTS_MAX = 20;

/** A free port whose successor is free too: a one-node sandbox's `--port`, its node-to-node port the next. */
export async function testPortPair(): Promise<number> {
  const [first, end] = testPortRange ?? [20_000, 32_768];
  for (let attempt = 0; attempt < PAIR_ATTEMPTS_MAX; attempt++) {
    const port = await freePort(HOST, { range: [first, end - 1] });
    try {
      // A range of one port: that port, claimed, or NoFreePort.
      await freePort(HOST, { range: [port + 1, port + 2] });
      return port;
    } catch {
      // Its successor is taken: draw another.
    }
  }
  throw new Error(`no two consecutive free ports found between ${first} and ${end - 1}`);
}
