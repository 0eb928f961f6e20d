// AMD SEV-SNP attestation reports (the ABI specification's ATTESTATION_REPORT, 1184 bytes), verified
// as CCF verifies them for apps (`snp_attestation.verifySnpAttestation`): signed by the chip's VCEK,
// whose certificate chains through the ASK to AMD's root key for the product, pinned here, with
// CCF's policy checks and the TCB and chip that the VCEK certificate was issued for.

import { createHash, verify, X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { equalBytes, fromHex, toHex } from '../crypto/bytes.js';
import { splitPemBundle } from '../crypto/pem.js';
import { verifyCertificateChain } from '../crypto/x509.js';
import { CocoError } from '../errors.js';
import { snpProductOf, TCB_VERSION_BYTES, tcbFieldsOf, type SnpProduct, type TcbFields } from './snp-tcb.js';

export const SNP_REPORT_BYTES = 0x4a0;
/** The signature covers everything before it. */
const SIGNED_BYTES = 0x2a0;
const MINIMUM_REPORT_VERSION = 2;
/** Reports carry the CPU family and model from version 3; earlier ones are Milan's. */
const CPUID_FIELDS_VERSION = 3;
const SIGNING_KEY_VCEK = 0;
const ECDSA_P384_SHA384 = 1;
/** r and s are little-endian in 72-byte fields, of which P-384 uses 48. */
const SIGNATURE_COMPONENT_FIELD = 72;
const P384_COMPONENT = 48;

/**
 * SHA-256 of the SubjectPublicKeyInfo (DER) of AMD's root keys (ARK), as AMD publishes them
 * (https://kdsintf.amd.com/vcek/v1/<product>/cert_chain) and CCF pins them. Turin's is not
 * accepted yet, as in CCF.
 */
const AMD_ROOT_KEY_SHA256: Partial<Record<SnpProduct, string>> = {
  Milan: '9f056bee44377e29308cb5ffa895bdfb62d18881fa6bed8d6f075b0204089cb9',
  Genoa: '429a69c9422aa258ee4d8db5fcda9c6470ef15f8cd5a9cebd6cbc7d90b863831',
};

/** VCEK certificate extensions (AMD's "VCEK specification"): the TCB it was issued for, and the chip. */
const VCEK_TCB_OID_PREFIX = '1.3.6.1.4.1.3704.1.3.';
const VCEK_TCB_COMPONENTS: readonly [keyof TcbFields, number][] = [
  ['boot_loader', 1],
  ['tee', 2],
  ['snp', 3],
  ['microcode', 8],
];
const VCEK_HWID_OID = '1.3.6.1.4.1.3704.1.4';

/** A report's fields, named as in the ABI specification and CCF's JavaScript API. */
export type SnpReport = {
  version: number;
  guest_svn: number;
  policy: { abi_minor: number; abi_major: number; smt: number; migrate_ma: number; debug: number; single_socket: number };
  family_id: Uint8Array;
  image_id: Uint8Array;
  vmpl: number;
  signature_algo: number;
  platform_version: TcbFields;
  platform_info: { smt_en: number; tsme_en: number };
  flags: { author_key_en: number; mask_chip_key: number; signing_key: number };
  report_data: Uint8Array;
  measurement: Uint8Array;
  host_data: Uint8Array;
  id_key_digest: Uint8Array;
  author_key_digest: Uint8Array;
  report_id: Uint8Array;
  report_id_ma: Uint8Array;
  reported_tcb: TcbFields;
  cpuid_fam_id: number;
  cpuid_mod_id: number;
  cpuid_step: number;
  chip_id: Uint8Array;
  committed_tcb: TcbFields;
  current_minor: number;
  current_build: number;
  current_major: number;
  committed_build: number;
  committed_minor: number;
  committed_major: number;
  launch_tcb: TcbFields;
  signature: { r: Uint8Array; s: Uint8Array };
};

export interface SnpVerifyOptions {
  /** A TCB version the caller expects the report to carry, as hex of its 8 bytes in the report's order. */
  endorsedTcbHex?: string;
  /** When the certificates must be valid. */
  at: Date;
}

function invalid(message: string): never {
  throw new CocoError('SnpAttestationInvalid', message);
}

/**
 * Verifies `evidence` (a raw report) against `endorsementsPem` (the VCEK, ASK and ARK certificates,
 * in that order) and returns its fields; a CocoError 'SnpAttestationInvalid' with CCF's words otherwise.
 */
export function verifySnpReport(evidence: Uint8Array, endorsementsPem: string, options: SnpVerifyOptions): SnpReport {
  if (evidence.length !== SNP_REPORT_BYTES) invalid(`Input SEV-SNP attestation report is not of expected size ${SNP_REPORT_BYTES}: ${evidence.length}`);
  const view = new DataView(evidence.buffer, evidence.byteOffset, evidence.byteLength);
  const version = view.getUint32(0x00, true);
  const flags = view.getUint32(0x48, true);
  const signingKey = (flags >>> 2) & 0b111;
  const vmpl = view.getUint32(0x30, true);
  const family = evidence[0x188]!;
  const model = evidence[0x189]!;
  if (version < MINIMUM_REPORT_VERSION) invalid(`SEV-SNP: Attestation version is ${version} not >= expected minimum ${MINIMUM_REPORT_VERSION}`);
  if (signingKey !== SIGNING_KEY_VCEK) invalid(`SEV-SNP: Attestation report must be signed by VCEK: ${signingKey}`);
  if ((flags & 0b10) !== 0) invalid('SEV-SNP: Mask chip key must not be set');
  if (vmpl > 3) invalid(`SEV-SNP: VMPL for guest attestations must be in 0-3 range, not ${vmpl}`);

  const certificates = endorsementCertificates(endorsementsPem);
  if (certificates.length !== 3) invalid(`Expected 3 endorsement certificates but got ${certificates.length}`);
  const [vcek, ask, ark] = certificates as [X509Certificate, X509Certificate, X509Certificate];
  const product = version < CPUID_FIELDS_VERSION ? 'Milan' : productOf(family, model);
  const expectedRoot = AMD_ROOT_KEY_SHA256[product] ?? invalid(`SEV-SNP: Unsupported CPUID family ${family} model ${model}`);
  if (spkiSha256(ark) !== expectedRoot) {
    invalid(`SEV-SNP: The root of trust public key for this attestation was not the expected one for v${version} ${family} ${model} (AMD's ${product} root key)`);
  }
  if (!(ark.checkIssued(ark) && ark.verify(ark.publicKey))) invalid('SEV-SNP: The root of trust public key for this attestation was not self signed as expected');
  try {
    verifyCertificateChain(vcek.toString(), { trustedRootPem: ark.toString(), intermediatesPem: [ask.toString()], at: options.at });
  } catch (error) {
    invalid(`SEV-SNP: The chain of signatures from the root of trust to this attestation is broken (${(error as Error).message})`);
  }

  const signatureAlgo = view.getUint32(0x34, true);
  if (signatureAlgo !== ECDSA_P384_SHA384) invalid(`SEV-SNP: Unsupported signature algorithm: ${signatureAlgo} (supported: ${ECDSA_P384_SHA384})`);
  const r = evidence.subarray(SIGNED_BYTES, SIGNED_BYTES + SIGNATURE_COMPONENT_FIELD);
  const s = evidence.subarray(SIGNED_BYTES + SIGNATURE_COMPONENT_FIELD, SIGNED_BYTES + 2 * SIGNATURE_COMPONENT_FIELD);
  const [rBigEndian, sBigEndian] = [p384Component(r), p384Component(s)];
  // A component whose unused high bytes are not zero is past the curve's order: no signature (and
  // reports that differ only there would otherwise verify alike).
  if (rBigEndian === undefined || sBigEndian === undefined || !verify('sha384', evidence.subarray(0, SIGNED_BYTES), { key: vcek.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.concat([rBigEndian, sBigEndian]))) {
    invalid('SEV-SNP: Chip certificate (VCEK) did not sign this attestation');
  }

  const policy = view.getBigUint64(0x08, true);
  const policyBit = (bit: number): number => Number((policy >> BigInt(bit)) & 1n);
  if (policyBit(19) !== 0) invalid('SEV-SNP: SNP attestation report guest policy debugging must not be enabled');
  if (policyBit(18) !== 0) invalid('SEV-SNP: Migration agents must not be enabled');

  const bytes = (offset: number, length: number): Uint8Array => evidence.slice(offset, offset + length);
  const tcb = (offset: number): TcbFields => tcbFieldsOf(product, evidence.subarray(offset, offset + TCB_VERSION_BYTES));
  const reportedTcb = tcb(0x180);
  const extensions = vcekExtensions(vcek);
  checkVcekTcb(extensions, reportedTcb);
  const chipId = bytes(0x1a0, 64);
  const endorsedChipId = extensions.get(VCEK_HWID_OID);
  if (endorsedChipId !== undefined && !equalBytes(endorsedChipId, chipId)) invalid('SEV-SNP: Chip ID in attestation does not match endorsed chip ID');
  if (options.endorsedTcbHex !== undefined) checkEndorsedTcb(options.endorsedTcbHex, evidence.subarray(0x180, 0x180 + TCB_VERSION_BYTES));

  const platformInfo = view.getUint32(0x40, true);
  return {
    version,
    guest_svn: view.getUint32(0x04, true),
    policy: { abi_minor: evidence[0x08]!, abi_major: evidence[0x09]!, smt: policyBit(16), migrate_ma: policyBit(18), debug: policyBit(19), single_socket: policyBit(20) },
    family_id: bytes(0x10, 16),
    image_id: bytes(0x20, 16),
    vmpl,
    signature_algo: signatureAlgo,
    platform_version: tcb(0x38),
    platform_info: { smt_en: platformInfo & 1, tsme_en: (platformInfo >>> 1) & 1 },
    flags: { author_key_en: flags & 1, mask_chip_key: (flags >>> 1) & 1, signing_key: signingKey },
    report_data: bytes(0x50, 64),
    measurement: bytes(0x90, 48),
    host_data: bytes(0xc0, 32),
    id_key_digest: bytes(0xe0, 48),
    author_key_digest: bytes(0x110, 48),
    report_id: bytes(0x140, 32),
    report_id_ma: bytes(0x160, 32),
    reported_tcb: reportedTcb,
    cpuid_fam_id: family,
    cpuid_mod_id: model,
    cpuid_step: evidence[0x18a]!,
    chip_id: chipId,
    committed_tcb: tcb(0x1e0),
    // AMD's layout (build, then minor); CCF 6's declaration swaps the first two.
    current_minor: evidence[0x1e9]!,
    current_build: evidence[0x1e8]!,
    current_major: evidence[0x1ea]!,
    committed_build: evidence[0x1ec]!,
    committed_minor: evidence[0x1ed]!,
    committed_major: evidence[0x1ee]!,
    launch_tcb: tcb(0x1f0),
    signature: { r: r.slice(), s: s.slice() },
  };
}

function productOf(family: number, model: number): SnpProduct {
  try {
    return snpProductOf(family, model);
  } catch (error) {
    return invalid((error as Error).message);
  }
}

const PEM_CERTIFICATE_END = '-----END CERTIFICATE-----';

function endorsementCertificates(pem: string): X509Certificate[] {
  // As CCF's split: each certificate ends at its END line, and text after the last one (a
  // certificate cut short) is not one, so the count check below names what is missing.
  const end = pem.lastIndexOf(PEM_CERTIFICATE_END);
  const whole = end < 0 ? pem : pem.slice(0, end + PEM_CERTIFICATE_END.length);
  try {
    return splitPemBundle(whole).map((certificate) => new X509Certificate(certificate));
  } catch (error) {
    return invalid(`SEV-SNP: the endorsements are not a bundle of PEM certificates (the VCEK, ASK and ARK): ${(error as Error).message}`);
  }
}

function spkiSha256(certificate: X509Certificate): string {
  return createHash('sha256').update(certificate.publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
}

/** The big-endian P-384 component of a little-endian 72-byte field; undefined if its high bytes are not zero. */
function p384Component(field: Uint8Array): Buffer | undefined {
  if (field.subarray(P384_COMPONENT).some((byte) => byte !== 0)) return undefined;
  return Buffer.from(field.subarray(0, P384_COMPONENT)).reverse();
}

/** The value bytes of the VCEK's extensions, by OID. */
function vcekExtensions(vcek: X509Certificate): Map<string, Uint8Array> {
  const extensions = AsnConvert.parse(vcek.raw, Certificate).tbsCertificate.extensions ?? [];
  return new Map(extensions.map((extension) => [extension.extnID, new Uint8Array(extension.extnValue.buffer)]));
}

/** The reported TCB must meet or exceed the one the VCEK was issued for (its extensions, when present). */
function checkVcekTcb(extensions: ReadonlyMap<string, Uint8Array>, reported: TcbFields): void {
  const endorsed: Partial<TcbFields> = {};
  for (const [field, arc] of VCEK_TCB_COMPONENTS) {
    const value = extensions.get(VCEK_TCB_OID_PREFIX + arc);
    if (value === undefined) return;
    endorsed[field] = derSmallInteger(value, VCEK_TCB_OID_PREFIX + arc);
  }
  if (VCEK_TCB_COMPONENTS.some(([field]) => reported[field]! < endorsed[field]!)) {
    invalid(`SEV-SNP: Reported TCB ${JSON.stringify(reported)} does not meet or exceed the endorsed TCB ${JSON.stringify(endorsed)}`);
  }
}

/** A DER INTEGER from 0 to 255 (how the VCEK states each TCB component). */
function derSmallInteger(der: Uint8Array, oid: string): number {
  const length = der[1] ?? 0;
  if (der[0] !== 0x02 || length < 1 || length > 2 || der.length !== 2 + length) invalid(`SEV-SNP: the VCEK's extension ${oid} is not a DER INTEGER`);
  const value = der.subarray(2).reduce((total, byte) => total * 256 + byte, 0);
  if (value > 0xff || (length === 2 && der[2] !== 0)) invalid(`SEV-SNP: OID ${oid} integer out of byte range: ${value}`);
  return value;
}

function checkEndorsedTcb(endorsedTcbHex: string, reported: Uint8Array): void {
  const raw = /^([0-9a-fA-F]{2})*$/.test(endorsedTcbHex) ? fromHex(endorsedTcbHex) : invalid(`SEV-SNP: the endorsed TCB must be hex digits, got ${JSON.stringify(endorsedTcbHex)}`);
  if (raw.length !== TCB_VERSION_BYTES) invalid(`SEV-SNP: TCB of size ${raw.length}, expected ${TCB_VERSION_BYTES}`);
  if (!equalBytes(raw, reported)) invalid(`SEV-SNP: endorsed TCB ${endorsedTcbHex} does not match reported TCB ${toHex(reported)}`);
}
