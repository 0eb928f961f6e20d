// X.509 certificates: issue (self-signed, CSR, CA-issued) with @peculiar/x509 over node's WebCrypto,
// and parse / chain-verify with node's X509Certificate (OpenSSL). Issued certificates sign with the
// issuer's curve (ecdsa-with-SHA256 for P-256, ecdsa-with-SHA384 for P-384, Ed25519), carry random
// positive serials, and a chain verifies only if every signature, issuer link, CA flag and date holds.

import { X509Certificate as NodeX509Certificate, createPrivateKey, webcrypto } from 'node:crypto';
import { CocoError } from '../errors.js';
import { equalBytes, plainBytes, toHex } from './bytes.js';
import { derToPem, pemToDer } from './pem.js';
import { randomBytes } from './random.js';
import { curveOf, publicKeyDer, type CurveName, type KeyPair } from './signing.js';

type Peculiar = typeof import('@peculiar/x509');

export interface SubjectAltNames {
  dns?: string[];
  ip?: string[];
}

export interface CertificateInfo {
  der: Uint8Array;
  pem: string;
  /** Node's rendering of the name: RDNs as `CN=CCF Node`, several joined by ", ". */
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  serialNumberHex: string;
  isCa: boolean;
  publicKeyPem: string;
  publicKeyDer: Uint8Array;
  /** `DNS:<name>` and `IP:<address>` entries, in certificate order. */
  subjectAltNames: string[];
}

export interface VerifyChainOptions {
  trustedRootPem: string;
  intermediatesPem?: string[];
  /** Instant at which every certificate must be valid (default: now), or 'ignore-validity'. */
  at?: Date | 'ignore-validity';
}

/** Longest chain accepted, leaf and root included. */
export const CERTIFICATE_CHAIN_LENGTH_MAX = 8;
/** 100 years: anything longer is a mistake, not a policy. */
export const CERTIFICATE_VALIDITY_DAYS_MAX = 36_525;
/** 16 random bytes with the top bits fixed to 01: positive, minimally encoded, 126 bits of entropy. */
const SERIAL_NUMBER_BYTES = 16;
const DAY_MS = 86_400_000;
const SECOND_MS = 1_000;
const SUBJECT_ALT_NAME_OID = '2.5.29.17';

const SIGNING_ALGORITHMS: Record<CurveName, { name: string; hash?: string }> = {
  'P-256': { name: 'ECDSA', hash: 'SHA-256' },
  'P-384': { name: 'ECDSA', hash: 'SHA-384' },
  Ed25519: { name: 'Ed25519' },
};

const KEY_ALGORITHMS: Record<CurveName, { name: string; namedCurve?: string }> = {
  'P-256': { name: 'ECDSA', namedCurve: 'P-256' },
  'P-384': { name: 'ECDSA', namedCurve: 'P-384' },
  Ed25519: { name: 'Ed25519' },
};

export async function createSelfSignedCertificate(opts: {
  subjectCn: string;
  keyPair: KeyPair;
  validFrom: Date;
  validityDays: number;
  isCa: boolean;
  sans?: SubjectAltNames;
}): Promise<string> {
  const x509 = await peculiar();
  const keys = await importKeyPair(opts.keyPair);
  const name = commonName(x509, opts.subjectCn);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumberHex(),
    subject: name,
    issuer: name,
    ...validity(opts.validFrom, opts.validityDays),
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    signingAlgorithm: SIGNING_ALGORITHMS[keys.curve],
    extensions: [
      new x509.BasicConstraintsExtension(opts.isCa, undefined, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey),
      ...subjectAltNameExtensions(x509, sanList(opts.sans)),
    ],
  });
  return cert.toString('pem') + '\n';
}

export async function createCsr(opts: { subjectCn: string; keyPair: KeyPair; sans?: SubjectAltNames }): Promise<string> {
  const x509 = await peculiar();
  const keys = await importKeyPair(opts.keyPair);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: commonName(x509, opts.subjectCn),
    keys: { privateKey: keys.privateKey, publicKey: keys.publicKey },
    signingAlgorithm: SIGNING_ALGORITHMS[keys.curve],
    extensions: subjectAltNameExtensions(x509, sanList(opts.sans)),
  });
  return csr.toString('pem') + '\n';
}

