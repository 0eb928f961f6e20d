// The `virtual` platform, CCF's `Insecure_Virtual` format: evidence that names a fixed measurement,
// the host data (SHA-256 of what the node runs) and report data binding the node's public key.
// Nothing here is attested by hardware: a virtual node proves only table membership and the key
// binding. Use it for development and tests, never to protect real data.

import { fromBase64, fromUtf8, toBase64, toHex, utf8, equalBytes } from '../crypto/bytes.js';
import { sha256 } from '../crypto/hash.js';
import { publicKeyDer } from '../crypto/signing.js';
import { CocoError } from '../errors.js';

export const VIRTUAL_FORMAT = 'Insecure_Virtual';
export const VIRTUAL_MEASUREMENT = 'Insecure hard-coded virtual measurement v1';

export interface QuoteInfo {
  format: typeof VIRTUAL_FORMAT;
  /** Base64 of the evidence JSON. */
  quote: string;
  endorsements: string;
}

export interface VirtualEvidence {
  measurement: string;
  report_data: number[];
  host_data: string;
}

/** Evidence for a node with this public key, running code whose digest is `hostData`. */
export function virtualQuote(nodePublicKeyPem: string, hostData: Uint8Array): QuoteInfo {
  const evidence: VirtualEvidence = {
    measurement: VIRTUAL_MEASUREMENT,
    report_data: [...sha256(publicKeyDer(nodePublicKeyPem))],
    host_data: toHex(hostData),
  };
  return { format: VIRTUAL_FORMAT, quote: toBase64(utf8(JSON.stringify(evidence))), endorsements: '' };
}

export function parseVirtualQuote(quote: QuoteInfo): VirtualEvidence {
  if (quote.format !== VIRTUAL_FORMAT) throw new CocoError('InvalidQuote', `quote format ${JSON.stringify(quote.format)} is not ${VIRTUAL_FORMAT}`);
  let evidence: VirtualEvidence;
  try {
    evidence = JSON.parse(fromUtf8(fromBase64(quote.quote))) as VirtualEvidence;
  } catch {
    throw new CocoError('InvalidQuote', 'the virtual quote is not base64 JSON');
  }
  if (typeof evidence !== 'object' || evidence === null || typeof evidence.measurement !== 'string' || typeof evidence.host_data !== 'string' || !Array.isArray(evidence.report_data)) {
    throw new CocoError('InvalidQuote', 'the virtual quote needs measurement, report_data and host_data');
  }
  // Bytes, as CCF's JSON of a byte vector has them: a string or 256 would be read as some byte.
  if (!evidence.report_data.every((byte) => Number.isInteger(byte) && byte >= 0 && byte <= 255)) {
    throw new CocoError('InvalidQuote', 'the virtual quote\'s report_data must be a list of bytes (integers from 0 to 255)');
  }
  return evidence;
}

/** A well-formed quote whose measurement or host data the join policy does not allow (members may change that). */
export class QuoteNotAllowed extends CocoError {
  constructor(message: string) {
    super('InvalidQuote', message);
  }
}

export interface VirtualJoinPolicy {
  measurementAllowed(measurement: string): boolean;
  hostDataAllowed(hostDataHex: string): boolean;
}

/** CCF's checks for a virtual node: host data and measurement allowed, report data binds the key. */
export function verifyVirtualQuote(quote: QuoteInfo, nodePublicKeyPem: string, policy: VirtualJoinPolicy): VirtualEvidence {
  const evidence = parseVirtualQuote(quote);
  if (!policy.hostDataAllowed(evidence.host_data)) {
    throw new QuoteNotAllowed(`host data ${evidence.host_data} is not in public:ccf.gov.nodes.virtual.host_data: members allow it with an add_virtual_host_data proposal`);
  }
  if (!policy.measurementAllowed(evidence.measurement)) {
    throw new QuoteNotAllowed(`measurement "${evidence.measurement}" is not in public:ccf.gov.nodes.virtual.measurements: members allow it with an add_virtual_measurement proposal`);
  }
  const expected = sha256(publicKeyDer(nodePublicKeyPem));
  if (!equalBytes(Uint8Array.from(evidence.report_data.slice(0, 32)), expected)) {
    throw new CocoError('InvalidQuote', 'the quote\'s report data does not bind the node\'s public key');
  }
  return evidence;
}
