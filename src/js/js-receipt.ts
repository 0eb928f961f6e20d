// The receipt of a historical state as JS apps see it: CCF's `ccf_receipt_to_js`
// (src/js/extensions/ccf/historical.cpp), which differs from the REST receipt. Members in CCF's order;
// `is_signature_transaction` always; a signature transaction has `root_hex` (the signed root) and
// no proof, any other `leaf_components` and `proof`; no `service_endorsements`.

import type { Receipt } from '../ledger/receipt.js';
import type { JsValue } from './js-value.js';

export function jsReceipt(receipt: Receipt): JsValue {
  const { signature, cert, node_id } = receipt;
  if ('leaf' in receipt) return { signature, cert, node_id, is_signature_transaction: true, root_hex: receipt.leaf };
  const { write_set_digest, commit_evidence, claims_digest } = receipt.leaf_components;
  return {
    signature,
    cert,
    node_id,
    is_signature_transaction: false,
    leaf_components: { write_set_digest, commit_evidence, ...(claims_digest !== undefined && { claims_digest }) },
    proof: receipt.proof,
  };
}
