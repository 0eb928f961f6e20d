// A 3-node network of real processes, as `npm start` runs it: writes replicate and are readable on
// backups, writes sent to a backup are redirected to the primary, a kill -9 of the primary under a
// write load elects another primary and loses nothing reported Committed, and the killed node
// restarted with its configuration rejoins and catches up.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { test } from 'node:test';
import { CocoClient } from '../../src/client/coco-client.js';
import { signGovernanceRequest } from '../../src/client/cose-signing.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { certificateId } from '../../src/crypto/entity-id.js';
import { waitForCommit } from '../../src/client/transactions.js';
import { formatTxId, parseTxId, type TxId } from '../../src/ledger/tx-id.js';
import { repoRoot } from '../support/paths.js';
import { runCoco } from '../support/run-cli.js';
import { exitOf } from '../support/child-exit.js';
import { until } from '../support/until.js';
import { startSandbox, type SandboxProcess } from '../support/sandbox-process.js';

const ELECTION_WAIT_MS = 20_000;

function userClient(sandbox: SandboxProcess, url: string): CocoClient {
  return new CocoClient({ url, caCertPem: sandbox.pem('service_cert.pem'), certPem: sandbox.pem('user0_cert.pem'), keyPem: sandbox.pem('user0_privk.pem'), requestTimeoutMs: 5_000 });
}

/** One request without following redirects: status and headers as the node sent them. */
function rawPost(sandbox: SandboxProcess, url: string, path: string, body: unknown): Promise<{ status: number; location: string | undefined; body: string }> {
  return rawRequest(sandbox, url, 'POST', path, body);
}

/** A request as user0, on a connection of its own unless `agent` keeps one. */
function rawRequest(sandbox: SandboxProcess, url: string, method: string, path: string, body?: unknown, agent?: HttpsAgent): Promise<{ status: number; location: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(new URL(path, url), {
      method,
      ...(agent === undefined ? { ca: sandbox.pem('service_cert.pem'), cert: sandbox.pem('user0_cert.pem'), key: sandbox.pem('user0_privk.pem') } : { agent }),
      headers: { 'content-type': 'application/json' },
    }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, location: response.headers.location, body: text }));
    });
    request.on('error', reject);
    request.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

async function primaryIndex(sandbox: SandboxProcess, alive: number[]): Promise<number> {
  return until('a primary elected', ELECTION_WAIT_MS, async () => {
    for (const i of alive) {
      const client = userClient(sandbox, sandbox.nodeUrl(i));
      try {
        const response = await client.request('GET', '/node/network', { allowError: true });
        const primaryId = response.json<{ primary_id: string | null }>().primary_id;
        if (response.status !== 200 || primaryId === null) continue;
        const self = (await client.request('GET', '/node/network/nodes/self')).json<{ node_id: string }>().node_id;
        if (self === primaryId) return i;
      } finally {
        client.close();
      }
    }
    return undefined;
  });
}

