import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync, chmodSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { after } from 'node:test';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { ccfLedgersDir, repoRoot } from '../support/paths.js';
import { runCoco } from '../support/run-cli.js';
import { readChunk } from '../../src/cli/ledger-verify.js';
import { listChunkFiles } from '../../src/node/ledger-directory.js';
import { generateLedger, writeChunks } from '../support/generated-ledger.js';
import { realChunks } from '../support/real-ledgers.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { chunkWithReplaced, madeUpEntryAfter, oneWrite, withExtraWrites } from '../ledger/altered-entry.js';
import { decodeChunk, encodeChunk } from '../../src/ledger/chunk-file.js';
import { UNSIGNED_MARK } from '../../src/cli/ledger-show.js';

const scratch = mkdtempSync(join(tmpdir(), 'coco-ledger-cli-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function copyLedger(name: string): string {
  const dir = join(scratch, `${name}-${Math.random().toString(16).slice(2)}`);
  cpSync(join(ccfLedgersDir, name), dir, { recursive: true });
  for (const file of readdirSync(dir)) chmodSync(join(dir, file), 0o644);
  return dir;
}

test('coco ledger verify accepts a real CCF ledger and prints a summary', () => {
  const result = runCoco(['ledger', 'verify', join(ccfLedgersDir, 'expired-service')]);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /verified/);
  assert.match(result.stdout, /transactions: +26 \(2\.1 to 2\.26\)/);
  assert.match(result.stdout, /signatures: +7/);
  assert.match(result.stdout, /last verified TxID: +2\.26/);
  assert.match(result.stdout, /SHA-256 0c728a183fa3a673e2e25cff4b7f7047035d00fbd21d72fd3008a620f7cd8075/);
});

test('coco ledger verify --json prints a machine-readable summary', () => {
  const result = runCoco(['ledger', 'verify', join(ccfLedgersDir, 'genesis-14'), '--json']);
  assert.equal(result.status, 0, result.stderr);
  const summary = JSON.parse(result.stdout);
  assert.equal(summary.verified, true);
  assert.equal(summary.transactions, 14);
  assert.equal(summary.cose_signatures, 6);
  assert.equal(summary.last_verified_transaction_id, '2.14');
});

test('a chunk a running node completes while the verification gets to it is read under its new name', () => {
  const dir = copyLedger('expired-service');
  const [listed] = listChunkFiles(dir).filter((file) => file.name === 'ledger_5-15.committed');
  // As a node renames its open chunk once it is complete.
  renameSync(join(dir, 'ledger_5-15.committed'), join(dir, 'ledger_5-15.committed.moved'));
  assert.throws(() => readChunk(dir, listed!), /no such file/, 'nothing starts at seqno 5 any more');
  renameSync(join(dir, 'ledger_5-15.committed.moved'), join(dir, 'ledger_5-16.committed'));
  const read = readChunk(dir, listed!);
  assert.equal(read.name, 'ledger_5-16.committed');
  assert.deepEqual(read.bytes, new Uint8Array(readFileSync(join(dir, 'ledger_5-16.committed'))));
});

test('coco ledger verify rejects a flipped byte with one line naming file and transaction, exit 1', () => {
  const dir = copyLedger('expired-service');
  const file = join(dir, 'ledger_5-15.committed');
  const bytes = readFileSync(file);
  bytes[3000]! ^= 0x01;
  writeFileSync(file, bytes);
  const result = runCoco(['ledger', 'verify', dir]);
  assert.equal(result.status, 1);
  assert.equal(result.stdout, '');
  assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  assert.match(result.stderr, /^coco ledger verify: FAILED ledger_5-15\.committed at transaction 2\.6: /);
  assert.doesNotMatch(result.stderr, /at .*\.js:\d+/, 'no stack trace');

  const json = runCoco(['ledger', 'verify', dir, '--json']);
  assert.equal(json.status, 1);
  assert.equal(json.stderr, '');
  const failure = JSON.parse(json.stdout);
  assert.equal(failure.verified, false);
  assert.equal(failure.file, 'ledger_5-15.committed');
  assert.equal(failure.transaction_id, '2.6');
  assert.equal(result.stderr.trim(), `coco ledger verify: FAILED ${failure.file} at transaction ${failure.transaction_id}: ${failure.reason}`, 'the same facts as the text line');
});

