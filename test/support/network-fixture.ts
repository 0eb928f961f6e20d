// An N-node Coco network of real `coco node` processes for fault tests, started without the
// sandbox: node 0 starts the service, the others join it, then member0 opens it with user0 and the
// logging app. Every node's published node-to-node address is a FaultProxy in front of its real
// listener, so every link into a node passes its proxy; the proxy learns which node dialled each
// connection from /proc, so one link, one direction of it, or a whole node can be cut. Cleans up
// every process, proxy, client and the temporary directory on close().

import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/cli/free-port.js';
import { writeIdentity } from '../../src/cli/keygen.js';
import { spawnNode, type NodeProcess } from '../../src/cli/node-process.js';
import { parseSandboxArgs, type SandboxOptions } from '../../src/cli/sandbox.js';
import { loadAppBundle } from '../../src/client/app-bundle-files.js';
import { CocoClient } from '../../src/client/coco-client.js';
import { openService } from '../../src/client/open-service.js';
import { waitForCommit } from '../../src/client/transactions.js';
import { parseTxId, type TxId } from '../../src/ledger/tx-id.js';
import { FaultProxy } from './fault-proxy.js';
import { childPidsWithArgument } from './child-processes.js';
import { loopbackSocketOwner } from './socket-owner.js';

const HOST = '127.0.0.1';
const REQUEST_TIMEOUT_MS = 10_000;
/** Elections take one to two election timeouts, and a cut link redials with up to 2 s of backoff. */
const PRIMARY_WAIT_MS = 30_000;
const CONVERGE_WAIT_MS = 30_000;
const POLL_MS = 50;
const OUTPUT_LINES_ON_FAILURE = 20;

export interface NetworkOptions {
  /** Nodes in the network (default 3). */
  nodes?: number;
  /** `consensus` settings of every node, as in the configuration file (e.g. max_uncommitted_tx_count). */
  consensus?: Record<string, number>;
  /** Called before node i first starts: a test may set up faults for its join. */
  beforeStart?: (i: number, network: FaultNetwork) => void;
  /** False: stop once every node runs, before member0 opens the service (default true). */
  open?: boolean;
}

/** What GET /node/consensus says about the node that answers. */
export interface ConsensusView {
  leadershipState: string;
  view: number;
  primaryId: string | undefined;
  /** The active configurations (node IDs), oldest first: two while a reconfiguration commits. */
  configurations: string[][];
}

interface Identity {
  certPem: string;
  keyPem: string;
}

function identity(dir: string, name: string, encryptionKey: boolean): Identity {
  writeIdentity({ name, curve: 'P-384', encryptionKey, dir });
  return { certPem: readFileSync(join(dir, `${name}_cert.pem`), 'utf8'), keyPem: readFileSync(join(dir, `${name}_privk.pem`), 'utf8') };
}

async function distinctFreePorts(count: number, taken: readonly number[]): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await freePort(HOST);
    if (!ports.includes(port) && !taken.includes(port)) ports.push(port);
  }
  return ports;
}

/**
 * The last `count` distinct lines of `text`, in order, each with how often it was printed: a node
 * that redials a cut link prints the same failure every second, which would fill a plain tail.
 */
function distinctTail(text: string, count: number): string {
  const lines = text.split('\n').filter((line) => line !== '');
  const times = new Map<string, number>();
  for (const line of lines) times.set(line, (times.get(line) ?? 0) + 1);
  const last: string[] = [];
  for (let i = lines.length - 1; i >= 0 && last.length < count; i--) {
    if (!last.includes(lines[i]!)) last.push(lines[i]!);
  }
  return last
    .reverse()
    .map((line) => (times.get(line)! > 1 ? `${line} (printed ${times.get(line)} times)` : line))
    .join('\n');
}

export class FaultNetwork {
  /** The node ID of each node, by index. */
  readonly nodeIds: string[] = [];
  private readonly processes: (NodeProcess | undefined)[] = [];
  /** One client per node and redirect setting, kept for the network's life (keep-alive connections). */
  private readonly clients = new Map<string, CocoClient>();
  private serviceCert = '';
  private user: Identity | undefined;

  private constructor(
    readonly dir: string,
    /** The proxy in front of each node's node-to-node listener: every connection into node i passes proxies[i]. */
    readonly proxies: FaultProxy[],
    private readonly rpcPorts: number[],
  ) {}

