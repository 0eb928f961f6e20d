// `coco receipt verify FILE... --service-cert PEM`: checks each JSON or COSE receipt offline: its leaf
// folds through the proof to a root signed by a node the service endorses (JSON) or by the service
// itself (COSE); with --claims-digest or --ethereum-tx, also that the transaction claims what the
// caller expects.

import { parseArgs } from 'node:util';
import { CocoError } from '../errors.js';
import { verifyReceipt, type VerifiedReceipt } from '../ledger/receipt.js';
import { isCoseReceipt, verifyCoseReceipt } from '../ledger/cose-receipt.js';
import { readInputFile } from '../node/read-input.js';
import { fromHex, fromUtf8, toHex } from '../crypto/bytes.js';
import { ethereumClaimsDigest } from '../ethereum/receipt-claims.js';
import { asksForHelp, UsageError } from './usage-error.js';

export const RECEIPT_USAGE = `Usage: coco receipt verify FILE... --service-cert PEM [--ignore-validity] [--claims-digest HEX | --ethereum-tx HASH] [--json]

Verifies each receipt (JSON, or COSE with Accept: application/cose, as GET /app/receipt returns it;
or JSON as a JS app hands it out, ccf.historicalState.receipt) against the service certificate, offline.
  --ignore-validity   accept certificates outside their validity period (judge an old receipt as of
                      its own time)
  --claims-digest HEX the transaction's claims digest must be this (64 hex digits); a JSON receipt
                      without claims_digest is checked with this one in its leaf
  --ethereum-tx HASH  the transaction must be the one that ran this Ethereum transaction (its claims
                      digest is SHA-256 of the hash), as GET /app/ethereum/receipt?hash= returns it
  --json              one JSON object per file on stdout, failures too: {"file", "verified": true,
                      "format": "json"|"cose", "transaction_ids", "signed_root", "claims_digest"} or
                      {"file", "verified": false, "code", "reason"}
Exit status 0 if it verifies; 1 with the reason otherwise. Given several files, one line for each
(FILE: ...; a failure on stderr), and exit status 1 if any failed.
`;

/** The claims digest the caller expects, from --claims-digest or --ethereum-tx; undefined for none. */
function expectedClaims(values: { 'claims-digest'?: string; 'ethereum-tx'?: string }): Uint8Array | undefined {
  const { 'claims-digest': digest, 'ethereum-tx': hash } = values;
  if (digest !== undefined && hash !== undefined) throw new CocoError('UsageError', 'give --claims-digest or --ethereum-tx, not both');
  if (digest !== undefined) {
    if (!/^[0-9a-fA-F]{64}$/.test(digest)) throw new CocoError('UsageError', `--claims-digest must be 64 hex digits, got "${digest}"`);
    return fromHex(digest);
  }
  if (hash !== undefined) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(hash)) throw new CocoError('UsageError', `--ethereum-tx must be a 0x-prefixed transaction hash of 64 hex digits, got "${hash}"`);
    return ethereumClaimsDigest(fromHex(hash.slice(2)));
  }
  return undefined;
}

function parseJsonReceipt(bytes: Uint8Array, file: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fromUtf8(bytes));
  } catch (error) {
    throw new CocoError('ReceiptMalformed', `${file} is neither a COSE receipt nor JSON: ${(error as Error).message}`);
  }
  // What a node answered instead of a receipt (a 202 to ask again, a 404), saved as one.
  const answer = (parsed as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (typeof answer?.code === 'string') {
    throw new CocoError('ReceiptMalformed', `${file} holds the node's error answer, not a receipt: ${answer.code}: ${String(answer.message)} (ask for the receipt again, and save it only when the answer is 200)`);
  }
  return parsed;
}

