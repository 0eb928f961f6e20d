// The service-wide Ethereum settings: what a node serves given its configuration and what its
// service recorded at genesis (the record wins; a configured value must agree, and a mismatch names
// the field and both values), and the record's encoding (a record from before
// allow_unprotected_transactions was recorded refuses unprotected transactions).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { utf8 } from '../../src/crypto/bytes.js';
import { CocoError } from '../../src/errors.js';
import { CHAIN_SETTINGS_TABLE, readChainSettings, resolveChainSettings, writeChainSettings, type ChainSettings, type ConfiguredChainSettings } from '../../src/ethereum/chain-settings.js';
import { SINGLETON } from '../../src/governance/builtin-tables.js';
import { Store } from '../../src/kv/store.js';

const UNSET: ConfiguredChainSettings = { chainId: undefined, publicState: undefined, blockGasLimit: undefined, allowUnprotectedTransactions: undefined };
const RECORDED: ChainSettings = { chainId: 9999n, publicState: true, blockGasLimit: 8_000_000n, allowUnprotectedTransactions: true };

const CASES: { name: string; configured: Partial<ConfiguredChainSettings>; recorded: ChainSettings | undefined; serves?: ChainSettings; refused?: string }[] = [
  { name: 'a new service, nothing configured: the defaults', configured: {}, recorded: undefined, serves: { chainId: 4242n, publicState: false, blockGasLimit: 30_000_000n, allowUnprotectedTransactions: false } },
  {
    name: 'a new service: what is configured',
    configured: { chainId: 7n, publicState: true, allowUnprotectedTransactions: true },
    recorded: undefined,
    serves: { chainId: 7n, publicState: true, blockGasLimit: 30_000_000n, allowUnprotectedTransactions: true },
  },
  { name: 'a node configuring nothing: the recorded settings', configured: {}, recorded: RECORDED, serves: RECORDED },
  { name: 'a node configuring the recorded settings', configured: { chainId: 9999n, publicState: true, blockGasLimit: 8_000_000n, allowUnprotectedTransactions: true }, recorded: RECORDED, serves: RECORDED },
  {
    name: 'another chain id',
    configured: { chainId: 4242n },
    recorded: RECORDED,
    refused: "configuration $.ethereum.chain_id is 4242, but the service's is 9999 (recorded at its genesis in public:coco.service.ethereum): every node of a service serves one Ethereum chain. Set the configuration to the service's value, or remove the setting to take it",
  },
  {
    name: 'private state and another gas limit',
    configured: { publicState: false, blockGasLimit: 30_000_000n },
    recorded: RECORDED,
    refused: "configuration $.ethereum.public_state is false, but the service's is true; $.ethereum.block_gas_limit is 30000000, but the service's is 8000000 (recorded at its genesis",
  },
  {
    name: 'unprotected transactions refused where the service accepts them',
    configured: { allowUnprotectedTransactions: false },
    recorded: RECORDED,
    refused: "configuration $.ethereum.allow_unprotected_transactions is false, but the service's is true (recorded at its genesis",
  },
];

for (const c of CASES) {
  test(`chain settings: ${c.name}`, () => {
    const resolve = () => resolveChainSettings({ ...UNSET, ...c.configured }, c.recorded);
    if (c.serves !== undefined) assert.deepEqual(resolve(), c.serves);
    else assert.throws(resolve, (error: unknown) => error instanceof CocoError && error.code === 'EthereumSettingsMismatch' && error.message.startsWith(c.refused!));
  });
}

test('the record is the single JSON value of public:coco.service.ethereum, read back as written; a malformed one is refused', () => {
  const store = new Store();
  const tx = store.beginTransaction();
  assert.equal(readChainSettings(tx), undefined, 'a service created before the record');
  writeChainSettings(tx, RECORDED);
  assert.deepEqual(readChainSettings(tx), RECORDED);
  assert.equal(new TextDecoder().decode(tx.map(CHAIN_SETTINGS_TABLE).get(SINGLETON)), '{"chain_id":9999,"public_state":true,"block_gas_limit":8000000,"allow_unprotected_transactions":true}');
  // Recorded before the setting was: such a service refused unprotected transactions, and still does.
  tx.map(CHAIN_SETTINGS_TABLE).set(SINGLETON, utf8('{"chain_id":9999,"public_state":true,"block_gas_limit":8000000}'));
  assert.deepEqual(readChainSettings(tx), { ...RECORDED, allowUnprotectedTransactions: false });
  tx.map(CHAIN_SETTINGS_TABLE).set(SINGLETON, utf8('{"chain_id":9999,"public_state":true,"block_gas_limit":8000000,"allow_unprotected_transactions":"yes"}'));
  assert.throws(() => readChainSettings(tx), (error: unknown) => error instanceof CocoError && error.code === 'EthereumSettingsMalformed');
  tx.map(CHAIN_SETTINGS_TABLE).set(SINGLETON, utf8('{"chain_id":"9999"}'));
  assert.throws(() => readChainSettings(tx), (error: unknown) => error instanceof CocoError && error.code === 'EthereumSettingsMalformed');
});
