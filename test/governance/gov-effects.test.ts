// The governance effects' JWT key store, as CCF's set_jwt_public_signing_keys writes
// public:ccf.gov.jwt.public_signing_keys_metadata_v2 (src/node/rpc/jwt_management.h in microsoft/CCF),
// and which key of a JWK it stores.

import assert from 'node:assert/strict';
import test from 'node:test';
import { fromUtf8, utf8 } from '../../src/crypto/bytes.js';
import { Tables } from '../../src/governance/builtin-tables.js';
import { jwksPublicKeys, storeIssuerPublicKeys, type JwtSigningKey } from '../../src/governance/gov-effects.js';
import { Store } from '../../src/kv/store.js';
import { rsaCertificate } from '../support/rsa-certificate.js';

const A = 'https://a.example';
const B = 'https://b.example';

function stored(store: Store, kid: string): string | undefined {
  const value = store.beginTransaction().map(Tables.jwtPublicSigningKeysMetadata).get(utf8(kid));
  return value === undefined ? undefined : fromUtf8(value);
}

test('storing keys writes only what changed: identical keys write nothing, a changed entry keeps its place, a dropped kid loses the issuer', () => {
  const store = new Store();
  let seqno = 0n;
  const put = (issuer: string, keys: [string, JwtSigningKey][]): boolean => {
    const tx = store.beginTransaction();
    storeIssuerPublicKeys(tx, issuer, new Map(keys));
    const wrote = tx.hasWrites;
    store.commit(tx, ++seqno);
    return wrote;
  };
  assert.equal(put(A, [['k1', { public_key: 'AQ==' }], ['k2', { public_key: 'Ag==', constraint: 'https://a.example/t' }]]), true);
  assert.equal(put(B, [['k1', { public_key: 'Aw==' }]]), true);
  // CCF's encoding: fields in name order, as in a CCF ledger.
  assert.equal(stored(store, 'k1'), '[{"issuer":"https://a.example","public_key":"AQ=="},{"issuer":"https://b.example","public_key":"Aw=="}]');
  assert.equal(stored(store, 'k2'), '[{"constraint":"https://a.example/t","issuer":"https://a.example","public_key":"Ag=="}]');

  assert.equal(put(A, [['k1', { public_key: 'AQ==' }], ['k2', { public_key: 'Ag==', constraint: 'https://a.example/t' }]]), false, 'identical keys: no write');

  assert.equal(put(A, [['k1', { public_key: 'BA==' }]]), true);
  assert.equal(stored(store, 'k1'), '[{"issuer":"https://a.example","public_key":"BA=="},{"issuer":"https://b.example","public_key":"Aw=="}]');
  assert.equal(stored(store, 'k2'), undefined);
});

test("a JWK with both n/e and x5c is stored with its n/e key, as CCF's try_parse_raw_rsa comes before try_parse_x5c", () => {
  const [own, certified] = [rsaCertificate(2048), rsaCertificate(2048)];
  const keys = jwksPublicKeys({ keys: [{ ...own.jwk, kid: 'mixed', x5c: [certified.x5c] }, { kty: 'RSA', kid: 'x5c-only', x5c: [certified.x5c] }] }, A);
  assert.equal(keys.get('mixed')?.public_key, own.spkiBase64);
  assert.equal(keys.get('x5c-only')?.public_key, certified.spkiBase64);
});
