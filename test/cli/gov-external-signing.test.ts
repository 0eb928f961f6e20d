// A member whose private key never reaches Coco (an HSM, a key vault) governs a real sandbox:
// `coco gov prepare` gives what to sign, the signature is made outside Coco (node:crypto or
// openssl, as DER or as a key vault's raw r‖s), `coco gov finish` checks it and writes the request,
// `coco gov submit` sends it. The SDK's ExternalSigner does the same in one call, and
// docs/client.md's example runs as written.

import assert from 'node:assert/strict';
import { createHash, createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import test, { after, before } from 'node:test';
import { CocoClient } from '../../src/client/coco-client.js';
import type { ExternalSigner } from '../../src/client/external-signing.js';
import { GovernanceClient, type Proposal } from '../../src/client/governance-client.js';
import { ACCEPT_BALLOT } from '../../src/client/open-service.js';
import { repoRoot } from '../support/paths.js';
import { runCoco, type CliResult } from '../support/run-cli.js';
import { startSandbox, type SandboxProcess } from '../support/sandbox-process.js';

/** Client port of this file's sandbox (its node-to-node port is the next one). */
const SANDBOX_PORT = 10210;
const CHUNK_PROPOSAL = '{"actions": [{"name": "trigger_ledger_chunk", "args": {}}]}';
const ACCEPT_BALLOT_JSON = JSON.stringify({ ballot: ACCEPT_BALLOT });
const SANDBOX_TIMEOUT_MS = 180_000;

const scratch = mkdtempSync(join(tmpdir(), 'coco-gov-external-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

// One sandbox for the file, with member0 its only member until the last tests add others.
let sandbox: SandboxProcess;
before(async () => {
  sandbox = await startSandbox(['--nodes', '1', '--port', String(SANDBOX_PORT)]);
});
after(() => sandbox?.stop());

interface Member {
  certPath: string;
  keyPath: string;
}

/** How the signature outside Coco is made and handed to finish. */
type SignatureForm = 'der' | 'key-vault-json';

const HASH_OF_ALG: Record<string, string> = { ES256: 'sha256', ES384: 'sha384', ES512: 'sha512' };

function file(name: string, content: string | Uint8Array): string {
  const path = join(scratch, name);
  writeFileSync(path, content);
  return path;
}

function ok(result: CliResult): string {
  assert.equal(result.status, 0, result.stderr);
  return result.stdout;
}

function gov(args: string[]): CliResult {
  return runCoco(['gov', ...args, '--workspace', sandbox.workspace]);
}

let requests = 0;

/**
 * prepare, then sign the ToBeSigned bytes with node:crypto (the HSM), then finish: the path of the
 * signed request. Checks on the way that the printed digest is the ToBeSigned's.
 */
function signOutside(member: Member, msgType: string, options: { content?: string; proposalId?: string; form: SignatureForm; createdAt?: number }): string {
  const name = `request-${++requests}`;
  const request = [
    '--ccf-gov-msg-type', msgType,
    '--ccf-gov-msg-created-at', String(options.createdAt ?? Math.floor(Date.now() / 1000)),
    '--cert', member.certPath,
    ...(options.proposalId === undefined ? [] : ['--ccf-gov-msg-proposal-id', options.proposalId]),
    ...(options.content === undefined ? [] : ['--content', file(`${name}.json`, options.content)]),
  ];
  const tbsPath = join(scratch, `${name}.tbs`);
  const printed = JSON.parse(ok(gov(['prepare', ...request, '--to-be-signed', tbsPath]))) as { alg: string; value: string };
  const tbs = readFileSync(tbsPath);
  const hash = HASH_OF_ALG[printed.alg];
  assert.ok(hash, `alg ${printed.alg}`);
  assert.equal(printed.value, createHash(hash).update(tbs).digest('base64'), 'the digest printed is that of the ToBeSigned bytes');
  const key = readFileSync(member.keyPath, 'utf8');
  const signature =
    options.form === 'der'
      ? sign(hash, tbs, { key, dsaEncoding: 'der' })
      : JSON.stringify({ kid: 'https://vault.example/keys/member/1', value: sign(hash, tbs, { key, dsaEncoding: 'ieee-p1363' }).toString('base64url') });
  const out = join(scratch, `${name}.cose`);
  ok(gov(['finish', ...request, '--signature', file(`${name}.sig`, signature), '--out', out]));
  return out;
}

function submit(path: string): unknown {
  const stdout = ok(gov(['submit', path]));
  return stdout === '' ? undefined : JSON.parse(stdout);
}

function member0(): Member {
  return { certPath: sandbox.file('member0_cert.pem'), keyPath: sandbox.file('member0_privk.pem') };
}

/** The members activated by the tests so far, besides member0: their votes are needed too. */
const activeOutside: Member[] = [];

/** member0 proposes `actions` and votes for them, with its key file, then the other members outside Coco: how members join. */
function proposeAndAccept(actions: object[]): void {
  const proposal = JSON.parse(ok(gov(['propose', file(`accepted-${++requests}.json`, JSON.stringify({ actions }))]))) as Proposal;
  let voted = JSON.parse(ok(gov(['vote', proposal.proposalId, '--accept']))) as Proposal;
  for (const member of activeOutside) {
    if (voted.proposalState !== 'Open') break;
    voted = submit(signOutside(member, 'ballot', { content: ACCEPT_BALLOT_JSON, proposalId: proposal.proposalId, form: 'der' })) as Proposal;
  }
  assert.equal(voted.proposalState, 'Accepted');
}

/** A new member, registered by the members, who becomes Active signing outside Coco only. */
function activateOutside(member: Member, form: SignatureForm): void {
  proposeAndAccept([{ name: 'set_member', args: { cert: readFileSync(member.certPath, 'utf8') } }]);
  const digest = submit(signOutside(member, 'state_digest', { form })) as { memberId: string; stateDigest: string };
  assert.match(digest.stateDigest, /^[0-9a-f]{64}$/);
  assert.equal(submit(signOutside(member, 'ack', { content: JSON.stringify({ stateDigest: digest.stateDigest }), form })), undefined, 'ack answers 204');
  activeOutside.push(member);
}

/** Proposes and votes as `member`, signing outside Coco; member0 adds its vote when its own is not enough. */
function governOutside(member: Member, form: SignatureForm): Proposal {
  const proposal = submit(signOutside(member, 'proposal', { content: CHUNK_PROPOSAL, form })) as Proposal;
  assert.equal(proposal.proposalState, 'Open');
  const voted = submit(signOutside(member, 'ballot', { content: ACCEPT_BALLOT_JSON, proposalId: proposal.proposalId, form })) as Proposal;
  assert.equal(voted.ballotCount, 1);
  return voted.proposalState === 'Accepted' ? voted : (JSON.parse(ok(gov(['vote', proposal.proposalId, '--accept']))) as Proposal);
}

test('a P-384 member proposes and votes signing outside Coco: DER for the proposal, a key vault\'s raw r‖s for the ballot', { timeout: SANDBOX_TIMEOUT_MS }, () => {
  const proposal = submit(signOutside(member0(), 'proposal', { content: CHUNK_PROPOSAL, form: 'der' })) as Proposal;
  assert.equal(proposal.proposalState, 'Open');
  const voted = submit(signOutside(member0(), 'ballot', { content: ACCEPT_BALLOT_JSON, proposalId: proposal.proposalId, form: 'key-vault-json' })) as Proposal;
  assert.equal(voted.proposalState, 'Accepted');
  const withdrawn = submit(signOutside(member0(), 'proposal', { content: CHUNK_PROPOSAL, form: 'der' })) as Proposal;
  assert.equal((submit(signOutside(member0(), 'withdrawal', { proposalId: withdrawn.proposalId, form: 'key-vault-json' })) as Proposal).proposalState, 'Withdrawn');
});

test('finish refuses a signature by another key, or over another request, and writes nothing', { timeout: SANDBOX_TIMEOUT_MS }, () => {
  const createdAt = Math.floor(Date.now() / 1000);
  const request = ['--ccf-gov-msg-type', 'proposal', '--ccf-gov-msg-created-at', String(createdAt), '--content', file('refused.json', CHUNK_PROPOSAL)];
  const tbsPath = join(scratch, 'refused.tbs');
  ok(gov(['prepare', ...request, '--to-be-signed', tbsPath]));
  const tbs = readFileSync(tbsPath);
  const stranger = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey;
  const out = join(scratch, 'refused.cose');
  const refusals: [string, string[], RegExp][] = [
    ['another key', request, /does not verify with the key of member [0-9a-f]{64}'s certificate/],
    ['another created_at', request.map((arg) => (arg === String(createdAt) ? String(createdAt + 1) : arg)), /does not verify/],
  ];
  for (const [what, args, message] of refusals) {
    const key = what === 'another key' ? stranger : createPrivateKey(readFileSync(sandbox.file('member0_privk.pem')));
    const refused = gov(['finish', ...args, '--signature', file('refused.sig', sign('sha384', tbs, { key, dsaEncoding: 'der' })), '--out', out]);
    assert.equal(refused.status, 1, `${what}: ${refused.stderr}`);
    assert.match(refused.stderr, new RegExp(`^coco: --signature \\S+refused\\.sig: .*${message.source}.*; nothing was written \\[InvalidSignature\\]\\n$`), what);
    assert.equal(existsSync(out), false, what);
  }
  const p256Raw = new Uint8Array(64).fill(7);
  const wrongLength = gov(['finish', ...request, '--signature', file('short.sig', p256Raw), '--out', out]);
  assert.match(wrongLength.stderr, /the signature is 64 bytes: neither a DER ECDSA signature nor ES384's raw r‖s \(96 bytes\).* \[InvalidSignature\]\n$/);
});

test('an ExternalSigner that signs the digest with openssl pkeyutl, as an HSM does, governs through the SDK', { timeout: SANDBOX_TIMEOUT_MS }, async () => {
  const signer: ExternalSigner = {
    certPem: sandbox.pem('member0_cert.pem'),
    sign: async ({ algorithm, digest }) => {
      assert.equal(algorithm, 'ES384');
      return execFileSync('openssl', ['pkeyutl', '-sign', '-inkey', sandbox.file('member0_privk.pem')], { input: digest });
    },
  };
  const client = new CocoClient({ url: sandbox.url, caCertPem: sandbox.pem('service_cert.pem') });
  try {
    const governance = new GovernanceClient(client, { member: signer });
    const proposal = await governance.createProposal(JSON.parse(CHUNK_PROPOSAL) as object);
    assert.equal((await governance.submitBallot(proposal.proposalId, ACCEPT_BALLOT)).proposalState, 'Accepted');
  } finally {
    client.close();
  }
});

test("docs/client.md's openssl example signs, finishes and submits a proposal as written", { timeout: SANDBOX_TIMEOUT_MS }, () => {
  const docs = readFileSync(join(repoRoot, 'docs', 'client.md'), 'utf8');
  const block = [...docs.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]!).find((text) => text.includes('openssl pkeyutl'));
  assert.ok(block, 'docs/client.md has a sh block with openssl pkeyutl');
  const coco = `"${process.execPath}" "${join(repoRoot, 'bin', 'coco.js')}"`;
  const result = spawnSync('sh', ['-e', '-c', block.replaceAll('npx coco', coco)], { cwd: dirname(sandbox.workspace), encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
  assert.equal((JSON.parse(result.stdout) as Proposal).proposalState, 'Open');
  assert.match(result.stderr, /^waiting for \d+\.\d+ to be committed\.* committed\n$/);
});

test('prepare, finish and submit name what is missing or wrong in one line, before connecting', () => {
  const usage: [string[], RegExp][] = [
    [['prepare', '--ccf-gov-msg-created-at', '1'], /^coco: --ccf-gov-msg-type is required: give one of proposal, ballot, withdrawal, ack, state_digest, recovery_share\n/],
    [['prepare', '--ccf-gov-msg-type', 'vote', '--ccf-gov-msg-created-at', '1'], /^coco: --ccf-gov-msg-type is "vote": give one of /],
    [['prepare', '--ccf-gov-msg-type', 'ballot', '--ccf-gov-msg-created-at', '1', '--content', 'b.json'], /^coco: a ballot needs --ccf-gov-msg-proposal-id ID, the proposal it is for\n/],
    [['prepare', '--ccf-gov-msg-type', 'proposal', '--ccf-gov-msg-created-at', '1'], /^coco: a proposal needs --content FILE, the request body to sign\n/],
    [['prepare', '--ccf-gov-msg-type', 'proposal', '--content', 'p.json'], /^coco: --ccf-gov-msg-created-at TIME is required, the same for prepare and finish/],
    [['prepare', '--ccf-gov-msg-type', 'proposal', '--ccf-gov-msg-created-at', 'yesterday', '--content', 'p.json'], /takes seconds since the epoch \(\$\(date \+%s\)\) or an ISO 8601 date and time/],
    [['prepare', '--ccf-gov-msg-type', 'withdrawal', '--ccf-gov-msg-created-at', '1', '--ccf-gov-msg-proposal-id', 'abc'], /^coco: --ccf-gov-msg-proposal-id must be a proposal ID, 64 lowercase hex digits, not "abc"\n/],
    [['finish', '--ccf-gov-msg-type', 'state_digest', '--ccf-gov-msg-created-at', '1'], /^coco: gov finish needs --signature FILE/],
  ];
  for (const [args, message] of usage) {
    const result = runCoco(['gov', ...args, '--workspace', join(scratch, 'no-workspace')]);
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message, args.join(' '));
  }
  const notCose = runCoco(['gov', 'submit', file('not-cose.json', CHUNK_PROPOSAL), '--workspace', join(scratch, 'no-workspace')]);
  assert.equal(notCose.status, 1);
  assert.match(notCose.stderr, /^coco: \S+not-cose\.json: the signed request is not a COSE_Sign1 envelope: .*; make it with coco gov finish \[InvalidArgument\]\n$/);
});

test('prepare takes the created_at as seconds or as ISO 8601, local time without an offset, as CCF\'s tools do', () => {
  const digestAt = (createdAt: string) =>
    (JSON.parse(ok(runCoco(['gov', 'prepare', '--ccf-gov-msg-type', 'state_digest', '--ccf-gov-msg-created-at', createdAt, '--cert', sandbox.file('member0_cert.pem')]))) as { value: string }).value;
  const seconds = Date.parse('2024-05-01T12:30:00Z') / 1000;
  assert.equal(digestAt('2024-05-01T12:30:00Z'), digestAt(String(seconds)));
  assert.equal(digestAt('2024-05-01T14:30:00+02:00'), digestAt(String(seconds)));
  assert.equal(digestAt('2024-05-01 12:30:00'), digestAt(String(new Date(2024, 4, 1, 12, 30).getTime() / 1000)));
  assert.notEqual(digestAt(String(seconds + 1)), digestAt(String(seconds)));
});

// These add members: from here on, member0's vote alone no longer accepts a proposal.

test('a P-256 member added by proposal acks its state digest and governs, signing outside Coco only', { timeout: SANDBOX_TIMEOUT_MS }, () => {
  const dir = join(scratch, 'member-p256');
  ok(runCoco(['keygen', '--name', 'member1', '--curve', 'secp256r1', '--dir', dir]));
  const member = { certPath: join(dir, 'member1_cert.pem'), keyPath: join(dir, 'member1_privk.pem') };
  activateOutside(member, 'key-vault-json');
  assert.equal(governOutside(member, 'der').proposalState, 'Accepted');
});

/** A P-521 member's files, made by openssl (coco keygen makes P-256 and P-384 ones). */
function p521Member(): Member {
  const dir = mkdtempSync(join(scratch, 'member-p521-'));
  const keyPath = join(dir, 'member_privk.pem');
  const certPath = join(dir, 'member_cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-521', '-nodes', '-keyout', keyPath, '-out', certPath, '-subj', '/CN=member-p521', '-days', '2'], { stdio: 'ignore' });
  return { certPath, keyPath };
}

test('a P-521 member signs ES512 outside Coco', { timeout: SANDBOX_TIMEOUT_MS }, () => {
  const member = p521Member();
  activateOutside(member, 'der');
  assert.equal(governOutside(member, 'key-vault-json').proposalState, 'Accepted');
});

// Last: it dates proposals ahead, after which this sandbox takes no proposal signed at the time.
test('a proposal refused as created too long ago says why and how to sign it with a later time (coco gov prepare --ccf-gov-msg-created-at)', { timeout: SANDBOX_TIMEOUT_MS }, async () => {
  const client = new CocoClient({ url: sandbox.url, caCertPem: sandbox.pem('service_cert.pem') });
  try {
    // Another member's clock runs an hour ahead: its proposals move the median of recent created_at past now.
    let ahead = Date.now() + 3_600_000;
    const governance = new GovernanceClient(client, { member: { certPem: readFileSync(member0().certPath, 'utf8'), keyPem: readFileSync(member0().keyPath, 'utf8') }, now: () => (ahead += 1000) });
    for (let i = 0; i < 100; i++) await governance.createProposal(JSON.parse(CHUNK_PROPOSAL) as object);
  } finally {
    client.close();
  }
  const refused = gov(['propose', file('late.json', CHUNK_PROPOSAL)]);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /Proposal created too long ago, created_at must be greater than \d+: a proposal's created_at \(this machine's clock\) must pass the median of the service's recent proposals'/);
  assert.match(refused.stderr, /coco gov prepare --ccf-gov-msg-type proposal --ccf-gov-msg-created-at SECONDS, then gov finish and gov submit/);
});
