// Recovery membership through the real governance path: members propose, vote and ack over HTTPS
// (COSE-signed, the client SDK) on an in-process node that runs Coco's default constitution. A
// recovery member set again as a non-recovery member is held to the safeguards remove_member
// enforces, and once it is no longer one (set so, or removed, even while Accepted after being set
// again) it has no share served: the ledger is rekeyed, with new shares for the recovery members
// that remain.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { CocoClient } from '../../src/client/coco-client.js';
import { GovernanceClient, type MemberInfo } from '../../src/client/governance-client.js';
import { ACCEPT_BALLOT } from '../../src/client/open-service.js';
import { CocoRequestError } from '../../src/client/request-error.js';
import { certificateId } from '../../src/crypto/entity-id.js';
import { JsConstitutionRunner } from '../../src/governance/js-constitution-runner.js';
import { Governance } from '../../src/governance/proposals.js';
import { addGovEndpoints } from '../../src/rpc/gov-endpoints.js';
import { AppRuntime } from '../../src/rpc/app-runtime.js';
import { createIdentity, createService, type Identity } from '../client/tls-fixture.js';
import { TestHost } from '../js/js-test-host.js';
import { addTestBuiltinEndpoints, testRpcServer } from '../rpc/rpc-server-fixture.js';
import { startInProcessNode } from '../support/in-process-node.js';
import { repoRoot } from '../support/paths.js';
import { rsaKeyPair } from '../support/rsa-key-pair.js';
import { testPort } from '../support/test-ports.js';
import type { KeyPair } from '../../src/crypto/signing.js';

const TEST_TIMEOUT_MS = 120_000;

function defaultConstitution(): string {
  const files = ['default/actions.js', 'default/validate.js', 'default/resolve.js', 'default/apply.js'];
  return files.map((file) => readFileSync(join(repoRoot, 'constitution', file), 'utf8')).join('\n');
}

interface Member {
  id: string;
  certPem: string;
  /** Its RSA share-encryption key pair, if it is set as a recovery member. */
  encryption: KeyPair | undefined;
  governor: GovernanceClient;
}

interface Service {
  /** member0 (from the genesis, a recovery member), then the members openService added, all Active. */
  members: Member[];
  /** Passes `actions` with the members' ballots, or throws the refusal of the last ballot. */
  pass(actions: { name: string; args?: unknown }[]): Promise<void>;
  /** The HTTP status of GET /gov/recovery/encrypted-shares/{member}: 200 with a share, 404 without. */
  share(member: Member): Promise<number>;
  info(member: Member): Promise<MemberInfo>;
  /** How many ledger secrets the node holds: one more after each rekey. */
  secrets(): number;
}

/**
 * An open service whose members are member0 and, added by set_member and Active once they ack,
 * one more member per entry of `recoveryMembers` (true: with an encryption key, a Participant);
 * closed when `t` ends.
 */
async function openService(t: TestContext, recoveryMembers: boolean[]): Promise<Service> {
  const instance = startInProcessNode({ constitution: defaultConstitution(), encryptionKey: true, memberEncryptionKey: true });
  await instance.node.waitForCommit(2);
  const runner = await JsConstitutionRunner.create(new TestHost(), instance.node.governanceHost(), { maxExecutionTimeMs: 1_000 });
  const tls = await createService();
  const { server, sessions } = testRpcServer(tls, { currentTxId: () => instance.node.lastTxId, maxBodyBytes: 1024 * 1024 });
  addTestBuiltinEndpoints(server, instance.node, sessions, new AppRuntime());
  addGovEndpoints(server, instance.node, new Governance(runner));
  const { port } = await server.listen('127.0.0.1', await testPort());
  const client = new CocoClient({ url: `https://127.0.0.1:${port}`, caCertPem: tls.certPem });
  t.after(async () => {
    client.close();
    await server.close();
    runner.dispose();
    await instance.close();
  });
  // created_at one second apart: a proposal made again after a refusal is no replay.
  let clockMs = Date.now();
  const governor = (identity: { certPem: string; keyPem: string }) => new GovernanceClient(client, { member: identity, now: () => (clockMs += 1000) });
  const member0: Member = {
    id: certificateId(instance.memberCertPem),
    certPem: instance.memberCertPem,
    encryption: instance.memberEncryptionKeyPair,
    governor: governor({ certPem: instance.memberCertPem, keyPem: instance.memberKeyPem }),
  };
  const members = [member0];

  const service: Service = {
    members,
    async pass(actions) {
      const proposal = await members[0]!.governor.createProposal({ actions });
      let state = proposal.proposalState;
      for (const member of members) {
        if (state !== 'Open') break;
        state = (await member.governor.submitBallot(proposal.proposalId, ACCEPT_BALLOT)).proposalState;
      }
      assert.equal(state, 'Accepted', JSON.stringify(actions));
    },
    async share(member) {
      return (await client.request('GET', `/gov/recovery/encrypted-shares/${member.id}?api-version=2024-07-01`, { allowError: true })).status;
    },
    info: (member) => member0.governor.getMember(member.id),
    secrets: () => instance.node.options.ledgerSecrets.all().length,
  };

  const added = await Promise.all(recoveryMembers.map(async (recovery, i) => {
    const identity: Identity = await createIdentity(`member${i + 1}`);
    return { id: identity.id, certPem: identity.certPem, encryption: recovery ? rsaKeyPair() : undefined, governor: governor(identity) };
  }));
  await ack(member0);
  await service.pass(added.map((member) => ({ name: 'set_member', args: { cert: member.certPem, ...(member.encryption && { encryption_pub_key: member.encryption.publicKeyPem }) } })));
  for (const member of added) await ack(member);
  members.push(...added);
  await service.pass([{ name: 'transition_service_to_open', args: { next_service_identity: instance.node.options.service.certPem } }]);
  return service;
}

