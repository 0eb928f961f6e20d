// Disaster recovery as a consortium does it after losing its nodes, with real processes: a sandbox
// writes private records and stops for good; a new node starts from a copy of its ledger
// (command.type "Recover") under a new service identity; members open it with
// transition_service_to_open (previous and new certificates) and their recovery shares (coco gov
// share), and the private records are back. Wrong inputs on the way are refused and change nothing.

import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CocoClient } from '../../src/client/coco-client.js';
import { GovernanceClient, type Proposal } from '../../src/client/governance-client.js';
import { signGovernanceRequest } from '../../src/client/cose-signing.js';
import { verifyReceiptOffline } from '../../src/client/transactions.js';
import { encodeShare } from '../../src/crypto/secret-sharing.js';
import { toBase64, utf8 } from '../../src/crypto/bytes.js';
import { derToPem, pemToDer } from '../../src/crypto/pem.js';
import { spawnNode, type NodeProcess } from '../../src/cli/node-process.js';
import { startSandbox, type SandboxProcess } from '../support/sandbox-process.js';
import { recoverService, trustJoiningNodes, type RecoveringMember } from '../../src/client/recover-service.js';
import { call, type HttpResult } from '../support/node-process.js';
import { runCoco, runCocoAsync } from '../support/run-cli.js';
import { testPort } from '../support/test-ports.js';
import { until } from '../support/until.js';
import { publicKeyDer } from '../../src/crypto/signing.js';
import { decodeChunk, encodeChunk, formatChunkName } from '../../src/ledger/chunk-file.js';
import { decodeJson, Tables, type ServiceInfo } from '../../src/governance/builtin-tables.js';
import { verifyEndorsementChain } from '../../src/ledger/endorsement-chain.js';
import { decodeEndorsementRecord, PREVIOUS_SERVICE_IDENTITY_ENDORSEMENT_MAP, type IdentityEndorsement } from '../../src/ledger/identity-endorsement.js';
import { singletonWrite } from '../../src/ledger/signature.js';
import { parseTxId } from '../../src/ledger/tx-id.js';
import { listChunkFiles } from '../../src/node/ledger-directory.js';
import { readSealedSecrets } from '../../src/node/sealed-secrets.js';

const TIMEOUT_MS = 240_000;

interface Recovery {
  dir: string;
  config: string;
  certPem(): string;
}

/**
 * A Recover configuration beside the sandbox: the stopped node's settings, a copy of its ledger (or
 * of `ledger`, another stopped node's), the previous certificate.
 */
function recoveryDirectory(sandbox: SandboxProcess, name: string, previousCertFile: string, ledger = join(sandbox.workspace, 'sandbox_0', 'ledger')): Recovery {
  const dir = join(sandbox.workspace, '..', name);
  mkdirSync(dir);
  cpSync(ledger, join(dir, 'ledger'), { recursive: true });
  const config = JSON.parse(readFileSync(join(sandbox.workspace, 'sandbox_0', 'config.json'), 'utf8')) as Record<string, unknown>;
  config.network = { rpc_interfaces: { primary_rpc_interface: { bind_address: '127.0.0.1:0' } }, node_to_node_interface: { bind_address: '127.0.0.1:0' } };
  config.command = {
    type: 'Recover',
    service_certificate_file: join(dir, 'service_cert.pem'),
    recover: { previous_service_identity_file: previousCertFile, initial_service_certificate_validity_days: 30 },
  };
  const path = join(dir, 'config.json');
  writeFileSync(path, JSON.stringify(config, null, 2));
  return { dir, config: path, certPem: () => readFileSync(join(dir, 'service_cert.pem'), 'utf8') };
}

/** Record `id` of the logging app as `node` serves it, asked again until it does (a joiner catches up first). */
function servedRecord(node: NodeProcess, certPem: string, id: number, user: { cert: string; key: string }): Promise<{ msg: string }> {
  return until(`record ${id} to be served`, 60_000, async () => {
    const answer = await call(node.url, certPem, 'GET', `/app/log/private?id=${id}`, user).catch(() => undefined);
    return answer?.status === 200 ? answer.json() : undefined;
  });
}

/** The receipt of `txId`, asked again until it is committed and while the node reads it back from its ledger (202). */
function receiptFrom(node: NodeProcess, certPem: string, txId: string, user: { cert: string; key: string }): Promise<HttpResult> {
  return until(`the receipt of ${txId}`, 30_000, async () => {
    const answer = await call(node.url, certPem, 'GET', `/app/receipt?transaction_id=${txId}`, user);
    const pending = answer.status === 202 || (answer.status === 404 && answer.json().error.code === 'TransactionPendingOrUnknown');
    return pending ? undefined : answer;
  });
}

/** `coco receipt verify` of `receipt` (written to a file in `dir`) against the service certificate file. */
function verifyWithCli(dir: string, receipt: unknown, serviceCertFile: string): { status: number | null; stderr: string } {
  const file = join(dir, 'receipt.json');
  writeFileSync(file, JSON.stringify(receipt));
  return runCoco(['receipt', 'verify', file, '--service-cert', serviceCertFile]);
}

/** The certificate with the last byte of its signature changed: it still parses, and no key signed it. */
function alterSignature(certPem: string): string {
  const der = pemToDer(certPem, 'CERTIFICATE');
  der[der.length - 1]! ^= 1;
  return derToPem(der, 'CERTIFICATE');
}

