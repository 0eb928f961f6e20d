// Specification of CCF JSON receipts: receipts built from a Merkle proof and a node signature verify
// against the service certificate (directly or through service endorsements), any tampering or a
// foreign service fails with ReceiptInvalid, bad shapes fail with ReceiptMalformed naming the field,
// and real receipts issued by Azure Confidential Ledger (a CCF service) verify.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { concatBytes, fromBase64, toBase64, toHex, utf8 } from '../../src/crypto/bytes.js';
import { publicKeyId } from '../../src/crypto/entity-id.js';
import { sha256 } from '../../src/crypto/hash.js';
import { generateKeyPair, signDigest, type KeyPair } from '../../src/crypto/signing.js';
import { createCsr, createSelfSignedCertificate, issueCertificate } from '../../src/crypto/x509.js';
import { derToPem, pemToDer } from '../../src/crypto/pem.js';
import { CocoError } from '../../src/errors.js';
import { MerkleTree } from '../../src/ledger/merkle-tree.js';
import {
  RECEIPT_PROOF_STEPS_MAX,
  buildReceipt,
  buildSignatureReceipt,
  computeLeaf,
  verifyReceipt,
  type Receipt,
  type TxReceipt,
} from '../../src/ledger/receipt.js';

const VALID_FROM = new Date('2025-01-01T00:00:00Z');
/** An instant when every certificate the tests issue is valid. */
const AT = new Date('2025-01-15T00:00:00Z');
const VIEW = 3;
const TREE_SIZE = 23;
/** The signature transaction signs the root of every leaf before it. */
const SIGNATURE_SEQNO = TREE_SIZE;

interface Service {
  keyPair: KeyPair;
  certPem: string;
}

interface Node {
  keyPair: KeyPair;
  certPem: string;
  nodeId: string;
}

interface Transaction {
  writeSetDigest: Uint8Array;
  commitEvidence: string;
  claimsDigest: Uint8Array;
}

let service: Service;
let otherService: Service;
let node: Node;
let tree: MerkleTree;
let transactions: Transaction[];
let root: Uint8Array;
let rootSignature: Uint8Array;

function newService(): Service {
  const keyPair = generateKeyPair('P-384');
  const certPem = createSelfSignedCertificate({
    subjectCn: 'CCF Service',
    keyPair,
    validFrom: VALID_FROM,
    validityDays: 365,
    isCa: true,
  });
  return { keyPair, certPem };
}

function issue(subjectCn: string, keyPair: KeyPair, issuer: Service, isCa: boolean): string {
  return issueCertificate({
    csrPem: createCsr({ subjectCn, keyPair }),
    issuerCertPem: issuer.certPem,
    issuerKeyPair: issuer.keyPair,
    validFrom: VALID_FROM,
    validityDays: 30,
    isCa,
  });
}

/** `previous`'s identity endorsed by `current`'s key, as a recovered service endorses its predecessor. */
function endorsePrevious(previous: Service, current: Service): string {
  return issueCertificate({ subjectCertPem: previous.certPem, issuerCertPem: current.certPem, issuerKeyPair: current.keyPair, validFrom: VALID_FROM, validityDays: 30, isCa: true });
}

function newNode(endorser: Service): Node {
  const keyPair = generateKeyPair('P-384');
  const certPem = issue('CCF Node', keyPair, endorser, false);
  return { keyPair, certPem, nodeId: publicKeyId(certPem) };
}

function transactionAt(seqno: number): Transaction {
  return {
    writeSetDigest: sha256(utf8(`write set ${seqno}`)),
    commitEvidence: `ce:${VIEW}.${seqno}:${toHex(sha256(utf8(`nonce ${seqno}`)))}`,
    claimsDigest: seqno % 3 === 0 ? new Uint8Array(32) : sha256(utf8(`claims ${seqno}`)),
  };
}

function receiptFor(seqno: number, signer: Node = node): TxReceipt {
  const tx = transactions[seqno] as Transaction;
  return buildReceipt({
    proof: tree.proofAt(seqno, SIGNATURE_SEQNO),
    signatureDer: signer === node ? rootSignature : signDigest(signer.keyPair.privateKeyPem, root),
    nodeId: signer.nodeId,
    certPem: signer.certPem,
    writeSetDigest: tx.writeSetDigest,
    commitEvidence: tx.commitEvidence,
    claimsDigest: tx.claimsDigest,
  });
}

/** A deep copy as JSON would carry it, for tampering. */
function copy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Changes one hex digit of a hex string. */
function flipHex(hex: string, at = 0): string {
  const digit = hex[at] === '0' ? '1' : '0';
  return hex.slice(0, at) + digit + hex.slice(at + 1);
}

