// The default constitution's Ethereum actions, run in QuickJS over a real store as a node runs them,
// and what Ethereum execution makes of the tables they write: a balance set by governance shows in
// eth_getBalance and can be spent, once; frozen senders and senders outside a set allowlist are
// refused with -32000; eth_call is not restricted.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bytesToHex } from '@ethereumjs/util';
import { fromUtf8, utf8 } from '../../src/crypto/bytes.js';
import { generateKeyPair } from '../../src/crypto/signing.js';
import { Tables } from '../../src/governance/builtin-tables.js';
import { JsConstitutionRunner } from '../../src/governance/js-constitution-runner.js';
import { handleJsonRpc, type JsonRpcMethods } from '../../src/ethereum/json-rpc.js';
import { ETHER, TestChain, wallet } from '../ethereum/harness.js';
import { MemoryBackend, methodsFor } from '../ethereum/memory-backend.js';
import { TestHost } from '../js/js-test-host.js';
import { repoRoot } from '../support/paths.js';

const CONSTITUTION = ['actions.js', 'validate.js', 'resolve.js', 'apply.js']
  .map((file) => readFileSync(join(repoRoot, 'constitution', 'default', file), 'utf8'))
  .join('\n');
const PROPOSAL_ID = 'e'.repeat(64);

const alice = wallet(0);
const bob = wallet(1);
const carol = wallet(2);

interface Action {
  name: string;
  args?: unknown;
}

let runner: JsConstitutionRunner;

before(async () => {
  runner = await JsConstitutionRunner.create(new TestHost(), {
    serviceKeyPair: generateKeyPair('P-256'),
    serviceCertPem: '',
    triggerLedgerChunk: () => undefined,
    triggerSnapshot: () => undefined,
    triggerLedgerRekey: () => undefined,
    latestLedgerSecretSeqno: () => 1,
    atServiceOpening: () => undefined,
    triggerRecoverySharesRefresh: () => undefined,
  });
});

after(() => runner.dispose());

/** A chain whose governance runs the default constitution, and its JSON-RPC methods. */
class GovernedChain {
  private constructor(
    readonly chain: TestChain,
    readonly methods: JsonRpcMethods,
  ) {}

  static async create(): Promise<GovernedChain> {
    const chain = await TestChain.create();
    return new GovernedChain(chain, methodsFor(new MemoryBackend(chain)));
  }

  validate(...actions: Action[]): { valid: boolean; description: string } {
    return this.chain.read((tx) => runner.validate(tx, CONSTITUTION, JSON.stringify({ actions })));
  }

  /** Validates the proposal, then applies it in its own committed transaction, as an accepted proposal is. */
  async enact(...actions: Action[]): Promise<void> {
    assert.deepEqual(this.validate(...actions), { valid: true, description: 'OK' });
    await this.chain.write((tx) => runner.apply(tx, CONSTITUTION, JSON.stringify({ actions }), PROPOSAL_ID));
  }

  /** The JSON value under `key` (text) in a governance table. */
  record(table: string, key: string): unknown {
    return this.chain.read((tx) => {
      const value = tx.map(table).get(utf8(key));
      return value === undefined ? undefined : JSON.parse(fromUtf8(value));
    });
  }

  async rpc(method: string, params: unknown[]): Promise<{ result?: unknown; error?: { code: number; message: string } }> {
    const answer = await handleJsonRpc(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }), this.methods);
    return JSON.parse(answer ?? 'null');
  }

  async balance(address: string): Promise<bigint> {
    const { result } = await this.rpc('eth_getBalance', [address, 'latest']);
    return BigInt(result as string);
  }

  /** Sends 1 wei (or `value`) from `from` to `to` with eth_sendRawTransaction. */
  async transfer(from: typeof alice, to: string, value = 1n): Promise<{ result?: unknown; error?: { code: number; message: string } }> {
    const raw = await this.chain.sign(from, { to, value, gasLimit: 21_000n });
    return this.rpc('eth_sendRawTransaction', [bytesToHex(raw)]);
  }
}

