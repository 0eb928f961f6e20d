// The node's configuration file: Coco's own JSON schema, modelled on CCF's cchost configuration
// (network interfaces, ledger, signatures, command.start with members and constitution). Parsing
// checks every field and names the first bad one by its JSON path. Paths are relative to the file.

import { NO_COSE_SIGNATURE_CLAIMS, type CoseSignatureClaims } from './cose-signature-claims.js';
import { dirname, resolve } from 'node:path';
import { CocoError } from '../errors.js';
import { CERTIFICATE_VALIDITY_DAYS_MAX, RECENT_COSE_PROPOSALS_WINDOW_DEFAULT, type GenesisServiceConfiguration } from './genesis.js';
import type { CurveName } from '../crypto/signing.js';
import { HISTORICAL_CACHE_SOFT_LIMIT_BYTES_DEFAULT } from './historical-states.js';
import { HOST_LEVELS, LOG_FORMATS, LOG_SETTINGS_DEFAULT, type LogSettings } from './buffered-log.js';

/** CCF's opt-in operator features of an RPC interface: serving snapshots and ledger chunks. */
export const OPERATOR_FEATURES = ['SnapshotRead', 'LedgerChunkRead'] as const;
export type OperatorFeature = (typeof OPERATOR_FEATURES)[number];

export interface InterfaceAddresses {
  bindAddress: { host: string; port: number };
  publishedAddress: string;
}

export interface RpcInterfaceConfig extends InterfaceAddresses {
  /** Endpoints needing another feature answer 404 on this interface (CCF's enabled_operator_features). */
  enabledOperatorFeatures: ReadonlySet<OperatorFeature>;
  /** CCF's max_open_sessions_soft / _hard: past these, new sessions get a 503, then are refused. */
  sessionCaps: { soft: number; hard: number };
  /** CCF's http_configuration: past these, a request gets 413 or 431 and its connection is closed. */
  http: HttpLimits;
  /** CCF's accepted_endpoints: when set, only endpoints whose whole path one of these matches are served here. */
  acceptedEndpoints?: readonly RegExp[];
}

export interface HttpLimits {
  maxBodyBytes: number;
  /** The longest name or value of one header. */
  maxHeaderBytes: number;
  maxHeadersCount: number;
}

/** CCF's http_configuration defaults (`max_body_size` 1MB, `max_header_size` 16KB, `max_headers_count` 256). */
export const HTTP_LIMITS_DEFAULT: HttpLimits = { maxBodyBytes: 1024 * 1024, maxHeaderBytes: 16 * 1024, maxHeadersCount: 256 };

/** CCF's defaults for `max_open_sessions_soft` / `max_open_sessions_hard`. */
export const MAX_OPEN_SESSIONS_SOFT_DEFAULT = 1000;
export const MAX_OPEN_SESSIONS_HARD_DEFAULT = 1010;
const MAX_OPEN_SESSIONS_LIMIT = 1_000_000;

export interface MemberConfig {
  certificateFile: string;
  encryptionPublicKeyFile: string | undefined;
  dataJsonFile: string | undefined;
}

export interface EthereumNodeConfig {
  /**
   * The service-wide settings where the configuration gives them (undefined where it does not): a
   * new service records them at genesis (defaults filled in), and every node serves the recorded
   * ones (src/ethereum/chain-settings.ts).
   */
  chainId: bigint | undefined;
  blockGasLimit: bigint | undefined;
  publicState: boolean | undefined;
  /** Accept legacy transactions signed without a chain id (pre-EIP-155), as geth's --rpc.allow-unprotected-txs. */
  allowUnprotectedTransactions: boolean | undefined;
  /** The longest one EVM run may hold the node's event loop (per node). */
  maxExecutionMs: number;
  /** Balances the new service starts with (`command.start` only). */
  genesisAccounts: { address: string; balance: bigint }[];
}

export interface JoinConfig {
  /** `host:port` of an RPC interface of a node of the service (a backup redirects to the primary). */
  targetRpcAddress: string;
  retryTimeoutMs: number;
}

