// CCF's COSE endorsement of a service identity, the value of
// public:ccf.internal.previous_service_identity_endorsement written by the transaction that opens a
// service: a COSE_Sign1 by the service key whose payload is a public key (DER SPKI), its own at a
// new service's opening, the previous service's at a recovered one's, with the epoch that key
// signed. Built as CCF's endorse_previous_identity builds it (the protected header byte for byte,
// but for its time); endorsement-chain.ts verifies a chain of them.

import { fromBase64, fromUtf8, toBase64, utf8 } from '../crypto/bytes.js';
import { COSE_HEADER_ALG, decodeCoseSign1, signCoseSign1, type CoseSign1 } from '../crypto/cose-sign1.js';
import type { PrivateSigningKey } from '../crypto/signing.js';
import { CocoError } from '../errors.js';
import { COSE_CCF_CLAIMS, COSE_CWT_CLAIMS, CWT_IAT } from './signature.js';
import { formatTxId, parseTxId, type TxId } from './tx-id.js';

export const PREVIOUS_SERVICE_IDENTITY_ENDORSEMENT_MAP = 'public:ccf.internal.previous_service_identity_endorsement';

/** The keys of CCF's claims map (COSE_CCF_CLAIMS) in an endorsement (include/ccf/crypto/cose.h). */
export const CCF_EPOCH_BEGIN = 'epoch.start.txid';
export const CCF_EPOCH_END = 'epoch.end.txid';
export const CCF_EPOCH_END_MERKLE_ROOT = 'epoch.end.merkle.root';

/** The stored record (CCF's CoseEndorsement). */
export interface IdentityEndorsement {
  /** The tagged COSE_Sign1, its payload (the endorsed key) attached. */
  endorsement: Uint8Array;
  /** DER SPKI of the key that signed it: the service's, at the opening that wrote it. */
  endorsingKey: Uint8Array;
  /** The first transaction of the endorsed key's epoch. */
  epochBegin: TxId;
  /** Its last signed transaction; absent in a self-endorsement, whose epoch is still open. */
  epochEnd?: TxId;
  /** The seqno of the endorsement this one follows; absent in a self-endorsement. */
  previousVersion?: number;
}

export interface EndorsementSigning {
  /** The service's private key (PEM, or loaded). */
  serviceKey: string | PrivateSigningKey;
  /** DER SPKI of the key endorsed: the payload. */
  endorsedKey: Uint8Array;
  epochBegin: TxId;
  epochEnd?: TxId;
  /** The Merkle root of the endorsed epoch's last signature (with `epochEnd`). */
  lastSignedRoot?: Uint8Array;
  /** The CWT iat: seconds since the epoch. */
  issuedAtSeconds: number;
}

/** The COSE_Sign1 of an endorsement: alg, then CWT claims {iat}, then "ccf.v1" {begin[, end][, root]}, as CCF orders them. */
export function signIdentityEndorsement(input: EndorsementSigning): Uint8Array {
  const ccf = new Map<string, unknown>([[CCF_EPOCH_BEGIN, formatTxId(input.epochBegin)]]);
  if (input.epochEnd !== undefined) ccf.set(CCF_EPOCH_END, formatTxId(input.epochEnd));
  if (input.lastSignedRoot !== undefined) ccf.set(CCF_EPOCH_END_MERKLE_ROOT, input.lastSignedRoot);
  const protectedHeader = new Map<number | string, unknown>([
    [COSE_CWT_CLAIMS, new Map([[CWT_IAT, input.issuedAtSeconds]])],
    [COSE_CCF_CLAIMS, ccf],
  ]);
  return signCoseSign1({ privateKey: input.serviceKey, protectedHeader, payload: input.endorsedKey });
}

/** What an endorsement's COSE_Sign1 says, read (not verified). */
export interface EndorsementClaims {
  message: CoseSign1;
  /** The payload: DER SPKI of the endorsed key. */
  endorsedKey: Uint8Array;
  alg: number;
  issuedAtSeconds: number;
  epochBegin: string;
  epochEnd: string | undefined;
  lastSignedRoot: Uint8Array | undefined;
}

