// The untimed part of the Ethereum benchmark, the same for every system: deploy the ERC-20 sample's
// Token from a funded account, give each of the benchmark's senders (fresh deterministic wallets)
// ether and tokens, wait for those receipts; then sign every transfer of a run before it starts,
// with ethers.js as a wallet would (type 2, explicit nonce, gas limit, chain id, the fees the node
// suggests). Transactions go out as raw JSON-RPC, so the setup keeps their bytes for replaying.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ethers } from 'ethers';
import { PACKAGE_ROOT } from '../src/cli/node-process.js';
import { CocoError } from '../src/errors.js';
import type { JsonRpcClient } from './json-rpc-client.js';
import type { SignedQueue } from './json-rpc-load.js';
import { progress } from './measure.js';

const TOKEN_ARTIFACT = join(PACKAGE_ROOT, 'samples', 'erc20', 'dist', 'Token.json');
const TOKEN_SUPPLY = 10n ** 30n;
const TOKENS_PER_SENDER = 10n ** 24n;
const ETHER_PER_SENDER = 10n * 10n ** 18n;
/** Well above what each needs: deploying Token takes about 700,000 gas, a transfer about 35,000. */
const DEPLOY_GAS = 3_000_000n;
const TRANSFER_GAS = 100_000n;
const VALUE_TRANSFER_GAS = 21_000n;
const RECEIPT_POLL_MS = 20;
const SETUP_TIMEOUT_MS = 60_000;
/** Receipts asked for in one batch while waiting for the setup. */
const RECEIPT_BATCH_MAX = 100;

export type Workload = 'erc20' | 'value';

export interface Fees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

export interface PreparedChain {
  chainId: bigint;
  fees: Fees;
  /** The Token's address. */
  token: string;
  senders: ethers.Wallet[];
  /** Every setup transaction as sent, in order. */
  setupRaws: string[];
}

interface TokenArtifact {
  abi: ethers.InterfaceAbi;
  bytecode: string;
}

const TOKEN = new ethers.Interface(['function transfer(address to, uint256 value) returns (bool)']);

function readTokenArtifact(): TokenArtifact {
  try {
    return JSON.parse(readFileSync(TOKEN_ARTIFACT, 'utf8')) as TokenArtifact;
  } catch (error) {
    throw new CocoError('BenchFailed', `cannot read the ERC-20 sample's compiled Token at ${TOKEN_ARTIFACT} (${(error as Error).message}): run \`node samples/erc20/build.mjs\` or \`npm run build\` first`);
  }
}

/** The benchmark's senders: the same deterministic keys on every system, holding nothing until the setup. */
export function benchSenders(count: number): ethers.Wallet[] {
  return Array.from({ length: count }, (_, i) => new ethers.Wallet(ethers.keccak256(ethers.toUtf8Bytes(`coco bench ethereum sender ${i}`))));
}

const quantity = (value: unknown, what: string): bigint => {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]+$/.test(value)) throw new CocoError('BenchFailed', `${what}: expected a quantity, got ${JSON.stringify(value)}`);
  return BigInt(value);
};

/** EIP-1559 fees as ethers.js derives them: twice the next block's base fee, plus the suggested tip. */
async function suggestFees(client: JsonRpcClient): Promise<Fees> {
  const history = (await client.call('eth_feeHistory', ['0x1', 'latest', []])) as { baseFeePerGas?: unknown[] };
  const nextBaseFee = quantity(history.baseFeePerGas?.at(-1), 'eth_feeHistory baseFeePerGas');
  const maxPriorityFeePerGas = quantity(await client.call('eth_maxPriorityFeePerGas', []), 'eth_maxPriorityFeePerGas');
  return { maxFeePerGas: 2n * nextBaseFee + maxPriorityFeePerGas, maxPriorityFeePerGas };
}

async function nonces(client: JsonRpcClient, addresses: readonly string[]): Promise<bigint[]> {
  const answers = await client.batch(addresses.map((address) => ({ method: 'eth_getTransactionCount', params: [address, 'pending'] })));
  return answers.map((answer, i) => {
    if ('error' in answer) throw new CocoError('BenchFailed', `eth_getTransactionCount of ${addresses[i]}: ${answer.error.message}`);
    return quantity(answer.result, `the nonce of ${addresses[i]}`);
  });
}

function sign(wallet: ethers.Wallet, chain: Pick<PreparedChain, 'chainId' | 'fees'>, nonce: bigint, request: ethers.TransactionRequest): Promise<string> {
  return wallet.signTransaction({ type: 2, chainId: chain.chainId, nonce: Number(nonce), ...chain.fees, ...request });
}

