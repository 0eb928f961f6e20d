// CCF's `cose_signatures` setting: the issuer and subject every COSE signature of the ledger (and so
// every COSE receipt) names in its CWT claims, set once for the service in the start command and
// empty by default, as in CCF. CCF hands it to joiners in their join response and keeps it in no
// table; Coco's nodes also restart and recover from their ledgers, so the genesis transaction
// records it in `public:coco.service.cose_signatures` and every primary signs with what it holds.

import { decodeJson, encodeJson, SINGLETON } from '../governance/builtin-tables.js';
import type { Transaction } from '../kv/transaction.js';

export const COSE_SIGNATURES_TABLE = 'public:coco.service.cose_signatures';

export interface CoseSignatureClaims {
  issuer: string;
  subject: string;
}

export const NO_COSE_SIGNATURE_CLAIMS: CoseSignatureClaims = { issuer: '', subject: '' };

export function writeCoseSignatureClaims(tx: Transaction, claims: CoseSignatureClaims): void {
  tx.map(COSE_SIGNATURES_TABLE).set(SINGLETON, encodeJson(claims));
}

/** What the service's genesis recorded; undefined for a service started before it recorded any (its signatures name empty ones). */
export function recordedCoseSignatureClaims(tx: Transaction): CoseSignatureClaims | undefined {
  const stored = tx.map(COSE_SIGNATURES_TABLE).get(SINGLETON);
  return stored === undefined ? undefined : decodeJson<CoseSignatureClaims>(stored, COSE_SIGNATURES_TABLE);
}
