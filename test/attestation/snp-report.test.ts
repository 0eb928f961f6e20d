// SEV-SNP attestation reports from real AMD hardware (a Milan and a Genoa, with their VCEK, ASK and
// ARK certificates as AMD's key distribution service serves them; test/fixtures/snp/README.md says
// where they come from), verified as CCF verifies them, and each check shown to refuse.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fromHex, toHex } from '../../src/crypto/bytes.js';
import { splitPemBundle } from '../../src/crypto/pem.js';
import { generateKeyPair } from '../../src/crypto/signing.js';
import { createSelfSignedCertificate } from '../../src/crypto/x509.js';
import { CocoError } from '../../src/errors.js';
import { SNP_REPORT_BYTES, verifySnpReport } from '../../src/attestation/snp-report.js';
import { repoRoot } from '../support/paths.js';

const fixture = (name: string): string => readFileSync(join(repoRoot, 'test', 'fixtures', 'snp', name), 'utf8');
const milan = { report: fromHex(fixture('milan-report.hex')), endorsements: fixture('milan-endorsements.pem') };
const genoa = { report: fromHex(fixture('genoa-report.hex')), endorsements: fixture('genoa-endorsements.pem') };
const milanV2Report = fromHex(fixture('milan-v2-report.hex'));
const at = new Date('2026-06-01T00:00:00Z');

function refused(pattern: RegExp): (error: unknown) => boolean {
  return (error) => error instanceof CocoError && error.code === 'SnpAttestationInvalid' && pattern.test(error.message);
}

/** The report with `bytes` written at `offset` (the signature then no longer holds, unless a check comes first). */
function altered(report: Uint8Array, offset: number, bytes: number[]): Uint8Array {
  const copy = report.slice();
  copy.set(bytes, offset);
  return copy;
}

test("a Milan report verifies against its chip's certificates, and its fields are read as CCF reads them", () => {
  const report = verifySnpReport(milan.report, milan.endorsements, { at });
  assert.equal(report.version, 3);
  assert.equal(report.guest_svn, 2);
  assert.deepEqual(report.policy, { abi_minor: 31, abi_major: 0, smt: 1, migrate_ma: 0, debug: 0, single_socket: 0 });
  assert.equal(report.vmpl, 0);
  assert.equal(report.signature_algo, 1);
  assert.deepEqual(report.platform_info, { smt_en: 1, tsme_en: 0 });
  assert.deepEqual(report.flags, { author_key_en: 0, mask_chip_key: 0, signing_key: 0 });
  assert.equal(toHex(report.measurement), '5feee30d6d7e1a29f403d70a4198237ddfb13051a2d6976439487c609388ed7f98189887920ab2fa0096903a0c23fca1');
  assert.equal(toHex(report.host_data), '4f4448c67f3c8dfc8de8a5e37125d807dadcc41f06cf23f615dbd52eec777d10');
  assert.equal(report.report_data.length, 64);
  const tcb = { boot_loader: 4, tee: 0, snp: 24, microcode: 219 };
  assert.deepEqual(report.reported_tcb, tcb);
  assert.deepEqual(report.platform_version, tcb);
  assert.deepEqual(report.committed_tcb, tcb);
  assert.deepEqual(report.launch_tcb, tcb);
  assert.deepEqual([report.cpuid_fam_id, report.cpuid_mod_id, report.cpuid_step], [0x19, 0x01, 1]);
  assert.deepEqual([report.current_major, report.current_minor, report.current_build], [1, 55, 29]);
  assert.deepEqual([report.committed_major, report.committed_minor, report.committed_build], [1, 55, 29]);
  assert.match(toHex(report.chip_id), /^4ffb5cb4fd594f3f/);
  assert.equal(report.signature.r.length, 72);
  assert.equal(report.signature.s.length, 72);
});

test("a Genoa report verifies against AMD's Genoa root, with Genoa's TCB layout", () => {
  const report = verifySnpReport(genoa.report, genoa.endorsements, { at });
  assert.deepEqual([report.cpuid_fam_id, report.cpuid_mod_id], [0x19, 0x11]);
  assert.deepEqual(report.reported_tcb, { boot_loader: 10, tee: 0, snp: 23, microcode: 84 });
});