export interface NodeConfig {
  rpcInterfaces: Record<string, RpcInterfaceConfig>;
  /** Where other nodes connect for consensus; port 0 picks a free port (a restart then cannot rejoin). */
  nodeToNode: InterfaceAddresses;
  consensus: { messageTimeoutMs: number; electionTimeoutMs: number; maxUncommittedTxCount: number };
  /** Where the node keeps its view and vote across restarts. */
  consensusStateFile: string;
  /** CCF's jwt.key_refresh_interval: how often the primary fetches the keys of auto_refresh issuers. */
  jwtKeyRefreshIntervalMs: number;
  /** CCF's historical_cache_soft_limit: what the states cached for historical queries may keep alive together. */
  historicalCacheSoftLimitBytes: number;
  /** CCF's snapshots.directory, snapshots.tx_count and files_cleanup.max_snapshots (unset: keep all). */
  snapshots: { directory: string; txCount: number; maxSnapshots?: number };
  /** CCF's logging.format and logging.host_level. */
  logging: LogSettings;
  /** The Ethereum adapter: chain ID, block gas limit, where its state lives (service-wide), time limit, genesis allocation. */
  ethereum: EthereumNodeConfig;
  ledgerDirectory: string;
  /** CCF's ledger.read_only_directories: older committed chunks, read and never written. */
  ledgerReadOnlyDirectories: string[];
  /** Where the node seals the ledger secrets and service identity, to restart from its ledger. */
  sealedSecretsFile: string;
  ledgerChunkBytes: number;
  signatureTxCount: number;
  signatureDelayMs: number;
  nodeCertificateValidityDays: number;
  /** Curve of the node and service keys (CCF's node_certificate.curve_id). */
  curve: CurveName;
  pidFile: string | undefined;
  /** Written by a starting node; read (the service to trust) by a joining one. */
  serviceCertificateFile: string;
  /** A new service ('start'), joining the service at `join.targetRpcAddress`, or a disaster recovery of the ledger in `ledgerDirectory`. */
  command: 'start' | 'join' | 'recover';
  join: JoinConfig | undefined;
  recover: RecoverConfig | undefined;
  start: {
    members: MemberConfig[];
    constitutionFiles: string[];
    recoveryThreshold: number;
    serviceConfiguration: GenesisServiceConfiguration;
    serviceCertificateValidityDays: number;
    serviceData: unknown;
    /** CCF's `cose_signatures`: the issuer and subject the service's COSE signatures name. */
    coseSignatures: CoseSignatureClaims;
  };
}

/** CCF's `command.recover`: the previous service's certificate, and the new one's validity. */
export interface RecoverConfig {
  previousServiceIdentityFile: string;
  serviceCertificateValidityDays: number;
}

/** CCF signs every 5,000 transactions or 1 s; Coco signs sooner so a write commits in milliseconds. */
export const SIGNATURE_TX_COUNT_DEFAULT = 5000;
export const SIGNATURE_DELAY_MS_DEFAULT = 5;
export const LEDGER_CHUNK_BYTES_DEFAULT = 5 * 1024 * 1024;
export const MAX_BODY_BYTES_MIN = 1024;
export const MAX_BODY_BYTES_MAX = 64 * 1024 * 1024;
const MAX_HEADER_BYTES_MIN = 1024;
const MAX_HEADER_BYTES_MAX = 1024 * 1024;
const MAX_HEADERS_COUNT_MAX = 10_000;
/** CCF's consensus.message_timeout: the primary's heartbeat. */
export const MESSAGE_TIMEOUT_MS_DEFAULT = 100;
/** Shorter than CCF's 5 s so that a failed primary is replaced within about a second. */
export const ELECTION_TIMEOUT_MS_DEFAULT = 1000;
export const MAX_UNCOMMITTED_TX_COUNT_DEFAULT = 5000;
export const JOIN_RETRY_TIMEOUT_MS_DEFAULT = 1000;
/** The Ethereum chain ID of a new service whose configuration names none. */
export const ETHEREUM_CHAIN_ID_DEFAULT = 4242;
/** Half of the default election timeout: an EVM run never holds a primary long enough to be deposed. */
export const ETHEREUM_MAX_EXECUTION_MS_DEFAULT = 500;
/** CCF's jwt.key_refresh_interval default: 30 minutes. */
export const JWT_KEY_REFRESH_INTERVAL_S_DEFAULT = 1800;

/** CCF's snapshots.tx_count. */
export const SNAPSHOT_TX_COUNT_DEFAULT = 10_000;
/** The largest `historical_cache_soft_limit`: 1 TiB. */
const HISTORICAL_CACHE_SOFT_LIMIT_BYTES_MAX = 2 ** 40;

type Json = Record<string, unknown>;

/** The error of a bad setting: one line, naming it by its JSON path. */
export function invalidConfig(path: string, reason: string): CocoError {
  return new CocoError('InvalidConfig', `configuration ${path}: ${reason}`);
}

class ConfigReader {
  /** Every object read, with the settings read from it: any other key in it is a mistake. */
  readonly #objects: { target: Json; path: string; read: Set<string> }[] = [];

  constructor(private readonly baseDir: string) {}

  fail(path: string, reason: string): never {
    throw invalidConfig(path, reason);
  }

