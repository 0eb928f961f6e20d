// Governance over a real in-process node with constitutions run in QuickJS: proposals pass and
// apply, a constitution that throws or loops discards its transaction and records nothing, and
// CCF's own default constitution, as a real CCF service stored it, runs unmodified.

import assert from 'node:assert/strict';
import test, { after, before, describe } from 'node:test';
import { signGovernanceRequest } from '../../src/client/cose-signing.js';
import { fromUtf8, toBase64, utf8 } from '../../src/crypto/bytes.js';
import { certificateId } from '../../src/crypto/entity-id.js';
import { pemToDer } from '../../src/crypto/pem.js';
import { generateKeyPair } from '../../src/crypto/signing.js';
import { createSelfSignedCertificate } from '../../src/crypto/x509.js';
import { CocoError } from '../../src/errors.js';
import { ScriptError } from '../../src/governance/constitution-runner.js';
import { JsConstitutionRunner } from '../../src/governance/js-constitution-runner.js';
import { authenticateMemberCose } from '../../src/governance/member-cose-identity.js';
import { Governance } from '../../src/governance/proposals.js';
import { Tables } from '../../src/governance/builtin-tables.js';
import { ackStateDigest, updateStateDigest } from '../../src/governance/member-acks.js';
import { startInProcessNode, type InProcessNode } from '../support/in-process-node.js';
import { TestHost } from '../js/js-test-host.js';
import { RECOVERY_SHARES_MAP } from '../../src/governance/recovery-shares.js';
import { realChunks } from '../support/real-ledgers.js';
import { readFileSync } from 'node:fs';
import { concatBytes } from '../../src/crypto/bytes.js';
import { COSE_ALG_ES256, COSE_ALG_ES384, encodeCbor, sigStructure } from '../../src/crypto/cose-sign1.js';
import { curveOf, sign as signBytes } from '../../src/crypto/signing.js';
import { join } from 'node:path';
import { repoRoot } from '../support/paths.js';

const CONSTITUTION_BASE = `
export function validate(input) { const p = JSON.parse(input); return { valid: Array.isArray(p.actions), description: "needs actions" }; }
export function apply(proposal, id) { ccf.kv["public:ccf.gov.service.config"].set(new ArrayBuffer(8), ccf.jsonCompatibleToBuf({ recovery_threshold: 7 })); }
`;