const fund = (address: string, balance: bigint): Action => ({ name: 'set_ethereum_accounts', args: { accounts: [{ address, balance: balance.toString() }] } });
const freeze = (address: string, frozen: boolean): Action => ({ name: 'set_ethereum_accounts', args: { accounts: [{ address, frozen }] } });
const allow = (...addresses: string[]): Action => ({ name: 'add_ethereum_allowed_senders', args: { addresses } });
const disallow = (...addresses: string[]): Action => ({ name: 'remove_ethereum_allowed_senders', args: { addresses } });

const ADDRESS = alice.address.toLowerCase();
const WEI_MAX = (2n ** 256n - 1n).toString();

describe('Ethereum actions: validation', () => {
  test('accepts funding, freezing, both at once, checksummed and lowercase addresses, and allowlist changes', async () => {
    const governed = await GovernedChain.create();
    const good: Action[] = [
      fund(alice.address, 10n * ETHER),
      { name: 'set_ethereum_accounts', args: { accounts: [{ address: ADDRESS, balance: '0', frozen: true }, { address: bob.address, frozen: null, balance: WEI_MAX }] } },
      freeze(ADDRESS, false),
      allow(alice.address, bob.address.toLowerCase()),
      disallow(carol.address),
    ];
    for (const action of good) assert.deepEqual(governed.validate(action), { valid: true, description: 'OK' }, JSON.stringify(action));
  });

  const bad: { what: string; action: Action; error: RegExp }[] = [
    { what: 'a word for an address', action: fund('hello', 1n), error: /args\.accounts\[0\]\.address must be an Ethereum address \("0x" and 40 hex digits\), got "hello"/ },
    { what: 'a short address', action: fund(ADDRESS.slice(0, 41), 1n), error: /args\.accounts\[0\]\.address must be an Ethereum address/ },
    { what: 'an address without 0x', action: freeze(ADDRESS.slice(2), true), error: /args\.accounts\[0\]\.address must be an Ethereum address/ },
    { what: 'a negative balance', action: fund(ADDRESS, -5n), error: /args\.accounts\[0\]\.balance must be a decimal string of wei from "0" to 2\^256 - 1 .*, got "-5"/ },
    { what: 'a balance as a number', action: { name: 'set_ethereum_accounts', args: { accounts: [{ address: ADDRESS, balance: 5 }] } }, error: /balance must be a decimal string of wei.*, got number 5/ },
    { what: 'a fractional balance', action: { name: 'set_ethereum_accounts', args: { accounts: [{ address: ADDRESS, balance: '1.5' }] } }, error: /balance must be a decimal string of wei/ },
    { what: 'a hex balance', action: { name: 'set_ethereum_accounts', args: { accounts: [{ address: ADDRESS, balance: '0x10' }] } }, error: /balance must be a decimal string of wei/ },
    { what: 'a balance with a leading zero', action: { name: 'set_ethereum_accounts', args: { accounts: [{ address: ADDRESS, balance: '010' }] } }, error: /balance must be a decimal string of wei/ },
    { what: 'a balance of 2^256', action: fund(ADDRESS, 2n ** 256n), error: /balance must be a decimal string of wei/ },
    { what: 'frozen as a string', action: { name: 'set_ethereum_accounts', args: { accounts: [{ address: ADDRESS, frozen: 'yes' }] } }, error: /args\.accounts\[0\]\.frozen must be true or false, got "yes"/ },
    { what: 'neither balance nor frozen', action: { name: 'set_ethereum_accounts', args: { accounts: [{ address: ADDRESS }] } }, error: /args\.accounts\[0\] must set balance, frozen or both/ },
    { what: 'an unknown field', action: { name: 'set_ethereum_accounts', args: { accounts: [{ address: ADDRESS, nonce: 1 }] } }, error: /args\.accounts\[0\]\.nonce is not expected/ },
    { what: 'no accounts', action: { name: 'set_ethereum_accounts', args: { accounts: [] } }, error: /args\.accounts must be an array of 1 to 1000 entries, got an array of 0/ },
    {
      what: 'one address twice, in different cases',
      action: { name: 'set_ethereum_accounts', args: { accounts: [{ address: alice.address, frozen: true }, { address: ADDRESS, balance: '1' }] } },
      error: /args\.accounts\[1\] names 0x[0-9a-f]{40} again \(first at args\.accounts\[0\]\)/,
    },
    { what: 'an empty allowlist change', action: allow(), error: /args\.addresses must be an array of 1 to 1000 entries/ },
    { what: 'a bad sender address', action: disallow('0x1234'), error: /args\.addresses\[0\] must be an Ethereum address/ },
    { what: 'too many senders at once', action: allow(...Array.from({ length: 1001 }, (_, i) => `0x${i.toString(16).padStart(40, '0')}`)), error: /args\.addresses must be an array of 1 to 1000 entries/ },
  ];
  for (const { what, action, error } of bad) {
    test(`refuses ${what}, naming the argument`, async () => {
      const governed = await GovernedChain.create();
      const { valid, description } = governed.validate(action);
      assert.equal(valid, false);
      assert.ok(description.startsWith(`actions[0] ${action.name}: `), description);
      assert.match(description, error);
    });
  }
});

