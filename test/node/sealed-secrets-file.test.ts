// The sealed secrets file holds every ledger secret and the service's private key: only the node's
// user may read it, whatever a crash or another user left beside it.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateKeyPair } from '../../src/crypto/signing.js';
import { readSealedSecrets, writeSealedSecrets, type SealedSecrets } from '../../src/node/sealed-secrets.js';

function secrets(): SealedSecrets {
  const keyPair = generateKeyPair('P-384');
  return { ledgerSecrets: [{ fromSeqno: 1, key: new Uint8Array(32).fill(7) }], serviceKeyPair: keyPair, serviceCertPem: 'cert', nodeKeyPair: keyPair, nodeEncryptionKeyPair: undefined };
}

test('a leftover world-readable temporary file does not make the sealed file readable by others', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'coco-sealed-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'sealed_secrets.json');
  writeFileSync(`${path}.tmp`, '', { mode: 0o644 });
  writeSealedSecrets(path, secrets());
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(readSealedSecrets(path)?.ledgerSecrets, secrets().ledgerSecrets);
});

test('a temporary name that is a link elsewhere is replaced, not written through', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'coco-sealed-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'sealed_secrets.json');
  const elsewhere = join(dir, 'elsewhere');
  writeFileSync(elsewhere, 'untouched', { mode: 0o644 });
  symlinkSync(elsewhere, `${path}.tmp`);
  writeSealedSecrets(path, secrets());
  assert.equal(readFileSync(elsewhere, 'utf8'), 'untouched');
  assert.equal(statSync(path).mode & 0o777, 0o600);
});
