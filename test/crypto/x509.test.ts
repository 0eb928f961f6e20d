import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromBase64, toBase64 } from '../../src/crypto/bytes.js';
import { derToPem, pemToDer } from '../../src/crypto/pem.js';
import { CURVE_NAMES, generateKeyPair, publicKeyDer, type CurveName, type KeyPair } from '../../src/crypto/signing.js';
import {
  CERTIFICATE_CHAIN_LENGTH_MAX,
  createCsr,
  createSelfSignedCertificate,
  issueCertificate,
  isSelfSigned,
  parseCcfValidFrom,
  parseCertificate,
  validityDaysOf,
  verifyCertificateChain,
  verifyCertificateChainToAny,
  type SubjectAltNames,
} from '../../src/crypto/x509.js';
import { certificatesIn, readLedgerChunk } from '../support/ccf-ledger-scan.js';
import { openssl, withTempFiles } from '../support/openssl.js';

const VALID_FROM = new Date('2025-01-01T00:00:00.750Z');
const DAY_MS = 86_400_000;
const INSIDE_VALIDITY = new Date('2025-01-02T00:00:00Z');
const SIGNATURE_ALGORITHMS: Record<CurveName, string> = {
  'P-256': 'ecdsa-with-SHA256',
  'P-384': 'ecdsa-with-SHA384',
  'P-521': 'ecdsa-with-SHA512',
  Ed25519: 'ED25519',
};

function selfSigned(keyPair: KeyPair, subjectCn: string, isCa: boolean, sans?: SubjectAltNames): string {
  return createSelfSignedCertificate({ subjectCn, keyPair, validFrom: VALID_FROM, validityDays: 10, isCa, sans });
}

function issued(
  issuerCertPem: string,
  issuerKeyPair: KeyPair,
  subject: KeyPair,
  opts: { subjectCn?: string; isCa?: boolean; csrSans?: SubjectAltNames; sans?: SubjectAltNames } = {},
): string {
  const csrPem = createCsr({ subjectCn: opts.subjectCn ?? 'CCF Node', keyPair: subject, sans: opts.csrSans });
  return issueCertificate({
    csrPem,
    issuerCertPem,
    issuerKeyPair,
    validFrom: VALID_FROM,
    validityDays: 5,
    isCa: opts.isCa ?? false,
    sans: opts.sans,
  });
}

function tamperSignature(pem: string): string {
  const der = pemToDer(pem);
  der[der.length - 1] = (der[der.length - 1] ?? 0) ^ 0x01;
  return derToPem(der, 'CERTIFICATE');
}

function expectChainInvalid(fn: () => void, reason: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.equal((error as { code?: string }).code, 'CertificateChainInvalid');
    assert.match((error as Error).message, reason);
    return true;
  });
}

