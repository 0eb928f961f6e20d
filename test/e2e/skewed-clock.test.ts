// A primary whose host clock is 300 days ahead, in a network of real processes whose other two
// clocks are right: it stamps the service's time, the median of the nodes' clocks, into what the
// whole service keeps (Ethereum block timestamps, which never decrease, and its ledger signatures),
// and tells its operator how far off its own clock is.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ethers } from 'ethers';
import { ETHEREUM_CHAIN_ID_DEFAULT } from '../../src/node/node-config.js';
import { coseSignatureTime } from '../../src/ledger/signature.js';
import { FaultNetwork } from '../support/network-fixture.js';
import { until } from '../support/until.js';

const DAY_MS = 86_400_000;
const SKEW_MS = 300 * DAY_MS;
// Node's Date.now in the process it is preloaded into, moved by SKEW_MS: the host's clock as the node reads it.
const SKEWED_CLOCK = `const now = Date.now; Date.now = () => now() + ${SKEW_MS};`;

let network: FaultNetwork;

before(async () => {
  const inherited = process.env.NODE_OPTIONS;
  try {
    network = await FaultNetwork.start({
      beforeStart: (i) => {
        // Only node 0's process (the one that starts the service, its primary) gets the skewed clock.
        if (i === 0) process.env.NODE_OPTIONS = `${inherited ?? ''} --import data:text/javascript,${encodeURIComponent(SKEWED_CLOCK)}`.trim();
        else if (inherited === undefined) delete process.env.NODE_OPTIONS;
        else process.env.NODE_OPTIONS = inherited;
      },
    });
  } finally {
    if (inherited === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = inherited;
  }
});

after(async () => {
  await network?.close();
});

async function jsonRpc<T>(method: string, params: unknown[]): Promise<T> {
  const answer = (await network.client(0).request('POST', '/app/ethereum', { body: { jsonrpc: '2.0', id: 1, method, params } })).json<{ result?: T; error?: unknown }>();
  assert.ok(!('error' in answer), `${method}: ${JSON.stringify(answer.error)}`);
  return answer.result as T;
}

test('the primary whose clock is 300 days ahead says so, and stamps blocks and signatures with the service time', { timeout: 120_000 }, async () => {
  await network.explained(async () => {
    assert.equal(await network.primary(), 0);
    await until("node 0's warning about its clock", 30_000, async () => (/this node's clock is 300 d ahead of the service's/.test(network.output(0)) ? true : undefined));
    for (const i of [1, 2]) assert.doesNotMatch(network.output(i), /this node's clock is/);

    const sender = ethers.Wallet.createRandom();
    const raw = await sender.signTransaction({ type: 0, to: ethers.ZeroAddress, value: 0, gasLimit: 21_000, gasPrice: 0, nonce: 0, chainId: ETHEREUM_CHAIN_ID_DEFAULT });
    const hash = await jsonRpc<string>('eth_sendRawTransaction', [raw]);
    const receipt = await until('the transaction committed', 30_000, () => jsonRpc<{ blockNumber: string } | null>('eth_getTransactionReceipt', [hash]).then((r) => r ?? undefined));
    const block = await jsonRpc<{ timestamp: string }>('eth_getBlockByNumber', [receipt.blockNumber, false]);
    const stampedMs = Number(BigInt(block.timestamp)) * 1000;
    // Within a day of this machine's real clock, not 300 days ahead of it.
    assert.ok(Math.abs(stampedMs - Date.now()) < DAY_MS, `block ${receipt.blockNumber} is stamped ${new Date(stampedMs).toISOString()}`);

    // The signature that proves the transaction: the time it records is the service's too.
    const cose = await until('the COSE receipt', 30_000, async () => {
      const answer = await network.client(0).request('GET', `/app/ethereum/receipt?hash=${hash}`, { headers: { accept: 'application/cose' }, allowError: true });
      return answer.status === 200 ? answer.body : undefined;
    });
    const signedAtMs = coseSignatureTime(cose)! * 1000;
    assert.ok(Math.abs(signedAtMs - Date.now()) < DAY_MS, `the receipt's signature is dated ${new Date(signedAtMs).toISOString()}`);
  });
});
