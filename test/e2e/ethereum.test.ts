// Ethereum on a real 3-node sandbox with ethers.js v6 as a user would connect it (TLS client
// certificate, the service certificate): the sandbox's funded accounts, a value transfer, an ERC-20
// deployed and used with its events, a revert with its reason, the state read back on a backup, a
// receipt there as soon as a send answers (on the primary and through a backup), a
// transaction sent to a backup and forwarded to the primary,
// the Coco receipt of an Ethereum transaction verified offline, and bad requests refused.

import assert from 'node:assert/strict';
import { Agent, request as httpsRequest } from 'node:https';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { ethers } from 'ethers';
import { CocoClient } from '../../src/client/coco-client.js';
import { ethereumReceiptClaimsDigest } from '../../src/client/ethereum.js';
import { CocoError, verifyReceiptOffline } from '../../src/client/index.js';
import { FUTURE_NONCES_PER_SENDER_MAX } from '../../src/ethereum/limits.js';
import { verifyReceipt } from '../../src/ledger/receipt.js';
import type { Receipt } from '../../src/ledger/receipt.js';
import { contracts } from '../ethereum/contracts.js';
import { runCoco } from '../support/run-cli.js';
import { startSandbox, type SandboxProcess } from '../support/sandbox-process.js';
import { until } from '../support/until.js';

/** A provider for node `url`, destroyed when `t` ends: its polling would keep the test process alive. */
function provider(t: TestContext, sandbox: SandboxProcess, url: string): ethers.JsonRpcProvider {
  const agent = new Agent({ ca: sandbox.pem('service_cert.pem'), cert: sandbox.pem('user0_cert.pem'), key: sandbox.pem('user0_privk.pem'), keepAlive: true });
  const fetchRequest = new ethers.FetchRequest(`${url}/app/ethereum`);
  fetchRequest.getUrlFunc = ethers.FetchRequest.createGetUrlFunc({ agent });
  const created = new ethers.JsonRpcProvider(fetchRequest, undefined, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 50 });
  t.after(() => {
    created.destroy();
    agent.destroy();
  });
  return created;
}