test('a 3-node network replicates, redirects writes to the primary, survives kill -9 of the primary, and a restarted node rejoins', async (t) => {
  const sandbox = await startSandbox(['--nodes', '3']);
  const extra: ChildProcess[] = [];
  t.after(async () => {
    for (const child of extra) if (child.exitCode === null) child.kill('SIGKILL');
    await sandbox.stop();
  });
  const urls = [0, 1, 2].map((i) => sandbox.nodeUrl(i));

  // Every node knows the three Trusted nodes and the same primary.
  const nodes = (await userClient(sandbox, urls[2]!).request('GET', '/node/network/nodes')).json<{ nodes: { status: string; primary: boolean }[] }>().nodes;
  assert.deepEqual(nodes.map((n) => n.status), ['Trusted', 'Trusted', 'Trusted']);
  assert.equal(nodes.filter((n) => n.primary).length, 1);

  // A write sent to a backup is redirected (307) to the primary, with the same path.
  const first = await primaryIndex(sandbox, [0, 1, 2]);
  const backup = [0, 1, 2].find((i) => i !== first)!;
  const redirected = await rawPost(sandbox, urls[backup]!, '/app/log/private', { id: 1, msg: 'one' });
  assert.equal(redirected.status, 307, redirected.body);
  assert.equal(redirected.location, `${urls[first]}/app/log/private`);
  // So is a governance write, before the backup looks anything up: a ballot for a proposal the
  // backup does not hold (yet) is the primary's to judge, as CCF forwards it there.
  const memberCert = sandbox.pem('member0_cert.pem');
  const unknownProposal = 'cd'.repeat(32);
  const ballot = signGovernanceRequest({ content: utf8('{"ballot": "export function vote() { return true; }"}'), msgType: 'ballot', proposalId: unknownProposal, createdAt: Math.floor(Date.now() / 1000), signerCertPem: memberCert, signerKeyPem: sandbox.pem('member0_privk.pem') });
  const ballotPath = `/gov/members/proposals/${unknownProposal}/ballots/${certificateId(memberCert)}:submit?api-version=2024-07-01`;
  const unfollowed = new CocoClient({ url: urls[backup]!, caCertPem: sandbox.pem('service_cert.pem'), redirectsMax: 0 });
  const toPrimary = await unfollowed.request('POST', ballotPath, { body: ballot, contentType: 'application/cose', allowError: true });
  unfollowed.close();
  assert.deepEqual([toPrimary.status, toPrimary.headers.location], [307, `${urls[first]}${ballotPath}`]);

  // The client follows it; the write commits and is readable on every backup.
  const viaBackup = userClient(sandbox, urls[backup]!);
  const written = (await viaBackup.request('POST', '/app/log/private', { body: { id: 1, msg: 'one' } })).txId!;
  await waitForCommit(viaBackup, written, { timeoutMs: 10_000 });
  for (const i of [0, 1, 2]) {
    const client = userClient(sandbox, urls[i]!);
    await waitForCommit(client, written, { timeoutMs: 10_000 });
    assert.deepEqual((await client.request('GET', '/app/log/private?id=1')).json(), { msg: 'one' }, `node ${i} reads the write`);
    client.close();
  }
  viaBackup.close();

  // A steady write load through the backups; then kill -9 the primary.
  const survivors = [0, 1, 2].filter((i) => i !== first);
  const committed: { id: number; txId: TxId }[] = [];
  let stopLoad = false;
  let nextId = 100;
  const load = (async () => {
    const client = userClient(sandbox, urls[survivors[0]!]!);
    while (!stopLoad) {
      const id = nextId++;
      try {
        const txId = (await client.request('POST', '/app/log/private', { body: { id, msg: `message ${id}` } })).txId!;
        await waitForCommit(client, txId, { timeoutMs: 5_000 });
        committed.push({ id, txId });
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    client.close();
  })();
  await until('writes under load', 10_000, async () => (committed.length >= 5 ? true : undefined));
  const pid = Number(readFileSync(join(sandbox.workspace, `sandbox_${first}`, 'node.pid'), 'utf8'));
  process.kill(pid, 'SIGKILL');
  const beforeKill = committed.length;
  await until('writes to commit again after the primary was killed', ELECTION_WAIT_MS, async () => (committed.length >= beforeKill + 5 ? true : undefined));
  stopLoad = true;
  await load;

  // The new primary is one of the survivors, in a later view, and holds every committed write.
  const second = await primaryIndex(sandbox, survivors);
  assert.notEqual(second, first);
  const reader = userClient(sandbox, urls[second]!);
  for (const { id, txId } of committed) {
    assert.equal((await reader.request('GET', `/app/tx?transaction_id=${formatTxId(txId)}`)).json<{ status: string }>().status, 'Committed');
    assert.deepEqual((await reader.request('GET', `/app/log/private?id=${id}`)).json(), { msg: `message ${id}` });
  }
  const latest = committed.at(-1)!;

  // CCF's view history on /commit places every committed write in the view its TxID names.
  const { view_history: history } = (await reader.request('GET', '/app/commit?view_history=true')).json<{ view_history: string[] }>();
  const starts = history.map(parseTxId);
  assert.deepEqual(starts.map((s) => s.view), starts.map((_, i) => i + 1), history.join(' '));
  const viewOf = (seqno: number) => starts.filter((s) => s.seqno <= seqno).at(-1)!.view;
  for (const { txId } of committed) assert.equal(viewOf(txId.seqno), txId.view, `view of ${formatTxId(txId)} in ${history.join(' ')}`);
  assert.ok(latest.txId.view > committed[0]!.txId.view, 'writes committed in the view after the failover');
  const since = (await reader.request('GET', `/app/commit?view_history_since=${latest.txId.view}`)).json<{ view_history: string[] }>().view_history;
  assert.deepEqual(since, history.slice(latest.txId.view - 1));

  // The killed node, restarted with its configuration, rejoins as a backup and catches up.
  const dir = join(sandbox.workspace, `sandbox_${first}`);
  const restarted = spawn(process.execPath, [join(repoRoot, 'bin', 'coco.js'), 'node', '--config', join(dir, 'config.json')], { cwd: dir, stdio: 'ignore' });
  extra.push(restarted);
  const rejoined = userClient(sandbox, urls[first]!);
  await until('the restarted node to catch up', ELECTION_WAIT_MS, async () =>
    (await rejoined.request('GET', `/app/tx?transaction_id=${formatTxId(latest.txId)}`)).json<{ status: string }>().status === 'Committed' ? true : undefined,
  );
  assert.deepEqual((await rejoined.request('GET', `/app/log/private?id=${latest.id}`)).json(), { msg: `message ${latest.id}` });
  rejoined.close();
  reader.close();
  // Ctrl-C of the sandbox stops that node too: no child of the sandbox, but its node.pid says it
  // runs from the workspace.
  await sandbox.stop({ keep: true });
  assert.equal(await exitOf(restarted, 'the node restarted by hand, once the sandbox stopped'), 0, 'a clean stop');
});

test("an endpoint's redirection_strategy sends its requests to the primary or to a backup, as CCF's does", async (t) => {
  const appDir = mkdtempSync(join(tmpdir(), 'coco-redirect-app-'));
  const endpoint = (strategy?: string, forwarding = 'sometimes') => ({
    get: { js_module: 'app.js', js_function: 'here', forwarding_required: forwarding, authn_policies: ['user_cert'], mode: 'readonly', ...(strategy && { redirection_strategy: strategy }) },
  });
  mkdirSync(join(appDir, 'src'));
  // Readwrite endpoints that run on backups: one writes nothing, the other writes.
  const onBackups = (fn: string) => ({ post: { ...endpoint('to_backup').get, js_function: fn, mode: 'readwrite' } });
  writeFileSync(join(appDir, 'app.json'), JSON.stringify({
    endpoints: {
      '/here': endpoint(), '/primary': endpoint('to_primary'), '/backup': endpoint('to_backup'), '/always': endpoint(undefined, 'always'), '/backup-rw': onBackups('here'), '/backup-write': onBackups('writes'),
      '/write': { post: { ...endpoint().get, js_function: 'writes', mode: 'readwrite' } },
    },
  }));
  writeFileSync(join(appDir, 'src', 'app.js'), 'export function here() { return { body: "served" }; }\nexport function writes() { ccf.kv["records"].set(ccf.strToBuf("k"), ccf.strToBuf("v")); return { body: "written" }; }\n');
  const sandbox = await startSandbox(['--nodes', '3', '--app', appDir]);
  t.after(async () => {
    await sandbox.stop();
    rmSync(appDir, { recursive: true, force: true });
  });
  const urls = [0, 1, 2].map((i) => sandbox.nodeUrl(i));
  const primary = await primaryIndex(sandbox, [0, 1, 2]);
  const backups = [0, 1, 2].filter((i) => i !== primary);
  const get = (i: number, path: string) => rawRequest(sandbox, urls[i]!, 'GET', path);

  for (const i of [0, 1, 2]) assert.deepEqual({ ...(await get(i, '/app/here')), location: undefined }, { status: 200, location: undefined, body: 'served' }, `node ${i} serves /here itself`);
  const toPrimary = await get(backups[0]!, '/app/primary?n=1');
  assert.equal(toPrimary.status, 307, toPrimary.body);
  assert.equal(toPrimary.location, `${urls[primary]}/app/primary?n=1`);
  assert.equal((await get(primary, '/app/primary')).status, 200);
  // (On backups[0]: the kept-alive connection it went on is sent to the primary from then on, see below.)
  assert.equal((await get(backups[0]!, '/app/always')).location, `${urls[primary]}/app/always`, 'forwarding_required always: redirected to the primary');
  // CCF's /node/primary and /node/backup: GET answers 200 or 404; HEAD /node/primary on a backup
  // redirects (308) to the primary's.
  assert.equal((await get(primary, '/node/primary')).status, 200);
  const notPrimary = await get(backups[0]!, '/node/primary');
  assert.equal(notPrimary.status, 404);
  assert.equal(JSON.parse(notPrimary.body).error.message, 'Node is not primary');
  const headPrimary = await rawRequest(sandbox, urls[backups[0]!]!, 'HEAD', '/node/primary');
  assert.deepEqual([headPrimary.status, headPrimary.location], [308, `${urls[primary]}/node/primary`]);
  assert.equal((await rawRequest(sandbox, urls[primary]!, 'HEAD', '/node/primary')).status, 200);
  // CCF's /node/network/nodes/primary on a backup: a 308 to the primary's record on the backup itself.
  const primaryId = JSON.parse((await get(primary, '/node/state')).body).node_id as string;
  const primaryRecord = await get(backups[0]!, '/node/network/nodes/primary');
  assert.deepEqual([primaryRecord.status, primaryRecord.location], [308, `${urls[backups[0]!]}/node/network/nodes/${primaryId}`]);
  assert.equal((await get(backups[1]!, '/node/backup')).status, 200);
  const notBackup = await get(primary, '/node/backup');
  assert.equal(notBackup.status, 404);
  assert.equal(JSON.parse(notBackup.body).error.message, 'Node is not backup');
  const toBackup = await get(primary, '/app/backup?n=2');
  assert.equal(toBackup.status, 307, toBackup.body);
  assert.ok(backups.some((i) => toBackup.location === `${urls[i]}/app/backup?n=2`), toBackup.location);
  assert.equal((await get(backups[1]!, '/app/backup')).status, 200);
  // A readwrite endpoint redirected to backups runs there (not back to the primary, again and
  // again); what it writes cannot commit there, and it says so.
  const post = (i: number, path: string) => rawRequest(sandbox, urls[i]!, 'POST', path);
  assert.deepEqual({ ...(await post(backups[0]!, '/app/backup-rw')), location: undefined }, { status: 200, location: undefined, body: 'served' });
  const written = await post(backups[0]!, '/app/backup-write');
  assert.equal(written.status, 503, written.body);
  assert.equal(JSON.parse(written.body).error.code, 'TransactionReplicationFailed');
  assert.match(JSON.parse(written.body).error.message, /runs on backups .* cannot commit writes: its writes were discarded/);
  // CCF's session consistency: once a connection's write was sent to the primary, its later
  // requests to "sometimes" endpoints go there too, so that it reads what it wrote; other
  // connections are still served by the backup.
  const connection = new HttpsAgent({ keepAlive: true, maxSockets: 1, ca: sandbox.pem('service_cert.pem'), cert: sandbox.pem('user0_cert.pem'), key: sandbox.pem('user0_privk.pem') });
  t.after(() => connection.destroy());
  const onConnection = (method: string, path: string) => rawRequest(sandbox, urls[backups[1]!]!, method, path, undefined, connection);
  assert.equal((await onConnection('GET', '/app/here')).status, 200, 'served by the backup before any write');
  const write = await onConnection('POST', '/app/write');
  assert.deepEqual([write.status, write.location], [307, `${urls[primary]}/app/write`], write.body);
  const readAfter = await onConnection('GET', '/app/here?after=write');
  assert.deepEqual([readAfter.status, readAfter.location], [307, `${urls[primary]}/app/here?after=write`], 'a read on the same connection goes to the primary');
  assert.equal((await get(backups[1]!, '/app/here')).status, 200, 'another connection is still served by the backup');
  // So does a connection whose request to a "forwarding_required: always" endpoint went there (QA: CCF's own logging app writes so).
  const always = new HttpsAgent({ keepAlive: true, maxSockets: 1, ca: sandbox.pem('service_cert.pem'), cert: sandbox.pem('user0_cert.pem'), key: sandbox.pem('user0_privk.pem') });
  t.after(() => always.destroy());
  assert.equal((await rawRequest(sandbox, urls[backups[0]!]!, 'GET', '/app/always', undefined, always)).status, 307);
  const afterAlways = await rawRequest(sandbox, urls[backups[0]!]!, 'GET', '/app/here', undefined, always);
  assert.deepEqual([afterAlways.status, afterAlways.location], [307, `${urls[primary]}/app/here`]);
  // The SDK follows the redirect and gets the backup's answer.
  const client = userClient(sandbox, urls[primary]!);
  try {
    assert.equal((await client.request('GET', '/app/backup')).text(), 'served');
  } finally {
    client.close();
  }
  // The SDK pointed at a backup: after its write went to the primary, its app reads, on every
  // connection, go there first; its node requests stay with the backup.
  const backupClient = userClient(sandbox, urls[backups[1]!]!);
  try {
    assert.equal((await backupClient.request('GET', '/app/here')).url, `${urls[backups[1]!]}/app/here`);
    assert.equal((await backupClient.request('POST', '/app/write')).url, `${urls[primary]}/app/write`);
    const reads = await Promise.all([1, 2, 3].map((n) => backupClient.request('GET', `/app/here?n=${n}`)));
    assert.deepEqual(reads.map((read) => read.url), [1, 2, 3].map((n) => `${urls[primary]}/app/here?n=${n}`));
    assert.equal((await backupClient.request('GET', '/node/state')).url, `${urls[backups[1]!]}/node/state`);
  } finally {
    backupClient.close();
  }
});

test('a JS handler that loops is stopped within half an election timeout, whatever governance allows: the primary keeps its place', async (t) => {
  const sandbox = await startSandbox(['--nodes', '3']);
  t.after(() => sandbox.stop());
  const dir = mkdtempSync(join(tmpdir(), 'coco-loop-app-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const endpoint = { js_module: 'loop.js', js_function: 'loops', authn_policies: ['user_cert'], mode: 'readwrite', forwarding_required: 'sometimes' };
  writeFileSync(join(dir, 'app.json'), JSON.stringify({ metadata: { endpoints: { '/loop': { post: endpoint } } }, modules: [{ name: 'loop.js', module: 'export function loops() { for (;;) {} }' }] }));
  const deployed = runCoco(['app', 'deploy', join(dir, 'app.json'), '--workspace', sandbox.workspace]);
  assert.equal(deployed.status, 0, deployed.stderr);
  const anyNode = userClient(sandbox, sandbox.url);
  t.after(() => anyNode.close());
  const network = async () => (await anyNode.request('GET', '/node/network')).json<{ primary_id: string; current_view: number }>();
  const before = await network();
  // CCF's default limit is 5 s, five election timeouts of this sandbox; each call stops after 500 ms.
  for (let i = 0; i < 4; i++) {
    const started = performance.now();
    const looped = await anyNode.request('POST', '/app/loop', { allowError: true });
    assert.equal(looped.status, 500, looped.text());
    assert.match(looped.text(), /Operation took too long to complete/);
    assert.ok(performance.now() - started < 4_000, 'stopped well before the 5 s governance allows');
  }
  assert.deepEqual(await network(), before, 'no election');
});
