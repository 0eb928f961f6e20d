// A node that cannot seal the ledger secret a rekey gave it could not restart past the rekey: it
// stops applying transactions with one [error] line naming the operation, the file and the errno,
// whether it wrote the rekey (the primary) or applied it (a backup), and callers get NodeFailed.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { writeFileDurably } from '../../src/node/durable-file.js';
import type { Node } from '../../src/node/node.js';
import { InProcessNetwork, type NetworkNode } from '../support/in-process-network.js';
import { writeRecord } from '../support/records.js';

/** Where a node process seals its secrets; a directory in its place makes the seal's rename fail (EISDIR). */
function sealedFile(member: NetworkNode): string {
  return join(dirname(member.ledgerDirectory), 'sealed_secrets.json');
}

function rekey(node: Node): void {
  node.execute((tx) => {
    node.governanceHost().triggerLedgerRekey(tx);
    return { result: undefined, applyWrites: true };
  });
}

/** A network whose nodes seal their secrets into their own directories, with the error lines it logs. */
async function sealingNetwork(t: TestContext, count: number): Promise<{ network: InProcessNetwork; errorLines: string[] }> {
  const network = await InProcessNetwork.start(count, {
    encryptionKeys: true,
    sealLedgerSecrets: (member, secrets) => writeFileDurably(sealedFile(member), JSON.stringify({ ledger_secrets: secrets.length })),
  });
  t.after(() => network.close());
  const errorLines: string[] = [];
  t.mock.method(console, 'error', (line: string) => errorLines.push(line));
  return { network, errorLines };
}

test('a primary that cannot seal the secret of its own rekey stops with one error line naming the file, and answers NodeFailed', async (t) => {
  const { network, errorLines } = await sealingNetwork(t, 1);
  const primary = network.primary();
  mkdirSync(join(sealedFile(primary), 'in-the-way'), { recursive: true });

  assert.throws(() => rekey(primary.node), { code: 'NodeFailed' });

  assert.equal(primary.node.serving, false);
  const lines = errorLines.filter((line) => line.includes('[error]'));
  assert.equal(lines.length, 1, errorLines.join('\n'));
  assert.ok(lines[0]!.includes(`stopped applying transactions: rename of ${sealedFile(primary)}.tmp to sealed_secrets.json failed: EISDIR (illegal operation on a directory); `), lines[0]);
  assert.throws(() => writeRecord(primary.node, 'k', 'v'), { code: 'NodeFailed' });
});

test('a backup that cannot seal the secret of a rekey it applies stops with one error line naming the file; the others go on', async (t) => {
  const { network, errorLines } = await sealingNetwork(t, 3);
  const primary = network.primary();
  const backup = network.nodes.find((n) => n !== primary)!;
  mkdirSync(join(sealedFile(backup), 'in-the-way'), { recursive: true });

  rekey(primary.node);
  await network.waitFor(() => !backup.node.serving);

  const prefix = `coco node ${backup.node.nodeId.slice(0, 12)}: `;
  const lines = errorLines.filter((line) => line.includes('[error]'));
  assert.equal(lines.length, 1, errorLines.join('\n'));
  assert.ok(lines[0]!.includes(`${prefix}stopped applying transactions: rename of ${sealedFile(backup)}.tmp to sealed_secrets.json failed: EISDIR (illegal operation on a directory); `), lines[0]);
  const after = writeRecord(primary.node, 'after', 'committed by the other two');
  await network.waitFor(() => primary.node.status(after) === 'Committed');
});