  /** The object at `path`, watched: the settings read from it are recorded for `refuseUnread`. */
  object(value: unknown, path: string): Json {
    if (value === undefined) this.fail(path, `is missing${this.#misspelling(path)}`);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(path, 'must be an object');
    const read = new Set<string>();
    this.#objects.push({ target: value as Json, path, read });
    return new Proxy(value as Json, {
      get(target, key) {
        if (typeof key === 'string') read.add(key);
        return Reflect.get(target, key);
      },
    });
  }

  /** For a missing setting at `path`: a setting beside it whose name is one or two typos away, as a hint. */
  #misspelling(path: string): string {
    const cut = path.lastIndexOf('.');
    const [parentPath, name] = [path.slice(0, cut), path.slice(cut + 1)];
    const parent = this.#objects.find((watched) => watched.path === parentPath);
    const near = parent && Object.keys(parent.target).find((key) => key !== name && typoDistance(key, name) <= 2);
    return near === undefined ? '' : ` (is ${parentPath}.${near} a misspelling of it?)`;
  }

  /** A setting nothing read is a misspelling or a CCF setting Coco does not have: say so rather than ignore it. */
  refuseUnread(): void {
    for (const { target, path, read } of this.#objects) {
      const unread = Object.keys(target).find((key) => !read.has(key));
      if (unread !== undefined) this.fail(`${path}.${unread}`, 'is not a setting Coco knows: check its name against docs/node-config.md, or remove it');
    }
  }

  string(parent: Json, key: string, path: string): string;
  string(parent: Json, key: string, path: string, optional: true): string | undefined;
  string(parent: Json, key: string, path: string, optional = false): string | undefined {
    const value = parent[key];
    if (value === undefined && optional) return undefined;
    if (typeof value !== 'string' || value.length === 0) this.fail(`${path}.${key}`, 'must be a non-empty string');
    return value;
  }

  file(parent: Json, key: string, path: string): string;
  file(parent: Json, key: string, path: string, optional: true): string | undefined;
  file(parent: Json, key: string, path: string, optional = false): string | undefined {
    const value = optional ? this.string(parent, key, path, true) : this.string(parent, key, path);
    return value === undefined ? undefined : resolve(this.baseDir, value);
  }

  /** A list of paths, each resolved; `[]` when absent. */
  files(parent: Json, key: string, path: string): string[] {
    const value = parent[key];
    if (value === undefined) return [];
    if (!Array.isArray(value)) this.fail(`${path}.${key}`, 'must be a list of paths');
    return value.map((_, i) => this.file(value as unknown as Json, String(i), `${path}.${key}`));
  }

  /** A number of bytes: a whole number, or CCF's size string (`"16KB"`: B, KB, MB, GB, TB, PB, powers of 1024, any case). */
  size(parent: Json, key: string, path: string, fallback: number, min: number, max: number): number {
    const value = parent[key] ?? fallback;
    const bytes = typeof value === 'string' ? sizeStringBytes(value) : value;
    if (!Number.isSafeInteger(bytes) || (bytes as number) < min || (bytes as number) > max) {
      this.fail(`${path}.${key}`, `must be a size from ${min} to ${max} bytes, as a whole number or a size string such as "16KB"`);
    }
    return bytes as number;
  }

  integer(parent: Json, key: string, path: string, fallback: number, min: number, max: number): number {
    const value = parent[key] ?? fallback;
    if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
      this.fail(`${path}.${key}`, `must be a whole number from ${min} to ${max}`);
    }
    return value as number;
  }

  /**
   * `host:port` whose host the node's certificate can name (printable ASCII, no spaces): it lists the
   * host of every interface's bind and published address.
   */
  address(text: string, path: string): { host: string; port: number } {
    const address = hostAndPort(text);
    if (address === undefined || !CERTIFIABLE_HOST.test(address.host)) this.fail(path, `"${text}" is not host:port (a host without spaces, a port up to 65535: e.g. "10.0.0.1:8080" or "node.example.com:8080")`);
    return address;
  }

  /**
   * An interface's published_address (its bind address when unset), refused here as the service
   * refuses a joiner's: a node that published one other nodes and clients cannot parse would serve
   * while missing from GET /node/network/nodes.
   */
  publishedAddress(iface: Json, path: string, bindAddress: string): string {
    const published = this.string(iface, 'published_address', path, true);
    if (published === undefined) return bindAddress;
    this.address(published, `${path}.published_address`);
    return published;
  }
}

/** What an X.509 DNS name may hold (crypto/x509.ts): an IP address passes too. */
const CERTIFIABLE_HOST = /^[\x21-\x7e]+$/;

const SIZE_UNIT_POWERS: Record<string, number> = { '': 0, b: 0, kb: 1, mb: 2, gb: 3, tb: 4, pb: 5 };