async function setUp(constitution: string, keys = false): Promise<{ instance: InProcessNode; governance: Governance; runner: JsConstitutionRunner; createdAt: { value: number } }> {
  // `keys`: RSA encryption keys for the node (to rekey) and member0 (a recovery member).
  const instance = startInProcessNode({ constitution, encryptionKey: keys, memberEncryptionKey: keys });
  await instance.node.waitForCommit(2);
  // A node caps script time below its election timeout; a short cap here keeps the looping case quick.
  const runner = await JsConstitutionRunner.create(
    new TestHost(),
    instance.node.governanceHost(),
    { maxExecutionTimeMs: 200 },
  );
  const createdAt = { value: 1_700_000_000 };
  // Make member0 Active.
  for (const msgType of ['state_digest', 'ack'] as const) {
    instance.node.execute((tx) => {
      const id = authenticateMemberCose(tx, sign(instance, msgType, msgType === 'ack' ? JSON.stringify({ stateDigest: digestOf(tx) }) : '', createdAt.value++), { msgType, requireActive: false });
      if (msgType === 'state_digest') updateStateDigest(tx, id);
      else ackStateDigest(tx, id);
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

function sign(instance: InProcessNode, msgType: 'proposal' | 'state_digest' | 'ack' | 'ballot', content: string, createdAt: number, proposalId?: string): Uint8Array {
  return signGovernanceRequest({ content: utf8(content), msgType, createdAt, signerCertPem: instance.memberCertPem, signerKeyPem: instance.memberKeyPem, ...(proposalId && { proposalId }) });
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
  const setup = await setUp(CONSTITUTION_BASE + 'export function resolve() { return "Accepted"; }');
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
    const setup = await setUp(CONSTITUTION_BASE + resolve);
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

/** What a member reads when a governance script of a runner limited to `limitMs` ran out of time. */
function proposalTimeoutReason(limitMs: number): string {
  return `Operation took too long to complete. The proposal may be too large for the time limit of governance scripts (${limitMs} ms, at most half of consensus.election_timeout_ms): split it into smaller proposals, or raise consensus.election_timeout_ms.`;
}

test("a proposal whose validate, resolve or apply runs out of time fails with CCF's reason, then what to do: split it or raise the election timeout", async (t) => {
  const looping = 'for (;;) {}';
  for (const [script, constitution, message] of [
    ['validate', `export function validate() { ${looping} }\nexport function resolve() { return "Accepted"; }\nexport function apply() {}`, (e: CocoError) => e.message],
    ['resolve', `${CONSTITUTION_BASE}export function resolve() { ${looping} }`, failureReason],
    ['apply', CONSTITUTION_BASE.replace('export function apply(proposal, id) {', `export function apply(proposal, id) { ${looping}`) + 'export function resolve() { return "Accepted"; }', failureReason],
  ] as const) {
    const setup = await setUp(constitution);
    t.after(async () => {
      setup.runner.dispose();
      await setup.instance.close();
    });
    const prefix = { validate: 'Failed to execute validation: ', resolve: 'Failed to resolve(): ', apply: 'Failed to apply(): ' }[script];
    assert.throws(
      () => propose(setup),
      (e: unknown) => e instanceof CocoError && e.code === 'InternalError' && message(e) === prefix + proposalTimeoutReason(200),
      script,
    );
    assert.equal(proposalCount(setup.instance), 0, `${script}: nothing was recorded`);
  }
});

test('a set_user proposal that takes the default constitution longer than the time limit to validate says to split it; a ballot out of time keeps only CCF\'s reason', async (t) => {
  const setup = await setUp(defaultConstitution());
  // The test host's clock advances one millisecond per read: with a 1 ms limit, the work of checking
  // a few certificates is past it, as hundreds of them were past 500 ms on a loaded node.
  const runner = await JsConstitutionRunner.create(new TestHost(), setup.instance.node.governanceHost(), { maxExecutionTimeMs: 1 });
  t.after(async () => {
    runner.dispose();
    setup.runner.dispose();
    await setup.instance.close();
  });
  const setUser = (i: number) => ({ name: 'set_user', args: { cert: createSelfSignedCertificate({ subjectCn: `user${i}`, keyPair: generateKeyPair('P-256'), validFrom: new Date(), validityDays: 1, isCa: false }) } });
  const actions = Array.from({ length: 20 }, (_, i) => setUser(i));
  assert.equal(proposeActions(setup, actions).proposalState, 'Open', 'the proposal is valid within the usual limit');
  assert.throws(
    () => proposeActions({ ...setup, governance: new Governance(runner) }, actions),
    (e: unknown) => e instanceof CocoError && e.code === 'InternalError' && e.message === `Failed to execute validation: ${proposalTimeoutReason(1)}`,
  );
  const ballotFailure = setup.instance.node.execute((tx) => {
    try {
      return { result: runner.vote(tx, 'export function vote() { for (;;) {} }', '{"actions":[]}', 'proposer', { name: 'ballot', voterCount: 1 }), applyWrites: false };
    } catch (error) {
      return { result: error, applyWrites: false };
    }
  }).result;
  assert.ok(ballotFailure instanceof ScriptError);
  assert.equal(ballotFailure.failure.reason, 'Operation took too long to complete.');
});

test("resolve's result is read as CCF reads it, converted to a string: a value that converts to a state is that state, and a failure shows the text compared", async (t) => {
  // resolve returns what the proposal's "status" expression evaluates to.
  const setup = await setUp(CONSTITUTION_BASE + 'export function resolve(proposal) { return (0, eval)(JSON.parse(proposal).status); }');
  t.after(async () => {
    setup.runner.dispose();
    await setup.instance.close();
  });
  const { instance, governance, createdAt } = setup;
  const resolving = (status: string) =>
    instance.node.execute((tx) => {
      const identity = authenticateMemberCose(tx, sign(instance, 'proposal', JSON.stringify({ actions: [], status }), createdAt.value++), { msgType: 'proposal', requireActive: true });
      return { result: governance.create(tx, identity, instance.node.merkleRoot()), applyWrites: true };
    }).result.proposalState;
  for (const [status, state] of [
    ['["Accepted"]', 'Accepted'],
    ['({ toString() { return "Accepted"; } })', 'Accepted'],
    ['new String("Rejected")', 'Rejected'],
    // CCF reads the status as a C string, which ends at a NUL character.
    ['"Open\\0 and more"', 'Open'],
  ] as const) {
    assert.equal(resolving(status), state, status);
  }
  for (const [status, compared] of [
    ['["Acc", "epted"]', 'Acc,epted'],
    ['42', '42'],
    ['null', 'null'],
    ['undefined', 'undefined'],
    // No string: CCF reads the empty one.
    ['Symbol("Accepted")', ''],
    ['({ toString() { throw new Error("no text"); } })', ''],
  ] as const) {
    assert.throws(
      () => resolving(status),
      (e: unknown) => e instanceof CocoError && e.code === 'InternalError' && failureReason(e) === `resolve() returned invalid status value: "${compared}"`,
      status,
    );
  }
});

describe('the constitution sees a proposal as its stored bytes, as CCF hands QuickJS the bytes it stores', () => {
  const BOM = Uint8Array.of(0xef, 0xbb, 0xbf);
  // Validation passes on any text and reports what it saw; resolve waits while the text starts with a BOM.
  const CONSTITUTION = `
export function validate(input) { return { valid: input.includes("actions"), description: input.length + ":" + input.charCodeAt(0) }; }
export function resolve(proposal) { return proposal.charCodeAt(0) === 0xFEFF ? "Open" : "Rejected"; }
export function apply() {}
`;
  const proposeBytes = (setup: Awaited<ReturnType<typeof setUp>>, content: Uint8Array) =>
    setup.instance.node.execute((tx) => {
      const body = signGovernanceRequest({ content, msgType: 'proposal', createdAt: setup.createdAt.value++, signerCertPem: setup.instance.memberCertPem, signerKeyPem: setup.instance.memberKeyPem });
      const identity = authenticateMemberCose(tx, body, { msgType: 'proposal', requireActive: true });
      return { result: setup.governance.create(tx, identity, setup.instance.node.merkleRoot()), applyWrites: true };
    }).result;

  test('a leading UTF-8 BOM is kept, at creation and at every ballot, and JSON.parse then refuses the proposal as CCF\'s does', async (t) => {
    const setup = await setUp(CONSTITUTION);
    t.after(async () => {
      setup.runner.dispose();
      await setup.instance.close();
    });
    const text = '{"actions": []}';
    assert.throws(() => proposeBytes(setup, concatBytes(BOM, utf8('{}'))), (e: unknown) => e instanceof CocoError && e.code === 'ProposalFailedToValidate' && e.message === 'Proposal failed to validate: 3:65279');
    const created = proposeBytes(setup, concatBytes(BOM, utf8(text)));
    assert.equal(created.proposalState, 'Open', 'resolve saw the BOM');
    const stored = setup.instance.node.execute((tx) => ({ result: tx.map(Tables.proposals).get(utf8(created.proposalId)), applyWrites: false })).result;
    assert.deepEqual(stored, concatBytes(BOM, utf8(text)));
    const ballot = JSON.stringify({ ballot: 'export function vote() { return true; }' });
    const voted = setup.instance.node.execute((tx) => {
      const identity = authenticateMemberCose(tx, sign(setup.instance, 'ballot', ballot, setup.createdAt.value++, created.proposalId), { msgType: 'ballot', requireActive: true });
      return { result: setup.governance.submitBallot(tx, identity, created.proposalId), applyWrites: true };
    }).result;
    assert.equal(voted.proposalState, 'Open', 'resolve saw the stored bytes again, BOM and all');
    // The constitution of the other tests parses its input, as CCF's default does: a BOM is not JSON.
    const parsing = await setUp(CONSTITUTION_BASE + 'export function resolve() { return "Open"; }');
    t.after(async () => {
      parsing.runner.dispose();
      await parsing.instance.close();
    });
    assert.throws(() => proposeBytes(parsing, concatBytes(BOM, utf8(text))), (e: unknown) => e instanceof CocoError && e.code === 'InternalError' && /^Failed to execute validation: SyntaxError/.test(e.message));
    assert.equal(proposalCount(parsing.instance), 0);
  });

  test('bytes that are not UTF-8 are refused before the constitution runs: no text would be the bytes stored', async (t) => {
    const setup = await setUp(CONSTITUTION);
    t.after(async () => {
      setup.runner.dispose();
      await setup.instance.close();
    });
    for (const content of [Uint8Array.of(0x7b, 0xff, 0xfe, 0x7d), concatBytes(utf8('{"actions": [], "x": "'), Uint8Array.of(0xc3), utf8('"}'))]) {
      assert.throws(
        () => proposeBytes(setup, content),
        (e: unknown) => e instanceof CocoError && e.code === 'ProposalFailedToValidate' && /^Proposal failed to validate: the proposal is not UTF-8 text/.test(e.message),
      );
    }
    assert.equal(proposalCount(setup.instance), 0);
  });
});

/** Submits `source` as member0's ballot on `proposalId`; the proposal, or the error that discarded the transaction. */
function submitBallot(setup: Awaited<ReturnType<typeof setUp>>, proposalId: string, source: string) {
  const { instance, governance, createdAt } = setup;
  return instance.node.execute((tx) => {
    const identity = authenticateMemberCose(tx, sign(instance, 'ballot', JSON.stringify({ ballot: source }), createdAt.value++, proposalId), { msgType: 'ballot', requireActive: true });
    return { result: governance.submitBallot(tx, identity, proposalId), applyWrites: true };
  }).result;
}

test('a ballot that does not load fails its request and is not recorded, as in CCF: the member can then send a working one', async (t) => {
  const setup = await setUp(CONSTITUTION_BASE + 'export function resolve(proposal, proposer, votes) { return votes.length > 0 ? "Accepted" : "Open"; }');
  t.after(async () => {
    setup.runner.dispose();
    await setup.instance.close();
  });
  const { proposalId } = propose(setup).result;
  // CCF names a ballot by where it is stored.
  const name = `public:ccf.gov.proposals_info[${proposalId}].ballots[${certificateId(setup.instance.memberCertPem)}]`.replace(/[[\].]/g, '\\$&');
  for (const [what, source, reason] of [
    ['does not compile', 'export function vote(p, who) { return true ', new RegExp(`^Failed to compile ${name}: SyntaxError: .* at ballot.js:1\\. Nothing was recorded`)],
    ['throws as it loads', 'throw new Error("load boom"); export function vote() { return true }', new RegExp(`^Failed to execute ${name}: Error: load boom\\. Nothing was recorded`)],
    ['exports no vote', 'export function vot() { return true }', new RegExp(`^Failed to find export 'vote' in module '${name}'\\. Nothing was recorded`)],
    ['exports a vote that is no function', 'export const vote = true;', new RegExp(`^Export 'vote' of module '${name}' is not a function\\. Nothing was recorded`)],
  ] as const) {
    const before = setup.instance.node.lastTxId.seqno;
    assert.throws(() => submitBallot(setup, proposalId, source), (e: unknown) => e instanceof CocoError && e.code === 'InternalError' && reason.test(e.message), what);
    assert.equal(setup.instance.node.lastTxId.seqno, before, `${what}: no transaction was written`);
    const info = setup.instance.node.execute((tx) => ({ result: setup.governance.readInfo(tx, proposalId), applyWrites: false })).result;
    assert.deepEqual(info?.ballots, {}, `${what}: the ballot was not stored`);
  }
  const voted = submitBallot(setup, proposalId, 'export function vote() { return true; }');
  assert.equal(voted.ballotCount, 1);
  assert.equal(voted.proposalState, 'Accepted');
  assert.deepEqual(voted.voteFailures, {});
});

test("a ballot's time does not depend on how many members have voted: each gets its share among the members who may vote", async (t) => {
  // Accepted once any ballot votes yes: member0's ballot decides, the others' say no.
  const setup = await setUp(CONSTITUTION_BASE + 'export function resolve(proposal, proposer, votes) { return votes.some((v) => v.vote) ? "Accepted" : "Open"; }');
  t.after(async () => {
    setup.runner.dispose();
    await setup.instance.close();
  });
  const { instance, governance } = setup;
  // Two more Active members: with member0, three who may vote, each with a third of the 200 steps.
  const others = ['aa'.repeat(32), 'bb'.repeat(32)];
  instance.node.execute((tx) => {
    for (const id of others) tx.map(Tables.membersInfo).set(utf8(id), utf8(JSON.stringify({ status: 'Active' })));
    return { result: undefined, applyWrites: true };
  });
  const othersVoteNo = (proposalId: string) =>
    instance.node.execute((tx) => {
      const info = governance.readInfo(tx, proposalId)!;
      for (const id of others) info.ballots[id] = 'export function vote() { return false; }';
      tx.map(Tables.proposalsInfo).set(utf8(proposalId), utf8(JSON.stringify(info)));
      return { result: undefined, applyWrites: true };
    });
  // The test host's clock advances one step per read, and each Math.random() call reads it once.
  const ballotTaking = (steps: number) => `export function vote() { for (let i = 0; i < ${steps}; i++) Math.random(); return true; }`;
  const outcome = (ballot: string, withOthers: boolean) => {
    const { proposalId } = propose(setup).result;
    if (withOthers) othersVoteNo(proposalId);
    return submitBallot(setup, proposalId, ballot).proposalState;
  };
  for (const [what, ballot, state] of [
    ['within its share', ballotTaking(40), 'Accepted'],
    ['past its share, within the whole limit', ballotTaking(120), 'Open'],
  ] as const) {
    assert.equal(outcome(ballot, false), state, `${what}, voting first`);
    assert.equal(outcome(ballot, true), state, `${what}, voting after the others`);
  }
});

test("the members who may vote share one script's time: a looping ballot stops at its share, the others still vote", async (t) => {
  const setup = await setUp(CONSTITUTION_BASE + 'export function resolve() { return "Open"; }');
  // The test host's clock advances one step per read: the steps a ballot takes before it is stopped
  // count its time limit, whatever the machine does meanwhile.
  const host = new TestHost();
  const runner = await JsConstitutionRunner.create(host, setup.instance.node.governanceHost(), { maxExecutionTimeMs: 200 });
  t.after(async () => {
    runner.dispose();
    setup.runner.dispose();
    await setup.instance.close();
  });
  const looping = 'export function vote() { for (;;) {} }';
  const steps = (ballot: string, voterCount: number) =>
    setup.instance.node.execute((tx) => {
      const start = host.monotonicReads;
      let outcome: unknown;
      try {
        outcome = runner.vote(tx, ballot, '{"actions":[]}', 'proposer', { name: 'ballot', voterCount });
      } catch (error) {
        outcome = error;
      }
      return { result: { outcome, steps: host.monotonicReads - start }, applyWrites: false };
    }).result;
  const alone = steps(looping, 1);
  assert.match(String((alone.outcome as Error).message), /Operation took too long to complete/);
  assert.ok(alone.steps >= 200, `the ballot of a lone member has the whole limit (${alone.steps} steps)`);
  const shared = steps(looping, 4);
  assert.match(String((shared.outcome as Error).message), /Operation took too long to complete/);
  assert.ok(shared.steps >= 50 && shared.steps < 100, `the ballot of one of four members has a quarter of it (${shared.steps} steps)`);
  assert.equal(steps('export function vote() { return true; }', 4).outcome, true, 'a ballot that returns in time votes');
});

test("governance scripts get CCF's governance globals, not an app's: no ccf.rpc, ccf.consensus, ccf.historical, ccf.host nor the app's ccf aliases, and apply's effects in apply only", async (t) => {
  const probe = `
    const APP_ONLY = ["rpc", "consensus", "historical", "host", "historicalState", "generateAesKey", "generateRsaKeyPair",
      "generateEcdsaKeyPair", "wrapKey", "digest", "isValidX509CertBundle", "isValidX509CertChain"];
    function seen() {
      let consensus;
      try { consensus = JSON.stringify(ccf.consensus.getLastCommittedTxId()); } catch (e) { consensus = String(e); }
      return JSON.stringify({ appOnly: APP_ONLY.filter((name) => name in ccf), consensus, keys: Object.keys(ccf).sort() });
    }
    const atTopLevel = seen();
  `;
  const constitution = `${probe}
    export function validate() { return { valid: true, description: atTopLevel + "|" + seen() }; }
    export function resolve() { return atTopLevel + "|" + seen(); }
    export function apply() { throw new Error(atTopLevel + "|" + seen()); }
  `;
  const ballot = `${probe}\nexport function vote() { throw new Error(atTopLevel + "|" + seen()); }`;
  const setup = await setUp(CONSTITUTION_BASE + 'export function resolve() { return "Open"; }');
  t.after(async () => {
    setup.runner.dispose();
    await setup.instance.close();
  });
  // As the node gives them: its consensus and historical queries, which an app's ccf global exposes.
  const host = new TestHost();
  host.consensus = { lastCommittedTxId: () => ({ view: 2, seqno: 9 }), statusForTxId: () => 'Committed', viewForSeqno: () => 2 };
  const runner = await JsConstitutionRunner.create(host, setup.instance.node.governanceHost());
  t.after(() => runner.dispose());
  const reports = setup.instance.node.execute((tx) => {
    const failure = (call: () => unknown) => {
      try {
        call();
      } catch (error) {
        return (error as ScriptError).failure.reason.replace(/^Error: /, '');
      }
      assert.fail('the probe throws what it saw');
    };
    return {
      result: {
        validate: runner.validate(tx, constitution, '{}').description,
        resolve: runner.resolve(tx, constitution, '{}', 'proposer', [], 'id'),
        apply: failure(() => runner.apply(tx, constitution, '{}', 'id')),
        ballot: failure(() => runner.vote(tx, ballot, '{}', 'proposer', { name: 'ballot', voterCount: 1 })),
      },
      applyWrites: false,
    };
  }).result;
  const missing = "TypeError: cannot read property 'getLastCommittedTxId' of undefined";
  const common = ['bufToJsonCompatible', 'bufToStr', 'crypto', 'enableMetricsLogging', 'enableUntrustedDateTime', 'jsonCompatibleToBuf', 'kv', 'pemToId', 'strToBuf', 'tcbHexToPolicy'];
  // Coco's constitution calls also have ccf.gov (CCF 7's), and only apply has its effects, as in CCF.
  const constitutionCall = [...common, 'gov'].sort();
  const applyCall = [...constitutionCall, 'network', 'node', 'refreshAppBytecodeCache', 'removeJwtPublicSigningKeys', 'setJwtPublicSigningKeys'].sort();
  const keys: Record<string, string[]> = { validate: constitutionCall, resolve: constitutionCall, apply: applyCall, ballot: common };
  for (const [call, report] of Object.entries(reports)) {
    for (const [where, seen] of ['at the top level', 'in the call'].map((where, i) => [where, JSON.parse(report.split('|')[i]!)] as const)) {
      assert.deepEqual(seen.appOnly, [], `${call}, ${where}`);
      assert.equal(seen.consensus, missing, `${call}, ${where}`);
      assert.deepEqual(seen.keys, keys[call], `${call}, ${where}`);
    }
  }
});

test('as in CCF, every constitution call runs in a fresh interpreter: nothing validate, resolve or apply left is seen by the next call', async (t) => {
  const stateful = `
    let calls = 0;
    export function validate() { calls++; return { valid: true, description: \`calls=\${calls} leaked=\${({}).leaked} global=\${typeof globalThis.left}\` }; }
    export function resolve() { return "Open"; }
    export function apply() { calls++; Object.prototype.leaked = true; globalThis.left = 1; }
  `;
  const setup = await setUp(CONSTITUTION_BASE + 'export function resolve() { return "Open"; }');
  t.after(async () => {
    setup.runner.dispose();
    await setup.instance.close();
  });
  const descriptions = setup.instance.node.execute((tx) => {
    const seen: string[] = [];
    for (let i = 0; i < 2; i++) {
      seen.push(setup.runner.validate(tx, stateful, '{}').description);
      setup.runner.apply(tx, stateful, '{"actions":[]}', 'id');
    }
    return { result: seen, applyWrites: false };
  }).result;
  assert.deepEqual(descriptions, ['calls=1 leaked=undefined global=undefined', 'calls=1 leaked=undefined global=undefined']);
});

test('a ballot that breaks its interpreter fails alone: the next ballot runs at once, and limits are reported in QuickJS words', async (t) => {
  const setup = await setUp(CONSTITUTION_BASE + 'export function resolve() { return "Open"; }');
  t.after(async () => {
    setup.runner.dispose();
    await setup.instance.close();
  });
  const vote = (ballot: string) =>
    setup.instance.node.execute<boolean | string>((tx) => {
      try {
        return { result: setup.runner.vote(tx, ballot, '{"actions":[]}', 'proposer', { name: 'ballot', voterCount: 1 }), applyWrites: false };
      } catch (error) {
        return { result: error instanceof ScriptError ? error.failure.reason : String(error), applyWrites: false };
      }
    }).result;
  // Parsing this overflows Node's own stack inside QuickJS, which leaves an interpreter unusable.
  assert.match(String(vote(`export function vote() { return eval("${'['.repeat(50_000)}${']'.repeat(50_000)}") !== 1; }`)), /stack overflow/);
  assert.equal(vote('export function vote() { return true; }'), true, 'the spare took over');
  assert.equal(vote('export function vote() { const f = (i) => f(i + 1) + 1; return f(0); }'), 'InternalError: stack overflow');
  assert.equal(vote('export function vote() { const parts = []; for (;;) parts.push("x".repeat(1 << 20) + parts.length); }'), 'InternalError: out of memory');
});

/** The constitution a real CCF service wrote at genesis (CCF's default one, with its operator rules). */
function ccfConstitution(): string {
  for (const chunk of realChunks('genesis-14')) {
    for (const entry of chunk.decoded.entries) {
      const write = entry.publicMaps.find((m) => m.name === Tables.constitution)?.writes[0];
      if (write !== undefined) return JSON.parse(fromUtf8(write.value)) as string;
    }
  }
  assert.fail('the genesis-14 ledger holds a constitution');
}

test("CCF's own default constitution, as a real CCF service stored it, runs unmodified: proposals, ballots and the effects it calls", async (t) => {
  const setup = await setUp(ccfConstitution(), true);
  t.after(async () => {
    setup.runner.dispose();
    await setup.instance.close();
  });
  const { instance, governance, createdAt } = setup;
  const read = (table: string, key: Uint8Array) => instance.node.execute((tx) => ({ result: tx.map(table).get(key), applyWrites: false })).result;
  /** Proposes `actions` as member0, then votes for them; returns the state the proposal ended in. */
  const pass = (actions: unknown[]) => {
    const created = instance.node.execute((tx) => {
      const identity = authenticateMemberCose(tx, sign(instance, 'proposal', JSON.stringify({ actions }), createdAt.value++), { msgType: 'proposal', requireActive: true });
      return { result: governance.create(tx, identity, instance.node.merkleRoot()), applyWrites: true };
    }).result;
    assert.equal(created.proposalState, 'Open', 'CCF\'s resolve waits for a majority of members');
    const ballot = JSON.stringify({ ballot: 'export function vote (proposal, proposerId) { return true }' });
    return instance.node.execute((tx) => {
      const identity = authenticateMemberCose(tx, sign(instance, 'ballot', ballot, createdAt.value++, created.proposalId), { msgType: 'ballot', requireActive: true });
      return { result: governance.submitBallot(tx, identity, created.proposalId), applyWrites: true };
    }).result.proposalState;
  };

  const now = new Date();
  const userKeys = generateKeyPair('P-384');
  const userCert = createSelfSignedCertificate({ subjectCn: 'user1', keyPair: userKeys, validFrom: now, validityDays: 1, isCa: false });
  assert.equal(pass([{ name: 'set_user', args: { cert: userCert } }]), 'Accepted');
  assert.equal(fromUtf8(read(Tables.usersCerts, utf8(certificateId(userCert)))!), userCert);

  // JWT keys go through the gov effects CCF's constitution calls.
  const issuerKeys = generateKeyPair('P-256');
  const issuerCert = createSelfSignedCertificate({ subjectCn: 'issuer', keyPair: issuerKeys, validFrom: now, validityDays: 1, isCa: true });
  const jwks = { keys: [{ kty: 'EC', kid: 'ccf-constitution-key', x5c: [toBase64(pemToDer(issuerCert, 'CERTIFICATE'))] }] };
  assert.equal(pass([
    { name: 'set_ca_cert_bundle', args: { name: 'issuer_ca', cert_bundle: issuerCert } },
    { name: 'set_jwt_issuer', args: { issuer: 'https://login.example', key_filter: 'all', jwks } },
  ]), 'Accepted');
  const stored = JSON.parse(fromUtf8(read(Tables.jwtPublicSigningKeysMetadata, utf8('ccf-constitution-key'))!)) as { issuer: string }[];
  assert.deepEqual(stored.map((key) => key.issuer), ['https://login.example']);
  // As CCF: an empty key set fails the proposal ("JWKS has no keys") instead of removing the issuer's keys.
  assert.throws(() => pass([{ name: 'set_jwt_public_signing_keys', args: { issuer: 'https://login.example', jwks: { keys: [] } } }]), /Failed to apply\(\): Error: JWKS has no keys/);
  assert.notEqual(read(Tables.jwtPublicSigningKeysMetadata, utf8('ccf-constitution-key')), undefined);
  assert.equal(pass([{ name: 'remove_jwt_issuer', args: { issuer: 'https://login.example' } }]), 'Accepted');
  assert.equal(read(Tables.jwtPublicSigningKeysMetadata, utf8('ccf-constitution-key')), undefined);

  // ccf.node.transitionServiceToOpen, with the service's own identity.
  assert.equal(pass([{ name: 'transition_service_to_open', args: { next_service_identity: instance.node.options.service.certPem } }]), 'Accepted');
  assert.equal((JSON.parse(fromUtf8(read(Tables.serviceInfo, new Uint8Array(8))!)) as { status: string }).status, 'Open');

  // ccf.node.triggerLedgerRekey: the transactions after the proposal's are sealed with a new secret.
  const secrets = instance.node.options.ledgerSecrets;
  assert.equal(pass([{ name: 'trigger_ledger_rekey' }]), 'Accepted');
  assert.equal(secrets.all().length, 2);
  assert.equal(secrets.latestFromSeqno, instance.node.lastTxId.seqno + 1);

  // ccf.node.triggerRecoverySharesRefresh: member0, an Active recovery member, gets a new share.
  const sharesOf = () => JSON.parse(fromUtf8(read(RECOVERY_SHARES_MAP, new Uint8Array(8))!)) as { encrypted_shares: Record<string, string> };
  const memberId = certificateId(instance.memberCertPem);
  const before = sharesOf().encrypted_shares[memberId];
  assert.ok(before, 'the opening issued member0 a share');
  assert.equal(pass([{ name: 'trigger_recovery_shares_refresh' }]), 'Accepted');
  assert.notEqual(sharesOf().encrypted_shares[memberId], before);

  // A rekey that would leave the new secret to no recovery member fails, as CCF's does: member0,
  // set again, is no longer Active when the rekey runs, and nothing of the proposal is written.
  const encryptionKey = fromUtf8(read(Tables.membersEncryptionPublicKeys, utf8(memberId))!);
  const shares = read(RECOVERY_SHARES_MAP, new Uint8Array(8));
  const rekeyAlone = [{ name: 'set_member', args: { cert: instance.memberCertPem, encryption_pub_key: encryptionKey } }, { name: 'trigger_ledger_rekey' }];
  assert.throws(() => pass(rekeyAlone), /the ledger cannot be rekeyed: there is no active recovery member/);
  assert.deepEqual(read(RECOVERY_SHARES_MAP, new Uint8Array(8)), shares);
  assert.equal(secrets.all().length, 2);
});

/** Coco's default constitution with the sandbox's resolve: every proposal passes at once. */
function sandboxConstitution(): string {
  const files = ['default/actions.js', 'default/validate.js', 'sandbox/resolve.js', 'default/apply.js'];
  return files.map((file) => readFileSync(join(repoRoot, 'constitution', file), 'utf8')).join('\n');
}

/** Proposes `actions` as member0; the proposal, or the error that discarded its transaction. */
function proposeActions(setup: Awaited<ReturnType<typeof setUp>>, actions: unknown[]) {
  const { instance, governance, createdAt } = setup;
  return instance.node.execute((tx) => {
    const identity = authenticateMemberCose(tx, sign(instance, 'proposal', JSON.stringify({ actions }), createdAt.value++), { msgType: 'proposal', requireActive: true });
    return { result: governance.create(tx, identity, instance.node.merkleRoot()), applyWrites: true };
  }).result;
}

/** The reason of a failed proposal, from the error that discarded its transaction: its first line, as CCF's tests read it. */
function failureReason(error: CocoError): string {
  assert.match(error.message, /\nTrace: /, 'the trace follows the reason, as CCF formats a failure');
  return error.message.split('\n')[0]!;
}

function storedConstitution(instance: InProcessNode): string {
  return instance.node.execute((tx) => ({ result: JSON.parse(fromUtf8(tx.map(Tables.constitution).get(new Uint8Array(8))!)) as string, applyWrites: false })).result;
}

const UNUSABLE_CONSTITUTIONS = [
  ['throws at load', (c: string) => `throw new Error("constitution refuses to load");\n${c}`, /constitution refuses to load/],
  ['does not parse', (c: string) => `${c}\nexport function (`, /SyntaxError/],
  ['lacks validate', (c: string) => c.replace('export function validate(', 'function validate_disabled('), /Failed to find export 'validate' in module '\/constitution\.js'/],
  ['lacks resolve', (c: string) => c.replace('export function resolve(', 'function resolve_disabled('), /Failed to find export 'resolve' in module '\/constitution\.js'/],
  ['exports apply as no function', (c: string) => c.replace('export function apply(', 'export const apply = 1; function apply_disabled('), /Export 'apply' of module '\/constitution\.js' is not a function/],
] as const;

for (const [what, spoil, reason] of UNUSABLE_CONSTITUTIONS) {
  test(`set_constitution refuses a constitution that ${what}, and governance keeps working`, async (t) => {
    const setup = await setUp(sandboxConstitution());
    t.after(async () => {
      setup.runner.dispose();
      await setup.instance.close();
    });
    const good = storedConstitution(setup.instance);
    const bad = spoil(good);
    assert.notEqual(bad, good);
    // The default constitution's validate refuses it (ccf.gov.validateConstitution).
    assert.throws(
      () => proposeActions(setup, [{ name: 'set_constitution', args: { constitution: bad } }]),
      (e: unknown) => e instanceof CocoError && e.code === 'ProposalFailedToValidate' && /the constitution cannot run/.test(e.message) && reason.test(e.message),
    );
    assert.equal(storedConstitution(setup.instance), good);
    assert.equal(proposeActions(setup, []).proposalState, 'Accepted');
  });
}

test('the host refuses at apply a constitution that cannot run, even from a constitution that does not check it', async (t) => {
  const setConstitution = `
export function validate() { return { valid: true, description: "" }; }
export function resolve() { return "Accepted"; }
export function apply(proposal) {
  const { constitution } = JSON.parse(proposal).actions[0].args;
  ccf.kv["public:ccf.gov.constitution"].set(new ArrayBuffer(8), ccf.jsonCompatibleToBuf(constitution));
}`;
  const setup = await setUp(setConstitution);
  t.after(async () => {
    setup.runner.dispose();
    await setup.instance.close();
  });
  for (const [what, spoil, reason] of UNUSABLE_CONSTITUTIONS) {
    const before = setup.instance.node.lastTxId.seqno;
    assert.throws(
      () => proposeActions(setup, [{ name: 'set_constitution', args: { constitution: spoil(setConstitution) } }]),
      (e: unknown) => e instanceof CocoError && e.code === 'InternalError' && /^Failed to apply\(\): the constitution cannot run/.test(failureReason(e)) && reason.test(failureReason(e)),
      what,
    );
    assert.equal(setup.instance.node.lastTxId.seqno, before, `${what}: no transaction was written`);
    assert.equal(storedConstitution(setup.instance), setConstitution);
  }
  const next = `${setConstitution}\n// the next one`;
  assert.equal(proposeActions(setup, [{ name: 'set_constitution', args: { constitution: next } }]).proposalState, 'Accepted');
  assert.equal(storedConstitution(setup.instance), next);
});

test('set_js_app refuses an app with a module that does not compile, naming it, and keeps the app installed', async (t) => {
  const setup = await setUp(sandboxConstitution());
  t.after(async () => {
    setup.runner.dispose();
    await setup.instance.close();
  });
  const endpoint = { js_module: 'app.js', js_function: 'hello', authn_policies: [], mode: 'readonly', forwarding_required: 'never' };
  const app = (modules: { name: string; module: string }[]) => [{ name: 'set_js_app', args: { bundle: { metadata: { endpoints: { '/hello': { get: endpoint } } }, modules } } }];
  const installed = () => setup.instance.node.execute((tx) => ({ result: tx.map(Tables.modules).get(utf8('/app.js')), applyWrites: false })).result;
  const working = 'import { greeting } from "./lib.js";\nexport function hello() { return { body: greeting }; }';
  // Module top levels do not run while compiling: this one would throw.
  assert.equal(proposeActions(setup, app([{ name: 'app.js', module: working }, { name: 'lib.js', module: 'export const greeting = "hi";\nthrow new Error("ran");' }])).proposalState, 'Accepted');
  for (const [what, modules, reason] of [
    ['a syntax error', [{ name: 'app.js', module: 'export function hello() {\n  return 1 +;\n}' }], /module "\/app.js" does not compile: SyntaxError: .* at app.js:2$/],
    ['a syntax error in an imported module', [{ name: 'app.js', module: working }, { name: 'lib.js', module: 'export const greeting = ;' }], /SyntaxError: .* at lib.js:1$/],
    ['an import that is not in the bundle', [{ name: 'app.js', module: working }], /"\/lib.js", which is not in the app bundle/],
    // Deep enough to exhaust the host's stack in QuickJS's parser (QA: the error named no module).
    ['nesting past what the compiler can parse', [{ name: 'app.js', module: working }, { name: 'lib.js', module: `export const greeting = ${'('.repeat(100_000)}1${')'.repeat(100_000)};` }], /module "\/app.js" does not compile: it, or a module it imports, nests too deeply for the compiler/],
  ] as const) {
    assert.throws(
      () => proposeActions(setup, app([...modules])),
      (e: unknown) => e instanceof CocoError && e.code === 'InternalError' && /Failed to refresh bytecode/.test(failureReason(e)) && reason.test(failureReason(e)),
      what,
    );
    assert.equal(fromUtf8(installed()!), working, `${what}: the working app stays`);
  }
});

/** Coco's default constitution as a service runs it: proposals wait for a majority of ballots. */
function defaultConstitution(): string {
  const files = ['default/actions.js', 'default/validate.js', 'default/resolve.js', 'default/apply.js'];
  return files.map((file) => readFileSync(join(repoRoot, 'constitution', file), 'utf8')).join('\n');
}

test('the constitution, not the host, drops the other open proposals: after a new constitution or a newly allowed node, not after a removal', async (t) => {
  const setup = await setUp(defaultConstitution());
  t.after(async () => {
    setup.runner.dispose();
    await setup.instance.close();
  });
  const { instance, governance, createdAt } = setup;
  const vote = (proposalId: string) => instance.node.execute((tx) => {
    const ballot = JSON.stringify({ ballot: 'export function vote() { return true; }' });
    const identity = authenticateMemberCose(tx, sign(instance, 'ballot', ballot, createdAt.value++, proposalId), { msgType: 'ballot', requireActive: true });
    return { result: governance.submitBallot(tx, identity, proposalId), applyWrites: true };
  }).result.proposalState;
  const stateOf = (proposalId: string) => instance.node.execute((tx) => ({ result: governance.readInfo(tx, proposalId)?.state, applyWrites: false })).result;
  const open = (actions: unknown[]) => {
    const { proposalId, proposalState } = proposeActions(setup, actions);
    assert.equal(proposalState, 'Open');
    return proposalId;
  };
  const setUser = () => [{ name: 'set_user', args: { cert: createSelfSignedCertificate({ subjectCn: 'user', keyPair: generateKeyPair('P-384'), validFrom: new Date(), validityDays: 1, isCa: false }) } }];

  // A removal and an ordinary action leave the others open, as in CCF.
  const waiting = open(setUser());
  for (const actions of [
    [{ name: 'remove_virtual_measurement', args: { measurement: 'old' } }],
    [{ name: 'remove_snp_host_data', args: { host_data: 'ab'.repeat(32) } }],
    setUser(),
  ]) {
    assert.equal(vote(open(actions)), 'Accepted');
    assert.equal(stateOf(waiting), 'Open', JSON.stringify(actions));
  }
  // Allowing a new node measurement drops them.
  assert.equal(vote(open([{ name: 'add_virtual_measurement', args: { measurement: 'new' } }])), 'Accepted');
  assert.equal(stateOf(waiting), 'Dropped');
  // So does a new constitution, here one that drops nothing itself...
  const second = open(setUser());
  const keepsOthers = defaultConstitution().replace(/\n\s*dropOtherOpenProposals\(proposalId\);/g, '');
  assert.notEqual(keepsOthers, defaultConstitution());
  assert.equal(vote(open([{ name: 'set_constitution', args: { constitution: keepsOthers } }])), 'Accepted');
  assert.equal(stateOf(second), 'Dropped');
  // ...after which the host drops nothing on its own, whatever the action.
  const third = open(setUser());
  assert.equal(vote(open([{ name: 'add_virtual_measurement', args: { measurement: 'newer' } }])), 'Accepted');
  assert.equal(stateOf(third), 'Open');
});

describe('member COSE Sign1 requests are refused (401) unless as CCF takes them', () => {
  let instance: InProcessNode;
  before(() => {
    instance = startInProcessNode({ constitution: CONSTITUTION_BASE + 'export function resolve() { return "Accepted"; }' });
  });
  after(async () => instance.close());

  const entry = (label: string | number, value: unknown): Uint8Array => concatBytes(encodeCbor(label), encodeCbor(value));
  const float64 = (value: number): Uint8Array => {
    const bytes = new Uint8Array(9);
    bytes[0] = 0xfb;
    new DataView(bytes.buffer).setFloat64(1, value);
    return bytes;
  };
  /** A state_digest request signed by member0 with `entries` as its protected header, tagged or not. */
  const envelope = (entries: Uint8Array[], tagged = true): Uint8Array => {
    const protectedBytes = concatBytes(Uint8Array.of(0xa0 | entries.length), ...entries);
    const payload = new Uint8Array();
    const signature = signBytes(instance.memberKeyPem, sigStructure(protectedBytes, payload), 'ieee-p1363');
    const message = encodeCbor([protectedBytes, new Map(), payload, signature]);
    return tagged ? concatBytes(Uint8Array.of(0xd2), message) : message;
  };
  const headers = (createdAt: Uint8Array): Uint8Array[] => [
    entry(1, curveOf(instance.memberCertPem) === 'P-256' ? COSE_ALG_ES256 : COSE_ALG_ES384),
    entry(4, utf8(certificateId(instance.memberCertPem))),
    entry('ccf.gov.msg.type', 'state_digest'),
    concatBytes(encodeCbor('ccf.gov.msg.created_at'), createdAt),
  ];
  const authenticate = (body: Uint8Array) =>
    instance.node.execute((tx) => ({ result: authenticateMemberCose(tx, body, { msgType: 'state_digest', requireActive: false }), applyWrites: false })).result;
  const refused = (reason: RegExp) => (e: unknown) => e instanceof CocoError && e.code === 'InvalidAuthenticationInfo' && reason.test(e.message);

  test('a tagged envelope with unique labels and an integer created_at is taken', () => {
    assert.equal(authenticate(envelope(headers(encodeCbor(1_700_000_000)))).createdAt, 1_700_000_000);
    // Past 2^32 - 1 too, as a 64-bit integer.
    assert.equal(authenticate(envelope(headers(encodeCbor(9_999_999_999n)))).createdAt, 9_999_999_999);
  });

  test('an untagged COSE_Sign1', () => {
    assert.throws(() => authenticate(envelope(headers(encodeCbor(1_700_000_000)), false)), refused(/COSE_Sign1 is not tagged/));
  });

  test('a protected header label that appears twice, whichever value comes last', () => {
    const twice = [...headers(encodeCbor(1_700_000_000)), entry('ccf.gov.msg.type', 'ack')];
    assert.throws(() => authenticate(envelope(twice)), refused(/label "ccf.gov.msg.type" appears more than once/));
    const kidTwice = [...headers(encodeCbor(1_700_000_000)), entry(4, utf8('someone else'))];
    assert.throws(() => authenticate(envelope(kidTwice)), refused(/label 4 appears more than once/));
  });

  test('a created_at up to 2^63 - 1 (CCF reads a signed 64-bit integer), but not 2^63 nor a negative one', () => {
    assert.equal(authenticate(envelope(headers(encodeCbor(2n ** 63n - 1n)))).createdAt, Number(2n ** 63n - 1n));
    assert.throws(() => authenticate(envelope(headers(encodeCbor(2n ** 63n)))), refused(/ccf.gov.msg.created_at: .*from 0 to 2\^63 - 1/));
    assert.throws(() => authenticate(envelope(headers(encodeCbor(-1)))), refused(/ccf.gov.msg.created_at: .*from 0 to 2\^63 - 1/));
  });

  test('a created_at encoded as a float, even a whole one', () => {
    assert.throws(() => authenticate(envelope(headers(float64(1_700_000_000)))), refused(/ccf.gov.msg.created_at: .*integer \(not a float\)/));
  });
});
