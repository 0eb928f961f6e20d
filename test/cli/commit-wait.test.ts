// How `coco gov` waits for its change to commit, against stand-in nodes over HTTPS: the node it
// talks to may never hear of the commit (the change removed it), so the CLI asks the other nodes
// that node lists, and any node's Committed or Invalid settles the wait.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createServiceIdentity } from '../../src/node/identities.js';
import { runCoco, runCocoAsync, type CliResult } from '../support/run-cli.js';
import { standInNode, type StandInRoute } from '../support/stand-in-node.js';
import { testPort } from '../support/test-ports.js';

const TX_ID = '5.30';
const PROPOSAL_ID = 'c'.repeat(64);
const TEST_TIMEOUT_MS = 120_000;

/** A node's entry in GET /node/network/nodes. */
function listed(port: number, status: string): unknown {
  const address = `127.0.0.1:${port}`;
  return { node_id: String(port).padStart(64, '0'), status, primary: false, rpc_interfaces: { primary_rpc_interface: { bind_address: address, published_address: address } } };
}

/**
 * A service of stand-ins: the node the CLI talks to takes the ballot and reports its transaction
 * `askedSays`, and lists itself Retired, another node (reporting `otherSays`) and a retired one
 * where nothing listens. Returns the workspace for --workspace and that node's URL.
 */
async function service(t: { after: (fn: () => void) => void }, askedSays: string, otherSays: string): Promise<{ workspace: string; url: string; otherUrl: string }> {
  const workspace = mkdtempSync(join(tmpdir(), 'coco-commit-wait-'));
  const common = join(workspace, 'sandbox_common');
  assert.equal(runCoco(['keygen', '--name', 'member0', '--dir', common]).status, 0);
  const identity = createServiceIdentity(new Date(), 1);
  writeFileSync(join(common, 'service_cert.pem'), identity.certPem);
  const [askedPort, otherPort, gonePort] = [await testPort(), await testPort(), await testPort()];
  const status = (says: string): StandInRoute => (method, path) => (method === 'GET' && path === `/node/tx?transaction_id=${TX_ID}` ? { status: 200, body: { transaction_id: TX_ID, status: says } } : undefined);
  const asked = await standInNode(identity, askedPort, (method, path) => {
    if (method === 'POST' && path.startsWith(`/gov/members/proposals/${PROPOSAL_ID}/ballots/`)) {
      return { status: 200, headers: { 'x-ms-ccf-transaction-id': TX_ID }, body: { proposalId: PROPOSAL_ID, proposerId: 'd'.repeat(64), proposalState: 'Accepted', ballotCount: 1 } };
    }
    if (method === 'GET' && path === '/node/network/nodes') return { status: 200, body: { nodes: [listed(askedPort, 'Retired'), listed(otherPort, 'Trusted'), listed(gonePort, 'Retired')] } };
    return status(askedSays)(method, path);
  });
  const other = await standInNode(identity, otherPort, status(otherSays));
  t.after(() => {
    asked.close();
    other.close();
    rmSync(workspace, { recursive: true, force: true });
  });
  return { workspace, url: `https://127.0.0.1:${askedPort}`, otherUrl: `https://127.0.0.1:${otherPort}` };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `coco gov vote` as a process, while this one serves the stand-ins. */
function vote(workspace: string, url: string): Promise<CliResult> {
  return runCocoAsync(['gov', 'vote', PROPOSAL_ID, '--accept', '--workspace', workspace, '--url', url]);
}

test('gov vote through a node that never hears its change commit (the change removed it) ends when another node of the service reports it Committed', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { workspace, url, otherUrl } = await service(t, 'Pending', 'Committed');
  const result = await vote(workspace, url);
  assert.equal(result.status, 0, result.stderr);
  assert.equal((JSON.parse(result.stdout) as { proposalState: string }).proposalState, 'Accepted');
  const [asked, other] = [url, otherUrl].map((u) => escape(new URL(u).host));
  assert.match(result.stderr, new RegExp(`^waiting for ${escape(TX_ID)} to be committed\\.{3,} committed, as ${other} says \\(${asked}, the node asked, has not heard yet\\)\\n$`));
});

test('gov vote ends at once when another node of the service reports its change Invalid', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { workspace, url } = await service(t, 'Pending', 'Invalid');
  const result = await vote(workspace, url);
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stderr, new RegExp(`failed\\ncoco: transaction ${escape(TX_ID)} is Invalid: it was rolled back and will never commit; submit the request again \\[TransactionInvalid\\]\\n$`));
});
