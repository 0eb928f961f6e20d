// Ethereum benchmark: ERC-20 transfers, pre-signed by 32 senders, sent over JSON-RPC on keep-alive
// connections to a 3-node Coco sandbox (to the primary), 4 at a time per sender, each counted when
// its receipt exists (on Coco: once Committed, when the send answers); then the same load against Hardhat's local node (`hardhat node`, defaults) in the
// same run. Raw value transfers (21,000 gas) the same way, as a second row. Then what a transfer costs
// a Coco node part by part, in one process, on the same signed transfers.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ethers } from 'ethers';
import { CocoError } from '../src/errors.js';
import { onInterrupt } from './cleanup.js';
import { startCocoSandbox } from './coco-sandbox.js';
import { measurePartCosts, type PartCosts } from './ethereum-costs.js';
import { benchSenders, prepareChain, presign, type PreparedChain, type Workload } from './ethereum-setup.js';
import { findOrInstallHardhat, hardhatFunder, startHardhatNode, type HardhatInstall } from './hardhat.js';
import { JsonRpcClient, type JsonRpcEndpoint } from './json-rpc-client.js';
import { sendSignedTransactions, type SendResult, type SignedQueue } from './json-rpc-load.js';
import { progress } from './measure.js';
import { ReceiptTracker, type ReceiptResult } from './receipt-tracker.js';

const NODES = 3;
const SENDERS = 32;
/**
 * Sends of consecutive nonces each sender keeps in flight on Coco, whose send answers once its
 * transaction is Committed: one at a time would measure that wait (a signature, replicated and
 * fsynced on a majority) rather than the service. The primary holds the later nonces until the
 * earlier ones ran.
 */
const COCO_SENDS_IN_FLIGHT = 4;
/**
 * On Hardhat, one: its automine refuses a nonce ahead of the account's ("transactions can't be
 * queued when automining"), and its send answers once mined, at once.
 */
const HARDHAT_SENDS_IN_FLIGHT = 1;
/** EthereumJS's interpreter keeps getting faster for several seconds of load (the JIT): warm up that long. */
const WARMUP_MS = 5_000;
/** `COCO_BENCH_SECONDS` shortens (or lengthens) each measured run, e.g. while developing. */
const DURATION_MS = 1000 * Number(process.env.COCO_BENCH_SECONDS ?? 10);
/** Transfers signed ahead for each run: enough for this rate (1.5 × the goal) all along. */
const SIGNED_PER_SECOND_MAX = 2_400;
/** Receipt polls start at most this often, a few at a time, each for at most this many hashes. */
const RECEIPT_POLL_INTERVAL_MS = 5;
const RECEIPT_POLLS_IN_FLIGHT = 4;
const RECEIPT_BATCH_MAX = 64;
const SETTLE_TIMEOUT_MS = 30_000;
const IN_PROCESS_WARMUP = 640;
const IN_PROCESS_TRANSFERS = 3_200;
/** When the 3-node run gives no signature rate (a receipt is missing), the in-process run assumes this one, and says so. */
const SIGNATURES_PER_TRANSFER_ASSUMED = 0.01;

// The issue's goals.
const TRANSFERS_PER_S_MIN = 1_600;
const RATIO_MIN = 3;
const P99_MS_MAX = 200;

interface Run {
  sends: SendResult;
  receipts: ReceiptResult;
}

interface SystemRuns {
  chain: PreparedChain;
  erc20: Run;
  value: Run;
  /** The ERC-20 transfers signed for the run, for the in-process measurement. */
  erc20Queues: SignedQueue[];
}

type HardhatRuns = (SystemRuns & { version: string }) | { skipped: string };

if (!(DURATION_MS > 0)) throw new CocoError('UsageError', `COCO_BENCH_SECONDS must be a positive number of seconds, got ${process.env.COCO_BENCH_SECONDS}`);

/** The connections of one system's runs, kept from the warm-up on so that measured runs open none. */
interface Connections {
  setup: JsonRpcClient;
  /** A keep-alive connection per send in flight. */
  senders: JsonRpcClient;
  /** Sends each sender keeps in flight. */
  inFlight: number;
  poller: JsonRpcClient;
}

