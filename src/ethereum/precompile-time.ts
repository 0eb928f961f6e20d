// Run-time estimates for the precompiles whose cost grows with their input. The time limit looks at
// the clock between EVM steps, and a precompile call is one step: a BLS G2 MSM of 500 pairs ran 5 s
// with the limit at 500 ms. So these precompiles are wrapped: before running, each estimates its time
// from its input and fails the run as the time limit does when that would pass what is left of it.

import type { Common } from '@ethereumjs/common';
import { getActivePrecompiles, type CustomPrecompile, type PrecompileInput } from '@ethereumjs/evm';

/**
 * Per unit of input, the ms of the precompile that cost the most per unit among 8 and 64 units on the
 * development machine (Node 20, noble-curves), rounded up: linear estimates then over-estimate large
 * inputs, whose cost per unit is lower, so a refused call would have run out of time anyway.
 */
const UNIT_COSTS: ReadonlyArray<{ address: string; unitMs: number; units: (data: Uint8Array) => number }> = [
  // BN254 pairing: 192-byte pairs.
  { address: '08', unitMs: 12, units: (data) => Math.floor(data.length / 192) },
  // blake2f: its rounds, the input's first 4 bytes (big-endian).
  { address: '09', unitMs: 0.0008, units: (data) => (data.length === 213 ? new DataView(data.buffer, data.byteOffset).getUint32(0) : 0) },
  // BLS12-381 G1 MSM: 160-byte (point, scalar) pairs.
  { address: '0c', unitMs: 8, units: (data) => Math.floor(data.length / 160) },
  // BLS12-381 G2 MSM: 288-byte (point, scalar) pairs.
  { address: '0e', unitMs: 18, units: (data) => Math.floor(data.length / 288) },
  // BLS12-381 pairing: 384-byte (G1, G2) pairs.
  { address: '0f', unitMs: 12, units: (data) => Math.floor(data.length / 384) },
];

/**
 * The chain's expensive precompiles, each calling `ensure` with its estimate (ms) before it runs:
 * ExecutionBudget.ensure throws when the run in progress has not that much time left.
 */
export function timedPrecompiles(common: Common, ensure: (estimateMs: number) => void): CustomPrecompile[] {
  const active = getActivePrecompiles(common);
  return UNIT_COSTS.flatMap(({ address, unitMs, units }) => {
    const precompile = active.get(address.padStart(40, '0'));
    if (precompile === undefined) return [];
    return [
      {
        address: `0x${address.padStart(40, '0')}`,
        function: (input: PrecompileInput) => {
          ensure(units(input.data) * unitMs);
          return precompile(input);
        },
      },
    ];
  });
}