/** CCF's size strings: digits, then an optional unit; NaN when `text` is not one. */
function sizeStringBytes(text: string): number {
  const match = /^(\d+)([a-z]*)$/i.exec(text);
  const power = match ? SIZE_UNIT_POWERS[match[2]!.toLowerCase()] : undefined;
  return power === undefined ? NaN : Number(match![1]) * 1024 ** power;
}

/**
 * `host:port` (a configuration's addresses, those a joiner publishes, the peers a node dials) split
 * at the last colon, an IPv6 host's brackets dropped (`[::1]:8000` is host `::1`, as sockets take
 * it); undefined when it is not one.
 */
export function hostAndPort(text: string): { host: string; port: number } | undefined {
  const match = /^(.+):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[2]) : NaN;
  return match && port <= 65535 ? { host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port } : undefined;
}

/**
 * The longest a script (a JS handler, the constitution, a ballot, an EVM run) may hold a node's event
 * loop: half the election timeout, so that a primary stuck in one is never deposed for it.
 */
export function eventLoopHoldMaxMs(electionTimeoutMs: number): number {
  return Math.floor(electionTimeoutMs / 2);
}

/** A run longer than an election timeout would let the other nodes depose the primary mid-run. */
function ethereumMaxExecutionMs(r: ConfigReader, ethereum: Json, electionTimeoutMs: number): number {
  const ms = r.integer(ethereum, 'max_execution_time_ms', '$.ethereum', Math.min(ETHEREUM_MAX_EXECUTION_MS_DEFAULT, eventLoopHoldMaxMs(electionTimeoutMs)), 1, 600_000);
  if (ms >= electionTimeoutMs) r.fail('$.ethereum.max_execution_time_ms', `must be below consensus.election_timeout_ms (${electionTimeoutMs}): a longer EVM run stalls the primary until the others elect a new one`);
  return ms;
}

function operatorFeatures(r: ConfigReader, value: unknown, path: string): ReadonlySet<OperatorFeature> {
  if (value === undefined) return new Set();
  const known: readonly string[] = OPERATOR_FEATURES;
  if (!Array.isArray(value) || !value.every((feature) => typeof feature === 'string' && known.includes(feature))) {
    r.fail(path, `must be a list of ${OPERATOR_FEATURES.map((f) => `"${f}"`).join(', ')}`);
  }
  return new Set(value as OperatorFeature[]);
}

/** CCF's accepted_endpoints: regular expressions, each matched against an endpoint's whole path (as std::regex_match). */
function acceptedEndpoints(r: ConfigReader, value: unknown, path: string): readonly RegExp[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((pattern) => typeof pattern === 'string' && pattern.length > 0)) {
    r.fail(path, 'must be a list of regular expressions, each matched against the whole path of an endpoint (e.g. "/node/.*")');
  }
  return (value as string[]).map((pattern, i) => {
    try {
      // Compiled alone first: wrapped, an unbalanced one ("a)|(b") would escape its anchors.
      new RegExp(pattern);
      return new RegExp(`^(?:${pattern})$`);
    } catch (error) {
      return r.fail(`${path}[${i}]`, `is not a valid regular expression: ${(error as Error).message}`);
    }
  });
}

/** CCF's names for the identity curves; P-384 is CCF's default (P-256 signatures cost about half). */
const CURVE_IDS: Record<string, CurveName> = { Secp256R1: 'P-256', Secp384R1: 'P-384' };
export const CURVE_ID_DEFAULT = 'Secp384R1';

/** A setting that names one of `choices` (CCF's spelling), `fallback` when absent. */
function oneOf<T extends string>(r: ConfigReader, parent: Json, key: string, path: string, choices: readonly T[], fallback: T): T {
  const value = parent[key] ?? fallback;
  if (!choices.includes(value as T)) r.fail(`${path}.${key}`, `must be one of ${choices.map((c) => `"${c}"`).join(', ')}`);
  return value as T;
}

function curveId(r: ConfigReader, value: unknown): CurveName {
  const id = value ?? CURVE_ID_DEFAULT;
  const curve = typeof id === 'string' ? CURVE_IDS[id] : undefined;
  if (curve === undefined) r.fail('$.node_certificate.curve_id', `must be one of ${Object.keys(CURVE_IDS).join(', ')}`);
  return curve;
}

/** An interface's http_configuration; `maxBodyBytes` defaults to the node's `http.max_body_size`. */
function httpLimits(r: ConfigReader, iface: Json, path: string, maxBodyBytes: number): HttpLimits {
  const configPath = `${path}.http_configuration`;
  const json = r.object(iface.http_configuration ?? {}, configPath);
  return {
    maxBodyBytes: r.size(json, 'max_body_size', configPath, maxBodyBytes, MAX_BODY_BYTES_MIN, MAX_BODY_BYTES_MAX),
    maxHeaderBytes: r.size(json, 'max_header_size', configPath, HTTP_LIMITS_DEFAULT.maxHeaderBytes, MAX_HEADER_BYTES_MIN, MAX_HEADER_BYTES_MAX),
    maxHeadersCount: r.integer(json, 'max_headers_count', configPath, HTTP_LIMITS_DEFAULT.maxHeadersCount, 1, MAX_HEADERS_COUNT_MAX),
  };
}