/** Sends for `durationMs` from every queue and waits for the receipts of what was accepted. */
async function runPhase(connections: Connections, queues: SignedQueue[], durationMs: number): Promise<Run> {
  const tracker = new ReceiptTracker(connections.poller, { pollIntervalMs: RECEIPT_POLL_INTERVAL_MS, pollsInFlight: RECEIPT_POLLS_IN_FLIGHT, batchMax: RECEIPT_BATCH_MAX });
  const sends = await sendSignedTransactions(connections.senders, queues, durationMs, connections.inFlight, (hash, startMs) => tracker.add(hash, startMs));
  return { sends, receipts: await tracker.finish(SETTLE_TIMEOUT_MS) };
}

async function runWorkload(name: string, connections: Connections, chain: PreparedChain, workload: Workload): Promise<{ run: Run; queues: SignedQueue[] }> {
  const perSender = Math.ceil((SIGNED_PER_SECOND_MAX * (WARMUP_MS + DURATION_MS)) / 1000 / SENDERS);
  const queues = await presign(connections.setup, chain, workload, perSender);
  progress(`${name}: warming up for ${WARMUP_MS / 1000} s`);
  await runPhase(connections, queues, WARMUP_MS);
  progress(`${name}: measuring ${workload === 'erc20' ? 'ERC-20 transfers' : 'value transfers'} for ${DURATION_MS / 1000} s, ${SENDERS} senders, ${connections.inFlight} sends in flight each`);
  const run = await runPhase(connections, queues, DURATION_MS);
  progress(`${name}: ${Math.round(run.receipts.perSecond)} transfers/s with a receipt, p99 ${run.receipts.p99Ms.toFixed(1)} ms`);
  return { run, queues };
}

async function measureSystem(name: string, endpoint: JsonRpcEndpoint, funder: ethers.Wallet, inFlight: number): Promise<SystemRuns> {
  const senders = new JsonRpcClient(endpoint, SENDERS * inFlight);
  const connections = { setup: new JsonRpcClient(endpoint, 1), senders, inFlight, poller: new JsonRpcClient(endpoint, RECEIPT_POLLS_IN_FLIGHT) };
  try {
    const chain = await prepareChain(connections.setup, funder, benchSenders(SENDERS));
    const erc20 = await runWorkload(name, connections, chain, 'erc20');
    const value = await runWorkload(name, connections, chain, 'value');
    return { chain, erc20: erc20.run, value: value.run, erc20Queues: erc20.queues };
  } finally {
    for (const client of [connections.setup, connections.senders, connections.poller]) client.close();
  }
}

async function measureCoco(dir: string): Promise<SystemRuns> {
  progress(`starting a ${NODES}-node sandbox`);
  const sandbox = await startCocoSandbox(join(dir, 'workspace'), NODES);
  try {
    const primary = await sandbox.primary();
    progress(`the primary is ${primary.id.slice(0, 16)}… at ${primary.url}; transactions and receipt polls go there`);
    const accounts = JSON.parse(readFileSync(join(sandbox.common, 'ethereum_accounts.json'), 'utf8')) as { private_key: string }[];
    const endpoint = { url: `${primary.url}/app/ethereum`, tls: { caPem: sandbox.serviceCertPem, ...sandbox.user0 } };
    const runs = await measureSystem('Coco', endpoint, new ethers.Wallet(accounts[0]!.private_key), COCO_SENDS_IN_FLIGHT);
    const after = await sandbox.primary();
    if (after.id !== primary.id) progress(`note: the primary changed during the run (now ${after.id.slice(0, 16)}…)`);
    return runs;
  } finally {
    await sandbox.stop();
  }
}

async function measureHardhat(install: HardhatInstall, dir: string): Promise<HardhatRuns> {
  if ('skipped' in install) return install;
  progress(`starting Hardhat ${install.version}: hardhat node, default settings`);
  let node;
  try {
    node = await startHardhatNode(install, join(dir, 'hardhat'));
  } catch (error) {
    return { skipped: `hardhat node did not start: ${(error as Error).message}` };
  }
  try {
    return { ...(await measureSystem('Hardhat', { url: node.url }, hardhatFunder(), HARDHAT_SENDS_IN_FLIGHT)), version: install.version };
  } catch (error) {
    return { skipped: `the Hardhat run failed: ${(error as Error).message}` };
  } finally {
    await node.stop();
  }
}

