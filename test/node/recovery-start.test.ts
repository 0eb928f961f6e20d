// A node configured to recover (command.type "Recover"), in the directory of the previous service's
// node that wrote the ledger, as an operator who lost the others runs it: it sets aside that node's
// sealed secrets and snapshots, recovers the public state; stopped before the service opens and
// started again, it sets aside what the interrupted recovery wrote and recovers anew, under a new
// identity; started once more after opening would resume instead (test/e2e/disaster-recovery.test.ts).

import test from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNodeService } from '../../src/cli/node-service.js';
import { encodeJson, readServiceInfo, Tables } from '../../src/governance/builtin-tables.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { editConfig, recordOf, SNAPSHOT_TX_COUNT, stoppedNode } from '../support/stopped-node.js';
import { readSealedSecrets } from '../../src/node/sealed-secrets.js';
import { parseNodeConfig } from '../../src/node/node-config.js';
import { createSelfSignedCertificate } from '../../src/crypto/x509.js';
import { generateKeyPair } from '../../src/crypto/signing.js';

const TRANSACTIONS = 25;

test('a recovery in the previous node\'s own directory sets aside its sealed secrets and snapshots; interrupted, it starts again under a new identity', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'coco-recovery-start-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const node = await stoppedNode(dir, TRANSACTIONS);
  // The previous service's last state holds a node retired whose retirement is not recorded as
  // committed yet (its primary stopped first): a recovering node records it only after its own first transaction.
  const previous = await startNodeService(node.config(), node.version);
  const { txId: retiredAt } = previous.node.execute((tx) => {
    tx.map(Tables.nodesInfo).set(utf8('f'.repeat(64)), encodeJson({ status: 'Retired', retired_committed: false }));
    return { result: undefined, applyWrites: true };
  });
  await previous.node.waitForCommit(retiredAt!.seqno);
  await previous.stop();
  assert.ok(readdirSync(join(dir, 'snapshots')).some((name) => name.endsWith('.committed')), 'the previous service snapshotted every 10 transactions');
  copyFileSync(join(dir, 'service_cert.pem'), join(dir, 'previous_service_cert.pem'));
  editConfig(node, (json) => {
    json.command = { type: 'Recover', service_certificate_file: 'service_cert.pem', recover: { previous_service_identity_file: 'previous_service_cert.pem' } };
  });
  const previousCertPem = readFileSync(join(dir, 'previous_service_cert.pem'), 'utf8');
  const logged: string[] = [];
  t.mock.method(console, 'error', (line: string) => void logged.push(line));
  t.mock.method(console, 'log', (line: string) => void logged.push(line));

  const recovering = await startNodeService(node.config(), node.version);
  const status = () => recovering.node.execute((tx) => ({ result: readServiceInfo(tx)?.status, applyWrites: false })).result;
  assert.equal(status(), 'Recovering');
  assert.notEqual(recovering.serviceCertPem, previousCertPem);
  for (let i = 0; i < TRANSACTIONS; i++) assert.equal(recordOf(recovering, i), `record ${i}`, 'the public state is recovered');
  const firstIdentity = recovering.serviceCertPem;
  const created = recovering.node.execute((tx) => ({ result: readServiceInfo(tx)!.current_service_create_txid!, applyWrites: false })).result;
  const createSeqno = Number(created.split('.')[1]);
  await recovering.stop();
  assert.ok(existsSync(join(dir, 'sealed_secrets.json.ignored')), "the previous node's sealed secrets are set aside");
  assert.ok(logged.some((line) => /holds the secrets of the previous service's node that wrote this ledger: set aside as \.ignored/.test(line)), logged.join('\n'));
  const snapshots = readdirSync(join(dir, 'snapshots'));
  assert.ok(snapshots.length > 0 && snapshots.every((name) => name.endsWith('.ignored')), `the previous service's snapshots are set aside: ${snapshots.join(', ')}`);
  // The recovered service's entries start a chunk of their own, after the previous service's whole ones.
  const chunks = readdirSync(join(dir, 'ledger'));
  assert.ok(chunks.some((name) => name.endsWith(`-${createSeqno - 1}.committed`)), chunks.join(', '));
  assert.ok(chunks.some((name) => name.startsWith(`ledger_${createSeqno}`)), chunks.join(', '));

  // A copy of that ledger elsewhere (no sealed secrets to tell the attempt's chunk apart) is refused,
  // saying from which seqno a recovery wrote it and what to do.
  const copy = join(dir, 'copy');
  mkdirSync(copy);
  cpSync(join(dir, 'ledger'), join(copy, 'ledger'), { recursive: true });
  for (const file of ['config.json', 'previous_service_cert.pem']) copyFileSync(join(dir, file), join(copy, file));
  const copied = parseNodeConfig(JSON.parse(readFileSync(join(copy, 'config.json'), 'utf8')), join(copy, 'config.json'));
  await assert.rejects(startNodeService(copied, node.version), (error: unknown) => {
    assert.match(String(error), new RegExp(`From seqno ${createSeqno} \\(ledger_${createSeqno}\\) the ledger is signed under another service identity than command\\.recover\\.previous_service_identity_file .*move the chunks from seqno ${createSeqno} on aside`));
    return true;
  });
  // Another service's certificate as the previous one: the advice is about that certificate (QA: it spoke of the whole ledger).
  const otherCertPem = createSelfSignedCertificate({ subjectCn: 'CCF Service', keyPair: generateKeyPair('P-384'), validFrom: new Date(), validityDays: 1, isCa: true });
  writeFileSync(join(copy, 'previous_service_cert.pem'), otherCertPem);
  for (const name of readdirSync(join(copy, 'ledger'))) if (name.startsWith(`ledger_${createSeqno}`)) rmSync(join(copy, 'ledger', name));
  await assert.rejects(startNodeService(copied, node.version), (error: unknown) => {
    assert.match(String(error), /As command\.recover\.previous_service_identity_file \(.*\), give the certificate of the service that wrote this ledger \(its service_cert\.pem\), or recover the ledger of the service that certificate names$/);
    return true;
  });

  // Stopped before it opened: started again, it recovers anew.
  logged.length = 0;
  const again = await startNodeService(node.config(), node.version);
  t.after(() => again.stop());
  assert.notEqual(again.serviceCertPem, firstIdentity, 'a new identity: the interrupted recovery is set aside');
  assert.equal(again.node.execute((tx) => ({ result: readServiceInfo(tx)?.status, applyWrites: false })).result, 'Recovering');
  assert.equal(again.node.execute((tx) => ({ result: readServiceInfo(tx)?.recovery_count, applyWrites: false })).result, 1, 'the interrupted recovery does not count');
  assert.ok(logged.some((line) => /began a recovery that stopped before the service opened: the recovered service's 1 chunk\(s\) after seqno \d+ and .*sealed_secrets\.json set aside as \.ignored/.test(line)), logged.join('\n'));
  assert.ok(readdirSync(join(dir, 'ledger')).some((name) => name.endsWith('.ignored')), 'the interrupted recovery\'s chunk is kept aside');
  // Each attempt's set-aside is kept: the first holds the previous service's own secrets.
  assert.equal(readSealedSecrets(join(dir, 'sealed_secrets.json.ignored'))?.serviceCertPem, previousCertPem);
  assert.equal(readSealedSecrets(join(dir, 'sealed_secrets.json.1.ignored'))?.serviceCertPem, firstIdentity);
  for (let i = 0; i < TRANSACTIONS; i += SNAPSHOT_TX_COUNT) assert.equal(recordOf(again, i), `record ${i}`);
});
