// Network faults on real node processes, injected by a TCP proxy in front of every node's
// node-to-node listener (test/support/network-fixture.ts): a primary cut off from the others cannot
// commit and gives way to a new primary, its stranded write ends Invalid once healed; one-way
// partitions lose no committed write; a tampered ledger is refused naming the altered seqno, and the
// node restarts on the service's committed chunks its refusal says to fetch; a
// primary that cannot commit answers 503 TooManyPendingTransactions past max_uncommitted_tx_count;
// and a joiner that hears from the primary late still joins.

import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CocoClient } from '../../src/client/coco-client.js';
import { GovernanceClient } from '../../src/client/governance-client.js';
import { requireTxId, waitForCommit } from '../../src/client/transactions.js';
import { formatTxId, type TxId } from '../../src/ledger/tx-id.js';
import { FaultNetwork } from '../support/network-fixture.js';
import { runCocoAsync } from '../support/run-cli.js';

const WAIT_MS = 30_000;
const POLL_MS = 50;

/** Polls `probe` until it returns a value (errors count as "not yet"); fails after `timeoutMs`. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = ` (last error: ${(error as Error).message})`;
    }
    if (Date.now() > deadline) assert.fail(`${what} did not happen within ${timeoutMs} ms${last}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function txStatus(client: CocoClient, txId: TxId): Promise<string> {
  return (await client.request('GET', `/app/tx?transaction_id=${formatTxId(txId)}`)).json<{ status: string }>().status;
}

/** The status of `txId` once it is final (Committed or Invalid) on node i. */
async function finalStatus(network: FaultNetwork, i: number, txId: TxId): Promise<string> {
  const client = network.client(i);
  return until(`a final status of ${formatTxId(txId)} on node ${i}`, async () => {
    const status = await txStatus(client, txId);
    return status === 'Committed' || status === 'Invalid' ? status : undefined;
  });
}

async function post(client: CocoClient, id: number, msg: string, table = 'private'): Promise<TxId> {
  const txId = (await client.request('POST', `/app/log/${table}`, { body: { id, msg } })).txId;
  assert.ok(txId !== undefined, 'a write answers with its TxID');
  return txId;
}

/** What node i reads for record `id`: its message, or undefined when there is no such record. */
async function read(network: FaultNetwork, i: number, id: number): Promise<string | undefined> {
  const response = await network.client(i).request('GET', `/app/log/private?id=${id}`, { allowError: true });
  if (response.status === 404) return undefined;
  assert.equal(response.status, 200, `node ${i} reads record ${id}: ${response.text()}`);
  return response.json<{ msg: string }>().msg;
}

function others(network: FaultNetwork, i: number): number[] {
  return network.nodeIds.map((_, j) => j).filter((j) => j !== i);
}

test('a primary cut off from the others cannot commit; the others elect a new one; healed, it steps down and its write ends Invalid', async (t) => {
  const network = await FaultNetwork.start();
  t.after(() => network.close());
  await network.explained(() => partitionedPrimary(network));
});