describe('Ethereum actions: tables', () => {
  test('write JSON records under the lowercase address, and remove them on unfreeze and removal', async () => {
    const governed = await GovernedChain.create();
    await governed.enact(
      { name: 'set_ethereum_accounts', args: { accounts: [{ address: alice.address, balance: '123', frozen: true }] } },
      allow(bob.address),
    );
    assert.deepEqual(governed.record(Tables.ethereumBalances, ADDRESS), { balance: '123' });
    assert.deepEqual(governed.record(Tables.ethereumAccounts, ADDRESS), { frozen: true });
    assert.equal(governed.record(Tables.ethereumAllowedSenders, bob.address.toLowerCase()), 'AllowedToSend');
    await governed.enact(freeze(alice.address, false), disallow(bob.address));
    assert.equal(governed.record(Tables.ethereumAccounts, ADDRESS), undefined);
    assert.equal(governed.record(Tables.ethereumAllowedSenders, bob.address.toLowerCase()), undefined);
    assert.deepEqual(governed.record(Tables.ethereumBalances, ADDRESS), { balance: '123' }, 'unfreezing leaves the balance record alone');
  });
});

describe('governed funding', () => {
  test('shows in eth_getBalance and can be spent', async () => {
    const governed = await GovernedChain.create();
    await governed.enact(fund(alice.address, 5n * ETHER));
    assert.equal(await governed.balance(alice.address), 5n * ETHER);
    const { error } = await governed.transfer(alice, bob.address, 2n * ETHER);
    assert.equal(error, undefined);
    assert.equal(await governed.balance(alice.address), 3n * ETHER);
    assert.equal(await governed.balance(bob.address), 2n * ETHER);
  });

  test('applies once: later transactions build on it, a new proposal sets the balance again and keeps the nonce', async () => {
    const governed = await GovernedChain.create();
    await governed.enact(fund(alice.address, 5n * ETHER));
    await governed.transfer(alice, bob.address, ETHER);
    await governed.transfer(alice, bob.address, ETHER);
    assert.equal(await governed.balance(alice.address), 3n * ETHER, 'the record does not re-apply after the account changed');
    await governed.enact(fund(alice.address, 10n * ETHER));
    assert.equal(await governed.balance(alice.address), 10n * ETHER);
    assert.equal(governed.chain.nonceOf(alice.address), 2);
    assert.equal((await governed.transfer(alice, bob.address, ETHER)).error, undefined);
    assert.equal(await governed.balance(alice.address), 9n * ETHER);
    assert.equal(await governed.balance(bob.address), 3n * ETHER);
  });

  test('applies to an account that only receives, and to what a contract or eth_call sees', async () => {
    const governed = await GovernedChain.create();
    await governed.enact(fund(alice.address, ETHER), fund(bob.address, 7n));
    assert.equal((await governed.transfer(alice, bob.address, 3n)).error, undefined);
    assert.equal(await governed.balance(bob.address), 10n, 'the transfer adds to the balance governance set');
    await governed.enact(fund(carol.address, 50n));
    // eth_call from carol for a value above its stored (absent) balance passes only with the governed one.
    const { result, error } = await governed.rpc('eth_call', [{ from: carol.address, to: bob.address, value: '0x32' }, 'latest']);
    assert.equal(error, undefined);
    assert.equal(result, '0x');
    const tooMuch = await governed.rpc('eth_call', [{ from: carol.address, to: bob.address, value: '0x33' }, 'latest']);
    assert.match(tooMuch.error?.message ?? '', /insufficient funds/);
  });

  test('a later direct setBalance (genesis allocation) supersedes it', async () => {
    const governed = await GovernedChain.create();
    await governed.enact(fund(alice.address, 5n * ETHER));
    await governed.chain.fund(alice.address, 2n * ETHER);
    assert.equal(await governed.balance(alice.address), 2n * ETHER);
    assert.equal((await governed.transfer(alice, bob.address, ETHER)).error, undefined);
    assert.equal(await governed.balance(alice.address), ETHER);
  });
});