/** A new node joining the recovered service at `node` (its interface serves no snapshot: it takes the whole ledger). */
async function joinRecoveredService(sandbox: SandboxProcess, node: NodeProcess, serviceCertFile: string, onOutput?: (chunk: Buffer) => void, ports = { rpc: 0, nodeToNode: 0 }): Promise<NodeProcess> {
  const dir = join(sandbox.workspace, '..', 'joiner');
  mkdirSync(dir);
  const config = {
    network: { rpc_interfaces: { primary_rpc_interface: { bind_address: `127.0.0.1:${ports.rpc}` } }, node_to_node_interface: { bind_address: `127.0.0.1:${ports.nodeToNode}` } },
    command: { type: 'Join', service_certificate_file: serviceCertFile, join: { target_rpc_address: new URL(node.url).host } },
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return spawnNode(join(dir, 'config.json'), dir, onOutput);
}

function governance(node: NodeProcess, serviceCertPem: string, sandbox: SandboxProcess): { client: CocoClient; gov: GovernanceClient } {
  const client = new CocoClient({ url: node.url, caCertPem: serviceCertPem });
  return { client, gov: new GovernanceClient(client, { member: { certPem: sandbox.pem('member0_cert.pem'), keyPem: sandbox.pem('member0_privk.pem') } }) };
}

test('a service whose nodes are all lost is recovered from a copy of its ledger: new identity, shares, private state back', { timeout: TIMEOUT_MS }, async (t) => {
  const sandbox = await startSandbox(['--nodes', '1']);
  t.after(() => sandbox.stop());
  const user = { cert: sandbox.pem('user0_cert.pem'), key: sandbox.pem('user0_privk.pem') };
  const previousCertPem = sandbox.pem('service_cert.pem');
  let preRecoveryTxId = '';
  for (let id = 1; id <= 5; id++) {
    const written = await call(sandbox.url, previousCertPem, 'POST', '/app/log/private', { ...user, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, msg: `secret ${id}` }) });
    assert.equal(written.status, 200, written.body);
    preRecoveryTxId = String(written.headers['x-ms-ccf-transaction-id']);
  }
  await sandbox.stop({ keep: true });
  const previousCertFile = join(sandbox.workspace, '..', 'previous_service_cert.pem');
  writeFileSync(previousCertFile, previousCertPem);

  // A recovery needs the previous service's certificate: another one fails the ledger's verification, and nothing starts.
  const wrongCertFile = join(sandbox.workspace, '..', 'wrong_cert.pem');
  writeFileSync(wrongCertFile, sandbox.pem('user0_cert.pem'));
  const wrong = recoveryDirectory(sandbox, 'wrong-identity', wrongCertFile);
  await assert.rejects(spawnNode(wrong.config, wrong.dir), /not the trusted service certificate's key/);

  const recovery = recoveryDirectory(sandbox, 'recovery', previousCertFile);
  let node = await spawnNode(recovery.config, recovery.dir);
  t.after(() => node.stop());
  const certPem = recovery.certPem();
  assert.notEqual(certPem, previousCertPem, 'a recovered service has a new identity');
  const network = (await call(node.url, certPem, 'GET', '/node/network')).json();
  assert.equal(network.service_status, 'Recovering');
  assert.equal(network.recovery_count, 1);
  const nodes = (await call(node.url, certPem, 'GET', '/node/network/nodes')).json().nodes as { status: string; primary: boolean }[];
  assert.deepEqual(nodes.map((n) => n.status).sort(), ['Retired', 'Trusted'], 'the previous node is retired, the recovering one trusted');
  assert.equal((await call(node.url, certPem, 'GET', '/node/service/previous_identity')).json().previous_service_identity, previousCertPem);
  // The app stays closed until the service opens; a node cannot join it yet either.
  assert.notEqual((await call(node.url, certPem, 'GET', '/app/log/private?id=1', user)).status, 200);
  assert.equal((await call(node.url, certPem, 'GET', '/node/state')).json().state, 'PartOfPublicNetwork', "CCF's state of a node recovering the public ledger");

  const { client, gov } = governance(node, certPem, sandbox);
  t.after(() => client.close());
  // Shares before members pass transition_service_to_open: refused, as CCF refuses them.
  await assert.rejects(gov.submitRecoveryShare(sandbox.pem('member0_enc_privk.pem')), /ServiceNotWaitingForRecoveryShares/);
  // A proposal naming another previous identity fails, and the service stays Recovering.
  const open = (previous: string) => ({ actions: [{ name: 'transition_service_to_open', args: { previous_service_identity: previous, next_service_identity: certPem } }] });
  const vote = async (proposal: Proposal): Promise<Proposal> =>
    proposal.proposalState === 'Open' ? gov.submitBallot(proposal.proposalId, 'export function vote (proposal, proposerId) { return true }') : proposal;
  const proposed = await gov.createProposal(open(certPem));
  // Its apply fails on the ballot that would pass it: answered 500 "Failed to apply()", as CCF, and nothing of it is kept.
  await assert.rejects(vote(proposed), /Failed to apply\(\): Error: Previous service identity does not match/);
  assert.equal((await gov.getProposal(proposed.proposalId)).proposalState, 'Open');
  await gov.withdrawProposal(proposed.proposalId);
  assert.equal((await gov.getServiceInfo()).status, 'Recovering');
  assert.equal((await vote(await gov.createProposal(open(previousCertPem)))).proposalState, 'Accepted');
  await until('WaitingForRecoveryShares', 10_000, async () => ((await gov.getServiceInfo()).status === 'WaitingForRecoveryShares' ? true : undefined));
  // Proposed again meanwhile, it passes and changes nothing, as in CCF.
  assert.equal((await vote(await gov.createProposal(open(previousCertPem)))).proposalState, 'Accepted');
  assert.equal((await gov.getServiceInfo()).status, 'WaitingForRecoveryShares');

  // A share that is not the member's (right size, wrong value) cannot restore the secrets: 500, every share dropped, still waiting.
  const forged = encodeShare({ x: 1, y: Array.from({ length: 10 }, () => 7) });
  const forgedAnswer = await call(node.url, certPem, 'POST', `/gov/recovery/members/${gov.memberId}:recover?api-version=2024-07-01`, {
    headers: { 'content-type': 'application/cose' },
    body: Buffer.from(signGovernanceRequest({
      msgType: 'recovery_share',
      content: utf8(JSON.stringify({ share: toBase64(forged) })),
      createdAt: Math.floor(Date.now() / 1000),
      signerCertPem: sandbox.pem('member0_cert.pem'),
      signerKeyPem: sandbox.pem('member0_privk.pem'),
    })),
  });
  assert.equal(forgedAnswer.status, 500, forgedAnswer.body);
  assert.match(forgedAnswer.json().error.message, /Failed to initiate private recovery: Unwrapping latest ledger secret failed/);
  assert.equal((await gov.getServiceInfo()).status, 'WaitingForRecoveryShares');

  // The member's own share, with the CLI a member uses: the threshold (1) is reached and the service opens.
  const shared = await runCocoAsync(['gov', 'share', '--workspace', sandbox.workspace, '--url', node.url, '--cacert', join(recovery.dir, 'service_cert.pem')]);
  assert.equal(shared.status, 0, shared.stderr);
  assert.match(JSON.parse(shared.stdout).message, /^1\/1 recovery shares successfully submitted\nEnd of recovery procedure initiated$/);
  await until('the recovered service to open', 30_000, async () => ((await gov.getServiceInfo()).status === 'Open' ? true : undefined));
  for (let id = 1; id <= 5; id++) {
    const read = await call(node.url, certPem, 'GET', `/app/log/private?id=${id}`, user);
    assert.equal(read.status, 200, read.body);
    assert.equal(read.json().msg, `secret ${id}`);
  }
  const after = await call(node.url, certPem, 'POST', '/app/log/private', { ...user, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 6, msg: 'after the recovery' }) });
  assert.equal(after.status, 200, after.body);
  const info = await gov.getServiceInfo();
  assert.equal(info.recoveryCount, 1);
  assert.equal((await call(node.url, certPem, 'GET', '/node/state')).json().state, 'PartOfNetwork');
  assert.match(info.previousServiceCreationTransactionId ?? '', /^\d+\.\d+$/, 'the TxID of the service information the opening replaced');
  // New shares of the recovered service's own secret were issued to the recovery member.
  assert.ok((await gov.getEncryptedRecoveryShare()).length > 0);

  // A receipt of a write from before the recovery verifies against the new certificate, through the
  // endorsement of the previous identity it carries; without it, or with it altered, it does not.
  const newCertFile = join(recovery.dir, 'service_cert.pem');
  const answer = await receiptFrom(node, certPem, preRecoveryTxId, user);
  assert.equal(answer.status, 200, answer.body);
  const receipt = answer.json();
  assert.equal(receipt.service_endorsements.length, 1);
  const verifiedReceipt = verifyWithCli(recovery.dir, receipt, newCertFile);
  assert.equal(verifiedReceipt.status, 0, verifiedReceipt.stderr);
  // With the SDK too, which also still verifies it against the previous certificate.
  verifyReceiptOffline(receipt, previousCertPem);
  const { service_endorsements: endorsements, ...unendorsed } = receipt;
  assert.throws(() => verifyReceiptOffline(unendorsed, certPem), /not endorsed by the service certificate/);
  assert.throws(() => verifyReceiptOffline({ ...receipt, service_endorsements: [alterSignature(endorsements[0])] }, certPem), /bad signature/);
  // The recovered service's own transactions need no endorsement.
  const own = (await receiptFrom(node, certPem, String(after.headers['x-ms-ccf-transaction-id']), user)).json();
  assert.equal(own.service_endorsements, undefined);

  // A node joins the recovered service with the whole ledger (the recovered node serves no snapshot
  // here): it applies the previous service's entries with the restored secrets, then the recovered
  // service's with its own, and serves the records.
  // It waits Pending, as any joiner of an open service, until the members trust it.
  const [joiner] = await Promise.all([
    joinRecoveredService(sandbox, node, join(recovery.dir, 'service_cert.pem')),
    trustJoiningNodes({ url: node.url, serviceCertPem: certPem, members: [{ certPem: sandbox.pem('member0_cert.pem'), keyPem: sandbox.pem('member0_privk.pem') }], expected: 2, timeoutMs: 60_000 }),
  ]);
  t.after(() => joiner.stop());
  assert.equal((await servedRecord(joiner, certPem, 6, user)).msg, 'after the recovery');
  assert.equal((await call(joiner.url, certPem, 'GET', '/app/log/private?id=2', user)).json().msg, 'secret 2');
  await joiner.stop();

  // The recovered node restarts from its own ledger, which now spans both identities.
  await node.stop();
  node = await spawnNode(recovery.config, recovery.dir);
  const reread = await until('the restarted node to serve', 30_000, async () => {
    const read = await call(node.url, certPem, 'GET', '/app/log/private?id=3', user);
    return read.status === 200 ? read.json() : undefined;
  });
  assert.equal(reread.msg, 'secret 3');
  assert.equal((await call(node.url, certPem, 'GET', '/app/log/private?id=6', user)).json().msg, 'after the recovery');
  // It started from the snapshot taken at the opening: the pre-recovery receipt is read back from its ledger files, endorsed the same way.
  const readBack = await receiptFrom(node, certPem, preRecoveryTxId, user);
  assert.equal(readBack.status, 200, readBack.body);
  const readBackVerified = verifyWithCli(recovery.dir, readBack.json(), newCertFile);
  assert.equal(readBackVerified.status, 0, readBackVerified.stderr);
  await node.stop();
  // The whole ledger verifies against the recovered service's certificate, and not against the previous one.
  const verified = runCoco(['ledger', 'verify', join(recovery.dir, 'ledger'), '--service-cert', join(recovery.dir, 'service_cert.pem')]);
  assert.equal(verified.status, 0, verified.stderr);
  const previous = runCoco(['ledger', 'verify', join(recovery.dir, 'ledger'), '--service-cert', previousCertFile]);
  assert.notEqual(previous.status, 0);
  assert.match(previous.stderr, /not the trusted service certificate's key/);
  // Each opening endorsed an identity (previous_service_identity_endorsement): the sandbox's its own
  // key, the recovery's the previous key up to its last signature, naming the first; the two verify
  // as a chain against the recovered service's certificate.
  const [self, recovered] = endorsementWrites(join(recovery.dir, 'ledger'));
  assert.equal(self?.record.previousVersion, undefined);
  assert.equal(recovered?.record.previousVersion, self!.seqno);
  const identities = verifyEndorsementChain(certPem, [recovered!.record, self!.record], { serviceCreateTxId: parseTxId(info.creationTransactionId) });
  assert.deepEqual(identities.map((identity) => identity.keyDer), [publicKeyDer(previousCertPem)]);
});