function sessionCaps(r: ConfigReader, iface: Json, path: string): RpcInterfaceConfig['sessionCaps'] {
  const soft = r.integer(iface, 'max_open_sessions_soft', path, MAX_OPEN_SESSIONS_SOFT_DEFAULT, 1, MAX_OPEN_SESSIONS_LIMIT);
  // CCF's hard default sits just above the soft cap; a soft cap set above it raises it along.
  const hard = r.integer(iface, 'max_open_sessions_hard', path, Math.max(MAX_OPEN_SESSIONS_HARD_DEFAULT, soft + 10), 1, MAX_OPEN_SESSIONS_LIMIT);
  if (hard < soft) r.fail(`${path}.max_open_sessions_hard`, `must be at least max_open_sessions_soft (${soft})`);
  return { soft, hard };
}

/** CCF's other `service_configuration` settings, into the service's configuration at genesis. */
function genesisServiceConfiguration(r: ConfigReader, json: Json): GenesisServiceConfiguration {
  const path = '$.command.start.service_configuration';
  const reconfiguration = json.reconfiguration_type;
  if (reconfiguration !== undefined && reconfiguration !== 'OneTransaction') {
    r.fail(`${path}.reconfiguration_type`, 'Coco reconfigures in one transaction only: "OneTransaction" (CCF\'s default)');
  }
  return {
    maximum_node_certificate_validity_days: r.integer(json, 'maximum_node_certificate_validity_days', path, CERTIFICATE_VALIDITY_DAYS_MAX, 1, CERTIFICATE_VALIDITY_DAYS_MAX),
    maximum_service_certificate_validity_days: r.integer(json, 'maximum_service_certificate_validity_days', path, CERTIFICATE_VALIDITY_DAYS_MAX, 1, CERTIFICATE_VALIDITY_DAYS_MAX),
    recent_cose_proposals_window_size: r.integer(json, 'recent_cose_proposals_window_size', path, RECENT_COSE_PROPOSALS_WINDOW_DEFAULT, 1, 10_000),
  };
}

/** The Levenshtein distance between `a` and `b` (edits of one character). */
function typoDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}