describe('createSelfSignedCertificate', () => {
  it('issues a certificate with the requested subject, validity, CA flag and SANs on every curve', () => {
    for (const curve of CURVE_NAMES) {
      const keyPair = generateKeyPair(curve);
      const pem = selfSigned(keyPair, 'CCF Service', true, { dns: ['ccf.example', 'localhost'], ip: ['127.0.0.1'] });
      const info = parseCertificate(pem);
      assert.equal(info.subject, 'CN=CCF Service', curve);
      assert.equal(info.issuer, 'CN=CCF Service', curve);
      assert.equal(info.isCa, true, curve);
      assert.deepEqual(info.notBefore, new Date('2025-01-01T00:00:00Z'), curve);
      assert.deepEqual(info.notAfter, new Date(Date.parse('2025-01-01T00:00:00Z') + 10 * DAY_MS - 1000), curve);
      assert.deepEqual(info.subjectAltNames, ['DNS:ccf.example', 'DNS:localhost', 'IP:127.0.0.1'], curve);
      assert.deepEqual(info.publicKeyDer, publicKeyDer(keyPair.publicKeyPem), curve);
      assert.equal(isSelfSigned(pem), true, curve);
    }
  });

  it('marks a non-CA certificate CA:FALSE and leaves out SANs when none are given', () => {
    const info = parseCertificate(selfSigned(generateKeyPair('P-256'), 'member0', false));
    assert.equal(info.isCa, false);
    assert.deepEqual(info.subjectAltNames, []);
  });

  it('draws random positive serial numbers', () => {
    const keyPair = generateKeyPair('P-256');
    const serials = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const { serialNumberHex } = parseCertificate(selfSigned(keyPair, 'x', false));
      assert.match(serialNumberHex, /^[4-7][0-9a-f]{31}$/);
      serials.add(serialNumberHex);
    }
    assert.equal(serials.size, 4);
  });

  it('is read by openssl with the signature algorithm of the key\'s curve', () => {
    for (const [curve, algorithm] of Object.entries(SIGNATURE_ALGORITHMS) as [CurveName, string][]) {
      const pem = selfSigned(generateKeyPair(curve), 'CCF Service', true, { dns: ['a.example'], ip: ['10.0.0.1'] });
      withTempFiles({ 'cert.pem': pem }, (dir) => {
        const text = openssl(['x509', '-in', 'cert.pem', '-noout', '-text'], dir);
        assert.equal(text.status, 0, text.stderr);
        assert.match(text.stdout, new RegExp(`Signature Algorithm: ${algorithm}`), curve);
        assert.match(text.stdout, /Subject: CN ?= ?CCF Service/);
        assert.match(text.stdout, /CA:TRUE/);
        assert.match(text.stdout, /DNS:a\.example, IP Address:10\.0\.0\.1/);
        const verified = openssl(['verify', '-attime', String(INSIDE_VALIDITY.getTime() / 1000), '-CAfile', 'cert.pem', 'cert.pem'], dir);
        assert.equal(verified.status, 0, verified.stdout + verified.stderr);
      });
    }
  });

  it('rejects bad arguments with InvalidArgument and a mismatched key pair with InvalidKey', () => {
    const keyPair = generateKeyPair('P-256');
    const base = { subjectCn: 'x', keyPair, validFrom: VALID_FROM, validityDays: 1, isCa: false };
    const cases: [string, Parameters<typeof createSelfSignedCertificate>[0]][] = [
      ['zero validity days', { ...base, validityDays: 0 }],
      ['fractional validity days', { ...base, validityDays: 1.5 }],
      ['invalid date', { ...base, validFrom: new Date(Number.NaN) }],
      ['empty subject', { ...base, subjectCn: '' }],
      ['malformed IP SAN', { ...base, sans: { ip: ['not-an-ip'] } }],
      ['truncated IPv4 SAN', { ...base, sans: { ip: ['10.0.1'] } }],
      ['IPv4 SAN with a leading zero', { ...base, sans: { ip: ['10.0.01.1'] } }],
      ['IPv6 SAN with a zone id', { ...base, sans: { ip: ['fe80::1%eth0'] } }],
      ['empty DNS SAN', { ...base, sans: { dns: [''] } }],
      ['DNS SAN with a space', { ...base, sans: { dns: ['a b.example'] } }],
      ['non-ASCII DNS SAN', { ...base, sans: { dns: ['bücher.example'] } }],
    ];
    for (const [name, opts] of cases) {
      assert.throws(() => createSelfSignedCertificate(opts), { name: 'CocoError', code: 'InvalidArgument' }, name);
    }
    const mixed = { privateKeyPem: keyPair.privateKeyPem, publicKeyPem: generateKeyPair('P-256').publicKeyPem };
    assert.throws(() => createSelfSignedCertificate({ ...base, keyPair: mixed }), { name: 'CocoError', code: 'InvalidKey' });
  });

  it('encodes IPv6 SANs, an embedded dotted IPv4 tail included, as 16 address bytes', () => {
    const pem = selfSigned(generateKeyPair('P-256'), 'x', false, { ip: ['::ffff:10.1.2.3', '2001:db8::8a2e:370:7334'] });
    assert.deepEqual(parseCertificate(pem).subjectAltNames, ['IP:0:0:0:0:0:FFFF:A01:203', 'IP:2001:DB8:0:0:0:8A2E:370:7334']);
  });
});

describe('parseCcfValidFrom', () => {
  it('reads CCF\'s UTCTime form, with two-digit years below 50 in the 2000s', () => {
    const cases: [string, string][] = [
      ['211019154318Z', '2021-10-19T15:43:18.000Z'],
      ['240229000000Z', '2024-02-29T00:00:00.000Z'],
      ['491231235959Z', '2049-12-31T23:59:59.000Z'],
      ['500101000000Z', '1950-01-01T00:00:00.000Z'],
      // GeneralizedTime, which CCF's host takes as well (a CCF constitution passes valid_from on as given).
      ['20211019154318Z', '2021-10-19T15:43:18.000Z'],
      ['20611019154318Z', '2061-10-19T15:43:18.000Z'],
    ];
    for (const [text, iso] of cases) assert.equal(parseCcfValidFrom(text).toISOString(), iso, text);
  });

  it('rejects other forms and impossible dates with InvalidArgument', () => {
    const cases: [string, unknown][] = [
      ['empty', ''],
      ['GeneralizedTime of February 30', '20210230000000Z'],
      ['a 5-digit year', '120211019154318Z'],
      ['no Z', '211019154318'],
      ['lower-case z', '211019154318z'],
      ['no seconds', '2110191543Z'],
      ['time zone offset', '211019154318+0100'],
      ['leading space', ' 211019154318Z'],
      ['month 13', '211319154318Z'],
      ['February 30', '210230000000Z'],
      ['February 29 of a common year', '210229000000Z'],
      ['hour 24', '211019240000Z'],
      ['second 60', '211019154360Z'],
      ['not a string', 211019154318],
    ];
    for (const [name, text] of cases) {
      assert.throws(() => parseCcfValidFrom(text as string), { name: 'CocoError', code: 'InvalidArgument' }, name);
    }
  });

  it('gives the notBefore of a certificate issued from it', () => {
    const pem = createSelfSignedCertificate({
      subjectCn: 'CCF Service', keyPair: generateKeyPair('P-384'), validFrom: parseCcfValidFrom('211019154318Z'), validityDays: 1, isCa: true,
    });
    const info = parseCertificate(pem);
    assert.equal(info.notBefore.toISOString(), '2021-10-19T15:43:18.000Z');
    assert.equal(info.notAfter.toISOString(), '2021-10-20T15:43:17.000Z');
  });
});