async function ack(member: Member): Promise<void> {
  const { stateDigest } = await member.governor.updateStateDigest();
  await member.governor.ack(stateDigest);
}

/** Why a refused proposal failed, as its last ballot was answered: its reason, the line before its trace (as CCF says it). */
async function refusal(passing: Promise<void>): Promise<string> {
  const error = await passing.then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof CocoRequestError, `the proposal should have been refused, got ${String(error)}`);
  const [reason, trace] = error.serviceMessage.split('\nTrace: ');
  assert.ok(trace !== undefined, `the reason is followed by the trace: ${error.serviceMessage}`);
  return reason!;
}

test('set_member cannot demote a recovery participant below the recovery threshold; once demoted it has no share, the others get new ones', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const service = await openService(t, [true, true]);
  const [member0, member1, member2] = service.members as [Member, Member, Member];
  await service.pass([{ name: 'set_recovery_threshold', args: { recovery_threshold: 3 } }]);
  for (const member of service.members) assert.equal(await service.share(member), 200);

  // remove_member refuses to leave 2 participants for a threshold of 3, and so does set_member.
  assert.match(await refusal(service.pass([{ name: 'remove_member', args: { member_id: member2.id } }])), /would leave 2 active recovery participants, below the recovery threshold 3/);
  const demote = { name: 'set_member', args: { cert: member2.certPem, encryption_pub_key: member2.encryption!.publicKeyPem, recovery_role: 'NonParticipant' } };
  assert.match(
    await refusal(service.pass([demote])),
    new RegExp(`^Failed to apply\\(\\): Error: setting member ${member2.id} with recovery_role NonParticipant would leave 2 active recovery participants, below the recovery threshold 3: lower the threshold or add recovery members first`),
  );
  const withoutKey = { name: 'set_member', args: { cert: member2.certPem } };
  assert.match(await refusal(service.pass([withoutKey])), new RegExp(`setting member ${member2.id} without an encryption key would leave 2 active recovery participants, below the recovery threshold 3`));
  assert.deepEqual([(await service.info(member2)).status, (await service.info(member2)).recoveryRole], ['Active', 'Participant']);
  assert.equal(await service.share(member2), 200);

  // With the threshold lowered, the demotion passes: member2 is rekeyed away, as remove_member
  // rekeys a departing recovery member, and only the participants left hold shares.
  await service.pass([{ name: 'set_recovery_threshold', args: { recovery_threshold: 2 } }]);
  const secrets = service.secrets();
  await service.pass([demote]);
  assert.equal(service.secrets(), secrets + 1);
  assert.equal(await service.share(member2), 404);
  await ack(member2);
  assert.deepEqual([(await service.info(member2)).status, (await service.info(member2)).recoveryRole], ['Active', 'NonParticipant']);
  assert.equal(await service.share(member2), 404);
  for (const member of [member0, member1]) assert.equal(await service.share(member), 200);
  await service.pass([{ name: 'trigger_ledger_rekey' }]);
  assert.equal(service.secrets(), secrets + 2);
});

test('set_member cannot take the encryption key of the last recovery member', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const service = await openService(t, [false]);
  const [member0, member1] = service.members as [Member, Member];
  assert.equal(await service.share(member0), 200);
  assert.equal(await service.share(member1), 404);

  assert.match(await refusal(service.pass([{ name: 'remove_member', args: { member_id: member0.id } }])), /would leave no active recovery member to hold the ledger secret/);
  assert.match(
    await refusal(service.pass([{ name: 'set_member', args: { cert: member0.certPem } }])),
    new RegExp(`setting member ${member0.id} without an encryption key would leave no active recovery member to hold the ledger secret: add another recovery member first`),
  );
  assert.match(
    await refusal(service.pass([{ name: 'set_member', args: { cert: member0.certPem, encryption_pub_key: member0.encryption!.publicKeyPem, recovery_role: 'NonParticipant' } }])),
    /with recovery_role NonParticipant would leave no active recovery member to hold the ledger secret/,
  );
  assert.equal((await service.info(member0)).recoveryRole, 'Participant');
  assert.equal(await service.share(member0), 200);
  const secrets = service.secrets();
  await service.pass([{ name: 'trigger_ledger_rekey' }]);
  assert.equal(service.secrets(), secrets + 1);
});

test('a recovery member set again and removed before it acks has no share left: the ledger is rekeyed', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const service = await openService(t, [true, true]);
  const [member0, member1, member2] = service.members as [Member, Member, Member];
  // Set again (here for its member_data), member2 is Accepted until it acks, with the share it had.
  await service.pass([{ name: 'set_member', args: { cert: member2.certPem, encryption_pub_key: member2.encryption!.publicKeyPem, member_data: { team: 'ops' } } }]);
  assert.equal((await service.info(member2)).status, 'Accepted');
  assert.equal(await service.share(member2), 200);

  const secrets = service.secrets();
  await service.pass([{ name: 'remove_member', args: { member_id: member2.id } }]);
  assert.equal(service.secrets(), secrets + 1);
  assert.equal(await service.share(member2), 404);
  for (const member of [member0, member1]) assert.equal(await service.share(member), 200);
});