async function partitionedPrimary(network: FaultNetwork): Promise<void> {
  const old = await network.primary();
  const majority = others(network, old);

  // Every link passes the proxies, and each proxy knows which node dialled it.
  for (let i = 0; i < network.size; i++) {
    assert.deepEqual([...new Set(network.proxies[i]!.openSources())].sort(), others(network, i).map(String), `the links into node ${i}`);
  }
  const before = await post(network.client(old), 1, 'before the partition');
  await waitForCommit(network.client(old), before);
  const oldView = (await network.consensus(old)).view;

  network.isolate(old);
  // A write sent straight to the old primary right away: it still leads (check-quorum needs an
  // election timeout to notice), so it takes the write, which cannot commit.
  const direct = network.client(old, { redirectsMax: 0 });
  const stranded = await post(direct, 2, 'stranded on the old primary');
  assert.equal(stranded.view, oldView);

  const next = await network.primary(majority);
  const nextView = (await network.consensus(next)).view;
  assert.ok(nextView > oldView, `the new primary leads view ${nextView}, after view ${oldView}`);
  const during = await post(network.client(next), 3, 'written by the majority');
  await waitForCommit(network.client(next), during);
  assert.equal(await txStatus(network.client(old), stranded), 'Pending', 'the stranded write is not committed');

  // Cut off from a majority, the old primary steps down and refuses writes instead of taking them.
  await until('the old primary to step down', async () => ((await network.consensus(old)).leadershipState !== 'Leader' ? true : undefined));
  const refused = await direct.request('POST', '/app/log/private', { body: { id: 4, msg: 'refused' }, allowError: true });
  assert.equal(refused.status, 503, refused.text());
  assert.equal(refused.json<{ error: { code: string } }>().error.code, 'NotPrimary');
  assert.equal(await txStatus(network.client(old), stranded), 'Pending', 'still not committed');

  network.heal();
  await network.converged();
  const rejoined = await network.consensus(old);
  assert.equal(rejoined.leadershipState, 'Follower');
  assert.equal(rejoined.primaryId, network.nodeIds[next]);
  assert.equal(rejoined.view, nextView);
  for (let i = 0; i < network.size; i++) {
    assert.equal(await finalStatus(network, i, stranded), 'Invalid', `node ${i} reports the stranded write Invalid`);
    assert.equal(await txStatus(network.client(i), before), 'Committed');
    assert.equal(await txStatus(network.client(i), during), 'Committed');
    assert.equal(await read(network, i, 1), 'before the partition');
    assert.equal(await read(network, i, 2), undefined, `node ${i} holds no trace of the stranded write`);
    assert.equal(await read(network, i, 3), 'written by the majority');
  }
}

interface Acknowledged {
  id: number;
  txId: TxId;
  /** Whether the writer saw it Committed. */
  committed: boolean;
}

/** A steady write load sent round-robin to every node (redirects followed), recording every TxID it was given. */
class WriteLoad {
  readonly acknowledged: Acknowledged[] = [];
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(private readonly network: FaultNetwork) {
    this.done = this.run();
  }

  get commits(): number {
    return this.acknowledged.filter((write) => write.committed).length;
  }

