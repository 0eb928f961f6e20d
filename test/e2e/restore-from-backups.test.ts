// A whole network restored from backups taken at different points (a ledger rekey between them), with
// real node processes: nodes restored each from its own copy hold two committed histories, and the
// node holding the history the others lack stops, in one line, instead of serving it; restored as
// docs/node-config.md "Backups" says, every node resumes from the newest copy's ledger and they agree.

import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort } from '../../src/cli/free-port.js';
import { CocoClient } from '../../src/client/coco-client.js';
import { GovernanceClient } from '../../src/client/governance-client.js';
import { passProposal } from '../../src/client/open-service.js';
import { waitForCommit } from '../../src/client/transactions.js';
import { formatTxId, type TxId } from '../../src/ledger/tx-id.js';
import { parseChunkName } from '../../src/ledger/chunk-file.js';
import { runNode } from '../support/joiner-process.js';
import { startSandbox, type SandboxProcess } from '../support/sandbox-process.js';
import { testPort } from '../support/test-ports.js';
import { until } from '../support/until.js';

const NODES = 3;
const WAIT_MS = 30_000;
/** Small, so that chunks close and snapshots are taken every few writes. */
const SNAPSHOT_TX_INTERVAL = 20;
const TEST_TIMEOUT_MS = 240_000;

/** The first of 2 × NODES consecutive free ports (client ports, then node-to-node ports), from COCO_TEST_PORTS when set. */
async function consecutivePorts(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = await testPort();
    try {
      for (let i = 1; i < 2 * NODES; i++) await freePort('127.0.0.1', { range: [first + i, first + i + 1] });
      return first;
    } catch {
      // One of the next ports is taken: draw again.
    }
  }
  throw new Error(`no ${2 * NODES} consecutive free ports found`);
}

interface RunningNode {
  child: ChildProcess;
  output(): string;
}

class RestoredNetwork {
  readonly nodes = new Map<number, RunningNode>();
  private readonly clients: CocoClient[] = [];

  constructor(readonly sandbox: SandboxProcess) {}

  dir(i: number): string {
    return join(this.sandbox.workspace, `sandbox_${i}`);
  }

  client(i: number): CocoClient {
    const client = new CocoClient({ url: this.sandbox.nodeUrl(i), caCertPem: this.sandbox.pem('service_cert.pem'), certPem: this.sandbox.pem('user0_cert.pem'), keyPem: this.sandbox.pem('user0_privk.pem'), requestTimeoutMs: 5_000 });
    this.clients.push(client);
    return client;
  }

  /** What every node started here printed, to explain a failure. */
  outputs(): string {
    return [...this.nodes].map(([i, node]) => `--- node ${i}:\n${node.output()}`).join('\n');
  }

