// A node restarted from its ledger presents the evidence of the code it runs now to the join policy
// its ledger holds, as a joining node does: a version whose host data members withdrew is refused,
// and a version they allowed serves its own evidence, not the quote recorded when it joined.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CocoClient } from '../../src/client/coco-client.js';
import { fromBase64, fromUtf8, toHex, utf8 } from '../../src/crypto/bytes.js';
import { sha256 } from '../../src/crypto/hash.js';
import { encodeJson, Tables } from '../../src/governance/builtin-tables.js';
import { parseNodeConfig } from '../../src/node/node-config.js';
import { startNodeService, type RunningService } from '../../src/cli/node-service.js';
import { CocoError } from '../../src/errors.js';
import { writeNodeConfig } from '../support/node-process.js';

const dir = mkdtempSync(join(tmpdir(), 'coco-restart-attestation-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The host data a node of that Coco version reports (node-service.ts). */
const hostDataOf = (version: string) => toHex(sha256(utf8(`coco ${version}`)));

async function servedHostData(service: RunningService): Promise<string> {
  const client = new CocoClient({ url: Object.values(service.urls)[0]!, caCertPem: service.serviceCertPem });
  try {
    const quote = (await client.request('GET', '/node/attestations/self')).json<{ raw: string }>();
    return (JSON.parse(fromUtf8(fromBase64(quote.raw))) as { host_data: string }).host_data;
  } finally {
    client.close();
  }
}

test('a node restarted on code whose host data governance withdrew is refused; on allowed code it serves its new evidence', async () => {
  const path = await writeNodeConfig(dir);
  const config = parseNodeConfig(JSON.parse(readFileSync(path, 'utf8')), path);

  const first = await startNodeService(config, '1.0.0');
  assert.equal(await servedHostData(first), hostDataOf('1.0.0'), 'genesis allows the host data of the code that started the service');
  // What add_virtual_host_data and remove_virtual_host_data write, committed before the node stops.
  const { txId } = first.node.execute((tx) => {
    tx.map(Tables.virtualHostData).set(utf8(hostDataOf('2.0.0')), encodeJson(''));
    tx.map(Tables.virtualHostData).delete(utf8(hostDataOf('1.0.0')));
    return { result: undefined, applyWrites: true };
  });
  await first.node.waitForCommit(txId!.seqno);
  await first.stop();

  await assert.rejects(startNodeService(config, '1.0.0'), (error: unknown) => {
    assert.ok(error instanceof CocoError && error.code === 'JoinPolicyRefused', String(error));
    assert.match(error.message, new RegExp(`^this node runs coco 1\\.0\\.0, whose attestation the join policy in its ledger \\(to seqno \\d+\\) refuses: host data ${hostDataOf('1.0.0')} is not in public:ccf\\.gov\\.nodes\\.virtual\\.host_data: members allow it with an add_virtual_host_data proposal on the running service\\. If they did after this node stopped`));
    assert.doesNotMatch(error.message, /\n/, 'one line');
    return true;
  });

  const upgraded = await startNodeService(config, '2.0.0');
  try {
    assert.equal(await servedHostData(upgraded), hostDataOf('2.0.0'), 'the evidence of the code it runs now');
  } finally {
    await upgraded.stop();
  }
});
