// `coco app deploy` proposes set_js_app and votes for it: two transactions, either of which an
// election may roll back. Against a stand-in primary that plays each rollback over real HTTPS, the
// command takes its step again: a proposal the service lost is made again, and a lost ballot is cast
// again on the proposal still Open, never leaving a second proposal behind.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createServiceIdentity } from '../../src/node/identities.js';
import { repoRoot } from '../support/paths.js';
import { runCoco, runCocoAsync, type CliResult } from '../support/run-cli.js';
import { standInNode, type StandInAnswer } from '../support/stand-in-node.js';
import { testPort } from '../support/test-ports.js';

const TEST_TIMEOUT_MS = 120_000;
const BUNDLE = join(repoRoot, 'samples', 'logging', 'dist', 'bundle.json');
const PROPOSER = 'd'.repeat(64);

/** What the stand-in primary saw and how it answers: each transaction's status by TxID. */
interface Primary {
  url: string;
  workspace: string;
  proposalsMade: string[];
  ballotsOn: string[];
  statuses: Map<string, string>;
  /** Proposals the service still has, with their state. */
  proposals: Map<string, string>;
}

/**
 * A stand-in primary of a one-member service. `onProposal` and `onBallot` decide, per request, the
 * TxID it gets and what happens to it (its status, and the proposal's state afterwards).
 */
async function primary(
  t: { after: (fn: () => void) => void },
  script: { onProposal: (index: number) => { txId: string; status: string; kept?: boolean }; onBallot: (index: number) => { txId: string; status: string; state: string } },
): Promise<Primary> {
  const workspace = mkdtempSync(join(tmpdir(), 'coco-deploy-rollback-'));
  const common = join(workspace, 'sandbox_common');
  assert.equal(runCoco(['keygen', '--name', 'member0', '--dir', common]).status, 0);
  const identity = createServiceIdentity(new Date(), 1);
  writeFileSync(join(common, 'service_cert.pem'), identity.certPem);
  const port = await testPort();
  const seen: Primary = { url: `https://127.0.0.1:${port}`, workspace, proposalsMade: [], ballotsOn: [], statuses: new Map(), proposals: new Map() };
  const proposal = (id: string, state: string, txId: string): StandInAnswer => ({
    status: 200,
    headers: { 'x-ms-ccf-transaction-id': txId },
    body: { proposalId: id, proposerId: PROPOSER, proposalState: state, ballotCount: state === 'Open' ? 0 : 1 },
  });
  const server = await standInNode(identity, port, (method, fullPath) => {
    const path = fullPath.split('?')[0]!;
    if (method === 'POST' && path === '/gov/members/proposals:create') {
      const { txId, status, kept = status !== 'Invalid' } = script.onProposal(seen.proposalsMade.length);
      const id = String(seen.proposalsMade.length + 1).repeat(64);
      seen.proposalsMade.push(id);
      seen.statuses.set(txId, status);
      if (kept) seen.proposals.set(id, 'Open');
      return proposal(id, 'Open', txId);
    }
    const ballot = /^\/gov\/members\/proposals\/([0-9a-f]{64})\/ballots\/[0-9a-f]{64}:submit$/.exec(path);
    if (method === 'POST' && ballot) {
      const id = ballot[1]!;
      seen.ballotsOn.push(id);
      if (!seen.proposals.has(id)) return { status: 404, body: { error: { code: 'ProposalNotFound', message: `Could not find proposal ${id}.` } } };
      const { txId, status, state } = script.onBallot(seen.ballotsOn.length - 1);
      seen.statuses.set(txId, status);
      if (status !== 'Invalid') seen.proposals.set(id, state);
      return proposal(id, state, txId);
    }
    const got = /^\/gov\/members\/proposals\/([0-9a-f]{64})$/.exec(path);
    if (method === 'GET' && got) {
      const state = seen.proposals.get(got[1]!);
      return state === undefined ? { status: 404, body: { error: { code: 'ProposalNotFound', message: `Could not find proposal ${got[1]}.` } } } : proposal(got[1]!, state, '0.0');
    }
    if (method === 'GET' && path === '/node/tx') {
      const txId = new URL(fullPath, 'https://x').searchParams.get('transaction_id')!;
      return { status: 200, body: { transaction_id: txId, status: seen.statuses.get(txId) ?? 'Unknown' } };
    }
    if (method === 'GET' && path === '/node/network/nodes') return { status: 200, body: { nodes: [] } };
    return undefined;
  });
  t.after(() => {
    server.close();
    rmSync(workspace, { recursive: true, force: true });
  });
  return seen;
}

function deploy(service: Primary): Promise<CliResult> {
  return runCocoAsync(['app', 'deploy', BUNDLE, '--workspace', service.workspace, '--url', service.url], { timeoutMs: 90_000 });
}

test('app deploy whose proposal an election rolled back (the ballot finds no such proposal, its TxID is Invalid) proposes again and deploys', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const service = await primary(t, {
    onProposal: (index) => (index === 0 ? { txId: '2.10', status: 'Invalid' } : { txId: '3.12', status: 'Committed' }),
    onBallot: () => ({ txId: '3.13', status: 'Committed', state: 'Accepted' }),
  });
  const result = await deploy(service);
  assert.equal(result.status, 0, result.stderr);
  assert.equal((JSON.parse(result.stdout) as { proposalState: string }).proposalState, 'Accepted');
  assert.equal(service.proposalsMade.length, 2);
  assert.deepEqual(service.ballotsOn, service.proposalsMade);
  assert.match(result.stderr, /coco app deploy: deploying .*bundle\.json: rolled back by an election \(transaction 2\.10 is Invalid: .*\); taking it again\n/);
});

test('app deploy whose ballot alone an election rolled back votes again on the same proposal, still Open, and makes no second one', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const service = await primary(t, {
    onProposal: () => ({ txId: '2.10', status: 'Committed' }),
    onBallot: (index) => (index === 0 ? { txId: '2.11', status: 'Invalid', state: 'Accepted' } : { txId: '3.14', status: 'Committed', state: 'Accepted' }),
  });
  const result = await deploy(service);
  assert.equal(result.status, 0, result.stderr);
  assert.equal((JSON.parse(result.stdout) as { proposalState: string }).proposalState, 'Accepted');
  assert.equal(service.proposalsMade.length, 1);
  assert.deepEqual(service.ballotsOn, [service.proposalsMade[0], service.proposalsMade[0]]);
  assert.match(result.stderr, /rolled back by an election \(transaction 2\.11 is Invalid: .*\); taking it again\n/);
});

test('app deploy whose ballot finds no proposal that did commit reports ProposalNotFound and takes nothing again', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const service = await primary(t, {
    // Committed, yet gone: e.g. another member's withdrawal took it; that is no rollback to retry.
    onProposal: () => ({ txId: '2.10', status: 'Committed', kept: false }),
    onBallot: () => ({ txId: '2.11', status: 'Committed', state: 'Accepted' }),
  });
  const result = await deploy(service);
  assert.equal(result.status, 1, result.stderr);
  assert.equal(service.proposalsMade.length, 1);
  assert.match(result.stderr, /ProposalNotFound/);
  assert.doesNotMatch(result.stderr, /taking it again/);
});
