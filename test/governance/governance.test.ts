// Governance over a real in-process node with constitutions run in QuickJS: proposals pass and
// apply, and a constitution that throws or loops discards its transaction and records nothing.

import assert from 'node:assert/strict';
import test from 'node:test';
import { signGovernanceRequest } from '../../src/client/cose-signing.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { CocoError } from '../../src/errors.js';
import { JsConstitutionRunner } from '../../src/governance/js-constitution-runner.js';
import { authenticateMemberCose } from '../../src/governance/member-cose-identity.js';
import { Governance } from '../../src/governance/proposals.js';
import { Tables } from '../../src/governance/builtin-tables.js';
import { ackStateDigest, updateStateDigest } from '../../src/governance/member-acks.js';
import { startInProcessNode, type InProcessNode } from '../support/in-process-node.js';
import { TestHost } from '../js/js-test-host.js';

const CONSTITUTION_BASE = `
export function validate(input) { const p = JSON.parse(input); return { valid: Array.isArray(p.actions), description: "needs actions" }; }
export function apply(proposal, id) { ccf.kv["public:ccf.gov.service.config"].set(new ArrayBuffer(8), ccf.jsonCompatibleToBuf({ recovery_threshold: 7 })); }
`;

async function setUp(resolveSource: string): Promise<{ instance: InProcessNode; governance: Governance; runner: JsConstitutionRunner; createdAt: { value: number } }> {
  const instance = startInProcessNode({ constitution: CONSTITUTION_BASE + resolveSource });
  await instance.node.waitForCommit(2);
  // A node caps script time below its election timeout; a short cap here keeps the looping case quick.
  const runner = await JsConstitutionRunner.create(
    new TestHost(),
    {
      serviceKeyPair: instance.node.options.service.keyPair,
      serviceCertPem: instance.node.options.service.certPem,
      triggerLedgerChunk: () => instance.node.requestLedgerChunk(),
    },
    { maxExecutionTimeMs: 200 },
  );
  const createdAt = { value: 1_700_000_000 };
  // Make member0 Active.
  for (const msgType of ['state_digest', 'ack'] as const) {
    instance.node.execute((tx) => {
      const id = authenticateMemberCose(tx, sign(instance, msgType, msgType === 'ack' ? JSON.stringify({ stateDigest: digestOf(tx) }) : '', createdAt.value++), { msgType, requireActive: false });
      if (msgType === 'state_digest') updateStateDigest(tx, id, id.memberId);
      else ackStateDigest(tx, id, id.memberId);
      return { result: undefined, applyWrites: true };
    });
  }
  return { instance, governance: new Governance(runner), runner, createdAt };
}

function digestOf(tx: Parameters<Parameters<InProcessNode['node']['execute']>[0]>[0]): string {
  let digest = '';
  tx.map(Tables.membersAcks).forEach((value) => void (digest = JSON.parse(Buffer.from(value).toString()).state_digest));
  return digest;
}

function sign(instance: InProcessNode, msgType: 'proposal' | 'state_digest' | 'ack', content: string, createdAt: number): Uint8Array {
  return signGovernanceRequest({ content: utf8(content), msgType, createdAt, signerCertPem: instance.memberCertPem, signerKeyPem: instance.memberKeyPem });
}

function propose(setup: Awaited<ReturnType<typeof setUp>>) {
  const { instance, governance, createdAt } = setup;
  return instance.node.execute((tx) => {
    const identity = authenticateMemberCose(tx, sign(instance, 'proposal', '{"actions": []}', createdAt.value++), { msgType: 'proposal', requireActive: true });
    return { result: governance.create(tx, identity, instance.node.merkleRoot()), applyWrites: true };
  });
}

function proposalCount(instance: InProcessNode): number {
  return instance.node.execute((tx) => ({ result: tx.map(Tables.proposals).size(), applyWrites: false })).result;
}

test('an accepted proposal is applied by the constitution in the same transaction', async (t) => {
  const setup = await setUp('export function resolve() { return "Accepted"; }');
  t.after(async () => {
    setup.runner.dispose();
    await setup.instance.close();
  });
  const { result, txId } = propose(setup);
  assert.equal(result.proposalState, 'Accepted');
  assert.ok(txId);
  const config = setup.instance.node.execute((tx) => ({ result: tx.map(Tables.serviceConfig).get(new Uint8Array(8)), applyWrites: false })).result;
  assert.equal(JSON.parse(Buffer.from(config!).toString()).recovery_threshold, 7);
});

for (const [what, resolve, reason] of [
  ['throws', 'export function resolve() { throw new Error("resolve is broken"); }', /resolve is broken/],
  ['loops forever', 'export function resolve() { for (;;) {} }', /Operation took too long to complete/],
  ['returns nonsense', 'export function resolve() { return "Maybe"; }', /invalid status value/],
] as const) {
  test(`a constitution whose resolve ${what} fails the proposal and records nothing`, async (t) => {
    const setup = await setUp(resolve);
    t.after(async () => {
      setup.runner.dispose();
      await setup.instance.close();
    });
    const before = setup.instance.node.lastTxId.seqno;
    assert.throws(() => propose(setup), (e: unknown) => e instanceof CocoError && e.code === 'InternalError' && reason.test(e.message));
    assert.equal(setup.instance.node.lastTxId.seqno, before, 'no transaction was written');
    assert.equal(proposalCount(setup.instance), 0);
  });
}