/** The endorsements of service identities the ledger in `directory` holds, oldest first, with the seqnos that wrote them. */
function endorsementWrites(directory: string): { seqno: number; record: IdentityEndorsement }[] {
  return listChunkFiles(directory)
    .flatMap((file) => decodeChunk(new Uint8Array(readFileSync(file.path)), file.name).entries)
    .flatMap((entry) => {
      const value = singletonWrite(entry.publicMaps, PREVIOUS_SERVICE_IDENTITY_ENDORSEMENT_MAP);
      return value === undefined ? [] : [{ seqno: entry.txId.seqno, record: decodeEndorsementRecord(value) }];
    });
}

test('a recovery needs the previous ledger: an empty ledger directory is refused before anything is written', { timeout: TIMEOUT_MS }, async (t) => {
  const sandbox = await startSandbox(['--nodes', '1']);
  t.after(() => sandbox.stop());
  await sandbox.stop({ keep: true });
  const previousCertFile = sandbox.file('service_cert.pem');
  const recovery = recoveryDirectory(sandbox, 'recovery', previousCertFile);
  const empty = join(recovery.dir, 'empty-ledger');
  mkdirSync(empty);
  const config = JSON.parse(readFileSync(recovery.config, 'utf8')) as { ledger: { directory: string } };
  config.ledger.directory = empty;
  writeFileSync(recovery.config, JSON.stringify(config));
  await assert.rejects(spawnNode(recovery.config, recovery.dir), /holds none: copy the previous service's ledger files there \[LedgerMissing\]/);
});

/** A one-node sandbox that wrote the private record 1, "secret 1", then was lost: stopped, its workspace kept. */
async function lostService(t: TestContext, sandboxArgs: string[] = []): Promise<{ sandbox: SandboxProcess; user: { cert: string; key: string }; previousCertPem: string; member: RecoveringMember }> {
  const sandbox = await startSandbox(['--nodes', '1', ...sandboxArgs]);
  t.after(() => sandbox.stop());
  const user = { cert: sandbox.pem('user0_cert.pem'), key: sandbox.pem('user0_privk.pem') };
  const previousCertPem = sandbox.pem('service_cert.pem');
  const written = await call(sandbox.url, previousCertPem, 'POST', '/app/log/private', { ...user, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 1, msg: 'secret 1' }) });
  assert.equal(written.status, 200, written.body);
  await sandbox.stop({ keep: true });
  const member = { certPem: sandbox.pem('member0_cert.pem'), keyPem: sandbox.pem('member0_privk.pem'), encryptionKeyPem: sandbox.pem('member0_enc_privk.pem') };
  return { sandbox, user, previousCertPem, member };
}

