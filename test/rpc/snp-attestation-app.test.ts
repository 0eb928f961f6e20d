// An app that checks another party's SEV-SNP attestation before releasing a key, written as the
// Azure Privacy Sandbox KMS writes its check: TypeScript against @microsoft/ccf-app's
// snp_attestation module, bundled by esbuild, given base64 evidence, endorsements, UVM endorsements
// and an endorsed TCB. Run on a node in this process over real TLS with Confidential ACI's evidence.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { build } from 'esbuild';
import { CocoClient } from '../../src/client/coco-client.js';
import { fromBase64, fromHex, toBase64, utf8 } from '../../src/crypto/bytes.js';
import { parseAppBundle } from '../../src/js/app-bundle.js';
import { repoRoot } from '../support/paths.js';
import { appServer, type BuiltinEndpointsServer } from './rpc-server-fixture.js';

const APP = `
import * as ccfapp from "@microsoft/ccf-app";
import { verifySnpAttestation } from "@microsoft/ccf-app/snp_attestation";

interface Attestation { evidence: string; endorsements: string; uvm_endorsements?: string; endorsed_tcb?: string }

// No atob in CCF's runtime (no Web APIs): apps bring a decoder (the KMS uses js-base64).
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
function fromBase64(text: string): Uint8Array {
  const clean = text.replace(/=+$/, "");
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0, value = 0, at = 0;
  for (const c of clean) {
    value = (value << 6) | ALPHABET.indexOf(c);
    bits += 6;
    if (bits >= 8) { bits -= 8; out[at++] = (value >> bits) & 0xff; }
  }
  return out;
}
const buffer = (base64: string) => ccfapp.typedArray(Uint8Array).encode(fromBase64(base64));
const hex = (b: ArrayBuffer) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");

export function verify(request: ccfapp.Request<Attestation>): ccfapp.Response {
  const body = request.body.json();
  try {
    const result = verifySnpAttestation(
      buffer(body.evidence),
      buffer(body.endorsements),
      body.uvm_endorsements === undefined ? undefined : buffer(body.uvm_endorsements),
      body.endorsed_tcb,
    );
    return { body: { measurement: hex(result.attestation.measurement), host_data: hex(result.attestation.host_data), reported_tcb: result.attestation.reported_tcb, uvm: result.uvm_endorsements } };
  } catch (error) {
    return { statusCode: 400, body: { error: (error as Error).name + ": " + (error as Error).message } };
  }
}
`;

const fixture = (name: string): string => readFileSync(join(repoRoot, 'test', 'fixtures', 'snp', name), 'utf8');
const sample = {
  evidence: toBase64(fromHex(fixture('kms-report.hex'))),
  endorsements: toBase64(utf8(fixture('kms-endorsements.pem'))),
  uvm_endorsements: fixture('kms-uvm-endorsements.cose.base64').replace(/\s/g, ''),
  endorsed_tcb: '0300000000000873',
};

let service: BuiltinEndpointsServer;
let client: CocoClient;

before(async () => {
  const built = await build({
    stdin: { contents: APP, loader: 'ts', resolveDir: repoRoot, sourcefile: 'verify.ts' },
    bundle: true,
    format: 'esm',
    target: 'es2020',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    write: false,
    logLevel: 'silent',
  });
  const module = built.outputFiles[0]!.text;
  const endpoint = { js_module: 'verify.js', js_function: 'verify', authn_policies: ['no_auth'], mode: 'readonly', forwarding_required: 'never' };
  // Evidence with UVM endorsements is about 20 KB of JSON: CCF's default body limit (1 MB), not the fixture's.
  service = await appServer(parseAppBundle({ metadata: { endpoints: { '/verify': { post: endpoint } } }, modules: [{ name: 'verify.js', module }] }), undefined, { maxBodyBytes: 1024 * 1024 });
  client = new CocoClient({ url: service.origin, caCertPem: service.tls.certPem });
});

after(async () => {
  client?.close();
  await service?.close();
});

test("the app verifies Confidential ACI's evidence and Microsoft's UVM endorsement, and reads the report's fields", async () => {
  const answer = await client.request('POST', '/app/verify', { body: sample });
  assert.equal(answer.status, 200, answer.text());
  const result = answer.json<{ measurement: string; host_data: string; reported_tcb: unknown; uvm: unknown }>();
  assert.equal(result.measurement, '02c3b0d5bf1d256fa4e3b5deefc07b55ff2f7029085ed350f60959140a1a51f1310753ba5ab2c03a0536b1c0c193af47');
  assert.equal(result.host_data.length, 64);
  assert.deepEqual(result.reported_tcb, { boot_loader: 3, tee: 0, snp: 8, microcode: 115 });
  assert.deepEqual(result.uvm, { did: 'did:x509:0:sha256:I__iuL25oXEVFdTP_aBLx_eT1RPHbCQ_ECBQfYZpt9s::eku:1.3.6.1.4.1.311.76.59.1.2', feed: 'ContainerPlat-AMD-UVM', svn: '100' });
});

test('evidence another party altered, or an endorsement of another VM, is refused with the reason', async () => {
  const report = fromBase64(sample.evidence);
  report[0xc0] = report[0xc0]! ^ 1; // host_data: another security policy
  const altered = await client.request('POST', '/app/verify', { body: { ...sample, evidence: toBase64(report) }, allowError: true });
  assert.equal(altered.status, 400);
  assert.equal(altered.json<{ error: string }>().error, 'RangeError: SEV-SNP: Chip certificate (VCEK) did not sign this attestation');
  const otherVm = { ...sample, evidence: toBase64(fromHex(fixture('milan-report.hex'))), endorsements: toBase64(utf8(fixture('milan-endorsements.pem'))), endorsed_tcb: undefined };
  const refused = await client.request('POST', '/app/verify', { body: otherVm, allowError: true });
  assert.match(refused.json<{ error: string }>().error, /^RangeError: Launch measurement in UVM endorsements payload 02c3b0d5\w+ is not equal to UVM attestation measurement 5feee30d/);
  const tcb = await client.request('POST', '/app/verify', { body: { ...sample, endorsed_tcb: '0300000000000874' }, allowError: true });
  assert.match(tcb.json<{ error: string }>().error, /does not match reported TCB 0300000000000873/);
});
