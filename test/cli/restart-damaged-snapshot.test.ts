// A restarting node whose latest snapshot is damaged or empty starts from the next older sound one,
// then from its ledger alone, as CCF falls back from a snapshot it cannot read (and skips empty
// snapshot files): each refused snapshot is named in one warning with why, and set aside as
// `<name>.ignored` so that no later start, nor a joiner it would be served to, takes it again. It
// refuses to start only when nothing it holds is enough, saying so.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { spawnNode } from '../../src/cli/node-process.js';
import { parseSnapshotFileName } from '../../src/ledger/committed-snapshot.js';
import { listChunkFiles } from '../../src/node/ledger-directory.js';
import { runCoco } from '../support/run-cli.js';
import { stoppedNode } from '../support/stopped-node.js';

const dir = mkdtempSync(join(tmpdir(), 'coco-restart-damaged-snapshot-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const escaped = (text: string) => text.replaceAll('.', '\\.');

test('a damaged or empty latest snapshot is set aside with a warning, and the node starts from the next older sound one, then from its ledger alone', { timeout: 180_000 }, async () => {
  const node = await stoppedNode(dir, 45);
  const snapshots = join(dir, 'snapshots');
  const committed = () =>
    readdirSync(snapshots)
      .filter((name) => parseSnapshotFileName(name)?.committed === true)
      .sort((a, b) => parseSnapshotFileName(b)!.seqno - parseSnapshotFileName(a)!.seqno);
  const damage = (name: string) => {
    const bytes = readFileSync(join(snapshots, name));
    bytes[Math.floor(bytes.length / 3)]! ^= 0x01;
    writeFileSync(join(snapshots, name), bytes);
  };
  const start = async () => {
    const started = await spawnNode(node.configPath, dir);
    const code = await started.stop();
    assert.equal(code, 0, started.output());
    return started.output();
  };

  const [latest, second, third] = committed();
  assert.ok(third !== undefined, `three snapshots at least: ${committed().join(', ')}`);
  damage(latest!);
  writeFileSync(join(snapshots, second!), new Uint8Array());
  const fromThird = await start();
  const warnings = fromThird.split('\n').filter((line) => line.includes('[warn ]'));
  assert.equal(warnings.length, 2, fromThird);
  assert.match(warnings[0]!, new RegExp(`coco node: snapshot ${escaped(latest!)} is refused: .+; set aside as ${escaped(latest!)}\\.ignored, trying the next older snapshot, ${escaped(second!)}$`));
  assert.match(warnings[1]!, new RegExp(`coco node: snapshot ${escaped(second!)} is refused: the file is empty; set aside as ${escaped(second!)}\\.ignored, trying the next older snapshot, ${escaped(third!)}$`));
  assert.match(fromThird, new RegExp(`resumed from snapshot ${escaped(third!)} \\(seqno ${parseSnapshotFileName(third!)!.seqno}\\) and ledger entries to seqno \\d+`));
  const files = readdirSync(snapshots);
  assert.ok(files.includes(`${latest}.ignored`) && files.includes(`${second}.ignored`), files.join(', '));
  assert.ok(!files.includes(latest!) && !files.includes(second!), files.join(', '));

  // Set aside, they are not read again.
  const again = await start();
  assert.doesNotMatch(again, /\[warn \]/);

  // Every snapshot damaged: the whole ledger is replayed, from seqno 1.
  const all = committed();
  for (const name of all) damage(name);
  const fromLedger = await start();
  assert.equal(fromLedger.split('\n').filter((line) => line.includes('[warn ]')).length, all.length, fromLedger);
  assert.match(fromLedger, new RegExp(`snapshot ${escaped(all.at(-1)!)} is refused: .+; set aside as ${escaped(all.at(-1)!)}\\.ignored, trying the ledger alone`));
  assert.match(fromLedger, /resumed from its ledger to seqno \d+/);
  const setAside = readdirSync(snapshots).filter((name) => name.endsWith('.ignored'));
  for (const name of all) assert.ok(setAside.includes(`${name}.ignored`), `${name} set aside: ${setAside.join(', ')}`);
});

test('with every snapshot damaged and the ledger before its first chunk gone, the node refuses to start, naming the snapshots refused and what it needs', { timeout: 180_000 }, async () => {
  const nodeDir = join(dir, 'refused');
  mkdirSync(nodeDir);
  const node = await stoppedNode(nodeDir, 35);
  const snapshots = join(nodeDir, 'snapshots');
  const ledger = join(nodeDir, 'ledger');
  const names = readdirSync(snapshots).filter((name) => parseSnapshotFileName(name)?.committed === true);
  for (const name of names) writeFileSync(join(snapshots, name), readFileSync(join(snapshots, name)).subarray(0, 100));
  const chunks = listChunkFiles(ledger);
  const aside = join(nodeDir, 'aside');
  mkdirSync(aside);
  for (const file of chunks.slice(0, 2)) renameSync(file.path, join(aside, file.name));

  const refused = runCoco(['node', '--config', node.configPath]);
  assert.equal(refused.status, 1, refused.stderr);
  assert.equal(refused.stderr.split('\n').filter((line) => line.includes('[warn ]')).length, names.length, refused.stderr);
  assert.match(refused.stderr, new RegExp(`coco: this node refuses to serve the ledger in .*: the ledger starts at seqno \\d+; .* as after a start from a snapshot that is gone or damaged \\(${names.length} snapshots were refused and set aside, each named in a warning above\\): put back into .*snapshots a committed snapshot at or after seqno \\d+ .*\\[LedgerRefused\\]`));

  // No ledger at all, and no sound snapshot: nothing to start from.
  for (const file of listChunkFiles(ledger)) renameSync(file.path, join(aside, file.name));
  const damaged = readdirSync(snapshots).find((name) => name.endsWith('.ignored'))!.replace(/\.ignored$/, '');
  renameSync(join(snapshots, `${damaged}.ignored`), join(snapshots, damaged));
  const nothing = runCoco(['node', '--config', node.configPath]);
  assert.equal(nothing.status, 1, nothing.stderr);
  assert.match(nothing.stderr, new RegExp(`coco: no snapshot in .*snapshots is sound \\(${escaped(damaged)} was refused and set aside as ${escaped(damaged)}\\.ignored\\) and .*ledger holds no ledger to start from instead: put back a sound committed snapshot .*\\[SnapshotInvalid\\]`));
});