describe('createCsr / issueCertificate', () => {
  it('issues for the CSR\'s subject and key, signed with the issuer\'s curve, and openssl verifies it', () => {
    for (const [curve, algorithm] of Object.entries(SIGNATURE_ALGORITHMS) as [CurveName, string][]) {
      const issuerKeyPair = generateKeyPair(curve);
      const issuerPem = selfSigned(issuerKeyPair, 'CCF Service', true);
      const node = generateKeyPair('P-384');
      const leafPem = issued(issuerPem, issuerKeyPair, node, { csrSans: { dns: ['node0.example'], ip: ['10.1.0.4'] } });
      const info = parseCertificate(leafPem);
      assert.equal(info.subject, 'CN=CCF Node');
      assert.equal(info.issuer, 'CN=CCF Service');
      assert.equal(info.isCa, false);
      assert.deepEqual(info.notAfter, new Date(Date.parse('2025-01-01T00:00:00Z') + 5 * DAY_MS - 1000));
      assert.deepEqual(info.publicKeyDer, publicKeyDer(node.publicKeyPem));
      assert.deepEqual(info.subjectAltNames, ['DNS:node0.example', 'IP:10.1.0.4'], 'SANs come from the CSR');
      assert.equal(isSelfSigned(leafPem), false);
      verifyCertificateChain(leafPem, { trustedRootPem: issuerPem, at: INSIDE_VALIDITY });
      withTempFiles({ 'ca.pem': issuerPem, 'leaf.pem': leafPem }, (dir) => {
        // Strict: as Python cryptography's verifier in CCF's receipt tools, it wants keyUsage on the CA (QA).
        const verified = openssl(['verify', '-x509_strict', '-attime', String(INSIDE_VALIDITY.getTime() / 1000), '-CAfile', 'ca.pem', 'leaf.pem'], dir);
        assert.equal(verified.status, 0, verified.stdout + verified.stderr);
        const text = openssl(['x509', '-in', 'leaf.pem', '-noout', '-text'], dir);
        assert.match(text.stdout, new RegExp(`Signature Algorithm: ${algorithm}`), curve);
        assert.match(text.stdout, /Basic Constraints: critical\s+CA:FALSE\n/);
        assert.doesNotMatch(text.stdout, /Key Usage/);
        // CCF's service certificates: a path length of 1, and critical keyUsage for signing certificates and data.
        const ca = openssl(['x509', '-in', 'ca.pem', '-noout', '-text'], dir);
        assert.match(ca.stdout, /Basic Constraints: critical\s+CA:TRUE, pathlen:1\n/);
        assert.match(ca.stdout, /Key Usage: critical\s+Digital Signature, Certificate Sign\n/);
      });
    }
  });

  it('takes SANs from the options over those of the CSR', () => {
    const issuerKeyPair = generateKeyPair('P-384');
    const issuerPem = selfSigned(issuerKeyPair, 'CCF Service', true);
    const leafPem = issued(issuerPem, issuerKeyPair, generateKeyPair('P-256'), {
      csrSans: { dns: ['from-csr.example'] },
      sans: { dns: ['from-options.example'], ip: ['::1'] },
    });
    assert.deepEqual(parseCertificate(leafPem).subjectAltNames, ['DNS:from-options.example', 'IP:0:0:0:0:0:0:0:1']);
  });

  it('produces a CSR that openssl verifies', () => {
    const csrPem = createCsr({ subjectCn: 'CCF Node', keyPair: generateKeyPair('P-384'), sans: { dns: ['n.example'] } });
    withTempFiles({ 'req.pem': csrPem }, (dir) => {
      const checked = openssl(['req', '-in', 'req.pem', '-noout', '-verify', '-subject'], dir);
      assert.equal(checked.status, 0, checked.stderr);
      assert.match(checked.stdout + checked.stderr, /verify OK/i);
      assert.match(checked.stdout, /CN ?= ?CCF Node/);
    });
  });

  it('rejects a CSR whose signature does not verify, or that does not parse, with CSRPublicKeyInvalid', () => {
    const issuerKeyPair = generateKeyPair('P-384');
    const issuerPem = selfSigned(issuerKeyPair, 'CCF Service', true);
    const csrDer = pemToDer(createCsr({ subjectCn: 'CCF Node', keyPair: generateKeyPair('P-256') }), 'CERTIFICATE REQUEST');
    const tampered = csrDer.slice();
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 0x01;
    const cases: [string, string][] = [
      ['tampered signature', derToPem(tampered, 'CERTIFICATE REQUEST')],
      ['truncated', derToPem(csrDer.subarray(0, csrDer.length - 10), 'CERTIFICATE REQUEST')],
      ['not a CSR', issuerPem],
    ];
    for (const [name, csrPem] of cases) {
      assert.throws(
        () => issueCertificate({ csrPem, issuerCertPem: issuerPem, issuerKeyPair, validFrom: VALID_FROM, validityDays: 1, isCa: false }),
        { name: 'CocoError', code: 'CSRPublicKeyInvalid' },
        name,
      );
    }
  });

  it('issues for CSRs made by openssl, whatever digest they declare, keeping their subject and SANs', () => {
    const issuerKeyPair = generateKeyPair('P-384');
    const issuerPem = selfSigned(issuerKeyPair, 'CCF Service', true);
    const cases: [string, CurveName, string[]][] = [
      ['P-384 key, SHA-256', 'P-384', ['-sha256']],
      ['P-256 key, SHA-384', 'P-256', ['-sha384']],
      ['P-256 key, SHA-512', 'P-256', ['-sha512']],
      ['Ed25519 key', 'Ed25519', []],
    ];
    for (const [name, curve, digest] of cases) {
      const keyPair = generateKeyPair(curve);
      const csrPem = withTempFiles({ 'node.key': keyPair.privateKeyPem }, (dir) => {
        const made = openssl(['req', '-new', '-key', 'node.key', '-subj', '/O=Contoso/CN=node 1', ...digest,
          '-addext', 'subjectAltName=DNS:n1.example,IP:10.0.0.7', '-out', 'req.pem'], dir);
        assert.equal(made.status, 0, made.stderr);
        return readFileSync(join(dir, 'req.pem'), 'utf8');
      });
      const leafPem = issueCertificate({ csrPem, issuerCertPem: issuerPem, issuerKeyPair, validFrom: VALID_FROM, validityDays: 5, isCa: false });
      const info = parseCertificate(leafPem);
      assert.equal(info.subject, 'O=Contoso, CN=node 1', name);
      assert.deepEqual(info.subjectAltNames, ['DNS:n1.example', 'IP:10.0.0.7'], name);
      assert.deepEqual(info.publicKeyDer, publicKeyDer(keyPair.publicKeyPem), name);
      verifyCertificateChain(leafPem, { trustedRootPem: issuerPem, at: INSIDE_VALIDITY });
    }
  });

  it('rejects a CSR signed with a key type it does not support (RSA) with CSRPublicKeyInvalid', () => {
    const issuerKeyPair = generateKeyPair('P-256');
    const issuerPem = selfSigned(issuerKeyPair, 'CCF Service', true);
    const csrPem = withTempFiles({}, (dir) => {
      const key = openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'rsa.key'], dir);
      assert.equal(key.status, 0, key.stderr);
      const made = openssl(['req', '-new', '-key', 'rsa.key', '-subj', '/CN=node', '-out', 'req.pem'], dir);
      assert.equal(made.status, 0, made.stderr);
      return readFileSync(join(dir, 'req.pem'), 'utf8');
    });
    assert.throws(
      () => issueCertificate({ csrPem, issuerCertPem: issuerPem, issuerKeyPair, validFrom: VALID_FROM, validityDays: 1, isCa: false }),
      { name: 'CocoError', code: 'CSRPublicKeyInvalid' },
    );
  });

  it('derives the authority key id from the issuer key when the issuer certificate has no subject key id', () => {
    const issuerKeyPair = generateKeyPair('P-256');
    const config = [
      '[req]', 'distinguished_name = dn', 'prompt = no', '[dn]', 'CN = External CA',
      '[without]', 'basicConstraints = critical,CA:TRUE', 'subjectKeyIdentifier = none', 'authorityKeyIdentifier = none',
      '[with]', 'basicConstraints = critical,CA:TRUE', 'subjectKeyIdentifier = hash',
    ].join('\n');
    withTempFiles({ 'ca.key': issuerKeyPair.privateKeyPem, 'ca.cnf': config }, (dir) => {
      for (const section of ['without', 'with']) {
        const made = openssl(['req', '-x509', '-new', '-key', 'ca.key', '-config', 'ca.cnf', '-extensions', section, '-days', '2', '-out', `${section}.pem`], dir);
        assert.equal(made.status, 0, made.stderr);
      }
      const issuerPem = readFileSync(join(dir, 'without.pem'), 'utf8');
      assert.doesNotMatch(openssl(['x509', '-in', 'without.pem', '-noout', '-text'], dir).stdout, /Subject Key Identifier/);
      writeFileSync(join(dir, 'leaf.pem'), issued(issuerPem, issuerKeyPair, generateKeyPair('P-256')));
      const expected = /Subject Key Identifier: *\n *([0-9A-F:]+)/.exec(openssl(['x509', '-in', 'with.pem', '-noout', '-ext', 'subjectKeyIdentifier'], dir).stdout)?.[1];
      const actual = /Authority Key Identifier: *\n *(?:keyid:)?([0-9A-F:]+)/.exec(openssl(['x509', '-in', 'leaf.pem', '-noout', '-ext', 'authorityKeyIdentifier'], dir).stdout)?.[1];
      assert.ok(expected !== undefined && expected.length > 0);
      assert.equal(actual, expected);
    });
  });

  it('rejects an issuer key pair that does not match the issuer certificate with InvalidKey', () => {
    const issuerPem = selfSigned(generateKeyPair('P-384'), 'CCF Service', true);
    const csrPem = createCsr({ subjectCn: 'CCF Node', keyPair: generateKeyPair('P-256') });
    assert.throws(
      () => issueCertificate({ csrPem, issuerCertPem: issuerPem, issuerKeyPair: generateKeyPair('P-384'), validFrom: VALID_FROM, validityDays: 1, isCa: false }),
      { name: 'CocoError', code: 'InvalidKey' },
    );
  });
});

