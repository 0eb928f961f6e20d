// `coco receipt verify FILE --service-cert PEM`: checks a JSON receipt offline: its leaf folds
// through the proof to a root the node signed, and the node is endorsed by the service.

import { parseArgs } from 'node:util';
import { fromUtf8 } from '../crypto/bytes.js';
import { CocoError } from '../errors.js';
import { verifyReceipt } from '../ledger/receipt.js';
import { isCoseReceipt, verifyCoseReceipt } from '../ledger/cose-receipt.js';
import { readInputFile } from '../node/read-input.js';
import { toHex } from '../crypto/bytes.js';

export const RECEIPT_USAGE = `Usage: coco receipt verify FILE --service-cert PEM [--ignore-validity]

Verifies a receipt (JSON, or COSE with Accept: application/cose, as GET /app/receipt returns it) against the service certificate, offline.
  --ignore-validity   accept certificates outside their validity period (judge an old receipt as of
                      its own time)
Exit status 0 if it verifies; 1 with the reason otherwise.
`;

function parseJsonReceipt(bytes: Uint8Array, file: string): unknown {
  try {
    return JSON.parse(fromUtf8(bytes));
  } catch (error) {
    throw new CocoError('ReceiptMalformed', `${file} is neither a COSE receipt nor JSON: ${(error as Error).message}`);
  }
}

export function runReceipt(args: string[]): number {
  const [command, ...rest] = args;
  const { values, positionals } = parseArgs({ args: rest, options: { 'service-cert': { type: 'string' }, 'ignore-validity': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  if (command !== 'verify' || values.help) {
    process.stdout.write(RECEIPT_USAGE);
    return command === 'verify' || command === '--help' || command === '-h' ? 0 : 2;
  }
  const file = positionals[0];
  if (file === undefined || values['service-cert'] === undefined) throw new CocoError('UsageError', `coco receipt verify needs a receipt file and --service-cert\n\n${RECEIPT_USAGE}`);
  const bytes = readInputFile(file, 'receipt');
  const serviceCertPem = fromUtf8(readInputFile(values['service-cert'], 'service certificate'));
  const result = isCoseReceipt(bytes) ? verifyCoseReceipt(bytes, serviceCertPem) : verifyReceipt(parseJsonReceipt(bytes, file), serviceCertPem, { at: values['ignore-validity'] ? 'ignore-validity' : new Date() });
  console.log(`Receipt verified${result.txId ? ` for transaction ${result.txId}` : ''}: signed root ${toHex(result.root)}, endorsed by the service certificate.`);
  return 0;
}