test('coco ledger verify reports a deleted chunk and a truncated one', () => {
  const gap = copyLedger('expired-service');
  unlinkSync(join(gap, 'ledger_5-15.committed'));
  const gapResult = runCoco(['ledger', 'verify', gap]);
  assert.equal(gapResult.status, 1);
  assert.match(gapResult.stderr, /ledger_16-26\.committed.*a gap/);

  const truncated = copyLedger('genesis-14');
  const file = join(truncated, 'ledger_1-14.committed');
  writeFileSync(file, readFileSync(file).subarray(0, 120_000));
  const truncatedResult = runCoco(['ledger', 'verify', truncated]);
  assert.equal(truncatedResult.status, 1);
  assert.match(truncatedResult.stderr, /FAILED ledger_1-14\.committed/);
});

test('coco ledger verify --service-cert checks the service identity', () => {
  const generated = generateLedger({ transactions: 10, signatureInterval: 5 });
  const dir = join(scratch, 'generated');
  writeChunks(dir, generated.chunks);
  const cert = join(scratch, 'service_cert.pem');
  writeFileSync(cert, generated.identity.serviceCertPem);
  assert.equal(runCoco(['ledger', 'verify', dir, '--service-cert', cert]).status, 0);
  const other = runCoco(['ledger', 'verify', join(ccfLedgersDir, 'genesis-14'), '--service-cert', cert]);
  assert.equal(other.status, 1);
  assert.match(other.stderr, /not the trusted service certificate/);
});

