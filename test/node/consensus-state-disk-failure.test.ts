// A node whose disk refuses its consensus state (the view and vote it must not forget) at an
// election stops applying transactions, as on a ledger write the disk refuses: one [error] line
// naming the operation, the file and the errno, and what to do; the old file stays as it was.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { InProcessNetwork } from '../support/in-process-network.js';

test('an election whose consensus state the disk refuses stops the node with one error line naming the file', async (t) => {
  const network = await InProcessNetwork.start(3);
  t.after(() => network.close());
  const errorLines: string[] = [];
  t.mock.method(console, 'error', (line: string) => errorLines.push(line));
  const primary = network.primary();
  const backup = network.nodes.find((n) => n !== primary)!;
  // A directory in the file's place: replacing it fails (EISDIR) at the backup's next vote or candidacy.
  const stateFile = join(dirname(backup.ledgerDirectory), 'consensus_state.json');
  rmSync(stateFile, { force: true });
  mkdirSync(join(stateFile, 'in-the-way'), { recursive: true });

  network.isolate(primary.name);
  await network.waitFor(() => !backup.node.serving);

  const prefix = `coco node ${backup.node.nodeId.slice(0, 12)}: `;
  const lines = errorLines.filter((line) => line.includes('[error]') && line.includes(prefix));
  assert.equal(lines.length, 1, errorLines.join('\n'));
  const said = lines[0]!.slice(lines[0]!.indexOf(prefix) + prefix.length);
  assert.ok(said.startsWith(`stopped applying transactions: rename of ${stateFile}.tmp to consensus_state.json failed: EISDIR (illegal operation on a directory); `), said);
  assert.match(said, /; fix the disk .* and restart the node/);
  assert.ok(statSync(join(stateFile, 'in-the-way')).isDirectory());
  assert.equal(existsSync(`${stateFile}.tmp`), false, 'no temporary file is left');
});
