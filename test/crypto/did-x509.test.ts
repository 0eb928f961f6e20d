// did:x509 resolution against a real chain: Microsoft's ContainerPlat signing certificate, its CA
// and root, as they sign Confidential ACI's UVM endorsements (test/fixtures/snp/README.md).

import assert from 'node:assert/strict';
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Decoder, Tag } from 'cbor-x';
import { fromBase64 } from '../../src/crypto/bytes.js';
import { resolveDidX509 } from '../../src/crypto/did-x509.js';
import { CocoError } from '../../src/errors.js';
import { repoRoot } from '../support/paths.js';

const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });
const cose = fromBase64(readFileSync(join(repoRoot, 'test', 'fixtures', 'snp', 'kms-uvm-endorsements.cose.base64'), 'utf8').replace(/\s/g, ''));
const header = decoder.decode(((decoder.decode(cose) as Tag).value as Uint8Array[])[0]!) as Map<number | string, unknown>;
const chain = header.get(33) as Uint8Array[];
const root = 'did:x509:0:sha256:I__iuL25oXEVFdTP_aBLx_eT1RPHbCQ_ECBQfYZpt9s';
const unresolved = (pattern: RegExp) => (error: unknown) => error instanceof CocoError && error.code === 'DidX509Unresolved' && pattern.test(error.message);

test("a DID naming the chain's root and the leaf's extended key usage resolves to the leaf's key", () => {
  const key = resolveDidX509(chain, `${root}::eku:1.3.6.1.4.1.311.76.59.1.2`);
  assert.ok(key.equals(createPublicKey(new X509Certificate(chain[0]!).publicKey.export({ type: 'spki', format: 'pem' }))));
  // The intermediate CA may be named instead of the root, and several policies must all hold.
  const intermediate = createHash('sha256').update(chain[1]!).digest('base64url');
  assert.ok(resolveDidX509(chain, `did:x509:0:sha256:${intermediate}::eku:1.3.6.1.4.1.311.76.59.1.2::subject:CN:ContainerPlat:O:Microsoft%20Corporation`));
});

test('a DID that does not fit the chain is refused, saying why', () => {
  const leaf = createHash('sha256').update(chain[0]!).digest('base64url');
  assert.throws(() => resolveDidX509(chain, `did:x509:0:sha256:${leaf}::eku:1.3.6.1.4.1.311.76.59.1.2`), unresolved(/no CA certificate of the chain has the sha256 fingerprint/), 'the leaf is no CA');
  assert.throws(() => resolveDidX509(chain, `${root}::subject:CN:Someone%20Else`), unresolved(/subject has no CN=Someone Else/));
  assert.throws(() => resolveDidX509(chain, `${root}::san:dns:example.com`), unresolved(/no subject alternative name DNS:example\.com/));
  assert.throws(() => resolveDidX509(chain, `${root}::fulcio-issuer:accounts.google.com`), unresolved(/policy "fulcio-issuer" is not supported/));
  assert.throws(() => resolveDidX509(chain, root), unresolved(/names no policy/));
  assert.throws(() => resolveDidX509(chain, `${root.replace('sha256', 'sha1')}::eku:1.2.3`), unresolved(/does not name a CA/));
  assert.throws(() => resolveDidX509(chain, 'did:web:example.com'), unresolved(/starts with "did:x509:0:"/));
  assert.throws(() => resolveDidX509([chain[0]!, chain[2]!], `${root}::eku:1.3.6.1.4.1.311.76.59.1.2`), unresolved(/certificate 0 is not issued by certificate 1/));
  assert.throws(() => resolveDidX509([chain[0]!, new Uint8Array([1, 2, 3])], `${root}::eku:1.2.3`), unresolved(/certificate 1 of the chain does not parse/));
});
