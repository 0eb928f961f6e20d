// Ethereum on a real 3-node sandbox with web3.js v4 as a user would connect it: an HttpProvider whose
// Node https.Agent presents user0's certificate and trusts the service certificate. Funded accounts,
// transfers signed locally, an ERC-20 with its events and logs, reverts with their reasons, every
// refusal of eth_sendRawTransaction as web3 surfaces it, a batch, reads and writes through a backup.

import assert from 'node:assert/strict';
import { Agent, get as httpsGet } from 'node:https';
import { test } from 'node:test';
import {
  ContractExecutionError,
  eth,
  HttpProvider,
  InvalidResponseError,
  ResponseError,
  TransactionRevertedWithoutReasonError,
  TransactionRevertInstructionError,
  TransactionSigningError,
  Web3,
  type Contract,
  type ContractAbi,
  type EventLog,
} from 'web3';
import { FUTURE_NONCES_PER_SENDER_MAX } from '../../src/ethereum/limits.js';
import { contracts } from '../ethereum/contracts.js';
import { startSandbox, type SandboxProcess } from '../support/sandbox-process.js';
import { until } from '../support/until.js';

const CHAIN_ID = 4242n;
const FUNDING = 10_000n * 10n ** 18n;
const ETHER = 10n ** 18n;
// web3 polls for receipts every second by default; Coco commits within tens of milliseconds.
const POLLING_MS = 50;

function connect(url: string, agent: Agent): Web3 {
  // web3's option type is the browser's RequestInit, but in Node the request goes to node-fetch,
  // which takes `agent`: that is how a client certificate reaches the TLS handshake.
  const web3 = new Web3(new HttpProvider(`${url}/app/ethereum`, { providerOptions: { agent } as RequestInit }));
  web3.setConfig({ transactionPollingInterval: POLLING_MS });
  return web3;
}

function userAgent(sandbox: SandboxProcess): Agent {
  return new Agent({ ca: sandbox.pem('service_cert.pem'), cert: sandbox.pem('user0_cert.pem'), key: sandbox.pem('user0_privk.pem'), keepAlive: true });
}

function getJson<T>(url: string, agent: Agent): Promise<T> {
  return new Promise((resolve, reject) => {
    httpsGet(url, { agent }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve(JSON.parse(text) as T));
    }).on('error', reject);
  });
}

/** web3's PromiEvent is a thenable, not the Promise node:assert's types ask for. */
function settled(pending: unknown): Promise<unknown> {
  return Promise.resolve(pending);
}

/** Asserts that `pending` fails with the JSON-RPC error `{ code, message }` as web3 reports a node's error. */
async function rejectsWithRpcError(pending: unknown, code: number, message: string): Promise<void> {
  await assert.rejects(settled(pending), (error: unknown) => {
    assert.ok(error instanceof InvalidResponseError, `expected InvalidResponseError, got ${String(error)}`);
    const cause = error.cause as unknown as { code: number; message: string };
    assert.deepEqual({ code: cause.code, message: cause.message }, { code, message });
    return true;
  });
}

/** Past Transfer events of a token: its ABI comes from solc at run time, so web3's types know none of its event names. */
function pastTransfers(token: Contract<ContractAbi>, filter: Record<string, string>): Promise<EventLog[]> {
  const getPastEvents = token.getPastEvents.bind(token) as (name: string, options: { filter: Record<string, string>; fromBlock: number }) => Promise<EventLog[]>;
  return getPastEvents('Transfer', { filter, fromBlock: 0 });
}

