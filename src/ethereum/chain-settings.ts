// The Ethereum settings every node of a service shares, recorded by its genesis transaction in
// `public:coco.service.ethereum`: the chain id, whether the state is public (its maps' names), the
// block gas limit and whether transactions signed without a chain id are accepted. A node serves
// those; a setting its configuration gives must agree, or it is refused. Per node, not recorded:
// max_execution_time_ms; genesis-only: genesis_accounts.

import { CocoError } from '../errors.js';
import { decodeJson, encodeJson, SINGLETON } from '../governance/builtin-tables.js';
import type { Transaction } from '../kv/transaction.js';
import { ETHEREUM_CHAIN_ID_DEFAULT } from '../node/node-config.js';
import { BLOCK_GAS_LIMIT_DEFAULT } from './limits.js';

/**
 * Coco's own public table of service-wide settings (apps and governance read it; only genesis writes
 * it), a single value as CCF's are: the settings as JSON. Outside `coco.ethereum.`, the state's maps.
 */
export const CHAIN_SETTINGS_TABLE = 'public:coco.service.ethereum';

export interface ChainSettings {
  chainId: bigint;
  publicState: boolean;
  blockGasLimit: bigint;
  /**
   * Accept legacy transactions signed without a chain id (pre-EIP-155, v = 27 or 28), which any
   * chain would run as well, as geth does with --rpc.allow-unprotected-txs: presigned deployment
   * transactions (Arachnid's CREATE2 deployer, ERC-1820) exist only in that form.
   */
  allowUnprotectedTransactions: boolean;
}

/** What a node's configuration (`ethereum.*`) sets; undefined where it sets nothing. */
export type ConfiguredChainSettings = { [Setting in keyof ChainSettings]: ChainSettings[Setting] | undefined };

/** The record's JSON fields, named as the configuration's, for each setting. */
const FIELDS = {
  chainId: 'chain_id',
  publicState: 'public_state',
  blockGasLimit: 'block_gas_limit',
  allowUnprotectedTransactions: 'allow_unprotected_transactions',
} as const satisfies Record<keyof ChainSettings, string>;

export function writeChainSettings(tx: Transaction, settings: ChainSettings): void {
  const record = {
    chain_id: Number(settings.chainId),
    public_state: settings.publicState,
    block_gas_limit: Number(settings.blockGasLimit),
    allow_unprotected_transactions: settings.allowUnprotectedTransactions,
  };
  tx.map(CHAIN_SETTINGS_TABLE).set(SINGLETON, encodeJson(record));
}

/** The settings the service recorded at genesis; undefined for a service created before Coco recorded them. */
export function readChainSettings(tx: Transaction): ChainSettings | undefined {
  const value = tx.map(CHAIN_SETTINGS_TABLE).get(SINGLETON);
  if (value === undefined) return undefined;
  const record = decodeJson<Record<string, unknown> | null>(value, CHAIN_SETTINGS_TABLE);
  // A service created before Coco recorded allow_unprotected_transactions refused such transactions.
  const { chain_id: chainId, public_state: publicState, block_gas_limit: blockGasLimit, allow_unprotected_transactions: allowUnprotectedTransactions = false } = record ?? {};
  if (!Number.isSafeInteger(chainId) || typeof publicState !== 'boolean' || !Number.isSafeInteger(blockGasLimit) || typeof allowUnprotectedTransactions !== 'boolean') {
    throw new CocoError(
      'EthereumSettingsMalformed',
      `${CHAIN_SETTINGS_TABLE} holds no valid {"chain_id", "public_state", "block_gas_limit"[, "allow_unprotected_transactions"]}: ${JSON.stringify(record)}`,
    );
  }
  return { chainId: BigInt(chainId as number), publicState, blockGasLimit: BigInt(blockGasLimit as number), allowUnprotectedTransactions };
}

/**
 * The settings a node serves: those the service recorded, where it did (a setting its configuration
 * gives must be the same: EthereumSettingsMismatch names each one that is not, with both values);
 * otherwise its configuration's, defaults filled in (a new service records these at genesis; a
 * service created before Coco recorded them keeps each node's).
 */
export function resolveChainSettings(configured: ConfiguredChainSettings, recorded: ChainSettings | undefined): ChainSettings {
  if (recorded === undefined) {
    return {
      chainId: configured.chainId ?? BigInt(ETHEREUM_CHAIN_ID_DEFAULT),
      publicState: configured.publicState ?? false,
      blockGasLimit: configured.blockGasLimit ?? BLOCK_GAS_LIMIT_DEFAULT,
      allowUnprotectedTransactions: configured.allowUnprotectedTransactions ?? false,
    };
  }
  const mismatches = (Object.keys(FIELDS) as (keyof ChainSettings)[]).flatMap((setting) => {
    const value = configured[setting];
    if (value === undefined || value === recorded[setting]) return [];
    return [`$.ethereum.${FIELDS[setting]} is ${value}, but the service's is ${recorded[setting]}`];
  });
  if (mismatches.length > 0) {
    throw new CocoError(
      'EthereumSettingsMismatch',
      `configuration ${mismatches.join('; ')} (recorded at its genesis in ${CHAIN_SETTINGS_TABLE}): every node of a service serves one Ethereum chain. ` +
        'Set the configuration to the service\'s value, or remove the setting to take it',
    );
  }
  return recorded;
}
