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
import { ethereumClaimsDigest, outcomeOfRpcReceipt, type EthereumOutcome } from '../ethereum/receipt-claims.js';
import { asksForHelp, UsageError } from './usage-error.js';

export const RECEIPT_USAGE = `Usage: coco receipt verify FILE... --service-cert PEM [--ignore-validity] [--claims-digest HEX | --ethereum-tx HASH [--ethereum-receipt FILE]] [--json]

Verifies each receipt (JSON, or COSE with Accept: application/cose, as GET /app/receipt returns it;
or JSON as a JS app hands it out, ccf.historicalState.receipt) against the service certificate, offline.
  --ignore-validity   accept certificates outside their validity period (judge an old receipt as of
                      its own time)
  --claims-digest HEX the transaction's claims digest must be this (64 hex digits); a JSON receipt
                      without claims_digest is checked with this one in its leaf
  --ethereum-tx HASH  the transaction must be the one that ran this Ethereum transaction, with the
                      outcome its Ethereum receipt states (status, gas, logs: the claims digest is
                      SHA-256 of the hash and that receipt's consensus encoding), as
                      GET /app/ethereum/receipt?hash= returns it with the Ethereum receipt
  --ethereum-receipt FILE
                      that Ethereum receipt (eth_getTransactionReceipt's result), for a receipt that
                      does not carry it (a COSE one)
  --json              one JSON object per file on stdout, failures too: {"file", "verified": true,
                      "format": "json"|"cose", "transaction_ids", "signed_root", "claims_digest"
                      [, "ethereum": {"transaction_hash", "status", "gas_used", "logs"}]} or
                      {"file", "verified": false, "code", "reason"}
Exit status 0 if it verifies; 1 with the reason otherwise. Given several files, one line for each
(FILE: ...; a failure on stderr), and exit status 1 if any failed.
`;

/** What the caller expects the transaction to claim: a digest, or an Ethereum transaction and its outcome. */
type ExpectedClaims =
  | { digest: Uint8Array }
  | { ethereumTx: string; ethereumReceipt: unknown };

/** The claims the caller expects, from --claims-digest or --ethereum-tx (and --ethereum-receipt); undefined for none. */
function expectedClaims(values: { 'claims-digest'?: string; 'ethereum-tx'?: string; 'ethereum-receipt'?: string }): ExpectedClaims | undefined {
  const { 'claims-digest': digest, 'ethereum-tx': hash, 'ethereum-receipt': ethereumReceipt } = values;
  if (digest !== undefined && hash !== undefined) throw new CocoError('UsageError', 'give --claims-digest or --ethereum-tx, not both');
  if (ethereumReceipt !== undefined && hash === undefined) throw new CocoError('UsageError', '--ethereum-receipt goes with --ethereum-tx HASH, the hash of the transaction it is the receipt of');
  if (digest !== undefined) {
    if (!/^[0-9a-fA-F]{64}$/.test(digest)) throw new CocoError('UsageError', `--claims-digest must be 64 hex digits, got "${digest}"`);
    return { digest: fromHex(digest) };
  }
  if (hash !== undefined) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(hash)) throw new CocoError('UsageError', `--ethereum-tx must be a 0x-prefixed transaction hash of 64 hex digits, got "${hash}"`);
    return { ethereumTx: hash.toLowerCase(), ethereumReceipt: ethereumReceipt === undefined ? undefined : readEthereumReceipt(ethereumReceipt) };
  }
  return undefined;
}