test('coco ledger verify --service-cert refuses a bundle and a node certificate, as receipt verify does', () => {
  const generated = generateLedger({ transactions: 4, signatureInterval: 2 });
  const dir = join(scratch, 'generated-for-bundle');
  writeChunks(dir, generated.chunks);
  const bundle = join(scratch, 'bundle.pem');
  // The ledger's own service certificate first: before, the rest of the bundle went unread and the ledger verified.
  writeFileSync(bundle, generated.identity.serviceCertPem + generateLedger({ transactions: 1, signatureInterval: 1 }).identity.serviceCertPem);
  const nodeCert = join(scratch, 'node_cert.pem');
  writeFileSync(nodeCert, generated.identity.nodeCertPem);
  const cases: [string, RegExp][] = [
    [bundle, /the service certificate must be one PEM certificate \(service_cert\.pem\), got 2/],
    [nodeCert, /not a self-signed CA certificate \(a node's certificate\?\)/],
  ];
  for (const [cert, message] of cases) {
    const result = runCoco(['ledger', 'verify', dir, '--service-cert', cert]);
    assert.equal(result.status, 1, result.stdout);
    assert.match(result.stderr, message);
  }
});

test('coco ledger verify explains bad input in one line without a stack trace', () => {
  const cases: [string[], number, RegExp][] = [
    [['ledger', 'verify', join(scratch, 'no-such-dir')], 1, /cannot read ledger directory/],
    [['ledger', 'verify', scratch], 1, /no ledger chunk files/],
    [['ledger', 'verify'], 2, /expected exactly one ledger directory/],
    [['ledger', 'verify', '.', '--bogus'], 2, /^coco: unknown option --bogus; see coco ledger verify --help\n/],
    [['ledger', 'frobnicate'], 2, /unknown ledger command "frobnicate"/],
    [['ledger', 'verify', join(ccfLedgersDir, 'genesis-14'), '--service-cert', join(scratch, 'missing.pem')], 1, /missing\.pem/],
  ];
  for (const [args, status, message] of cases) {
    const result = runCoco(args);
    assert.equal(result.status, status, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  }
});

test('coco ledger verify --json prints its JSON failure when the directory is at fault too, naming the file where one is', () => {
  const empty = join(scratch, `empty-${Math.random().toString(16).slice(2)}`);
  mkdirSync(empty);
  const duplicated = copyLedger('genesis-14');
  cpSync(join(duplicated, 'ledger_1-14.committed'), join(duplicated, 'ledger_1-14'));
  const directoryChunk = copyLedger('expired-service');
  unlinkSync(join(directoryChunk, 'ledger_5-15.committed'));
  mkdirSync(join(directoryChunk, 'ledger_5-15.committed'));
  const cases: [string, string | null, RegExp][] = [
    [join(scratch, 'no-such-dir'), null, /cannot read ledger directory/],
    [empty, null, /no ledger chunk files/],
    [duplicated, null, /both start at seqno 1/],
    [directoryChunk, 'ledger_5-15.committed', /cannot read ledger chunk .*EISDIR/],
  ];
  for (const [dir, file, reason] of cases) {
    const result = runCoco(['ledger', 'verify', dir, '--json']);
    assert.equal(result.status, 1, dir);
    assert.equal(result.stderr, '', dir);
    const failure = JSON.parse(result.stdout);
    assert.deepEqual({ ...failure, reason: undefined }, { verified: false, file, transaction_id: null, seqno: null, reason: undefined });
    assert.match(failure.reason, reason);
  }
});

test('coco ledger verify names an altered entry by its seqno where its view is not known or not to be believed', () => {
  // Byte 8: the first entry's header (no view read yet); byte 40: the view in the first entry's IV (3 where it was 2).
  for (const [byte, reason] of [[8, /^entry at byte 8 is malformed: /], [40, /^this entry, which claims view 3, does not match the one signed at transaction 2\.2 /]] as const) {
    const dir = copyLedger('genesis-14');
    const path = join(dir, 'ledger_1-14.committed');
    const bytes = readFileSync(path);
    bytes[byte]! ^= 0x01;
    writeFileSync(path, bytes);
    const text = runCoco(['ledger', 'verify', dir]);
    assert.equal(text.status, 1);
    assert.match(text.stderr, /^coco ledger verify: FAILED ledger_1-14\.committed at seqno 1: /, 'no made-up transaction ID');
    const json = runCoco(['ledger', 'verify', dir, '--json']);
    const failure = JSON.parse(json.stdout);
    assert.deepEqual({ ...failure, reason: undefined }, { verified: false, file: 'ledger_1-14.committed', transaction_id: null, seqno: 1, reason: undefined });
    assert.match(failure.reason, reason);
  }
});

test('coco ledger verify and show refuse a file named like a chunk whose seqnos are no range, naming it', () => {
  for (const name of ['ledger_30-20.committed', 'ledger_0-3.committed', 'ledger_0']) {
    const dir = copyLedger('expired-service');
    writeFileSync(join(dir, name), readFileSync(join(dir, 'ledger_16-26.committed')));
    for (const command of ['verify', 'show']) {
      const result = runCoco(['ledger', command, dir]);
      assert.equal(result.status, 1, `${command} ${name}`);
      assert.match(result.stderr, new RegExp(`^coco: ${name.replace('.', '\\.')} in .* is named like a ledger chunk, but its seqnos are no range.*\\[LedgerChunkNameInvalid\\]`));
    }
  }
});

test('coco ledger show prints transactions with their public writes', () => {
  const result = runCoco(['ledger', 'show', join(ccfLedgersDir, 'expired-service'), '--tables', '^public:records$']);
  assert.equal(result.status, 0, result.stderr);
  const txids = result.stdout.split('\n').filter((line) => /^\d+\.\d+ /.test(line)).map((line) => line.split(' ')[0]);
  assert.deepEqual(txids, ['2.21', '2.23', '2.25']);
  assert.match(result.stdout, / {2}public:records\n {4}write {2}/);
});

test('coco ledger show --seqno --json prints one JSON object with keys and values decoded', () => {
  const result = runCoco(['ledger', 'show', join(ccfLedgersDir, 'genesis-14'), '--seqno', '1', '--json']);
  assert.equal(result.status, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  const tx = JSON.parse(lines[0]!);
  assert.equal(tx.transaction_id, '2.1');
  assert.equal(tx.entry_type, 'WriteSetWithCommitEvidenceAndClaims');
  const serviceInfo = tx.maps.find((m: { name: string }) => m.name === 'public:ccf.gov.service.info');
  assert.deepEqual(serviceInfo.writes[0].key, { hex: '0000000000000000' });
  assert.equal(JSON.parse(serviceInfo.writes[0].value.utf8).status, 'Opening');
});

test('coco ledger show stops quietly when its reader closes the pipe early', async () => {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'coco.js'), 'ledger', 'show', join(ccfLedgersDir, 'genesis-14')]);
  let stderr = '';
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  child.stdout.once('data', () => child.stdout.destroy());
  const [code] = (await once(child, 'close')) as [number];
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /EPIPE|Error/);
});

test('coco ledger show exits 1 when no transaction matched, like grep', () => {
  for (const args of [['--seqno', '9999'], ['--tables', '^public:no-such-map$']]) {
    const result = runCoco(['ledger', 'show', join(ccfLedgersDir, 'genesis-14'), ...args]);
    assert.equal(result.status, 1, args.join(' '));
    assert.equal(result.stdout, '');
    assert.equal(result.stderr, 'coco ledger show: no transaction matched\n');
  }
  assert.match(runCoco(['ledger', 'show', '--help']).stdout, /1 if none matched/);
});