  start(i: number): RunningNode {
    const node = runNode(this.dir(i));
    this.nodes.set(i, node);
    return node;
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.close();
    for (const { child } of this.nodes.values()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await this.sandbox.stop();
  }
}

/** Backs a running node up by name, as docs/node-config.md "Backups" says: what never changes, and its own files. */
function backUp(nodeDir: string, copy: string): void {
  mkdirSync(join(copy, 'ledger'), { recursive: true });
  mkdirSync(join(copy, 'snapshots'), { recursive: true });
  // Not the commit marker: it names commits in chunks not yet named .committed, which a copy of the
  // .committed files lacks, and a node whose ledger ends before its marker refuses to start.
  for (const name of ['config.json', 'sealed_secrets.json', 'consensus_state.json']) {
    if (existsSync(join(nodeDir, name))) copyFileSync(join(nodeDir, name), join(copy, name));
  }
  const snapshot = latestCommittedSnapshot(join(nodeDir, 'snapshots'));
  if (snapshot !== undefined) copyFileSync(join(nodeDir, 'snapshots', snapshot), join(copy, 'snapshots', snapshot));
  for (const name of readdirSync(join(nodeDir, 'ledger')).filter((n) => n.endsWith('.committed'))) copyFileSync(join(nodeDir, 'ledger', name), join(copy, 'ledger', name));
}

function latestCommittedSnapshot(directory: string): string | undefined {
  const seqnoOf = (name: string) => Number(/^snapshot_(\d+)_/.exec(name)![1]);
  return readdirSync(directory).filter((n) => n.startsWith('snapshot_') && n.endsWith('.committed')).sort((a, b) => seqnoOf(a) - seqnoOf(b)).at(-1);
}

/** The last seqno of the node's `.committed` chunks. */
function committedLedgerEnd(nodeDir: string): number {
  const ends = readdirSync(join(nodeDir, 'ledger')).filter((n) => n.endsWith('.committed')).map((n) => parseChunkName(n)?.last ?? 0);
  return Math.max(0, ...ends);
}

async function write(client: CocoClient, id: number): Promise<TxId> {
  const txId = (await client.request('POST', '/app/log/private', { body: { id, msg: `record ${id}` } })).txId;
  assert.ok(txId !== undefined);
  return txId;
}

async function writeMany(client: CocoClient, from: number, count: number): Promise<TxId> {
  let last: TxId | undefined;
  for (let id = from; id < from + count; id++) last = await write(client, id);
  await waitForCommit(client, last!, { timeoutMs: WAIT_MS });
  return last!;
}

async function status(client: CocoClient, txId: TxId): Promise<string> {
  return (await client.request('GET', `/app/tx?transaction_id=${formatTxId(txId)}`)).json<{ status: string }>().status;
}

/** A 3-node service whose nodes 0 and 1 were backed up after the first writes, node 2 after more: the copies, and the last TxID of each round. */
async function backupsAtDifferentPoints(t: { after(fn: () => Promise<void>): void }): Promise<{ network: RestoredNetwork; copies: string; older: TxId; newer: TxId }> {
  const sandbox = await startSandbox(['--nodes', String(NODES), '--port', String(await consecutivePorts()), '--snapshot-tx-interval', String(SNAPSHOT_TX_INTERVAL)]);
  const network = new RestoredNetwork(sandbox);
  t.after(() => network.close());
  const copies = mkdtempSync(join(tmpdir(), 'coco-backups-'));
  t.after(async () => rmSync(copies, { recursive: true, force: true }));
  const client = network.client(0);

  const older = await writeMany(client, 1, 30);
  await until('nodes 0 and 1 to hold committed chunks up to the first writes', WAIT_MS, async () => ([0, 1].every((i) => committedLedgerEnd(network.dir(i)) > 20) ? true : undefined));
  for (const i of [0, 1]) backUp(network.dir(i), join(copies, `sandbox_${i}`));
  const backedUp = Math.max(...[0, 1].map((i) => committedLedgerEnd(join(copies, `sandbox_${i}`))));

  // The service goes on meanwhile, under a new ledger secret (nodes 0 and 1's sealed secrets do not hold it);
  // node 2 is backed up once its committed chunks and snapshot are well past the first round.
  const member = new GovernanceClient(client, { member: { certPem: sandbox.pem('member0_cert.pem'), keyPem: sandbox.pem('member0_privk.pem') } });
  const rekey = await passProposal(client, [member], [{ name: 'trigger_ledger_rekey', args: {} }]);
  assert.equal(rekey.proposalState, 'Accepted', JSON.stringify(rekey));
  const newer = await writeMany(client, 100, 60);
  // A chunk is committed once a later one starts: writes go on until node 2's committed chunks hold `newer`.
  let filler = 200;
  await until("node 2's committed chunks to hold the second writes", WAIT_MS, async () => {
    if (committedLedgerEnd(network.dir(2)) >= newer.seqno) return true;
    await writeMany(client, filler++, 1);
    return undefined;
  });
  assert.ok(newer.seqno > backedUp + 2 * SNAPSHOT_TX_INTERVAL && latestCommittedSnapshot(join(network.dir(2), 'snapshots')) !== undefined);
  backUp(network.dir(2), join(copies, 'sandbox_2'));
  await sandbox.stop({ keep: true });
  return { network, copies, older, newer };
}

test('nodes restored each from its own copy, taken at different points: the node whose committed history the others lack stops in one line, and the others go on', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { network, copies } = await backupsAtDifferentPoints(t);
  for (let i = 0; i < NODES; i++) {
    rmSync(network.dir(i), { recursive: true, force: true });
    cpSync(join(copies, `sandbox_${i}`), network.dir(i), { recursive: true });
  }
  // Nodes 0 and 1 first: they elect a primary and commit in a new view, past what node 2's copy committed in the old one.
  network.start(0);
  network.start(1);
  const client0 = network.client(0);
  const afterRestore = await until('nodes 0 and 1 to commit a write', WAIT_MS * 2, async () => {
    const txId = await write(client0, 1000);
    await waitForCommit(client0, txId, { timeoutMs: WAIT_MS });
    return txId;
  });

  const node2 = network.start(2);
  const code = await until('node 2 to stop', WAIT_MS, async () => node2.child.exitCode ?? undefined).catch(() => assert.fail(`node 2 still runs:\n${network.outputs()}`));
  assert.equal(code, 1, node2.output());
  // Said once, whether the node finds the split while it starts or once it serves.
  const splits = node2.output().split('\n').filter((line) => line.includes('history split'));
  assert.equal(splits.length, 1, node2.output());
  assert.match(node2.output(), /coco node: stopped, as it cannot go on \(the error line logged before this one says why\)/);
  const [, seqno, ours, commit] = /holds \d+\.(\d+) where this node committed (\d+\.\d+) \(this node's commit: (\d+\.\d+)\)/.exec(splits[0]!) ?? [];
  assert.ok(seqno !== undefined, splits[0]);
  assert.ok(Number(seqno) <= afterRestore.seqno && ours === `${ours!.split('.')[0]}.${seqno}`, splits[0]);
  assert.ok(Number(commit!.split('.')[1]) >= Number(seqno), splits[0]);
  assert.match(splits[0]!, /^\S+ \[error\] coco node \w+: stopped applying transactions: history split: .*docs\/node-config\.md, "Backups"\)$/);

  // The others commit on, and the primary does not log about node 2 at each heartbeat.
  const next = await write(client0, 1001);
  await waitForCommit(client0, next, { timeoutMs: WAIT_MS });
  assert.equal(await status(network.client(1), next), 'Committed');
  for (const i of [0, 1]) {
    const output = network.nodes.get(i)!.output();
    assert.ok(output.split('\n').filter((line) => line.includes('past its end')).length <= 1, output);
    assert.doesNotMatch(output, /dropped a consensus message/);
  }
});

