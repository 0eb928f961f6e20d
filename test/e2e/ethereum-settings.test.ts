// The Ethereum settings are the service's, with real processes: genesis records them, a joiner
// configured with another chain id is admitted but, once it has caught up with the service's state,
// refuses to serve and exits 1 in one line naming the field and both values (it never serves that
// chain), and a node restarted with another public_state refuses to start the same way. A service
// started with allow_unprotected_transactions runs the presigned CREATE2 deployer transaction, and
// still accepts such transactions once its node is restarted without the setting.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ethers } from 'ethers';
import { runningNodePid } from '../../src/cli/node-pid-file.js';
import { GovernanceClient } from '../../src/client/governance-client.js';
import { passProposal } from '../../src/client/open-service.js';
import { CREATE2_DEPLOYER } from '../ethereum/contracts.js';
import { exitOf } from '../support/child-exit.js';
import { FaultNetwork } from '../support/network-fixture.js';
import { runNode, startJoiner, startJoinersSandbox, validFromNow } from '../support/joiner-process.js';
import { until } from '../support/until.js';

const WAIT_MS = 30_000;

test('a node whose ethereum settings differ from those its service recorded at genesis refuses to serve, naming the field and both values', { timeout: 180_000 }, async (t) => {
  const { sandbox, children, client } = await startJoinersSandbox(t, ['--nodes', '2']);
  const joiner = await startJoiner(sandbox, 'other-chain', { ethereum: { chain_id: 9999 } });
  children.push(joiner.child);
  const member = new GovernanceClient(client, { member: { certPem: sandbox.pem('member0_cert.pem'), keyPem: sandbox.pem('member0_privk.pem') } });
  const nodes = async () => (await client.request('GET', '/node/network/nodes')).json<{ nodes: { node_id: string; status: string }[] }>().nodes;
  const pending = await until('the joiner to be Pending', WAIT_MS, async () => (await nodes()).find((n) => n.status === 'Pending'));
  await passProposal(client, [member], [{ name: 'transition_node_to_trusted', args: { node_id: pending.node_id, valid_from: validFromNow() } }]);
  assert.equal(await exitOf(joiner.child, 'the joiner on another chain'), 1, joiner.output());
  const refusal = joiner.output().split('\n').filter((line) => line.includes('[error]'));
  assert.equal(refusal.length, 1, joiner.output());
  assert.match(
    refusal[0]!,
    /coco: configuration \$\.ethereum\.chain_id is 9999, but the service's is 4242 \(recorded at its genesis in public:coco\.service\.ethereum\): every node of a service serves one Ethereum chain\. Set the configuration to the service's value, or remove the setting to take it \[EthereumSettingsMismatch\]$/,
  );

  // A node of the service restarted with its Ethereum state made public refuses to start.
  const dir = join(sandbox.workspace, 'sandbox_1');
  process.kill(runningNodePid(dir)!, 'SIGKILL');
  await until('node 1 to stop', WAIT_MS, async () => (runningNodePid(dir) === undefined ? true : undefined));
  const configPath = join(dir, 'config.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as { ethereum: Record<string, unknown> };
  writeFileSync(configPath, JSON.stringify({ ...config, ethereum: { ...config.ethereum, public_state: true } }));
  const restarted = runNode(dir);
  children.push(restarted.child);
  assert.equal(await exitOf(restarted.child, 'node 1 restarted with public_state'), 1, restarted.output());
  assert.match(restarted.output(), /coco: configuration \$\.ethereum\.public_state is true, but the service's is false \(recorded at its genesis in public:coco\.service\.ethereum\).* \[EthereumSettingsMismatch\]\n$/);
  assert.doesNotMatch(restarted.output(), /listening on/, 'it refused before it served');
});

test('a service started with ethereum.allow_unprotected_transactions runs the presigned CREATE2 deployer transaction, and keeps accepting such transactions with the setting removed', { timeout: 180_000 }, async (t) => {
  const ethereum = { allow_unprotected_transactions: true, genesis_accounts: [{ address: CREATE2_DEPLOYER.signer, balance: String(10n ** 16n) }] };
  const withEthereum = (path: string, section: Record<string, unknown>) => {
    const config = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    writeFileSync(path, JSON.stringify({ ...config, ethereum: section }));
  };
  const network = await FaultNetwork.start({ nodes: 1, beforeStart: (i, n) => withEthereum(n.configPath(i), ethereum) });
  t.after(() => network.close());
  const rpc = async (method: string, params: unknown[]) =>
    (await network.client(0).request('POST', '/app/ethereum', { body: { jsonrpc: '2.0', id: 1, method, params } })).json<{ result?: string; error?: { message: string } }>();

  const sent = await rpc('eth_sendRawTransaction', [CREATE2_DEPLOYER.transaction]);
  assert.equal(sent.result, ethers.keccak256(CREATE2_DEPLOYER.transaction), JSON.stringify(sent.error));
  assert.equal((await rpc('eth_getCode', [CREATE2_DEPLOYER.address, 'latest'])).result, CREATE2_DEPLOYER.runtime);

  // The genesis recorded the setting: restarted with it removed, the node serves the service's.
  await network.stop(0);
  withEthereum(network.configPath(0), {});
  await network.restart(0);
  const unprotected = ethers.Transaction.from({ type: 0, nonce: 0, to: CREATE2_DEPLOYER.signer, gasLimit: 21_000n, gasPrice: 0n });
  const signer = ethers.Wallet.createRandom();
  unprotected.signature = signer.signingKey.sign(unprotected.unsignedHash);
  const accepted = await until('the restarted node to serve Ethereum', 60_000, async () => {
    const answer = await rpc('eth_sendRawTransaction', [unprotected.serialized]);
    return answer.result ?? (/not caught up/.test(answer.error?.message ?? '') ? undefined : answer.error?.message);
  });
  assert.equal(accepted, unprotected.hash);
});

test('coco sandbox --ethereum-allow-unprotected-transactions starts a service that runs the presigned CREATE2 deployer once its signer is funded', { timeout: 180_000 }, async (t) => {
  const { sandbox, client } = await startJoinersSandbox(t, ['--nodes', '1', '--ethereum-allow-unprotected-transactions']);
  const rpc = async (method: string, params: unknown[]) =>
    (await client.request('POST', '/app/ethereum', { body: { jsonrpc: '2.0', id: 1, method, params } })).json<{ result?: unknown; error?: { message: string } }>();
  const [funder] = JSON.parse(sandbox.pem('ethereum_accounts.json')) as { private_key: string }[];
  const funding = await new ethers.Wallet(funder!.private_key).signTransaction({ type: 0, nonce: 0, to: CREATE2_DEPLOYER.signer, value: 10n ** 16n, gasLimit: 21_000n, gasPrice: 0n, chainId: 4242n });
  assert.equal((await rpc('eth_sendRawTransaction', [funding])).error, undefined);
  await until('the funding to commit', WAIT_MS, async () => ((await rpc('eth_getTransactionReceipt', [ethers.keccak256(funding)])).result ?? undefined));
  const sent = await rpc('eth_sendRawTransaction', [CREATE2_DEPLOYER.transaction]);
  assert.equal(sent.result, ethers.keccak256(CREATE2_DEPLOYER.transaction), JSON.stringify(sent.error));
  assert.equal((await rpc('eth_getCode', [CREATE2_DEPLOYER.address, 'latest'])).result, CREATE2_DEPLOYER.runtime);
});