describe('issueCertificate for an existing certificate (a recovered service endorsing its previous identity)', () => {
  const endorse = (subjectCertPem: string, currentPem: string, currentKeys: KeyPair): string => {
    const current = parseCertificate(currentPem);
    return issueCertificate({ subjectCertPem, issuerCertPem: currentPem, issuerKeyPair: currentKeys, validFrom: current.notBefore, validityDays: validityDaysOf(current), isCa: true });
  };

  it("keeps the certificate's subject, key and alternative names, is valid as the issuer is, and chains what it issued to the issuer", () => {
    const previousKeys = generateKeyPair('P-384');
    const previousPem = selfSigned(previousKeys, 'CCF Service', true, { dns: ['service.example'] });
    const currentKeys = generateKeyPair('P-384');
    const currentPem = createSelfSignedCertificate({ subjectCn: 'CCF Service', keyPair: currentKeys, validFrom: new Date('2025-01-01T12:00:00Z'), validityDays: 30, isCa: true });
    assert.equal(validityDaysOf(parseCertificate(currentPem)), 30);
    const endorsementPem = endorse(previousPem, currentPem, currentKeys);
    const [endorsement, previous, current] = [endorsementPem, previousPem, currentPem].map((pem) => parseCertificate(pem));
    assert.deepEqual([endorsement!.subject, endorsement!.issuer, endorsement!.isCa], ['CN=CCF Service', 'CN=CCF Service', true]);
    assert.deepEqual(endorsement!.publicKeyDer, previous!.publicKeyDer);
    assert.deepEqual(endorsement!.subjectAltNames, ['DNS:service.example']);
    assert.deepEqual([endorsement!.notBefore, endorsement!.notAfter], [current!.notBefore, current!.notAfter]);
    assert.equal(isSelfSigned(endorsementPem), false, 'same name as its issuer, but another key');
    // A node of the previous service chains to the current certificate through it, for Coco and for openssl alike.
    const nodePem = issued(previousPem, previousKeys, generateKeyPair('P-384'));
    const at = new Date('2025-01-02T12:00:00Z');
    verifyCertificateChain(nodePem, { trustedRootPem: currentPem, intermediatesPem: [endorsementPem], at });
    expectChainInvalid(() => verifyCertificateChain(nodePem, { trustedRootPem: currentPem, at }), /issuer\/subject mismatch/);
    withTempFiles({ 'current.pem': currentPem, 'endorsement.pem': endorsementPem, 'node.pem': nodePem }, (dir) => {
      const verified = openssl(['verify', '-x509_strict', '-attime', String(at.getTime() / 1000), '-CAfile', 'current.pem', '-untrusted', 'endorsement.pem', 'node.pem'], dir);
      assert.equal(verified.status, 0, verified.stdout + verified.stderr);
    });
  });

  it("keeps the certificate's own subject key identifier, which what it issued names, rather than computing one", () => {
    const previousKeys = generateKeyPair('P-256');
    const config = ['[req]', 'distinguished_name = dn', 'prompt = no', '[dn]', 'CN = CCF Service',
      '[ca]', 'basicConstraints = critical,CA:TRUE', 'subjectKeyIdentifier = 01:02:03:04'].join('\n');
    withTempFiles({ 'previous.key': previousKeys.privateKeyPem, 'ca.cnf': config }, (dir) => {
      const made = openssl(['req', '-x509', '-new', '-key', 'previous.key', '-config', 'ca.cnf', '-extensions', 'ca', '-days', '2', '-out', 'previous.pem'], dir);
      assert.equal(made.status, 0, made.stderr);
      const currentKeys = generateKeyPair('P-256');
      writeFileSync(join(dir, 'endorsement.pem'), endorse(readFileSync(join(dir, 'previous.pem'), 'utf8'), selfSigned(currentKeys, 'CCF Service', true), currentKeys));
      assert.match(openssl(['x509', '-in', 'endorsement.pem', '-noout', '-ext', 'subjectKeyIdentifier'], dir).stdout, /01:02:03:04/);
    });
  });

  it('refuses what is not a certificate with InvalidCertificate', () => {
    const keys = generateKeyPair('P-256');
    assert.throws(() => endorse('not a certificate', selfSigned(keys, 'CCF Service', true), keys), { name: 'CocoError', code: 'InvalidCertificate' });
  });
});