test('a changed byte anywhere in the signed report, or in its signature, is refused', () => {
  for (const offset of [0x04, 0x50, 0x90, 0xc0, 0x1a0, 0x29f]) {
    assert.throws(() => verifySnpReport(altered(milan.report, offset, [milan.report[offset]! ^ 1]), milan.endorsements, { at }), refused(/Chip certificate \(VCEK\) did not sign this attestation/), `byte 0x${offset.toString(16)}`);
  }
  assert.throws(() => verifySnpReport(altered(milan.report, 0x2a0, [milan.report[0x2a0]! ^ 1]), milan.endorsements, { at }), refused(/did not sign/), 'r');
  assert.throws(() => verifySnpReport(altered(milan.report, 0x2a0 + 72, [milan.report[0x2a0 + 72]! ^ 1]), milan.endorsements, { at }), refused(/did not sign/), 's');
  // The 24 high bytes of each 72-byte field, unused by P-384, must be zero (QA: they were ignored, so
  // altered copies of a report verified).
  for (const offset of [0x2a0 + 48, 0x2a0 + 71, 0x2a0 + 72 + 48, 0x2a0 + 72 + 71]) {
    assert.throws(() => verifySnpReport(altered(milan.report, offset, [1]), milan.endorsements, { at }), refused(/did not sign/), `byte 0x${offset.toString(16)}`);
  }
  // The reserved bytes after the signature are not signed, in CCF as here.
  assert.equal(verifySnpReport(altered(milan.report, 0x2a0 + 144, [1]), milan.endorsements, { at }).version, 3);
  // Another chip's report (version 2: read as Milan's) is not signed by this chip's VCEK.
  assert.throws(() => verifySnpReport(milanV2Report, milan.endorsements, { at }), refused(/did not sign/));
});

test('the report must be whole, of a version CCF accepts, signed by a VCEK with the chip key shown, for a guest', () => {
  assert.throws(() => verifySnpReport(milan.report.subarray(0, SNP_REPORT_BYTES - 1), milan.endorsements, { at }), refused(/not of expected size 1184: 1183/));
  assert.throws(() => verifySnpReport(new Uint8Array(0), milan.endorsements, { at }), refused(/not of expected size 1184: 0/));
  assert.throws(() => verifySnpReport(altered(milan.report, 0x00, [1]), milan.endorsements, { at }), refused(/Attestation version is 1 not >= expected minimum 2/));
  assert.throws(() => verifySnpReport(altered(milan.report, 0x48, [0b100]), milan.endorsements, { at }), refused(/must be signed by VCEK: 1/));
  assert.throws(() => verifySnpReport(altered(milan.report, 0x48, [0b10]), milan.endorsements, { at }), refused(/Mask chip key must not be set/));
  assert.throws(() => verifySnpReport(altered(milan.report, 0x30, [0xff, 0xff, 0xff, 0xff]), milan.endorsements, { at }), refused(/VMPL for guest attestations must be in 0-3 range, not 4294967295/));
  assert.throws(() => verifySnpReport(altered(milan.report, 0x34, [2]), milan.endorsements, { at }), refused(/Unsupported signature algorithm: 2 \(supported: 1\)/));
});

