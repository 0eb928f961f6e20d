// What the Coco transaction that runs an Ethereum transaction claims: that transaction and how it
// ended. Its leaf in the Merkle tree folds in, as the claims digest (CCF's application claims),
// SHA-256 of the transaction hash followed by the Ethereum receipt in Ethereum's consensus encoding
// (EIP-2718: the type byte of a typed transaction, then RLP [status, cumulative gas used, logs
// bloom, logs], what a receipts trie holds). So a Coco receipt proves offline, against the service
// certificate alone, which Ethereum transaction ran and its outcome (succeeded or reverted, gas,
// events): a hash alone would prove a reverted transfer as well as one that moved the tokens. The
// Ethereum data itself stays private; whoever verifies brings the Ethereum receipt.

import { RLP } from '@ethereumjs/rlp';
import { bigIntToUnpaddedBytes } from '@ethereumjs/util';
import { concatBytes, equalBytes } from '../crypto/bytes.js';
import { sha256 } from '../crypto/hash.js';
import { CocoError } from '../errors.js';
import type { LogRecord } from './ethereum-maps.js';
import { JsonRpcError } from './json-rpc.js';
import { logsBloom } from './logs-bloom.js';
import { invalidParams, parseAddress, parseData, parseHash, parseQuantity } from './rpc-values.js';

/** What an Ethereum receipt's consensus encoding holds (Coco runs one transaction a block: cumulative gas is its own). */
export interface EthereumOutcome {
  /** The transaction type (0 legacy, 1 EIP-2930, 2 EIP-1559, ...). */
  type: number;
  status: 0 | 1;
  cumulativeGasUsed: bigint;
  logs: readonly LogRecord[];
}

/** The receipt as Ethereum encodes it for its receipts trie (EIP-2718), as geth's `MarshalBinary` does. */
export function consensusReceiptEncoding(outcome: EthereumOutcome): Uint8Array {
  const rlp = RLP.encode([
    outcome.status === 1 ? Uint8Array.of(1) : new Uint8Array(0),
    bigIntToUnpaddedBytes(outcome.cumulativeGasUsed),
    logsBloom(outcome.logs),
    outcome.logs.map((log) => [log.address, log.topics, log.data]),
  ]);
  return outcome.type === 0 ? rlp : concatBytes(Uint8Array.of(outcome.type), rlp);
}

/** The claims digest of the Coco transaction that ran the Ethereum transaction `hash` (32 bytes) with `outcome`. */
export function ethereumClaimsDigest(hash: Uint8Array, outcome: EthereumOutcome): Uint8Array {
  return sha256(concatBytes(hash, consensusReceiptEncoding(outcome)));
}

/**
 * The transaction hash and outcome an Ethereum receipt in JSON-RPC's shape (`eth_getTransactionReceipt`'s
 * result) states; the claims digest then says whether the service agrees. Its other fields (block,
 * from, to, contractAddress, gas price) are not claimed: the transaction itself, which the hash
 * proves, says who sent it where. Throws InvalidArgument naming the field that is missing or
 * malformed, or a gasUsed or logsBloom that disagrees with what is claimed.
 */
export function outcomeOfRpcReceipt(receipt: unknown): { hash: Uint8Array; outcome: EthereumOutcome } {
  try {
    if (typeof receipt !== 'object' || receipt === null || Array.isArray(receipt)) throw invalidParams(`expected an object, got ${JSON.stringify(receipt)?.slice(0, 80)}`);
    const fields = receipt as Record<string, unknown>;
    const type = parseQuantity(fields.type, 'type', 64);
    // EIP-2718: a typed transaction's type byte is below 0x80, which starts an RLP list (legacy).
    if (type > 0x7fn) throw invalidParams(`type must be at most 0x7f, got ${JSON.stringify(fields.type)}`);
    const status = parseQuantity(fields.status, 'status', 64);
    if (status > 1n) throw invalidParams(`status must be "0x0" or "0x1", got ${JSON.stringify(fields.status)}`);
    if (!Array.isArray(fields.logs)) throw invalidParams(`logs must be a list, got ${JSON.stringify(fields.logs)?.slice(0, 80)}`);
    const logs = (fields.logs as unknown[]).map((log, i): LogRecord => {
      const { address, topics, data } = (log ?? {}) as Record<string, unknown>;
      if (!Array.isArray(topics)) throw invalidParams(`logs[${i}].topics must be a list, got ${JSON.stringify(topics)?.slice(0, 80)}`);
      return {
        address: parseAddress(address, `logs[${i}].address`),
        topics: (topics as unknown[]).map((topic, j) => parseHash(topic, `logs[${i}].topics[${j}]`)),
        data: parseData(data, `logs[${i}].data`),
      };
    });
    const cumulativeGasUsed = parseQuantity(fields.cumulativeGasUsed, 'cumulativeGasUsed');
    // What the encoding leaves out but a reader takes from the same receipt must agree with it: Coco
    // runs one transaction a block (its gas is the block's), and the bloom is the logs'.
    if (fields.gasUsed !== undefined && parseQuantity(fields.gasUsed, 'gasUsed') !== cumulativeGasUsed) {
      throw invalidParams(`gasUsed ${JSON.stringify(fields.gasUsed)} is not cumulativeGasUsed ${JSON.stringify(fields.cumulativeGasUsed)}, as in every receipt Coco gives (one transaction a block)`);
    }
    if (fields.logsBloom !== undefined && !equalBytes(parseData(fields.logsBloom, 'logsBloom'), logsBloom(logs))) {
      throw invalidParams('logsBloom is not the bloom of the logs');
    }
    return {
      hash: parseHash(fields.transactionHash, 'transactionHash'),
      outcome: { type: Number(type), status: status === 1n ? 1 : 0, cumulativeGasUsed, logs },
    };
  } catch (error) {
    if (!(error instanceof JsonRpcError)) throw error;
    throw new CocoError('InvalidArgument', `not an Ethereum receipt as eth_getTransactionReceipt gives it: ${error.message}`);
  }
}

/** The claims digest the Coco transaction of an Ethereum transaction has, from its Ethereum receipt (`eth_getTransactionReceipt`'s result). */
export function ethereumReceiptClaimsDigest(ethereumReceipt: unknown): Uint8Array {
  const { hash, outcome } = outcomeOfRpcReceipt(ethereumReceipt);
  return ethereumClaimsDigest(hash, outcome);
}