describe('synchronous issuance', () => {
  it('returns PEM strings at once, and a chain issued that way parses with node and openssl and verifies', () => {
    const rootKeys = generateKeyPair('P-384');
    const rootPem = createSelfSignedCertificate({ subjectCn: 'CCF Service', keyPair: rootKeys, validFrom: VALID_FROM, validityDays: 10, isCa: true });
    const intermediateKeys = generateKeyPair('P-256');
    const intermediateCsr = createCsr({ subjectCn: 'CCF Intermediate', keyPair: intermediateKeys });
    const intermediatePem = issueCertificate({
      csrPem: intermediateCsr, issuerCertPem: rootPem, issuerKeyPair: rootKeys, validFrom: VALID_FROM, validityDays: 5, isCa: true,
    });
    const leafCsr = createCsr({ subjectCn: 'CCF Node', keyPair: generateKeyPair('Ed25519'), sans: { ip: ['10.0.0.4'] } });
    const leafPem = issueCertificate({
      csrPem: leafCsr, issuerCertPem: intermediatePem, issuerKeyPair: intermediateKeys, validFrom: VALID_FROM, validityDays: 2, isCa: false,
    });
    for (const pem of [rootPem, intermediateCsr, intermediatePem, leafCsr, leafPem]) {
      assert.equal(typeof pem, 'string');
      assert.match(pem, /^-----BEGIN (CERTIFICATE|CERTIFICATE REQUEST)-----\n[A-Za-z0-9+/=\n]+-----END \1-----\n$/);
    }
    const certificates = { 'root.pem': rootPem, 'intermediate.pem': intermediatePem, 'leaf.pem': leafPem };
    for (const pem of Object.values(certificates)) assert.deepEqual(new Uint8Array(new X509Certificate(pem).raw), pemToDer(pem));
    withTempFiles(certificates, (dir) => {
      for (const file of Object.keys(certificates)) {
        const text = openssl(['x509', '-in', file, '-noout', '-text'], dir);
        assert.equal(text.status, 0, `${file}: ${text.stderr}`);
      }
      const verified = openssl(['verify', '-attime', String(INSIDE_VALIDITY.getTime() / 1000), '-CAfile', 'root.pem', '-untrusted', 'intermediate.pem', 'leaf.pem'], dir);
      assert.equal(verified.status, 0, verified.stdout + verified.stderr);
    });
    verifyCertificateChain(leafPem, { trustedRootPem: rootPem, intermediatesPem: [intermediatePem], at: INSIDE_VALIDITY });
    expectChainInvalid(
      () => verifyCertificateChain(leafPem, { trustedRootPem: rootPem, intermediatesPem: [intermediatePem], at: new Date('2025-01-03T00:00:00Z') }),
      /"CN=CCF Node .*" is not valid at/,
    );
  });
});

