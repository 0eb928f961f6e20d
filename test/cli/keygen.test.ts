// Specification of `coco keygen`, cross-checked with openssl: it writes NAME_privk.pem (PKCS#8 EC,
// 0600) and a self-signed NAME_cert.pem (CN=NAME, 365 days), optionally an RSA-2048 encryption key
// pair, prints the ID that equals the certificate's SHA-256 fingerprint, and never overwrites.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { KEYGEN_VALIDITY_DAYS, runKeygen } from '../../src/cli/keygen.js';
import { openssl } from '../support/openssl.js';
import { repoRoot } from '../support/paths.js';
import { runCoco } from '../support/run-cli.js';

const DAY_MS = 86_400_000;
const SECOND_MS = 1_000;

interface Run {
  status: number;
  out: string;
  err: string;
}

async function keygen(args: string[]): Promise<Run> {
  let out = '';
  let err = '';
  const status = await runKeygen(args, { out: (text) => (out += text), err: (text) => (err += text) });
  return { status, out, err };
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'coco-keygen-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs openssl and returns its stdout, failing the test with its stderr if it fails. */
function ssl(args: string[]): string {
  const result = openssl(args);
  assert.equal(result.status, 0, `openssl ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

function printedId(out: string): string {
  const match = /ID \(SHA-256 of cert\):\s+([0-9a-f]{64})\n/.exec(out);
  assert.ok(match, `no ID in output:\n${out}`);
  return match[1] as string;
}

function fileMode(path: string): number {
  return statSync(path).mode & 0o777;
}

describe('coco keygen', () => {
  it('writes a P-384 key (0600) and a self-signed CN=NAME certificate whose SHA-256 fingerprint is the printed ID', async (t) => {
    const dir = tempDir(t);
    const run = await keygen(['--name', 'member0', '--dir', dir]);
    assert.equal(run.status, 0, run.err);
    assert.deepEqual(readdirSync(dir).sort(), ['member0_cert.pem', 'member0_privk.pem']);
    const cert = join(dir, 'member0_cert.pem');
    const key = join(dir, 'member0_privk.pem');

    const fingerprint = ssl(['x509', '-in', cert, '-noout', '-fingerprint', '-sha256']).trim().split('=')[1]?.replaceAll(':', '').toLowerCase();
    assert.equal(printedId(run.out), fingerprint);
    assert.match(ssl(['x509', '-in', cert, '-noout', '-subject']), /^subject=\s*CN\s*=\s*member0\s*$/);
    assert.match(ssl(['x509', '-in', cert, '-noout', '-issuer']), /^issuer=\s*CN\s*=\s*member0\s*$/);
    ssl(['verify', '-CAfile', cert, '-partial_chain', cert]);

    const dates = ssl(['x509', '-in', cert, '-noout', '-startdate', '-enddate']);
    const notBefore = Date.parse(/notBefore=(.*)/.exec(dates)?.[1] ?? '');
    const notAfter = Date.parse(/notAfter=(.*)/.exec(dates)?.[1] ?? '');
    assert.equal(notAfter - notBefore, KEYGEN_VALIDITY_DAYS * DAY_MS - SECOND_MS);
    assert.equal(KEYGEN_VALIDITY_DAYS, 365);

    assert.match(readFileSync(key, 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/, 'PKCS#8');
    assert.match(ssl(['pkey', '-in', key, '-noout', '-text']), /ASN1 OID: secp384r1/);
    assert.equal(ssl(['pkey', '-in', key, '-pubout']), ssl(['x509', '-in', cert, '-noout', '-pubkey']), 'the key is the certificate\'s');
    assert.equal(fileMode(key), 0o600);
    assert.equal(fileMode(cert) & 0o600, 0o600);
  });

  it('writes a P-256 key with --curve secp256r1', async (t) => {
    const dir = tempDir(t);
    assert.equal((await keygen(['--name', 'user0', '--curve', 'secp256r1', '--dir', dir])).status, 0);
    assert.match(ssl(['pkey', '-in', join(dir, 'user0_privk.pem'), '-noout', '-text']), /ASN1 OID: prime256v1/);
    assert.match(ssl(['x509', '-in', join(dir, 'user0_cert.pem'), '-noout', '-text']), /ecdsa-with-SHA256/);
  });

  it('adds an RSA-2048 encryption key pair (private key 0600) with --gen-enc-key', async (t) => {
    const dir = tempDir(t);
    const run = await keygen(['--name', 'member1', '--gen-enc-key', '--dir', dir]);
    assert.equal(run.status, 0, run.err);
    const privateKey = join(dir, 'member1_enc_privk.pem');
    const publicKey = join(dir, 'member1_enc_pubk.pem');
    assert.deepEqual(readdirSync(dir).sort(), ['member1_cert.pem', 'member1_enc_privk.pem', 'member1_enc_pubk.pem', 'member1_privk.pem']);
    assert.match(ssl(['pkey', '-in', privateKey, '-noout', '-text']), /Private-Key: \(2048 bit/);
    assert.match(readFileSync(publicKey, 'utf8'), /^-----BEGIN PUBLIC KEY-----\n/);
    assert.equal(ssl(['pkey', '-in', privateKey, '-pubout']), ssl(['pkey', '-pubin', '-in', publicKey]));
    assert.equal(fileMode(privateKey), 0o600);
    assert.ok(run.out.includes(privateKey) && run.out.includes(publicKey));
  });

  it('creates a missing --dir', async (t) => {
    const dir = join(tempDir(t), 'a', 'b');
    assert.equal((await keygen(['--name', 'm', '--dir', dir])).status, 0);
    assert.deepEqual(readdirSync(dir).sort(), ['m_cert.pem', 'm_privk.pem']);
  });

  it('refuses to overwrite with one clear line and exit 1, leaving the old files as they were', async (t) => {
    const dir = tempDir(t);
    assert.equal((await keygen(['--name', 'member0', '--dir', dir])).status, 0);
    const before = readFileSync(join(dir, 'member0_privk.pem'), 'utf8');
    const again = await keygen(['--name', 'member0', '--dir', dir]);
    assert.equal(again.status, 1);
    assert.equal(again.out, '');
    assert.equal(again.err.trimEnd().split('\n').length, 1, again.err);
    assert.match(again.err, /^coco keygen: .*member0_privk\.pem.* already exist/);
    assert.equal(readFileSync(join(dir, 'member0_privk.pem'), 'utf8'), before);
  });

  it('writes nothing when any one of the target files exists', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'member2_enc_pubk.pem'), 'keep me');
    const run = await keygen(['--name', 'member2', '--gen-enc-key', '--dir', dir]);
    assert.equal(run.status, 1);
    assert.match(run.err, /member2_enc_pubk\.pem already exists/);
    assert.deepEqual(readdirSync(dir), ['member2_enc_pubk.pem']);
    assert.equal(readFileSync(join(dir, 'member2_enc_pubk.pem'), 'utf8'), 'keep me');
  });

  const usageErrors: [string, string[], RegExp][] = [
    ['no --name', [], /--name is required/],
    ['a name with a path separator', ['--name', '../evil'], /--name takes/],
    ['a name starting with a dot', ['--name', '.hidden'], /--name takes/],
    ['a name longer than a common name may be', ['--name', 'x'.repeat(65)], /at most 64/],
    ['an unknown curve', ['--name', 'm', '--curve', 'secp521r1'], /--curve takes secp384r1 or secp256r1/],
    ['an unknown option', ['--name', 'm', '--force'], /--force/],
    ['a positional argument', ['--name', 'm', 'extra'], /unexpected argument "extra"/],
  ];
  for (const [what, args, message] of usageErrors) {
    it(`exits 2 with the usage for ${what}`, async (t) => {
      const dir = tempDir(t);
      const run = await keygen([...args, '--dir', dir]);
      assert.equal(run.status, 2);
      assert.match(run.err, message);
      assert.match(run.err, /Usage: coco keygen/);
      assert.deepEqual(readdirSync(dir), []);
    });
  }

  it('says that a --dir that is a file, or lies under one, is not a directory', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'file');
    writeFileSync(file, '');
    for (const [target, reason] of [[file, 'it is a file, not a directory'], [join(file, 'keys'), 'not a directory']] as const) {
      const run = await keygen(['--name', 'member0', '--dir', target]);
      assert.equal(run.status, 1);
      assert.equal(run.err, `coco keygen: cannot create --dir ${target}: ${reason}; pass another --dir\n`);
    }
  });

  it('fails at once on a --dir the system cannot create under an existing directory (/proc), where Node\'s recursive mkdir spins', { skip: !existsSync('/proc/self') }, async () => {
    // In a child process: a spin would block this one's event loop, and its test, for ever.
    const run = spawnSync(process.execPath, [join(repoRoot, 'bin', 'coco.js'), 'keygen', '--name', 'member0', '--dir', '/proc/coco-keys/member0'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.error, undefined, 'it ends by itself');
    assert.equal(run.status, 1);
    assert.equal(run.stderr, 'coco keygen: cannot create --dir /proc/coco-keys/member0: no such file or directory; pass another --dir\n');
  });

  it('prints its help with --help and exits 0', async () => {
    const run = await keygen(['--help']);
    assert.equal(run.status, 0);
    assert.match(run.out, /^Usage: coco keygen --name NAME/);
    assert.match(run.out, /--gen-enc-key/);
  });

  it('runs as `coco keygen` from the real CLI', (t) => {
    const dir = tempDir(t);
    const result = runCoco(['keygen', '--name', 'member0', '--dir', dir]);
    assert.equal(result.status, 0, result.stderr);
    const fingerprint = ssl(['x509', '-in', join(dir, 'member0_cert.pem'), '-noout', '-fingerprint', '-sha256']).trim().split('=')[1]?.replaceAll(':', '').toLowerCase();
    assert.equal(printedId(result.stdout), fingerprint);
    const again = runCoco(['keygen', '--name', 'member0', '--dir', dir]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /already exist/);
  });
});