/**
 * Leaves the recovered node's directory as a crash just before its opening was written leaves it:
 * the ledger cut back to the entry before the opening (status Open), the recovered service's
 * snapshots and commit marker gone. Its sealed secrets stay: sealed before the opening.
 */
function cutBeforeOpening(dir: string): number {
  const files = listChunkFiles(join(dir, 'ledger'));
  // The recovered service's opening is the ledger's last (the first is the previous service's).
  for (const file of [...files].reverse()) {
    const bytes = new Uint8Array(readFileSync(file.path));
    const { entries, offsets } = decodeChunk(bytes, file.name);
    const opens = entries.map((entry) => {
      const info = singletonWrite(entry.publicMaps, Tables.serviceInfo);
      return info !== undefined && decodeJson<ServiceInfo>(info, Tables.serviceInfo).status === 'Open';
    });
    const opening = opens.lastIndexOf(true);
    if (opening < 0) continue;
    const kept = offsets.slice(0, opening).map((offset, i) => bytes.subarray(offset, offsets[i + 1]));
    for (const later of files.filter((other) => other.chunk.first >= file.chunk.first)) rmSync(later.path);
    writeFileSync(join(dir, 'ledger', formatChunkName(file.chunk.first, undefined, false)), encodeChunk(kept, false));
    rmSync(join(dir, 'snapshots'), { recursive: true, force: true });
    rmSync(join(dir, 'consensus_state.commit.json'), { force: true });
    return entries[opening]!.txId.seqno;
  }
  throw new Error(`no opening in ${dir}/ledger`);
}