describe('verifyCertificateChain', () => {
  it('accepts a leaf through intermediates up to the trusted root, and the root itself', () => {
    const rootKeys = generateKeyPair('P-384');
    const rootPem = selfSigned(rootKeys, 'Root', true);
    const intermediateKeys = generateKeyPair('P-256');
    const intermediatePem = issued(rootPem, rootKeys, intermediateKeys, { subjectCn: 'Intermediate', isCa: true });
    const leafPem = issued(intermediatePem, intermediateKeys, generateKeyPair('Ed25519'));
    verifyCertificateChain(leafPem, { trustedRootPem: rootPem, intermediatesPem: [intermediatePem], at: INSIDE_VALIDITY });
    verifyCertificateChain(rootPem, { trustedRootPem: rootPem, at: INSIDE_VALIDITY });
    expectChainInvalid(() => verifyCertificateChain(leafPem, { trustedRootPem: rootPem, at: INSIDE_VALIDITY }), /issuer\/subject mismatch/);
  });

  it('names the failing check: signature, issuer, CA flag or validity', () => {
    const rootKeys = generateKeyPair('P-384');
    const rootPem = selfSigned(rootKeys, 'CCF Service', true);
    const leafPem = issued(rootPem, rootKeys, generateKeyPair('P-256'));
    const otherRootPem = selfSigned(generateKeyPair('P-384'), 'Other Service', true);
    const notCaKeys = generateKeyPair('P-256');
    const notCaPem = selfSigned(notCaKeys, 'Not A CA', false);
    const underNotCa = issued(notCaPem, notCaKeys, generateKeyPair('P-256'));
    const ok = { trustedRootPem: rootPem, at: INSIDE_VALIDITY };
    const cases: [string, () => void, RegExp][] = [
      ['tampered leaf signature', () => verifyCertificateChain(tamperSignature(leafPem), ok), /bad signature/],
      ['other root', () => verifyCertificateChain(leafPem, { ...ok, trustedRootPem: otherRootPem }), /issuer\/subject mismatch/],
      ['issuer is not a CA', () => verifyCertificateChain(underNotCa, { ...ok, trustedRootPem: notCaPem }), /not a CA/],
      ['before notBefore', () => verifyCertificateChain(leafPem, { ...ok, at: new Date('2024-12-31T23:59:59Z') }), /not valid at/],
      ['after the leaf expired', () => verifyCertificateChain(leafPem, { ...ok, at: new Date('2025-01-06T00:00:00Z') }), /not valid at 2025-01-06/],
      ['default is now, long after expiry', () => verifyCertificateChain(leafPem, { trustedRootPem: rootPem }), /not valid at/],
      ['unparseable leaf', () => verifyCertificateChain('garbage', ok), /leaf certificate does not parse/],
      ['unparseable root', () => verifyCertificateChain(leafPem, { ...ok, trustedRootPem: leafPem.slice(0, 100) }), /trusted root certificate does not parse/],
    ];
    for (const [, check, reason] of cases) expectChainInvalid(check, reason);
    verifyCertificateChain(leafPem, { trustedRootPem: rootPem, at: 'ignore-validity' });
    assert.throws(() => verifyCertificateChain(leafPem, { ...ok, at: new Date(Number.NaN) }), { name: 'CocoError', code: 'InvalidArgument' });
  });

  it('refuses chains longer than the limit', () => {
    const rootKeys = generateKeyPair('P-256');
    const rootPem = selfSigned(rootKeys, 'CA 0', true);
    const intermediates: string[] = [];
    let [issuerPem, issuerKeys] = [rootPem, rootKeys];
    for (let i = 1; i < CERTIFICATE_CHAIN_LENGTH_MAX; i++) {
      const keys = generateKeyPair('P-256');
      issuerPem = issued(issuerPem, issuerKeys, keys, { subjectCn: `CA ${i}`, isCa: true });
      issuerKeys = keys;
      intermediates.push(issuerPem);
    }
    const leafPem = issued(issuerPem, issuerKeys, generateKeyPair('P-256'));
    const opts = { trustedRootPem: rootPem, at: INSIDE_VALIDITY };
    verifyCertificateChain(intermediates.at(-1)!, { ...opts, intermediatesPem: intermediates.slice(0, -1) });
    expectChainInvalid(() => verifyCertificateChain(leafPem, { ...opts, intermediatesPem: intermediates }), /longer than 8/);
  });
});