/**
 * Issues a certificate for the subject and public key of `csrPem`, signed by the issuer. The CSR's
 * own signature must verify (proof of possession). SANs come from `opts.sans`, else from the CSR.
 */
export async function issueCertificate(opts: {
  csrPem: string;
  issuerCertPem: string;
  issuerKeyPair: KeyPair;
  validFrom: Date;
  validityDays: number;
  isCa: boolean;
  sans?: SubjectAltNames;
}): Promise<string> {
  const issuerInfo = parseCertificate(opts.issuerCertPem);
  if (!equalBytes(publicKeyDer(opts.issuerKeyPair.privateKeyPem), issuerInfo.publicKeyDer)) {
    throw new CocoError('InvalidKey', 'the issuer key pair does not match the issuer certificate\'s public key');
  }
  const x509 = await peculiar();
  let csr: InstanceType<Peculiar['Pkcs10CertificateRequest']>;
  try {
    csr = new x509.Pkcs10CertificateRequest(pemToDer(opts.csrPem, 'CERTIFICATE REQUEST'));
  } catch (cause) {
    throw new CocoError('CSRPublicKeyInvalid', 'the CSR is not a parseable PEM "CERTIFICATE REQUEST"', { cause });
  }
  if (!(await verifyCsrSignature(csr))) {
    throw new CocoError('CSRPublicKeyInvalid', 'the CSR signature does not verify with its own public key; regenerate the CSR with the matching private key');
  }
  const issuer = new x509.X509Certificate(issuerInfo.der);
  const keys = await importKeyPair(opts.issuerKeyPair);
  const issuerKeyId = issuer.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const sanExtension = opts.sans !== undefined
    ? subjectAltNameExtensions(x509, sanList(opts.sans))
    : csrSubjectAltNames(x509, csr);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumberHex(),
    subject: csr.subjectName,
    issuer: issuer.subjectName,
    ...validity(opts.validFrom, opts.validityDays),
    publicKey: csr.publicKey,
    signingKey: keys.privateKey,
    signingAlgorithm: SIGNING_ALGORITHMS[keys.curve],
    extensions: [
      new x509.BasicConstraintsExtension(opts.isCa, undefined, true),
      await x509.SubjectKeyIdentifierExtension.create(csr.publicKey),
      issuerKeyId !== undefined
        ? new x509.AuthorityKeyIdentifierExtension(issuerKeyId)
        : await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey),
      ...sanExtension,
    ],
  });
  return cert.toString('pem') + '\n';
}

/** Parses a certificate from PEM text (first CERTIFICATE block) or DER bytes. */
export function parseCertificate(pemOrDer: string | Uint8Array): CertificateInfo {
  const der = certificateDer(pemOrDer);
  const cert = nodeCertificate(der);
  const publicKey = cert.publicKey;
  return {
    der,
    pem: derToPem(der, 'CERTIFICATE'),
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    notBefore: certificateDate(cert.validFrom),
    notAfter: certificateDate(cert.validTo),
    serialNumberHex: cert.serialNumber.toLowerCase(),
    isCa: cert.ca,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    publicKeyDer: plainBytes(publicKey.export({ type: 'spki', format: 'der' })),
    subjectAltNames: subjectAltNamesOf(cert),
  };
}

/**
 * DER of a certificate given as PEM or DER, checked to parse as X.509 (CocoError 'InvalidCertificate').
 */
export function certificateDer(pemOrDer: string | Uint8Array): Uint8Array {
  let der: Uint8Array;
  if (typeof pemOrDer === 'string') {
    try {
      der = pemToDer(pemOrDer, 'CERTIFICATE');
    } catch (cause) {
      throw new CocoError('InvalidCertificate', `expected a PEM certificate: ${(cause as Error).message}`, { cause });
    }
  } else if (pemOrDer instanceof Uint8Array) {
    der = pemOrDer;
  } else {
    throw new CocoError('InvalidCertificate', `expected a PEM string or DER bytes, got ${typeof pemOrDer}`);
  }
  nodeCertificate(der);
  return der;
}