export function parseNodeConfig(json: unknown, configFile: string): NodeConfig {
  const r: ConfigReader = new ConfigReader(dirname(resolve(configFile)));
  const root = r.object(json, '$');
  const network = r.object(root.network, '$.network');
  const http = r.object(root.http ?? {}, '$.http');
  const maxBodyBytes = r.size(http, 'max_body_size', '$.http', HTTP_LIMITS_DEFAULT.maxBodyBytes, MAX_BODY_BYTES_MIN, MAX_BODY_BYTES_MAX);
  const interfaces = r.object(network.rpc_interfaces, '$.network.rpc_interfaces');
  const rpcInterfaces: Record<string, RpcInterfaceConfig> = {};
  for (const [name, value] of Object.entries(interfaces)) {
    const path = `$.network.rpc_interfaces.${name}`;
    const iface = r.object(value, path);
    const bind = r.string(iface, 'bind_address', path);
    // CCF's transport settings, accepted with the one value Coco serves, so that a CCF configuration that names it runs.
    if (iface.protocol !== undefined && iface.protocol !== 'tcp') r.fail(`${path}.protocol`, 'must be "tcp": Coco serves TLS over TCP only (CCF\'s "quic" is not supported)');
    if (iface.app_protocol !== undefined && iface.app_protocol !== 'HTTP1') {
      r.fail(`${path}.app_protocol`, 'must be "HTTP1": Coco serves HTTP/1.1 only (CCF\'s "HTTP2" is not supported); remove the setting or set "HTTP1"');
    }
    // CCF's default; its other authorities present another certificate than the service-endorsed one.
    if (iface.endorsement !== undefined && r.object(iface.endorsement, `${path}.endorsement`).authority !== 'Service') {
      r.fail(`${path}.endorsement.authority`, 'must be "Service": Coco\'s interfaces present the node certificate the service endorsed (CCF\'s "Node", "ACME" and "Unsecured" are not supported)');
    }
    if (iface.redirections !== undefined) {
      r.fail(`${path}.redirections`, 'is not supported: Coco redirects to the primary, or to a backup for an endpoint whose redirection_strategy asks it, at the address that node publishes for this interface; remove the setting');
    }
    rpcInterfaces[name] = {
      bindAddress: r.address(bind, `${path}.bind_address`),
      publishedAddress: r.publishedAddress(iface, path, bind),
      enabledOperatorFeatures: operatorFeatures(r, iface.enabled_operator_features, `${path}.enabled_operator_features`),
      sessionCaps: sessionCaps(r, iface, path),
      http: httpLimits(r, iface, path, maxBodyBytes),
      acceptedEndpoints: acceptedEndpoints(r, iface.accepted_endpoints, `${path}.accepted_endpoints`),
    };
  }
  if (Object.keys(rpcInterfaces).length === 0) r.fail('$.network.rpc_interfaces', 'needs at least one interface');
  const ledger = r.object(root.ledger ?? {}, '$.ledger');
  const ledgerDirectory = r.file(ledger, 'directory', '$.ledger', true) ?? resolve(dirname(resolve(configFile)), 'ledger');
  const ledgerReadOnlyDirectories = r.files(ledger, 'read_only_directories', '$.ledger');
  if (ledgerReadOnlyDirectories.includes(ledgerDirectory)) {
    r.fail('$.ledger.read_only_directories', `lists ${ledgerDirectory}, the ledger directory itself: a node writes there, so it cannot also be read-only`);
  }
  const signatures = r.object(root.ledger_signatures ?? {}, '$.ledger_signatures');
  const nodeCert = r.object(root.node_certificate ?? {}, '$.node_certificate');
  const outputFiles = r.object(root.output_files ?? {}, '$.output_files');
  const command = r.object(root.command, '$.command');
  if (command.type !== 'Start' && command.type !== 'Join' && command.type !== 'Recover') r.fail('$.command.type', 'must be "Start", "Join" or "Recover"');
  const starting = command.type === 'Start';
  const joining = command.type === 'Join';
  // The sections other command types use may be there too, as in CCF's configurations (a recovery
  // takes its members, constitution and configuration from the ledger).
  const [startValue, joinValue, recoverValue] = [command.start, command.join, command.recover];
  const start = starting ? r.object(startValue, '$.command.start') : {};
  const membersValue = start.members;
  if (starting && (!Array.isArray(membersValue) || membersValue.length === 0)) r.fail('$.command.start.members', 'must list at least one member');
  const members = ((membersValue ?? []) as unknown[]).map((value, i) => {
    const path = `$.command.start.members[${i}]`;
    const member = r.object(value, path);
    return {
      certificateFile: r.file(member, 'certificate_file', path),
      encryptionPublicKeyFile: r.file(member, 'encryption_public_key_file', path, true),
      dataJsonFile: r.file(member, 'data_json_file', path, true),
    };
  });
  const constitutionFiles = r.files(start, 'constitution_files', '$.command.start');
  if (starting && constitutionFiles.length === 0) r.fail('$.command.start.constitution_files', 'must list at least one file');
  const serviceConfiguration = r.object(start.service_configuration ?? {}, '$.command.start.service_configuration');
  let join: JoinConfig | undefined;
  if (joining) {
    const joinJson = r.object(joinValue, '$.command.join');
    const target = r.string(joinJson, 'target_rpc_address', '$.command.join');
    r.address(target, '$.command.join.target_rpc_address');
    join = { targetRpcAddress: target, retryTimeoutMs: r.integer(joinJson, 'retry_timeout_ms', '$.command.join', JOIN_RETRY_TIMEOUT_MS_DEFAULT, 10, 60_000) };
  }
  let recover: RecoverConfig | undefined;
  if (command.type === 'Recover') {
    const recoverJson = r.object(recoverValue, '$.command.recover');
    recover = {
      previousServiceIdentityFile: r.file(recoverJson, 'previous_service_identity_file', '$.command.recover'),
      serviceCertificateValidityDays: r.integer(recoverJson, 'initial_service_certificate_validity_days', '$.command.recover', 1, 1, 365),
    };
  }
  const nodeToNodeJson = r.object(network.node_to_node_interface ?? { bind_address: '127.0.0.1:0' }, '$.network.node_to_node_interface');
  const nodeToNodeBind = r.string(nodeToNodeJson, 'bind_address', '$.network.node_to_node_interface');
  const consensus = r.object(root.consensus ?? {}, '$.consensus');
  const snapshots = r.object(root.snapshots ?? {}, '$.snapshots');
  const jwt = r.object(root.jwt ?? {}, '$.jwt');
  const filesCleanup = r.object(root.files_cleanup ?? {}, '$.files_cleanup');
  const logging = r.object(root.logging ?? {}, '$.logging');
  const ethereum = r.object(root.ethereum ?? {}, '$.ethereum');
  const publicState = ethereum.public_state;
  if (publicState !== undefined && typeof publicState !== 'boolean') r.fail('$.ethereum.public_state', 'must be true or false');
  const allowUnprotectedTransactions = ethereum.allow_unprotected_transactions;
  if (allowUnprotectedTransactions !== undefined && typeof allowUnprotectedTransactions !== 'boolean') r.fail('$.ethereum.allow_unprotected_transactions', 'must be true or false');
  const accountsValue = ethereum.genesis_accounts ?? [];
  if (!Array.isArray(accountsValue)) r.fail('$.ethereum.genesis_accounts', 'must be a list of {"address": "0x…", "balance": "<wei>"}');
  const genesisAccounts = accountsValue.map((value, i) => {
    const path = `$.ethereum.genesis_accounts[${i}]`;
    const account = r.object(value, path);
    const address = r.string(account, 'address', path);
    if (!/^0x[0-9a-fA-F]{40}$/.test(address)) r.fail(`${path}.address`, 'must be a 0x-prefixed 20-byte hex address');
    const balance = account.balance;
    if (typeof balance !== 'string' || !/^(0x[0-9a-fA-F]+|\d+)$/.test(balance)) r.fail(`${path}.balance`, 'must be a string of wei, decimal or 0x hex');
    return { address, balance: BigInt(balance) };
  });
  const blockGasLimit = ethereum.block_gas_limit;
  if (blockGasLimit !== undefined && (!Number.isSafeInteger(blockGasLimit) || (blockGasLimit as number) < 21_000)) r.fail('$.ethereum.block_gas_limit', 'must be a whole number of gas of at least 21000');
  const messageTimeoutMs = r.integer(consensus, 'message_timeout_ms', '$.consensus', MESSAGE_TIMEOUT_MS_DEFAULT, 10, 60_000);
  const electionTimeoutMs = r.integer(consensus, 'election_timeout_ms', '$.consensus', ELECTION_TIMEOUT_MS_DEFAULT, 50, 600_000);
  if (electionTimeoutMs <= messageTimeoutMs) r.fail('$.consensus.election_timeout_ms', 'must exceed message_timeout_ms, or backups time out between heartbeats');
  const config: NodeConfig = {
    rpcInterfaces,
    nodeToNode: {
      bindAddress: r.address(nodeToNodeBind, '$.network.node_to_node_interface.bind_address'),
      publishedAddress: r.publishedAddress(nodeToNodeJson, '$.network.node_to_node_interface', nodeToNodeBind),
    },
    consensus: {
      messageTimeoutMs,
      electionTimeoutMs,
      maxUncommittedTxCount: r.integer(consensus, 'max_uncommitted_tx_count', '$.consensus', MAX_UNCOMMITTED_TX_COUNT_DEFAULT, 1, 10_000),
    },
    consensusStateFile: r.file(ledger, 'consensus_state_file', '$.ledger', true) ?? resolve(dirname(resolve(configFile)), 'consensus_state.json'),
    ethereum: {
      chainId: ethereum.chain_id === undefined ? undefined : BigInt(r.integer(ethereum, 'chain_id', '$.ethereum', ETHEREUM_CHAIN_ID_DEFAULT, 1, Number.MAX_SAFE_INTEGER)),
      blockGasLimit: blockGasLimit === undefined ? undefined : BigInt(blockGasLimit as number),
      maxExecutionMs: ethereumMaxExecutionMs(r, ethereum, electionTimeoutMs),
      publicState,
      allowUnprotectedTransactions,
      genesisAccounts,
    },
    jwtKeyRefreshIntervalMs: 1000 * r.integer(jwt, 'key_refresh_interval_s', '$.jwt', JWT_KEY_REFRESH_INTERVAL_S_DEFAULT, 1, 7 * 24 * 3600),
    historicalCacheSoftLimitBytes: r.size(root, 'historical_cache_soft_limit', '$', HISTORICAL_CACHE_SOFT_LIMIT_BYTES_DEFAULT, 0, HISTORICAL_CACHE_SOFT_LIMIT_BYTES_MAX),
    snapshots: {
      directory: r.file(snapshots, 'directory', '$.snapshots', true) ?? resolve(dirname(resolve(configFile)), 'snapshots'),
      txCount: r.integer(snapshots, 'tx_count', '$.snapshots', SNAPSHOT_TX_COUNT_DEFAULT, 2, 1_000_000_000),
      ...(filesCleanup.max_snapshots !== undefined && { maxSnapshots: r.integer(filesCleanup, 'max_snapshots', '$.files_cleanup', 1, 1, 1_000_000) }),
    },
    logging: {
      format: oneOf(r, logging, 'format', '$.logging', LOG_FORMATS, LOG_SETTINGS_DEFAULT.format),
      hostLevel: oneOf(r, logging, 'host_level', '$.logging', HOST_LEVELS, LOG_SETTINGS_DEFAULT.hostLevel),
    },
    command: joining ? 'join' : starting ? 'start' : 'recover',
    join,
    recover,
    ledgerDirectory,
    ledgerReadOnlyDirectories,
    sealedSecretsFile: r.file(ledger, 'sealed_secrets_file', '$.ledger', true) ?? resolve(dirname(resolve(configFile)), 'sealed_secrets.json'),
    ledgerChunkBytes: r.size(ledger, 'chunk_size', '$.ledger', LEDGER_CHUNK_BYTES_DEFAULT, 4096, 2 ** 31),
    signatureTxCount: r.integer(signatures, 'tx_count', '$.ledger_signatures', SIGNATURE_TX_COUNT_DEFAULT, 1, 1_000_000),
    signatureDelayMs: r.integer(signatures, 'delay_ms', '$.ledger_signatures', SIGNATURE_DELAY_MS_DEFAULT, 1, 60_000),
    nodeCertificateValidityDays: r.integer(nodeCert, 'initial_validity_days', '$.node_certificate', 1, 1, 365),
    curve: curveId(r, nodeCert.curve_id),
    pidFile: r.file(outputFiles, 'pid_file', '$.output_files', true),
    serviceCertificateFile: r.file(command, 'service_certificate_file', '$.command'),
    start: {
      members,
      constitutionFiles,
      recoveryThreshold: r.integer(serviceConfiguration, 'recovery_threshold', '$.command.start.service_configuration', 0, 0, 254),
      serviceConfiguration: genesisServiceConfiguration(r, serviceConfiguration),
      serviceCertificateValidityDays: r.integer(start, 'initial_service_certificate_validity_days', '$.command.start', 1, 1, 365),
      serviceData: start.service_data ?? {},
      coseSignatures: coseSignatureClaims(r, start.cose_signatures),
    },
  };
  refuseSharedBindAddresses(bindAddresses(config));
  r.refuseUnread();
  return config;
}