function post(url: string, body: string, tls: { ca: string; cert?: string; key?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(new URL('/app/ethereum', url), { method: 'POST', ...tls, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('ethers.js against a 3-node sandbox: funded accounts, transfers, an ERC-20 with events, reverts, reads on a backup, offline receipts', async (t) => {
  const sandbox = await startSandbox(['--nodes', '3']);
  t.after(() => sandbox.stop());
  const primary = provider(t, sandbox, sandbox.url);
  const backup = provider(t, sandbox, sandbox.nodeUrl(1));
  const accounts = JSON.parse(sandbox.pem('ethereum_accounts.json')) as { address: string; private_key: string }[];
  assert.equal(accounts.length, 10);
  const alice = new ethers.Wallet(accounts[0]!.private_key, primary);
  const bob = new ethers.Wallet(accounts[1]!.private_key, primary);
  assert.equal((await primary.getNetwork()).chainId, 4242n);
  assert.equal(await primary.getBalance(alice.address), ethers.parseEther('10000'));

  // A value transfer: wait() returns once the receipt exists, that is once it is Committed.
  const carol = ethers.Wallet.createRandom().address;
  const transfer = await alice.sendTransaction({ to: carol, value: ethers.parseEther('1.5') });
  const transferReceipt = await transfer.wait();
  assert.equal(transferReceipt?.status, 1);
  assert.equal(await primary.getBalance(carol), ethers.parseEther('1.5'));

  // The send answers once the transaction is Committed on the node answering, so its receipt is
  // there at the first ask, on the primary and through a backup, as on Hardhat's automine network:
  // hardhat-chai-matchers' .to.emit() and .not.to.be.reverted read it once, right after the send.
  const erin = ethers.Wallet.createRandom().address;
  for (const [node, sender] of [[primary, alice], [backup, new ethers.Wallet(accounts[3]!.private_key, backup)]] as const) {
    for (let i = 0; i < 10; i++) {
      const sent = await sender.sendTransaction({ to: erin, value: 1n });
      const receipt = (await node.send('eth_getTransactionReceipt', [sent.hash])) as { status: string } | null;
      assert.equal(receipt?.status, '0x1', `the receipt of send ${i} through ${node === primary ? 'the primary' : 'a backup'}, asked once`);
    }
  }

  // An ERC-20 compiled with solc: deploy, transfer, balances through eth_call, Transfer events through eth_getLogs.
  const { Token } = contracts();
  const factory = new ethers.ContractFactory(Token.abi as ethers.InterfaceAbi, Token.bytecode, alice);
  const token = (await (await factory.deploy('Coco Token', 'COCO', 1_000_000n)).waitForDeployment()) as ethers.Contract;
  // ethers' contract.on installs a filter on the node (eth_newFilter) and polls it (eth_getFilterChanges).
  const heard = new Promise<bigint>((resolve) => {
    void token.on('Transfer', (_from: string, to: string, value: bigint) => {
      if (to === bob.address) resolve(value);
    });
  });
  await (await (token.connect(alice) as ethers.Contract).transfer!(bob.address, 2_500n)).wait();
  assert.equal(await token.balanceOf!(bob.address), 2_500n);
  let unheard: NodeJS.Timeout | undefined;
  const silence = new Promise<never>((_, reject) => (unheard = setTimeout(() => reject(new Error('contract.on heard no Transfer within 20 s')), 20_000)));
  assert.equal(await Promise.race([heard, silence]), 2_500n);
  clearTimeout(unheard);
  await token.removeAllListeners();
  const events = await token.queryFilter(token.filters.Transfer!(alice.address, bob.address));
  assert.equal(events.length, 1);
  assert.equal((events[0] as ethers.EventLog).args[2], 2_500n);

  // A revert comes back with its reason, and changes nothing but the sender's nonce.
  const refusedTransfer = await (token.connect(bob) as ethers.Contract).transfer!(alice.address, 10_000n, { gasLimit: 100_000 }) as ethers.TransactionResponse;
  await assert.rejects(refusedTransfer.wait(), /transfer amount exceeds balance|CALL_EXCEPTION|reverted/);
  assert.equal(await token.balanceOf!(bob.address), 2_500n);

  // The same state on a backup once committed there.
  const tokenAddress = await token.getAddress();
  const onBackup = new ethers.Contract(tokenAddress, Token.abi as ethers.InterfaceAbi, backup);
  await until('the backup to hold the transfer', 20_000, async () => ((await onBackup.balanceOf!(bob.address)) === 2_500n ? true : undefined));
  assert.equal(await backup.getBalance(carol), ethers.parseEther('1.5'));

  // A transaction sent to a backup is forwarded to the primary; its receipt comes back once committed.
  const dave = new ethers.Wallet(accounts[2]!.private_key, backup);
  const forwarded = await dave.sendTransaction({ to: carol, value: ethers.parseEther('0.5') });
  assert.equal((await forwarded.wait())?.status, 1);
  assert.equal(await backup.getBalance(carol), ethers.parseEther('2'));
  // The backup answers a forwarded send once it knows the transaction Committed: the very next read
  // there, even in the same batch, sees it, counts its nonce and finds its receipt.
  const nonce = await backup.getTransactionCount(dave.address, 'pending');
  const signed = await dave.signTransaction({ to: carol, value: 1n, nonce, chainId: (await backup.getNetwork()).chainId, gasLimit: 21_000n, maxFeePerGas: 1n, maxPriorityFeePerGas: 0n, type: 2 });
  const hash = ethers.keccak256(signed);
  const batch = JSON.stringify([
    { jsonrpc: '2.0', id: 1, method: 'eth_sendRawTransaction', params: [signed] },
    { jsonrpc: '2.0', id: 2, method: 'eth_getTransactionByHash', params: [hash] },
    { jsonrpc: '2.0', id: 3, method: 'eth_getTransactionCount', params: [dave.address, 'pending'] },
    { jsonrpc: '2.0', id: 4, method: 'eth_getTransactionReceipt', params: [hash] },
  ]);
  const answers = JSON.parse((await post(sandbox.nodeUrl(1), batch, { ca: sandbox.pem('service_cert.pem'), cert: sandbox.pem('user0_cert.pem'), key: sandbox.pem('user0_privk.pem') })).body) as { id: number; result: unknown }[];
  assert.equal(answers[0]!.result, hash);
  assert.equal((answers[1]!.result as { hash: string } | null)?.hash, hash, 'the backup shows the transaction it just forwarded');
  assert.equal(answers[2]!.result, ethers.toQuantity(nonce + 1));
  assert.equal((answers[3]!.result as { status: string } | null)?.status, '0x1', 'and its receipt');
  // eth_sendRawTransactionSync (EIP-7966) through the backup: forwarded too, answered with the receipt.
  const syncSigned = await dave.signTransaction({ to: carol, value: 1n, nonce: nonce + 1, chainId: (await backup.getNetwork()).chainId, gasLimit: 21_000n, maxFeePerGas: 1n, maxPriorityFeePerGas: 0n, type: 2 });
  const syncReceipt = (await backup.send('eth_sendRawTransactionSync', [syncSigned])) as { transactionHash: string; status: string; cocoTransactionId: string };
  assert.equal(syncReceipt.transactionHash, ethers.keccak256(syncSigned));
  assert.equal(syncReceipt.status, '0x1');
  assert.deepEqual(await primary.send('eth_getTransactionReceipt', [syncReceipt.transactionHash]), syncReceipt, 'the receipt the primary holds');

  // The Coco receipt of the Ethereum transfer verifies offline against the service certificate.
  const client = new CocoClient({ url: sandbox.url, caCertPem: sandbox.pem('service_cert.pem'), certPem: sandbox.pem('user0_cert.pem'), keyPem: sandbox.pem('user0_privk.pem') });
  t.after(() => client.close());
  const cocoReceipt = (await client.request('GET', `/app/ethereum/receipt?hash=${transfer.hash}`)).json<Receipt>();
  const ethReceipt = (await primary.send('eth_getTransactionReceipt', [transfer.hash])) as { cocoTransactionId: string };
  for (const [query, message] of [['', /query parameter hash is required/], ['?hash=0x12', /query parameter hash "0x12" is not a transaction hash: 0x and 64 hex digits/]] as const) {
    const refused = await client.request('GET', `/app/ethereum/receipt${query}`, { allowError: true });
    assert.equal(refused.status, 400);
    assert.match(refused.json<{ error: { message: string } }>().error.message, message);
  }
  const verified = verifyReceipt(cocoReceipt, sandbox.pem('service_cert.pem'), { at: new Date() });
  assert.equal(verified.txId, ethReceipt.cocoTransactionId);
  // The answer carries the Ethereum receipt, whose transaction and outcome the claims digest covers.
  const { ethereum_receipt: carried } = cocoReceipt as Receipt & { ethereum_receipt?: unknown };
  assert.deepEqual(carried, ethReceipt);
  // The SDK's check of it, and of an edited one.
  verifyReceiptOffline(cocoReceipt, sandbox.pem('service_cert.pem'), { claimsDigest: ethereumReceiptClaimsDigest(carried) });
  assert.throws(
    () => verifyReceiptOffline(cocoReceipt, sandbox.pem('service_cert.pem'), { claimsDigest: ethereumReceiptClaimsDigest({ ...ethReceipt, status: '0x0' }) }),
    (error: CocoError) => error.code === 'ReceiptClaimsMismatch',
  );
  const scratch = mkdtempSync(join(tmpdir(), 'coco-eth-receipt-'));
  t.after(() => rmSync(scratch, { recursive: true, force: true }));
  const receiptFile = join(scratch, 'receipt.json');
  writeFileSync(receiptFile, JSON.stringify(cocoReceipt));
  const verifyEthereum = (file: string, hash: string, ...more: string[]) => runCoco(['receipt', 'verify', file, '--service-cert', sandbox.file('service_cert.pem'), '--ethereum-tx', hash, ...more]);
  const proved = verifyEthereum(receiptFile, transfer.hash);
  assert.equal(proved.status, 0, proved.stderr);
  assert.match(proved.stdout, /claims digest [0-9a-f]{64} as expected: Ethereum transaction 0x[0-9a-f]{64} succeeded \(status 1\), gas used \d+, 0 logs\./);
  const other = verifyEthereum(receiptFile, forwarded.hash);
  assert.equal(other.status, 1);
  assert.match(other.stderr, /the Ethereum receipt given is that of transaction 0x[0-9a-f]{64}, not of 0x[0-9a-f]{64}/);
  assert.equal(verifyEthereum(receiptFile, transfer.hash.slice(2)).status, 2, 'a hash without 0x');
  // A reverted transfer is proved too, as reverted: its receipt cannot be passed off as a success.
  const revertedAnswer = (await client.request('GET', `/app/ethereum/receipt?hash=${refusedTransfer.hash}`)).json<Receipt & { ethereum_receipt: { status: string } }>();
  assert.equal(revertedAnswer.ethereum_receipt.status, '0x0');
  const revertedFile = join(scratch, 'reverted.json');
  writeFileSync(revertedFile, JSON.stringify(revertedAnswer));
  const reverted = verifyEthereum(revertedFile, refusedTransfer.hash);
  assert.equal(reverted.status, 0, reverted.stderr);
  assert.match(reverted.stdout, /Ethereum transaction 0x[0-9a-f]{64} failed \(status 0: reverted or out of gas; only its fee and nonce took effect\)/);
  const forgedFile = join(scratch, 'forged.json');
  writeFileSync(forgedFile, JSON.stringify({ ...revertedAnswer, ethereum_receipt: { ...revertedAnswer.ethereum_receipt, status: '0x1' } }));
  const forged = verifyEthereum(forgedFile, refusedTransfer.hash);
  assert.equal(forged.status, 1, 'a reverted transfer whose Ethereum receipt is edited to say it succeeded');
  assert.match(forged.stderr, /\[ReceiptClaimsMismatch\]/);
  // As a COSE receipt (Accept: application/cose), verified with the Ethereum receipt given beside it.
  const cose = await client.request('GET', `/app/ethereum/receipt?hash=${transfer.hash}`, { headers: { accept: 'application/cose' } });
  assert.equal(cose.headers['content-type'], 'application/cose');
  const coseFile = join(scratch, 'receipt.cose');
  writeFileSync(coseFile, cose.body);
  const ethereumReceiptFile = join(scratch, 'ethereum-receipt.json');
  writeFileSync(ethereumReceiptFile, JSON.stringify(ethReceipt));
  const provedCose = verifyEthereum(coseFile, transfer.hash, '--ethereum-receipt', ethereumReceiptFile);
  assert.equal(provedCose.status, 0, provedCose.stderr);
  assert.match(provedCose.stdout, /succeeded \(status 1\)/);

  // Bad requests: no client certificate, malformed JSON, an unknown method.
  const ca = sandbox.pem('service_cert.pem');
  const user = { ca, cert: sandbox.pem('user0_cert.pem'), key: sandbox.pem('user0_privk.pem') };
  assert.equal((await post(sandbox.url, '{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}', { ca })).status, 401);
  assert.equal((JSON.parse((await post(sandbox.url, '{"jsonrpc":', user)).body) as { error: { code: number } }).error.code, -32700);
  assert.equal((JSON.parse((await post(sandbox.url, '{"jsonrpc":"2.0","id":1,"method":"eth_mine"}', user)).body) as { error: { code: number } }).error.code, -32601);
});

test('Ethereum under failure: kill -9 of the primary during a burst loses no transaction whose receipt was returned; state survives restarting every node; the ledger shows no private state', async (t) => {
  const sandbox = await startSandbox(['--nodes', '3']);
  let stopped = false;
  t.after(async () => {
    if (!stopped) await sandbox.stop();
  });
  const accounts = JSON.parse(sandbox.pem('ethereum_accounts.json')) as { address: string; private_key: string }[];
  const viaBackup = provider(t, sandbox, sandbox.nodeUrl(1));
  const senders = accounts.slice(3, 7).map((a) => new ethers.Wallet(a.private_key, viaBackup));
  const confirmed: { hash: string; from: string; to: string; value: bigint }[] = [];
  let burst = true;
  const send = async (wallet: ethers.Wallet) => {
    while (burst) {
      const to = ethers.Wallet.createRandom().address;
      try {
        const sent = await wallet.sendTransaction({ to, value: 1_000n, gasLimit: 21_000n });
        const receipt = await sent.wait(1, 15_000);
        if (receipt?.status === 1) confirmed.push({ hash: sent.hash, from: wallet.address, to, value: 1_000n });
      } catch {
        // The primary is gone, or a nonce raced: try again.
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };
  const load = Promise.all(senders.map(send));
  await until('transfers before the kill', 20_000, async () => (confirmed.length >= 8 ? true : undefined));
  process.kill(Number(readFileSync(join(sandbox.workspace, 'sandbox_0', 'node.pid'), 'utf8')), 'SIGKILL');
  const before = confirmed.length;
  await until('transfers to go on after the kill', 60_000, async () => (confirmed.length >= before + 4 ? true : undefined));
  burst = false;
  await load;

  // Every transfer whose receipt came back is in the state of the surviving nodes, nonces match.
  const survivor = provider(t, sandbox, sandbox.nodeUrl(2));
  for (const { hash, to, value } of confirmed) {
    assert.ok((await survivor.getTransactionReceipt(hash)) !== null, `receipt of ${hash}`);
    assert.equal(await survivor.getBalance(to), value);
  }
  for (const wallet of senders) {
    const mine = confirmed.filter((c) => c.from === wallet.address).length;
    assert.ok((await survivor.getTransactionCount(wallet.address)) >= mine, 'the nonce counts every confirmed transfer');
  }
  const lastHash = confirmed.at(-1)!.hash;
  viaBackup.destroy();
  survivor.destroy();

  // Restart every node (the killed one included): the state is still there.
  await sandbox.stop({ keep: true });
  stopped = true;
  const again = await startSandbox([], sandbox.workspace);
  t.after(() => again.stop());
  const restarted = provider(t, again, again.url);
  const last = confirmed.at(-1)!;
  await until('the restarted network to answer', 30_000, async () => ((await restarted.getTransactionReceipt(lastHash)) !== null ? true : undefined));
  assert.equal(await restarted.getBalance(last.to), last.value);

  // The Ethereum state is private: neither the accounts nor the map names appear in any ledger file.
  const ledger = join(sandbox.workspace, 'sandbox_1', 'ledger');
  const address = Buffer.from(last.to.slice(2), 'hex');
  for (const name of readdirSync(ledger)) {
    const bytes = readFileSync(join(ledger, name));
    assert.equal(bytes.indexOf(address), -1, `${name} holds an account address in clear`);
    assert.equal(bytes.indexOf('coco.ethereum'), -1, `${name} names an Ethereum map in clear`);
  }
});

test('ethers.js against a 3-node sandbox: out of gas, and each refusal of eth_sendRawTransaction, with its Ethereum message; a raw batch with one bad element', async (t) => {
  const sandbox = await startSandbox(['--nodes', '3']);
  t.after(() => sandbox.stop());
  const primary = provider(t, sandbox, sandbox.url);
  const accounts = JSON.parse(sandbox.pem('ethereum_accounts.json')) as { address: string; private_key: string }[];
  const alice = new ethers.Wallet(accounts[0]!.private_key, primary);
  const bob = ethers.Wallet.createRandom().address;
  const chainId = (await primary.getNetwork()).chainId;

  // ethers classifies some node messages (NONCE_EXPIRED, INSUFFICIENT_FUNDS, CALL_EXCEPTION) and keeps
  // the node's own error beside its code.
  const refusedWith = (code: string, rpc: { code: number; message: string }) => (error: unknown) => {
    assert.ok(ethers.isError(error, code as ethers.ErrorCode), `expected ${code}, got ${String(error)}`);
    const info = (error as { info?: { error?: unknown } }).info;
    assert.deepEqual(info?.error ?? (error as { error?: unknown }).error, rpc);
    return true;
  };

  // Out of gas: the transaction is included with status 0 and its whole gas limit spent.
  const { Probe } = contracts();
  const probe = (await (await new ethers.ContractFactory(Probe.abi as ethers.InterfaceAbi, Probe.bytecode, alice).deploy()).waitForDeployment()) as ethers.Contract;
  // 100,000 gas, as the estimate below: 200,000 once passed the EVM's 500 ms on a machine running a
  // clean-clone CI beside other work, and the send was refused as timed out instead.
  const spin = await probe.spin!({ gasLimit: 100_000n });
  await assert.rejects(spin.wait(), (error: unknown) => {
    assert.ok(ethers.isError(error, 'CALL_EXCEPTION'), String(error));
    assert.equal(error.receipt?.status, 0);
    assert.equal(error.receipt?.gasUsed, 100_000n);
    return true;
  });
  assert.equal(await probe.value!(), 0n);
  const spinData = probe.interface.encodeFunctionData('spin');
  // A small allowance, so that it runs out well within the EVM's time limit on a loaded machine too
  // (300,000 gas once took over 500 ms while other test suites ran beside it).
  await assert.rejects(primary.estimateGas({ to: await probe.getAddress(), data: spinData, gasLimit: 100_000n }), refusedWith('CALL_EXCEPTION', { code: -32000, message: 'gas required exceeds allowance (100000)' }));

  // Uncapped, the loop would hold the primary for seconds: the EVM's time limit stops it, the
  // transaction is refused without spending its nonce, and the primary stays primary.
  const client = new CocoClient({ url: sandbox.url, caCertPem: sandbox.pem('service_cert.pem'), certPem: sandbox.pem('user0_cert.pem'), keyPem: sandbox.pem('user0_privk.pem') });
  t.after(() => client.close());
  const network = async () => (await client.request('GET', '/node/network')).json<{ primary_id: string; current_view: number }>();
  const before = await network();
  const timedOut = (error: unknown) => {
    type RpcError = { code?: number; message?: string };
    const rpc = (error as { info?: { error?: RpcError } }).info?.error ?? (error as { error?: RpcError }).error;
    assert.equal(rpc?.code, -32000, String(error));
    assert.match(rpc?.message ?? '', /^execution timeout: the EVM ran for more than 500 ms/);
    return true;
  };
  await assert.rejects(primary.estimateGas({ from: alice.address, to: await probe.getAddress(), data: spinData }), timedOut);
  const spinNonce = await primary.getTransactionCount(alice.address);
  await assert.rejects(alice.sendTransaction({ to: await probe.getAddress(), data: spinData, gasLimit: 16_000_000n }), timedOut);
  assert.equal(await primary.getTransactionCount(alice.address), spinNonce);
  assert.deepEqual(await network(), before, 'no election: the primary was never stalled long enough');

  const nonce = await primary.getTransactionCount(alice.address);
  const address = alice.address.toLowerCase();
  const transfer = { to: bob, value: 1n, gasLimit: 21_000n, gasPrice: 0n, chainId, nonce };
  const broadcast = async (wallet: ethers.BaseWallet, fields: ethers.TransactionRequest) => primary.broadcastTransaction(await wallet.signTransaction({ ...transfer, ...fields }));
  await assert.rejects(broadcast(alice, { nonce: 0 }), refusedWith('NONCE_EXPIRED', { code: -32000, message: `nonce too low: address ${address}, tx: 0 state: ${nonce}` }));
  // Further ahead than any transaction may wait for the ones before it: at once.
  const tooFar = nonce + FUTURE_NONCES_PER_SENDER_MAX + 1;
  await assert.rejects(
    broadcast(alice, { nonce: tooFar }),
    refusedWith('UNKNOWN_ERROR', { code: -32000, message: `nonce too high: address ${address}, tx: ${tooFar} state: ${nonce}: send nonce ${nonce} first` }),
  );
  await assert.rejects(broadcast(alice, { gasLimit: 20_000n }), refusedWith('UNKNOWN_ERROR', { code: -32000, message: 'intrinsic gas too low: have 20000, want 21000' }));
  await assert.rejects(broadcast(alice, { chainId: 1n }), refusedWith('UNKNOWN_ERROR', { code: -32000, message: `invalid chain id for signer: have 1 want ${chainId}` }));
  const pauper = ethers.Wallet.createRandom();
  const pauperAddress = pauper.address.toLowerCase();
  await assert.rejects(broadcast(pauper, { nonce: 0 }), refusedWith('INSUFFICIENT_FUNDS', { code: -32000, message: `insufficient funds for gas * price + value: address ${pauperAddress} have 0 want 1` }));
  await assert.rejects(broadcast(pauper, { nonce: 0, value: 0n, gasPrice: 2n }), refusedWith('INSUFFICIENT_FUNDS', { code: -32000, message: `insufficient funds for gas * price + value: address ${pauperAddress} have 0 want 42000` }));
  await assert.rejects(primary.send('eth_sendRawTransaction', ['0x1234']), refusedWith('UNKNOWN_ERROR', { code: -32000, message: 'transaction type 0x12 not supported' }));
  // None of them wrote anything.
  assert.equal(await primary.getTransactionCount(alice.address), nonce);
  assert.equal(await primary.getBalance(bob), 0n);
  // A nonce ahead by less waits for the ones before it: sent first (on a connection of its own: ethers
  // batches the calls of one provider), the later nonce runs once the earlier one has.
  const other = provider(t, sandbox, sandbox.url);
  const later = other.broadcastTransaction(await alice.signTransaction({ ...transfer, nonce: nonce + 1 }));
  await new Promise((resolve) => setTimeout(resolve, 300)); // so that it arrives first; it may wait 2 s
  const earlier = await broadcast(alice, { nonce });
  assert.equal((await (await later).wait())!.blockNumber, (await earlier.wait())!.blockNumber + 1);
  assert.equal(await primary.getTransactionCount(alice.address), nonce + 2);

  // A raw batch: answered in order, ids kept, the unknown method alone refused.
  const user = { ca: sandbox.pem('service_cert.pem'), cert: sandbox.pem('user0_cert.pem'), key: sandbox.pem('user0_privk.pem') };
  const batch = [
    { jsonrpc: '2.0', id: 7, method: 'eth_chainId', params: [] },
    { jsonrpc: '2.0', id: 'balance', method: 'eth_getBalance', params: [alice.address, 'latest'] },
    { jsonrpc: '2.0', id: 9, method: 'eth_mine', params: [] },
    { jsonrpc: '2.0', id: 10, method: 'eth_getTransactionCount', params: [alice.address, 'latest'] },
    { jsonrpc: '2.0', id: 11, method: 'net_peerCount', params: [] },
  ];
  const answer = await post(sandbox.url, JSON.stringify(batch), user);
  assert.equal(answer.status, 200);
  assert.deepEqual(JSON.parse(answer.body), [
    { jsonrpc: '2.0', id: 7, result: ethers.toQuantity(chainId) },
    { jsonrpc: '2.0', id: 'balance', result: ethers.toQuantity(await primary.getBalance(alice.address)) },
    { jsonrpc: '2.0', id: 9, error: { code: -32601, message: 'the method eth_mine does not exist/is not available' } },
    { jsonrpc: '2.0', id: 10, result: ethers.toQuantity(nonce + 2) },
    { jsonrpc: '2.0', id: 11, result: '0x2' },
  ]);
});