/**
 * Checks that `leafPem` chains to `trustedRootPem` through `intermediatesPem`: each link's issuer
 * name and key identifier match, the issuer is a CA, the signature verifies, and (unless
 * 'ignore-validity') every certificate is valid at `at`. The leaf may be the trusted root itself.
 * Throws CocoError 'CertificateChainInvalid' naming the first failure.
 */
export function verifyCertificateChain(leafPem: string, opts: VerifyChainOptions): void {
  const leaf = chainCertificate(leafPem, 'leaf');
  const root = chainCertificate(opts.trustedRootPem, 'trusted root');
  const intermediates = (opts.intermediatesPem ?? []).map((pem, i) => chainCertificate(pem, `intermediate ${i}`));
  const at = opts.at ?? new Date();
  if (at !== 'ignore-validity' && (!(at instanceof Date) || Number.isNaN(at.getTime()))) {
    throw new CocoError('InvalidArgument', `verifyCertificateChain: 'at' must be a valid Date or 'ignore-validity'`);
  }
  const chain = [leaf];
  let current = leaf;
  while (!equalBytes(current.raw, root.raw)) {
    if (chain.length >= CERTIFICATE_CHAIN_LENGTH_MAX) {
      chainInvalid(`chain is longer than ${CERTIFICATE_CHAIN_LENGTH_MAX} certificates without reaching the trusted root`);
    }
    const issuer = [root, ...intermediates].find((candidate) => !chain.includes(candidate) && current.checkIssued(candidate));
    if (issuer === undefined) {
      chainInvalid(`issuer/subject mismatch: no certificate among the trusted root and intermediates issued "${describe(current)}" (issuer "${oneLine(current.issuer)}")`);
    }
    if (!issuer.ca) chainInvalid(`issuer "${describe(issuer)}" of "${describe(current)}" is not a CA`);
    if (!current.verify(issuer.publicKey)) {
      chainInvalid(`bad signature: "${describe(current)}" is not signed by the key of "${describe(issuer)}"`);
    }
    chain.push(issuer);
    current = issuer;
  }
  if (at === 'ignore-validity') return;
  for (const cert of chain) {
    const notBefore = certificateDate(cert.validFrom);
    const notAfter = certificateDate(cert.validTo);
    if (at < notBefore || at > notAfter) {
      chainInvalid(`"${describe(cert)}" is not valid at ${at.toISOString()} (valid ${notBefore.toISOString()} to ${notAfter.toISOString()})`);
    }
  }
}

/** True if the certificate names itself as issuer and its signature verifies with its own key. */
export function isSelfSigned(pem: string): boolean {
  const cert = nodeCertificate(certificateDer(pem));
  return cert.checkIssued(cert) && cert.verify(cert.publicKey);
}

// ---------------------------------------------------------------------------------------------

let peculiarModule: Promise<Peculiar> | undefined;

/**
 * Loads @peculiar/x509 once, bound to node's WebCrypto; lazily, because verifying a ledger never
 * issues a certificate. Its dependency injection (tsyringe) needs the Reflect metadata polyfill.
 */
function peculiar(): Promise<Peculiar> {
  peculiarModule ??= (async () => {
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
    return x509;
  })();
  return peculiarModule;
}

interface ImportedKeyPair {
  curve: CurveName;
  privateKey: webcrypto.CryptoKey;
  publicKey: webcrypto.CryptoKey;
}

async function importKeyPair(keyPair: KeyPair): Promise<ImportedKeyPair> {
  const curve = curveOf(keyPair.privateKeyPem);
  const spki = publicKeyDer(keyPair.privateKeyPem);
  if (!equalBytes(spki, publicKeyDer(keyPair.publicKeyPem))) {
    throw new CocoError('InvalidKey', 'the key pair\'s public key does not belong to its private key');
  }
  const pkcs8 = createPrivateKey(keyPair.privateKeyPem).export({ type: 'pkcs8', format: 'der' });
  const algorithm = KEY_ALGORITHMS[curve];
  const [privateKey, publicKey] = await Promise.all([
    webcrypto.subtle.importKey('pkcs8', pkcs8, algorithm, false, ['sign']),
    webcrypto.subtle.importKey('spki', spki, algorithm, true, ['verify']),
  ]);
  return { curve, privateKey, publicKey };
}

