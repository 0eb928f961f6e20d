// `coco sandbox` (and `npm start`): a local network in one command, laid out like CCF's sandbox:
// `workspace/sandbox_common/` with the service certificate and the member and user identities,
// `workspace/sandbox_<i>/` with each node's configuration, ledger, logs and pid. It starts node 0,
// joins the others to it while the service is opening (they are trusted at once), opens the
// service through the governance API as member0 would, prints the network and how to use it, and
// runs until Ctrl-C, when it stops every node cleanly.

import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { fileErrorReason } from './file-error.js';
import { logFile } from './log-file.js';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadCheckedAppBundle } from './checked-app-bundle.js';
import { openService } from '../client/open-service.js';
import { recoverService, trustJoiningNodes, type RecoveringMember } from '../client/recover-service.js';
import { finishRecoveryPlan, planRecovery, prepareRecoveringNode, previousCertificateFile, previousConfigWith, readRecoveryPlan, recoversFromSnapshot, unfinishedRecoveryError } from './sandbox-recovery-plan.js';
import { CocoError } from '../errors.js';
import { firstStartUnfinished, ledgerOpenedService, recordFirstStartFailure, unfinishedWorkspaceError } from './first-start.js';
import { holdsLedger } from '../node/ledger-directory.js';
import { readInputFile } from '../node/read-input.js';
import { writeIdentity } from './keygen.js';
import { describeAllocator, nodeAllocator, type Allocator } from './allocator.js';
import { NODE_STOP_TIMEOUT_MS, PACKAGE_ROOT, spawnNode } from './node-process.js';
import { runningNodePid, sandboxOfNode, stopProcess } from './node-pid-file.js';
import { freePort } from './free-port.js';
import { firstRpcInterface, nodeDirs, nodeNumber, sandboxNodeConfig } from './sandbox-nodes.js';
import { devAccounts } from '../ethereum/dev-accounts.js';
import { HTTP_LIMITS_DEFAULT, JWT_KEY_REFRESH_INTERVAL_S_DEFAULT, MAX_BODY_BYTES_MAX, MAX_BODY_BYTES_MIN, SNAPSHOT_TX_COUNT_DEFAULT } from '../node/node-config.js';
import { CocoClient } from '../client/coco-client.js';
import { makeDirectory } from '../node/make-directory.js';

export const SANDBOX_USAGE = `Usage: coco sandbox [options]

Starts a local Coco service and opens it, like CCF's sandbox.sh.
  --port P              client port of the first node (default 8000); 0 picks free ports, each
                        claimed in $TMPDIR/coco-port-claims for 30 min so no other sandbox gets it
  --workspace DIR       where keys, ledger and logs go (default ./workspace)
  --members N           initial members, each with an encryption key (default 1)
  --users N             users to add (default 1)
  --app DIR|FILE        application bundle to deploy: bundle.json or a directory with app.json and
                        src/, or with bundle.json, not both (default: the logging sample)
  --constitution FILE   constitution file; repeat to concatenate several (default: Coco's)
  --snapshot-tx-interval N
                        snapshot every N transactions (default 10000, CCF's); each node keeps
                        its 3 newest committed snapshots
  --jwt-key-refresh-interval-s S
                        how often the primary fetches the keys of JWT issuers set with
                        auto_refresh (default 1800, CCF's)
  --nodes N             number of nodes (default 3), on consecutive client ports from --port;
                        their node-to-node ports follow the client ports
  --max-http-body-size BYTES
                        largest request body each node accepts (default 1048576, CCF's); an app
                        bundle is proposed in one request, so a large one needs more
  --ethereum-allow-unprotected-transactions
                        the new service accepts Ethereum transactions signed without a chain id
                        (ethereum.allow_unprotected_transactions: the presigned CREATE2 deployer
                        Foundry uses, ERC-1820, Multicall3; docs/ethereum.md)
  --recover             disaster recovery of the workspace's service, as if its nodes were lost
                        for good (CCF's sandbox.sh --recover): their directories move to
                        previous_service_<n>/, a new node 0 recovers the longest committed ledger
                        under a new service identity, the members pass transition_service_to_open
                        and submit their recovery shares, and the other nodes join it anew,
                        each with the settings and ports of the lost one (other flags are ignored)
Stop it with Ctrl-C.
`;

/** A sandbox under load would otherwise add a snapshot of its whole state every few seconds, for good. */
const SNAPSHOTS_KEPT = 3;
/** The shell's status for a command ended by Ctrl-C (128 + SIGINT). */
const INTERRUPTED_EXIT_CODE = 130;
const DEFAULT_CONSTITUTION = ['actions.js', 'validate.js', 'resolve.js', 'apply.js'].map((f) => join(PACKAGE_ROOT, 'constitution', 'default', f));
const DEFAULT_APP = join(PACKAGE_ROOT, 'samples', 'logging', 'dist', 'bundle.json');
/** The logging sample's endpoint the banner's commands use, under /app. */
const LOGGING_SAMPLE_PATH = '/log/private';