describe('parseCertificate / isSelfSigned', () => {
  it('parses PEM and DER alike, normalising the PEM', () => {
    const pem = selfSigned(generateKeyPair('P-256'), 'member0', false);
    const fromPem = parseCertificate(pem.replaceAll('\n', '\r\n'));
    const fromDer = parseCertificate(pemToDer(pem));
    assert.deepEqual(fromDer, fromPem);
    assert.equal(fromPem.pem, pem);
    assert.equal(Object.getPrototypeOf(fromPem.der), Uint8Array.prototype);
    assert.deepEqual(publicKeyDer(fromPem.publicKeyPem), fromPem.publicKeyDer);
  });

  it('rejects what is not a certificate with InvalidCertificate', () => {
    const keyPair = generateKeyPair('P-256');
    const der = pemToDer(selfSigned(keyPair, 'x', false));
    const cases: [string, string | Uint8Array][] = [
      ['garbage text', 'hello'],
      ['public key PEM', keyPair.publicKeyPem],
      ['truncated DER', der.subarray(0, der.length - 20)],
      ['empty DER', new Uint8Array(0)],
      ['DER as a PEM body of the wrong label', derToPem(der, 'PUBLIC KEY')],
      ['certificate PEM with a corrupted body', derToPem(der.subarray(1), 'CERTIFICATE')],
    ];
    for (const [name, input] of cases) {
      assert.throws(() => parseCertificate(input), { name: 'CocoError', code: 'InvalidCertificate' }, name);
    }
    assert.throws(() => isSelfSigned('hello'), { name: 'CocoError', code: 'InvalidCertificate' });
  });

  it('reports a certificate whose signature fails under its own key as not self-signed', () => {
    const pem = selfSigned(generateKeyPair('P-256'), 'x', true);
    assert.equal(isSelfSigned(pem), true);
    assert.equal(isSelfSigned(tamperSignature(pem)), false);
  });
});

describe('certificates of a real CCF ledger', () => {
  const certificates = certificatesIn(readLedgerChunk('genesis-14/ledger_1-14.committed'));
  const infos = certificates.map((pem) => parseCertificate(pem));
  const service = infos.filter((info) => info.subject === 'CN=CCF Service' && info.issuer === 'CN=CCF Service');
  const endorsedNodes = infos.filter((info) => info.subject === 'CN=CCF Node' && info.issuer === 'CN=CCF Service');

  it('parse, with the fields openssl and node read', () => {
    assert.ok(certificates.length >= 6, `found ${certificates.length} certificates`);
    for (const [i, info] of infos.entries()) {
      const node = new X509Certificate(certificates[i]!);
      assert.deepEqual(info.der, new Uint8Array(node.raw));
      assert.equal(toBase64(info.der), toBase64(fromBase64(certificates[i]!.replace(/-----[A-Z ]+-----/g, ''))));
      assert.ok(info.notBefore < info.notAfter);
      assert.ok(info.subject.length > 0 && info.issuer.length > 0);
    }
    assert.equal(service.length, 1);
    assert.equal(service[0]!.isCa, true);
    assert.ok(endorsedNodes.length >= 1);
    assert.ok(endorsedNodes.every((info) => !info.isCa));
    assert.ok(endorsedNodes[0]!.subjectAltNames.includes('IP:10.2.0.4'));
  });

  it('chain the service-endorsed node certificates to the service certificate as of the ledger, not as of today', () => {
    const servicePem = service[0]!.pem;
    assert.equal(isSelfSigned(servicePem), true);
    for (const node of endorsedNodes) {
      verifyCertificateChain(node.pem, { trustedRootPem: servicePem, at: 'ignore-validity' });
      verifyCertificateChain(node.pem, { trustedRootPem: servicePem, at: new Date(service[0]!.notBefore.getTime() + 60_000) });
      expectChainInvalid(() => verifyCertificateChain(node.pem, { trustedRootPem: servicePem }), /not valid at/);
      assert.equal(isSelfSigned(node.pem), false);
    }
  });
});

/**
 * A chain made by openssl in `dir`: a root, then one certificate per entry of `links` (its extensions
 * in openssl's config syntax), each issued by the one before; returns their PEMs, root first.
 */
