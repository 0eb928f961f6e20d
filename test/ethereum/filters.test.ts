// Ethereum's filter API over Coco's method table: logs, block and pending-transaction filters
// report what is new since their last poll (logs and blocks once Committed, transactions at once),
// eth_getFilterLogs lists a logs filter's whole range, filters expire after 5 minutes unpolled and
// are bounded in number, bad criteria get geth's errors, a poll past a request's bounds returns
// what fits and the next poll the rest, and ethers.js's `contract.on` receives events through them
// (and, its filter forgotten by a restart, receives no more unless it polls eth_getLogs instead).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ethers } from 'ethers';
import { ethereumMethods } from '../../src/ethereum/eth-methods.js';
import { handleJsonRpc, requestScope, type JsonRpcMethods, type RequestScope } from '../../src/ethereum/json-rpc.js';
import { FILTERS_MAX, FILTERS_PER_CALLER_MAX, FILTER_IDLE_MS, LOGS_RESULTS_MAX } from '../../src/ethereum/limits.js';
import { contracts } from './contracts.js';
import { ETHER, TestChain, wallet } from './harness.js';
import { InProcessProvider, MemoryBackend } from './memory-backend.js';

const token = new ethers.Interface(contracts().Token.abi as ethers.InterfaceAbi);
const TRANSFER = token.getEvent('Transfer')!.topicHash;
const alice = wallet(0);
const bob = wallet(1);

interface RpcFailure {
  code: number;
  message: string;
}

async function reply(methods: JsonRpcMethods, method: string, params: unknown[]): Promise<{ result?: unknown; error?: RpcFailure }> {
  return JSON.parse((await handleJsonRpc(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }), methods))!) as { result?: unknown; error?: RpcFailure };
}

async function rpc(methods: JsonRpcMethods, method: string, ...params: unknown[]): Promise<unknown> {
  const answer = await reply(methods, method, params);
  assert.equal(answer.error, undefined, `${method}: ${answer.error?.message}`);
  return answer.result;
}

async function rpcError(methods: JsonRpcMethods, method: string, ...params: unknown[]): Promise<RpcFailure> {
  const answer = await reply(methods, method, params);
  assert.ok(answer.error !== undefined, `${method} should fail, got ${JSON.stringify(answer.result)}`);
  return answer.error;
}

/** A chain with alice's token deployed (its mint is block 1), and a clock the test moves. */
async function setup(): Promise<{ chain: TestChain; backend: MemoryBackend; methods: JsonRpcMethods; clock: { ms: number }; address: string }> {
  const chain = await TestChain.create();
  await chain.fund(alice.address, 100n * ETHER);
  const backend = new MemoryBackend(chain);
  const clock = { ms: 0 };
  const methods = ethereumMethods(backend, chain.context, { clientVersion: 'Coco/test', nowMs: () => clock.ms });
  const deployed = await chain.send(alice, { data: ethers.concat([contracts().Token.bytecode, token.encodeDeploy(['Coco Token', 'COCO', 1_000n * ETHER])]), gasLimit: 3_000_000n });
  assert.equal(deployed.receipt.status, 1);
  return { chain, backend, methods, clock, address: ethers.hexlify(deployed.receipt.contractAddress!) };
}

async function transfer(chain: TestChain, address: string, to: string, amount: bigint): Promise<string> {
  const result = await chain.send(alice, { to: address, data: token.encodeFunctionData('transfer', [to, amount]) });
  assert.equal(result.receipt.status, 1);
  return ethers.hexlify(result.hash);
}

type LogJson = { transactionHash: string; blockNumber: string; topics: string[]; address: string };

