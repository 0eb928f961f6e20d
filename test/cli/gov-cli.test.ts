// `coco gov`, `coco app deploy` and `coco ledger fetch` as a member or auditor runs them: mistakes
// in the command line or its files are one line naming the flag and the file (checked before any
// connection), and against a fresh sandbox the README's audit steps work as written.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import test, { after, before } from 'node:test';
import { repoRoot } from '../support/paths.js';
import { runCoco, type CliResult } from '../support/run-cli.js';
import { startSandbox, type SandboxProcess } from '../support/sandbox-process.js';

const scratch = mkdtempSync(join(tmpdir(), 'coco-gov-cli-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function assertOneLine(result: CliResult, status: number, message: RegExp): void {
  assert.equal(result.status, status, result.stderr);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, message);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
}

test('gov propose and gov vote --ballot name an unreadable file in one line', () => {
  const missing = join(scratch, 'no-such-proposal.json');
  assertOneLine(runCoco(['gov', 'propose', missing]), 1, /^coco: cannot read proposal .*no-such-proposal\.json: no such file \[FileUnreadable\]\n$/);
  assertOneLine(runCoco(['gov', 'propose', scratch]), 1, /^coco: cannot read proposal .*EISDIR.* \[FileUnreadable\]\n$/);
  assertOneLine(runCoco(['gov', 'vote', 'a'.repeat(64), '--ballot', join(scratch, 'no-such-ballot.js')]), 1, /^coco: cannot read ballot .*no-such-ballot\.js: no such file \[FileUnreadable\]\n$/);
});

test('a certificate that cannot be read is named with the reason', () => {
  assertOneLine(runCoco(['gov', 'status', '--cacert', scratch]), 1, new RegExp(`^coco: cannot read service certificate ${scratch}: illegal operation on a directory; pass --cacert, or --workspace DIR for a sandbox started with one, or start a sandbox first \\[FileUnreadable\\]\\n$`));
});

test('gov vote without a proposal ID says that the ID is missing', () => {
  const result = runCoco(['gov', 'vote', '--accept']);
  assertOneLine(result, 2, /^coco: gov vote needs the ID of the proposal to vote on \(coco gov vote ID --accept\|--reject\|--ballot FILE\)\n/);
  assertOneLine(runCoco(['gov', 'vote', 'a'.repeat(64)]), 2, /^coco: gov vote needs exactly one of --accept, --reject, --ballot FILE/);
});

test('gov names --cert, --key and --cacert and their files when they are not what they must be', () => {
  const common = join(scratch, 'workspace', 'sandbox_common');
  for (const name of ['member0', 'user0']) assert.equal(runCoco(['keygen', '--name', name, '--dir', common]).status, 0);
  copyFileSync(join(common, 'member0_cert.pem'), join(common, 'service_cert.pem'));
  const workspace = ['--workspace', dirname(common)];
  const userKey = join(common, 'user0_privk.pem');
  const mismatched = runCoco(['gov', 'status', ...workspace, '--key', userKey]);
  assertOneLine(mismatched, 1, new RegExp(`^coco: --key ${userKey} is not the private key of --cert ${join(common, 'member0_cert.pem')}; .* \\[InvalidKey\\]\\n$`));
  assert.doesNotMatch(mismatched.stderr, /Pem\b/, 'no SDK option names');
  assertOneLine(runCoco(['gov', 'status', ...workspace, '--key', join(common, 'user0_cert.pem')]), 1, /^coco: --key \S+user0_cert\.pem is not a PEM private key/);
  assertOneLine(runCoco(['gov', 'status', ...workspace, '--cacert', userKey]), 1, /^coco: --cacert \S+user0_privk\.pem is not a PEM certificate/);
});

test('an encrypted --key is named as encrypted, with the ways on: decrypt it, or sign where it is with gov prepare / finish', () => {
  const common = join(scratch, 'encrypted', 'sandbox_common');
  assert.equal(runCoco(['keygen', '--name', 'member0', '--dir', common]).status, 0);
  copyFileSync(join(common, 'member0_cert.pem'), join(common, 'service_cert.pem'));
  const keyPem = readFileSync(join(common, 'member0_privk.pem'), 'utf8');
  const encrypted = {
    pkcs8: createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'locked' }),
    sec1: createPrivateKey(keyPem).export({ type: 'sec1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'locked' }),
  };
  for (const [form, pem] of Object.entries(encrypted)) {
    const key = join(scratch, `encrypted-${form}.pem`);
    writeFileSync(key, pem);
    const result = runCoco(['gov', 'status', '--workspace', dirname(common), '--key', key]);
    assertOneLine(result, 1, new RegExp(`^coco: --key ${key} is an encrypted private key, and Coco takes no passphrase: pass it decrypted \\(openssl pkey -in ${key} -out member_privk\\.pem\\), or leave it locked and sign where it is \\(an HSM, a key vault\\) with coco gov prepare, coco gov finish and coco gov submit .* \\[InvalidKey\\]\\n$`));
  }
});

