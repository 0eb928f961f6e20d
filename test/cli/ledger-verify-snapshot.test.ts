// `coco ledger verify --snapshot`: the ledger of a node that joined from a snapshot holds only the
// chunks after it; an auditor verifies them from the committed snapshot, proven by its receipt
// against the service certificate, without any ledger secret. A snapshot that is altered, of another
// service, or given without the certificate is refused in one line.

import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { after, before } from 'node:test';
import { parseChunkName } from '../../src/ledger/chunk-file.js';
import { parseSnapshotFileName } from '../../src/ledger/committed-snapshot.js';
import { createServiceIdentity } from '../../src/node/identities.js';
import { runCoco } from '../support/run-cli.js';
import { stoppedNode } from '../support/stopped-node.js';

const scratch = mkdtempSync(join(tmpdir(), 'coco-verify-snapshot-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** The stopped node's directory, its latest committed snapshot, and a copy of the chunks after it (a joiner's ledger). */
let node: { dir: string; snapshot: string; seqno: number; joinerLedger: string };

before(async () => {
  const dir = join(scratch, 'node');
  mkdirSync(dir);
  await stoppedNode(dir, 25);
  const [name] = readdirSync(join(dir, 'snapshots')).filter((file) => parseSnapshotFileName(file)?.committed === true).sort((a, b) => parseSnapshotFileName(b)!.seqno - parseSnapshotFileName(a)!.seqno);
  assert.ok(name !== undefined, 'the node took snapshots');
  const seqno = parseSnapshotFileName(name)!.seqno;
  const joinerLedger = join(scratch, 'joiner-ledger');
  mkdirSync(joinerLedger);
  for (const file of readdirSync(join(dir, 'ledger'))) {
    if ((parseChunkName(file)?.first ?? 0) > seqno) copyFileSync(join(dir, 'ledger', file), join(joinerLedger, file));
  }
  node = { dir, snapshot: join(dir, 'snapshots', name), seqno, joinerLedger };
});

test('a ledger that starts after a snapshot verifies from it with --snapshot and --service-cert, and not without', () => {
  const serviceCert = join(node.dir, 'service_cert.pem');
  const verified = runCoco(['ledger', 'verify', node.joinerLedger, '--service-cert', serviceCert, '--snapshot', node.snapshot, '--json']);
  assert.equal(verified.status, 0, verified.stderr);
  const summary = JSON.parse(verified.stdout) as { verified: boolean; first_transaction_id: string; transactions: number };
  assert.equal(summary.verified, true);
  assert.equal(Number(summary.first_transaction_id.split('.')[1]), node.seqno + 1, 'verification starts right after the snapshot');
  // The whole directory too: its chunks are cut at the snapshot, and those before it are left out.
  const whole = runCoco(['ledger', 'verify', join(node.dir, 'ledger'), '--service-cert', serviceCert, '--snapshot', node.snapshot, '--json']);
  assert.equal(whole.status, 0, whole.stderr);
  assert.equal((JSON.parse(whole.stdout) as { transactions: number }).transactions, summary.transactions);

  const alone = runCoco(['ledger', 'verify', node.joinerLedger, '--service-cert', serviceCert]);
  assert.equal(alone.status, 1);
  assert.match(alone.stderr, new RegExp(`FAILED .*verification needs every chunk from seqno 1; .*add --snapshot <its snapshots directory>/snapshot_${node.seqno}_<evidence seqno>\\.committed \\(with --service-cert\\)$`, 'm'));
});

test('the ledger before a snapshot, given that snapshot, is told to verify without it: no file or transaction blamed', () => {
  const serviceCert = join(node.dir, 'service_cert.pem');
  const before = join(scratch, 'before-snapshot');
  mkdirSync(before);
  for (const file of readdirSync(join(node.dir, 'ledger'))) {
    const chunk = parseChunkName(file);
    if (chunk?.last !== undefined && chunk.last <= node.seqno) copyFileSync(join(node.dir, 'ledger', file), join(before, file));
  }
  assert.ok(readdirSync(before).length > 0);
  assert.equal(runCoco(['ledger', 'verify', before, '--service-cert', serviceCert]).status, 0, 'it verifies whole');
  const text = runCoco(['ledger', 'verify', before, '--service-cert', serviceCert, '--snapshot', node.snapshot]);
  assert.equal(text.status, 1);
  assert.match(text.stderr, new RegExp(`holds no chunk after the snapshot at seqno ${node.seqno} \\(its chunks are seqno 1 to ${node.seqno}\\): it holds the ledger before the snapshot; verify it without --snapshot \\[LedgerRefused\\]$`, 'm'));
  const json = runCoco(['ledger', 'verify', before, '--service-cert', serviceCert, '--snapshot', node.snapshot, '--json']);
  assert.equal(json.status, 1);
  const failure = JSON.parse(json.stdout) as Record<string, unknown>;
  assert.deepEqual({ ...failure, reason: undefined }, { verified: false, file: null, transaction_id: null, seqno: null, reason: undefined });
  assert.match(failure.reason as string, /verify it without --snapshot$/);
  // Without its first chunk, it would fail without --snapshot too: it is told to complete it.
  const partial = join(scratch, 'partial-before-snapshot');
  mkdirSync(partial);
  const [dropped, ...kept] = readdirSync(before).sort((a, b) => parseChunkName(a)!.first - parseChunkName(b)!.first);
  assert.ok(dropped !== undefined && kept.length > 0, 'two chunks or more before the snapshot');
  for (const file of kept) copyFileSync(join(before, file), join(partial, file));
  const incomplete = runCoco(['ledger', 'verify', partial, '--service-cert', serviceCert, '--snapshot', node.snapshot]);
  assert.equal(incomplete.status, 1);
  assert.match(incomplete.stderr, /verify it without --snapshot, with the chunks before seqno \d+ put in it \(coco ledger fetch DIR --since 1\) \[LedgerRefused\]$/m);
});

test('--snapshot without --service-cert, an altered snapshot and another service\'s certificate are refused in one line', () => {
  const serviceCert = join(node.dir, 'service_cert.pem');
  const noCert = runCoco(['ledger', 'verify', node.joinerLedger, '--snapshot', node.snapshot]);
  assert.notEqual(noCert.status, 0);
  assert.match(noCert.stderr, /--snapshot needs --service-cert/);

  const bytes = new Uint8Array(readFileSync(node.snapshot));
  bytes[200]! ^= 1;
  const altered = join(scratch, node.snapshot.split('/').at(-1)!);
  writeFileSync(altered, bytes);
  const refused = runCoco(['ledger', 'verify', node.joinerLedger, '--service-cert', serviceCert, '--snapshot', altered]);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /SnapshotInvalid|snapshot/i);
  assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);

  const otherCert = join(scratch, 'other_cert.pem');
  writeFileSync(otherCert, readFileSync(join(node.dir, 'member0_cert.pem')));
  const other = runCoco(['ledger', 'verify', node.joinerLedger, '--service-cert', otherCert, '--snapshot', node.snapshot]);
  assert.notEqual(other.status, 0);
  assert.equal(other.stderr.trim().split('\n').length, 1, other.stderr);

  // --previous-service-cert proves the snapshot alone; the ledger after it must then end under
  // --service-cert's identity, which a ledger no recovery changed does not.
  const noSnapshot = runCoco(['ledger', 'verify', node.joinerLedger, '--service-cert', serviceCert, '--previous-service-cert', serviceCert]);
  assert.equal(noSnapshot.status, 2);
  assert.match(noSnapshot.stderr, /--previous-service-cert is the certificate a --snapshot FILE is proven against: give the snapshot too/);
  const anotherService = join(scratch, 'another_service_cert.pem');
  writeFileSync(anotherService, createServiceIdentity(new Date(), 1).certPem);
  const notRecovered = runCoco(['ledger', 'verify', node.joinerLedger, '--service-cert', anotherService, '--snapshot', node.snapshot, '--previous-service-cert', serviceCert]);
  assert.equal(notRecovered.status, 1);
  assert.match(notRecovered.stderr, /the service identity recorded in the ledger is not the trusted service certificate's key/);
});