describe('frozen accounts', () => {
  test('cannot send (-32000 before execution), can receive and be queried with eth_call, and send again once unfrozen', async () => {
    const governed = await GovernedChain.create();
    await governed.enact(fund(alice.address, ETHER), fund(bob.address, ETHER), freeze(alice.address, true));
    const refused = await governed.transfer(alice, bob.address);
    assert.equal(refused.error?.code, -32000);
    assert.match(refused.error?.message ?? '', new RegExp(`^sender frozen: address ${ADDRESS} is frozen by governance`));
    assert.equal(governed.chain.nonceOf(alice.address), 0, 'nothing was executed');
    assert.equal((await governed.transfer(bob, alice.address, 5n)).error, undefined, 'a frozen account receives');
    assert.equal(await governed.balance(alice.address), ETHER + 5n);
    const called = await governed.rpc('eth_call', [{ from: alice.address, to: bob.address, value: '0x1' }, 'latest']);
    assert.equal(called.error, undefined);
    await governed.enact(freeze(alice.address, false));
    assert.equal((await governed.transfer(alice, bob.address)).error, undefined);
    assert.equal(governed.chain.nonceOf(alice.address), 1);
  });
});

describe('allowlist of senders', () => {
  test('empty: anyone sends; set: only listed senders; emptied again: anyone', async () => {
    const governed = await GovernedChain.create();
    await governed.enact(fund(alice.address, ETHER), fund(bob.address, ETHER));
    assert.equal((await governed.transfer(bob, carol.address)).error, undefined);
    await governed.enact(allow(alice.address));
    const refused = await governed.transfer(bob, carol.address);
    assert.equal(refused.error?.code, -32000);
    assert.equal(refused.error?.message, `sender not allowed: address ${bob.address.toLowerCase()} is not in the governance allowlist of senders`);
    assert.equal((await governed.transfer(alice, carol.address)).error, undefined);
    await governed.enact(disallow(alice.address));
    assert.equal((await governed.transfer(bob, carol.address)).error, undefined);
    assert.equal(await governed.balance(carol.address), 3n);
  });

  test('does not let a frozen sender through', async () => {
    const governed = await GovernedChain.create();
    await governed.enact(fund(alice.address, ETHER), allow(alice.address), freeze(alice.address, true));
    assert.match((await governed.transfer(alice, bob.address)).error?.message ?? '', /^sender frozen/);
  });
});
