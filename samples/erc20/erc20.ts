// The ERC-20 sample: on a running Coco sandbox, deploys contracts/Token.sol (compiled by the build
// into dist/Token.json) with ethers.js v6 as development account 0, sends tokens to account 1 and
// some back, reads both balances with balanceOf (eth_call) and lists the token's Transfer events
// (eth_getLogs). It is plain user code: it connects the way any ethers.js program connects to Coco.
// Usage, after `npm start` in another terminal: npm run erc20 [-- --workspace DIR] [--url URL]

import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { join, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ethers } from 'ethers';

const USAGE = `Usage: npm run erc20 [-- --workspace DIR] [--url URL]
  --workspace DIR  the sandbox's workspace (default ./workspace): its sandbox_common/ holds the
                   certificates, ethereum_accounts.json and service_url
  --url URL        a node of the sandbox, any of them (default: the URL in sandbox_common/service_url)
`;
// Compiled to dist/samples/erc20/erc20.js; the build writes the contract beside the sources.
const ARTIFACT_PATH = fileURLToPath(new URL('../../../samples/erc20/dist/Token.json', import.meta.url));
const TOKEN_NAME = 'Coco Sample Token';
const TOKEN_SYMBOL = 'CST';
const SUPPLY = '1000000';
const SENT = '250';
const SENT_BACK = '50';
/** Token.sol's `decimals`. */
const DECIMALS = 18;
// ethers polls for a receipt at this interval; its default (4 s) is meant for public chains, and
// a Coco receipt exists a few milliseconds after the transaction, once it is Committed.
const POLLING_INTERVAL_MS = 50;

interface Artifact {
  abi: ethers.InterfaceAbi;
  bytecode: string;
}

interface DevAccount {
  address: string;
  private_key: string;
}

const START_SANDBOX = 'start the sandbox with `npm start` first, or pass --workspace DIR';

function readFile(path: string, what: string, fix = START_SANDBOX): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new Error(`cannot read ${what} at ${path}: ${fix}`);
  }
}

/** Connects to `url` as user0 of the sandbox, trusting only the service certificate. */
function connect(common: string, url: string): { provider: ethers.JsonRpcProvider; agent: Agent } {
  const agent = new Agent({
    ca: readFile(join(common, 'service_cert.pem'), 'the service certificate'),
    cert: readFile(join(common, 'user0_cert.pem'), "user0's certificate"),
    key: readFile(join(common, 'user0_privk.pem'), "user0's private key"),
    keepAlive: true,
  });
  const request = new ethers.FetchRequest(`${url}/app/ethereum`);
  request.getUrlFunc = ethers.FetchRequest.createGetUrlFunc({ agent });
  // cacheTimeout -1: ethers would otherwise reuse answers for 250 ms, and two quick transactions would get the same nonce.
  const provider = new ethers.JsonRpcProvider(request, undefined, { staticNetwork: true, cacheTimeout: -1, pollingInterval: POLLING_INTERVAL_MS });
  return { provider, agent };
}

async function main(): Promise<void> {
  const { values } = (() => {
    try {
      return parseArgs({ options: { workspace: { type: 'string' }, url: { type: 'string' }, help: { type: 'boolean' } } });
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${USAGE}`);
    }
  })();
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const common = join(resolve(values.workspace ?? 'workspace'), 'sandbox_common');
  const url = (values.url ?? readFile(join(common, 'service_url'), 'the service URL')).trim().replace(/\/$/, '');
  const accounts = JSON.parse(readFile(join(common, 'ethereum_accounts.json'), 'the development accounts')) as DevAccount[];
  if (accounts.length < 2) throw new Error(`${join(common, 'ethereum_accounts.json')} lists ${accounts.length} account(s); the sample needs two`);
  const artifact = JSON.parse(readFile(ARTIFACT_PATH, 'the compiled Token contract', 'run `npm run build` first')) as Artifact;

  const { provider, agent } = connect(common, url);
  try {
    const [a, b] = [new ethers.Wallet(accounts[0]!.private_key, provider), new ethers.Wallet(accounts[1]!.private_key, provider)];
    const { chainId } = await provider.getNetwork();
    console.log(`ERC-20 sample on Coco: ${url}/app/ethereum (chain id ${chainId})`);
    console.log(`  account 0: ${a.address} (deploys the token)`);
    console.log(`  account 1: ${b.address}`);

    // The receipt exists once the transaction is Committed; it also names the Coco transaction that proves it.
    const confirm = async (tx: ethers.TransactionResponse): Promise<void> => {
      const receipt = await tx.wait();
      const raw = (await provider.send('eth_getTransactionReceipt', [tx.hash])) as { cocoTransactionId?: string | null };
      console.log(`  transaction ${tx.hash}, block ${receipt?.blockNumber}, Coco transaction ${raw.cocoTransactionId ?? 'unknown'}`);
    };

    console.log(`\nDeploying ${TOKEN_NAME} (${TOKEN_SYMBOL}), ${SUPPLY} ${TOKEN_SYMBOL} to account 0`);
    const factory = new ethers.ContractFactory(artifact.abi, artifact.bytecode, a);
    const deployed = await factory.deploy(TOKEN_NAME, TOKEN_SYMBOL, ethers.parseUnits(SUPPLY, DECIMALS));
    await confirm(deployed.deploymentTransaction()!);
    const address = await deployed.getAddress();
    console.log(`  deployed at ${address}`);
    const token = new ethers.Contract(address, artifact.abi, provider);
    const amount = (units: bigint) => `${ethers.formatUnits(units, DECIMALS)} ${TOKEN_SYMBOL}`;

    console.log(`Transferring ${SENT} ${TOKEN_SYMBOL} from account 0 to account 1`);
    await confirm(await (token.connect(a) as ethers.Contract).getFunction('transfer')(b.address, ethers.parseUnits(SENT, DECIMALS)));
    console.log(`Transferring ${SENT_BACK} ${TOKEN_SYMBOL} from account 1 to account 0`);
    await confirm(await (token.connect(b) as ethers.Contract).getFunction('transfer')(a.address, ethers.parseUnits(SENT_BACK, DECIMALS)));

    console.log('\nBalances (balanceOf, through eth_call):');
    for (const [i, wallet] of [a, b].entries()) {
      console.log(`  account ${i}  ${wallet.address}  ${amount(await token.getFunction('balanceOf')(wallet.address))}`);
    }

    console.log(`\nTransfer events of ${address} (eth_getLogs):`);
    for (const event of await token.queryFilter(token.filters.Transfer!(), 0, 'latest')) {
      const [from, to, value] = (event as ethers.EventLog).args as unknown as [string, string, bigint];
      console.log(`  block ${event.blockNumber}  ${from} -> ${to}  ${amount(value)}`);
    }
  } finally {
    provider.destroy();
    agent.destroy();
  }
}

/** The part of an error worth showing: ethers wraps a JSON-RPC error together with the whole request. */
function describe(error: unknown): string {
  const rpc = (error as { error?: { code?: number; message?: string } }).error;
  if (rpc?.message !== undefined) return `${rpc.message} (JSON-RPC error ${rpc.code})`;
  const message = (error as { shortMessage?: string }).shortMessage ?? String((error as Error).message ?? error);
  const refused = /ECONNREFUSED/.test(message) ? ': no node answers there; start the sandbox first (`npm start` in another terminal), or pass a running node with --url' : '';
  return `${message}${refused}`;
}

main().catch((error: unknown) => {
  process.stderr.write(`erc20: ${describe(error)}\n`);
  process.exitCode = 1;
});