export interface SandboxOptions {
  nodes: number;
  /** CCF's --max-http-body-size: each node's http.max_body_size. */
  maxHttpBodySize: number;
  snapshotTxInterval: number;
  /** CCF's --jwt-key-refresh-interval-s: how often the primary fetches auto_refresh issuers' keys. */
  jwtKeyRefreshIntervalS: number;
  port: number;
  workspace: string;
  members: number;
  users: number;
  app: string;
  constitution: string[];
  /** The flags the command line gave (a restarted workspace keeps its own settings: it says which it ignored). */
  given: ReadonlySet<string>;
  /** Recover the workspace's service from its ledgers (CCF's --recover) rather than restart its nodes. */
  recover: boolean;
  /** The new service's ethereum.allow_unprotected_transactions. */
  ethereumAllowUnprotectedTransactions: boolean;
}

function count(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new CocoError('UsageError', `--${name} takes a whole number from ${min} to ${max}`);
  return n;
}

/** An empty --workspace (an unset shell variable, say) would resolve to the current directory and fill it. */
function workspaceOption(value: string | undefined): string {
  if (value === '') throw new CocoError('UsageError', '--workspace takes a directory, not an empty string (the default is ./workspace)');
  return resolve(value ?? 'workspace');
}

export function parseSandboxArgs(args: string[]): SandboxOptions | 'help' {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      workspace: { type: 'string' },
      members: { type: 'string' },
      users: { type: 'string' },
      app: { type: 'string' },
      constitution: { type: 'string', multiple: true },
      'snapshot-tx-interval': { type: 'string' },
      'jwt-key-refresh-interval-s': { type: 'string' },
      nodes: { type: 'string' },
      'max-http-body-size': { type: 'string' },
      recover: { type: 'boolean' },
      'ethereum-allow-unprotected-transactions': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  return {
    nodes: count(values.nodes, 'nodes', 3, 1, 15),
    maxHttpBodySize: count(values['max-http-body-size'], 'max-http-body-size', HTTP_LIMITS_DEFAULT.maxBodyBytes, MAX_BODY_BYTES_MIN, MAX_BODY_BYTES_MAX),
    snapshotTxInterval: count(values['snapshot-tx-interval'], 'snapshot-tx-interval', SNAPSHOT_TX_COUNT_DEFAULT, 2, 1_000_000_000),
    jwtKeyRefreshIntervalS: count(values['jwt-key-refresh-interval-s'], 'jwt-key-refresh-interval-s', JWT_KEY_REFRESH_INTERVAL_S_DEFAULT, 1, 7 * 24 * 3600),
    port: count(values.port, 'port', 8000, 0, 65535),
    workspace: workspaceOption(values.workspace),
    members: count(values.members, 'members', 1, 1, 16),
    users: count(values.users, 'users', 1, 0, 64),
    app: resolve(values.app ?? DEFAULT_APP),
    constitution: (values.constitution ?? DEFAULT_CONSTITUTION).map((f) => resolve(f)),
    given: new Set(Object.keys(values).filter((name) => name !== 'recover' && values[name as keyof typeof values] !== undefined)),
    recover: values.recover === true,
    ethereumAllowUnprotectedTransactions: values['ethereum-allow-unprotected-transactions'] === true,
  };
}

/** Flags that shape only a new network: its genesis, or the configurations written for its nodes. */
const GENESIS_FLAGS = ['members', 'users', 'app', 'constitution', 'ethereum-allow-unprotected-transactions'];

/**
 * The flags given that a restart of the workspace's nodes does not apply: those that differ from
 * what the nodes' configurations say, and those that shape only a new network.
 */
function ignoredOnRestart(options: SandboxOptions, dirs: string[]): string[] {
  const config = sandboxNodeConfig(dirs[0]!);
  const first = config && firstRpcInterface(config);
  const differs: Record<string, boolean> = {
    nodes: options.nodes !== dirs.length,
    port: options.port !== 0 && options.port !== first?.bindAddress.port,
    'snapshot-tx-interval': options.snapshotTxInterval !== config?.snapshots.txCount,
    'jwt-key-refresh-interval-s': options.jwtKeyRefreshIntervalS * 1000 !== config?.jwtKeyRefreshIntervalMs,
    'max-http-body-size': options.maxHttpBodySize !== first?.http.maxBodyBytes,
  };
  return [...options.given].filter((flag) => differs[flag] === true || GENESIS_FLAGS.includes(flag)).map((flag) => `--${flag}`);
}

