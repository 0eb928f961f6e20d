// What a node keeps of each signature transaction to build receipts: the signing node, its
// endorsed certificate, its signature over the Merkle root, and the service's COSE signature.

import type { MapChanges } from '../kv/write-set.js';
import { COSE_SIGNATURES_MAP, decodeCoseSignatureValue, decodePrimarySignature, SIGNATURES_MAP, singletonWrite } from '../ledger/signature.js';

export interface SignatureRecord {
  seqno: number;
  /** The node that signed, and its endorsed certificate: what a receipt names. */
  nodeId: string;
  certPem: string;
  signatureDer: Uint8Array;
  root: Uint8Array;
  /** The service's COSE Sign1 over the root, the base of COSE receipts. */
  cose: Uint8Array | undefined;
}

/** The signature record of a transaction, or undefined when it is not a signature transaction. */
export function signatureRecordOf(seqno: number, publicMaps: readonly MapChanges[]): SignatureRecord | undefined {
  return signatureRecordFrom(seqno, (map) => singletonWrite(publicMaps, map));
}

/** The signature record built from the signature tables' values, however they are read. */
export function signatureRecordFrom(seqno: number, valueOf: (map: string) => Uint8Array | undefined): SignatureRecord | undefined {
  const signature = valueOf(SIGNATURES_MAP);
  if (signature === undefined) return undefined;
  const decoded = decodePrimarySignature(signature);
  const cose = valueOf(COSE_SIGNATURES_MAP);
  return {
    seqno,
    nodeId: decoded.json.node,
    certPem: decoded.json.cert ?? '',
    signatureDer: decoded.signatureDer,
    root: decoded.root,
    cose: cose && decodeCoseSignatureValue(cose),
  };
}