/** Restores node i as docs/node-config.md "Backups" says for a whole network: its own configuration, sealed secrets and snapshot; the newest copy's committed chunks; no consensus state. */
function restoreFromNewest(nodeDir: string, own: string, newest: string): void {
  rmSync(nodeDir, { recursive: true, force: true });
  mkdirSync(nodeDir);
  for (const name of ['config.json', 'sealed_secrets.json']) copyFileSync(join(own, name), join(nodeDir, name));
  cpSync(join(own, 'snapshots'), join(nodeDir, 'snapshots'), { recursive: true });
  cpSync(join(newest, 'ledger'), join(nodeDir, 'ledger'), { recursive: true });
}

test('a network restored as the docs say from copies taken at different points (each node its own configuration, sealed secrets and snapshot, and the newest copy\'s committed chunks) agrees on one history and commits', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { network, copies, older, newer } = await backupsAtDifferentPoints(t);
  const newest = join(copies, 'sandbox_2');
  // The newest copy's snapshot, taken after a rekey node 0's sealed secrets predate, is refused: hence each node's own.
  restoreFromNewest(network.dir(0), join(copies, 'sandbox_0'), newest);
  rmSync(join(network.dir(0), 'snapshots'), { recursive: true });
  cpSync(join(newest, 'snapshots'), join(network.dir(0), 'snapshots'), { recursive: true });
  const refused = network.start(0);
  assert.equal(await until('node 0 to refuse the newest snapshot', WAIT_MS, async () => refused.child.exitCode ?? undefined), 1);
  assert.match(refused.output(), /does not decrypt with the ledger secret .*predate its rekey.*\[DecryptionFailed\]/);

  for (let i = 0; i < NODES; i++) restoreFromNewest(network.dir(i), join(copies, `sandbox_${i}`), newest);
  for (let i = 0; i < NODES; i++) network.start(i);
  const clients = Array.from({ length: NODES }, (_, i) => network.client(i));
  const restored = committedLedgerEnd(newest);

  const after = await until('a write after the restore to commit', WAIT_MS * 2, async () => {
    const txId = await write(clients[0]!, 1000);
    await waitForCommit(clients[0]!, txId, { timeoutMs: WAIT_MS });
    return txId;
  });
  assert.ok(after.seqno > restored, `the service resumes after what the newest copy committed (${restored}), at ${formatTxId(after)}`);
  const resumedAt = [...network.nodes.values()].map((node) => /resumed from .*: last transaction (\d+\.\d+)/.exec(node.output())?.[1]);
  assert.deepEqual(resumedAt, Array(NODES).fill(`${newer.view}.${restored}`), 'every node resumes at the newest copy\'s last committed transaction');
  for (let i = 0; i < NODES; i++) {
    const client = clients[i]!;
    await waitForCommit(client, after, { timeoutMs: WAIT_MS });
    for (const txId of [older, newer]) assert.equal(await status(client, txId), 'Committed', `node ${i}: ${formatTxId(txId)}`);
    assert.equal(await status(client, { view: newer.view, seqno: after.seqno }), 'Invalid', `node ${i}`);
    for (const id of [1, 30, 100, 159, 1000]) {
      assert.deepEqual((await client.request('GET', `/app/log/private?id=${id}`)).json(), { msg: `record ${id}` }, `node ${i} reads record ${id}`);
    }
    const output = network.nodes.get(i)!.output();
    assert.doesNotMatch(output, /history split|past its end|lacks entries|dropped a consensus message/, `node ${i}`);
  }
});