test('app deploy of an app not built yet fails before proposing, naming the module and the built bundle', () => {
  const result = runCoco(['app', 'deploy', join(repoRoot, 'samples', 'logging'), '--workspace', join(scratch, 'no-workspace')]);
  assertOneLine(result, 1, /the endpoints run log\.js, range\.js, jwt\.js, but the bundle has no JavaScript module; build the app first/);
  assert.match(result.stderr, /samples\/logging\/dist\/bundle\.json/);
});

let sandbox: SandboxProcess;
before(async () => {
  sandbox = await startSandbox();
});
after(() => sandbox?.stop());

test('ledger fetch from a fresh sandbox explains that no chunk is closed yet, and leaves no directory behind', () => {
  const target = join(scratch, 'fresh-audit');
  const result = runCoco(['ledger', 'fetch', target, '--workspace', sandbox.workspace]);
  assertOneLine(result, 1, /has no committed ledger chunk from seqno 1 on: the chunk holding seqno 1 is still being written/);
  assert.match(result.stderr, /trigger_ledger_chunk proposal: write \{"actions":\[\{"name":"trigger_ledger_chunk","args":\{\}\}\]\} to FILE/);
  assert.equal(existsSync(target), false);
  assertOneLine(runCoco(['ledger', 'fetch', target, '--workspace', sandbox.workspace, '--since', '99999999']), 1, /from seqno 99999999 on: the service has committed only up to seqno \d+/);
});

test('a --cacert that does not endorse the node is named with its file, not as the SDK option', () => {
  const userCert = sandbox.file('user0_cert.pem');
  for (const args of [['gov', 'status'], ['ledger', 'fetch', join(scratch, 'wrong-ca')]]) {
    const result = runCoco([...args, '--workspace', sandbox.workspace, '--cacert', userCert]);
    assertOneLine(result, 1, new RegExp(`^coco: the node at ${sandbox.url} is not endorsed by --cacert ${userCert} \\(\\w+\\); .* \\[TlsError\\]\\n$`));
    assert.doesNotMatch(result.stderr, /caCertPem/);
  }
});

/** The README's sh block that mentions `marker`, one command a line. */
function readmeCommands(marker: string): string[] {
  const blocks = [...readFileSync(join(repoRoot, 'README.md'), 'utf8').matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]!);
  const block = blocks.find((text) => text.includes(marker));
  assert.ok(block, `the README has a sh block with ${marker}`);
  return block.trim().split('\n');
}