test('a recovering node that stopped once the shares restored the secrets, before its opening was written, resumes and opens under the same identity', { timeout: TIMEOUT_MS }, async (t) => {
  const { sandbox, user, previousCertPem, member } = await lostService(t);
  const recovery = recoveryDirectory(sandbox, 'recovery', sandbox.file('service_cert.pem'));
  let node = await spawnNode(recovery.config, recovery.dir);
  t.after(() => node.stop());
  const certPem = recovery.certPem();
  await recoverService({ url: node.url, serviceCertPem: certPem, previousServiceCertPem: previousCertPem, members: [member] });
  await node.stop();
  const openedAt = cutBeforeOpening(recovery.dir);
  assert.equal(readSealedSecrets(join(recovery.dir, 'sealed_secrets.json'))!.ledgerSecrets[0]!.fromSeqno, 1, "the previous service's secrets were sealed");

  node = await spawnNode(recovery.config, recovery.dir);
  assert.equal(recovery.certPem(), certPem, 'the same identity: the recovery is not started again');
  const read = await until('the resumed node to open and serve the private record', 30_000, async () => {
    const answer = await call(node.url, certPem, 'GET', '/app/log/private?id=1', user);
    return answer.status === 200 ? answer.json() : undefined;
  });
  assert.equal(read.msg, 'secret 1');
  assert.match(node.output(), /resuming a recovery whose shares restored the previous service's ledger secrets before this node stopped: opening the service/);
  const { client, gov } = governance(node, certPem, sandbox);
  t.after(() => client.close());
  const info = await gov.getServiceInfo();
  assert.equal(info.status, 'Open');
  assert.equal(info.recoveryCount, 1);
  assert.ok((await gov.getEncryptedRecoveryShare()).length > 0, 'the opening issued shares of the recovered service\'s secret');
  await node.stop();
  // The opening is written again from where the cut one was: one endorsement of the previous identity.
  assert.equal(endorsementWrites(join(recovery.dir, 'ledger')).filter(({ seqno }) => seqno >= openedAt).length, 1);
});

/**
 * A copy of the node's ledger as a node that joined from its latest snapshot holds it: that
 * snapshot (and an older one) in `snapshots`, only the chunks after it in `ledger`. Returns the
 * snapshot's seqno.
 */
function joinedFromLatestSnapshot(sandbox: SandboxProcess, dir: string): number {
  const snapshots = readdirSync(join(sandbox.workspace, 'sandbox_0', 'snapshots')).filter((name) => name.endsWith('.committed'));
  const seqnoOf = (name: string) => Number(name.split('_')[1]);
  snapshots.sort((a, b) => seqnoOf(b) - seqnoOf(a));
  assert.ok(snapshots.length >= 2, `the sandbox snapshotted twice: ${snapshots.join(', ')}`);
  mkdirSync(join(dir, 'snapshots'));
  for (const name of snapshots.slice(0, 2)) cpSync(join(sandbox.workspace, 'sandbox_0', 'snapshots', name), join(dir, 'snapshots', name));
  const seqno = seqnoOf(snapshots[0]!);
  for (const file of listChunkFiles(join(dir, 'ledger'))) if ((file.chunk.last ?? Infinity) <= seqno) rmSync(file.path);
  return seqno;
}

test('a service is recovered from a snapshot and the ledger after it (the copy of a node that joined from it): private state back across a rekey, restarts before its own snapshot, joiners', { timeout: TIMEOUT_MS }, async (t) => {
  const sandbox = await startSandbox(['--nodes', '1', '--snapshot-tx-interval', '10']);
  t.after(() => sandbox.stop());
  const user = { cert: sandbox.pem('user0_cert.pem'), key: sandbox.pem('user0_privk.pem') };
  const previousCertPem = sandbox.pem('service_cert.pem');
  const write = async (id: number) => {
    const written = await call(sandbox.url, previousCertPem, 'POST', '/app/log/private', { ...user, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, msg: `secret ${id}` }) });
    assert.equal(written.status, 200, written.body);
  };
  // Two rekeys before the snapshot: the chain of secrets its state records starts after seqno 1.
  const sandboxClient = new CocoClient({ url: sandbox.url, caCertPem: previousCertPem });
  const sandboxGov = new GovernanceClient(sandboxClient, { member: { certPem: sandbox.pem('member0_cert.pem'), keyPem: sandbox.pem('member0_privk.pem') } });
  t.after(() => sandboxClient.close());
  for (let id = 1; id <= 40; id++) {
    await write(id);
    if (id !== 8 && id !== 16) continue;
    const rekey = await sandboxGov.createProposal({ actions: [{ name: 'trigger_ledger_rekey', args: {} }] });
    if (rekey.proposalState === 'Open') assert.equal((await sandboxGov.submitBallot(rekey.proposalId, 'export function vote (proposal, proposerId) { return true }')).proposalState, 'Accepted');
  }
  sandboxClient.close();
  await sandbox.stop({ keep: true });

  // The whole ledger, damaged in its first chunk, beside the snapshots: the refusal says how to
  // recover from the latest snapshot instead (QA: it gave only general advice).
  const damaged = recoveryDirectory(sandbox, 'damaged', sandbox.file('service_cert.pem'));
  cpSync(join(sandbox.workspace, 'sandbox_0', 'snapshots'), join(damaged.dir, 'snapshots'), { recursive: true });
  const firstChunk = listChunkFiles(join(damaged.dir, 'ledger'))[0]!;
  const bytes = readFileSync(firstChunk.path);
  bytes[bytes.length - 40]! ^= 0x01;
  writeFileSync(firstChunk.path, bytes);
  const latest = Math.max(...readdirSync(join(damaged.dir, 'snapshots')).filter((name) => name.endsWith('.committed')).map((name) => Number(name.split('_')[1])));
  await assert.rejects(spawnNode(damaged.config, damaged.dir), new RegExp(`is of a later seqno, ${latest}: to recover from it and the ledger after it, move the ledger chunks that end at or before seqno ${latest} out of .* \\[LedgerRefused\\]`));

  const recovery = recoveryDirectory(sandbox, 'recovery', sandbox.file('service_cert.pem'));
  const snapshotSeqno = joinedFromLatestSnapshot(sandbox, recovery.dir);
  const config = JSON.parse(readFileSync(recovery.config, 'utf8')) as { network: { rpc_interfaces: { primary_rpc_interface: Record<string, unknown> } } };
  config.network.rpc_interfaces.primary_rpc_interface.enabled_operator_features = ['SnapshotRead'];
  writeFileSync(recovery.config, JSON.stringify(config, null, 2));
  let node = await spawnNode(recovery.config, recovery.dir);
  t.after(() => node.stop());
  assert.match(node.output(), new RegExp(`starts at seqno ${snapshotSeqno + 1}: recovering from the previous service's snapshot snapshot_${snapshotSeqno}_\\d+\\.committed`));
  assert.equal(readSealedSecrets(join(recovery.dir, 'sealed_secrets.json'))!.recoveringAfter, Number(/public state to seqno (\d+)/.exec(node.output())![1]));
  // Stopped before the members' shares, it recovers anew from the same snapshot, under a new identity.
  const interrupted = recovery.certPem();
  await node.stop();
  node = await spawnNode(recovery.config, recovery.dir);
  assert.match(node.output(), /began a recovery that stopped before the service opened/);
  assert.match(node.output(), new RegExp(`recovering from the previous service's snapshot snapshot_${snapshotSeqno}_`));
  const certPem = recovery.certPem();
  assert.notEqual(certPem, interrupted);
  const member = { certPem: sandbox.pem('member0_cert.pem'), keyPem: sandbox.pem('member0_privk.pem'), encryptionKeyPem: sandbox.pem('member0_enc_privk.pem') };
  // A joiner started while the service recovers finds no snapshot of it (503), waits for the opening
  // (503 ServiceRecovering), is then refused for starting before the recovered node's log
  // (StartupSeqnoIsOld), fetches the recovered service's own snapshot, and joins from it.
  let joinerOutput = '';
  const joining = joinRecoveredService(sandbox, node, join(recovery.dir, 'service_cert.pem'), (chunk) => void (joinerOutput += chunk.toString()));
  joining.catch(() => undefined);
  await until('the joiner to wait for the recovery', 60_000, async () => (joinerOutput.includes('ServiceRecovering') ? true : undefined));
  await recoverService({ url: node.url, serviceCertPem: certPem, previousServiceCertPem: previousCertPem, members: [member] });
  const readAll = async (at: NodeProcess) => {
    for (let id = 1; id <= 40; id++) {
      const read = await call(at.url, certPem, 'GET', `/app/log/private?id=${id}`, user);
      assert.equal(read.status, 200, `record ${id}: ${read.body}`);
      assert.equal(read.json().msg, `secret ${id}`);
    }
  };
  await readAll(node);
  // Its secrets start at the one the last rekey before the snapshot replaced, not at seqno 1: what
  // a restart seals says the previous service's secrets are restored all the same.
  const sealed = readSealedSecrets(join(recovery.dir, 'sealed_secrets.json'))!;
  assert.equal(sealed.recoveringAfter, undefined);
  assert.ok(sealed.ledgerSecrets[0]!.fromSeqno > 1 && sealed.ledgerSecrets[0]!.fromSeqno < snapshotSeqno, JSON.stringify(sealed.ledgerSecrets.map((secret) => secret.fromSeqno)));
  assert.equal(sealed.previousServiceCertPem, previousCertPem);

  // The joiner starts from the recovered service's own snapshot, never the previous service's.
  const joinerDir = join(sandbox.workspace, '..', 'joiner');
  const [joiner] = await Promise.all([joining, trustJoiningNodes({ url: node.url, serviceCertPem: certPem, members: [{ certPem: member.certPem, keyPem: member.keyPem }], expected: 2, timeoutMs: 60_000 })]);
  t.after(() => joiner.stop());
  assert.match(joinerOutput, /asking to join again from snapshot snapshot_\d+_\d+\.committed/);
  const fetched = readdirSync(join(joinerDir, 'snapshots')).filter((name) => name.endsWith('.committed'));
  assert.equal(fetched.length, 1, fetched.join(', '));
  assert.ok(Number(fetched[0]!.split('_')[1]) > snapshotSeqno, `the joiner's snapshot ${fetched[0]} is the recovered service's`);
  await until('the joiner to serve the records', 60_000, async () => ((await call(joiner.url, certPem, 'GET', '/app/log/private?id=40', user).catch(() => undefined))?.status === 200 ? true : undefined));
  await readAll(joiner);
  await joiner.stop();
  // The previous service's snapshot is not served by name either.
  const previousByName = await call(node.url, certPem, 'GET', `/node/snapshot/${readdirSync(join(recovery.dir, 'snapshots')).find((name) => name.startsWith(`snapshot_${snapshotSeqno}_`))}`);
  assert.equal(previousByName.status, 404, previousByName.body);
  assert.match(previousByName.json().error.message, /is a snapshot of the service this one recovered, not of this service/);

  // Restarted before its own snapshot (set aside here), the node resumes from the previous
  // service's, verified against the previous identity it sealed.
  await node.stop();
  for (const name of readdirSync(join(recovery.dir, 'snapshots'))) {
    if (name.endsWith('.committed') && Number(name.split('_')[1]) > snapshotSeqno) rmSync(join(recovery.dir, 'snapshots', name));
  }
  node = await spawnNode(recovery.config, recovery.dir);
  assert.match(node.output(), new RegExp(`snapshot snapshot_${snapshotSeqno}_\\d+\\.committed is that of the previous service, which this node recovered: resuming from it`));
  await until('the restarted node to serve', 30_000, async () => ((await call(node.url, certPem, 'GET', '/app/log/private?id=1', user)).status === 200 ? true : undefined));
  await readAll(node);
  assert.equal(recovery.certPem(), certPem);
  await node.stop();
  // An auditor verifies that ledger from the same snapshot, proven against the previous certificate.
  const previousSnapshot = readdirSync(join(recovery.dir, 'snapshots')).find((name) => name.startsWith(`snapshot_${snapshotSeqno}_`) && name.endsWith('.committed'))!;
  const audit = (extra: string[]) =>
    runCoco(['ledger', 'verify', join(recovery.dir, 'ledger'), '--service-cert', join(recovery.dir, 'service_cert.pem'), '--snapshot', join(recovery.dir, 'snapshots', previousSnapshot), ...extra]);
  const audited = audit(['--previous-service-cert', sandbox.file('service_cert.pem')]);
  assert.equal(audited.status, 0, audited.stderr);
  const unproven = audit([]);
  assert.equal(unproven.status, 1);
  assert.match(unproven.stderr, /signed by a node that the service certificate does not endorse/);
});