test('coco ledger show verifies what it prints: a tampered ledger ends the output with its failure, exit 1, unless verification is skipped', () => {
  const dir = copyLedger('expired-service');
  const file = join(dir, 'ledger_5-15.committed');
  const bytes = readFileSync(file);
  bytes[3000]! ^= 0x01; // in 2.6, which the next signature (2.8) shows altered
  writeFileSync(file, bytes);
  const result = runCoco(['ledger', 'show', dir]);
  assert.equal(result.status, 1);
  const txids = result.stdout.split('\n').filter((line) => /^\d+\.\d+ /.test(line)).map((line) => line.split(' ')[0]);
  assert.deepEqual(txids, ['2.1', '2.2', '2.3', '2.4', '2.5', '2.6', '2.7'], 'what precedes the signature that fails');
  const verify = runCoco(['ledger', 'verify', dir]);
  assert.equal(result.stderr, verify.stderr.replace('coco ledger verify:', 'coco ledger show:'), 'the failure ledger verify reports');
  assert.match(result.stderr, /^coco ledger show: FAILED ledger_5-15\.committed at transaction 2\.6: /);

  const skipped = runCoco(['ledger', 'show', dir, '--insecure-skip-verification']);
  assert.equal(skipped.status, 0, skipped.stderr);
  assert.equal(skipped.stdout.split('\n').filter((line) => /^\d+\.\d+ /.test(line)).length, 26);
  assert.equal(skipped.stderr, 'coco ledger show: --insecure-skip-verification: nothing shown is verified\n');
});

test('coco ledger verify and show refuse a write added to the final signature transaction, naming the file, the transaction and the map', () => {
  const dir = copyLedger('genesis-14');
  const [chunk] = realChunks('genesis-14');
  const { entries } = chunk!.decoded;
  const forged = withExtraWrites(entries.at(-1)!, [oneWrite('public:records', utf8('999999'), utf8('FORGED: paid 1,000,000 to mallory'))]);
  writeFileSync(join(dir, chunk!.name), chunkWithReplaced(entries, 14, forged, true));
  const verify = runCoco(['ledger', 'verify', dir]);
  assert.equal(verify.status, 1, verify.stdout);
  assert.match(verify.stderr, /^coco ledger verify: FAILED ledger_1-14\.committed at transaction 2\.14: a signature transaction may write only .*, but this one also writes public:records\n$/);
  const show = runCoco(['ledger', 'show', dir, '--tables', '^public:records$']);
  assert.equal(show.status, 1);
  assert.doesNotMatch(show.stdout, /FORGED/);
  assert.match(show.stderr, /^coco ledger show: FAILED ledger_1-14\.committed at transaction 2\.14: .*public:records\n$/);
});

test('coco ledger show marks the transactions no signature covers, and counts them on stderr as ledger verify does', () => {
  const generated = generateLedger({ transactions: 12, signatureInterval: 5, unsignedTail: 2 });
  const open = generated.chunks.at(-1)!;
  const { entries } = decodeChunk(open.bytes, open.name);
  const lastSignature = generated.writer.lastSignatureSeqno;
  // A made-up transaction appended to the open chunk, as the QA's forge_tail did.
  const madeUp = madeUpEntryAfter(entries.at(-1)!, [oneWrite('public:records', utf8('999999'), utf8('FORGED: paid 1,000,000 to mallory'))]);
  const dir = join(scratch, `unsigned-${Math.random().toString(16).slice(2)}`);
  writeChunks(dir, [...generated.chunks.slice(0, -1), { name: `ledger_${entries[0]!.txId.seqno}`, bytes: encodeChunk([...entries.map((e) => e.raw), madeUp], false) }]);
  const madeUpSeqno = generated.writer.lastTxId.seqno + 1;
  const note = 'coco ledger show: not yet signed: 3 transactions after the last signature (in an uncommitted chunk)\n';

  const text = runCoco(['ledger', 'show', dir, '--seqno', String(madeUpSeqno)]);
  assert.equal(text.status, 0, text.stderr);
  assert.equal(text.stdout.split('\n')[0], `2.${madeUpSeqno}  WriteSetWithCommitEvidenceAndClaims  ${UNSIGNED_MARK}`);
  assert.equal(text.stderr, note);

  const json = runCoco(['ledger', 'show', dir, '--json']);
  assert.equal(json.status, 0, json.stderr);
  const shown = json.stdout.trim().split('\n').map((line) => JSON.parse(line) as { transaction_id: string; signed: boolean });
  assert.equal(shown.length, madeUpSeqno);
  assert.deepEqual(shown.map((tx) => tx.transaction_id), shown.map((_, i) => `2.${i + 1}`), 'in order');
  for (const tx of shown) assert.equal(tx.signed, Number(tx.transaction_id.split('.')[1]) <= lastSignature, tx.transaction_id);
  assert.equal(json.stderr, note);

  const verify = runCoco(['ledger', 'verify', dir]);
  assert.match(verify.stdout, /not yet signed: +3 transactions after the last signature \(in an uncommitted chunk\)/);
  const signedOnly = runCoco(['ledger', 'show', join(ccfLedgersDir, 'genesis-14'), '--json']);
  assert.equal(signedOnly.stderr, '');
  assert.ok(signedOnly.stdout.trim().split('\n').every((line) => (JSON.parse(line) as { signed: boolean }).signed));
});