/** Signature transactions per transfer in a Coco run: the seqnos its receipts span, less the transfers. */
function signaturesPerTransfer(run: Run): number | undefined {
  const seqnos = run.receipts.cocoSeqnos;
  const transfers = run.receipts.succeeded + run.receipts.reverted;
  if (seqnos === undefined || transfers === 0 || run.receipts.missing > 0) return undefined;
  return Math.max(0, seqnos.last - seqnos.first + 1 - transfers) / transfers;
}

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '–');
const count = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '–');
const us = (value: number) => (Number.isFinite(value) ? value.toFixed(0) : '–');
const verdict = (met: boolean) => (met ? 'met' : '**not met**');
const errors = (run: Run) => run.sends.errors + run.receipts.pollErrors;

function row(system: string, run: Run): string {
  const { sends, receipts } = run;
  const notes = [sends.exhausted > 0 && `${sends.exhausted} clients ran out of signed transfers`, sends.gaveUp > 0 && `${sends.gaveUp} clients gave up after repeated errors`].filter(Boolean);
  return (
    `| ${system} | ${count(receipts.perSecond)} | ${ms(receipts.p50Ms)} | ${ms(receipts.p99Ms)} | ${count(sends.perSecond)} | ${ms(sends.p50Ms)} | ${ms(sends.p99Ms)} | ` +
    `${errors(run)} | ${receipts.reverted} | ${receipts.missing}${notes.length > 0 ? ` (${notes.join('; ')})` : ''} |`
  );
}

function firstErrors(runs: [string, Run][]): string[] {
  return runs.flatMap(([name, run]) => {
    const lines = [];
    if (run.sends.firstError !== undefined) lines.push(`First send error, ${name}: \`${run.sends.firstError.slice(0, 300)}\``);
    if (run.receipts.firstPollError !== undefined) lines.push(`First receipt poll error, ${name}: \`${run.receipts.firstPollError.slice(0, 300)}\``);
    return lines;
  });
}

function costTable(costs: PartCosts, endToEndUs: number, signaturesMeasured: boolean): string[] {
  const share = (value: number) => (Number.isFinite(endToEndUs) && endToEndUs > 0 ? `${((100 * value) / endToEndUs).toFixed(0)} %` : '–');
  const signatures = costs.signatureUs * costs.signaturesPerTransfer;
  const signatureEvery = costs.signaturesPerTransfer > 0 ? Math.round(1 / costs.signaturesPerTransfer) : NaN;
  const parts: [string, number][] = [
    ['JSON-RPC layer of `eth_sendRawTransaction`: request parsing, hex, answer', costs.jsonRpc],
    ['decoding: RLP, EthereumJS transaction object', costs.parse],
    ['sender recovery: libsecp256k1, transaction hash', costs.recovery],
    ['EVM execution: checks, EthereumJS `runTx` over the KV, records, block', costs.execution],
    ['KV commit', costs.kvCommit],
    ['ledger: entry sealing (AES-GCM), commit evidence, Merkle leaf', costs.ledgerAppend],
    [`ledger: signature transactions on the event loop, ${signaturesMeasured ? '' : 'assumed '}1 per ${count(signatureEvery)} transfers, ${us(costs.signatureUs)} µs each`, signatures],
    ['ledger: file write, batched (fsync off the event loop, not counted)', costs.ledgerFiles],
    ['`eth_getTransactionReceipt` answer, in a batch', costs.receipt],
  ];
  const onPrimary = parts.reduce((sum, [, value]) => sum + value, 0);
  const rest = endToEndUs - onPrimary;
  return [
    '| part | µs per transfer | share of the 3-node time per transfer |',
    '| --- | --- | --- |',
    ...parts.map(([name, value]) => `| ${name} | ${us(value)} | ${share(value)} |`),
    `| **measured parts, on the primary** | **${us(onPrimary)}** | **${share(onPrimary)}** |`,
    `| the rest: HTTPS (TLS, HTTP), authentication, consensus, sending entries to the backups, node-to-node TLS, waiting for a core (3-node time less the parts above) | ${us(rest)} | ${share(rest)} |`,
    `| **3-node sandbox, end to end: 1 / (ERC-20 transfers/s)** | **${us(endToEndUs)}** | 100 % |`,
    `| signature nonces, on the primary's worker thread beside the event loop: ${us(costs.signatureWorkerUs)} µs per signature | ${us(costs.signatureWorkerUs * costs.signaturesPerTransfer)} | beside the event loop |`,
    `| replication: what each backup does per transfer (open and check the entry, Merkle leaf, apply to the store, write), in its own process | ${us(costs.backup)} | in parallel, on each of ${NODES - 1} backups |`,
    '',
    `The measured parts alone would let one core of the primary take ${count(1e6 / onPrimary)} ERC-20 transfers/s.`,
  ];
}