  /** Waits until `count` more writes have committed. */
  async progress(what: string, count = 3): Promise<void> {
    const target = this.commits + count;
    await until(`${count} more writes to commit (${what})`, async () => (this.commits >= target ? true : undefined));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  private async run(): Promise<void> {
    const clients = this.network.nodeIds.map((_, i) => this.network.client(i));
    for (let id = 1000; !this.stopped; id++) {
      const client = clients[id % clients.length]!;
      try {
        const write: Acknowledged = { id, txId: await post(client, id, `message ${id}`), committed: false };
        this.acknowledged.push(write);
        await waitForCommit(client, write.txId, { timeoutMs: 3_000 });
        write.committed = true;
      } catch {
        // Refused, redirected nowhere, timed out or rolled back: the final check decides what it became.
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    }
  }
}

test('one-way partitions (a primary that cannot hear, then one that cannot speak) lose no committed write, and the service goes on after healing', async (t) => {
  const network = await FaultNetwork.start();
  t.after(() => network.close());
  const load = new WriteLoad(network);
  t.after(() => load.stop());
  await load.progress('before any fault');

  // The primary sends but hears nothing: it cannot commit, steps down, and the others elect a primary.
  const deaf = await network.primary();
  network.proxies[deaf]!.partition();
  const second = await network.primary(others(network, deaf));
  await load.progress('with a deaf old primary');
  network.heal();
  await network.converged();
  await load.progress('after healing the deaf primary');
  assert.notEqual(second, deaf);

  // The primary hears everything but its messages are lost: the others elect a primary without it.
  const mute = await network.primary();
  for (const j of others(network, mute)) network.cut(mute, j);
  const third = await network.primary(others(network, mute));
  await load.progress('with a mute old primary');
  network.heal();
  await network.converged();
  await load.progress('after healing the mute primary');
  await load.stop();
  assert.notEqual(third, mute);

  // Every TxID a client was given ends Committed (readable everywhere) or Invalid (nowhere), the
  // same on every node, and every write seen Committed stays so.
  await network.converged();
  const outcomes = new Map<string, number>();
  for (const write of load.acknowledged) {
    const statuses = [];
    for (let i = 0; i < network.size; i++) statuses.push(await finalStatus(network, i, write.txId));
    assert.equal(new Set(statuses).size, 1, `the nodes agree on ${formatTxId(write.txId)}: ${statuses.join(', ')}`);
    if (write.committed) assert.equal(statuses[0], 'Committed', `write ${write.id} at ${formatTxId(write.txId)} was reported Committed`);
    for (let i = 0; i < network.size; i++) {
      assert.equal(await read(network, i, write.id), statuses[0] === 'Committed' ? `message ${write.id}` : undefined, `node ${i}, write ${write.id} (${statuses[0]})`);
    }
    const outcome = `${statuses[0]}${write.committed ? '' : ' (not seen committed by the writer)'}`;
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  t.diagnostic(`${load.acknowledged.length} writes acknowledged: ${[...outcomes].map(([outcome, n]) => `${n} ${outcome}`).join(', ')}`);
});

test('a node restarted alone still reports Committed what it reported Committed before it was killed', async (t) => {
  const network = await FaultNetwork.start();
  t.after(() => network.close());
  const primary = await network.primary();
  const written = await post(network.client(primary), 9, 'committed, then every node killed');
  for (const i of network.running) await waitForCommit(network.client(i), written);
  const commitBefore = (await network.client(0).request('GET', '/app/commit')).json<{ transaction_id: string }>().transaction_id;
  for (const i of [...network.running]) await network.kill(i);
  // Alone, node 0 hears from no primary: what it says comes from its own files.
  await network.restart(0);
  assert.equal(await txStatus(network.client(0, { redirectsMax: 0 }), written), 'Committed');
  const commitAfter = (await network.client(0, { redirectsMax: 0 }).request('GET', '/app/commit')).json<{ transaction_id: string }>().transaction_id;
  const seqno = (txId: string) => Number(txId.split('.')[1]);
  assert.ok(seqno(commitAfter) >= seqno(commitBefore), `its commit does not go back: ${commitBefore}, then ${commitAfter}`);
});

test('a backup restarted on a ledger with one altered byte refuses to start, naming the seqno of the altered entry', async (t) => {
  const network = await FaultNetwork.start();
  t.after(() => network.close());
  const primary = await network.primary();
  const backup = others(network, primary)[0]!;
  const marker = 'a public message whose ledger entry gets one byte flipped';
  const written = await post(network.client(primary), 7, marker, 'public');
  // Committed on the backup: the entry and a signature over it are in its ledger.
  await waitForCommit(network.client(backup), written);
  await network.stop(backup);

  const ledger = network.ledgerDirectory(backup);
  const holding = readdirSync(ledger).filter((name) => readFileSync(join(ledger, name)).includes(marker));
  assert.equal(holding.length, 1, `one chunk holds the entry: ${readdirSync(ledger).join(', ')}`);
  const chunk = join(ledger, holding[0]!);
  const bytes = readFileSync(chunk);
  bytes[bytes.indexOf(marker) + 2]! ^= 0x01;
  writeFileSync(chunk, bytes);

  await assert.rejects(network.restart(backup), /the node exited \([1-9]\d*\)/);
  assert.ok(!network.isRunning(backup));
  const output = network.output(backup);
  assert.ok(output.includes(`at transaction ${formatTxId(written)}:`), `the refusal names transaction ${formatTxId(written)}:\n${output.split('\n').slice(-5).join('\n')}`);

  // The two other nodes are a majority and go on.
  const after = await post(network.client(primary), 8, 'after the refusal');
  await waitForCommit(network.client(primary), after);

  // The refusal's advice, followed: members commit the chunk still being written, the service's
  // committed chunks from its first seqno are fetched and replace the damaged one and any later.
  const remedy = /ledger_(\d+) is not committed: .*coco ledger fetch DIR --url <node> --cacert <service_cert\.pem> --since (\d+)/.exec(output);
  assert.ok(remedy !== null && remedy[1] === remedy[2], `the refusal says which chunks to fetch:\n${output.split('\n').slice(-3).join('\n')}`);
  const common = join(network.dir, 'common');
  const member = { certPem: readFileSync(join(common, 'member0_cert.pem'), 'utf8'), keyPem: readFileSync(join(common, 'member0_privk.pem'), 'utf8') };
  const client = network.client(primary);
  const gov = new GovernanceClient(client, { member });
  const proposal = await gov.createProposal({ actions: [{ name: 'trigger_ledger_chunk', args: {} }] });
  assert.equal((await gov.submitBallot(proposal.proposalId, 'export function vote() { return true; }')).proposalState, 'Accepted');
  await waitForCommit(client, requireTxId(gov.lastTxId));
  const serviceCert = join(common, 'service_cert.pem');
  const fetched = join(network.dir, 'fetched');
  await until('the chunk committed on the primary', async () => {
    const run = await runCocoAsync(['ledger', 'fetch', fetched, '--url', network.url(primary), '--cacert', serviceCert, '--since', remedy[2]!]);
    return run.status === 0 && readdirSync(fetched).some((name) => name.startsWith(`ledger_${remedy[2]}-`)) ? true : undefined;
  });
  const aside = join(network.dir, 'aside');
  mkdirSync(aside);
  for (const name of readdirSync(ledger).filter((name) => chunkFirst(name) >= Number(remedy[1]))) renameSync(join(ledger, name), join(aside, name));
  for (const name of readdirSync(fetched)) copyFileSync(join(fetched, name), join(ledger, name));
  await network.restart(backup);
  await waitForCommit(network.client(backup), after);
  assert.equal(await read(network, backup, 8), 'after the refusal');
});

/** The first seqno of a chunk file `ledger_<first>[-<last>][.committed]`. */
function chunkFirst(name: string): number {
  return Number(/^ledger_(\d+)/.exec(name)![1]);
}

test('a primary that cannot commit answers 503 TooManyPendingTransactions past max_uncommitted_tx_count, and recovers once healed', async (t) => {
  const maxUncommitted = 8;
  // A long election timeout keeps the cut-off primary in office (no check-quorum step-down, no
  // election) for the whole partition: what is left to see is the bound itself.
  const network = await FaultNetwork.start({ consensus: { max_uncommitted_tx_count: maxUncommitted, election_timeout_ms: 10_000 } });
  t.after(() => network.close());
  const primary = await network.primary();
  const direct = network.client(primary, { redirectsMax: 0 });
  const before = await post(direct, 1, 'before the partition');
  await waitForCommit(direct, before);

  network.isolate(primary);
  const accepted: TxId[] = [];
  let refusal: { status: number; code: string } | undefined;
  for (let id = 100; refusal === undefined; id++) {
    assert.ok(accepted.length <= maxUncommitted, `${accepted.length} writes accepted without a refusal`);
    const response = await direct.request('POST', '/app/log/private', { body: { id, msg: `pending ${id}` }, allowError: true });
    if (response.status === 200) accepted.push(response.txId!);
    else refusal = { status: response.status, code: response.json<{ error: { code: string } }>().error.code };
  }
  assert.deepEqual(refusal, { status: 503, code: 'TooManyPendingTransactions' });
  assert.ok(accepted.length >= 1, 'writes are accepted until the bound is hit');
  t.diagnostic(`${accepted.length} writes accepted before the refusal`);
  for (const txId of accepted) assert.equal(await txStatus(direct, txId), 'Pending');
  const again = await direct.request('POST', '/app/log/private', { body: { id: 99, msg: 'still refused' }, allowError: true });
  assert.equal(again.status, 503, 'the bound holds while nothing commits');
  assert.equal(await read(network, primary, 1), 'before the partition', 'reads are still served');

  network.heal();
  for (const txId of accepted) {
    for (let i = 0; i < network.size; i++) assert.equal(await finalStatus(network, i, txId), 'Committed', `node ${i}: ${formatTxId(txId)}`);
  }
  assert.equal(await network.primary(), primary, 'the same primary leads throughout');
  const after = await post(direct, 2, 'after healing');
  await waitForCommit(direct, after);
  await network.converged();
  for (let i = 0; i < network.size; i++) assert.equal(await read(network, i, 2), 'after healing');
});

test(
  'a joiner that hears from the primary only after an election timeout still joins',
  async (t) => {
    // The primary's traffic to the joiner (handshake included) arrives 1.5 s late: longer than the
    // primary's check-quorum period, so it steps down while the join is still being replicated.
    const network = await FaultNetwork.start({ nodes: 2, open: false, beforeStart: (i, starting) => (i === 1 ? starting.proxies[1]!.delay(1_500) : undefined) });
    t.after(() => network.close());
    network.proxies[1]!.delay(0);
    await until(
      'the join to commit under one primary',
      async () => {
        const state = await network.consensus(0);
        return state.leadershipState === 'Leader' && state.configurations.length === 1 && state.configurations[0]!.length === 2 ? true : undefined;
      },
      10_000,
    );
  },
);