function malformed(reason: string): CocoError {
  return new CocoError('EndorsementMalformed', `service identity endorsement: ${reason}`);
}

export function readEndorsementClaims(cose: Uint8Array): EndorsementClaims {
  const message = decodeCoseSign1(cose, { requireTag: true });
  const header = message.protectedHeader;
  const alg = header.get(COSE_HEADER_ALG);
  if (typeof alg !== 'number') throw malformed('its protected header has no integer alg (1)');
  const cwt = header.get(COSE_CWT_CLAIMS);
  const iat = cwt instanceof Map ? cwt.get(CWT_IAT) : undefined;
  if (typeof iat !== 'number' || !Number.isSafeInteger(iat)) throw malformed(`its protected header has no CWT claims (${COSE_CWT_CLAIMS}) with an integer iat (${CWT_IAT})`);
  const ccf = header.get(COSE_CCF_CLAIMS);
  if (!(ccf instanceof Map)) throw malformed(`its protected header has no "${COSE_CCF_CLAIMS}" map`);
  const epochBegin = ccf.get(CCF_EPOCH_BEGIN);
  const epochEnd = ccf.get(CCF_EPOCH_END);
  const root = ccf.get(CCF_EPOCH_END_MERKLE_ROOT);
  if (typeof epochBegin !== 'string') throw malformed(`"${COSE_CCF_CLAIMS}" has no "${CCF_EPOCH_BEGIN}" text`);
  if (epochEnd !== undefined && typeof epochEnd !== 'string') throw malformed(`"${CCF_EPOCH_END}" must be text`);
  if (root !== undefined && !(root instanceof Uint8Array)) throw malformed(`"${CCF_EPOCH_END_MERKLE_ROOT}" must be a byte string`);
  if (message.payload === undefined || message.payload.length === 0) throw malformed('it endorses no key: its payload is empty or detached');
  return { message, endorsedKey: message.payload, alg, issuedAtSeconds: iat, epochBegin, epochEnd, lastSignedRoot: root && new Uint8Array(root) };
}

/** CCF's JSON of the record: bytes in base64, TxIDs as text, absent fields left out, names in order. */
export function encodeEndorsementRecord(record: IdentityEndorsement): Uint8Array {
  return utf8(
    JSON.stringify({
      endorsement: toBase64(record.endorsement),
      endorsement_epoch_begin: formatTxId(record.epochBegin),
      ...(record.epochEnd !== undefined && { endorsement_epoch_end: formatTxId(record.epochEnd) }),
      endorsing_key: toBase64(record.endorsingKey),
      ...(record.previousVersion !== undefined && { previous_version: record.previousVersion }),
    }),
  );
}

export function decodeEndorsementRecord(value: Uint8Array): IdentityEndorsement {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(fromUtf8(value)) as Record<string, unknown>;
  } catch (error) {
    throw malformed(`the record is not JSON (${(error as Error).message})`);
  }
  const text = (name: string): string => {
    const field = json[name];
    if (typeof field !== 'string') throw malformed(`the record's ${name} must be a string`);
    return field;
  };
  const txId = (name: string): TxId => {
    const field = text(name);
    if (!/^\d{1,15}\.\d{1,15}$/.test(field)) throw malformed(`the record's ${name} "${field}" is not a TxID ("<view>.<seqno>")`);
    return parseTxId(field);
  };
  const previousVersion = json.previous_version;
  if (previousVersion !== undefined && !(typeof previousVersion === 'number' && Number.isSafeInteger(previousVersion) && previousVersion > 0)) {
    throw malformed('the record\'s previous_version must be a positive seqno');
  }
  return {
    endorsement: fromBase64(text('endorsement')),
    endorsingKey: fromBase64(text('endorsing_key')),
    epochBegin: txId('endorsement_epoch_begin'),
    ...(json.endorsement_epoch_end !== undefined && { epochEnd: txId('endorsement_epoch_end') }),
    ...(previousVersion !== undefined && { previousVersion }),
  };
}