function report(results: { coco: SystemRuns; hardhat: HardhatRuns; costs: PartCosts | { failed: string }; signaturesMeasured: boolean; loadBefore: number[] }): string {
  const { coco, hardhat, costs } = results;
  const hardhatName = 'skipped' in hardhat ? 'Hardhat 2' : `Hardhat ${hardhat.version}`;
  const hardhatRow = (label: string, pick: (runs: SystemRuns) => Run) =>
    'skipped' in hardhat ? `| ${hardhatName}: ${label} | skipped: ${hardhat.skipped.split('\n')[0]} | | | | | | | | |` : row(`${hardhatName} (\`hardhat node\`, defaults): ${label}`, pick(hardhat));
  const ratio = (pick: (runs: SystemRuns) => Run) => ('skipped' in hardhat ? undefined : pick(coco).receipts.perSecond / pick(hardhat).receipts.perSecond);
  const erc20Ratio = ratio((runs) => runs.erc20);
  const valueRatio = ratio((runs) => runs.value);
  const named: [string, Run][] = [['Coco ERC-20', coco.erc20], ['Coco value transfers', coco.value]];
  if (!('skipped' in hardhat)) named.push(['Hardhat ERC-20', hardhat.erc20], ['Hardhat value transfers', hardhat.value]);
  const { erc20 } = coco;
  const cpu = cpus();
  return [
    `### Ethereum: ${SENDERS} senders (${COCO_SENDS_IN_FLIGHT} sends in flight each on Coco, ${HARDHAT_SENDS_IN_FLIGHT} on Hardhat), counted when the receipt exists`,
    '',
    '| system: transactions | transfers/s with a receipt | p50 ms to receipt | p99 ms to receipt | sends answered/s | p50 ms to answer a send | p99 ms to answer a send | errors | reverted | no receipt |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    row(`Coco, ${NODES} nodes (\`POST /app/ethereum\` on the primary): ERC-20 \`transfer\``, coco.erc20),
    hardhatRow('ERC-20 `transfer`', (runs) => runs.erc20),
    row(`Coco, ${NODES} nodes: value transfers (21,000 gas)`, coco.value),
    hardhatRow('value transfers (21,000 gas)', (runs) => runs.value),
    '',
    erc20Ratio === undefined ? 'Ratio Coco / Hardhat: not measured (Hardhat skipped).' : `Ratio Coco / Hardhat: ERC-20 transfers **${erc20Ratio.toFixed(2)}**, value transfers **${valueRatio!.toFixed(2)}**.`,
    `Receipt polls answered per second: ${named.map(([name, run]) => `${name} ${count(run.receipts.polls / run.sends.seconds)}`).join(', ')}.`,
    ...firstErrors(named),
    '',
    '| goal | measured | verdict |',
    '| --- | --- | --- |',
    `| ERC-20 transfers/s with a receipt on ${NODES} nodes ≥ ${count(TRANSFERS_PER_S_MIN)} | ${count(erc20.receipts.perSecond)} | ${verdict(erc20.receipts.perSecond >= TRANSFERS_PER_S_MIN)} |`,
    `| ERC-20 transfers/s ≥ ${RATIO_MIN} × Hardhat's | ${erc20Ratio === undefined ? 'Hardhat skipped' : `${erc20Ratio.toFixed(2)} ×`} | ${erc20Ratio === undefined ? 'not measured' : verdict(erc20Ratio >= RATIO_MIN)} |`,
    `| p99 time to receipt ≤ ${P99_MS_MAX} ms | ${ms(erc20.receipts.p99Ms)} ms | ${verdict(erc20.receipts.p99Ms <= P99_MS_MAX)} |`,
    '',
    `What an ERC-20 transfer costs a Coco node, in one process without a network (${'failed' in costs ? 'not measured' : `${count(costs.transfers)} of the same signed transfers`}), ` +
      'against the wall time per transfer of the 3-node run above:',
    '',
    ...('failed' in costs ? [`Not measured: ${costs.failed}`] : costTable(costs, 1e6 / erc20.receipts.perSecond, results.signaturesMeasured)),
    '',
    'Separated: each step a write takes inside the node, timed around the same calls the node makes. Not separated: TLS and HTTP, Raft and the ' +
      'node-to-node channels (they are in "the rest", with the time the primary waits for a core that the backups and the load generator also use); ' +
      "the backups' cost is per backup and runs beside the primary's, so it is not a share of it.",
    '',
    `${DURATION_MS / 1000} s per run after ${WARMUP_MS / 1000} s warm-up; every transfer pre-signed with ethers.js (type 2, fees as each node suggests), ` +
      `sends of consecutive nonces in flight per sender, each on a keep-alive connection, the next as soon as one is answered: ${COCO_SENDS_IN_FLIGHT} on Coco (a send answers once Committed), ${HARDHAT_SENDS_IN_FLIGHT} on Hardhat (automine refuses a nonce ahead); receipts polled with JSON-RPC batches of \`eth_getTransactionReceipt\` for the oldest pending hashes ` +
      `(at most ${RECEIPT_BATCH_MAX}, a poll at most every ${RECEIPT_POLL_INTERVAL_MS} ms, at most ${RECEIPT_POLLS_IN_FLIGHT} outstanding), time to receipt from the send's start to the poll answer showing it; ` +
      `Hardhat ${'skipped' in hardhat ? 'skipped' : `from the benchmark's cache, hardhat.config.cjs \`module.exports = {}\`, its log written to a file`}; ` +
      `${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown CPU'}) shared by the load generator, the nodes and Hardhat; ` +
      `load average before the run ${results.loadBefore.map((l) => l.toFixed(2)).join(' / ')}; node ${process.version}; ${new Date().toISOString().slice(0, 10)}.`,
  ].join('\n');
}

