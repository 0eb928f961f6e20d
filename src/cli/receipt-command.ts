// `coco receipt verify FILE --service-cert PEM`: checks a JSON receipt offline: its leaf folds
// through the proof to a root the node signed, and the node is endorsed by the service.

import { parseArgs } from 'node:util';
import { fromUtf8 } from '../crypto/bytes.js';
import { CocoError } from '../errors.js';
import { verifyReceipt } from '../ledger/receipt.js';
import { readInputFile } from '../node/read-input.js';
import { toHex } from '../crypto/bytes.js';

export const RECEIPT_USAGE = `Usage: coco receipt verify FILE --service-cert PEM [--ignore-validity]

Verifies a receipt (JSON, as GET /app/receipt returns it) against the service certificate, offline.
  --ignore-validity   accept certificates outside their validity period (judge an old receipt as of
                      its own time)
Exit status 0 if it verifies; 1 with the reason otherwise.
`;

export function runReceipt(args: string[]): number {
  const [command, ...rest] = args;
  const { values, positionals } = parseArgs({ args: rest, options: { 'service-cert': { type: 'string' }, 'ignore-validity': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  if (command !== 'verify' || values.help) {
    process.stdout.write(RECEIPT_USAGE);
    return command === 'verify' || command === '--help' || command === '-h' ? 0 : 2;
  }
  const file = positionals[0];
  if (file === undefined || values['service-cert'] === undefined) throw new CocoError('UsageError', `coco receipt verify needs a receipt file and --service-cert\n\n${RECEIPT_USAGE}`);
  let receipt: unknown;
  try {
    receipt = JSON.parse(fromUtf8(readInputFile(file, 'receipt')));
  } catch (error) {
    if (error instanceof CocoError) throw error;
    throw new CocoError('ReceiptMalformed', `${file} is not JSON: ${(error as Error).message}`);
  }
  const serviceCertPem = fromUtf8(readInputFile(values['service-cert'], 'service certificate'));
  const result = verifyReceipt(receipt, serviceCertPem, { at: values['ignore-validity'] ? 'ignore-validity' : new Date() });
  console.log(`Receipt verified${result.txId ? ` for transaction ${result.txId}` : ''}: signed root ${toHex(result.root)}, endorsed by the service certificate.`);
  return 0;
}
