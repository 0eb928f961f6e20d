// The chain a node serves comes from its service's state, with real nodes replicating in this
// process: a joiner that does not hold the service's state yet serves no Ethereum (503), one that
// caught up serves the recorded settings whatever it leaves unset, one configured otherwise is
// refused (at once, or by the watch of a joiner), and a service created before the record serves
// each node's configuration.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CocoError } from '../../src/errors.js';
import { writeChainSettings, type ChainSettings, type ConfiguredChainSettings } from '../../src/ethereum/chain-settings.js';
import type { JsonRpcMethods } from '../../src/ethereum/json-rpc.js';
import { requestScope } from '../../src/ethereum/json-rpc.js';
import { ServiceChain } from '../../src/ethereum/service-chain.js';
import type { Node } from '../../src/node/node.js';
import { asRpcError } from '../../src/rpc/rpc-error.js';
import { InProcessNetwork } from '../support/in-process-network.js';

const UNSET: ConfiguredChainSettings = { chainId: undefined, publicState: undefined, blockGasLimit: undefined, allowUnprotectedTransactions: undefined };
const RECORDED: ChainSettings = { chainId: 9999n, publicState: true, blockGasLimit: 8_000_000n, allowUnprotectedTransactions: true };

/** A chain whose methods say which settings they were built on. */
function chainOf(node: Node, configured: Partial<ConfiguredChainSettings> = {}, warn?: (line: string) => void): ServiceChain {
  return new ServiceChain(node, { ...UNSET, ...configured }, async (settings): Promise<JsonRpcMethods> => ({ eth_chainId: async () => `0x${settings.chainId.toString(16)}` }), warn);
}

async function chainId(chain: ServiceChain): Promise<unknown> {
  return chain.methods().eth_chainId!([], requestScope());
}

test('a node serves the Ethereum settings its service recorded, once it holds them; a configuration that differs is never served', { timeout: 60_000 }, async (t) => {
  const network = await InProcessNetwork.start(1);
  t.after(() => network.close());
  const primary = network.primary().node;
  // A service created before the record: each node serves its configuration, and says nothing checks it.
  const warnings: string[] = [];
  const before = chainOf(primary, { chainId: 7n }, (line) => warnings.push(line));
  assert.equal(await before.settle(), true);
  assert.equal(await before.settle(), true);
  assert.equal(await chainId(before), '0x7');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /^this service recorded no Ethereum settings .*chain_id 7, public_state false, .* and allow_unprotected_transactions false, .*give every node the same ethereum section/);

  primary.execute((tx) => {
    writeChainSettings(tx, RECORDED);
    return { result: undefined, applyWrites: true };
  });
  // A joiner that holds nothing of the service yet knows no settings, and answers 503 meanwhile.
  const early = network.create('early', { kind: 'join' });
  network.nodes.splice(network.nodes.indexOf(early), 1);
  t.after(() => early.node.stop());
  const waiting = chainOf(early.node, { chainId: 4242n });
  assert.equal(waiting.settings(), undefined);
  assert.equal(await waiting.settle(), false);
  const unavailable = asRpcError((() => {
    try {
      waiting.methods();
    } catch (error) {
      return error;
    }
  })());
  assert.deepEqual([unavailable.status, unavailable.code], [503, 'NodeCannotHandleRequest']);

  // Once it caught up: the recorded settings, what it leaves unset included.
  const joiner = (await network.join()).node;
  const chain = chainOf(joiner);
  assert.equal(await chain.settle(), true);
  assert.equal(await chainId(chain), '0x270f');
  assert.deepEqual(chain.settings(), RECORDED);
  // Configured otherwise, it is refused, naming the field and both values.
  const refusal = (error: unknown) => error instanceof CocoError && error.code === 'EthereumSettingsMismatch' && error.message.startsWith("configuration $.ethereum.chain_id is 4242, but the service's is 9999");
  await assert.rejects(chainOf(joiner, { chainId: 4242n }).settle(), refusal);
  // A joiner's watch finds out once it has caught up.
  const refused = await new Promise<Error>((resolve) => {
    const stop = chainOf(joiner, { chainId: 4242n }).watch(resolve);
    t.after(stop);
  });
  assert.ok(refusal(refused), String(refused));
});