test('coco ledger verify skips .recovery chunk files as CCF does, and says so in its summary', () => {
  const dir = copyLedger('expired-service');
  // A recovery in progress writes its own chunks beside the ones it recovers from.
  writeFileSync(join(dir, 'ledger_16-26.recovery'), readFileSync(join(dir, 'ledger_16-26.committed')));
  writeFileSync(join(dir, 'ledger_27.recovery'), 'not even a chunk');
  const text = runCoco(['ledger', 'verify', dir]);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /transactions: +26 \(2\.1 to 2\.26\)/);
  assert.match(text.stdout, /\n {2}skipped: +ledger_16-26\.recovery, ledger_27\.recovery: written by a recovery not yet finished \(\.recovery\), not verified/);
  const json = JSON.parse(runCoco(['ledger', 'verify', dir, '--json']).stdout) as { verified: boolean; skipped_recovery_files: string[] };
  assert.equal(json.verified, true);
  assert.deepEqual(json.skipped_recovery_files, ['ledger_16-26.recovery', 'ledger_27.recovery']);
  assert.doesNotMatch(runCoco(['ledger', 'verify', join(ccfLedgersDir, 'expired-service')]).stdout, /skipped/);
});

test('coco ledger verify and show report an entry a crash cut short at the end of the open chunk, and verify everything before it', () => {
  const generated = generateLedger({ transactions: 12, signatureInterval: 5, unsignedTail: 2 });
  const open = generated.chunks.at(-1)!;
  const { entries, offsets } = decodeChunk(open.bytes, open.name);
  const openName = `ledger_${entries[0]!.txId.seqno}`;
  const dir = join(scratch, `torn-${Math.random().toString(16).slice(2)}`);
  const cutAt = offsets.at(-1)! + 20;
  writeChunks(dir, [...generated.chunks.slice(0, -1), { name: openName, bytes: open.bytes.subarray(0, cutAt) }]);
  const lastSeqno = entries.at(-1)!.txId.seqno;
  const incomplete = `20 bytes at byte ${offsets.at(-1)!} of ${openName}, where seqno ${lastSeqno} would start: a write cut short (as a crash leaves it), not verified`;

  const text = runCoco(['ledger', 'verify', dir]);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`last verified TxID: +2\\.${generated.writer.lastSignatureSeqno}\n`));
  assert.match(text.stdout, /not yet signed: +1 transaction after the last signature/);
  assert.ok(text.stdout.includes(`  incomplete entry:      ${incomplete}`), text.stdout);
  const json = JSON.parse(runCoco(['ledger', 'verify', dir, '--json']).stdout) as { unsigned_tail: number; incomplete_entry: unknown };
  assert.equal(json.unsigned_tail, 1);
  assert.deepEqual(json.incomplete_entry, { file: openName, offset: offsets.at(-1)!, bytes: 20, seqno: lastSeqno });
  const show = runCoco(['ledger', 'show', dir, '--json']);
  assert.equal(show.status, 0, show.stderr);
  assert.equal(show.stdout.trim().split('\n').length, lastSeqno - 1);
  assert.equal(show.stderr, `coco ledger show: not yet signed: 1 transaction after the last signature (in an uncommitted chunk)\ncoco ledger show: incomplete entry: ${incomplete}\n`);
});

test('coco ledger show rejects bad options clearly', () => {
  assert.match(runCoco(['ledger', 'show', '.', '--seqno', 'abc']).stderr, /--seqno takes a positive whole number/);
  assert.match(runCoco(['ledger', 'show', '.', '--tables', '(']).stderr, /--tables is not a valid regular expression/);
});

test('coco --help lists the ledger commands', () => {
  const result = runCoco(['--help']);
  assert.equal(result.status, 0);
  assert.match(result.stdout, /ledger verify <dir>/);
  assert.match(result.stdout, /ledger show <dir>/);
  assert.equal(runCoco(['ledger', 'verify', '--help']).status, 0);
});
