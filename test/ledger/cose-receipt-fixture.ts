// COSE receipts for the transactions of a generated ledger, built offline as a node builds them:
// the service's COSE signature of the first signature transaction after the transaction, with
// the transaction's inclusion proof up to it.

import { decodeChunk } from '../../src/ledger/chunk-file.js';
import { buildCoseReceipt } from '../../src/ledger/cose-receipt.js';
import type { LedgerEntry } from '../../src/ledger/entry.js';
import { writeSetDigest } from '../../src/ledger/leaf.js';
import { COSE_SIGNATURES_MAP, decodeCoseSignatureValue, singletonWrite } from '../../src/ledger/signature.js';
import type { GeneratedLedger } from '../support/generated-ledger.js';

export interface CoseReceipts {
  entries: LedgerEntry[];
  /** Seqnos of the signature transactions with a COSE signature. */
  signatureSeqnos: number[];
  /** The receipt of the transaction at `seqno` (which a later signature must cover). */
  receiptFor: (seqno: number) => Uint8Array;
}

export function coseReceiptsOf(generated: GeneratedLedger): CoseReceipts {
  const entries = generated.chunks.flatMap((c) => decodeChunk(c.bytes, c.name).entries);
  const signatureSeqnos = entries.filter((e) => singletonWrite(e.publicMaps, COSE_SIGNATURES_MAP) !== undefined).map((e) => e.txId.seqno);
  const receiptFor = (seqno: number): Uint8Array => {
    const signatureSeqno = signatureSeqnos.find((s) => s > seqno)!;
    const signatureEntry = entries[signatureSeqno - 1]!;
    const entry = entries[seqno - 1]!;
    return buildCoseReceipt({
      signatureCose: decodeCoseSignatureValue(singletonWrite(signatureEntry.publicMaps, COSE_SIGNATURES_MAP)!),
      proof: generated.writer.tree.proofAt(seqno, signatureSeqno),
      writeSetDigest: writeSetDigest(entry),
      commitEvidence: generated.commitEvidence.get(seqno)!,
      claimsDigest: entry.claimsDigest!,
    });
  };
  return { entries, signatureSeqnos, receiptFor };
}