/** Waits until every one of `hashes` has a successful receipt; returns the receipts. */
async function receiptsOf(client: JsonRpcClient, hashes: readonly string[]): Promise<{ status: string; contractAddress?: string }[]> {
  const receipts = new Map<string, { status: string; contractAddress?: string }>();
  const deadline = Date.now() + SETUP_TIMEOUT_MS;
  while (receipts.size < hashes.length) {
    if (Date.now() > deadline) throw new CocoError('BenchFailed', `${hashes.length - receipts.size} setup transactions have no receipt after ${SETUP_TIMEOUT_MS / 1000} s`);
    const missing = hashes.filter((hash) => !receipts.has(hash)).slice(0, RECEIPT_BATCH_MAX);
    const answers = await client.batch(missing.map((hash) => ({ method: 'eth_getTransactionReceipt', params: [hash] })));
    answers.forEach((answer, i) => {
      if ('error' in answer) throw new CocoError('BenchFailed', `eth_getTransactionReceipt: ${answer.error.message}`);
      const receipt = answer.result as { status: string; contractAddress?: string } | null;
      if (receipt === null) return;
      if (receipt.status !== '0x1') throw new CocoError('BenchFailed', `setup transaction ${missing[i]} failed (receipt status ${receipt.status})`);
      receipts.set(missing[i]!, receipt);
    });
    if (receipts.size < hashes.length) await new Promise((resolve) => setTimeout(resolve, RECEIPT_POLL_MS));
  }
  return hashes.map((hash) => receipts.get(hash)!);
}

/**
 * Deploys the Token from `funder` (a funded account of the system) and funds every sender with
 * ether and tokens, one transaction after the other from `funder`; waits for all their receipts.
 */
export async function prepareChain(client: JsonRpcClient, funder: ethers.Wallet, senders: ethers.Wallet[]): Promise<PreparedChain> {
  const artifact = readTokenArtifact();
  const chainId = quantity(await client.call('eth_chainId', []), 'eth_chainId');
  const fees = await suggestFees(client);
  const chain = { chainId, fees };
  let [nonce] = await nonces(client, [funder.address]);
  const deploy = new ethers.Interface(artifact.abi).encodeDeploy(['Coco Bench Token', 'CBT', TOKEN_SUPPLY]);
  const token = ethers.getCreateAddress({ from: funder.address, nonce: nonce! });
  const setupRaws = [await sign(funder, chain, nonce!, { data: ethers.concat([artifact.bytecode, deploy]), gasLimit: DEPLOY_GAS })];
  for (const sender of senders) {
    setupRaws.push(await sign(funder, chain, ++nonce!, { to: sender.address, value: ETHER_PER_SENDER, gasLimit: VALUE_TRANSFER_GAS }));
    setupRaws.push(await sign(funder, chain, ++nonce!, { to: token, data: TOKEN.encodeFunctionData('transfer', [sender.address, TOKENS_PER_SENDER]), gasLimit: TRANSFER_GAS }));
  }
  progress(`setup: deploying the Token and funding ${senders.length} senders (${setupRaws.length} transactions)`);
  const hashes: string[] = [];
  for (const raw of setupRaws) hashes.push((await client.call('eth_sendRawTransaction', [raw])) as string);
  const [deployed] = await receiptsOf(client, hashes);
  if (deployed?.contractAddress?.toLowerCase() !== token.toLowerCase()) {
    throw new CocoError('BenchFailed', `the Token was deployed at ${deployed?.contractAddress}, not at ${token} as its creator's nonce says`);
  }
  return { chainId, fees, token, senders, setupRaws };
}

/**
 * Signs `perSender` transactions for each sender, from its current nonce on: ERC-20 transfers of one
 * token unit, or value transfers of one wei (21,000 gas), each to the next sender.
 */
export async function presign(client: JsonRpcClient, chain: PreparedChain, workload: Workload, perSender: number): Promise<SignedQueue[]> {
  const { senders } = chain;
  const first = await nonces(client, senders.map((sender) => sender.address));
  const total = senders.length * perSender;
  progress(`signing ${total.toLocaleString('en-US')} ${workload === 'erc20' ? 'ERC-20 transfers' : 'value transfers'} (${perSender} per sender) with ethers.js`);
  const queues: SignedQueue[] = [];
  for (const [i, sender] of senders.entries()) {
    const to = senders[(i + 1) % senders.length]!.address;
    const request: ethers.TransactionRequest =
      workload === 'erc20'
        ? { to: chain.token, data: TOKEN.encodeFunctionData('transfer', [to, 1n]), gasLimit: TRANSFER_GAS }
        : { to, value: 1n, gasLimit: VALUE_TRANSFER_GAS };
    const raws: string[] = [];
    for (let n = 0; n < perSender; n++) raws.push(await sign(sender, chain, first[i]! + BigInt(n), request));
    queues.push({ raws, hashes: raws.map((raw) => ethers.keccak256(raw)), next: 0 });
  }
  return queues;
}
