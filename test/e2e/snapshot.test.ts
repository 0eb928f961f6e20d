// Snapshots with real processes: the primary writes committed snapshots (and the backup the same
// ones), a node that joins later
// starts from the latest one (its ledger begins after it) and serves everything, restarts from
// it, and once it is corrupted sets it aside, naming the file, and starts without it.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CocoClient } from '../../src/client/coco-client.js';
import { GovernanceClient } from '../../src/client/governance-client.js';
import { passProposal } from '../../src/client/open-service.js';
import { downloadInRanges } from '../../src/client/ranged-download.js';
import { waitForCommit } from '../../src/client/transactions.js';
import { parseSnapshotFileName } from '../../src/ledger/committed-snapshot.js';
import { formatTxId, type TxId } from '../../src/ledger/tx-id.js';
import { listChunkFiles } from '../../src/node/ledger-directory.js';
import { runNode, startJoiner, startJoinersSandbox, validFromNow } from '../support/joiner-process.js';
import { startSandbox } from '../support/sandbox-process.js';
import { runCoco } from '../support/run-cli.js';
import { exitOf } from '../support/child-exit.js';
import { removeNodeDir, startNode } from '../support/node-process.js';
import { until } from '../support/until.js';
import { getUnverified } from '../support/unverified-get.js';

const WAIT_MS = 30_000;
const INTERVAL = 20;

/** The committed snapshots in a node's directory, oldest first. */
function committedSnapshots(nodeDir: string): { name: string; seqno: number }[] {
  return readdirSync(join(nodeDir, 'snapshots'))
    .filter((name) => name.endsWith('.committed'))
    .map((name) => ({ name, seqno: parseSnapshotFileName(name)!.seqno }))
    .sort((a, b) => a.seqno - b.seqno);
}