export async function runEthereumBench(): Promise<string> {
  const loadBefore = loadavg();
  const dir = mkdtempSync(join(tmpdir(), 'coco-bench-ethereum-'));
  const removeDir = onInterrupt(async () => rmSync(dir, { recursive: true, force: true }));
  try {
    // First, so that an installation happens before anything is measured.
    const install = findOrInstallHardhat();
    const coco = await measureCoco(dir);
    const hardhat = await measureHardhat(install, dir);
    const measured = signaturesPerTransfer(coco.erc20);
    progress(`measuring the parts of a transfer in one process (${IN_PROCESS_TRANSFERS.toLocaleString('en-US')} transfers)`);
    const costs = await measurePartCosts({
      chainId: coco.chain.chainId,
      setupRaws: coco.chain.setupRaws,
      queues: coco.erc20Queues,
      warmup: IN_PROCESS_WARMUP,
      transfers: IN_PROCESS_TRANSFERS,
      signaturesPerTransfer: measured ?? SIGNATURES_PER_TRANSFER_ASSUMED,
      dir: join(dir, 'in-process'),
    }).catch((error: Error) => ({ failed: error.message }));
    return report({ coco, hardhat, costs, signaturesMeasured: measured !== undefined, loadBefore });
  } finally {
    await removeDir();
  }
}