function assertCode(fn: () => unknown, code: string, mentions?: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof CocoError, `expected a CocoError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (mentions !== undefined) assert.ok(error.message.includes(mentions), `"${error.message}" should name ${mentions}`);
    return true;
  });
}

before(() => {
  [service, otherService] = [newService(), newService()];
  node = newNode(service);
  transactions = Array.from({ length: TREE_SIZE + 1 }, (_, seqno) => transactionAt(seqno));
  tree = new MerkleTree();
  tree.append(new Uint8Array(32)); // leaf 0: the placeholder the ledger appends, so leaf index = seqno
  for (let seqno = 1; seqno <= TREE_SIZE; seqno++) {
    const tx = transactions[seqno] as Transaction;
    tree.append(computeLeaf(tx.writeSetDigest, tx.commitEvidence, tx.claimsDigest));
  }
  root = tree.rootAt(SIGNATURE_SEQNO);
  rootSignature = signDigest(node.keyPair.privateKeyPem, root);
});

describe('computeLeaf', () => {
  it('is SHA-256 of write set digest ‖ SHA-256(commit evidence) ‖ claims digest', () => {
    const tx = transactionAt(5);
    const expected = sha256(concatBytes(tx.writeSetDigest, sha256(utf8(tx.commitEvidence)), tx.claimsDigest));
    assert.deepEqual(computeLeaf(tx.writeSetDigest, tx.commitEvidence, tx.claimsDigest), expected);
  });

  it('leaves the claims digest out when there is none', () => {
    const tx = transactionAt(5);
    assert.deepEqual(
      computeLeaf(tx.writeSetDigest, tx.commitEvidence),
      sha256(concatBytes(tx.writeSetDigest, sha256(utf8(tx.commitEvidence)))),
    );
  });

  it('rejects digests that are not 32 bytes', () => {
    assertCode(() => computeLeaf(new Uint8Array(31), 'ce:1.1:00'), 'InvalidArgument');
    assertCode(() => computeLeaf(new Uint8Array(32), 'ce:1.1:00', new Uint8Array(33)), 'InvalidArgument');
  });
});

describe('buildReceipt', () => {
  it("writes CCF's shape: hex digests and proof, base64 DER signature, keys in CCF's order", () => {
    const receipt = receiptFor(7);
    assert.deepEqual(Object.keys(receipt), ['cert', 'leaf_components', 'node_id', 'proof', 'signature']);
    assert.deepEqual(Object.keys(receipt.leaf_components), ['claims_digest', 'commit_evidence', 'write_set_digest']);
    assert.equal(receipt.signature, toBase64(rootSignature));
    assert.equal(receipt.node_id, node.nodeId);
    assert.equal(receipt.leaf_components.write_set_digest, toHex(transactionAt(7).writeSetDigest));
    assert.deepEqual(
      receipt.proof,
      tree.proofAt(7, SIGNATURE_SEQNO).map((step) => ('left' in step ? { left: toHex(step.left) } : { right: toHex(step.right) })),
    );
  });

  it('adds service_endorsements only when given', () => {
    const base = { proof: [], signatureDer: rootSignature, nodeId: node.nodeId, certPem: node.certPem, root };
    assert.equal('service_endorsements' in buildSignatureReceipt(base), false);
    assert.deepEqual(buildSignatureReceipt({ ...base, serviceEndorsements: [service.certPem] }).service_endorsements, [service.certPem]);
  });

  it('rejects commit evidence that does not read "ce:<view>.<seqno>:<hex>"', () => {
    for (const commitEvidence of ['', 'ce:2.5', 'ce:2:00', 'xx:2.5:00', 'ce:2.5:zz']) {
      assertCode(() => buildReceipt({ ...receiptInputs(), commitEvidence }), 'InvalidCommitEvidence');
    }
  });
});

function receiptInputs() {
  const tx = transactions[4] as Transaction;
  return {
    proof: tree.proofAt(4, SIGNATURE_SEQNO),
    signatureDer: rootSignature,
    nodeId: node.nodeId,
    certPem: node.certPem,
    writeSetDigest: tx.writeSetDigest,
    commitEvidence: tx.commitEvidence,
    claimsDigest: tx.claimsDigest,
  };
}

describe('verifyReceipt accepts', () => {
  it('receipts for several transactions, returning the signed root and the TxID', () => {
    for (const seqno of [1, 2, 8, 15, 16, 22]) {
      const result = verifyReceipt(receiptFor(seqno), service.certPem, { at: AT });
      assert.deepEqual(result.root, root);
      assert.equal(result.txId, `${VIEW}.${seqno}`);
    }
  });

  it('a receipt that went through JSON text', () => {
    const receipt: unknown = JSON.parse(JSON.stringify(receiptFor(9)));
    assert.deepEqual(verifyReceipt(receipt, service.certPem, { at: AT }).root, root);
  });

  it('a signature transaction receipt, whose leaf is the signed root', () => {
    const receipt = buildSignatureReceipt({ root, signatureDer: rootSignature, nodeId: node.nodeId, certPem: node.certPem });
    assert.deepEqual(receipt, { cert: node.certPem, leaf: toHex(root), node_id: node.nodeId, proof: [], signature: toBase64(rootSignature) });
    const result = verifyReceipt(receipt, service.certPem, { at: AT });
    assert.deepEqual(result.root, root);
    assert.equal(result.txId, undefined);
  });

  it("a JS app's receipt of a signature transaction: the signed root as root_hex, no proof (CCF's ccf_receipt_to_js)", () => {
    const jsShape = { signature: toBase64(rootSignature), cert: node.certPem, node_id: node.nodeId, is_signature_transaction: true, root_hex: toHex(root) };
    const result = verifyReceipt(jsShape, service.certPem, { at: AT });
    assert.deepEqual(result.root, root);
    assert.equal(result.txId, undefined);
    // Through JSON, with an empty proof, and through an endorsement, as for any receipt.
    assert.deepEqual(verifyReceipt(copy({ ...jsShape, proof: [] }), service.certPem, { at: AT }).root, root);
    const newIdentity = newService();
    const recoveredNode = newNode(newIdentity);
    const endorsed = {
      ...jsShape,
      cert: recoveredNode.certPem,
      node_id: recoveredNode.nodeId,
      signature: toBase64(signDigest(recoveredNode.keyPair.privateKeyPem, root)),
      service_endorsements: [issue('CCF Service', newIdentity.keyPair, service, true)],
    };
    assert.deepEqual(verifyReceipt(endorsed, service.certPem, { at: AT }).root, root);
    // Its signature covers that root only, by a node of that service only.
    assertCode(() => verifyReceipt({ ...jsShape, root_hex: flipHex(toHex(root), 7) }, service.certPem, { at: AT }), 'ReceiptInvalid', 'signature does not verify');
    assertCode(() => verifyReceipt(jsShape, otherService.certPem, { at: AT }), 'ReceiptInvalid', 'service certificate');
    assertCode(() => verifyReceipt({ ...endorsed, service_endorsements: [] }, service.certPem, { at: AT }), 'ReceiptInvalid', 'service certificate');
  });

  it('a receipt without claims_digest for a leaf that has none', () => {
    const small = new MerkleTree();
    const tx = transactionAt(1);
    small.append(new Uint8Array(32));
    small.append(computeLeaf(tx.writeSetDigest, tx.commitEvidence));
    const smallRoot = small.root();
    const receipt = buildReceipt({
      proof: small.proof(1),
      signatureDer: signDigest(node.keyPair.privateKeyPem, smallRoot),
      nodeId: node.nodeId,
      certPem: node.certPem,
      writeSetDigest: tx.writeSetDigest,
      commitEvidence: tx.commitEvidence,
    });
    assert.equal('claims_digest' in receipt.leaf_components, false);
    assert.deepEqual(verifyReceipt(receipt, service.certPem, { at: AT }).root, smallRoot);
    const withZeroClaims = copy(receipt);
    withZeroClaims.leaf_components.claims_digest = '00'.repeat(32);
    assertCode(() => verifyReceipt(withZeroClaims, service.certPem, { at: AT }), 'ReceiptInvalid');
  });

  it('the claims digest the verifier expects: compared with the receipt\'s, or folded into the leaf when the receipt leaves it out', () => {
    const seqno = 4; // a transaction with claims of its own
    const receipt = receiptFor(seqno);
    const claims = transactionAt(seqno).claimsDigest;
    assert.deepEqual(verifyReceipt(receipt, service.certPem, { at: AT, claimsDigest: claims }).claimsDigest, claims);
    const other = sha256(utf8('other claims'));
    assertCode(() => verifyReceipt(receipt, service.certPem, { at: AT, claimsDigest: other }), 'ReceiptClaimsMismatch', 'it does not prove what was asked');
    // As CCF's logging sample hands them out: the app removed the digest, the verifier holds the claim.
    const withoutClaims = copy(receipt) as { leaf_components: { claims_digest?: string } };
    delete withoutClaims.leaf_components.claims_digest;
    assert.deepEqual(verifyReceipt(withoutClaims, service.certPem, { at: AT, claimsDigest: claims }).root, root);
    assertCode(() => verifyReceipt(withoutClaims, service.certPem, { at: AT, claimsDigest: other }), 'ReceiptInvalid', "claims other than the transaction's");
    // Without the claims, the verifier is told that the receipt has none, and to pass the digest of those the app set.
    assertCode(() => verifyReceipt(withoutClaims, service.certPem, { at: AT }), 'ReceiptInvalid', 'the receipt has no claims digest');
    assertCode(() => verifyReceipt(withoutClaims, service.certPem, { at: AT }), 'ReceiptInvalid', 'coco receipt verify --claims-digest');
  });

  it("CCF's camelCase variant keys", () => {
    const receipt = receiptFor(11);
    const camel = {
      cert: receipt.cert,
      nodeId: receipt.node_id,
      signature: receipt.signature,
      proof: receipt.proof,
      leafComponents: {
        writeSetDigest: receipt.leaf_components.write_set_digest,
        commitEvidence: receipt.leaf_components.commit_evidence,
        claimsDigest: receipt.leaf_components.claims_digest,
      },
      serviceEndorsements: [],
    };
    assert.equal(verifyReceipt(camel, service.certPem, { at: AT }).txId, `${VIEW}.11`);
  });

  it('fields it does not use, as CCF verifiers do, and is_signature_transaction false beside leaf_components', () => {
    const receipt = { ...receiptFor(3), is_signature_transaction: false, root: 'ignored' };
    assert.deepEqual(verifyReceipt(receipt, service.certPem, { at: AT }).root, root);
  });

  it('a node endorsed by a later service identity, through service_endorsements', () => {
    // After a recovery the service has a new identity; the previous identity endorses it.
    const newIdentity = newService();
    const endorsement = issue('CCF Service', newIdentity.keyPair, service, true);
    const recoveredNode = newNode(newIdentity);
    const receipt = { ...receiptFor(5, recoveredNode), service_endorsements: [endorsement] };
    assert.deepEqual(verifyReceipt(receipt, service.certPem, { at: AT }).root, root);
    const { service_endorsements: _, ...withoutEndorsements } = receipt;
    assertCode(() => verifyReceipt(withoutEndorsements, service.certPem, { at: AT }), 'ReceiptInvalid', 'service certificate');
  });

  it("a node of the service before a recovery, through the current identity's endorsement of the previous one (CCF's)", () => {
    // Both identities are "CCF Service": the chain is found by key identifiers, not names.
    const current = newService();
    const receipt = { ...receiptFor(5), service_endorsements: [endorsePrevious(service, current)] };
    assert.deepEqual(verifyReceipt(receipt, current.certPem, { at: AT }).root, root);
  });

  it('expired certificates when told to ignore validity, but not at an instant outside it', () => {
    const receipt = receiptFor(2);
    assert.deepEqual(verifyReceipt(receipt, service.certPem, { at: 'ignore-validity' }).root, root);
    assertCode(() => verifyReceipt(receipt, service.certPem, { at: new Date('2030-01-01T00:00:00Z') }), 'ReceiptInvalid', 'not valid at');
    assertCode(() => verifyReceipt(receipt, service.certPem, { at: new Date('2024-12-31T00:00:00Z') }), 'ReceiptInvalid', 'not valid at');
    // A receipt checked later than its certificates' validity says how to check it regardless.
    assertCode(() => verifyReceipt(receipt, service.certPem, { at: new Date('2030-01-01T00:00:00Z') }), 'ReceiptInvalid', "'ignore-validity'");
  });
});

describe('verifyReceipt refuses what is no trust anchor, or no instant, with InvalidArgument rather than ReceiptInvalid', () => {
  it("the receipt's own node certificate given as the service's: anyone could make a receipt that passes", () => {
    const receipt = receiptFor(4);
    assertCode(() => verifyReceipt(receipt, receipt.cert, { at: AT }), 'InvalidArgument', 'not a self-signed CA certificate');
  });

  it('a bundle of certificates, or none', () => {
    assertCode(() => verifyReceipt(receiptFor(4), service.certPem + otherService.certPem, { at: AT }), 'InvalidArgument', 'got 2');
    assertCode(() => verifyReceipt(receiptFor(4), 'not a certificate', { at: AT }), 'InvalidArgument', 'got none');
  });

  it('an instant that is no date', () => {
    assertCode(() => verifyReceipt(receiptFor(4), service.certPem, { at: new Date('x') }), 'InvalidArgument', "'at'");
  });
});

describe('verifyReceipt rejects with ReceiptInvalid', () => {
  it('a receipt with any proof step altered, moved to the other side, dropped or added', () => {
    const receipt = receiptFor(13);
    assert.ok(receipt.proof.length >= 4);
    receipt.proof.forEach((step, i) => {
      const altered = copy(receipt);
      altered.proof[i] = 'left' in step ? { left: flipHex(step.left, i) } : { right: flipHex(step.right, i) };
      assertCode(() => verifyReceipt(altered, service.certPem, { at: AT }), 'ReceiptInvalid', 'signature does not verify');
      const swapped = copy(receipt);
      swapped.proof[i] = 'left' in step ? { right: step.left } : { left: step.right };
      assertCode(() => verifyReceipt(swapped, service.certPem, { at: AT }), 'ReceiptInvalid');
    });
    assertCode(() => verifyReceipt({ ...receipt, proof: receipt.proof.slice(1) }, service.certPem, { at: AT }), 'ReceiptInvalid');
    const extra = [...receipt.proof, { right: toHex(root) }];
    assertCode(() => verifyReceipt({ ...receipt, proof: extra }, service.certPem, { at: AT }), 'ReceiptInvalid');
  });

  it('a receipt with any byte of the signature flipped', () => {
    const receipt = receiptFor(6);
    const signature = fromBase64(receipt.signature);
    for (let i = 0; i < signature.length; i++) {
      const flipped = signature.slice();
      flipped[i] = (flipped[i] as number) ^ 0x01;
      assertCode(() => verifyReceipt({ ...receipt, signature: toBase64(flipped) }, service.certPem, { at: AT }), 'ReceiptInvalid');
    }
  });

  it('a receipt with any leaf component altered', () => {
    const receipt = receiptFor(10);
    const components = receipt.leaf_components;
    const variants: Array<[string, TxReceipt['leaf_components']]> = [
      ['write set digest', { ...components, write_set_digest: flipHex(components.write_set_digest, 5) }],
      ['claims digest', { ...components, claims_digest: flipHex(components.claims_digest as string, 63) }],
      ['claims digest removed', { commit_evidence: components.commit_evidence, write_set_digest: components.write_set_digest }],
      ['commit evidence nonce', { ...components, commit_evidence: flipHex(components.commit_evidence, components.commit_evidence.length - 1) }],
      ['commit evidence TxID', { ...components, commit_evidence: components.commit_evidence.replace(`${VIEW}.10:`, `${VIEW}.11:`) }],
    ];
    for (const [name, leafComponents] of variants) {
      assert.throws(
        () => verifyReceipt({ ...receipt, leaf_components: leafComponents }, service.certPem, { at: AT }),
        (error: unknown) => error instanceof CocoError && error.code === 'ReceiptInvalid',
        name,
      );
    }
  });

  it('a receipt checked against another service certificate', () => {
    assertCode(() => verifyReceipt(receiptFor(4), otherService.certPem, { at: AT }), 'ReceiptInvalid', 'service certificate');
  });

  it('a receipt signed by a node the service never endorsed', () => {
    const keyPair = generateKeyPair('P-384');
    const certPem = createSelfSignedCertificate({ subjectCn: 'CCF Node', keyPair, validFrom: VALID_FROM, validityDays: 30, isCa: false });
    const rogue = { keyPair, certPem, nodeId: publicKeyId(certPem) };
    assertCode(() => verifyReceipt(receiptFor(4, rogue), service.certPem, { at: AT }), 'ReceiptInvalid', 'service certificate');
  });

  it('a receipt of a previous service whose endorsement was forged by another key, altered, or left out', () => {
    const current = newService();
    const forged = endorsePrevious(service, otherService);
    assertCode(() => verifyReceipt({ ...receiptFor(5), service_endorsements: [forged] }, current.certPem, { at: AT }), 'ReceiptInvalid', 'issuer/subject mismatch');
    const endorsement = pemToDer(endorsePrevious(service, current));
    endorsement[endorsement.length - 1]! ^= 1;
    const altered = { ...receiptFor(5), service_endorsements: [derToPem(endorsement, 'CERTIFICATE')] };
    assertCode(() => verifyReceipt(altered, current.certPem, { at: AT }), 'ReceiptInvalid', 'bad signature');
    assertCode(() => verifyReceipt(receiptFor(5), current.certPem, { at: AT }), 'ReceiptInvalid', 'service certificate');
  });

  it('a receipt whose cert is not the key that signed, or whose node_id names another key', () => {
    const otherNode = newNode(service);
    const foreignCert = { ...receiptFor(4), cert: otherNode.certPem, node_id: otherNode.nodeId };
    assertCode(() => verifyReceipt(foreignCert, service.certPem, { at: AT }), 'ReceiptInvalid', 'signature does not verify');
    const wrongId = { ...receiptFor(4), node_id: otherNode.nodeId };
    assertCode(() => verifyReceipt(wrongId, service.certPem, { at: AT }), 'ReceiptInvalid', 'node_id');
  });
});

describe('verifyReceipt rejects malformed receipts with ReceiptMalformed naming the field', () => {
  const cases: Array<[string, (r: Record<string, unknown>) => unknown, string]> = [
    ['null', () => null, 'receipt'],
    ['an array', () => [], 'receipt'],
    ['a string', (r) => JSON.stringify(r), 'receipt'],
    ['no cert', ({ cert: _, ...r }) => r, 'cert'],
    ['cert not a string', (r) => ({ ...r, cert: 42 }), 'cert'],
    ['cert not a PEM certificate', (r) => ({ ...r, cert: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' }), 'cert'],
    ['cert a public key', (r) => ({ ...r, cert: node.keyPair.publicKeyPem }), 'cert'],
    ['no node_id', ({ node_id: _, ...r }) => r, 'node_id'],
    ['node_id short', (r) => ({ ...r, node_id: 'abcd' }), 'node_id'],
    ['node_id and nodeId both', (r) => ({ ...r, nodeId: r.node_id }), 'node_id'],
    ['no signature', ({ signature: _, ...r }) => r, 'signature'],
    ['signature not base64', (r) => ({ ...r, signature: 'not base64!' }), 'signature'],
    ['signature empty', (r) => ({ ...r, signature: '' }), 'signature'],
    ['signature a number', (r) => ({ ...r, signature: 7 }), 'signature'],
    ['no proof', ({ proof: _, ...r }) => r, 'proof'],
    ['proof an object', (r) => ({ ...r, proof: {} }), 'proof'],
    ['proof too long', (r) => ({ ...r, proof: Array(RECEIPT_PROOF_STEPS_MAX + 1).fill({ left: '00'.repeat(32) }) }), 'proof'],
    ['proof step a string', (r) => ({ ...r, proof: ['00'.repeat(32)] }), 'proof[0]'],
    ['proof step with both sides', (r) => ({ ...r, proof: [{ left: '00'.repeat(32), right: '00'.repeat(32) }] }), 'proof[0]'],
    ['proof step with neither side', (r) => ({ ...r, proof: [{ up: '00'.repeat(32) }] }), 'proof[0]'],
    ['proof hash short', (r) => ({ ...r, proof: [{ right: '00'.repeat(31) }] }), 'proof[0].right'],
    ['proof hash not hex', (r) => ({ ...r, proof: [{ left: 'zz'.repeat(32) }] }), 'proof[0].left'],
    ['no leaf_components and no leaf', ({ leaf_components: _, ...r }) => r, 'leaf_components'],
    ['leaf_components an array', (r) => ({ ...r, leaf_components: [] }), 'leaf_components'],
    ['leaf and leaf_components both', (r) => ({ ...r, leaf: '00'.repeat(32) }), 'leaf'],
    ['no write_set_digest', (r) => ({ ...r, leaf_components: withoutKey(r.leaf_components, 'write_set_digest') }), 'leaf_components.write_set_digest'],
    ['write_set_digest a number', (r) => ({ ...r, leaf_components: withKey(r.leaf_components, 'write_set_digest', 1) }), 'leaf_components.write_set_digest'],
    ['no commit_evidence', (r) => ({ ...r, leaf_components: withoutKey(r.leaf_components, 'commit_evidence') }), 'leaf_components.commit_evidence'],
    ['commit_evidence without TxID', (r) => ({ ...r, leaf_components: withKey(r.leaf_components, 'commit_evidence', 'ce:abc') }), 'leaf_components.commit_evidence'],
    ['claims_digest odd length', (r) => ({ ...r, leaf_components: withKey(r.leaf_components, 'claims_digest', '0'.repeat(63)) }), 'leaf_components.claims_digest'],
    ['leaf not hex', ({ leaf_components: _, ...r }) => ({ ...r, leaf: 'root' }), 'leaf'],
    ['root_hex and leaf_components both', (r) => ({ ...r, root_hex: '00'.repeat(32) }), 'root_hex'],
    ['root_hex short', ({ leaf_components: _, proof: __, ...r }) => ({ ...r, root_hex: '00'.repeat(31) }), 'root_hex'],
    ['root_hex with proof steps', ({ leaf_components: _, ...r }) => ({ ...r, root_hex: '00'.repeat(32) }), 'proof'],
    ['is_signature_transaction a string', (r) => ({ ...r, is_signature_transaction: 'false' }), 'is_signature_transaction'],
    ['is_signature_transaction true with leaf_components', (r) => ({ ...r, is_signature_transaction: true }), 'is_signature_transaction'],
    ['is_signature_transaction false with root_hex', ({ leaf_components: _, proof: __, ...r }) => ({ ...r, is_signature_transaction: false, root_hex: '00'.repeat(32) }), 'is_signature_transaction'],
    ['service_endorsements a string', (r) => ({ ...r, service_endorsements: service.certPem }), 'service_endorsements'],
    ['service_endorsements with a non-PEM', (r) => ({ ...r, service_endorsements: ['junk'] }), 'service_endorsements[0]'],
  ];
  for (const [name, mutate, field] of cases) {
    it(`${name} (${field})`, () => {
      const receipt = copy(receiptFor(8)) as unknown as Record<string, unknown>;
      assertCode(() => verifyReceipt(mutate(receipt), service.certPem, { at: AT }), 'ReceiptMalformed', field);
    });
  }
});

function withoutKey(object: unknown, key: string): Record<string, unknown> {
  const { [key]: _, ...rest } = object as Record<string, unknown>;
  return rest;
}

function withKey(object: unknown, key: string, value: unknown): Record<string, unknown> {
  return { ...(object as Record<string, unknown>), [key]: value };
}

// Receipts issued by Azure Confidential Ledger (a CCF service, P-256 keys), with the certificates of
// the services that issued them: published as test data of Azure/azure-sdk-for-python (MIT), file
// sdk/confidentialledger/azure-confidentialledger/tests/receipt/_shared/receipt_constants.py.
const AZURE_SERVICE_CERT_1 = `-----BEGIN CERTIFICATE-----
MIIBejCCASCgAwIBAgIQcmv2rRjksVYvqdOOHxp5UjAKBggqhkjOPQQDAjAWMRQw
EgYDVQQDDAtDQ0YgTmV0d29yazAeFw0yMjExMDExODU0MzNaFw0yMzAxMzAxODU0
MzJaMBYxFDASBgNVBAMMC0NDRiBOZXR3b3JrMFkwEwYHKoZIzj0CAQYIKoZIzj0D
AQcDQgAEEFi2//FtAFoJvS+4jzQte+hjhhtBee8yjZ28ntukjeqWbG8XCncx4e0j
eoQbFmGC9BnMb+t3t6FskQZkvgobrqNQME4wDAYDVR0TBAUwAwEB/zAdBgNVHQ4E
FgQUQgzYFOQLy0vDkm3wqLSlcJsbQm8wHwYDVR0jBBgwFoAUQgzYFOQLy0vDkm3w
qLSlcJsbQm8wCgYIKoZIzj0EAwIDSAAwRQIhAN/DrvHLpwRa7PeuN7q4ZztPjEY6
R8r2IuT+wd5lMe7UAiAu7FftNooRjWIJ6pVFQO1xPtjCI5/JyvBUcJqfWT+Q2g==
-----END CERTIFICATE-----
`;

const AZURE_SERVICE_CERT_2 = `-----BEGIN CERTIFICATE-----
MIIBezCCASGgAwIBAgIRAL1K5p7mE+zOdNn4Po05mDcwCgYIKoZIzj0EAwIwFjEU
MBIGA1UEAwwLQ0NGIE5ldHdvcmswHhcNMjIxMDI1MTIzMDU3WhcNMjMwMTIzMTIz
MDU2WjAWMRQwEgYDVQQDDAtDQ0YgTmV0d29yazBZMBMGByqGSM49AgEGCCqGSM49
AwEHA0IABGd51KunQeso9Y/6oA2p9Vh8Wf5eYCNPm8MTwE+1hVYX51U/LqdoVxZB
JvcWNbDkToOyxPdmFC19QmSb49pjfLGjUDBOMAwGA1UdEwQFMAMBAf8wHQYDVR0O
BBYEFErYKi5W20k63JsLMj3ZG/f/PaZwMB8GA1UdIwQYMBaAFErYKi5W20k63JsL
Mj3ZG/f/PaZwMAoGCCqGSM49BAMCA0gAMEUCIQC215NRdXWKaVNH9Rp2VJzMHHwN
qsUPm+U8mwLeOOk7TgIgL7JFqyJmnigevF2Ju/k4QkkBMZm4McuywM1f2n8+8Qk=
-----END CERTIFICATE-----
`;

const AZURE_RECEIPT_1 = {
  is_signature_transaction: false,
  cert:
    '-----BEGIN CERTIFICATE-----\nMIIB0zCCAXqgAwIBAgIRALXhnOIN/WoLnD69pfR2rvQwCgYIKoZIzj0EAwIwFjEU\nMBIGA1UEAwwLQ0NGIE5ldHdvcmswHhcNMjIxMTAxMTg1NDM2WhcNMjMwMTMwMTg1\nNDM1WjATMREwDwYDVQQDDAhDQ0YgTm9kZTBZMBMGByqGSM49AgEGCCqGSM49AwEH\nA0IABAUkp7vj54d1qr51leVMEwn/GXFozJQ1Ycx+AYoCb++0a6lrekGEgN91dR6D\nYdaBRKbYPMphAf4vDQEcVIjpFwKjgaswgagwCQYDVR0TBAIwADAdBgNVHQ4EFgQU\n54/ExTbNk7ZnZWImu6xq+8vOngEwHwYDVR0jBBgwFoAUQgzYFOQLy0vDkm3wqLSl\ncJsbQm8wWwYDVR0RBFQwUocECvACNYIRYXAtc3RhZ2luZy1sZWRnZXKCN2FwLXN0\nYWdpbmctbGVkZ2VyLmNvbmZpZGVudGlhbC1sZWRnZXItc3RhZ2luZy5henVyZS5j\nb20wCgYIKoZIzj0EAwIDRwAwRAIgBkB5XGxiiB5hhyWuHrM5TDlLfDUNR4GV1vie\ntpmGmLsCIF76tqizqk+s5Wuoa8ePLvGxUXIy3Q+H2rfRFi2LIB0B\n-----END CERTIFICATE-----\n',
  node_id: '708c2e71b2533e5eb38e05cc344390d133c8fb336cb80481ab4e5e902e6131a5',
  service_endorsements: [],
  leaf_components: {
    claims_digest: '0000000000000000000000000000000000000000000000000000000000000000',
    commit_evidence: 'ce:2.35:fa08b4eae4a034971b97f0b21810951ec64b06fb2f4b5a1e80f6f4b83a23c719',
    write_set_digest: 'fef1aa22972daba05864a7e986c1bb94aa6b8fea43781cb48907c972e9761e71',
  },
  proof: [
    { left: '5e949d6d17b88900aeb8fb292f041075272d3b58108f2016a3ceea2a47ffad8f' },
    { left: 'fb199f029ed1e7886ca95f8ecb4f9a56edede5f15fb425874c2a34861a9765ee' },
    { left: 'efe9c61961fc189e292edeadb4317040ea4a6e5abc8cf349dc74295930ed7435' },
  ],
  signature: 'MEYCIQC05OyTn/a5ZKphfY4AsnnBF2Rfj0j0pNrfPtHHO5JvnwIhAPItujuzkC8enmxIsG2X82hBgHCaNoFHL9GC3XfejOUI',
};

const AZURE_RECEIPT_2_CAMEL_CASE = {
  cert:
    '-----BEGIN CERTIFICATE-----\nMIIBzzCCAXWgAwIBAgIQIqJhTJJl+Oxf8Fl0oH622TAKBggqhkjOPQQDAjAWMRQw\nEgYDVQQDDAtDQ0YgTmV0d29yazAeFw0yMjEwMjUxMjMwNTZaFw0yMzAxMjMxMjMw\nNTVaMBMxETAPBgNVBAMMCENDRiBOb2RlMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcD\nQgAEqmsG0x22ZuFBjDItZruC+jVJza8qpXh/HKeX5yG/0/HKyjMOEce2g/C7Z/fi\nbf/bYXiCbz4WP/YbU3crQUtc7qOBpzCBpDAJBgNVHRMEAjAAMB0GA1UdDgQWBBSY\nw8oZLUv/qjpB/u0uaJyEGsMM9zAfBgNVHSMEGDAWgBRK2CouVttJOtybCzI92Rv3\n/z2mcDBXBgNVHREEUDBOghNhcC10ZXN0LWxlZGdlci1wcml2gjFhcC10ZXN0LWxl\nZGdlci1wcml2LmNvbmZpZGVudGlhbC1sZWRnZXIuYXp1cmUuY29thwQK8Eq3MAoG\nCCqGSM49BAMCA0gAMEUCIQCbokInYEKX7ItmjJDlnG/0EbIwgcCCGnRubIzHYhiX\n8gIgbqhPG68pxR43ZhJy6y6JeWuB+kSXsqRmQdYP3UMkzXg=\n-----END CERTIFICATE-----\n',
  leafComponents: {
    claimsDigest: '0000000000000000000000000000000000000000000000000000000000000000',
    commitEvidence: 'ce:16.7415:e718636e480d0ea56650406cece0abf6c010f58e6635dce8f404e2d2779fbc9d',
    writeSetDigest: '4242b251a0800c9b6857b5da503d92a152e43da79f3da20758f9c5db65d8dd4c',
  },
  nodeId: 'a16d14661618d220365594fc4986f4401ff74785b70818b00e6590bb3c1a1a5d',
  proof: [
    { left: '113d89bdcb5282bf773ca12ba97a7baa1b2515a5ffecdb9feaae67bddc89c639' },
    { left: '5f8edd797d0146b76e0ebfa6ee9d5e34a8f8b9795f3957202b3f92817b991918' },
    { left: '7e00bfbb86030ac74e8db5b08af1a9dbe15659c083cdcedc78fc915ecd57ab3e' },
    { left: '842e1dd9cb8768f9c158e61a51041d94c5a52c7a905068c85b6c5cc165010417' },
    { left: '2921ba478d7cbfb8964b1b0221a6909ef8793738045d24c095200fa88396fa1b' },
    { left: '65fa347e5392b4a1b399194321446ff7e0b25fc44609c9ddff2558674cc8b8fe' },
    { left: '96736d241bfd0890cdbefdca97633f13cb345e18d62464ca4d3aeb4c4e2acc05' },
    { left: '75fdb2b7f6589d7f38218dcdf09ad06d1873cc11692ac11ca099956c4d0df2c6' },
    { left: '7cb66ee49ecb284ad967be5ae9f735e9046ebe5fb49bd093e29b851932afcac7' },
    { left: 'b5acc41d51ebc21112882d9e444dffcddc1135a6a1edd9b287ec6927e7baac84' },
  ],
  serviceEndorsements: [],
  signature: 'MEUCIBehRsSl0CyNwMHiObY3Kxw9cV5e/rSQKmCrEJooxWvmAiEAnYwaT5yVGFkSFuJ8JdbW0ZolbDHzRrfl+fm6jIrDzxw=',
};

/** An instant when both Azure services' certificates were valid. */
const AZURE_AT = new Date('2022-12-01T00:00:00Z');

describe('verifyReceipt with real receipts from a CCF service (Azure Confidential Ledger)', () => {
  it('verifies a snake_case receipt and reveals its TxID', () => {
    assert.equal(verifyReceipt(AZURE_RECEIPT_1, AZURE_SERVICE_CERT_1, { at: AZURE_AT }).txId, '2.35');
  });

  it('verifies a camelCase receipt and reveals its TxID', () => {
    assert.equal(verifyReceipt(AZURE_RECEIPT_2_CAMEL_CASE, AZURE_SERVICE_CERT_2, { at: AZURE_AT }).txId, '16.7415');
  });

  it("rejects each one against the other service's certificate, or once its certificates expired", () => {
    assertCode(() => verifyReceipt(AZURE_RECEIPT_1, AZURE_SERVICE_CERT_2, { at: AZURE_AT }), 'ReceiptInvalid');
    assertCode(() => verifyReceipt(AZURE_RECEIPT_2_CAMEL_CASE, AZURE_SERVICE_CERT_1, { at: AZURE_AT }), 'ReceiptInvalid');
    assertCode(() => verifyReceipt(AZURE_RECEIPT_1, AZURE_SERVICE_CERT_1, { at: new Date('2023-06-01T00:00:00Z') }), 'ReceiptInvalid');
  });

  it('rejects a real receipt whose write set digest was altered', () => {
    const altered: Receipt = copy(AZURE_RECEIPT_1) as unknown as Receipt;
    const components = (altered as TxReceipt).leaf_components;
    components.write_set_digest = flipHex(components.write_set_digest, 10);
    assertCode(() => verifyReceipt(altered, AZURE_SERVICE_CERT_1, { at: AZURE_AT }), 'ReceiptInvalid');
  });
});