test('web3.js v4 against a 3-node sandbox: accounts, transfers, an ERC-20 with events, reverts, refusals, a batch, a backup, authentication', async (t) => {
  const sandbox = await startSandbox(['--nodes', '3']);
  t.after(() => sandbox.stop());
  const primaryAgent = userAgent(sandbox);
  const backupAgent = userAgent(sandbox);
  t.after(() => {
    primaryAgent.destroy();
    backupAgent.destroy();
  });
  const web3 = connect(sandbox.url, primaryAgent);
  const funded = JSON.parse(sandbox.pem('ethereum_accounts.json')) as { address: string; private_key: string }[];
  const [alice, bob, dave] = [0, 1, 2].map((i) => web3.eth.accounts.wallet.add(funded[i]!.private_key).get(i)!);
  const carol = web3.eth.accounts.create().address;
  const { Token, Probe } = contracts();

  await t.test('chain id 4242 and every funded account holds 10,000 ether', async () => {
    assert.equal(await web3.eth.getChainId(), CHAIN_ID);
    assert.equal(await web3.eth.net.getId(), CHAIN_ID);
    assert.equal(funded.length, 10);
    for (const { address } of funded) assert.equal(await web3.eth.getBalance(address), FUNDING, address);
    assert.equal(await web3.eth.getBalance(carol), 0n);
  });

  await t.test('value transfers signed locally: from the wallet, and signTransaction + sendSignedTransaction', async () => {
    const fromWallet = await web3.eth.sendTransaction({ from: alice!.address, to: carol, value: 3n * ETHER / 2n });
    assert.equal(fromWallet.status, 1n);
    assert.equal(fromWallet.gasUsed, 21_000n);
    assert.equal(fromWallet.effectiveGasPrice, 0n, 'the base fee is 0 and so is the priority fee Coco suggests');
    const signed = await bob!.signTransaction({ to: carol, value: ETHER / 2n, gas: 21_000n, gasPrice: 0n, nonce: 0n, chainId: CHAIN_ID });
    const receipt = await web3.eth.sendSignedTransaction(signed.rawTransaction);
    assert.equal(receipt.status, 1n);
    assert.equal(receipt.transactionHash, signed.transactionHash);
    assert.equal(receipt.from, bob!.address.toLowerCase());
    assert.equal(receipt.blockNumber, BigInt(fromWallet.blockNumber) + 1n, 'one block per transaction');
    assert.equal(await web3.eth.getBalance(carol), 2n * ETHER);
    assert.equal(await web3.eth.getBalance(alice!.address), FUNDING - 3n * ETHER / 2n);
    assert.equal(await web3.eth.getTransactionCount(bob!.address), 1n);
    const sent = await web3.eth.getTransaction(signed.transactionHash);
    assert.equal(sent.to, carol.toLowerCase());
    assert.equal(sent.value, ETHER / 2n);
  });

  const tokenAbi = Token.abi as ContractAbi;
  const token = await new web3.eth.Contract(tokenAbi).deploy({ data: Token.bytecode, arguments: ['Coco Token', 'COCO', 1_000_000n] }).send({ from: alice!.address });
  const tokenAddress = token.options.address!;

  await t.test('an ERC-20 deployed with web3.eth.Contract: balanceOf, transfer, getPastEvents by indexed from/to, getPastLogs by topics', async () => {
    assert.equal(await token.methods.balanceOf!(alice!.address).call(), 1_000_000n);
    assert.equal(await token.methods.symbol!().call(), 'COCO');
    const receipt = await token.methods.transfer!(bob!.address, 2_500n).send({ from: alice!.address });
    assert.equal(receipt.status, 1n);
    const emitted = receipt.events?.Transfer;
    assert.equal(emitted?.returnValues.value, 2_500n);
    assert.equal(await token.methods.balanceOf!(bob!.address).call(), 2_500n);
    assert.equal(await token.methods.balanceOf!(alice!.address).call(), 997_500n);

    const aliceToBob = await pastTransfers(token, { from: alice!.address, to: bob!.address });
    assert.equal(aliceToBob.length, 1);
    assert.equal(aliceToBob[0]!.returnValues.value, 2_500n);
    assert.equal(aliceToBob[0]!.transactionHash, receipt.transactionHash);
    const minted = await pastTransfers(token, { to: alice!.address });
    assert.deepEqual(minted.map((e) => [e.returnValues.from, e.returnValues.value]), [['0x0000000000000000000000000000000000000000', 1_000_000n]]);
    assert.equal((await pastTransfers(token, { from: bob!.address })).length, 0);

    const transferTopic = web3.utils.sha3Raw('Transfer(address,address,uint256)');
    const toBob = `0x${bob!.address.slice(2).toLowerCase().padStart(64, '0')}`;
    const logs = await web3.eth.getPastLogs({ address: tokenAddress, fromBlock: 0, toBlock: 'latest', topics: [transferTopic, null, toBob] });
    assert.equal(logs.length, 1);
    const log = logs[0] as { data: string; topics: string[]; transactionHash: string };
    assert.equal(BigInt(log.data), 2_500n);
    assert.equal(log.topics[2], toBob);
    assert.equal(log.transactionHash, receipt.transactionHash);
    assert.equal((await web3.eth.getPastLogs({ address: tokenAddress, fromBlock: 0, topics: [transferTopic] })).length, 2, 'the mint and the transfer');
  });

  await t.test('a revert carries its reason: Error(string) and a custom error, from call, estimate and send', async () => {
    const nonce = await web3.eth.getTransactionCount(bob!.address);
    const reason = 'Token: transfer amount exceeds balance';
    const revertsWithReason = (error: unknown) => {
      assert.ok(error instanceof ContractExecutionError, String(error));
      const cause = error.cause as unknown as { code: number; message: string; errorName?: string; errorArgs?: Record<string, unknown> };
      assert.equal(cause.code, 3);
      assert.equal(cause.message, `execution reverted: ${reason}`);
      assert.equal(cause.errorArgs?.message, reason);
      return true;
    };
    await assert.rejects(token.methods.transfer!(alice!.address, 10_000n).call({ from: bob!.address }), revertsWithReason);
    // Without a gas limit web3 estimates first: the revert comes back and nothing is sent.
    await assert.rejects(settled(token.methods.transfer!(alice!.address, 10_000n).send({ from: bob!.address })), revertsWithReason);
    assert.equal(await web3.eth.getTransactionCount(bob!.address), nonce);
    await assert.rejects(token.methods.transferFrom!(alice!.address, bob!.address, 5n).call({ from: bob!.address }), (error: unknown) => {
      assert.ok(error instanceof ContractExecutionError);
      const cause = error.cause as unknown as { code: number; message: string; errorName?: string; errorArgs?: Record<string, unknown> };
      assert.equal(cause.code, 3);
      assert.equal(cause.message, 'execution reverted');
      assert.equal(cause.errorName, 'AllowanceExceeded');
      assert.deepEqual([cause.errorArgs?.allowed, cause.errorArgs?.wanted], [0n, 5n]);
      return true;
    });
    // With a gas limit it is sent, included with status 0, and costs only the nonce.
    await assert.rejects(settled(token.methods.transfer!(alice!.address, 10_000n).send({ from: bob!.address, gas: '100000' })), (error: unknown) => {
      assert.ok(error instanceof TransactionRevertedWithoutReasonError, String(error));
      assert.equal(error.receipt?.status, 0n);
      return true;
    });
    assert.equal(await web3.eth.getTransactionCount(bob!.address), nonce + 1n);
    assert.equal(await token.methods.balanceOf!(bob!.address).call(), 2_500n);
  });

  await t.test('out of gas: included with status 0 and the whole limit spent; estimating it fails with the cap', async () => {
    const probe = await new web3.eth.Contract(Probe.abi as ContractAbi).deploy({ data: Probe.bytecode }).send({ from: alice!.address });
    await assert.rejects(settled(probe.methods.spin!().send({ from: alice!.address, gas: '200000' })), (error: unknown) => {
      assert.ok(error instanceof TransactionRevertedWithoutReasonError, String(error));
      assert.equal(error.receipt?.status, 0n);
      assert.equal(error.receipt?.gasUsed, 200_000n);
      return true;
    });
    assert.equal(await probe.methods.value!().call(), 0n, 'the loop wrote nothing');
    // With a cap the estimate runs out of gas; uncapped, the EVM's time limit would stop it (see ethereum.test.ts).
    await rejectsWithRpcError(probe.methods.spin!().estimateGas({ from: alice!.address, gas: '300000' }), -32000, 'gas required exceeds allowance (300000)');
  });

  await t.test('refusals of eth_sendRawTransaction carry Ethereum messages under -32000, and write nothing', async () => {
    const nonce = await web3.eth.getTransactionCount(alice!.address);
    const address = alice!.address.toLowerCase();
    const transfer = { to: carol, value: 1n, gas: 21_000n, gasPrice: 0n, chainId: CHAIN_ID, nonce };
    // web3 checks each signed transaction with eth_call first, unless told not to; the refusals of
    // eth_sendRawTransaction itself are what this asserts.
    const sendRaw = (raw: string) => web3.eth.sendSignedTransaction(raw, undefined, { checkRevertBeforeSending: false });

    const low = await alice!.signTransaction({ ...transfer, nonce: 0n });
    await rejectsWithRpcError(sendRaw(low.rawTransaction), -32000, `nonce too low: address ${address}, tx: 0 state: ${nonce}`);
    const tooFar = nonce + BigInt(FUTURE_NONCES_PER_SENDER_MAX) + 1n;
    const high = await alice!.signTransaction({ ...transfer, nonce: tooFar });
    await rejectsWithRpcError(sendRaw(high.rawTransaction), -32000, `nonce too high: address ${address}, tx: ${tooFar} state: ${nonce}: send nonce ${nonce} first`);
    const otherChain = await alice!.signTransaction({ ...transfer, chainId: 1n });
    await rejectsWithRpcError(web3.eth.sendSignedTransaction(otherChain.rawTransaction), -32000, `invalid chain id for signer: have 1 want ${CHAIN_ID}`);

    // web3's own signer refuses a gas limit under the intrinsic gas; its transaction classes sign one anyway.
    await assert.rejects(alice!.signTransaction({ ...transfer, gas: 20_000n }), (error: unknown) => error instanceof TransactionSigningError && /gasLimit is too low\. given 20000, need at least 21000/.test(error.message));
    const common = eth.accounts.Common.custom({ chainId: Number(CHAIN_ID) });
    const lowGas = eth.accounts.Transaction.fromTxData({ nonce, to: carol, value: 1n, gasLimit: 20_000n, gasPrice: 0n }, { common }).sign(web3.utils.hexToBytes(funded[0]!.private_key));
    const lowGasRaw = web3.utils.bytesToHex(lowGas.serialize());
    await rejectsWithRpcError(sendRaw(lowGasRaw), -32000, 'intrinsic gas too low: have 20000, want 21000');
    // By default web3 finds it out with eth_call before sending, and reports Coco's message as the reason.
    await assert.rejects(settled(web3.eth.sendSignedTransaction(lowGasRaw)), (error: unknown) => error instanceof TransactionRevertInstructionError && error.reason === 'intrinsic gas too low: have 20000, want 21000');

    const pauper = web3.eth.accounts.create();
    const pauperAddress = pauper.address.toLowerCase();
    const value = await pauper.signTransaction({ ...transfer, nonce: 0n });
    await rejectsWithRpcError(sendRaw(value.rawTransaction), -32000, `insufficient funds for gas * price + value: address ${pauperAddress} have 0 want 1`);
    await assert.rejects(settled(web3.eth.sendSignedTransaction(value.rawTransaction)), (error: unknown) => error instanceof TransactionRevertInstructionError && error.reason === `insufficient funds for gas * price + value: address ${pauperAddress} have 0 want 1`);
    const gas = await pauper.signTransaction({ ...transfer, nonce: 0n, value: 0n, gasPrice: 1n });
    await rejectsWithRpcError(sendRaw(gas.rawTransaction), -32000, `insufficient funds for gas * price + value: address ${pauperAddress} have 0 want 21000`);

    // web3's sendSignedTransaction decodes the transaction before sending it (and fails outside its
    // promise on bytes it cannot decode), so a malformed one goes through the request manager.
    await rejectsWithRpcError(web3.requestManager.send({ method: 'eth_sendRawTransaction', params: ['0x1234'] }), -32000, 'transaction type 0x12 not supported');
    await rejectsWithRpcError(web3.requestManager.send({ method: 'eth_sendRawTransaction', params: ['0xc0'] }), -32000, 'invalid transaction: a legacy transaction has 9 fields, got 0');

    assert.equal(await web3.eth.getTransactionCount(alice!.address), nonce);
    assert.equal(await web3.eth.getTransactionCount(pauper.address), 0n);
    assert.equal(await web3.eth.getBalance(carol), 2n * ETHER);
  });

  await t.test('a JSON-RPC batch through BatchRequest: the good elements answered, the unknown method -32601', async () => {
    const batch = new web3.BatchRequest();
    const blockNumber = batch.add({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] });
    const balance = batch.add({ jsonrpc: '2.0', id: 2, method: 'eth_getBalance', params: [carol, 'latest'] });
    const unknown = batch.add({ jsonrpc: '2.0', id: 3, method: 'eth_mine', params: [] });
    // Each element's promise settles during execute(): handle the rejection before it happens.
    const refused = assert.rejects(unknown, { code: -32601, message: 'the method eth_mine does not exist/is not available' });
    const replies = (await batch.execute({ timeout: 10_000 })) as { id: number; result?: unknown; error?: { code: number } }[];
    await refused;
    assert.deepEqual(replies.map((r) => [r.id, r.error?.code]), [[1, undefined], [2, undefined], [3, -32601]]);
    assert.equal(BigInt((await blockNumber) as string), await web3.eth.getBlockNumber());
    assert.equal(BigInt((await balance) as string), 2n * ETHER);
  });

  await t.test('a backup answers the same state once committed, and forwards a transaction to the primary', async () => {
    // Node 1 unless an election made it the primary meanwhile.
    const { primary_id: primaryId } = await getJson<{ primary_id: string | null }>(`${sandbox.nodeUrl(0)}/node/network`, backupAgent);
    const backupIndex = (await getJson<{ node_id: string }>(`${sandbox.nodeUrl(1)}/node/state`, backupAgent)).node_id === primaryId ? 2 : 1;
    const backup = connect(sandbox.nodeUrl(backupIndex), backupAgent);
    const onBackup = new backup.eth.Contract(tokenAbi, tokenAddress);
    await until('the backup to hold the token transfer', 20_000, async () => ((await onBackup.methods.balanceOf!(bob!.address).call()) as unknown) === 2_500n ? true : undefined);
    assert.equal(await backup.eth.getBalance(carol), 2n * ETHER);
    const head = await web3.eth.getBlockNumber();
    await until('the backup to reach the primary\'s block', 20_000, async () => ((await backup.eth.getBlockNumber()) === head ? true : undefined));
    assert.equal((await backup.eth.getBlock(head)).hash, (await web3.eth.getBlock(head)).hash);

    const daveOnBackup = backup.eth.accounts.wallet.add(funded[2]!.private_key).get(0)!;
    assert.equal(daveOnBackup.address, dave!.address);
    const forwarded = await backup.eth.sendTransaction({ from: dave!.address, to: carol, value: ETHER / 2n });
    assert.equal(forwarded.status, 1n);
    assert.equal(await backup.eth.getBalance(carol), 5n * ETHER / 2n);
    const onFirst = await until('node 0 to show the forwarded receipt', 20_000, () => web3.eth.getTransactionReceipt(forwarded.transactionHash));
    assert.equal(onFirst.blockHash, forwarded.blockHash);
    // A refusal comes back through the backup unchanged.
    const stale = await daveOnBackup.signTransaction({ to: carol, value: 1n, gas: 21_000n, gasPrice: 0n, chainId: CHAIN_ID, nonce: 0n });
    await rejectsWithRpcError(backup.eth.sendSignedTransaction(stale.rawTransaction), -32000, `nonce too low: address ${dave!.address.toLowerCase()}, tx: 0 state: 1`);
  });

  await t.test('without a client certificate web3 gets HTTP 401', async (st) => {
    const anonymousAgent = new Agent({ ca: sandbox.pem('service_cert.pem') });
    st.after(() => anonymousAgent.destroy());
    const anonymous = connect(sandbox.url, anonymousAgent);
    await assert.rejects(anonymous.eth.getChainId(), (error: unknown) => {
      assert.ok(error instanceof ResponseError, String(error));
      assert.equal(error.statusCode, 401);
      assert.equal((error.cause as unknown as { code: string }).code, 'InvalidAuthenticationInfo');
      return true;
    });
  });
});
