// The EIP-4844 point evaluation precompile (0x0a), active since Cancun: it checks a KZG proof that
// a blob's polynomial takes value y at point z. EthereumJS's 0x0a asks a KZG library on its Common,
// synchronously; Coco checks proofs on a worker thread (kzg-verifier.ts), so each call runs
// EthereumJS's precompile twice: first to learn which proof it would check (it may refuse the input
// before: gas, length, versioned hash), then, if the proof is not valid, with the thread's verdict.
// The first call in a process waits for the library to load, outside that run's time limit.

import type { Common } from '@ethereumjs/common';
import { getActivePrecompiles, type CustomPrecompile, type PrecompileInput } from '@ethereumjs/evm';
import type { KZG } from '@ethereumjs/util';
import { CocoError } from '../errors.js';
import { kzgLibraryLoaded, verifyKzgProof, type KzgProofInput } from './kzg-verifier.js';

const ADDRESS = '0x000000000000000000000000000000000000000a';

/** One verification on the development machine takes ~21 ms once compiled; the estimate the time limit checks before a call. */
const KZG_VERIFY_ESTIMATE_MS = 25;

/** What the precompile needs from the time limit of the run in progress (see ExecutionBudget). */
export interface PrecompileClock {
  /** Throws when `estimateMs` more would pass what is left of the run's time. */
  ensure(estimateMs: number): void;
  /** Runs `work` without counting its time against the run. */
  outside<T>(work: () => Promise<T>): Promise<T>;
}

/** A KZG for EthereumJS's 0x0a that answers verifyProof with `verify`; the precompile asks nothing else. */
function kzgAnswering(verify: (input: KzgProofInput) => boolean): KZG {
  const unused = (): never => {
    throw new CocoError('InternalError', 'the point evaluation precompile asked its KZG library for something other than a proof check');
  };
  return {
    verifyProof: (commitment, z, y, proof) => verify({ commitment, z, y, proof }),
    blobToKzgCommitment: unused,
    computeBlobProof: unused,
    verifyBlobProofBatch: unused,
    computeCells: unused,
    computeCellsAndProofs: unused,
    recoverCellsAndProofs: unused,
    verifyCellKzgProofBatch: unused,
  };
}

/** EthereumJS's 0x0a for `common`'s chain, its proofs checked by the verifier thread; none before Cancun. */
export function kzgPointEvaluation(common: Common, clock: PrecompileClock | undefined): CustomPrecompile[] {
  const precompile = getActivePrecompiles(common).get(ADDRESS.slice(2));
  if (precompile === undefined) return [];
  return [
    {
      address: ADDRESS,
      function: async (input: PrecompileInput) => {
        const crypto = input.common.customCrypto;
        let asked: KzgProofInput | undefined;
        crypto.kzg = kzgAnswering((proof) => {
          asked = proof;
          return true;
        });
        const ifValid = await precompile(input);
        if (asked === undefined) return ifValid;
        await (clock === undefined ? kzgLibraryLoaded() : clock.outside(kzgLibraryLoaded));
        clock?.ensure(KZG_VERIFY_ESTIMATE_MS);
        if (await verifyKzgProof(asked)) return ifValid;
        crypto.kzg = kzgAnswering(() => false);
        return precompile(input);
      },
    },
  ];
}