test("the endorsements must be the VCEK, ASK and ARK, chaining to AMD's root for the report's product", () => {
  const [vcek, ask, ark] = splitPemBundle(milan.endorsements) as [string, string, string];
  const [genoaVcek, genoaAsk, genoaArk] = splitPemBundle(genoa.endorsements) as [string, string, string];
  assert.throws(() => verifySnpReport(milan.report, vcek + ask, { at }), refused(/Expected 3 endorsement certificates but got 2/));
  assert.throws(() => verifySnpReport(milan.report, milan.endorsements + ark, { at }), refused(/Expected 3 endorsement certificates but got 4/));
  assert.throws(() => verifySnpReport(milan.report, 'not PEM at all', { at }), refused(/Expected 3 endorsement certificates but got 0|not a bundle/));
  // Cut short, as CCF's own test cuts them: the unfinished last certificate is not counted, as in CCF.
  const cut = milan.endorsements.trimEnd().slice(0, -40);
  assert.throws(() => verifySnpReport(milan.report, cut, { at }), refused(/^Expected 3 endorsement certificates but got 2$/));
  // A damaged certificate before the last END line is still named as such.
  assert.throws(() => verifySnpReport(milan.report, vcek.replace(/\n[A-Za-z0-9+/]{8}/, '\n!!!!!!!!') + ask + ark, { at }), refused(/not a bundle of PEM certificates/));
  // Genoa's root for a Milan report; any root of one's own.
  assert.throws(() => verifySnpReport(milan.report, vcek + ask + genoaArk, { at }), refused(/root of trust public key for this attestation was not the expected one for v3 25 1/));
  assert.throws(() => verifySnpReport(genoa.report, milan.endorsements, { at }), refused(/not the expected one for v3 25 17/));
  const ownRoot = createSelfSignedCertificate({ subjectCn: 'ARK-Milan', keyPair: generateKeyPair('P-384'), validFrom: new Date('2026-01-01T00:00:00Z'), validityDays: 365, isCa: true });
  assert.throws(() => verifySnpReport(milan.report, vcek + ask + ownRoot, { at }), refused(/not the expected one/));
  // The right root, and another product's intermediate, or certificates in another order.
  assert.throws(() => verifySnpReport(milan.report, genoaVcek + ask + ark, { at }), refused(/chain of signatures from the root of trust to this attestation is broken/));
  assert.throws(() => verifySnpReport(milan.report, ask + vcek + ark, { at }), refused(/Chip certificate \(VCEK\) did not sign/), 'the ASK chains to the root, but did not sign');
  assert.throws(() => verifySnpReport(milan.report, vcek + genoaAsk + ark, { at }), refused(/chain of signatures .* is broken/));
  // Certificates outside their validity (the VCEK's runs from 2025-01-28 to 2032-01-28).
  assert.throws(() => verifySnpReport(milan.report, milan.endorsements, { at: new Date('2024-06-01T00:00:00Z') }), refused(/is broken .*not valid at 2024-06-01/));
  assert.throws(() => verifySnpReport(milan.report, milan.endorsements, { at: new Date('2033-01-01T00:00:00Z') }), refused(/is broken .*not valid at 2033-01-01/));
});

test('CPUs without a pinned AMD root are refused (Turin, as in CCF, and unknown families)', () => {
  assert.throws(() => verifySnpReport(altered(milan.report, 0x188, [0x1a, 0x01]), milan.endorsements, { at }), refused(/Unsupported CPUID family 26 model 1/));
  assert.throws(() => verifySnpReport(altered(milan.report, 0x188, [0x17, 0x31]), milan.endorsements, { at }), refused(/Unsupported CPUID family 23 model 49/));
});

test("an endorsed TCB, in the report's byte order, must be the one reported", () => {
  assert.equal(verifySnpReport(milan.report, milan.endorsements, { at, endorsedTcbHex: '04000000000018db' }).version, 3);
  assert.equal(verifySnpReport(milan.report, milan.endorsements, { at, endorsedTcbHex: '04000000000018DB' }).version, 3);
  assert.throws(() => verifySnpReport(milan.report, milan.endorsements, { at, endorsedTcbHex: '0000000000000000' }), refused(/endorsed TCB 0000000000000000 does not match reported TCB 04000000000018db/));
  assert.throws(() => verifySnpReport(milan.report, milan.endorsements, { at, endorsedTcbHex: 'db18000000000004' }), refused(/does not match reported TCB/));
  assert.throws(() => verifySnpReport(milan.report, milan.endorsements, { at, endorsedTcbHex: '0400' }), refused(/TCB of size 2, expected 8/));
  assert.throws(() => verifySnpReport(milan.report, milan.endorsements, { at, endorsedTcbHex: 'zz' }), refused(/must be hex digits/));
});
