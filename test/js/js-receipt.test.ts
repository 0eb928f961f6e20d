// The receipt of a historical state as a JS app reads it (ccf.historicalState.receipt, the states of
// ccf.historical.getStateRange): CCF's ccf_receipt_to_js shape, member for member and in its order.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildReceipt, buildSignatureReceipt, type Receipt } from '../../src/ledger/receipt.js';
import { Store } from '../../src/kv/store.js';
import type { HistoricalStateInput } from '../../src/js/js-host.js';
import { interpreterWith, testCall } from './js-test-host.js';

const digest = (byte: number): Uint8Array => new Uint8Array(32).fill(byte);
const hex = (byte: number): string => byte.toString(16).padStart(2, '0').repeat(32);
const signer = { signatureDer: new Uint8Array([0x30, 0x06, 1, 2, 3, 4, 5, 6]), nodeId: hex(0xee), certPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' };
const signature = 'MAYBAgMEBQY=';
const commitEvidence = `ce:2.7:${hex(0xce)}`;

const RECEIPTS: [string, Receipt, string][] = [
  [
    'an ordinary transaction: leaf components and proof',
    buildReceipt({ ...signer, proof: [{ left: digest(1) }, { right: digest(2) }], writeSetDigest: digest(0xaa), commitEvidence, claimsDigest: digest(0xcd) }),
    JSON.stringify({
      signature,
      cert: signer.certPem,
      node_id: signer.nodeId,
      is_signature_transaction: false,
      leaf_components: { write_set_digest: hex(0xaa), commit_evidence: commitEvidence, claims_digest: hex(0xcd) },
      proof: [{ left: hex(1) }, { right: hex(2) }],
    }),
  ],
  [
    'an entry without a claims digest: none in the leaf components',
    buildReceipt({ ...signer, proof: [], writeSetDigest: digest(0xaa), commitEvidence }),
    JSON.stringify({
      signature,
      cert: signer.certPem,
      node_id: signer.nodeId,
      is_signature_transaction: false,
      leaf_components: { write_set_digest: hex(0xaa), commit_evidence: commitEvidence },
      proof: [],
    }),
  ],
  [
    'a signature transaction: the signed root as root_hex, no proof',
    buildSignatureReceipt({ ...signer, root: digest(0x55) }),
    JSON.stringify({ signature, cert: signer.certPem, node_id: signer.nodeId, is_signature_transaction: true, root_hex: hex(0x55) }),
  ],
  [
    'service endorsements stay out, as in CCF',
    buildSignatureReceipt({ ...signer, root: digest(0x55), serviceEndorsements: ['-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n'] }),
    JSON.stringify({ signature, cert: signer.certPem, node_id: signer.nodeId, is_signature_transaction: true, root_hex: hex(0x55) }),
  ],
];

const APP = {
  '/r.js': `
    export const fromHistoricalState = () => JSON.stringify(ccf.historicalState.receipt);
    export const fromRange = () => JSON.stringify(ccf.historical.getStateRange(1, 7, 7, 60)[0].receipt);`,
};

for (const [name, receipt, expected] of RECEIPTS) {
  test(`a JS app sees CCF's receipt: ${name}`, async () => {
    const js = await interpreterWith(APP);
    const { env, host } = testCall();
    const state: HistoricalStateInput = { transactionId: { view: 2, seqno: 7 }, receipt, tx: new Store().beginTransaction() };
    host.historical = { getStateRange: () => [state], dropCachedStates: () => true };
    assert.equal(js.call('/r.js', 'fromHistoricalState', [], { ...env, historicalState: state }), expected);
    assert.equal(js.call('/r.js', 'fromRange', [], env), expected);
    js.dispose();
  });
}