test('a service recovered twice gives receipts of its first era that verify against its latest certificate, endorsed by it directly', { timeout: TIMEOUT_MS }, async (t) => {
  const sandbox = await startSandbox(['--nodes', '1']);
  t.after(() => sandbox.stop());
  const user = { cert: sandbox.pem('user0_cert.pem'), key: sandbox.pem('user0_privk.pem') };
  const member = { certPem: sandbox.pem('member0_cert.pem'), keyPem: sandbox.pem('member0_privk.pem'), encryptionKeyPem: sandbox.pem('member0_enc_privk.pem') };
  const write = async (url: string, certPem: string, id: number): Promise<string> => {
    const written = await call(url, certPem, 'POST', '/app/log/private', { ...user, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, msg: `era ${id}` }) });
    assert.equal(written.status, 200, written.body);
    return String(written.headers['x-ms-ccf-transaction-id']);
  };
  const firstEra = await write(sandbox.url, sandbox.pem('service_cert.pem'), 1);
  await sandbox.stop({ keep: true });

  const once = recoveryDirectory(sandbox, 'once', sandbox.file('service_cert.pem'));
  let node = await spawnNode(once.config, once.dir);
  t.after(() => node.stop());
  await recoverService({ url: node.url, serviceCertPem: once.certPem(), previousServiceCertPem: sandbox.pem('service_cert.pem'), members: [member] });
  const secondEra = await write(node.url, once.certPem(), 2);
  await until('the second era to commit', 10_000, async () => ((await receiptFrom(node, once.certPem(), secondEra, user)).status === 200 ? true : undefined));
  await node.stop();

  const twice = recoveryDirectory(sandbox, 'twice', join(once.dir, 'service_cert.pem'), join(once.dir, 'ledger'));
  node = await spawnNode(twice.config, twice.dir);
  const certPem = twice.certPem();
  await recoverService({ url: node.url, serviceCertPem: certPem, previousServiceCertPem: once.certPem(), members: [member] });
  for (const [txId, eras] of [[firstEra, 'first'], [secondEra, 'second']] as const) {
    const answer = await receiptFrom(node, certPem, txId, user);
    assert.equal(answer.status, 200, `${eras} era: ${answer.body}`);
    const receipt = answer.json();
    assert.equal(receipt.service_endorsements.length, 1, `${eras} era: one endorsement, by the current key`);
    const verified = verifyWithCli(twice.dir, receipt, join(twice.dir, 'service_cert.pem'));
    assert.equal(verified.status, 0, `${eras} era: ${verified.stderr}`);
  }
  await node.stop();
});