/** The Ethereum receipt in `file`: eth_getTransactionReceipt's result, or the whole JSON-RPC response holding it. */
function readEthereumReceipt(file: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fromUtf8(readInputFile(file, 'Ethereum receipt (--ethereum-receipt)')));
  } catch (error) {
    if (error instanceof CocoError) throw error;
    throw new CocoError('UsageError', `--ethereum-receipt ${file} is not JSON: ${(error as Error).message}`);
  }
  const response = parsed as { jsonrpc?: unknown; result?: unknown; error?: { message?: unknown } } | null;
  if (response?.jsonrpc !== undefined && response.error !== undefined) {
    throw new CocoError('UsageError', `--ethereum-receipt ${file} holds a JSON-RPC error answer, not a receipt: ${String(response.error?.message)}`);
  }
  const receipt = response?.jsonrpc !== undefined && 'result' in response ? response.result : parsed;
  if (receipt === null || receipt === undefined) {
    throw new CocoError('UsageError', `--ethereum-receipt ${file} holds no receipt (eth_getTransactionReceipt answers null for a transaction unknown or not yet committed): ask again once it is committed`);
  }
  return receipt;
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
      'ethereum-receipt': { type: 'string' },
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
    console.log(describeReceipt(verifyReceiptFile(files[0]!, check)));
    return 0;
  }
  let failed = 0;
  for (const file of files) {
    try {
      console.log(`${file}: ${describeReceipt(verifyReceiptFile(file, check))}`);
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
      const { format, txIds, root, claimsDigest, ethereum } = verifyReceiptFile(file, check);
      line = { file, verified: true, format, transaction_ids: txIds, signed_root: toHex(root), claims_digest: claimsDigest ? toHex(claimsDigest) : null };
      if (ethereum !== undefined) {
        const { hash, outcome } = ethereum;
        line.ethereum = { transaction_hash: hash, status: outcome.status, gas_used: outcome.cumulativeGasUsed.toString(), logs: outcome.logs.length };
      }
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
  claims: ExpectedClaims | undefined;
}

/** What a receipt proved: the transactions (a COSE receipt may prove several), the signed root, the claims folded in. */
interface ReceiptProof {
  format: 'json' | 'cose';
  txIds: string[];
  root: Uint8Array;
  claimsDigest: Uint8Array | undefined;
  /** Whether the caller's claims were checked (a digest, or an Ethereum transaction). */
  claimsChecked: boolean;
  /** The Ethereum transaction and outcome the transaction was checked to claim (--ethereum-tx). */
  ethereum?: { hash: string; outcome: EthereumOutcome };
}

/** Verifies the receipt in `file` (throws a CocoError if it does not verify). */
function verifyReceiptFile(file: string, { serviceCertPem, at, claims }: ReceiptCheck): ReceiptProof {
  const bytes = readInputFile(file, 'receipt');
  const cose = isCoseReceipt(bytes);
  const json = cose ? undefined : parseJsonReceipt(bytes, file);
  const ethereum = claims !== undefined && 'ethereumTx' in claims ? ethereumClaims(claims, json, file) : undefined;
  const digest = ethereum?.digest ?? (claims !== undefined && 'digest' in claims ? claims.digest : undefined);
  const expected = digest && { claimsDigest: digest };
  const result: VerifiedReceipt & { txIds?: string[] } = cose ? verifyCoseReceipt(bytes, serviceCertPem, { at, ...expected }) : verifyReceipt(json, serviceCertPem, { at, ...expected });
  const txIds = result.txIds ?? (result.txId === undefined ? [] : [result.txId]);
  return { format: cose ? 'cose' : 'json', txIds, root: result.root, claimsDigest: result.claimsDigest ?? digest, claimsChecked: digest !== undefined, ...(ethereum && { ethereum: { hash: ethereum.hash, outcome: ethereum.outcome } }) };
}

/**
 * The claims digest of the Ethereum transaction `ethereumTx` with the outcome its Ethereum receipt
 * states: --ethereum-receipt's, or the one GET /app/ethereum/receipt puts beside the Coco receipt.
 */
function ethereumClaims({ ethereumTx, ethereumReceipt }: { ethereumTx: string; ethereumReceipt: unknown }, json: unknown, file: string): { hash: string; outcome: EthereumOutcome; digest: Uint8Array } {
  const stated = ethereumReceipt ?? (json as { ethereum_receipt?: unknown } | undefined)?.ethereum_receipt;
  if (stated === undefined) {
    throw new CocoError(
      'UsageError',
      `${file} does not carry the Ethereum receipt of ${ethereumTx}, and the transaction claims its outcome too: give it with --ethereum-receipt FILE (eth_getTransactionReceipt's result), or verify the JSON answer of GET /app/ethereum/receipt?hash=${ethereumTx}, which carries it`,
    );
  }
  const { hash, outcome } = outcomeOfRpcReceipt(stated);
  if (`0x${toHex(hash)}` !== ethereumTx) {
    throw new CocoError('ReceiptClaimsMismatch', `the Ethereum receipt given is that of transaction 0x${toHex(hash)}, not of ${ethereumTx}`);
  }
  return { hash: ethereumTx, outcome, digest: ethereumClaimsDigest(hash, outcome) };
}

/** The line that says what a receipt proves. */
function describeReceipt({ txIds, root, claimsDigest, claimsChecked, ethereum }: ReceiptProof): string {
  const claimed = claimsChecked ? `, claims digest ${toHex(claimsDigest!)} as expected` : '';
  const proved = txIds.length === 0 ? '' : ` for transaction${txIds.length > 1 ? 's' : ''} ${txIds.join(', ')}`;
  return `Receipt verified${proved}: signed root ${toHex(root)}, endorsed by the service certificate${claimed}${ethereum === undefined ? '' : `: ${describeOutcome(ethereum)}`}.`;
}

/** What the receipt proved of an Ethereum transaction. */
function describeOutcome({ hash, outcome }: { hash: string; outcome: EthereumOutcome }): string {
  const logs = `${outcome.logs.length} log${outcome.logs.length === 1 ? '' : 's'}`;
  return `Ethereum transaction ${hash} ${outcome.status === 1 ? 'succeeded (status 1)' : 'failed (status 0: reverted or out of gas; only its fee and nonce took effect)'}, gas used ${outcome.cumulativeGasUsed}, ${logs}`;
}
