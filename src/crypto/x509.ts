// X.509 certificates: issue (self-signed, CSR, CA-issued, or for an existing certificate's subject and
// key) synchronously, so QuickJS host functions can return a PEM at once: the ASN.1 is built with
// @peculiar/asn1-x509 / asn1-csr and the TBS bytes are signed with node:crypto by the issuer's curve
// (ecdsa-with-SHA256 for P-256, ecdsa-with-SHA384 for P-384, Ed25519). Parsing and chain verification
// use node's X509Certificate (OpenSSL).

import { X509Certificate as NodeX509Certificate, createPublicKey, hash, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { Attributes, CertificationRequest, CertificationRequestInfo } from '@peculiar/asn1-csr';
import {
  AlgorithmIdentifier,
  Attribute,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  Extension,
  Extensions,
  GeneralName,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
} from '@peculiar/asn1-x509';
import { CocoError } from '../errors.js';
import { equalBytes, plainBytes } from './bytes.js';
import { derToPem, pemToDer } from './pem.js';
import { randomBytes } from './random.js';
import { curveOf, publicKeyDer, sign, type CurveName, type KeyPair } from './signing.js';

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
/** Longest chain verifyCertificateChainToAny accepts: OpenSSL's default depth of 100 intermediates, with leaf and root. */
export const OPENSSL_CHAIN_LENGTH_MAX = 102;
/** 100 years: anything longer is a mistake, not a policy. */
export const CERTIFICATE_VALIDITY_DAYS_MAX = 36_525;
/** 16 random bytes with the top bits fixed to 01: positive, minimally encoded, 126 bits of entropy. */
const SERIAL_NUMBER_BYTES = 16;
const DAY_MS = 86_400_000;
const SECOND_MS = 1_000;
/** RFC 5280 4.1.2.5.1: a two-digit UTCTime year below 50 is 20YY, from 50 on it is 19YY. */
const UTC_TIME_CENTURY_PIVOT_YEARS = 50;
const UTC_TIME = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
/** Printable ASCII without space: what an IA5String dNSName (wildcards included) may hold. */
const DNS_NAME = /^[\x21-\x7e]+$/;

const COMMON_NAME_OID = '2.5.4.3';
/** PKCS #9 extensionRequest: the CSR attribute that carries requested extensions. */
const EXTENSION_REQUEST_OID = '1.2.840.113549.1.9.14';
const ECDSA_WITH_SHA256_OID = '1.2.840.10045.4.3.2';
const ECDSA_WITH_SHA384_OID = '1.2.840.10045.4.3.3';
const ECDSA_WITH_SHA512_OID = '1.2.840.10045.4.3.4';
const ED25519_OID = '1.3.101.112';

/** The signature algorithm an issuer key signs with; node's `sign()` picks the same hash by curve. */
const SIGNATURE_ALGORITHM_OIDS: Record<CurveName, string> = {
  'P-256': ECDSA_WITH_SHA256_OID,
  'P-384': ECDSA_WITH_SHA384_OID,
  'P-521': ECDSA_WITH_SHA512_OID,
  Ed25519: ED25519_OID,
};

/** CSR signature algorithms accepted as proof of possession: node's digest (null for EdDSA) and key type. */
const CSR_SIGNATURE_ALGORITHMS = new Map<string, { hash: string | null; keyType: string }>([
  [ECDSA_WITH_SHA256_OID, { hash: 'sha256', keyType: 'ec' }],
  [ECDSA_WITH_SHA384_OID, { hash: 'sha384', keyType: 'ec' }],
  [ECDSA_WITH_SHA512_OID, { hash: 'sha512', keyType: 'ec' }],
  [ED25519_OID, { hash: null, keyType: 'ed25519' }],
]);

export function createSelfSignedCertificate(opts: {
  subjectCn: string;
  keyPair: KeyPair;
  validFrom: Date;
  validityDays: number;
  isCa: boolean;
  sans?: SubjectAltNames;
}): string {
  const spki = checkedPublicKey(opts.keyPair);
  const name = commonName(opts.subjectCn);
  const keyId = keyIdentifier(spki);
  return signCertificate(
    new TBSCertificate({
      issuer: name,
      subject: name,
      validity: validity(opts.validFrom, opts.validityDays),
      subjectPublicKeyInfo: spki,
      extensions: new Extensions([
        ...caExtensions(opts.isCa),
        subjectKeyIdentifierExtension(keyId),
        authorityKeyIdentifierExtension(keyId),
        ...subjectAltNameExtensions(opts.sans),
      ]),
    }),
    opts.keyPair,
  );
}

export function createCsr(opts: { subjectCn: string; keyPair: KeyPair; sans?: SubjectAltNames }): string {
  const spki = checkedPublicKey(opts.keyPair);
  const requested = subjectAltNameExtensions(opts.sans);
  const info = new CertificationRequestInfo({
    version: 0,
    subject: commonName(opts.subjectCn),
    subjectPKInfo: spki,
    attributes: new Attributes(
      requested.length === 0
        ? []
        : [new Attribute({ type: EXTENSION_REQUEST_OID, values: [AsnConvert.serialize(new Extensions(requested))] })],
    ),
  });
  const { algorithm, signature } = signBytes(opts.keyPair.privateKeyPem, AsnConvert.serialize(info));
  const csr = new CertificationRequest({ certificationRequestInfo: info, signatureAlgorithm: algorithm, signature });
  return derToPem(new Uint8Array(AsnConvert.serialize(csr)), 'CERTIFICATE REQUEST');
}

/**
 * Whom a certificate is issued for: the subject and public key of a CSR, whose own signature must
 * verify (proof of possession), or those of an existing certificate (`subjectCertPem`), issued again
 * under another issuer, as a recovered service endorses its previous identity (CCF's
 * service_endorsements): its subjectKeyIdentifier is kept, so that what it issued names it still.
 */
export type IssuedSubject = { csrPem: string } | { subjectCertPem: string };

/**
 * Issues a certificate for `subject`, signed by the issuer. SANs come from `opts.sans`, else from
 * the CSR's request or the subject certificate.
 */
export function issueCertificate(opts: IssuedSubject & {
  issuerCertPem: string;
  issuerKeyPair: KeyPair;
  validFrom: Date;
  validityDays: number;
  isCa: boolean;
  sans?: SubjectAltNames;
}): string {
  const issuerInfo = parseCertificate(opts.issuerCertPem);
  if (!equalBytes(publicKeyDer(opts.issuerKeyPair.privateKeyPem), issuerInfo.publicKeyDer)) {
    throw new CocoError('InvalidKey', 'the issuer key pair does not match the issuer certificate\'s public key');
  }
  const issuerKey = checkedPublicKey(opts.issuerKeyPair);
  const subject = issuedSubject(opts);
  const issuer = asnCertificate(issuerInfo.der).tbsCertificate;
  const issuerKeyId = extensionValue(issuer.extensions, id_ce_subjectKeyIdentifier, SubjectKeyIdentifier) ?? keyIdentifier(issuerKey);
  return signCertificate(
    new TBSCertificate({
      issuer: issuer.subject,
      subject: subject.name,
      validity: validity(opts.validFrom, opts.validityDays),
      subjectPublicKeyInfo: subject.spki,
      extensions: new Extensions([
        ...caExtensions(opts.isCa),
        subjectKeyIdentifierExtension(subject.keyId),
        authorityKeyIdentifierExtension(issuerKeyId),
        ...(opts.sans !== undefined ? subjectAltNameExtensions(opts.sans) : subject.subjectAltNames),
      ]),
    }),
    opts.issuerKeyPair,
  );
}

/**
 * Reads CCF's `valid_from` forms, as governance passes them to `generateEndorsedCertificate` /
 * `generateNetworkCertificate`: an ASN.1 UTCTime `YYMMDDHHMMSSZ` (e.g. "211019154318Z") or, as
 * CCF's host (OpenSSL's ASN1_TIME_set_string) also takes, a GeneralizedTime `YYYYMMDDHHMMSSZ`.
 * Throws CocoError 'InvalidArgument' for any other form or an impossible date.
 */
export function parseCcfValidFrom(text: string): Date {
  const match = typeof text === 'string' ? (UTC_TIME.exec(text) ?? GENERALIZED_TIME.exec(text)) : null;
  if (match === null) {
    throw new CocoError('InvalidArgument', `valid_from must be an ASN.1 UTCTime "YYMMDDHHMMSSZ" such as "211019154318Z" (or a GeneralizedTime "YYYYMMDDHHMMSSZ"), got ${JSON.stringify(text)}`);
  }
  const [yy, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  const year = match[1]!.length === 4 ? yy : yy < UTC_TIME_CENTURY_PIVOT_YEARS ? 2000 + yy : 1900 + yy;
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  const roundTrips = date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day
    && date.getUTCHours() === hour && date.getUTCMinutes() === minute && date.getUTCSeconds() === second;
  if (!roundTrips) throw new CocoError('InvalidArgument', `valid_from ${JSON.stringify(text)} is not a calendar date and time`);
  return date;
}

/**
 * How many days a certificate is valid, as `validity` counts them (inclusive ends): what issuing
 * another from its `notBefore` takes to end when it does; a validity of no whole number of days
 * (not one Coco issued) is rounded up.
 */
export function validityDaysOf(cert: Pick<CertificateInfo, 'notBefore' | 'notAfter'>): number {
  return Math.ceil((cert.notAfter.getTime() + SECOND_MS - cert.notBefore.getTime()) / DAY_MS);
}

/** Parses a certificate from PEM text (first CERTIFICATE block) or DER bytes. */
export function parseCertificate(pemOrDer: string | Uint8Array): CertificateInfo {
  const der = derOf(pemOrDer);
  const { publicKey, ...fields } = readCertificate(der);
  return {
    der,
    pem: derToPem(der, 'CERTIFICATE'),
    ...fields,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    publicKeyDer: plainBytes(publicKey.export({ type: 'spki', format: 'der' })),
  };
}

/**
 * Whether parseCertificate reads the certificate: it parses, its dates, names and alternative names
 * read, and its public key loads. Without exporting the key, which took 60% of parseCertificate's
 * time: a governance proposal checks hundreds of certificates within the scripts' time limit.
 */
export function isReadableCertificate(pem: string): boolean {
  try {
    readCertificate(derOf(pem));
    return true;
  } catch {
    return false;
  }
}

/** What parseCertificate reads from the certificate itself, its public key still as a key object. */
function readCertificate(der: Uint8Array): Omit<CertificateInfo, 'der' | 'pem' | 'publicKeyPem' | 'publicKeyDer'> & { publicKey: KeyObject } {
  const cert = nodeCertificate(der);
  return {
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    notBefore: certificateDate(cert.validFrom),
    notAfter: certificateDate(cert.validTo),
    serialNumberHex: cert.serialNumber.toLowerCase(),
    isCa: cert.ca,
    subjectAltNames: subjectAltNamesOf(cert),
    publicKey: cert.publicKey,
  };
}

/**
 * DER of a certificate given as PEM or DER, checked to parse as X.509 (CocoError 'InvalidCertificate').
 */
export function certificateDer(pemOrDer: string | Uint8Array): Uint8Array {
  const der = derOf(pemOrDer);
  nodeCertificate(der);
  return der;
}

/** The DER bytes of a certificate given as PEM or DER, not yet parsed. */
function derOf(pemOrDer: string | Uint8Array): Uint8Array {
  if (pemOrDer instanceof Uint8Array) return pemOrDer;
  if (typeof pemOrDer !== 'string') throw new CocoError('InvalidCertificate', `expected a PEM string or DER bytes, got ${typeof pemOrDer}`);
  try {
    return pemToDer(pemOrDer, 'CERTIFICATE');
  } catch (cause) {
    throw new CocoError('InvalidCertificate', `expected a PEM certificate: ${(cause as Error).message}`, { cause });
  }
}

/** A chain that holds but for a certificate not valid at the instant asked: a receipt's may have expired since. */
export class CertificateOutsideValidity extends CocoError {
  constructor(message: string) {
    super('CertificateChainInvalid', message);
    this.name = 'CertificateOutsideValidity';
  }
}

/**
 * Checks that `leafPem` chains to `trustedRootPem` through `intermediatesPem`: each link's issuer
 * name and key identifier match, the issuer is a CA, the signature verifies, and (unless
 * 'ignore-validity') every certificate is valid at `at`. The leaf may be the trusted root itself.
 * Throws CocoError 'CertificateChainInvalid' naming the first failure (a CertificateOutsideValidity
 * when the chain holds but a certificate is not valid at `at`).
 */
export function verifyCertificateChain(leafPem: string, opts: VerifyChainOptions): void {
  const leaf = chainCertificate(leafPem, 'leaf');
  const root = chainCertificate(opts.trustedRootPem, 'trusted root');
  const intermediates = (opts.intermediatesPem ?? []).map((pem, i) => chainCertificate(pem, `intermediate ${i}`));
  verifyChain(leaf, [root], intermediates, opts.at ?? new Date(), { strict: false, lengthMax: CERTIFICATE_CHAIN_LENGTH_MAX });
}

/**
 * As verifyCertificateChain, to any of `trustedRootsPem`, with OpenSSL's further checks (which CCF's
 * X509 chain verification applies): every path length constraint holds, and no certificate has a
 * critical extension this check does not apply (name constraints among them). Each certificate is
 * parsed once and issuers are found by subject, so the work grows with the certificates given, not
 * with their product (a CA bundle and a long chain took seconds).
 */
export function verifyCertificateChainToAny(leafPem: string, opts: { trustedRootsPem: string[]; intermediatesPem?: string[]; at?: Date | 'ignore-validity' }): void {
  const leaf = chainCertificate(leafPem, 'leaf');
  const roots = opts.trustedRootsPem.map((pem, i) => chainCertificate(pem, `trusted root ${i}`));
  const intermediates = (opts.intermediatesPem ?? []).map((pem, i) => chainCertificate(pem, `intermediate ${i}`));
  verifyChain(leaf, roots, intermediates, opts.at ?? new Date(), { strict: true, lengthMax: OPENSSL_CHAIN_LENGTH_MAX });
}

function verifyChain(leaf: NodeX509Certificate, roots: NodeX509Certificate[], intermediates: NodeX509Certificate[], at: Date | 'ignore-validity', { strict, lengthMax }: { strict: boolean; lengthMax: number }): void {
  if (at !== 'ignore-validity' && (!(at instanceof Date) || Number.isNaN(at.getTime()))) {
    throw new CocoError('InvalidArgument', `verifyCertificateChain: 'at' must be a valid Date or 'ignore-validity'`);
  }
  const bySubject = new Map<string, NodeX509Certificate[]>();
  // Trusted roots first: a path ends at the first one found.
  for (const cert of [...roots, ...intermediates]) {
    const named = bySubject.get(cert.subject);
    if (named === undefined) bySubject.set(cert.subject, [cert]);
    else named.push(cert);
  }
  const rootFingerprints = new Set(roots.map((root) => root.fingerprint256));
  const budget = { issuerChecks: ISSUER_CHECKS_MAX };
  const chain = [leaf];
  let current = leaf;
  while (!rootFingerprints.has(current.fingerprint256)) {
    if (chain.length >= lengthMax) chainInvalid(`chain is longer than ${lengthMax} certificates without reaching the trusted root`);
    // By subject as Node renders it; failing that (a name encoded another way), every certificate, as OpenSSL compares names.
    const issuer = issuerOf(current, bySubject.get(current.issuer) ?? [...roots, ...intermediates], chain, at, budget);
    if (!issuer.ca) chainInvalid(`issuer "${describe(issuer)}" of "${describe(current)}" is not a CA`);
    if (!current.verify(issuer.publicKey)) chainInvalid(`bad signature: "${describe(current)}" is not signed by the key of "${describe(issuer)}"`);
    // OpenSSL stops at a self-signed certificate it does not trust, rather than look past it.
    if (strict && !rootFingerprints.has(issuer.fingerprint256) && issuer.checkIssued(issuer) && issuer.verify(issuer.publicKey)) {
      chainInvalid(`self-signed certificate in certificate chain: "${describe(issuer)}" is not among the trusted ones`);
    }
    chain.push(issuer);
    current = issuer;
  }
  if (strict) checkOpensslPolicy(chain);
  if (at === 'ignore-validity') return;
  for (const cert of chain) {
    if (!validAt(cert, at)) {
      throw new CertificateOutsideValidity(`certificate chain invalid: "${describe(cert)}" is not valid at ${at.toISOString()} (valid ${certificateDate(cert.validFrom).toISOString()} to ${certificateDate(cert.validTo).toISOString()})`);
    }
  }
}

/**
 * Candidate issuers looked at in one verification, at most: a chain of many certificates with one
 * subject, among many more with it, would otherwise cost their product (QA: 13 s for 116 KB).
 */
const ISSUER_CHECKS_MAX = 10_000;

/**
 * As OpenSSL chooses an issuer: the first of `candidates` whose name and key identifier `current`
 * names (X509_check_issued), one valid at `at` before one that is not. Its signature is checked
 * once chosen, not used to choose, so each link costs one signature check.
 */
function issuerOf(current: NodeX509Certificate, candidates: NodeX509Certificate[], chain: NodeX509Certificate[], at: Date | 'ignore-validity', budget: { issuerChecks: number }): NodeX509Certificate {
  let notValidNow: NodeX509Certificate | undefined;
  for (const candidate of candidates) {
    if (--budget.issuerChecks < 0) chainInvalid(`more than ${ISSUER_CHECKS_MAX} candidate issuers looked at: the certificates given share too many names`);
    if (chain.includes(candidate) || !current.checkIssued(candidate)) continue;
    if (at === 'ignore-validity' || validAt(candidate, at)) return candidate;
    notValidNow ??= candidate;
  }
  if (notValidNow !== undefined) return notValidNow;
  chainInvalid(`issuer/subject mismatch: no certificate among the trusted root and intermediates issued "${describe(current)}" (issuer "${oneLine(current.issuer)}")`);
}

function validAt(cert: NodeX509Certificate, at: Date): boolean {
  return at >= certificateDate(cert.validFrom) && at <= certificateDate(cert.validTo);
}

/** Critical extensions a chain check may accept: those it applies or that constrain nothing for it (OpenSSL's supported ones, without name constraints and policies it does not apply). */
const HANDLED_CRITICAL_EXTENSIONS = new Set([id_ce_basicConstraints, id_ce_keyUsage, id_ce_subjectAltName, id_ce_extKeyUsage, id_ce_subjectKeyIdentifier, id_ce_authorityKeyIdentifier]);

/** OpenSSL's checks beyond issuance: path length constraints (intermediates below each CA), and no unhandled critical extension. */
function checkOpensslPolicy(chain: NodeX509Certificate[]): void {
  chain.forEach((cert, depth) => {
    const { extensions } = asnCertificate(new Uint8Array(cert.raw)).tbsCertificate;
    const unhandled = extensions?.find((extension) => extension.critical && !HANDLED_CRITICAL_EXTENSIONS.has(extension.extnID));
    if (unhandled !== undefined) chainInvalid(`"${describe(cert)}" has a critical extension ${unhandled.extnID} that this check does not apply`);
    const pathLen = depth === 0 ? undefined : extensionValue(extensions, id_ce_basicConstraints, BasicConstraints)?.pathLenConstraint;
    // Below the CA at `depth`: depth - 1 intermediates (a self-issued root counts none of its own).
    if (pathLen !== undefined && depth - 1 > pathLen) chainInvalid(`path length constraint exceeded: "${describe(cert)}" allows ${pathLen} intermediate CA certificates below it, and the chain has ${depth - 1}`);
  });
}

/** Whether two certificates hold the same public key (a service's certificate renewed, say). */
export function sameCertificateKey(certPem: string, otherCertPem: string): boolean {
  return equalBytes(parseCertificate(certPem).publicKeyDer, parseCertificate(otherCertPem).publicKeyDer);
}

/** True if the certificate names itself as issuer and its signature verifies with its own key. */
export function isSelfSigned(pemOrDer: string | Uint8Array): boolean {
  const cert = nodeCertificate(certificateDer(pemOrDer));
  return cert.checkIssued(cert) && cert.verify(cert.publicKey);
}

/**
 * A root CA as OpenSSL (and so CCF's `isValidX509RootCACert`) sees one: self-signed, and either
 * marked a CA (basicConstraints CA:TRUE) or an X.509 v1 certificate, which predates that extension.
 */
export function isRootCaCertificate(pemOrDer: string | Uint8Array): boolean {
  const der = certificateDer(pemOrDer);
  if (!isSelfSigned(der)) return false;
  return nodeCertificate(der).ca || asnCertificate(der).tbsCertificate.version === Version.v1;
}

// ---------------------------------------------------------------------------------------------

/** The SPKI of a key pair whose halves belong together, as an ASN.1 structure. */
function checkedPublicKey(keyPair: KeyPair): SubjectPublicKeyInfo {
  const spki = publicKeyDer(keyPair.privateKeyPem);
  if (!equalBytes(spki, publicKeyDer(keyPair.publicKeyPem))) {
    throw new CocoError('InvalidKey', 'the key pair\'s public key does not belong to its private key');
  }
  return AsnConvert.parse(spki, SubjectPublicKeyInfo);
}

/** Signs DER bytes with the key's curve: DER ECDSA (what X.509 carries) or raw Ed25519. */
function signBytes(privateKeyPem: string, der: ArrayBuffer): { algorithm: AlgorithmIdentifier; signature: ArrayBuffer } {
  const algorithm = new AlgorithmIdentifier({ algorithm: SIGNATURE_ALGORITHM_OIDS[curveOf(privateKeyPem)] });
  return { algorithm, signature: arrayBuffer(sign(privateKeyPem, new Uint8Array(der))) };
}

/** Completes `tbs` (v3, fresh serial, the issuer's algorithm) and returns the signed certificate as PEM. */
function signCertificate(tbs: TBSCertificate, issuerKeyPair: KeyPair): string {
  tbs.version = Version.v3;
  tbs.serialNumber = arrayBuffer(serialNumber());
  tbs.signature = new AlgorithmIdentifier({ algorithm: SIGNATURE_ALGORITHM_OIDS[curveOf(issuerKeyPair.privateKeyPem)] });
  const { algorithm, signature } = signBytes(issuerKeyPair.privateKeyPem, AsnConvert.serialize(tbs));
  const cert = new Certificate({ tbsCertificate: tbs, signatureAlgorithm: algorithm, signatureValue: signature });
  return derToPem(new Uint8Array(AsnConvert.serialize(cert)), 'CERTIFICATE');
}

/** The name, key, key identifier and alternative names a certificate is issued with, from a CSR or a certificate. */
function issuedSubject(subject: IssuedSubject): { name: Name; spki: SubjectPublicKeyInfo; keyId: KeyIdentifier; subjectAltNames: Extension[] } {
  if ('csrPem' in subject) {
    const csr = verifiedCsr(subject.csrPem).certificationRequestInfo;
    return { name: csr.subject, spki: csr.subjectPKInfo, keyId: keyIdentifier(csr.subjectPKInfo), subjectAltNames: requestedSubjectAltNames(csr) };
  }
  const tbs = asnCertificate(certificateDer(subject.subjectCertPem)).tbsCertificate;
  const keyId = extensionValue(tbs.extensions, id_ce_subjectKeyIdentifier, SubjectKeyIdentifier) ?? keyIdentifier(tbs.subjectPublicKeyInfo);
  const subjectAltNames = tbs.extensions?.filter((candidate) => candidate.extnID === id_ce_subjectAltName) ?? [];
  return { name: tbs.subject, spki: tbs.subjectPublicKeyInfo, keyId, subjectAltNames };
}

/** Parses a CSR and checks its self-signature (proof of possession of the requested key). */
function verifiedCsr(csrPem: string): CertificationRequest {
  let csr: CertificationRequest;
  try {
    csr = AsnConvert.parse(pemToDer(csrPem, 'CERTIFICATE REQUEST'), CertificationRequest);
  } catch (cause) {
    throw new CocoError('CSRPublicKeyInvalid', 'the CSR is not a parseable PEM "CERTIFICATE REQUEST"', { cause });
  }
  if (!csrSignatureVerifies(csr)) {
    throw new CocoError('CSRPublicKeyInvalid', 'the CSR signature does not verify with its own public key (ECDSA with SHA-256/384/512 or Ed25519); regenerate the CSR with the matching private key');
  }
  return csr;
}

function csrSignatureVerifies(csr: CertificationRequest): boolean {
  const algorithm = CSR_SIGNATURE_ALGORITHMS.get(csr.signatureAlgorithm.algorithm);
  const signed = csr.certificationRequestInfoRaw;
  if (algorithm === undefined || signed === undefined) return false;
  try {
    const spki = AsnConvert.serialize(csr.certificationRequestInfo.subjectPKInfo);
    const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    return key.asymmetricKeyType === algorithm.keyType
      && nodeVerify(algorithm.hash, new Uint8Array(signed), key, new Uint8Array(csr.signature));
  } catch {
    return false; // unusable key or malformed signature: not a proof of possession either way
  }
}

function asnCertificate(der: Uint8Array): Certificate {
  try {
    return AsnConvert.parse(der, Certificate);
  } catch (cause) {
    throw new CocoError('InvalidCertificate', 'the certificate does not parse as X.509 ASN.1', { cause });
  }
}

/** The parsed value of the extension `oid`, or undefined if absent. */
function extensionValue<T>(extensions: Extension[] | undefined, oid: string, type: new () => T): T | undefined {
  const extension = extensions?.find((candidate) => candidate.extnID === oid);
  if (extension === undefined) return undefined;
  try {
    return AsnConvert.parse(extension.extnValue, type);
  } catch (cause) {
    throw new CocoError('InvalidCertificate', `the certificate's extension ${oid} does not parse`, { cause });
  }
}

/** The subjectAltName extension of a CSR's extensionRequest attribute, copied as requested. */
function requestedSubjectAltNames(csr: CertificationRequestInfo): Extension[] {
  // Attributes may be omitted altogether by lenient encoders, despite the ASN.1 saying otherwise.
  const request = (csr.attributes as Attributes | undefined)?.find((attribute) => attribute.type === EXTENSION_REQUEST_OID);
  const value = request?.values[0];
  if (value === undefined) return [];
  let requested: Extensions;
  try {
    requested = AsnConvert.parse(value, Extensions);
  } catch (cause) {
    throw new CocoError('CSRPublicKeyInvalid', 'the CSR\'s extensionRequest attribute does not parse as X.509 extensions', { cause });
  }
  const extension = requested.find((candidate) => candidate.extnID === id_ce_subjectAltName);
  return extension === undefined ? [] : [extension];
}

function extension(extnID: string, value: object, critical = false): Extension {
  return new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

/**
 * Critical basicConstraints, and for a CA what CCF gives its service certificates: a path length of
 * 1 (an endorsed previous identity may stand between it and a node) and critical keyUsage
 * keyCertSign and digitalSignature, which strict verifiers (OpenSSL's -x509_strict, Python
 * cryptography's, which CCF's receipt tools use) require of a CA.
 */
function caExtensions(isCa: boolean): Extension[] {
  if (!isCa) return [extension(id_ce_basicConstraints, new BasicConstraints({ cA: false }), true)];
  return [
    extension(id_ce_basicConstraints, new BasicConstraints({ cA: true, pathLenConstraint: 1 }), true),
    extension(id_ce_keyUsage, new KeyUsage(KeyUsageFlags.keyCertSign | KeyUsageFlags.digitalSignature), true),
  ];
}

function subjectKeyIdentifierExtension(keyId: KeyIdentifier): Extension {
  return extension(id_ce_subjectKeyIdentifier, keyId);
}

function authorityKeyIdentifierExtension(keyId: KeyIdentifier): Extension {
  return extension(id_ce_authorityKeyIdentifier, new AuthorityKeyIdentifier({ keyIdentifier: keyId }));
}

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(spki: SubjectPublicKeyInfo): KeyIdentifier {
  return new KeyIdentifier(arrayBuffer(hash('sha1', new Uint8Array(spki.subjectPublicKey), 'buffer')));
}

function subjectAltNameExtensions(sans: SubjectAltNames | undefined): Extension[] {
  const names = [
    ...(sans?.dns ?? []).map((dns) => new GeneralName({ dNSName: dnsName(dns) })),
    ...(sans?.ip ?? []).map((ip) => new GeneralName({ iPAddress: ipAddress(ip) })),
  ];
  return names.length === 0 ? [] : [extension(id_ce_subjectAltName, new SubjectAlternativeName(names))];
}

function dnsName(name: string): string {
  if (typeof name !== 'string' || !DNS_NAME.test(name)) {
    throw new CocoError('InvalidArgument', `a DNS subject alternative name must be non-empty printable ASCII without spaces, got ${JSON.stringify(name)}`);
  }
  return name;
}

/**
 * An IP address in the plain form the ASN.1 IP converter encodes correctly: IPv4 dotted quad, or IPv6
 * hex groups (an embedded dotted IPv4 tail is rewritten as two groups). Zone ids are refused.
 */
function ipAddress(ip: string): string {
  if (typeof ip === 'string' && isIPv4(ip)) return ip;
  if (typeof ip !== 'string' || !isIPv6(ip) || ip.includes('%')) {
    throw new CocoError('InvalidArgument', `an IP subject alternative name must be an IPv4 or IPv6 address, got ${JSON.stringify(ip)}`);
  }
  return ip.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_, a: string, b: string, c: string, d: string) =>
    `${((Number(a) << 8) | Number(b)).toString(16)}:${((Number(c) << 8) | Number(d)).toString(16)}`);
}

function commonName(cn: string): Name {
  if (typeof cn !== 'string' || cn.length === 0) {
    throw new CocoError('InvalidArgument', 'a certificate subject common name must be a non-empty string');
  }
  const attribute = new AttributeTypeAndValue({ type: COMMON_NAME_OID, value: new AttributeValue({ utf8String: cn }) });
  return new Name([new RelativeDistinguishedName([attribute])]);
}

function serialNumber(): Uint8Array {
  const serial = randomBytes(SERIAL_NUMBER_BYTES);
  serial[0] = ((serial[0] ?? 0) & 0x3f) | 0x40;
  return serial;
}

/** X.509 validity is inclusive at both ends, so `days` days end one second before the next day starts. */
function validity(validFrom: Date, days: number): Validity {
  if (!(validFrom instanceof Date) || Number.isNaN(validFrom.getTime())) {
    throw new CocoError('InvalidArgument', 'validFrom must be a valid Date');
  }
  if (!Number.isInteger(days) || days < 1 || days > CERTIFICATE_VALIDITY_DAYS_MAX) {
    throw new CocoError('InvalidArgument', `validityDays must be an integer in 1..${CERTIFICATE_VALIDITY_DAYS_MAX}, got ${days}`);
  }
  const notBeforeMs = Math.floor(validFrom.getTime() / SECOND_MS) * SECOND_MS;
  return new Validity({ notBefore: new Date(notBeforeMs), notAfter: new Date(notBeforeMs + days * DAY_MS - SECOND_MS) });
}

/** An ArrayBuffer holding exactly `bytes` (the ASN.1 classes take ArrayBuffers, not views). */
function arrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer;
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