function opensslChain(dir: string, links: string[]): string[] {
  const run = (args: string[]): void => {
    const result = openssl(args, dir);
    assert.equal(result.status, 0, result.stderr);
  };
  const key = (name: string): string[] => ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`];
  run(['req', '-x509', ...key('c0'), '-out', 'c0.pem', '-subj', '/CN=root', '-days', '2', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  links.forEach((extensions, index) => {
    const i = index + 1;
    writeFileSync(join(dir, `e${i}.cnf`), `[v]\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n${extensions}\n`);
    run(['req', ...key(`c${i}`), '-out', `c${i}.csr`, '-subj', `/CN=cert ${i}`]);
    run(['x509', '-req', '-in', `c${i}.csr`, '-CA', `c${index}.pem`, '-CAkey', `c${index}.key`, '-set_serial', String(i), '-days', '2', '-out', `c${i}.pem`, '-extfile', `e${i}.cnf`, '-extensions', 'v']);
  });
  return [0, ...links.map((_, index) => index + 1)].map((i) => readFileSync(join(dir, `c${i}.pem`), 'utf8'));
}

describe('verifyCertificateChainToAny (ccf.crypto.isValidX509CertChain)', () => {
  const CA = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign';
  const LEAF = 'basicConstraints=critical,CA:FALSE';

  it('finds the root among many and accepts chains as long as OpenSSL does (QA: 10 intermediates were refused)', () => {
    withTempFiles({}, (dir) => {
      const [root, ...rest] = opensslChain(dir, [...Array.from({ length: 10 }, () => CA), LEAF]);
      const leaf = rest.pop()!;
      const others = Array.from({ length: 5 }, () => selfSigned(generateKeyPair('P-256'), 'Other root', true));
      verifyCertificateChainToAny(leaf, { trustedRootsPem: [...others, root!], intermediatesPem: [...rest].reverse() });
      expectChainInvalid(() => verifyCertificateChainToAny(leaf, { trustedRootsPem: others, intermediatesPem: rest }), /issuer\/subject mismatch/);
    });
  });

  it('prefers, as OpenSSL does, an issuer valid at the time to one of the same name and key that is not (QA: the expired one listed first failed the chain)', () => {
    const rootKeys = generateKeyPair('P-256');
    const rootPem = selfSigned(rootKeys, 'Root', true);
    const intermediateKeys = generateKeyPair('P-256');
    const csrPem = createCsr({ subjectCn: 'Intermediate', keyPair: intermediateKeys });
    const issue = (validFrom: Date, validityDays: number): string => issueCertificate({ csrPem, issuerCertPem: rootPem, issuerKeyPair: rootKeys, validFrom, validityDays, isCa: true });
    const expired = issue(new Date(VALID_FROM.getTime() - 10 * DAY_MS), 1);
    const current = issue(VALID_FROM, 5);
    const leafPem = issued(current, intermediateKeys, generateKeyPair('P-256'));
    verifyCertificateChainToAny(leafPem, { trustedRootsPem: [rootPem], intermediatesPem: [expired, current], at: INSIDE_VALIDITY });
    expectChainInvalid(() => verifyCertificateChainToAny(leafPem, { trustedRootsPem: [rootPem], intermediatesPem: [expired], at: INSIDE_VALIDITY }), /is not valid at/);
  });

  it('looks at a bounded number of candidate issuers, so certificates that share one name cannot multiply its work (QA: 13 s, an election)', () => {
    const rootKeys = generateKeyPair('P-256');
    const rootPem = selfSigned(rootKeys, 'Same', true);
    const intermediates: string[] = [];
    let [issuerPem, issuerKeys] = [rootPem, rootKeys];
    for (let i = 0; i < 30; i++) {
      const keys = generateKeyPair('P-256');
      issuerPem = issued(issuerPem, issuerKeys, keys, { subjectCn: 'Same', isCa: true });
      issuerKeys = keys;
      intermediates.push(issuerPem);
    }
    const leafPem = issued(issuerPem, issuerKeys, generateKeyPair('P-256'));
    const junk = Array.from({ length: 400 }, () => selfSigned(generateKeyPair('P-256'), 'Same', true));
    expectChainInvalid(
      () => verifyCertificateChainToAny(leafPem, { trustedRootsPem: [rootPem], intermediatesPem: [...junk, ...intermediates], at: INSIDE_VALIDITY }),
      /more than 10000 candidate issuers looked at: the certificates given share too many names/,
    );
  });

  it("refuses, as OpenSSL does, a chain past a CA's path length constraint and a certificate with an unknown critical extension (QA: both were accepted)", () => {
    withTempFiles({}, (dir) => {
      const [root, limited, below, leaf] = opensslChain(dir, [`${CA}`.replace('CA:TRUE', 'CA:TRUE,pathlen:0'), CA, LEAF]);
      expectChainInvalid(() => verifyCertificateChainToAny(leaf!, { trustedRootsPem: [root!], intermediatesPem: [limited!, below!] }), /path length constraint exceeded: "CN=cert 1 \(serial 01\)" allows 0 intermediate CA certificates below it, and the chain has 1/);
      const openssls = openssl(['verify', '-CAfile', 'c0.pem', '-untrusted', 'c1.pem', '-untrusted', 'c2.pem', 'c3.pem'], dir);
      assert.notEqual(openssls.status, 0, 'openssl refuses it too');
    });
    withTempFiles({}, (dir) => {
      const [root, leaf] = opensslChain(dir, [`${LEAF}\n1.2.3.4=critical,ASN1:NULL`]);
      expectChainInvalid(() => verifyCertificateChainToAny(leaf!, { trustedRootsPem: [root!] }), /"CN=cert 1 \(serial 01\)" has a critical extension 1\.2\.3\.4 that this check does not apply/);
      // Not critical, it is no obstacle.
      const [otherRoot, otherLeaf] = opensslChain(dir, [`${LEAF}\n1.2.3.4=ASN1:NULL`]);
      verifyCertificateChainToAny(otherLeaf!, { trustedRootsPem: [otherRoot!] });
    });
  });
});