  /** Starts the nodes one by one, opens the service, and waits until every node has committed the opening. */
  static async start(options: NetworkOptions = {}): Promise<FaultNetwork> {
    const size = options.nodes ?? 3;
    const dir = mkdtempSync(join(tmpdir(), 'coco-faults-'));
    const proxies: FaultProxy[] = [];
    let network: FaultNetwork | undefined;
    try {
      const nodeToNodePorts = await distinctFreePorts(size, []);
      const rpcPorts = await distinctFreePorts(size, nodeToNodePorts);
      network = new FaultNetwork(dir, proxies, rpcPorts);
      const self = network;
      for (const port of nodeToNodePorts) proxies.push(await FaultProxy.start({ target: { host: HOST, port }, identify: (socket) => self.dialler(socket) }));
      await network.launch(options, nodeToNodePorts);
      return network;
    } catch (error) {
      if (network === undefined) {
        for (const proxy of proxies) await proxy.close();
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
      // What the nodes printed explains the failure; it goes with the directory.
      const outputs = network.outputTails();
      await network.close();
      throw new Error(`the network did not start: ${(error as Error).message}\n${outputs}`, { cause: error });
    }
  }

  private async launch(options: NetworkOptions, nodeToNodePorts: number[]): Promise<void> {
    const common = join(this.dir, 'common');
    mkdirSync(common);
    const member = identity(common, 'member0', true);
    this.user = identity(common, 'user0', false);
    // The sandbox's defaults: Coco's default constitution and the logging sample app.
    const defaults = parseSandboxArgs([]) as SandboxOptions;
    for (let i = 0; i < this.size; i++) {
      const command =
        i === 0
          ? {
              type: 'Start',
              start: {
                members: [{ certificate_file: join(common, 'member0_cert.pem'), encryption_public_key_file: join(common, 'member0_enc_pubk.pem') }],
                constitution_files: defaults.constitution,
              },
            }
          : { type: 'Join', join: { target_rpc_address: `${HOST}:${this.rpcPorts[0]}` } };
      const config = {
        network: {
          rpc_interfaces: { primary_rpc_interface: { bind_address: `${HOST}:${this.rpcPorts[i]}`, enabled_operator_features: ['SnapshotRead', 'LedgerChunkRead'] } },
          node_to_node_interface: { bind_address: `${HOST}:${nodeToNodePorts[i]}`, published_address: this.proxies[i]!.address },
        },
        ...(options.consensus && { consensus: options.consensus }),
        ledger: { directory: 'ledger' },
        output_files: { pid_file: 'node.pid' },
        command: { service_certificate_file: join(common, 'service_cert.pem'), ...command },
      };
      mkdirSync(this.nodeDir(i));
      writeFileSync(this.configPath(i), JSON.stringify(config, null, 2));
      options.beforeStart?.(i, this);
      await this.restart(i);
    }
    this.serviceCert = readFileSync(join(common, 'service_cert.pem'), 'utf8');
    for (let i = 0; i < this.size; i++) {
      // /node/state answers from the node itself: a joiner need not have replicated the nodes table yet.
      this.nodeIds.push((await this.client(i).request('GET', '/node/state')).json<{ node_id: string }>().node_id);
    }
    if (options.open === false) return;
    await openService({ url: this.url(0), serviceCertPem: this.serviceCert, members: [member], users: [this.user], app: loadAppBundle(defaults.app) });
    await this.converged();
  }

  get size(): number {
    return this.proxies.length;
  }

  get serviceCertPem(): string {
    return this.serviceCert;
  }

  nodeDir(i: number): string {
    return join(this.dir, `node${i}`);
  }

  configPath(i: number): string {
    return join(this.nodeDir(i), 'config.json');
  }

  ledgerDirectory(i: number): string {
    return join(this.nodeDir(i), 'ledger');
  }

  /** `https://127.0.0.1:port` of node i's RPC interface (not proxied). */
  url(i: number): string {
    return `https://${HOST}:${this.rpcPorts[i]}`;
  }

  /** The last lines each node printed: what explains a failure, gone once close() removes the directory. */
  outputTails(): string {
    return this.proxies.map((_, i) => `node ${i}:\n${distinctTail(this.output(i), OUTPUT_LINES_ON_FAILURE)}`).join('\n');
  }

  /** Runs a test's body; if it fails, the error carries the tail of what each node printed. */
  async explained<T>(body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${this.outputTails()}`, { cause: error });
    }
  }

  /** Everything node i printed, over all its runs. */
  output(i: number): string {
    try {
      return readFileSync(join(this.nodeDir(i), 'out.log'), 'utf8');
    } catch {
      return '';
    }
  }

  pid(i: number): number | undefined {
    return this.processes[i]?.child.pid;
  }

  isRunning(i: number): boolean {
    const child = this.processes[i]?.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  get running(): number[] {
    return Array.from({ length: this.size }, (_, i) => i).filter((i) => this.isRunning(i));
  }

  /** The client of node i as user0; with `redirectsMax: 0` a redirect is its own answer (a CocoRequestError unless allowError). Closed by close(). */
  client(i: number, options: { redirectsMax?: number } = {}): CocoClient {
    const key = `${i}/${options.redirectsMax ?? 'default'}`;
    let client = this.clients.get(key);
    if (client === undefined) {
      client = new CocoClient({ url: this.url(i), caCertPem: this.serviceCert, certPem: this.user!.certPem, keyPem: this.user!.keyPem, requestTimeoutMs: REQUEST_TIMEOUT_MS, ...options });
      this.clients.set(key, client);
    }
    return client;
  }

  async consensus(i: number): Promise<ConsensusView> {
    type Details = { leadership_state: string; current_view: number; primary_id: string | null; configs: { nodes: Record<string, unknown> }[] };
    const details = (await this.client(i).request('GET', '/node/consensus')).json<{ details: Details }>().details;
    return {
      leadershipState: details.leadership_state,
      view: details.current_view,
      primaryId: details.primary_id ?? undefined,
      configurations: details.configs.map((config) => Object.keys(config.nodes)),
    };
  }

  /** Starts node i again with its configuration (from its ledger if it has one); rejects if it exits instead of serving. */
  async restart(i: number): Promise<void> {
    if (this.isRunning(i)) throw new Error(`node ${i} is running; kill or stop it first`);
    const log = join(this.nodeDir(i), 'out.log');
    this.processes[i] = undefined;
    try {
      this.processes[i] = await spawnNode(this.configPath(i), this.nodeDir(i), (chunk) => appendFileSync(log, chunk));
    } catch (error) {
      // spawnNode gives up after its start timeout without ending the process; end it here.
      for (const pid of childPidsWithArgument(this.configPath(i))) process.kill(pid, 'SIGKILL');
      throw error;
    }
  }

  /** kill -9 of node i. */
  async kill(i: number): Promise<void> {
    const child = this.processes[i]?.child;
    if (child === undefined || !this.isRunning(i)) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** A clean stop of node i (SIGTERM: a last signature, the ledger synced). */
  async stop(i: number): Promise<void> {
    await this.processes[i]?.stop();
  }

  /**
   * The node that leads, among `among` (default: the running nodes): one that says it is Leader, in
   * the highest view if several do (a cut-off old primary may not know yet). Waits for an election.
   */
  async primary(among: readonly number[] = this.running): Promise<number> {
    const deadline = Date.now() + PRIMARY_WAIT_MS;
    let seen = '';
    for (;;) {
      const leaders: { i: number; view: number }[] = [];
      const states: string[] = [];
      for (const i of among) {
        try {
          const state = await this.consensus(i);
          states.push(`node ${i}: ${state.leadershipState} in view ${state.view}`);
          if (state.leadershipState === 'Leader') leaders.push({ i, view: state.view });
        } catch (error) {
          states.push(`node ${i}: ${(error as Error).message}`);
        }
      }
      seen = states.join('; ');
      if (leaders.length > 0) return leaders.reduce((a, b) => (b.view > a.view ? b : a)).i;
      if (Date.now() > deadline) throw new Error(`no primary among nodes ${among.join(', ')} within ${PRIMARY_WAIT_MS} ms (${seen})`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** Waits until every node in `nodes` (default: the running ones) has committed what the primary has; returns that TxID. */
  async converged(nodes: readonly number[] = this.running): Promise<TxId> {
    const primary = await this.primary(nodes);
    const commit = parseTxId((await this.client(primary).request('GET', '/app/commit')).json<{ transaction_id: string }>().transaction_id);
    for (const i of nodes) await waitForCommit(this.client(i), commit, { timeoutMs: CONVERGE_WAIT_MS });
    return commit;
  }

  /** Drops the traffic node `from` sends to node `to` (the connections `from` dials to `to`); the reverse flows on. */
  cut(from: number, to: number): void {
    this.proxies[to]!.partition(String(from));
  }

  /** Cuts node i off from every other node, both ways. */
  isolate(i: number): void {
    this.proxies[i]!.partition();
    for (let j = 0; j < this.size; j++) if (j !== i) this.cut(i, j);
  }

  /** Lifts every cut. */
  heal(): void {
    for (const proxy of this.proxies) proxy.heal();
  }

  /** The index (as a proxy source name) of the node that dialled `socket`, accepted by one of the proxies. */
  private dialler(socket: Socket): string | undefined {
    if (socket.remotePort === undefined || socket.localPort === undefined) return undefined;
    // By command line rather than by handle: a node still starting (joining) dials too.
    const nodeOfPid = new Map<number, number>();
    for (let i = 0; i < this.size; i++) for (const pid of childPidsWithArgument(this.configPath(i))) nodeOfPid.set(pid, i);
    const pid = loopbackSocketOwner(socket.remotePort, socket.localPort, [...nodeOfPid.keys()]);
    return pid === undefined ? undefined : String(nodeOfPid.get(pid));
  }

  /** Stops every node, closes every proxy and client, and removes the directory. */
  async close(): Promise<void> {
    for (const client of this.clients.values()) client.close();
    await Promise.all(this.processes.map((p) => p?.stop()));
    for (const proxy of this.proxies) await proxy.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
