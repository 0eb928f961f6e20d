// Not a test: measures in-process ERC-20 transfers per second over a real Store, with sender recovery
// done first (as the node does when it parses the request), then each transfer executed in its own
// Coco transaction and committed. `node --test` runs every file here, so without an argument this only
// prints its usage. Run: node dist/test/ethereum/measure-erc20.js <transfers> (e.g. 5000).

import { ethers } from 'ethers';
import { executeTransaction } from '../../src/ethereum/execute.js';
import { decodeRawTransaction, type DecodedTransaction } from '../../src/ethereum/sender.js';
import { contracts } from './contracts.js';
import { ETHER, TestChain, wallet } from './harness.js';

const SENDERS = 32;

async function measure(transfers: number): Promise<void> {
  const chain = await TestChain.create();
  const owner = wallet(0);
  await chain.fund(owner.address, ETHER);
  const token = new ethers.Interface(contracts().Token.abi as ethers.InterfaceAbi);
  const deployed = await chain.send(owner, {
    data: ethers.concat([contracts().Token.bytecode, token.encodeDeploy(['Coco Token', 'COCO', 10n ** 30n])]),
  });
  const address = ethers.hexlify(deployed.receipt.contractAddress as Uint8Array);
  const senders = Array.from({ length: SENDERS }, (_, i) => wallet(i + 1));
  for (const sender of senders) {
    await chain.send(owner, { to: address, data: token.encodeFunctionData('transfer', [sender.address, 10n ** 24n]) });
  }

  process.stdout.write(`signing ${transfers} ERC-20 transfers with ethers.js... `);
  const raws: Uint8Array[] = [];
  for (let i = 0; i < transfers; i++) {
    const sender = senders[i % SENDERS] as ethers.Wallet;
    const nonce = Math.floor(i / SENDERS);
    const to = (senders[(i + 1) % SENDERS] as ethers.Wallet).address;
    raws.push(await chain.sign(sender, { to: address, nonce, gasLimit: 100_000n, data: token.encodeFunctionData('transfer', [to, 1n]) }));
  }
  console.log('done');

  // CPU time as well as wall time: on a shared machine, the CPU time is the figure that holds.
  const cpuMs = (since: NodeJS.CpuUsage): number => {
    const used = process.cpuUsage(since);
    return (used.user + used.system) / 1000;
  };
  let started = performance.now();
  let cpu = process.cpuUsage();
  const decoded: DecodedTransaction[] = raws.map((raw) => decodeRawTransaction(raw, chain.context.common));
  const decodeMs = performance.now() - started;
  const decodeCpuMs = cpuMs(cpu);

  started = performance.now();
  cpu = process.cpuUsage();
  let gas = 0n;
  for (const transaction of decoded) {
    const tx = chain.store.beginTransaction();
    const result = await executeTransaction(tx, transaction, chain.context);
    chain.store.commit(tx, chain.store.version + 1n);
    if (result.receipt.status !== 1) throw new Error(`transfer failed: ${result.error}`);
    gas += result.receipt.gasUsed;
  }
  const executeMs = performance.now() - started;
  const executeCpuMs = cpuMs(cpu);

  const perTx = (ms: number): string => `${((ms * 1000) / transfers).toFixed(0)} µs`;
  const rate = (ms: number): number => Math.round(transfers / (ms / 1000));
  console.log(`decode + sender recovery (native secp256k1): ${perTx(decodeMs)} wall, ${perTx(decodeCpuMs)} CPU per transaction`);
  console.log(`execution + KV commit: ${perTx(executeMs)} wall, ${perTx(executeCpuMs)} CPU per transfer`);
  console.log(`ERC-20 transfers/s, execution only: ${rate(executeMs)} (wall), ${rate(executeCpuMs)} (per CPU second)`);
  console.log(`ERC-20 transfers/s, decode + execution on one core: ${rate(decodeMs + executeMs)} (wall), ${rate(decodeCpuMs + executeCpuMs)} (per CPU second)`);
  console.log(`gas per transfer: ${gas / BigInt(transfers)}`);
}

const transfers = Number(process.argv[2]);
if (!Number.isInteger(transfers) || transfers <= 0) {
  console.log('usage: node dist/test/ethereum/measure-erc20.js <transfers>   (e.g. 5000)');
} else {
  await measure(transfers);
}