test('a logs filter reports the matching logs of blocks Committed since its last poll', async () => {
  const { chain, backend, methods, address } = await setup();
  const toBob = await rpc(methods, 'eth_newFilter', { address, topics: [TRANSFER, null, ethers.zeroPadValue(bob.address, 32)] });
  const everything = await rpc(methods, 'eth_newFilter', {});
  assert.match(toBob as string, /^0x[0-9a-f]{1,32}$/);
  assert.deepEqual(await rpc(methods, 'eth_getFilterChanges', toBob), [], 'the mint came before the filter');

  const first = await transfer(chain, address, bob.address, 1n);
  await transfer(chain, address, wallet(2).address, 2n);
  backend.holdCommit();
  const pending = await transfer(chain, address, bob.address, 3n);
  const changes = (await rpc(methods, 'eth_getFilterChanges', toBob)) as LogJson[];
  assert.deepEqual(changes.map((log) => log.transactionHash), [first], 'only Committed blocks, only transfers to bob');
  assert.equal(changes[0]!.address, address.toLowerCase());
  assert.deepEqual(await rpc(methods, 'eth_getFilterChanges', toBob), [], 'reported once');

  backend.committedUpTo = undefined;
  assert.deepEqual(((await rpc(methods, 'eth_getFilterChanges', toBob)) as LogJson[]).map((log) => log.transactionHash), [pending]);
  assert.equal(((await rpc(methods, 'eth_getFilterChanges', everything)) as LogJson[]).length, 3, 'no criteria: every log');

  // eth_getFilterLogs lists the filter's whole range again, here from block 0 to the latest.
  const fromGenesis = await rpc(methods, 'eth_newFilter', { fromBlock: 'earliest', address, topics: [TRANSFER] });
  assert.equal(((await rpc(methods, 'eth_getFilterLogs', fromGenesis)) as LogJson[]).length, 4, 'the mint and three transfers');
  assert.deepEqual(await rpc(methods, 'eth_getFilterChanges', fromGenesis), [], 'changes start at the filter, whatever its range');
  // A range that ended before the new blocks reports none of them.
  const closed = await rpc(methods, 'eth_newFilter', { fromBlock: '0x0', toBlock: '0x2' });
  await transfer(chain, address, bob.address, 4n);
  assert.deepEqual(await rpc(methods, 'eth_getFilterChanges', closed), []);
  assert.equal(((await rpc(methods, 'eth_getFilterLogs', closed)) as LogJson[]).length, 2, 'the mint and the first transfer');
});

test('a block filter reports the hashes of new Committed blocks; a pending-transaction filter reports transactions at once', async () => {
  const { chain, backend, methods, address } = await setup();
  const blocks = await rpc(methods, 'eth_newBlockFilter');
  const transactions = await rpc(methods, 'eth_newPendingTransactionFilter');
  const sent = await transfer(chain, address, bob.address, 1n);
  const block = (await rpc(methods, 'eth_getBlockByNumber', 'latest', false)) as { hash: string };
  assert.deepEqual(await rpc(methods, 'eth_getFilterChanges', blocks), [block.hash]);
  assert.deepEqual(await rpc(methods, 'eth_getFilterChanges', transactions), [sent]);

  backend.holdCommit();
  const pending = await transfer(chain, address, bob.address, 2n);
  assert.deepEqual(await rpc(methods, 'eth_getFilterChanges', blocks), [], 'the new block is not Committed yet');
  assert.deepEqual(await rpc(methods, 'eth_getFilterChanges', transactions), [pending], 'a transaction shows as soon as this node holds it');
  backend.committedUpTo = undefined;
  assert.equal(((await rpc(methods, 'eth_getFilterChanges', blocks)) as string[]).length, 1);
  assert.deepEqual(await rpc(methods, 'eth_getFilterChanges', transactions), []);

  assert.equal((await rpcError(methods, 'eth_getFilterLogs', blocks)).message, 'filter not found', 'as geth: only logs filters have logs');

  // An election rolls back a block not yet Committed; the transaction of the block that takes its number is reported too.
  backend.holdCommit();
  const version = chain.store.version;
  await transfer(chain, address, bob.address, 3n);
  assert.equal(((await rpc(methods, 'eth_getFilterChanges', transactions)) as string[]).length, 1);
  chain.store.rollback(version);
  const replacement = await transfer(chain, address, wallet(4).address, 4n);
  assert.deepEqual(await rpc(methods, 'eth_getFilterChanges', transactions), [replacement]);
});