function ensureIdentity(dir: string, name: string, encryptionKey: boolean): { certPem: string; keyPem: string } {
  if (!existsSync(join(dir, `${name}_cert.pem`))) writeIdentity({ name, curve: 'P-384', encryptionKey, dir });
  return { certPem: readFileSync(join(dir, `${name}_cert.pem`), 'utf8'), keyPem: readFileSync(join(dir, `${name}_privk.pem`), 'utf8') };
}

export interface SandboxNode {
  url: string;
  dir: string;
  child: ChildProcess;
}

export interface RunningSandbox {
  url: string;
  workspace: string;
  common: string;
  nodes: SandboxNode[];
  /** Milliseconds from the start until the service was open (or restarted). */
  startupMs: number;
  /** The memory allocator the nodes run with. */
  allocator: Allocator;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

async function ports(first: number, count: number): Promise<number[]> {
  if (first !== 0) {
    if (first + count > 65536) throw new CocoError('UsageError', `--port ${first} leaves no room for ${count} ports`);
    return Array.from({ length: count }, (_, i) => first + i);
  }
  const chosen: number[] = [];
  while (chosen.length < count) {
    const port = await freePort(HOST);
    if (!chosen.includes(port)) chosen.push(port);
  }
  return chosen;
}

/** The validity of the sandbox's service and node certificates: the most the default constitution allows. */
const SANDBOX_CERTIFICATE_VALIDITY_DAYS = 365;

function nodeConfig(common: string, options: SandboxOptions, rpcPort: number, nodeToNodePort: number, command: Record<string, unknown>): Record<string, unknown> {
  return {
    network: {
      rpc_interfaces: { primary_rpc_interface: { bind_address: `${HOST}:${rpcPort}`, enabled_operator_features: ['SnapshotRead', 'LedgerChunkRead'] } },
      node_to_node_interface: { bind_address: `${HOST}:${nodeToNodePort}` },
    },
    ledger: { directory: 'ledger' },
    snapshots: { directory: 'snapshots', tx_count: options.snapshotTxInterval },
    files_cleanup: { max_snapshots: SNAPSHOTS_KEPT },
    jwt: { key_refresh_interval_s: options.jwtKeyRefreshIntervalS },
    http: { max_body_size: options.maxHttpBodySize },
    ethereum: {
      genesis_accounts: devAccounts().map((a) => ({ address: a.address, balance: a.balance.toString() })),
      ...(options.ethereumAllowUnprotectedTransactions && { allow_unprotected_transactions: true }),
    },
    output_files: { pid_file: 'node.pid' },
    // A development network may run for days: CCF's 1-day certificates would have expired under it.
    node_certificate: { initial_validity_days: SANDBOX_CERTIFICATE_VALIDITY_DAYS },
    command: { service_certificate_file: join(common, 'service_cert.pem'), ...command },
  };
}

/**
 * Creates the workspace, starts the nodes and opens the service; `step` reports progress. Once
 * `signal` aborts (Ctrl-C), no other node starts, those started or starting are stopped, and it
 * rejects once they have exited.
 */
export async function startSandbox(options: SandboxOptions, step: (text: string) => void, signal: AbortSignal = new AbortController().signal): Promise<RunningSandbox> {
  const startedAt = Date.now();
  // Every node starts with it: a COCO_ALLOCATOR that cannot be had is refused before the workspace is made.
  const allocator = nodeAllocator();
  const common = join(options.workspace, 'sandbox_common');
  const nodeDir = (i: number) => join(options.workspace, `sandbox_${i}`);
  const ledgerDir = join(nodeDir(0), 'ledger');
  // Checked before the workspace is made: a mistyped --workspace with --recover is left uncreated (QA).
  if (options.recover && !existsSync(options.workspace)) {
    throw new CocoError('LedgerMissing', `--recover recovers the service whose ledgers the workspace holds, but ${options.workspace} does not exist: is --workspace the directory of the sandbox to recover?`);
  }
  createWorkspace(options.workspace, common);
  refuseIfRunning(options.workspace);
  const unfinishedRecovery = readRecoveryPlan(options.workspace);
  if (options.recover) {
    if (unfinishedRecovery === undefined && !holdsLedger(ledgerDir)) throw new CocoError('LedgerMissing', `--recover recovers the service whose ledgers ${options.workspace} holds, but ${ledgerDir} holds none: nothing to recover`);
    const ignored = [...options.given].filter((flag) => flag !== 'workspace' && !(flag === 'port' && options.port === 0)).map((flag) => `--${flag}`);
    if (ignored.length > 0) step(`warning: ${ignored.join(', ')} ignored: --recover starts the recovered service's nodes with the settings and ports of the lost ones (sandbox_<i>/config.json)`);
    const nodes = await recoverWorkspace(options.workspace, common, step, signal);
    return sandboxOf(options, common, nodes, startedAt, allocator, step);
  }
  if (unfinishedRecovery !== undefined) throw unfinishedRecoveryError(options.workspace, unfinishedRecovery);
  if (holdsLedger(ledgerDir)) {
    // An earlier sandbox: restart every node from its ledger, with its identities and config.
    if (ledgerOpenedService(ledgerDir) === false) throw unfinishedWorkspaceError(options.workspace, common);
    const dirs = nodeDirs(options.workspace);
    for (const dir of dirs) {
      if (!existsSync(join(dir, 'config.json'))) throw new CocoError('SandboxExists', `${options.workspace} holds a ledger but no ${join(dir, 'config.json')}; remove the workspace to start afresh`);
    }
    const ignored = ignoredOnRestart(options, dirs);
    if (ignored.length > 0) {
      step(`warning: ${ignored.join(', ')} ignored: ${options.workspace} already holds a network, restarted as it was created (its nodes' settings are in sandbox_<i>/config.json); pass another --workspace for a new network`);
    }
    step(`restarting ${dirs.length} node(s) from their ledgers`);
    const nodes = await restartNodes(dirs, options.workspace, step, signal);
    step('waiting for the nodes to elect a primary');
    let serving: SandboxNode[];
    try {
      serving = await waitForPrimary(nodes, readFileSync(join(common, 'service_cert.pem'), 'utf8'), options.workspace, signal);
    } catch (error) {
      await Promise.all(nodes.map((node) => stopNode(node)));
      throw error;
    }
    return sandboxOf(options, common, serving, startedAt, allocator, step);
  }
  // Before the identities: a bundle that cannot be deployed, or a constitution file that cannot be
  // read, leaves no half-made workspace.
  const app = await loadCheckedAppBundle(options.app);
  for (const file of options.constitution) readInputFile(file, 'constitution file (--constitution)');
  recordFirstStartFailure(common, undefined);
  step('creating identities');
  writeFileSync(
    join(common, 'ethereum_accounts.json'),
    `${JSON.stringify(devAccounts().map((a) => ({ address: a.address, private_key: a.privateKey, balance_wei: a.balance.toString() })), null, 2)}\n`,
  );
  const members = Array.from({ length: options.members }, (_, i) => ensureIdentity(common, `member${i}`, true));
  const users = Array.from({ length: options.users }, (_, i) => ensureIdentity(common, `user${i}`, false));
  const [rpcPorts, nodeToNodePorts] = await (async () => {
    const all = await ports(options.port, options.nodes * 2);
    return [all.slice(0, options.nodes), all.slice(options.nodes)];
  })();
  const nodes: SandboxNode[] = [];
  const start = async (i: number): Promise<SandboxNode> => {
    signal.throwIfAborted();
    makeDirectory(nodeDir(i));
    const command = i === 0
      ? {
          type: 'Start',
          start: {
            members: members.map((_, m) => ({ certificate_file: join(common, `member${m}_cert.pem`), encryption_public_key_file: join(common, `member${m}_enc_pubk.pem`) })),
            constitution_files: options.constitution,
            initial_service_certificate_validity_days: SANDBOX_CERTIFICATE_VALIDITY_DAYS,
          },
        }
      : { type: 'Join', join: { target_rpc_address: `${HOST}:${rpcPorts[0]}` } };
    writeFileSync(join(nodeDir(i), 'config.json'), JSON.stringify(nodeConfig(common, options, rpcPorts[i]!, nodeToNodePorts[i]!, command), null, 2));
    step(i === 0 ? 'starting node 0 (a new service)' : `starting node ${i} (joining)`);
    return startNode(nodeDir(i), signal);
  };
  // Opening the service waits on the nodes: stopped, they end the wait at once.
  const stopStarted = () => void Promise.all(nodes.map((node) => stopNode(node)));
  signal.addEventListener('abort', stopStarted, { once: true });
  try {
    nodes.push(await start(0));
    // The others join together: while the service is opening, each is trusted as soon as it asks.
    nodes.push(...(await startTogether(Array.from({ length: options.nodes - 1 }, (_, i) => () => start(i + 1)))));
    signal.throwIfAborted();
    await openService({ url: nodes[0]!.url, serviceCertPem: readFileSync(join(common, 'service_cert.pem'), 'utf8'), members, users, app, onProgress: step });
  } catch (failure) {
    await Promise.all(nodes.map((node) => stopNode(node)));
    const error: unknown = signal.aborted ? signal.reason : failure;
    // A node that wrote its ledger leaves a service that never opened: a restart cannot finish it.
    if (!(error instanceof CocoError) || !holdsLedger(ledgerDir)) throw error;
    recordFirstStartFailure(common, error.message);
    if (error.code === 'RequestBodyTooLarge') {
      const reason = `${error.message}; the proposal deploying ${options.app} is too large for the nodes`;
      throw new CocoError('AppBundleTooLarge', firstStartUnfinished(options.workspace, reason, ` with --max-http-body-size BYTES above ${options.maxHttpBodySize}`), { cause: error });
    }
    throw new CocoError(error.code, firstStartUnfinished(options.workspace, error.message), { cause: error });
  } finally {
    signal.removeEventListener('abort', stopStarted);
  }
  return sandboxOf(options, common, nodes, startedAt, allocator, step);
}

const PRIMARY_WAIT_MS = 60_000;
/** How long joiners of a recovered service may take to be trusted and serve. */
const JOIN_AFTER_RECOVERY_MS = 120_000;

/**
 * CCF's sandbox --recover, on this workspace: its node directories move aside to
 * previous_service_<n>/ (with the previous service certificate), a new node 0 (same ports)
 * recovers a copy of the longest committed ledger, the members open the recovered service with
 * their shares, and new nodes join it in the other nodes' places, trusted by the members. A
 * recovery the workspace records as unfinished (interrupted) is finished: its attempt set aside, the
 * recovery starts again from the previous service's ledgers (sandbox-recovery-plan.ts).
 */
async function recoverWorkspace(workspace: string, common: string, step: (text: string) => void, signal: AbortSignal): Promise<SandboxNode[]> {
  const unfinished = readRecoveryPlan(workspace);
  const plan = unfinished ?? planRecovery(workspace, common);
  if (unfinished !== undefined) step(`finishing the recovery begun earlier on this workspace (the previous service's nodes are in ${plan.previous})`);
  const previousCertFile = previousCertificateFile(plan);
  const recoverCommand = { type: 'Recover', recover: { previous_service_identity_file: previousCertFile, initial_service_certificate_validity_days: SANDBOX_CERTIFICATE_VALIDITY_DAYS } };
  const { recovering, moved, setAside } = prepareRecoveringNode(workspace, common, plan, recoverCommand);
  if (moved) step(`the previous service's nodes moved to ${plan.previous}`);
  if (setAside !== undefined) step(`the interrupted attempt's nodes set aside in ${setAside}: recovering again from the previous service's ledgers`);
  const beginning =
    plan.beginning !== undefined
      ? `, after the chunks before it of node ${nodeNumber(plan.beginning)} (node ${nodeNumber(plan.source)} joined from a snapshot)`
      : recoversFromSnapshot(plan)
        ? `, from its latest snapshot (every node joined from a snapshot: none holds the ledger from seqno 1)`
        : '';
  step(`recovering the ledger of node ${nodeNumber(plan.source)} (committed to seqno ${plan.committedSeqno})${beginning}`);
  step('starting node 0 (recovering the service)');
  const nodes = [await startNode(recovering, signal)];
  try {
    const serviceCertPem = readFileSync(join(common, 'service_cert.pem'), 'utf8');
    const members = sandboxMembers(common);
    await recoverService({ url: nodes[0]!.url, serviceCertPem, previousServiceCertPem: readFileSync(previousCertFile, 'utf8'), members, onProgress: step });
    const target = sandboxNodeConfig(recovering)!;
    const joinCommand = { type: 'Join', join: { target_rpc_address: firstRpcInterface(target)!.publishedAddress } };
    const joiners = plan.nodes.slice(1).map((name) => {
      const joining = join(workspace, name);
      makeDirectory(joining);
      writeFileSync(join(joining, 'config.json'), JSON.stringify(previousConfigWith(plan, common, name, joinCommand), null, 2));
      step(`starting node ${nodeNumber(name)} (joining the recovered service)`);
      return () => startNode(joining, signal);
    });
    // Joiners of an open service wait Pending: members trust them while they start.
    const [joined] = await Promise.all([
      startTogether(joiners),
      trustJoiningNodes({ url: nodes[0]!.url, serviceCertPem, members, expected: plan.nodes.length, timeoutMs: JOIN_AFTER_RECOVERY_MS, onProgress: step }),
    ]);
    nodes.push(...joined);
  } catch (error) {
    await Promise.all(nodes.map((node) => stopNode(node)));
    await stopWorkspaceNodes(workspace);
    throw error;
  }
  finishRecoveryPlan(workspace);
  return nodes;
}

/** The workspace's members, member0 first, with their encryption keys: as many as sandbox_common holds. */
function sandboxMembers(common: string): RecoveringMember[] {
  const members: RecoveringMember[] = [];
  for (let i = 0; existsSync(join(common, `member${i}_cert.pem`)); i++) {
    const read = (file: string) => readFileSync(join(common, file), 'utf8');
    const encryptionKey = join(common, `member${i}_enc_privk.pem`);
    members.push({ certPem: read(`member${i}_cert.pem`), keyPem: read(`member${i}_privk.pem`), ...(existsSync(encryptionKey) && { encryptionKeyPem: read(`member${i}_enc_privk.pem`) }) });
  }
  return members;
}

/** Creates the workspace and its sandbox_common (or finds them), writable; a CocoError says why not. */
function createWorkspace(workspace: string, common: string): void {
  try {
    makeDirectory(common);
    accessSync(common, constants.W_OK);
  } catch (cause) {
    const target = danglingLinkTarget(workspace);
    const reason = target === undefined ? fileErrorReason(cause) : `it is a symbolic link to ${target}, which does not exist`;
    throw new CocoError('WriteFailed', `cannot create workspace ${workspace}: ${reason}; pass another --workspace`, { cause });
  }
}

/** Where `path` links to, if it is a symbolic link to nothing. */
function danglingLinkTarget(path: string): string | undefined {
  try {
    return existsSync(path) ? undefined : readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** A second network on the same identities and ports would fight the first for its peers. */
function refuseIfRunning(workspace: string): void {
  const running = nodeDirs(workspace).flatMap((dir) => {
    const pid = runningNodePid(dir);
    return pid === undefined ? [] : [{ dir, pid }];
  });
  if (running.length === 0) return;
  // Killing a node alone would leave its sandbox running (and restarting nothing): name the sandbox.
  const sandboxes = [...new Set(running.map(({ pid }) => sandboxOfNode(pid)))];
  const sandbox = sandboxes.length === 1 ? sandboxes[0] : undefined;
  const stop = sandbox !== undefined ? `stop the sandbox that runs them first (Ctrl-C where it runs, or kill ${sandbox})` : `stop them first (Ctrl-C where their sandbox runs, or kill ${running.map(({ pid }) => pid).join(' ')})`;
  const nodes = running.map(({ dir, pid }) => `${dir} (pid ${pid})`).join(', ');
  throw new CocoError('WorkspaceInUse', `${workspace} is in use: ${running.length === 1 ? 'a node still runs' : 'nodes still run'} from ${nodes}; ${stop}, or pass another --workspace`);
}

/**
 * Resolves once one of the restarted nodes knows a primary (they held an election), with that node
 * first: the sandbox's URL. A retired node that has yet to learn so from the others knows none.
 */
async function waitForPrimary(nodes: SandboxNode[], serviceCertPem: string, workspace: string, signal: AbortSignal): Promise<SandboxNode[]> {
  const clients = nodes.map((node) => new CocoClient({ url: node.url, caCertPem: serviceCertPem }));
  const deadline = Date.now() + PRIMARY_WAIT_MS;
  try {
    while (Date.now() < deadline) {
      for (const [i, client] of clients.entries()) {
        signal.throwIfAborted();
        const response = await client.request('GET', '/node/network', { allowError: true }).catch(() => undefined);
        if (response?.status === 200 && response.json<{ primary_id: string | null }>().primary_id !== null) return [nodes[i]!, ...nodes.filter((_, j) => j !== i)];
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new CocoError('NoPrimary', `the restarted nodes elected no primary within ${PRIMARY_WAIT_MS / 1000} s; see ${join(workspace, 'sandbox_<i>', 'err')}`);
  } finally {
    for (const client of clients) client.close();
  }
}

/** Whether a node refused to start because its own ledger records its retirement from the service. */
function refusedAsRetired(error: unknown): error is CocoError & { cause: CocoError } {
  return error instanceof CocoError && error.cause instanceof CocoError && error.cause.code === 'NodeRetired';
}

/**
 * Restarts the workspace's nodes at once. Those that refuse as retired (governance removed them
 * before the sandbox stopped) are skipped, one line each, and the others run as the service; only
 * if every node is retired does the restart fail, naming each one's retirement. (The node's own
 * advice, to remove its directory, is not repeated: the workspace is restarted from sandbox_0.)
 */
async function restartNodes(dirs: string[], workspace: string, step: (text: string) => void, signal: AbortSignal): Promise<SandboxNode[]> {
  const retired: { node: number; retirement: string }[] = [];
  const nodes = await startTogether(
    dirs.map((dir) => () => startNode(dir, signal)),
    (error, i) => {
      if (!refusedAsRetired(error)) return false;
      // The node's first clause: "this node retired from the service at 2.31".
      retired.push({ node: nodeNumber(dirs[i]!), retirement: error.cause.message.split(':')[0]!.replace(/^this node /, '') });
      return true;
    },
  );
  if (nodes.length === 0) {
    throw new CocoError('NodeRetired', `no node of ${workspace} can restart: ${retired.map((r) => `node ${r.node} ${r.retirement}`).join(', ')}; pass another --workspace (or remove this one) to start a new network`);
  }
  for (const { node, retirement } of retired) step(`node ${node} not restarted: it ${retirement}; the others run the service`);
  return nodes;
}

const processes = new WeakMap<SandboxNode, Awaited<ReturnType<typeof spawnNode>>>();

async function startNode(dir: string, signal: AbortSignal): Promise<SandboxNode> {
  signal.throwIfAborted();
  const out = logFile(join(dir, 'out'));
  const err = logFile(join(dir, 'err'));
  const process = await spawnNode(join(dir, 'config.json'), dir, (chunk, stream) => (stream === 'out' ? out : err).write(chunk), signal);
  const node = { url: process.url, dir, child: process.child };
  processes.set(node, process);
  return node;
}

async function stopNode(node: SandboxNode): Promise<void> {
  await processes.get(node)?.stop();
}

/**
 * Starts the nodes at once; if one cannot start, stops those that did (none is left running) and
 * throws its error, unless `skip` takes that error (then the node is left out).
 */
async function startTogether(starts: (() => Promise<SandboxNode>)[], skip: (error: unknown, i: number) => boolean = () => false): Promise<SandboxNode[]> {
  const outcomes = await Promise.allSettled(starts.map((start) => start()));
  const started = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
  const failed = outcomes.find((outcome, i): outcome is PromiseRejectedResult => outcome.status === 'rejected' && !skip(outcome.reason, i));
  if (failed === undefined) return started;
  await Promise.all(started.map((node) => stopNode(node)));
  throw failed.reason;
}

function sandboxOf(options: SandboxOptions, common: string, nodes: SandboxNode[], startedAt: number, allocator: Allocator, step: (text: string) => void): RunningSandbox {
  // Where `coco gov` and `coco app` find the service by default.
  writeFileSync(join(common, 'service_url'), `${nodes[0]!.url}\n`);
  const startupMs = Date.now() - startedAt;
  step(`network of ${nodes.length} node(s) ready in ${(startupMs / 1000).toFixed(1)} s`);
  return {
    url: nodes[0]!.url,
    workspace: options.workspace,
    common,
    nodes,
    startupMs,
    allocator,
    stop: async () => {
      await Promise.all(nodes.map((node) => stopNode(node)));
      // A node restarted by hand (as the sandbox says to when one dies) is no child of this one.
      await stopWorkspaceNodes(options.workspace);
    },
  };
}

/** Stops every node of `workspace` whose node.pid names a running process. */
async function stopWorkspaceNodes(workspace: string): Promise<void> {
  await Promise.all(nodeDirs(workspace).flatMap((dir) => runningNodePid(dir) ?? []).map((pid) => stopProcess(pid, NODE_STOP_TIMEOUT_MS)));
}

/** A node's part in consensus: only a Trusted node is a backup (a Pending or Retired one takes no part). */
function roleOf(node: { status: string; primary: boolean }): string {
  return node.primary ? 'primary' : node.status === 'Trusted' ? 'backup' : '-';
}

/** Whether the node at `url` answers GET /node/state within a second. */
async function answers(url: string, caCertPem: string): Promise<boolean> {
  const client = new CocoClient({ url, caCertPem, requestTimeoutMs: 1000 });
  try {
    await client.request('GET', '/node/state');
    return true;
  } catch {
    return false;
  } finally {
    client.close();
  }
}

/** What the printout says of a service that is not open (a recovery begun by hand, restarted as it was). */
function serviceStatusNote(status: string): string {
  if (status === 'Open') return status;
  return `${status}: the service is not open (a recovery not finished: members pass transition_service_to_open and submit their recovery shares, docs/node-config.md "Disaster recovery")`;
}

/**
 * The network as node 0 sees it (one line per node with its role and address), the service's
 * status, and whether the deployed app is the logging sample, whose commands the banner shows.
 */
async function describeNetwork(sandbox: RunningSandbox): Promise<{ nodes: string; loggingApp: boolean; status: string }> {
  const caCertPem = readFileSync(join(sandbox.common, 'service_cert.pem'), 'utf8');
  const client = new CocoClient({ url: sandbox.url, caCertPem });
  try {
    const { nodes } = (await client.request('GET', '/node/network/nodes')).json<{ nodes: { node_id: string; status: string; primary: boolean; rpc_interfaces: Record<string, { published_address?: string }> }[] }>();
    const { service_status: status } = (await client.request('GET', '/node/network')).json<{ service_status: string }>();
    const api = (await client.request('GET', '/app/api')).json<{ paths?: Record<string, unknown> }>();
    const listed = nodes.map((n) => ({ ...n, url: `https://${Object.values(n.rpc_interfaces)[0]?.published_address ?? '?'}` }));
    const ours = new Set(sandbox.nodes.map((node) => node.url));
    // A node of the service this sandbox did not start (one added by hand) may not be running.
    const down = await Promise.all(listed.map(async (n) => !ours.has(n.url) && n.status === 'Trusted' && !n.primary && !(await answers(n.url, caCertPem))));
    return {
      status: serviceStatusNote(status),
      nodes: listed.map((n, i) => `  ${n.node_id.slice(0, 16)}…  ${(down[i] ? 'down' : roleOf(n)).padEnd(7)}  ${n.status.padEnd(8)} ${n.url}`).join('\n'),
      loggingApp: api.paths?.[LOGGING_SAMPLE_PATH] !== undefined,
    };
  } finally {
    client.close();
  }
}

export async function runSandbox(args: string[]): Promise<number> {
  const options = parseSandboxArgs(args);
  if (options === 'help') {
    process.stdout.write(SANDBOX_USAGE);
    return 0;
  }
  const step = (text: string) => process.stderr.write(`coco sandbox: ${text}\n`);
  // Ctrl-C or SIGTERM ends the sandbox, also while the network starts: the default would end this
  // process and leave the nodes it started running. Then the start stops the nodes it started or is
  // starting (its own children: one still starting has no node.pid yet), and starts no other.
  let started = false;
  let stopRequested = false;
  let requestStop = () => {};
  const stopping = new Promise<void>((resolve) => (requestStop = resolve));
  const startUp = new AbortController();
  const interrupt = () => {
    if (stopRequested) return;
    stopRequested = true;
    requestStop();
    if (started) return;
    step('interrupted: stopping the nodes started so far');
    startUp.abort(new CocoError('Interrupted', 'interrupted (Ctrl-C or SIGTERM) while the network started'));
  };
  process.on('SIGINT', interrupt).on('SIGTERM', interrupt);
  let sandbox: RunningSandbox;
  try {
    sandbox = await startSandbox(options, step, startUp.signal);
  } catch (error) {
    if (!stopRequested) throw error;
    step('stopped');
    return INTERRUPTED_EXIT_CODE;
  }
  started = true;
  if (stopRequested) {
    await sandbox.stop();
    step('stopped');
    return INTERRUPTED_EXIT_CODE;
  }
  const { url, common } = sandbox;
  const network = await describeNetwork(sandbox).catch((error: Error) => ({ nodes: `  (cannot list the nodes: ${error.message})`, loggingApp: false, status: 'unknown' }));
  const cert = (name: string) => join(common, name);
  const identity = `--cacert ${cert('service_cert.pem')} --cert ${cert('user0_cert.pem')} --key ${cert('user0_privk.pem')}`;
  const tryIt = network.loggingApp
    ? `Write and read a message as user0 (any node: -L follows a backup's redirect to the primary; -i shows the answer's x-ms-ccf-transaction-id):
  curl -L ${url}/app${LOGGING_SAMPLE_PATH} ${identity} -i -H "Content-Type: application/json" --data-binary '{"id": 42, "msg": "hello"}'
  curl "${url}/app${LOGGING_SAMPLE_PATH}?id=42" ${identity}`
    : `The deployed app's endpoints, as user0: curl ${url}/app/api ${identity}`;
  console.log(`
Coco sandbox is running: ${url}
  workspace:          ${options.workspace}
  service status:     ${network.status}
  service cert:       ${cert('service_cert.pem')}
  node logs:          ${join(options.workspace, 'sandbox_<i>', 'out')}, .../err
  started in:         ${(sandbox.startupMs / 1000).toFixed(1)} s
  allocator:          ${describeAllocator(sandbox.allocator)}

Nodes:
${network.nodes}

${tryIt}

Ethereum JSON-RPC as user0 (any node: a backup forwards transactions to the primary): ${url}/app/ethereum
  funded development accounts (addresses and private keys): ${cert('ethereum_accounts.json')}
  ethers.js v6:
    const agent = new https.Agent({ ca: fs.readFileSync('${cert('service_cert.pem')}'), cert: fs.readFileSync('${cert('user0_cert.pem')}'), key: fs.readFileSync('${cert('user0_privk.pem')}') });
    const request = new ethers.FetchRequest('${url}/app/ethereum');
    request.getUrlFunc = ethers.FetchRequest.createGetUrlFunc({ agent });
    const provider = new ethers.JsonRpcProvider(request, undefined, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 50 });

Press Ctrl-C to stop.`);
  // Signal listeners do not keep Node's event loop alive: once every node this process started has
  // exited, only this timer keeps the sandbox running to stop the nodes restarted by hand on Ctrl-C.
  const keepRunning = setInterval(() => undefined, 2 ** 31 - 1);
  // A node that dies leaves the others running (that is what the network is for); say how to bring it back.
  sandbox.nodes.forEach((node) =>
    node.child.once('exit', (code, signal) => {
      if (stopRequested) return;
      step(`node ${nodeNumber(node.dir)} exited (${signal ?? code}); the others go on. Restart it with: cd ${node.dir} && ${process.execPath} ${join(PACKAGE_ROOT, 'bin', 'coco.js')} node --config config.json >>out 2>>err &` + ' (its log goes on in out and err there)');
    }),
  );
  await stopping;
  clearInterval(keepRunning);
  step('stopping');
  await sandbox.stop();
  step('stopped');
  return 0;
}