export function runReceipt(args: string[]): number {
  const [command, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      'service-cert': { type: 'string' },
      'ignore-validity': { type: 'boolean' },
      'claims-digest': { type: 'string' },
      'ethereum-tx': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help || asksForHelp(command)) {
    process.stdout.write(RECEIPT_USAGE);
    return 0;
  }
  if (command !== 'verify') throw new UsageError(command === undefined ? 'missing receipt command' : `unknown receipt command "${command}"`, RECEIPT_USAGE);
  const files = positionals;
  if (files.length === 0 || values['service-cert'] === undefined) throw new UsageError('receipt verify needs a receipt file and --service-cert', RECEIPT_USAGE);
  const claims = expectedClaims(values);
  const check: ReceiptCheck = {
    serviceCertPem: fromUtf8(readInputFile(values['service-cert'], 'service certificate')),
    at: values['ignore-validity'] ? 'ignore-validity' : new Date(),
    claims,
  };
  if (values.json) return printJsonResults(files, check);
  // One receipt: its line, or its failure as any command's (coco: reason [code], exit 1).
  if (files.length === 1) {
    console.log(describeReceipt(verifyReceiptFile(files[0]!, check), claims));
    return 0;
  }
  let failed = 0;
  for (const file of files) {
    try {
      console.log(`${file}: ${describeReceipt(verifyReceiptFile(file, check), claims)}`);
    } catch (error) {
      if (!(error instanceof CocoError)) throw error;
      failed += 1;
      console.error(`coco receipt verify: ${file}: FAILED ${error.message} [${error.code}]`);
    }
  }
  if (failed === 0) return 0;
  console.error(`coco receipt verify: ${failed} of ${files.length} receipts failed`);
  return 1;
}

/** `--json`: one object per file (JSON Lines), failures on stdout too, so that a script reads one stream. */
function printJsonResults(files: string[], check: ReceiptCheck): number {
  let failed = 0;
  for (const file of files) {
    let line: Record<string, unknown>;
    try {
      const { format, txIds, root, claimsDigest } = verifyReceiptFile(file, check);
      line = { file, verified: true, format, transaction_ids: txIds, signed_root: toHex(root), claims_digest: claimsDigest ? toHex(claimsDigest) : null };
    } catch (error) {
      if (!(error instanceof CocoError)) throw error;
      failed += 1;
      line = { file, verified: false, code: error.code, reason: error.message };
    }
    console.log(JSON.stringify(line));
  }
  return failed === 0 ? 0 : 1;
}

interface ReceiptCheck {
  serviceCertPem: string;
  at: Date | 'ignore-validity';
  claims: Uint8Array | undefined;
}

/** What a receipt proved: the transactions (a COSE receipt may prove several), the signed root, the claims folded in. */
interface ReceiptProof {
  format: 'json' | 'cose';
  txIds: string[];
  root: Uint8Array;
  claimsDigest: Uint8Array | undefined;
}

/** Verifies the receipt in `file` (throws a CocoError if it does not verify). */
function verifyReceiptFile(file: string, { serviceCertPem, at, claims }: ReceiptCheck): ReceiptProof {
  const bytes = readInputFile(file, 'receipt');
  const expected = claims && { claimsDigest: claims };
  const cose = isCoseReceipt(bytes);
  const result: VerifiedReceipt & { txIds?: string[] } = cose ? verifyCoseReceipt(bytes, serviceCertPem, expected) : verifyReceipt(parseJsonReceipt(bytes, file), serviceCertPem, { at, ...expected });
  const txIds = result.txIds ?? (result.txId === undefined ? [] : [result.txId]);
  return { format: cose ? 'cose' : 'json', txIds, root: result.root, claimsDigest: result.claimsDigest ?? claims };
}

/** The line that says what a receipt proves. */
function describeReceipt({ txIds, root }: ReceiptProof, claims: Uint8Array | undefined): string {
  const claimed = claims === undefined ? '' : `, claims digest ${toHex(claims)} as expected`;
  const proved = txIds.length === 0 ? '' : ` for transaction${txIds.length > 1 ? 's' : ''} ${txIds.join(', ')}`;
  return `Receipt verified${proved}: signed root ${toHex(root)}, endorsed by the service certificate${claimed}.`;
}