test('uninstalled and expired filters are not found; filters are bounded in number', async () => {
  const { methods, clock } = await setup();
  const id = await rpc(methods, 'eth_newBlockFilter');
  assert.equal(await rpc(methods, 'eth_uninstallFilter', id), true);
  assert.equal(await rpc(methods, 'eth_uninstallFilter', id), false);
  assert.deepEqual(await rpcError(methods, 'eth_getFilterChanges', id), { code: -32000, message: 'filter not found' });
  assert.deepEqual(await rpcError(methods, 'eth_getFilterChanges', '0x1234'), { code: -32000, message: 'filter not found' });
  assert.equal((await rpcError(methods, 'eth_getFilterChanges', 7)).code, -32000);

  // A poll restarts the idle time; 5 minutes without one and the filter is gone.
  const polled = await rpc(methods, 'eth_newBlockFilter');
  const idle = await rpc(methods, 'eth_newBlockFilter');
  clock.ms += FILTER_IDLE_MS - 1_000;
  await rpc(methods, 'eth_getFilterChanges', polled);
  clock.ms += 2_000;
  assert.deepEqual(await rpc(methods, 'eth_getFilterChanges', polled), []);
  assert.deepEqual(await rpcError(methods, 'eth_getFilterChanges', idle), { code: -32000, message: 'filter not found' });

  // One caller keeps at most 100 filters, so that no one caller takes the node's 1,000.
  for (let i = 1; i < FILTERS_PER_CALLER_MAX; i++) await rpc(methods, 'eth_newBlockFilter');
  assert.match((await rpcError(methods, 'eth_newFilter', {})).message, /^too many filters: a caller keeps at most 100 on a node/);
  const installAs = async (caller: string) => JSON.parse((await handleJsonRpc(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_newBlockFilter', params: [] }), methods, undefined, caller))!) as { result?: string; error?: RpcFailure };
  for (let i = FILTERS_PER_CALLER_MAX; i < FILTERS_MAX; i++) assert.match((await installAs(`user ${Math.floor(i / FILTERS_PER_CALLER_MAX)}`)).result!, /^0x/);
  const full = (await installAs('user last')).error!;
  assert.equal(full.code, -32000);
  assert.match(full.message, /^too many filters: this node keeps at most 1000/);
  // Expired filters make room.
  clock.ms += FILTER_IDLE_MS + 1;
  assert.match((await rpc(methods, 'eth_newFilter', {})) as string, /^0x/);
});

test('bad filter criteria get geth\'s errors', async () => {
  const { methods } = await setup();
  assert.deepEqual(await rpcError(methods, 'eth_newFilter', { fromBlock: 'pending' }), { code: -32000, message: 'pending logs are not supported' });
  assert.deepEqual(await rpcError(methods, 'eth_newFilter', { toBlock: '0x5' }), { code: -32000, message: 'invalid from and to block combination' });
  assert.deepEqual(await rpcError(methods, 'eth_newFilter', { fromBlock: '0x5', toBlock: '0x4' }), { code: -32000, message: 'invalid from and to block combination' });
  assert.equal((await rpcError(methods, 'eth_newFilter', { blockHash: ethers.ZeroHash })).code, -32602);
  assert.equal((await rpcError(methods, 'eth_newFilter', 'everything')).code, -32602);
  assert.equal((await rpcError(methods, 'eth_newFilter', { address: '0x12' })).code, -32602);
  assert.deepEqual(await rpcError(methods, 'eth_newFilter', { topics: [[], [], [], [], []] }), { code: -32000, message: 'exceed max topics' });
  assert.equal((await rpcError(methods, 'eth_newPendingTransactionFilter', true)).code, -32602);
  assert.equal((await rpcError(methods, 'eth_newBlockFilter', 'extra')).code, -32602);
  assert.equal((await rpcError(methods, 'eth_getFilterChanges')).code, -32602);
});

test('a poll past the request\'s bounds returns the blocks that fit, and the next poll the rest', async () => {
  const { chain, methods, address } = await setup();
  const id = await rpc(methods, 'eth_newFilter', { address });
  const sent = [];
  for (let i = 1n; i <= 3n; i++) sent.push(await transfer(chain, address, bob.address, i));
  const poll = async (logs: number) => {
    const scope = { ...requestScope(), logsRemaining: logs };
    return ((await methods.eth_getFilterChanges!([id], scope)) as LogJson[]).map((log) => log.transactionHash);
  };
  assert.deepEqual(await poll(2), sent.slice(0, 2));
  assert.deepEqual(await poll(2), sent.slice(2));
  assert.deepEqual(await poll(2), []);
  // One block past the bounds on its own cannot be split: the poll is refused and the filter stays where it was.
  await transfer(chain, address, bob.address, 9n);
  await assert.rejects(poll(0), (error: unknown) => (error as { code?: number }).code === -32005);
  assert.equal((await poll(1)).length, 1);
});

/** Creation code that emits `count` empty LOG0s in a loop and deploys nothing. */
function logLoop(count: number): string {
  const counter = count.toString(16).padStart(4, '0');
  // PUSH2 count; loop@3: DUP1 ISZERO PUSH1 end JUMPI; PUSH0 PUSH0 LOG0; PUSH1 1 SWAP1 SUB; PUSH1 3 JUMP; end@0x13: STOP
  return `0x61${counter}` + '5b8015601357' + '5f5fa0' + '60019003' + '600356' + '5b00';
}

test('a block whose logs alone pass the bounds of any request is refused once, and the filter goes on after it', async () => {
  const { chain, methods, address } = await setup();
  const id = await rpc(methods, 'eth_newFilter', {});
  const flood = await chain.send(alice, { data: logLoop(LOGS_RESULTS_MAX + 1), gasLimit: 8_000_000n });
  assert.equal(flood.receipt.status, 1);
  assert.equal(flood.receipt.logs.length, LOGS_RESULTS_MAX + 1);
  const next = await transfer(chain, address, bob.address, 1n);
  const refused = await rpcError(methods, 'eth_getFilterChanges', id);
  assert.equal(refused.code, -32005);
  assert.match(refused.message, new RegExp(`block ${flood.blockNumber} alone has ${LOGS_RESULTS_MAX + 1} matching logs .* goes on from block ${flood.blockNumber + 1n}`));
  // Before, every later poll failed on that block and the filter never delivered again.
  assert.deepEqual(((await rpc(methods, 'eth_getFilterChanges', id)) as LogJson[]).map((log) => log.transactionHash), [next]);
});

test('ethers.js: contract.on receives Transfer events through a filter', async (t) => {
  const { chain, methods, address } = await setup();
  // ethers installs its filter on its first poll: the transfers are sent once it has.
  let filterInstalled!: () => void;
  const installed = new Promise<void>((resolve) => (filterInstalled = resolve));
  const observed: JsonRpcMethods = {
    ...methods,
    eth_newFilter: async (params, scope) => {
      const id = await methods.eth_newFilter!(params, scope);
      filterInstalled();
      return id;
    },
  };
  const provider = new InProcessProvider(observed);
  t.after(() => provider.destroy());
  const contract = new ethers.Contract(address, contracts().Token.abi as ethers.InterfaceAbi, provider);
  const seen: Array<{ to: string; value: bigint }> = [];
  const received = new Promise<void>((resolve) => {
    void contract.on('Transfer', (_from: string, to: string, value: bigint) => {
      seen.push({ to, value });
      if (seen.length === 2) resolve();
    });
  });
  await installed;
  await transfer(chain, address, bob.address, 5n);
  await transfer(chain, address, wallet(3).address, 6n);
  await received;
  assert.deepEqual(seen, [{ to: bob.address, value: 5n }, { to: wallet(3).address, value: 6n }]);
});

test("ethers.js: a node's restart forgets contract.on's filter and ethers stops for good; with { polling: true } it reads eth_getLogs and goes on", { timeout: 30_000 }, async (t) => {
  const { chain, backend, address } = await setup();
  // A node restart: a new method table over the same chain, which knows none of the filters.
  let node = ethereumMethods(backend, chain.context, { clientVersion: 'Coco/test' });
  const restart = () => (node = ethereumMethods(backend, chain.context, { clientVersion: 'Coco/test' }));
  t.mock.method(console, 'log', () => undefined); // ethers logs each refused poll ("@TODO") and polls the same filter again
  /** A provider of the node, contract.on of its Transfer events, and how many calls of each method (`method!`: refused) it made. */
  const watch = async (options: ethers.JsonRpcApiProviderOptions) => {
    const calls = new Map<string, number>();
    const count = (name: string) => calls.set(name, (calls.get(name) ?? 0) + 1);
    const methods: JsonRpcMethods = Object.fromEntries(
      Object.keys(node).map((method) => [
        method,
        async (params: unknown[], scope: RequestScope) => {
          count(method);
          try {
            return await node[method]!(params, scope);
          } catch (error) {
            count(`${method}!`);
            throw error;
          }
        },
      ]),
    );
    const provider = new InProcessProvider(methods, options);
    t.after(() => provider.destroy());
    const seen: bigint[] = [];
    let next!: () => void;
    let arrived = new Promise<void>((resolve) => (next = resolve));
    await new ethers.Contract(address, contracts().Token.abi as ethers.InterfaceAbi, provider).on('Transfer', (_from: string, _to: string, value: bigint) => {
      seen.push(value);
      next();
    });
    const received = async () => {
      await arrived;
      arrived = new Promise<void>((resolve) => (next = resolve));
    };
    const calledAtLeast = async (method: string, times: number) => {
      while ((calls.get(method) ?? 0) < times) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    return { seen, received, calls: (method: string) => calls.get(method) ?? 0, calledAtLeast };
  };

  const filtered = await watch({});
  await filtered.calledAtLeast('eth_newFilter', 1);
  await transfer(chain, address, bob.address, 1n);
  await filtered.received();
  restart();
  // ethers polls its filter when its block poller sees a new block: new blocks until it has polled twice since.
  for (let value = 2n; filtered.calls('eth_getFilterChanges!') < 2; value++) {
    const polls = filtered.calls('eth_blockNumber');
    await transfer(chain, address, bob.address, value);
    await filtered.calledAtLeast('eth_blockNumber', polls + 3);
  }
  assert.deepEqual(filtered.seen, [1n], "'filter not found' on every poll since the restart: ethers never installs its filter again");
  assert.equal(filtered.calls('eth_newFilter'), 1);

  const polled = await watch({ polling: true });
  // Once ethers has read the block number it starts from, and its block poller its first one.
  await polled.calledAtLeast('eth_blockNumber', 3);
  await transfer(chain, address, bob.address, 100n);
  await polled.received();
  restart();
  await transfer(chain, address, bob.address, 101n);
  await polled.received();
  assert.deepEqual(polled.seen, [100n, 101n]);
  assert.equal(polled.calls('eth_newFilter'), 0, 'polling installs no filter');
});