/** CCF's `command.start.cose_signatures`, both fields required when it is given; empty ones when it is not. */
function coseSignatureClaims(r: ConfigReader, value: unknown): CoseSignatureClaims {
  if (value === undefined) return NO_COSE_SIGNATURE_CLAIMS;
  const path = '$.command.start.cose_signatures';
  const json = r.object(value, path);
  // Strings, empty ones included: CCF's defaults are empty.
  const text = (key: 'issuer' | 'subject'): string => {
    const field = json[key];
    if (typeof field !== 'string') r.fail(`${path}.${key}`, 'must be a string');
    return field;
  };
  return { issuer: text('issuer'), subject: text('subject') };
}

/** Hosts that bind every address of the machine: a port on one of them is taken on every host. */
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);

/** An interface's bind address, named by its JSON path; `address`: what its host resolves to, where known. */
export interface BindAddress {
  path: string;
  host: string;
  port: number;
  address?: string;
}

/** The bind address of every interface, RPC or node-to-node, in the configuration's order. */
export function bindAddresses(config: Pick<NodeConfig, 'rpcInterfaces' | 'nodeToNode'>): BindAddress[] {
  return [
    ...Object.entries(config.rpcInterfaces).map(([name, iface]) => ({ path: `$.network.rpc_interfaces.${name}.bind_address`, ...iface.bindAddress })),
    { path: '$.network.node_to_node_interface.bind_address', ...config.nodeToNode.bindAddress },
  ];
}

/**
 * Two interfaces, RPC or node-to-node, that bind the same port on one address (or on every address,
 * by a wildcard host): the second could never listen. Hosts are compared by what they resolve to
 * where `address` is given (parsing compares them as written; the node resolves them before it
 * writes anything), so that `localhost:P` beside `127.0.0.1:P` is caught before a listen fails.
 */
export function refuseSharedBindAddresses(bound: readonly BindAddress[]): void {
  const at = (b: BindAddress) => b.address ?? b.host;
  const written = (b: BindAddress) => `${b.host}:${b.port}${b.address === undefined || b.address === b.host ? '' : ` resolving to ${b.address}:${b.port}`}`;
  bound.forEach((b, i) => {
    const earlier = bound.slice(0, i).find((a) => a.port !== 0 && a.port === b.port && (at(a) === at(b) || WILDCARD_HOSTS.has(at(a)) || WILDCARD_HOSTS.has(at(b))));
    if (earlier !== undefined) {
      throw invalidConfig(b.path, `${written(b)} is also ${earlier.path} (${written(earlier)}); each interface needs its own port, as only one of them can listen on it`);
    }
  });
}