test('a node that asks to join while the service is Recovering waits Pending, and is trusted on its first request once it opens, without a vote; one stopped meanwhile blocks nothing', { timeout: TIMEOUT_MS }, async (t) => {
  // Snapshots in the previous service's ledger: a joiner replays their evidence too (QA: it stopped there).
  const { sandbox, user, previousCertPem, member } = await lostService(t, ['--snapshot-tx-interval', '10']);
  assert.ok(readdirSync(join(sandbox.workspace, 'sandbox_0', 'snapshots')).some((name) => name.endsWith('.committed')), 'the lost service wrote a snapshot');
  const recovery = recoveryDirectory(sandbox, 'recovery', sandbox.file('service_cert.pem'));
  const node = await spawnNode(recovery.config, recovery.dir);
  t.after(() => node.stop());
  const certPem = recovery.certPem();
  let joinerOutput = '';
  const onOutput = (chunk: Buffer) => void (joinerOutput += chunk.toString());
  // Fixed ports: a node started again keeps the addresses it joined with.
  const first = joinRecoveredService(sandbox, node, join(recovery.dir, 'service_cert.pem'), onOutput, { rpc: await testPort(), nodeToNode: await testPort() });
  first.catch(() => undefined);
  await until('the joiner to wait Pending', 60_000, async () => (/joined as \w+, Pending/.test(joinerOutput) ? true : undefined));
  assert.match(node.output(), /was added as Pending at \d+\.\d+; it is trusted on its first request once the recovered service opens/);
  // Stopped before the opening (kill -9): it is no voter, so the opened service commits without it.
  const joinerDir = join(sandbox.workspace, '..', 'joiner');
  execFileSync('pkill', ['-9', '-f', join(joinerDir, 'config.json')]);
  await assert.rejects(first);
  await recoverService({ url: node.url, serviceCertPem: certPem, previousServiceCertPem: previousCertPem, members: [member] });
  const after = await call(node.url, certPem, 'POST', '/app/log/private', { ...user, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 2, msg: 'after the opening' }) });
  assert.equal(after.status, 200, after.body);
  const afterTxId = String(after.headers['x-ms-ccf-transaction-id']);
  await until('a write after the opening to commit', 30_000, async () => ((await call(node.url, certPem, 'GET', `/app/tx?transaction_id=${afterTxId}`)).json().status === 'Committed' ? true : undefined));
  // Started again, it asks again as itself, and its first request after the opening trusts it.
  joinerOutput = '';
  const joiner = await spawnNode(join(joinerDir, 'config.json'), joinerDir, onOutput);
  t.after(() => joiner.stop());
  assert.equal((await servedRecord(joiner, certPem, 2, user)).msg, 'after the opening');
  assert.equal((await call(joiner.url, certPem, 'GET', '/app/log/private?id=1', user)).json().msg, 'secret 1');
  // It replayed the previous service's snapshot evidence without writing those snapshots: none
  // can serve this service's joiners, and on a longer ledger no receipt over them could be made
  // yet, which stopped the joiner (QA).
  const created = parseTxId(String((await call(node.url, certPem, 'GET', '/node/network')).json().current_service_create_txid)).seqno;
  const written = readdirSync(join(joinerDir, 'snapshots')).map((name) => Number(/^snapshot_(\d+)_/.exec(name)?.[1]));
  assert.ok(written.every((seqno) => seqno >= created), `the joiner's snapshots (${written.join(', ')}) are all of this service (from seqno ${created})`);
  assert.doesNotMatch(joinerOutput, /ServiceEndorsementUnavailable|stopped applying/);
  assert.match(node.output(), /which asked to join while the service was Recovering, was trusted at \d+\.\d+ on its first request since the opening/);
  const nodes = (await call(node.url, certPem, 'GET', '/node/network/nodes')).json().nodes as { status: string }[];
  assert.deepEqual(nodes.map((n) => n.status).sort(), ['Retired', 'Trusted', 'Trusted'], 'no member voted transition_node_to_trusted');
  await joiner.stop();
  await node.stop();
});