test("the README's audit of a fresh sandbox works as written: trigger_ledger_chunk, then fetch and verify", () => {
  const coco = `"${process.execPath}" "${join(repoRoot, 'bin', 'coco.js')}"`;
  const root = dirname(sandbox.workspace);
  let proposalId = 'PROPOSAL_ID';
  for (const line of readmeCommands('trigger_ledger_chunk.json')) {
    const command = line.replaceAll('npx coco', coco).replaceAll('PROPOSAL_ID', proposalId);
    const result = spawnSync('sh', ['-c', command], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    assert.equal(result.status, 0, `${line}\n${result.stdout}${result.stderr}`);
    if (line.includes('gov propose')) {
      proposalId = (JSON.parse(result.stdout) as { proposalId: string }).proposalId;
      // A node slow to hear of the commit (a loaded machine) has another node named as the one that said so.
      assert.match(result.stderr, /^waiting for \d+\.\d+ to be committed\.{3,} committed(, as \S+ says \(\S+, the node asked, has not heard yet\))?\n$/, 'progress reads as one sentence');
    }
    if (line.includes('gov vote')) assert.equal((JSON.parse(result.stdout) as { proposalState: string }).proposalState, 'Accepted');
  }
  const fetched = readdirSync(join(root, 'audit'));
  assert.ok(fetched.length >= 1 && fetched.every((name) => /^ledger_\d+-\d+\.committed$/.test(name)), fetched.join(', '));
});

test('gov withdraw of a proposal the service does not know says so and exits 1 (the service answers 204 for it)', () => {
  const unknown = 'ab'.repeat(32);
  assertOneLine(runCoco(['gov', 'withdraw', unknown, '--workspace', sandbox.workspace]), 1, new RegExp(`^coco: the service has no proposal ${unknown}: nothing was withdrawn .* \\[ProposalNotFound\\]\\n$`));
});

test("gov vote --ballot takes CCF's JSON form or the JS source, and refuses a ballot that cannot run before submitting it", () => {
  const workspace = ['--workspace', sandbox.workspace];
  const file = (name: string, content: string) => {
    writeFileSync(join(scratch, name), content);
    return join(scratch, name);
  };
  const proposal = file('chunk.json', '{"actions": [{"name": "trigger_ledger_chunk", "args": {}}]}');
  const propose = () => (JSON.parse(runCoco(['gov', 'propose', proposal, ...workspace]).stdout) as { proposalId: string }).proposalId;
  const vote = (id: string, ballot: string) => runCoco(['gov', 'vote', id, '--ballot', ballot, ...workspace]);

  const id = propose();
  const cannotRun: [string, RegExp][] = [
    [file('no-vote.js', 'export function vot (proposal, proposerId) { return true }\n'), /Failed to find export 'vote'/],
    [file('syntax.js', 'export function vote (proposal, {\n'), /threw SyntaxError/],
    [file('no-ballot.json', '{"vote": true}'), /is JSON without a "ballot" string/],
  ];
  for (const [ballot, why] of cannotRun) {
    const refused = vote(id, ballot);
    assertOneLine(refused, 1, new RegExp(`^coco: --ballot ${ballot}.* \\[InvalidBallot\\]\\n$`));
    assert.match(refused.stderr, why);
  }
  // Nothing was submitted: the member still has its vote, here in CCF's JSON form.
  const ccfForm = vote(id, file('ccf-ballot.json', JSON.stringify({ ballot: 'export function vote (proposal, proposerId) { return true }' })));
  assert.equal(ccfForm.status, 0, ccfForm.stderr);
  assert.equal((JSON.parse(ccfForm.stdout) as { proposalState: string }).proposalState, 'Accepted');

  const source = vote(propose(), file('ballot.js', 'export function vote (proposal, proposerId) { return true }\n'));
  assert.equal(source.status, 0, source.stderr);
  assert.equal((JSON.parse(source.stdout) as { proposalState: string }).proposalState, 'Accepted');
});

test('a member accepted but not yet Active is told to run coco gov ack first', () => {
  const dir = join(scratch, 'member1');
  assert.equal(runCoco(['keygen', '--name', 'member1', '--gen-enc-key', '--dir', dir]).status, 0);
  const workspace = ['--workspace', sandbox.workspace];
  const setMember = join(scratch, 'set-member1.json');
  writeFileSync(setMember, JSON.stringify({ actions: [{ name: 'set_member', args: { cert: readFileSync(join(dir, 'member1_cert.pem'), 'utf8'), encryption_pub_key: readFileSync(join(dir, 'member1_enc_pubk.pem'), 'utf8') } }] }));
  const proposed = runCoco(['gov', 'propose', setMember, ...workspace]);
  assert.equal(proposed.status, 0, proposed.stderr);
  const voted = runCoco(['gov', 'vote', (JSON.parse(proposed.stdout) as { proposalId: string }).proposalId, '--accept', ...workspace]);
  assert.equal((JSON.parse(voted.stdout) as { proposalState: string }).proposalState, 'Accepted', voted.stderr);

  const proposal = join(scratch, 'chunk.json');
  writeFileSync(proposal, '{"actions": [{"name": "trigger_ledger_chunk", "args": {}}]}');
  const refused = runCoco(['gov', 'propose', proposal, ...workspace, '--cert', join(dir, 'member1_cert.pem'), '--key', join(dir, 'member1_privk.pem')]);
  assertOneLine(refused, 1, /Signer is not an ACTIVE member.*: run `coco gov ack` first, as the same member \(--cert, --key\), then again \[\w+\]\n$/);
});

test("app deploy of a bundle over the node's body limit says where that limit is set", () => {
  const endpoint = { js_module: 'big.js', js_function: 'big', mode: 'readonly', authn_policies: ['user_cert'], forwarding_required: 'sometimes' };
  writeFileSync(join(scratch, 'big-app.json'), JSON.stringify({ metadata: { endpoints: { '/big': { get: endpoint } } }, modules: [{ name: 'big.js', module: `export function big() { return { body: ${JSON.stringify('x'.repeat(1_500_000))}.length }; }\n` }] }));
  const result = runCoco(['app', 'deploy', join(scratch, 'big-app.json'), '--workspace', sandbox.workspace]);
  assertOneLine(result, 1, /RequestBodyTooLarge.*; the proposal deploying .*big-app\.json is too large for the node: raise http_configuration\.max_body_size of the RPC interface in every node's configuration \(a sandbox's sandbox_<i>\/config\.json\) and restart the nodes, or bundle the app smaller \[AppBundleTooLarge\]\n$/);
});