async function verifyCsrSignature(csr: InstanceType<Peculiar['Pkcs10CertificateRequest']>): Promise<boolean> {
  try {
    return await csr.verify();
  } catch {
    return false; // unsupported or malformed key/signature: not a proof of possession either way
  }
}

function commonName(x509: Peculiar, cn: string): InstanceType<Peculiar['Name']> {
  if (typeof cn !== 'string' || cn.length === 0) {
    throw new CocoError('InvalidArgument', 'a certificate subject common name must be a non-empty string');
  }
  return new x509.Name([{ CN: [{ utf8String: cn }] }]);
}

function serialNumberHex(): string {
  const serial = randomBytes(SERIAL_NUMBER_BYTES);
  serial[0] = ((serial[0] ?? 0) & 0x3f) | 0x40;
  return toHex(serial);
}

/** X.509 validity is inclusive at both ends, so `days` days end one second before the next day starts. */
function validity(validFrom: Date, days: number): { notBefore: Date; notAfter: Date } {
  if (!(validFrom instanceof Date) || Number.isNaN(validFrom.getTime())) {
    throw new CocoError('InvalidArgument', 'validFrom must be a valid Date');
  }
  if (!Number.isInteger(days) || days < 1 || days > CERTIFICATE_VALIDITY_DAYS_MAX) {
    throw new CocoError('InvalidArgument', `validityDays must be an integer in 1..${CERTIFICATE_VALIDITY_DAYS_MAX}, got ${days}`);
  }
  const notBeforeMs = Math.floor(validFrom.getTime() / SECOND_MS) * SECOND_MS;
  return { notBefore: new Date(notBeforeMs), notAfter: new Date(notBeforeMs + days * DAY_MS - SECOND_MS) };
}

type JsonGeneralName = { type: 'dns' | 'ip'; value: string };

function sanList(sans: SubjectAltNames | undefined): JsonGeneralName[] {
  return [
    ...(sans?.dns ?? []).map((value): JsonGeneralName => ({ type: 'dns', value })),
    ...(sans?.ip ?? []).map((value): JsonGeneralName => ({ type: 'ip', value })),
  ];
}

function subjectAltNameExtensions(x509: Peculiar, names: JsonGeneralName[]): InstanceType<Peculiar['Extension']>[] {
  if (names.length === 0) return [];
  try {
    return [new x509.SubjectAlternativeNameExtension(names)];
  } catch (cause) {
    throw new CocoError('InvalidArgument', `invalid subject alternative names ${JSON.stringify(names)}`, { cause });
  }
}

function csrSubjectAltNames(x509: Peculiar, csr: InstanceType<Peculiar['Pkcs10CertificateRequest']>): InstanceType<Peculiar['Extension']>[] {
  const extension = csr.getExtension(SUBJECT_ALT_NAME_OID);
  return extension === null ? [] : [new x509.SubjectAlternativeNameExtension(extension.rawData)];
}

function nodeCertificate(der: Uint8Array): NodeX509Certificate {
  try {
    return new NodeX509Certificate(der);
  } catch (cause) {
    throw new CocoError('InvalidCertificate', 'bytes do not parse as a DER X.509 certificate', { cause });
  }
}

function chainCertificate(pem: string, role: string): NodeX509Certificate {
  try {
    return nodeCertificate(certificateDer(pem));
  } catch (cause) {
    throw new CocoError('CertificateChainInvalid', `the ${role} certificate does not parse: ${(cause as Error).message}`, { cause });
  }
}

function chainInvalid(reason: string): never {
  throw new CocoError('CertificateChainInvalid', `certificate chain invalid: ${reason}`);
}

/** Node renders validity like "Mar 27 21:54:46 2025 GMT", which Date parses. */
function certificateDate(text: string): Date {
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new CocoError('InvalidCertificate', `unreadable certificate date ${JSON.stringify(text)}`);
  return date;
}

function subjectAltNamesOf(cert: NodeX509Certificate): string[] {
  const text = cert.subjectAltName;
  if (text === undefined || text === '') return [];
  return text.split(', ').map((entry) => entry.replace(/^IP Address:/, 'IP:'));
}

function describe(cert: NodeX509Certificate): string {
  return `${oneLine(cert.subject)} (serial ${cert.serialNumber.toLowerCase()})`;
}

function oneLine(name: string): string {
  return name.split('\n').join(', ');
}