test('a node joins from the latest snapshot, restarts from it, and once it is corrupted sets it aside and starts without it', async (t) => {
  const { sandbox, children, identity, client } = await startJoinersSandbox(t, ['--nodes', '2', '--snapshot-tx-interval', String(INTERVAL)]);
  const written: TxId[] = [];
  for (let id = 0; id < 3 * INTERVAL; id++) written.push((await client.request('POST', '/app/log/private', { body: { id, msg: `message ${id}` } })).txId!);
  const last = written.at(-1);
  await waitForCommit(client, last!, { timeoutMs: 10_000 });

  // The primary (node 0) completes snapshots once their evidence commits, and serves the latest.
  const snapshots = join(sandbox.workspace, 'sandbox_0', 'snapshots');
  const committedIn = (dir: string) => readdirSync(dir).filter((name) => parseSnapshotFileName(name)?.committed);
  // The backup writes the same snapshots, byte for byte (checked against the primary's evidence), to
  // restart from them. Each node keeps its 3 newest: compare one both hold, read at once.
  const backupSnapshots = join(sandbox.workspace, 'sandbox_1', 'snapshots');
  const [committed, copies] = await until('a committed snapshot on the primary and the backup', WAIT_MS, async () => {
    const shared = committedIn(snapshots).find((name) => committedIn(backupSnapshots).includes(name));
    return shared === undefined ? undefined : ([shared, [readFileSync(join(backupSnapshots, shared)), readFileSync(join(snapshots, shared))]] as const);
  });
  assert.deepEqual(copies[0], copies[1], `${committed} differs between the primary and the backup`);
  const latest = await client.request('GET', '/node/snapshot');
  const latestName = String(latest.headers['x-ms-ccf-snapshot-name']);
  assert.ok(parseSnapshotFileName(latestName)!.seqno >= parseSnapshotFileName(committed)!.seqno);
  assert.ok(latest.body.length > 0);

  // CCF's file serving: HEAD, one byte range, the whole file's digest, `since`.
  const path = `/node/snapshot/${latestName}`;
  const head = await client.request('HEAD', path, { headers: { 'want-repr-digest': 'sha-256' } });
  assert.equal(head.status, 200);
  assert.equal(Number(head.headers['content-length']), latest.body.length);
  assert.equal(head.headers['repr-digest'], `sha-256=:${createHash('sha256').update(latest.body).digest('base64')}:`);
  const part = await client.request('GET', path, { headers: { range: 'bytes=10-19' } });
  assert.equal(part.status, 206);
  assert.equal(part.headers['content-range'], `bytes 10-19/${latest.body.length}`);
  assert.deepEqual(part.body, latest.body.subarray(10, 20));
  const badRange = await client.request('GET', path, { headers: { range: 'bytes=20-10' }, allowError: true });
  assert.equal(badRange.status, 400);
  assert.equal(badRange.json<{ error: { code: string } }>().error.code, 'InvalidHeaderValue');
  // A later snapshot may commit meanwhile (its evidence waits for the next signature): hence ≥.
  const latestSeqno = parseSnapshotFileName(latestName)!.seqno;
  const since = await client.request('GET', `/node/snapshot?since=${latestSeqno - 1}`);
  assert.ok(parseSnapshotFileName(String(since.headers['x-ms-ccf-snapshot-name']))!.seqno >= latestSeqno);
  const none = await client.request('GET', '/node/snapshot?since=99999999', { allowError: true });
  assert.equal(none.status, 404);
  assert.equal(none.json<{ error: { code: string } }>().error.code, 'ResourceNotFound');
  const badSince = await client.request('GET', '/node/snapshot?since=-1', { allowError: true });
  assert.equal(badSince.json<{ error: { code: string } }>().error.code, 'InvalidQueryParameterValue');
  for (const name of ['snapshot_1_2', 'ledger_1-10.committed', 'snapshot_999_1000.committed']) {
    assert.equal((await client.request('GET', `/node/snapshot/${name}`, { allowError: true })).status, 404, name);
  }
  // Committed ledger chunks are served the same way, found by a seqno they hold.
  const chunk = await client.request('GET', '/node/ledger-chunk?since=1');
  const chunkName = String(chunk.headers['x-ms-ccf-ledger-chunk-name']);
  assert.match(chunkName, /^ledger_1-\d+\.committed$/);
  assert.deepEqual(chunk.body, new Uint8Array(readFileSync(join(sandbox.workspace, 'sandbox_0', 'ledger', chunkName))));
  const etag = `"sha-256:${createHash('sha256').update(chunk.body).digest('hex')}"`;
  assert.equal(chunk.headers.etag, etag);
  const unchanged = await client.request('GET', `/node/ledger-chunk/${chunkName}`, { headers: { 'if-none-match': etag }, allowError: true });
  assert.equal(unchanged.status, 304);
  assert.equal(unchanged.body.length, 0);
  const chunkPart = await client.request('GET', `/node/ledger-chunk/${chunkName}`, { headers: { range: 'bytes=-8' } });
  assert.deepEqual(chunkPart.body, chunk.body.subarray(chunk.body.length - 8));
  assert.equal((await client.request('GET', '/node/ledger-chunk', { allowError: true })).status, 400, 'since is required');
  assert.equal((await client.request('GET', '/node/ledger-chunk?since=99999999', { allowError: true })).status, 404);
  for (const name of ['ledger_1-5', 'snapshot_1_2.committed', '..%2Fsandbox_common%2Fmember0_privk.pem']) {
    assert.equal((await client.request('GET', `/node/ledger-chunk/${name}`, { allowError: true })).status, 404, name);
  }
  // `coco ledger fetch` downloads the committed chunks; the copy verifies offline and matches the node's files.
  const copy = mkdtempSync(join(tmpdir(), 'coco-ledger-fetch-'));
  t.after(() => rmSync(copy, { recursive: true, force: true }));
  const fetched = runCoco(['ledger', 'fetch', copy, '--url', sandbox.url, '--cacert', sandbox.file('service_cert.pem')]);
  assert.equal(fetched.status, 0, fetched.stderr);
  assert.match(fetched.stdout, /fetched \d+ chunk\(s\), seqno 1 to \d+, into .*; audit them with: coco ledger verify /);
  const copied = readdirSync(copy).sort();
  assert.ok(copied.length >= 1 && copied.every((name) => name.endsWith('.committed')), copied.join(', '));
  for (const name of copied) assert.deepEqual(readFileSync(join(copy, name)), readFileSync(join(sandbox.workspace, 'sandbox_0', 'ledger', name)), name);
  const audited = runCoco(['ledger', 'verify', copy, '--service-cert', sandbox.file('service_cert.pem')]);
  assert.equal(audited.status, 0, audited.stderr);
  const nothing = runCoco(['ledger', 'fetch', copy, '--url', sandbox.url, '--cacert', sandbox.file('service_cert.pem'), '--since', '99999999']);
  assert.equal(nothing.status, 1);
  assert.match(nothing.stderr, /has no committed ledger chunk from seqno 99999999 on/);
  assert.equal(runCoco(['ledger', 'fetch', copy, '--since', 'x']).status, 2);
  // A backup sends the caller to the primary, `since` kept; the client follows to the same file.
  const backup = new CocoClient({ url: sandbox.nodeUrl(1), ...identity });
  t.after(() => backup.close());
  const fromBackup = await backup.request('GET', '/node/snapshot');
  assert.ok(parseSnapshotFileName(String(fromBackup.headers['x-ms-ccf-snapshot-name']))!.seqno >= latestSeqno);
  // What a joiner does: HEAD through the redirects, then pieces from the node that has the file.
  const pieces = await downloadInRanges({ url: sandbox.nodeUrl(1), ...identity }, '/node/snapshot', 1000);
  assert.ok(pieces !== undefined && pieces.bytes.length > 3000, 'several pieces');
  assert.equal(new URL(pieces.head.url).origin, sandbox.url, 'fetched from the primary');
  const whole = await client.request('GET', new URL(pieces.head.url).pathname);
  assert.deepEqual(pieces.bytes, whole.body);
  await assert.rejects(downloadInRanges({ url: sandbox.url, ...identity }, '/node/snapshot', 0), /pieceBytes must be a positive whole number/);
  const unfollowed = new CocoClient({ url: sandbox.nodeUrl(1), ...identity, redirectsMax: 0 });
  t.after(() => unfollowed.close());
  await assert.rejects(unfollowed.request('GET', '/node/snapshot?since=5'), (e: Error) => e.message.includes('/node/snapshot?since=5'));

  // A node joining now starts from that snapshot: its ledger begins right after it.
  const joiner = await startJoiner(sandbox, 'joiner', { operatorFeatures: ['LedgerChunkRead'] });
  children.push(joiner.child);
  const member = new GovernanceClient(client, { member: { certPem: sandbox.pem('member0_cert.pem'), keyPem: sandbox.pem('member0_privk.pem') } });
  const pending = await until('the joiner to be Pending', WAIT_MS, async () =>
    (await client.request('GET', '/node/network/nodes?status=Pending')).json<{ nodes: { node_id: string }[] }>().nodes[0],
  );
  await passProposal(client, [member], [{ name: 'transition_node_to_trusted', args: { node_id: pending.node_id, valid_from: validFromNow() } }]);
  await until('the joiner to serve', WAIT_MS, async () => (joiner.output().includes('coco node: ready') ? true : undefined));
  const joined = new CocoClient({ url: joiner.url, ...identity });
  t.after(() => joined.close());
  // The joiner's interface does not enable SnapshotRead: it serves no snapshot, and says how to.
  const noSnapshot = await joined.request('GET', '/node/snapshot', { allowError: true });
  assert.equal(noSnapshot.status, 404);
  assert.match(noSnapshot.json<{ error: { message: string } }>().error.message, /enabled_operator_features/);
  assert.equal(await downloadInRanges({ url: joiner.url, ...identity }, '/node/snapshot'), undefined, 'nothing to download there');
  const after = (await client.request('POST', '/app/log/private', { body: { id: 1000, msg: 'after the join' } })).txId!;
  await waitForCommit(joined, after, { timeoutMs: WAIT_MS });
  assert.deepEqual((await joined.request('GET', '/app/log/private?id=5')).json(), { msg: 'message 5' }, 'state from the snapshot');
  assert.deepEqual((await joined.request('GET', '/app/log/private?id=1000')).json(), { msg: 'after the join' });
  // By now it may have written a later snapshot of its own too: it started from one it keeps.
  const snapshotSeqno = (await joined.request('GET', '/node/state')).json<{ startup_seqno: number }>().startup_seqno;
  assert.ok(committedSnapshots(joiner.dir).some((s) => s.seqno === snapshotSeqno), `it keeps the snapshot it started from (${snapshotSeqno})`);
  assert.equal(listChunkFiles(join(joiner.dir, 'ledger'))[0]!.chunk.first, snapshotSeqno + 1);
  // It holds no ledger before its snapshot: it sends a chunk request on to the next node, as CCF does.
  const earlyChunk = await joined.request('GET', '/node/ledger-chunk?since=1');
  assert.match(String(earlyChunk.headers['x-ms-ccf-ledger-chunk-name']), /^ledger_1-\d+\.committed$/);
  assert.notEqual(new URL(earlyChunk.url).origin, joiner.url);
  // Nor a receipt from before its snapshot: 404 at once, every time, never 202.
  for (let i = 0; i < 3; i++) {
    const early = await joined.request('GET', `/app/receipt?transaction_id=${formatTxId(written[0]!)}`, { allowError: true });
    assert.equal(early.status, 404);
    assert.match(early.json<{ error: { message: string } }>().error.message, /do not hold .* ask a node that holds/);
  }
  // Nor a historical range from before it: 202 while it looks, then 404, where CCF's would say 202 for ever.
  const range = await until('the range query to settle', WAIT_MS, async () => {
    const answer = await joined.request('GET', '/app/log/private/historical/range?id=5&from_seqno=1', { allowError: true });
    return answer.status === 202 ? undefined : answer;
  });
  assert.equal(range.status, 404, range.text());
  assert.equal(range.json<{ error: { code: string } }>().error.code, 'ResourceNotFound');
  assert.match(range.json<{ error: { message: string } }>().error.message, /ask a node that holds that part of the ledger/);

  // Stopped and started again, it resumes from its snapshot and the ledger after it. The operator
  // gives it the ledger before its snapshot too, copied from the primary into a read-only directory.
  joiner.child.kill('SIGTERM');
  await exitOf(joiner.child, 'the joiner, stopped with SIGTERM');
  const older = join(joiner.dir, 'older-ledger');
  mkdirSync(older);
  const primaryLedger = join(sandbox.workspace, 'sandbox_0', 'ledger');
  const olderChunks = listChunkFiles(primaryLedger).filter((f) => f.chunk.committed && f.chunk.last! <= snapshotSeqno);
  for (const f of olderChunks) copyFileSync(f.path, join(older, f.name));
  const config = JSON.parse(readFileSync(join(joiner.dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(joiner.dir, 'config.json'), JSON.stringify({ ...config, ledger: { read_only_directories: ['older-ledger'] } }));
  const restarted = runNode(joiner.dir);
  children.push(restarted.child);
  await until('the restarted node to serve', WAIT_MS, async () => (restarted.output().includes('coco node: ready') ? true : undefined));
  // It says which snapshot it loads before it loads it: a large one holds it a while.
  const resumedFrom = committedSnapshots(joiner.dir).at(-1)!.name;
  assert.match(restarted.output(), new RegExp(`coco node: loading snapshot ${resumedFrom.replaceAll('.', '\\.')} \\(\\d+\\.\\d MB\\) to resume from\n`));
  const again = new CocoClient({ url: joiner.url, ...identity });
  t.after(() => again.close());
  await waitForCommit(again, after, { timeoutMs: WAIT_MS });
  assert.deepEqual((await again.request('GET', '/app/log/private?id=5')).json(), { msg: 'message 5' });
  // Now it serves the chunks before its snapshot itself, and receipts for the transactions in them.
  const ownEarlyChunk = await again.request('GET', '/node/ledger-chunk?since=1');
  assert.equal(new URL(ownEarlyChunk.url).origin, joiner.url, 'served by the node from its read-only directory');
  assert.deepEqual(ownEarlyChunk.body, new Uint8Array(readFileSync(olderChunks[0]!.path)));
  const receipt = await until('a receipt from before the snapshot, not 202', WAIT_MS, async () => {
    const answer = await again.request('GET', `/app/receipt?transaction_id=${formatTxId(written[0]!)}`, { allowError: true });
    return answer.status === 202 ? undefined : answer;
  });
  assert.equal(receipt.status, 200, receipt.text());
  const receiptFile = join(joiner.dir, 'early-receipt.json');
  writeFileSync(receiptFile, receipt.body);
  const verified = runCoco(['receipt', 'verify', receiptFile, '--service-cert', sandbox.file('service_cert.pem')]);
  assert.equal(verified.status, 0, verified.stderr);
  restarted.child.kill('SIGTERM');
  await exitOf(restarted.child, 'the restarted node, stopped with SIGTERM');

  // A corrupted latest snapshot, the one a restart reads, is refused and set aside, naming the file;
  // the node starts from an older one, or from its ledger (the chunks before its own in the
  // read-only directory), as CCF falls back to an older snapshot.
  const corrupted = committedSnapshots(joiner.dir).at(-1)!.name;
  const file = join(joiner.dir, 'snapshots', corrupted);
  const bytes = readFileSync(file);
  bytes[Math.floor(bytes.length / 3)]! ^= 0x01;
  writeFileSync(file, bytes);
  const fallback = runNode(joiner.dir);
  children.push(fallback.child);
  await until('the node to serve without its corrupted snapshot', WAIT_MS, async () => (fallback.output().includes('coco node: ready') ? true : undefined));
  assert.match(fallback.output(), new RegExp(`\\[warn \\] coco node: snapshot ${corrupted.replaceAll('.', '\\.')} is refused: .+; set aside as ${corrupted.replaceAll('.', '\\.')}\\.ignored, trying `));
  assert.ok(readdirSync(join(joiner.dir, 'snapshots')).includes(`${corrupted}.ignored`));
  const resumed = new CocoClient({ url: joiner.url, ...identity });
  t.after(() => resumed.close());
  await waitForCommit(resumed, after, { timeoutMs: WAIT_MS });
  fallback.child.kill('SIGTERM');
  await exitOf(fallback.child, 'the node restarted without its corrupted snapshot, stopped with SIGTERM');
});

/** A one-node sandbox that has written a few snapshot intervals of entries, and its latest committed snapshot. */
async function sandboxWithSnapshot(t: { after(fn: () => unknown): void }) {
  const { sandbox, children, identity, client } = await startJoinersSandbox(t, ['--nodes', '1', '--snapshot-tx-interval', String(INTERVAL)]);
  let last: TxId | undefined;
  for (let id = 0; id < 2 * INTERVAL; id++) last = (await client.request('POST', '/app/log/private', { body: { id, msg: `message ${id}` } })).txId!;
  await waitForCommit(client, last!, { timeoutMs: 10_000 });
  const node0 = join(sandbox.workspace, 'sandbox_0');
  const snapshot = await until('a committed snapshot', WAIT_MS, async () => committedSnapshots(node0).at(-1));
  return { sandbox, children, identity, client, node0, snapshot };
}

test("a node given another service's sealed secrets says so, not that its good snapshot is damaged", async (t) => {
  const { sandbox, node0 } = await sandboxWithSnapshot(t);
  await sandbox.stop({ keep: true });
  const other = await startNode();
  t.after(() => removeNodeDir(other));
  await other.stop();
  copyFileSync(join(other.dir, 'sealed_secrets.json'), join(node0, 'sealed_secrets.json'));
  const refused = runNode(node0);
  assert.equal(await exitOf(refused.child, "the node given another service's sealed secrets"), 1);
  const output = refused.output();
  // What it loads, then why it refuses it: nothing else.
  const lines = output.trim().split('\n');
  assert.equal(lines.length, 2, output);
  assert.match(lines[0]!, /coco node: loading snapshot snapshot_\d+_\d+\.committed \(\d+\.\d MB\) to resume from$/);
  assert.match(output, /snapshot snapshot_\d+_\d+\.committed is refused: .*another service's.*sealed_secrets\.json.*put that one back.*\[SnapshotServiceMismatch\]/);
  assert.doesNotMatch(output, /remove it/);
});

/**
 * A snapshot the primary took just now: it writes until the next snapshot (counting from the latest
 * it has begun, committed or not) has committed. The few transactions of a join that follows do
 * not reach another, so it stays the service's latest.
 */
async function freshSnapshot(client: CocoClient, node0: string): Promise<{ name: string; seqno: number }> {
  const begun = Math.max(...readdirSync(join(node0, 'snapshots')).map((name) => parseSnapshotFileName(name)?.seqno ?? 0));
  return until('the next committed snapshot', WAIT_MS, async () => {
    const taken = committedSnapshots(node0).find((s) => s.seqno >= begun + INTERVAL);
    if (taken === undefined) await client.request('POST', '/app/log/private', { body: { id: 999, msg: 'on to the next snapshot' } });
    return taken;
  });
}

test("a joiner starts from the committed snapshot copied into its snapshots directory, as CCF's operators do; a damaged copy is refused before it joins", async (t) => {
  const { sandbox, children, identity, client, node0 } = await sandboxWithSnapshot(t);
  const snapshot = await freshSnapshot(client, node0);
  const copyInto = (name: string, alter: boolean) => {
    const bytes = readFileSync(join(node0, 'snapshots', snapshot.name));
    if (alter) bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    mkdirSync(join(sandbox.workspace, name, 'snapshots'), { recursive: true });
    writeFileSync(join(sandbox.workspace, name, 'snapshots', snapshot.name), bytes);
  };
  copyInto('damaged', true);
  const damaged = await startJoiner(sandbox, 'damaged');
  children.push(damaged.child);
  assert.equal(await exitOf(damaged.child, 'the joiner given a damaged snapshot'), 1);
  assert.equal(damaged.output().trim().split('\n').length, 1, damaged.output());
  assert.match(damaged.output(), new RegExp(`snapshot ${snapshot.name} in .*snapshots, which this node would join from, is refused .*Replace it with the service's latest .* \\[SnapshotInvalid\\]`));
  const pendingNodes = async () => (await client.request('GET', '/node/network/nodes?status=Pending')).json<{ nodes: { node_id: string }[] }>().nodes;
  assert.deepEqual(await pendingNodes(), [], 'it did not ask to join');

  copyInto('joiner', false);
  const joiner = await startJoiner(sandbox, 'joiner');
  children.push(joiner.child);
  const member = new GovernanceClient(client, { member: { certPem: sandbox.pem('member0_cert.pem'), keyPem: sandbox.pem('member0_privk.pem') } });
  const pending = await until('the joiner to be Pending', WAIT_MS, async () => (await pendingNodes())[0]);
  // While Pending, its state already names the snapshot it joins from, as CCF's (QA: it said 0).
  assert.deepEqual((await getUnverified(`${joiner.url}/node/state`)).json, { node_id: pending.node_id, state: 'Pending', last_signed_seqno: 0, startup_seqno: snapshot.seqno, stop_notice: false });
  await passProposal(client, [member], [{ name: 'transition_node_to_trusted', args: { node_id: pending.node_id, valid_from: validFromNow() } }]);
  await until('the joiner to serve', WAIT_MS, async () => (joiner.output().includes('coco node: ready') ? true : undefined));
  assert.match(joiner.output(), new RegExp(`starting from snapshot ${snapshot.name} in .*snapshots: the service serves none newer`));
  assert.doesNotMatch(joiner.output(), /fetched snapshot/);
  const joined = new CocoClient({ url: joiner.url, ...identity });
  t.after(() => joined.close());
  assert.equal((await joined.request('GET', '/node/state')).json<{ startup_seqno: number }>().startup_seqno, snapshot.seqno);
  const after = (await client.request('POST', '/app/log/private', { body: { id: 1000, msg: 'after the join' } })).txId!;
  await waitForCommit(joined, after, { timeoutMs: WAIT_MS });
  assert.deepEqual((await joined.request('GET', '/app/log/private?id=5')).json(), { msg: 'message 5' }, 'state from the snapshot');
  assert.equal(listChunkFiles(join(joiner.dir, 'ledger'))[0]!.chunk.first, snapshot.seqno + 1);

  // Its snapshots moved aside (as a refusal of a damaged one says), its ledger lacks the entries
  // before: the refusal says to put back a snapshot, not to replace the chunk, which is sound.
  joiner.child.kill('SIGTERM');
  await exitOf(joiner.child, 'the joiner, stopped with SIGTERM');
  renameSync(join(joiner.dir, 'snapshots'), join(joiner.dir, 'snapshots-aside'));
  const refused = runNode(joiner.dir);
  children.push(refused.child);
  assert.equal(await exitOf(refused.child, 'the joiner without its snapshot'), 1);
  const first = listChunkFiles(join(joiner.dir, 'ledger'))[0]!.name;
  assert.match(
    refused.output(),
    new RegExp(
      `${first}: the ledger starts at seqno ${snapshot.seqno + 1}; verification needs every chunk from seqno 1; the entries before ${first} are missing, as after a start from a snapshot that is gone: ` +
        `put back into \\S*snapshots a committed snapshot at or after seqno ${snapshot.seqno} \\(this node's own older one, or another node's copy: GET /node/snapshot where SnapshotRead is enabled\\), ` +
        `or the chunks holding seqno 1 to ${snapshot.seqno} \\(another node's copies: GET /node/ledger-chunk\\?since=1 where LedgerChunkRead is enabled\\) into ledger.read_only_directories \\[LedgerRefused\\]`,
    ),
  );
  assert.doesNotMatch(refused.output(), /another node's copy \(GET \/node\/ledger-chunk\/ledger_/);
});

test('a joiner that could not catch up is refused (StartupSeqnoIsOld): its target serves no snapshot and the primary restarted from one', async (t) => {
  const { sandbox, node0 } = await sandboxWithSnapshot(t);
  // Restarted, the node resumes from its latest snapshot: its log starts after it. Its interface
  // stops serving snapshots, as an operator's may (SnapshotRead is off by default).
  await sandbox.stop({ keep: true });
  const configFile = join(node0, 'config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as { network: { rpc_interfaces: Record<string, { enabled_operator_features?: string[] }> } };
  for (const iface of Object.values(config.network.rpc_interfaces)) iface.enabled_operator_features = [];
  writeFileSync(configFile, JSON.stringify(config));
  const restarted = await startSandbox([], sandbox.workspace);
  t.after(() => restarted.stop());
  const identity = { caCertPem: restarted.pem('service_cert.pem'), certPem: restarted.pem('user0_cert.pem'), keyPem: restarted.pem('user0_privk.pem') };
  const client = new CocoClient({ url: restarted.url, ...identity });
  t.after(() => client.close());
  const startupSeqno = (await client.request('GET', '/node/state')).json<{ startup_seqno: number }>().startup_seqno;
  assert.ok(startupSeqno > 0, 'the primary resumed from a snapshot');

  const joiner = await startJoiner(restarted, 'joiner');
  t.after(() => {
    if (joiner.child.exitCode === null) joiner.child.kill('SIGKILL');
  });
  assert.equal(await exitOf(joiner.child, 'the joiner that could not catch up'), 1);
  const output = joiner.output();
  assert.match(output, /the target 127\.0\.0\.1:\d+ serves no snapshot \(GET \/node\/snapshot answered 404: .*"SnapshotRead".*\): joining without one/);
  assert.match(output, new RegExp(`StartupSeqnoIsOld: node requested to join without a snapshot \\(startup_seqno 0\\), which is older than this node's startup seqno ${startupSeqno}: .*Enable "SnapshotRead".*or copy a committed snapshot at or after seqno ${startupSeqno}`));
  const nodes = (await client.request('GET', '/node/network/nodes')).json<{ nodes: unknown[] }>().nodes;
  assert.equal(nodes.length, 1, 'it was not recorded, so members could not trust it');
});
