// Coco's default constitution (constitution/default/*.js) run in node, as one ES module made of the
// four files like a node loads it, over a small stand-in for the host's `ccf` global: KV maps keyed
// by byte content (writable only by `apply`, only `public:ccf.gov.*`), CCF's converters, node effects
// recorded. Proposals from the real CCF ledgers are replayed and must write the bytes CCF wrote.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, X509Certificate, type JsonWebKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fromUtf8, toHex, utf8 } from '../../src/crypto/bytes.js';
import { certificateId } from '../../src/crypto/entity-id.js';
import { splitPemBundle } from '../../src/crypto/pem.js';
import { isValidX509RootCACert } from '../../src/js/ccf-crypto.js';
import { generateKeyPair } from '../../src/crypto/signing.js';
import { createCsr, createSelfSignedCertificate } from '../../src/crypto/x509.js';
import { tcbHexToPolicy } from '../../src/js/snp-tcb-policy.js';
import { formatTxId } from '../../src/ledger/tx-id.js';
import { repoRoot } from '../support/paths.js';
import { realChunks } from '../support/real-ledgers.js';
import { ecCertificate, rsaCertificate } from '../support/idp-certificate.js';

// ---------------------------------------------------------------------------------------------------
// The host stand-in

type Mode = 'read-only' | 'apply';

interface Change {
  table: string;
  keyHex: string;
  /** undefined for a removal */
  value: Uint8Array | undefined;
}

interface Call {
  name: string;
  args: unknown[];
}

function bytesOf(value: unknown, what: string): Uint8Array {
  if (!(value instanceof ArrayBuffer)) throw new TypeError(`${what} must be an ArrayBuffer, got ${typeof value}`);
  return new Uint8Array(value);
}

function bufferOf(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy.buffer;
}

class KvMap {
  readonly #entries = new Map<string, { key: Uint8Array; value: Uint8Array }>();

  constructor(
    readonly name: string,
    private readonly host: Host,
  ) {}

  has(key: unknown): boolean {
    return this.#entries.has(toHex(bytesOf(key, 'key')));
  }

  get(key: unknown): ArrayBuffer | undefined {
    const entry = this.#entries.get(toHex(bytesOf(key, 'key')));
    return entry === undefined ? undefined : bufferOf(entry.value);
  }

  set(key: unknown, value: unknown): this {
    const k = bytesOf(key, 'key');
    const v = bytesOf(value, 'value');
    this.host.record({ table: this.name, keyHex: toHex(k), value: v });
    this.#entries.set(toHex(k), { key: k.slice(), value: v.slice() });
    return this;
  }

  /** As CCF's (and Coco's) `delete`, returns nothing: a constitution cannot learn from it whether the key existed. */
  delete(key: unknown): void {
    const keyHex = toHex(bytesOf(key, 'key'));
    if (!this.#entries.has(keyHex)) return;
    this.host.record({ table: this.name, keyHex, value: undefined });
    this.#entries.delete(keyHex);
  }

  clear(): void {
    for (const keyHex of [...this.#entries.keys()]) {
      this.host.record({ table: this.name, keyHex, value: undefined });
      this.#entries.delete(keyHex);
    }
  }

  forEach(callback: (value: ArrayBuffer, key: ArrayBuffer, map: KvMap) => void): void {
    for (const { key, value } of [...this.#entries.values()]) callback(bufferOf(value), bufferOf(key), this);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Test set-up and inspection, bypassing the access rules. */
  seed(key: Uint8Array, value: Uint8Array | undefined): void {
    if (value === undefined) this.#entries.delete(toHex(key));
    else this.#entries.set(toHex(key), { key: key.slice(), value: value.slice() });
  }

  keys(): string[] {
    return [...this.#entries.values()].map((entry) => fromUtf8(entry.key)).sort();
  }
}

const SINGLETON = new Uint8Array(8);
const LEDGER_SECRET_SEQNO = 17;
const ENDORSED_PEM = '-----BEGIN CERTIFICATE-----\nZW5kb3JzZWQ=\n-----END CERTIFICATE-----\n';
const NETWORK_PEM = '-----BEGIN CERTIFICATE-----\nbmV0d29yaw==\n-----END CERTIFICATE-----\n';

class Host {
  mode: Mode = 'read-only';
  readonly changes: Change[] = [];
  readonly calls: Call[] = [];
  readonly #maps = new Map<string, KvMap>();

  map(name: string): KvMap {
    let map = this.#maps.get(name);
    if (map === undefined) {
      map = new KvMap(name, this);
      this.#maps.set(name, map);
    }
    return map;
  }

  record(change: Change): void {
    // CCF: governance writes only in apply, and only its own public tables.
    if (this.mode !== 'apply') throw new Error(`${change.table} is read-only outside apply`);
    if (!change.table.startsWith('public:ccf.gov.')) throw new Error(`${change.table} is read-only for governance`);
    this.changes.push(change);
  }

  run<T>(mode: Mode, fn: () => T): T {
    this.mode = mode;
    try {
      return fn();
    } finally {
      this.mode = 'read-only';
    }
  }

  #effect(name: string, result: (...args: unknown[]) => unknown = () => undefined) {
    return (...args: unknown[]): unknown => {
      if (this.mode !== 'apply') throw new Error(`${name} is only available in apply`);
      this.calls.push({ name, args });
      return result(...args);
    };
  }

  readonly ccf = {
    kv: new Proxy({}, { get: (_target, name) => (typeof name === 'string' ? this.map(name) : undefined) }),
    strToBuf: (text: string): ArrayBuffer => bufferOf(utf8(text)),
    bufToStr: (buffer: unknown): string => new TextDecoder('utf-8', { fatal: true }).decode(bytesOf(buffer, 'buffer')),
    jsonCompatibleToBuf: (value: unknown): ArrayBuffer => this.ccf.strToBuf(JSON.stringify(value)),
    bufToJsonCompatible: (buffer: unknown): unknown => JSON.parse(this.ccf.bufToStr(buffer)),
    pemToId: (pem: string): string => createHash('sha256').update(new X509Certificate(pem).raw).digest('hex'),
    tcbHexToPolicy,
    crypto: {
      isValidX509CertBundle: (pem: string): boolean => {
        try {
          const blocks = splitPemBundle(pem);
          for (const block of blocks) new X509Certificate(block);
          return blocks.length > 0;
        } catch {
          return false;
        }
      },
      isValidX509RootCACert,
      pubRsaPemToJwk: (pem: string): JsonWebKey => {
        const key = createPublicKey(pem);
        if (key.asymmetricKeyType !== 'rsa') throw new Error(`not an RSA key but ${key.asymmetricKeyType}`);
        return key.export({ format: 'jwk' });
      },
      digest: (algorithm: string, data: unknown): ArrayBuffer => {
        assert.equal(algorithm, 'SHA-256');
        return bufferOf(createHash('sha256').update(bytesOf(data, 'data')).digest());
      },
    },
    node: {
      triggerLedgerRekey: this.#effect('triggerLedgerRekey'),
      transitionServiceToOpen: this.#effect('transitionServiceToOpen'),
      triggerRecoverySharesRefresh: this.#effect('triggerRecoverySharesRefresh'),
      triggerLedgerChunk: this.#effect('triggerLedgerChunk'),
      triggerSnapshot: this.#effect('triggerSnapshot'),
    },
    network: {
      getLatestLedgerSecretSeqno: this.#effect('getLatestLedgerSecretSeqno', () => LEDGER_SECRET_SEQNO),
      generateEndorsedCertificate: this.#effect('generateEndorsedCertificate', () => ENDORSED_PEM),
      generateNetworkCertificate: this.#effect('generateNetworkCertificate', () => NETWORK_PEM),
    },
    setJwtPublicSigningKeys: this.#effect('setJwtPublicSigningKeys'),
    removeJwtPublicSigningKeys: this.#effect('removeJwtPublicSigningKeys'),
    refreshAppBytecodeCache: this.#effect('refreshAppBytecodeCache'),
    gov: {
      // The real check loads the source in QuickJS (test/governance/governance.test.ts covers it).
      validateConstitution: (source: unknown): void => {
        if (typeof source !== 'string') throw new TypeError('the constitution must be a string');
      },
    },
  };

  seedJson(table: string, key: string | Uint8Array, value: unknown): void {
    this.map(table).seed(typeof key === 'string' ? utf8(key) : key, utf8(JSON.stringify(value)));
  }

  seedText(table: string, key: string | Uint8Array, text: string): void {
    this.map(table).seed(typeof key === 'string' ? utf8(key) : key, utf8(text));
  }

  /** The stored value as UTF-8 text, or undefined. */
  text(table: string, key: string | Uint8Array): string | undefined {
    const value = this.map(table).get(bufferOf(typeof key === 'string' ? utf8(key) : key));
    return value === undefined ? undefined : fromUtf8(new Uint8Array(value));
  }

  callNames(): string[] {
    return this.calls.map((call) => call.name);
  }
}

// ---------------------------------------------------------------------------------------------------
// The constitution module

interface Action {
  validate(args: unknown): void;
  apply(args: unknown, proposalId: string): void;
}

interface Constitution {
  actions: Map<string, Action>;
  validate(proposal: string): { valid: boolean; description: string };
  resolve(proposal: string, proposerId: string, votes: { member_id: string; vote: boolean }[], proposalId: string): string;
  apply(proposal: string, proposalId: string): void;
}

const CONSTITUTION_DIR = join(repoRoot, 'constitution');
const PROPOSAL_ID = 'a'.repeat(64);
let moduleDir = '';
let constitution: Constitution;
let sandbox: Constitution;

async function loadConstitution(resolveFile: string, fileName: string): Promise<Constitution> {
  const parts = ['default/actions.js', 'default/validate.js', resolveFile, 'default/apply.js'];
  const source = parts.map((part) => readFileSync(join(CONSTITUTION_DIR, part), 'utf8')).join('\n');
  const path = join(moduleDir, fileName);
  writeFileSync(path, source);
  return (await import(pathToFileURL(path).href)) as Constitution;
}

before(async () => {
  moduleDir = mkdtempSync(join(tmpdir(), 'coco-constitution-'));
  constitution = await loadConstitution('default/resolve.js', 'default.mjs');
  sandbox = await loadConstitution('sandbox/resolve.js', 'sandbox.mjs');
});

after(() => rmSync(moduleDir, { recursive: true, force: true }));

function freshHost(): Host {
  const host = new Host();
  (globalThis as { ccf?: unknown }).ccf = host.ccf;
  return host;
}

function proposal(...actions: { name: string; args?: unknown }[]): string {
  return JSON.stringify({ actions });
}

function validateIn(host: Host, body: string): { valid: boolean; description: string } {
  return host.run('read-only', () => constitution.validate(body));
}

function applyIn(host: Host, body: string): void {
  host.run('apply', () => constitution.apply(body, PROPOSAL_ID));
}

// ---------------------------------------------------------------------------------------------------
// Fixtures

const Tables = {
  constitution: 'public:ccf.gov.constitution',
  membersCerts: 'public:ccf.gov.members.certs',
  membersKeys: 'public:ccf.gov.members.encryption_public_keys',
  membersInfo: 'public:ccf.gov.members.info',
  membersAcks: 'public:ccf.gov.members.acks',
  usersCerts: 'public:ccf.gov.users.certs',
  usersInfo: 'public:ccf.gov.users.info',
  nodesInfo: 'public:ccf.gov.nodes.info',
  nodesEndorsed: 'public:ccf.gov.nodes.endorsed_certificates',
  serviceInfo: 'public:ccf.gov.service.info',
  serviceConfig: 'public:ccf.gov.service.config',
  modules: 'public:ccf.gov.modules',
  bytecode: 'public:ccf.gov.modules_quickjs_bytecode',
  endpoints: 'public:ccf.gov.endpoints',
  flush: 'public:ccf.gov.interpreter.flush',
  caBundles: 'public:ccf.gov.tls.ca_cert_bundles',
  jwtIssuers: 'public:ccf.gov.jwt.issuers',
  jwtKeys: 'public:ccf.gov.jwt.public_signing_keys_metadata_v2',
  signatures: 'public:ccf.internal.signatures',
  recoveryShares: 'public:ccf.internal.recovery_shares',
} as const;

const VALID_FROM = new Date('2025-01-01T00:00:00Z');

function certificate(subjectCn: string, isCa = false): string {
  return createSelfSignedCertificate({ subjectCn, keyPair: generateKeyPair('P-256'), validFrom: VALID_FROM, validityDays: 30, isCa });
}

function rsaPublicKeyPem(modulusLength: number): string {
  return generateKeyPairSync('rsa', { modulusLength }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

const SERVICE_CERT = certificate('CCF Service', true);
const PREVIOUS_SERVICE_CERT = certificate('CCF Service', true);
const MEMBER_CERT = certificate('member0');
const USER_CERT = certificate('user0');
const CA_BUNDLE = certificate('Root A', true) + certificate('Root B', true);
const RSA_2048_PEM = rsaPublicKeyPem(2048);
const RSA_1024_PEM = rsaPublicKeyPem(1024);
const EC_PUBLIC_PEM = generateKeyPair('P-256').publicKeyPem;
const NODE_KEY = generateKeyPair('P-384');
const NODE_CSR = createCsr({ subjectCn: 'CCF Node', keyPair: NODE_KEY });
const ID = 'c'.repeat(64);
const ISSUER = 'https://login.example.com/v2.0';
const POLICY = 'package policy\n\napi_version := "0.10.0"\n';
const POLICY_DIGEST = createHash('sha256').update(POLICY).digest('hex');
const RSA_JWK = { ...createPublicKey(RSA_2048_PEM).export({ format: 'jwk' }), kid: 'rsa-key' };
const RSA_1024_JWK = { ...createPublicKey(RSA_1024_PEM).export({ format: 'jwk' }), kid: 'small' };
const EC_JWK = { ...createPublicKey(EC_PUBLIC_PEM).export({ format: 'jwk' }), kid: 'ec-key' };
const JWKS = { keys: [RSA_JWK, EC_JWK] };
/** RSA keys given only by an x5c certificate, as Entra ID's JWKS also carries them. */
const RSA_2048_X5C_JWK = { kty: 'RSA', kid: 'certified', x5c: [rsaCertificate(2048).x5c] };
const RSA_1024_X5C_JWK = { kty: 'RSA', kid: 'small-cert', x5c: [rsaCertificate(1024).x5c] };
const EC_X5C_JWK = { kty: 'EC', kid: 'ec-cert', x5c: [ecCertificate('secp384r1').x5c] };
const UVM_DID = 'did:x509:0:sha256:I__iuL25oXEVFdTP_aBLx_eT1RPHbCQ_ECBQfYZpt9s::eku:1.3.6.1.4.1.311.76.59.1.2';

const COMPUTE_ENDPOINT = {
  js_module: 'math.js',
  js_function: 'compute',
  forwarding_required: 'sometimes',
  authn_policies: ['user_cert', { all_of: ['user_cert', 'jwt'] }],
  mode: 'readwrite',
  openapi: { responses: { '200': { description: 'OK' } } },
};
const READ_ENDPOINT = { ...COMPUTE_ENDPOINT, js_function: 'read', mode: 'readonly', authn_policies: [] };
const APP_BUNDLE = {
  metadata: { endpoints: { '/compute': { post: COMPUTE_ENDPOINT }, '/compute/{id}': { get: READ_ENDPOINT } } },
  modules: [
    { name: 'math.js', module: 'export function compute() { return { body: 42 }; }' },
    { name: 'util/fmt.js', module: 'export const fmt = (x) => String(x);' },
  ],
};

/** A service as genesis leaves it, plus what actions read: a node awaiting trust, a CA bundle. */
function service(host: Host, status = 'Opening'): void {
  host.seedJson(Tables.serviceInfo, SINGLETON, { cert: SERVICE_CERT, status });
  host.seedJson(Tables.serviceConfig, SINGLETON, {
    maximum_node_certificate_validity_days: 365,
    maximum_service_certificate_validity_days: 365,
    recovery_threshold: 1,
  });
  host.seedJson(Tables.nodesInfo, ID, { certificate_signing_request: NODE_CSR, node_data: null, status: 'Pending' });
  host.seedJson(Tables.caBundles, 'roots', CA_BUNDLE);
}

function members(host: Host, statuses: string[]): string[] {
  return statuses.map((status, i) => {
    const id = toHex(createHash('sha256').update(`member ${i}`).digest());
    host.seedJson(Tables.membersInfo, id, { status });
    return id;
  });
}

// ---------------------------------------------------------------------------------------------------
// validate

const REQUIRED_ACTIONS = [
  'set_constitution', 'set_member', 'remove_member', 'set_member_data', 'set_user', 'remove_user', 'set_user_data',
  'set_recovery_threshold', 'trigger_recovery_shares_refresh', 'trigger_ledger_rekey', 'transition_service_to_open',
  'set_js_app', 'remove_js_app', 'set_js_runtime_options', 'refresh_js_app_bytecode_cache', 'set_ca_cert_bundle',
  'remove_ca_cert_bundle', 'set_jwt_issuer', 'set_jwt_public_signing_keys', 'remove_jwt_issuer', 'cleanup_legacy_jwt_records', 'add_snp_measurement',
  'remove_snp_measurement', 'add_snp_host_data', 'remove_snp_host_data', 'add_snp_uvm_endorsement',
  'remove_snp_uvm_endorsement', 'set_snp_minimum_tcb_version', 'set_snp_minimum_tcb_version_hex', 'remove_snp_minimum_tcb_version',
  'add_virtual_measurement', 'remove_virtual_measurement', 'add_virtual_host_data', 'remove_virtual_host_data',
  'set_node_data', 'transition_node_to_trusted', 'remove_node', 'set_node_certificate_validity',
  'set_all_nodes_certificate_validity', 'set_service_certificate_validity', 'set_service_configuration',
  'trigger_ledger_chunk', 'trigger_snapshot', 'assert_service_identity',
  'set_ethereum_accounts', 'add_ethereum_allowed_senders', 'remove_ethereum_allowed_senders',
];

const GOOD_ACTIONS: { name: string; args?: unknown }[] = [
  { name: 'set_constitution', args: { constitution: 'export function validate() {}' } },
  { name: 'set_member', args: { cert: MEMBER_CERT, encryption_pub_key: RSA_2048_PEM, member_data: { is_operator: true }, recovery_role: 'Owner' } },
  { name: 'set_member', args: { cert: MEMBER_CERT, encryption_pub_key: null, member_data: null } },
  { name: 'remove_member', args: { member_id: ID } },
  { name: 'set_member_data', args: { member_id: ID, member_data: { team: 'ops' } } },
  { name: 'set_member_data', args: { member_id: ID, member_data: null } },
  { name: 'set_user', args: { cert: USER_CERT, user_data: { name: 'alice' } } },
  { name: 'remove_user', args: { user_id: ID } },
  { name: 'set_user_data', args: { user_id: ID } },
  { name: 'set_recovery_threshold', args: { recovery_threshold: 2 } },
  { name: 'trigger_recovery_shares_refresh' },
  { name: 'trigger_ledger_rekey', args: {} },
  { name: 'transition_service_to_open', args: { next_service_identity: SERVICE_CERT } },
  { name: 'set_js_app', args: { bundle: APP_BUNDLE, disable_bytecode_cache: false } },
  // As CCF's, an app.json may hold more than its endpoints.
  { name: 'set_js_app', args: { bundle: { ...APP_BUNDLE, metadata: { $schema: 'https://example.com/app.schema.json', ...APP_BUNDLE.metadata } } } },
  { name: 'remove_js_app', args: null },
  { name: 'set_js_runtime_options', args: { max_heap_bytes: 104857600, max_stack_bytes: 1048576, max_execution_time_ms: 5000, return_exception_details: true, max_cached_interpreters: 10 } },
  { name: 'set_js_runtime_options', args: { max_heap_bytes: 0, max_stack_bytes: -1, max_execution_time_ms: 0, max_cached_interpreters: -3 } },
  { name: 'refresh_js_app_bytecode_cache' },
  { name: 'set_ca_cert_bundle', args: { name: 'roots', cert_bundle: CA_BUNDLE } },
  { name: 'remove_ca_cert_bundle', args: { name: 'roots' } },
  { name: 'set_jwt_issuer', args: { issuer: ISSUER, ca_cert_bundle_name: 'roots', auto_refresh: true, jwks: JWKS } },
  // CCF checks the issuer is an https URL only when the node is to fetch its keys (custom_authorization.py).
  { name: 'set_jwt_issuer', args: { issuer: 'noautorefresh://issuer', auto_refresh: false, jwks: JWKS } },
  { name: 'set_jwt_issuer', args: { issuer: 'https://login.example.com/?tenant=1', jwks: JWKS } },
  { name: 'set_jwt_public_signing_keys', args: { issuer: ISSUER, jwks: JWKS } },
  { name: 'set_jwt_public_signing_keys', args: { issuer: ISSUER, jwks: { keys: [RSA_2048_X5C_JWK, EC_X5C_JWK] } } },
  { name: 'remove_jwt_issuer', args: { issuer: ISSUER } },
  { name: 'add_snp_measurement', args: { measurement: 'ab'.repeat(48) } },
  { name: 'remove_snp_measurement', args: { measurement: 'ab'.repeat(48) } },
  { name: 'add_snp_host_data', args: { host_data: POLICY_DIGEST, security_policy: POLICY } },
  { name: 'add_snp_host_data', args: { host_data: ID } },
  { name: 'remove_snp_host_data', args: { host_data: ID } },
  { name: 'add_snp_uvm_endorsement', args: { did: UVM_DID, feed: 'ContainerPlat-AMD-UVM', svn: '101' } },
  { name: 'remove_snp_uvm_endorsement', args: { did: UVM_DID, feed: 'ContainerPlat-AMD-UVM' } },
  { name: 'set_snp_minimum_tcb_version', args: { cpuid: '00a00f11', tcb_version: { boot_loader: 3, tee: 0, snp: 20, microcode: 209 } } },
  { name: 'set_snp_minimum_tcb_version_hex', args: { cpuid: '00b00f11', tcb_version: '2a00000001020304' } },
  { name: 'remove_snp_minimum_tcb_version', args: { cpuid: '00a00f11' } },
  { name: 'add_virtual_measurement', args: { measurement: 'Insecure hard-coded virtual measurement v1' } },
  { name: 'remove_virtual_measurement', args: { measurement: 'Insecure hard-coded virtual measurement v1' } },
  { name: 'add_virtual_host_data', args: { host_data: ID } },
  { name: 'remove_virtual_host_data', args: { host_data: ID } },
  { name: 'set_node_data', args: { node_id: ID, node_data: { rack: 3 } } },
  { name: 'transition_node_to_trusted', args: { node_id: ID, valid_from: '250101000000Z' } },
  { name: 'remove_node', args: { node_id: ID } },
  { name: 'set_node_certificate_validity', args: { node_id: ID, valid_from: '2025-03-27T20:54:49.220469+00:00', validity_period_days: 90 } },
  { name: 'set_all_nodes_certificate_validity', args: { valid_from: '20250101000000Z' } },
  { name: 'set_service_certificate_validity', args: { valid_from: '250101000000Z', validity_period_days: 365 } },
  { name: 'set_service_configuration', args: { recent_cose_proposals_window_size: 50 } },
  { name: 'trigger_ledger_chunk' },
  { name: 'trigger_snapshot' },
  { name: 'assert_service_identity', args: { service_identity: SERVICE_CERT } },
  { name: 'set_ethereum_accounts', args: { accounts: [{ address: `0x${'ab'.repeat(20)}`, balance: '1000', frozen: false }] } },
  { name: 'add_ethereum_allowed_senders', args: { addresses: [`0x${'cd'.repeat(20)}`] } },
  { name: 'remove_ethereum_allowed_senders', args: { addresses: [`0x${'cd'.repeat(20)}`] } },
];

/** Drops the second body line of a PEM: still well-formed base64, no longer a certificate. */
function truncated(pem: string): string {
  const lines = pem.trim().split('\n');
  return `${[...lines.slice(0, 2), ...lines.slice(3)].join('\n')}\n`;
}

function withEndpoint(route: string, verb: string, info: unknown): unknown {
  return { ...APP_BUNDLE, metadata: { endpoints: { [route]: { [verb]: info } } } };
}

const BAD_ACTIONS: { name: string; args?: unknown; error: RegExp }[] = [
  { name: 'set_constitution', args: { constitution: '' }, error: /args\.constitution must be a non-empty string, got ""/ },
  { name: 'set_user', args: { cert: 'hello' }, error: /args\.cert must be one PEM "CERTIFICATE" block, got "hello"/ },
  { name: 'set_user', args: { cert: 42 }, error: /args\.cert must be one PEM "CERTIFICATE" block, got number 42/ },
  { name: 'set_user', args: { cert: truncated(USER_CERT) }, error: /args\.cert is not a parsable X\.509 certificate/ },
  { name: 'set_user', args: { cert: USER_CERT + MEMBER_CERT }, error: /args\.cert must be one PEM "CERTIFICATE" block/ },
  { name: 'set_user', args: { cert: USER_CERT, userdata: {} }, error: /args\.userdata is not expected \(args takes cert, user_data\)/ },
  { name: 'set_user', args: 'cert', error: /args must be an object with cert, user_data, got "cert"/ },
  { name: 'set_user', error: /args must be an object with cert, user_data, got nothing/ },
  { name: 'set_member', args: { cert: MEMBER_CERT, encryption_pub_key: RSA_1024_PEM }, error: /is a 1024-bit RSA modulus: at least 2048 bits are required/ },
  { name: 'set_member', args: { cert: MEMBER_CERT, encryption_pub_key: EC_PUBLIC_PEM }, error: /args\.encryption_pub_key is not an RSA public key/ },
  { name: 'set_member', args: { cert: MEMBER_CERT, encryption_pub_key: MEMBER_CERT }, error: /args\.encryption_pub_key must be one PEM "PUBLIC KEY" block/ },
  { name: 'set_member', args: { cert: MEMBER_CERT, recovery_role: 'Owner' }, error: /args\.recovery_role needs args\.encryption_pub_key/ },
  { name: 'set_member', args: { cert: MEMBER_CERT, encryption_pub_key: RSA_2048_PEM, recovery_role: 'Boss' }, error: /args\.recovery_role must be one of "NonParticipant", "Participant", "Owner", got "Boss"/ },
  { name: 'remove_member', args: { member_id: ID.toUpperCase() }, error: /args\.member_id must be 64 lowercase hex digits/ },
  { name: 'remove_member', args: {}, error: /args\.member_id is required/ },
  { name: 'set_member_data', args: { member_id: ID }, error: /args\.member_data is required/ },
  { name: 'set_member_data', args: { member_id: ID, member_data: 'str' }, error: /args\.member_data must be a JSON object or null, got "str"/ },
  { name: 'set_member', args: { cert: MEMBER_CERT, member_data: 7 }, error: /args\.member_data must be a JSON object or null, got number 7/ },
  { name: 'set_user', args: { cert: USER_CERT, user_data: true }, error: /args\.user_data must be a JSON object or null, got boolean true/ },
  { name: 'remove_user', args: { user_id: ID.slice(1) }, error: /args\.user_id must be 64 lowercase hex digits/ },
  { name: 'set_recovery_threshold', args: { recovery_threshold: 0 }, error: /args\.recovery_threshold must be an integer from 1 to 254, got number 0/ },
  { name: 'set_recovery_threshold', args: { recovery_threshold: 255 }, error: /from 1 to 254, got number 255/ },
  { name: 'set_recovery_threshold', args: { recovery_threshold: 1.5 }, error: /from 1 to 254, got number 1\.5/ },
  { name: 'set_recovery_threshold', args: { recovery_threshold: '2' }, error: /from 1 to 254, got "2"/ },
  { name: 'trigger_ledger_rekey', args: { now: true }, error: /args must be absent or \{\} \(this action takes no arguments\)/ },
  { name: 'transition_service_to_open', args: {}, error: /args\.next_service_identity is required/ },
  { name: 'set_js_app', args: { bundle: withEndpoint('/compute', 'post', { ...COMPUTE_ENDPOINT, js_module: 'missing.js' }) }, error: /\.js_module "missing\.js" is not one of the bundle's modules/ },
  { name: 'set_js_app', args: { bundle: withEndpoint('/compute', 'post', { ...COMPUTE_ENDPOINT, mode: undefined }) }, error: /\["\/compute"\]\.post\.mode is required/ },
  { name: 'set_js_app', args: { bundle: withEndpoint('/compute', 'fetch', COMPUTE_ENDPOINT) }, error: /must be an HTTP method/ },
  { name: 'set_js_app', args: { bundle: withEndpoint('compute', 'post', COMPUTE_ENDPOINT) }, error: /an endpoint path must start with "\/"/ },
  { name: 'set_js_app', args: { bundle: withEndpoint('/compute', 'post', { ...COMPUTE_ENDPOINT, authn_policies: 'user_cert' }) }, error: /\.authn_policies must be an array/ },
  { name: 'set_js_app', args: { bundle: withEndpoint('/compute', 'post', { ...COMPUTE_ENDPOINT, authn_policies: [{ all_of: ['jwt', 'user_cert', 'jwt'] }] }) }, error: /\.authn_policies\[0\]\.all_of\[2\] "jwt" appears twice/ },
  { name: 'set_js_app', args: { bundle: { ...(withEndpoint('/compute', 'post', COMPUTE_ENDPOINT) as object), modules: [{ name: '../app.js', module: '' }] } }, error: /\.modules\[0\]\.name must be a module name without empty, "\." or "\.\." segments, got "\.\.\/app\.js"/ },
  // As CCF's: a policy is a string (any: an unknown one fails its endpoint's requests) or an all_of of strings.
  { name: 'set_js_app', args: { bundle: withEndpoint('/compute', 'post', { ...COMPUTE_ENDPOINT, authn_policies: ['user_cert', 7] }) }, error: /\.authn_policies\[1\] must be an object with all_of, got number 7/ },
  { name: 'set_js_app', args: { bundle: withEndpoint('/compute', 'post', { ...COMPUTE_ENDPOINT, authn_policies: [{ all_of: ['jwt', 7] }] }) }, error: /\.authn_policies\[0\]\.all_of\[1\] must be a string, got number 7/ },
  { name: 'set_js_app', args: { bundle: withEndpoint('/compute', 'post', { ...COMPUTE_ENDPOINT, forwarding_required: 'maybe' }) }, error: /\.forwarding_required must be one of/ },
  { name: 'set_js_app', args: { bundle: { ...APP_BUNDLE, modules: [...APP_BUNDLE.modules, APP_BUNDLE.modules[0]] } }, error: /args\.bundle\.modules\[2\]\.name "math\.js" appears twice/ },
  { name: 'set_js_app', args: { bundle: { ...APP_BUNDLE, modules: [{ name: '/math.js', module: '' }] } }, error: /no leading "\/"/ },
  { name: 'set_js_app', args: { bundle: { ...APP_BUNDLE, metadata: { endpoints: { '/a': { get: READ_ENDPOINT, GET: READ_ENDPOINT } } } } }, error: /endpoint "GET \/a" is defined twice/ },
  { name: 'set_js_app', args: { bundle: APP_BUNDLE, disable_bytecode_cache: 'yes' }, error: /args\.disable_bytecode_cache must be true or false/ },
  { name: 'set_js_runtime_options', args: { max_heap_bytes: 1.5, max_stack_bytes: 1, max_execution_time_ms: 0 }, error: /args\.max_heap_bytes must be an integer, got/ },
  { name: 'set_js_runtime_options', args: { max_heap_bytes: 1, max_stack_bytes: 1, max_execution_time_ms: '0' }, error: /args\.max_execution_time_ms must be an integer, got/ },
  { name: 'set_ca_cert_bundle', args: { name: 'roots', cert_bundle: CA_BUNDLE + EC_PUBLIC_PEM }, error: /args\.cert_bundle must be one or more PEM "CERTIFICATE" blocks/ },
  { name: 'set_ca_cert_bundle', args: { name: 'roots', cert_bundle: `${CA_BUNDLE}trailing words` }, error: /args\.cert_bundle must be one or more PEM "CERTIFICATE" blocks/ },
  // CCF 7: roots only; a self-signed certificate that is no CA is a leaf.
  { name: 'set_ca_cert_bundle', args: { name: 'roots', cert_bundle: CA_BUNDLE + USER_CERT }, error: /args\.cert_bundle\[2\] must be a self-signed \(root\) CA certificate/ },
  { name: 'set_jwt_issuer', args: { issuer: 'http://login.example.com', ca_cert_bundle_name: 'roots', auto_refresh: true }, error: /args\.issuer must be an https:\/\/ URL without query or fragment when auto_refresh is true/ },
  // CCF: an auto-refreshed issuer's keys are found under <issuer>/.well-known/, so no query or fragment.
  { name: 'set_jwt_issuer', args: { issuer: 'https://login.example.com/?tenant=1', ca_cert_bundle_name: 'roots', auto_refresh: true }, error: /args\.issuer must be an https:\/\/ URL without query or fragment when auto_refresh is true/ },
  { name: 'set_jwt_issuer', args: { issuer: 'https://login.example.com/#v2', ca_cert_bundle_name: 'roots', auto_refresh: true }, error: /args\.issuer must be an https:\/\/ URL without query or fragment when auto_refresh is true/ },
  { name: 'set_jwt_issuer', args: { issuer: '', jwks: JWKS }, error: /args\.issuer must be a non-empty string/ },
  { name: 'set_jwt_issuer', args: { issuer: ISSUER, auto_refresh: true }, error: /args\.ca_cert_bundle_name is required with auto_refresh/ },
  { name: 'set_jwt_issuer', args: { issuer: ISSUER, jwks: { keys: [RSA_JWK, RSA_JWK] } }, error: /args\.jwks\.keys\[1\]\.kid "rsa-key" appears twice/ },
  { name: 'set_jwt_issuer', args: { issuer: ISSUER, jwks: { keys: [RSA_1024_JWK] } }, error: /args\.jwks\.keys\[0\]\.n \(kid "small"\) is a 1024-bit RSA modulus: at least 2048 bits are required/ },
  { name: 'set_jwt_public_signing_keys', args: { issuer: ISSUER, jwks: { keys: [RSA_2048_X5C_JWK, RSA_1024_X5C_JWK] } }, error: /args\.jwks\.keys\[1\]\.x5c\[0\] \(kid "small-cert"\) holds a 1024-bit RSA key: at least 2048 bits are required/ },
  { name: 'set_jwt_public_signing_keys', args: { issuer: ISSUER, jwks: { keys: [{ ...RSA_2048_X5C_JWK, x5c: [MEMBER_CERT.replace(/-----[A-Z ]+-----|\s/g, '')] }] } }, error: /args\.jwks\.keys\[0\]\.x5c\[0\] \(kid "certified"\) holds no RSA key, as kty "RSA" says it must/ },
  { name: 'set_jwt_public_signing_keys', args: { issuer: ISSUER, jwks: { keys: [{ ...RSA_2048_X5C_JWK, x5c: ['bm90IGEgY2VydGlmaWNhdGU='] }] } }, error: /args\.jwks\.keys\[0\]\.x5c\[0\] \(kid "certified"\) is not a parsable X\.509 certificate/ },
  { name: 'set_jwt_public_signing_keys', args: { issuer: ISSUER, jwks: { keys: [{ ...EC_X5C_JWK, x5c: [ecCertificate('secp256k1').x5c] }] } }, error: /args\.jwks\.keys\[0\]\.x5c\[0\] \(kid "ec-cert"\) holds an EC key on a curve other than P-256, P-384, P-521/ },
  { name: 'set_jwt_public_signing_keys', args: { issuer: ISSUER, jwks: { keys: [{ kty: 'EC', kid: 'ec-key', crv: 'P-256' }] } }, error: /args\.jwks\.keys\[0\] needs "crv", "x" and "y" or "x5c"/ },
  { name: 'set_jwt_issuer', args: { issuer: ISSUER, jwks: { keys: [{ ...EC_JWK, crv: 'secp256k1' }] } }, error: /args\.jwks\.keys\[0\]\.crv must be one of "P-256", "P-384", "P-521"/ },
  { name: 'set_jwt_issuer', args: { issuer: ISSUER, jwks: { keys: [{ ...EC_JWK, kty: 'oct' }] } }, error: /args\.jwks\.keys\[0\]\.kty must be one of "RSA", "EC"/ },
  { name: 'set_jwt_public_signing_keys', args: { issuer: ISSUER }, error: /args\.jwks is required/ },
  { name: 'add_snp_measurement', args: { measurement: 'ab'.repeat(32) }, error: /args\.measurement must be 96 lowercase hex digits \(48 bytes\)/ },
  { name: 'add_snp_host_data', args: { host_data: ID, security_policy: POLICY }, error: /args\.host_data must be the SHA-256 of args\.security_policy/ },
  { name: 'add_snp_uvm_endorsement', args: { did: UVM_DID, feed: 'f', svn: 101 }, error: /args\.svn must be a string of decimal digits/ },
  { name: 'add_snp_uvm_endorsement', args: { did: 'x509:0', feed: 'f', svn: '1' }, error: /args\.did must be a DID/ },
  { name: 'set_snp_minimum_tcb_version', args: { cpuid: '00a00f11', tcb_version: { boot_loader: 3, tee: 256, snp: 20, microcode: 209 } }, error: /args\.tcb_version\.tee must be an integer from 0 to 255/ },
  { name: 'set_snp_minimum_tcb_version', args: { cpuid: '00A00F11', tcb_version: { boot_loader: 3, tee: 0, snp: 20, microcode: 209 } }, error: /args\.cpuid must be 8 lowercase hex digits/ },
  { name: 'set_snp_minimum_tcb_version_hex', args: { cpuid: '00a00f11', tcb_version: 'D315000000000004' }, error: /args\.tcb_version must be 16 lowercase hex digits/ },
  { name: 'set_snp_minimum_tcb_version_hex', args: { cpuid: '00a20f11', tcb_version: 'd315000000000004' }, error: /Unsupported CPUID family 25 model 33/ },
  { name: 'add_virtual_host_data', args: { host_data: 'not hex' }, error: /args\.host_data must be 64 lowercase hex digits/ },
  { name: 'transition_node_to_trusted', args: { node_id: ID, valid_from: '2025-13-01T00:00:00Z' }, error: /args\.valid_from "2025-13-01T00:00:00Z" is not a calendar date and time/ },
  { name: 'transition_node_to_trusted', args: { node_id: ID, valid_from: 'yesterday' }, error: /args\.valid_from must be a UTCTime/ },
  { name: 'transition_node_to_trusted', args: { node_id: ID, valid_from: '2025-01-01T00:00:00' }, error: /args\.valid_from must be a UTCTime/ },
  { name: 'transition_node_to_trusted', args: { node_id: ID, valid_from: '2075-01-01T00:00:00Z' }, error: /outside the years a UTCTime holds/ },
  { name: 'transition_node_to_trusted', args: { node_id: ID, valid_from: '250101000000Z', validity_period_days: 400 }, error: /args\.validity_period_days 400 is above the service's maximum_node_certificate_validity_days \(365\)/ },
  { name: 'set_service_configuration', args: {}, error: /args must set at least one of/ },
  { name: 'assert_service_identity', args: { service_identity: USER_CERT }, error: /args\.service_identity is not the current service certificate/ },
];

describe('constitution validate', () => {
  it('defines exactly the actions Coco supports, under CCF names', () => {
    assert.deepEqual([...constitution.actions.keys()].sort(), [...REQUIRED_ACTIONS].sort());
  });

  it('accepts a well-formed proposal of every action', () => {
    const host = freshHost();
    service(host);
    for (const action of GOOD_ACTIONS) {
      assert.deepEqual(validateIn(host, proposal(action)), { valid: true, description: 'OK' }, `${action.name} ${JSON.stringify(action.args)?.slice(0, 120)}`);
    }
    assert.deepEqual(validateIn(host, proposal(...GOOD_ACTIONS)), { valid: true, description: 'OK' });
  });

  it("accepts, as CCF's does, an app whose endpoints name a policy no node knows (CCF's own test apps name removed ones): only that endpoint's requests fail", () => {
    const host = freshHost();
    service(host);
    const bundle = withEndpoint('/multi_auth', 'get', { ...COMPUTE_ENDPOINT, authn_policies: ['user_cert', 'user_signature', { all_of: ['member_signature', 'jwt'] }] });
    assert.deepEqual(validateIn(host, proposal({ name: 'set_js_app', args: { bundle } })), { valid: true, description: 'OK' });
  });

  it('names the action and the argument at fault for bad arguments', () => {
    const host = freshHost();
    service(host);
    for (const { name, args, error } of BAD_ACTIONS) {
      const result = validateIn(host, proposal({ name, args }));
      assert.equal(result.valid, false, `${name} ${JSON.stringify(args)?.slice(0, 120)} should be invalid`);
      assert.ok(result.description.startsWith(`actions[0] ${name}: `), result.description);
      assert.match(result.description, error);
    }
  });

  it('lists every failing action with its position and leaves the good ones out', () => {
    const host = freshHost();
    service(host);
    const result = validateIn(host, proposal(
      { name: 'set_user', args: { cert: USER_CERT } },
      { name: 'open_sesame', args: {} },
      { name: 'trigger_snapshot' },
      { name: 'remove_user', args: { user_id: 'me' } },
    ));
    assert.equal(result.valid, false);
    const lines = result.description.split('\n');
    assert.equal(lines.length, 2);
    assert.equal(lines[0], 'actions[1]: unknown action "open_sesame"');
    assert.match(lines[1] ?? '', /^actions\[3\] remove_user: args\.user_id must be 64 lowercase hex digits/);
  });

  it('refuses proposals that are not {"actions": [...]}', () => {
    const host = freshHost();
    const cases: [string, RegExp][] = [
      ['{"actions": [', /^the proposal is not JSON/],
      ['[]', /a proposal is \{"actions"/],
      ['{"action": []}', /a proposal is \{"actions"/],
      ['{"actions": [], "comment": "x"}', /unexpected field comment/],
      ['{"actions": [{"args": {}}]}', /^actions\[0\]: must be \{"name"/],
      ['{"actions": ["trigger_snapshot"]}', /^actions\[0\]: must be \{"name"/],
      ['{"actions": [{"name": "trigger_snapshot", "arg": {}}]}', /^actions\[0\] trigger_snapshot: unexpected field arg/],
    ];
    for (const [body, error] of cases) {
      const result = validateIn(host, body);
      assert.equal(result.valid, false, body);
      assert.match(result.description, error, body);
    }
    assert.deepEqual(validateIn(host, '{"actions": []}'), { valid: true, description: 'OK' });
  });
});

// ---------------------------------------------------------------------------------------------------
// resolve

describe('constitution resolve', () => {
  const T = true;
  const F = false;
  // [active members, ballots of the first members in order, expected state]
  const cases: [number, boolean[], string][] = [
    [1, [], 'Open'], [1, [T], 'Accepted'], [1, [F], 'Rejected'],
    [2, [T], 'Open'], [2, [T, T], 'Accepted'], [2, [F], 'Rejected'], [2, [T, F], 'Rejected'],
    [3, [T], 'Open'], [3, [T, T], 'Accepted'], [3, [F], 'Open'], [3, [F, F], 'Rejected'], [3, [T, F], 'Open'], [3, [T, F, T], 'Accepted'],
    [4, [T, T], 'Open'], [4, [T, T, T], 'Accepted'], [4, [F], 'Open'], [4, [F, F], 'Rejected'], [4, [T, T, F], 'Open'], [4, [T, T, F, T], 'Accepted'],
  ];

  it('accepts on a strict majority of Active members and rejects once a majority is out of reach', () => {
    for (const [activeCount, ballots, expected] of cases) {
      const host = freshHost();
      const ids = members(host, Array<string>(activeCount).fill('Active'));
      const votes = ballots.map((vote, i) => ({ member_id: ids[i]!, vote }));
      const state = host.run('read-only', () => constitution.resolve(proposal(), ids[0]!, votes, PROPOSAL_ID));
      assert.equal(state, expected, `${activeCount} active, votes ${JSON.stringify(ballots)}`);
    }
  });

  it('counts only ballots of Active members, each once, and gives the proposer no implicit vote', () => {
    const host = freshHost();
    const [a, b, c, accepted] = members(host, ['Active', 'Active', 'Active', 'Accepted']);
    const resolve = (votes: { member_id: string; vote: boolean }[]): string =>
      host.run('read-only', () => constitution.resolve(proposal(), a!, votes, PROPOSAL_ID));
    assert.equal(resolve([]), 'Open');
    assert.equal(resolve([{ member_id: a!, vote: true }, { member_id: accepted!, vote: true }]), 'Open');
    assert.equal(resolve([{ member_id: a!, vote: true }, { member_id: a!, vote: true }]), 'Open');
    assert.equal(resolve([{ member_id: 'f'.repeat(64), vote: true }, { member_id: b!, vote: true }]), 'Open');
    assert.equal(resolve([{ member_id: b!, vote: true }, { member_id: c!, vote: true }]), 'Accepted');
  });

  it('sandbox resolve accepts any proposal at once', () => {
    const host = freshHost();
    members(host, ['Active', 'Active', 'Active']);
    assert.equal(host.run('read-only', () => sandbox.resolve(proposal(), ID, [], PROPOSAL_ID)), 'Accepted');
  });
});

// ---------------------------------------------------------------------------------------------------
// apply

describe('constitution apply', () => {
  it('set_user stores the raw PEM and {user_data} under the user ID as UTF-8', () => {
    const host = freshHost();
    service(host);
    applyIn(host, proposal({ name: 'set_user', args: { cert: USER_CERT, user_data: { name: 'alice' } } }));
    const userId = certificateId(USER_CERT);
    assert.deepEqual(host.map(Tables.usersCerts).keys(), [userId]);
    assert.equal(host.text(Tables.usersCerts, userId), USER_CERT);
    assert.equal(host.text(Tables.usersInfo, userId), '{"user_data":{"name":"alice"}}');

    applyIn(host, proposal({ name: 'set_user_data', args: { user_id: userId } }));
    assert.equal(host.text(Tables.usersInfo, userId), undefined);
    assert.throws(() => applyIn(host, proposal({ name: 'set_user_data', args: { user_id: ID, user_data: 1 } })), /user c{64} does not exist/);
    applyIn(host, proposal({ name: 'remove_user', args: { user_id: userId } }));
    assert.equal(host.map(Tables.usersCerts).size, 0);
  });

  it('set_member stores an Accepted member with its key, role, data and the latest signature root to ack', () => {
    const host = freshHost();
    service(host);
    const root = 'ab'.repeat(32);
    host.seedJson(Tables.signatures, SINGLETON, { root, seqno: 12, view: 2 });
    applyIn(host, proposal({ name: 'set_member', args: { cert: MEMBER_CERT, encryption_pub_key: RSA_2048_PEM, member_data: { is_operator: true } } }));
    const memberId = certificateId(MEMBER_CERT);
    assert.equal(host.text(Tables.membersCerts, memberId), MEMBER_CERT);
    assert.equal(host.text(Tables.membersKeys, memberId), RSA_2048_PEM);
    assert.equal(host.text(Tables.membersInfo, memberId), '{"status":"Accepted","member_data":{"is_operator":true},"recovery_role":"Participant"}');
    assert.equal(host.text(Tables.membersAcks, memberId), `{"state_digest":"${root}"}`);
  });

  it('set_member before any signature acks the empty digest, and without a key is no recovery member', () => {
    const host = freshHost();
    service(host);
    applyIn(host, proposal({ name: 'set_member', args: { cert: MEMBER_CERT } }));
    const memberId = certificateId(MEMBER_CERT);
    assert.equal(host.text(Tables.membersInfo, memberId), '{"status":"Accepted"}');
    assert.equal(host.text(Tables.membersAcks, memberId), '{"state_digest":""}');
    assert.equal(host.map(Tables.membersKeys).size, 0);
  });

  it('set_member refuses recovery members while the service recovers', () => {
    const host = freshHost();
    service(host, 'Recovering');
    assert.throws(
      () => applyIn(host, proposal({ name: 'set_member', args: { cert: MEMBER_CERT, encryption_pub_key: RSA_2048_PEM } })),
      /cannot change recovery members while the service is Recovering/,
    );
    assert.equal(host.changes.length, 0);
  });

  it('remove_member keeps enough recovery participants for the threshold, which set_recovery_threshold lowers (refreshing the shares), and rekeys when one leaves', () => {
    const host = freshHost();
    service(host, 'Open');
    const [a, b] = members(host, ['Active', 'Active']);
    for (const id of [a!, b!]) host.seedText(Tables.membersKeys, id, RSA_2048_PEM);
    host.seedJson(Tables.serviceConfig, SINGLETON, { recovery_threshold: 2 });
    assert.throws(() => applyIn(host, proposal({ name: 'remove_member', args: { member_id: a! } })), /would leave 1 active recovery participants, below the recovery threshold 2: lower the threshold or add recovery members first/);
    assert.deepEqual(host.calls, []);

    // Lowering the threshold first, as the refusal says, re-issues the shares.
    applyIn(host, proposal({ name: 'set_recovery_threshold', args: { recovery_threshold: 1 } }));
    assert.equal(JSON.parse(host.text(Tables.serviceConfig, SINGLETON)!).recovery_threshold, 1);
    assert.deepEqual(host.callNames(), ['triggerRecoverySharesRefresh']);
    applyIn(host, proposal({ name: 'remove_member', args: { member_id: a! } }));
    assert.equal(host.text(Tables.membersInfo, a!), undefined);
    assert.equal(host.text(Tables.membersKeys, a!), undefined);
    assert.deepEqual(host.callNames(), ['triggerRecoverySharesRefresh', 'triggerLedgerRekey']);
  });

  it('remove_member never leaves the ledger secret without a recovery holder: an owner counts, the last holder stays', () => {
    const host = freshHost();
    service(host, 'Open');
    const [participant, owner] = members(host, ['Active', 'Active']);
    host.seedJson(Tables.membersInfo, owner!, { status: 'Active', recovery_role: 'Owner' });
    for (const id of [participant!, owner!]) host.seedText(Tables.membersKeys, id, RSA_2048_PEM);
    host.seedJson(Tables.serviceConfig, SINGLETON, { recovery_threshold: 1 });
    // The owner holds the whole key: with a threshold of 1 the last participant may go.
    applyIn(host, proposal({ name: 'remove_member', args: { member_id: participant! } }));
    assert.deepEqual(host.callNames(), ['triggerLedgerRekey']);
    assert.throws(() => applyIn(host, proposal({ name: 'remove_member', args: { member_id: owner! } })), /would leave no active recovery member to hold the ledger secret/);
    assert.equal(host.text(Tables.membersKeys, owner!), RSA_2048_PEM);
    // As CCF: an Active member with an encryption key is rekeyed away even when it holds no share.
    const [bystander] = members(host, ['Active']);
    host.seedJson(Tables.membersInfo, bystander!, { status: 'Active', recovery_role: 'NonParticipant' });
    host.seedText(Tables.membersKeys, bystander!, RSA_2048_PEM);
    applyIn(host, proposal({ name: 'remove_member', args: { member_id: bystander! } }));
    assert.deepEqual(host.callNames(), ['triggerLedgerRekey', 'triggerLedgerRekey']);
    // A member set again is Accepted until it acks: it is rekeyed away if it still has a share.
    const [newcomer, setAgain] = ['newcomer', 'set again'].map((name) => toHex(createHash('sha256').update(name).digest()));
    for (const id of [newcomer!, setAgain!]) {
      host.seedJson(Tables.membersInfo, id, { status: 'Accepted', recovery_role: 'Participant' });
      host.seedText(Tables.membersKeys, id, RSA_2048_PEM);
    }
    host.seedJson(Tables.recoveryShares, SINGLETON, { wrapped_latest_ledger_secret: '', encrypted_shares: { [owner!]: 'a2V5', [setAgain!]: 'c2hhcmU=' } });
    applyIn(host, proposal({ name: 'remove_member', args: { member_id: newcomer! } }));
    assert.deepEqual(host.callNames(), ['triggerLedgerRekey', 'triggerLedgerRekey']);
    applyIn(host, proposal({ name: 'remove_member', args: { member_id: setAgain! } }));
    assert.deepEqual(host.callNames(), ['triggerLedgerRekey', 'triggerLedgerRekey', 'triggerLedgerRekey']);
  });

  describe('set_member of a recovery member is held to remove_member\'s safeguards when it takes away what the member holds, and rekeys its share away', () => {
    const other = toHex(createHash('sha256').update('the other participant').digest());
    const memberId = certificateId(MEMBER_CERT);
    const asParticipant = { cert: MEMBER_CERT, encryption_pub_key: RSA_2048_PEM };
    const asOwner = { ...asParticipant, recovery_role: 'Owner' };
    const asNonParticipant = { ...asParticipant, recovery_role: 'NonParticipant' };
    const withoutKey = { cert: MEMBER_CERT };
    // [case, the member's info, whether the latest shares have one for it, the other participant's status, threshold, set_member args, refusal or effects]
    const cases: [string, object, boolean, string, number, object, RegExp | string[]][] = [
      ['set again as it is (it counts again once it acks)', { status: 'Active' }, true, 'Active', 2, asParticipant, []],
      ['a participant made an owner, a participant left for a threshold of 1', { status: 'Active' }, true, 'Active', 1, asOwner, []],
      ['a participant made an owner, below the threshold', { status: 'Active' }, true, 'Active', 2, asOwner, /setting member \w+ with recovery_role Owner would leave 1 active recovery participants, below the recovery threshold 2: lower the threshold or add recovery members first/],
      ['a participant made a non-participant, below the threshold', { status: 'Active' }, true, 'Active', 2, asNonParticipant, /with recovery_role NonParticipant would leave 1 active recovery participants, below the recovery threshold 2/],
      ['a participant made a non-participant, the threshold kept', { status: 'Active' }, true, 'Active', 1, asNonParticipant, ['triggerLedgerRekey']],
      ['the last owner without its key', { status: 'Active', recovery_role: 'Owner' }, true, 'Accepted', 1, withoutKey, /without an encryption key would leave no active recovery member to hold the ledger secret: add another recovery member first/],
      ['an owner made a participant', { status: 'Active', recovery_role: 'Owner' }, true, 'Active', 1, asParticipant, []],
      ['an Accepted member that still has a share, without its key', { status: 'Accepted', recovery_role: 'Participant' }, true, 'Active', 1, withoutKey, ['triggerLedgerRekey']],
      ['a non-participant without its key (it held no share)', { status: 'Active', recovery_role: 'NonParticipant' }, false, 'Active', 1, withoutKey, []],
    ];
    for (const [name, info, issued, otherStatus, threshold, args, outcome] of cases) {
      it(name, () => {
        const host = freshHost();
        service(host, 'Open');
        host.seedJson(Tables.serviceConfig, SINGLETON, { recovery_threshold: threshold });
        host.seedJson(Tables.membersInfo, memberId, info);
        host.seedJson(Tables.membersInfo, other, { status: otherStatus });
        for (const id of [memberId, other]) host.seedText(Tables.membersKeys, id, RSA_2048_PEM);
        host.seedJson(Tables.recoveryShares, SINGLETON, { wrapped_latest_ledger_secret: '', encrypted_shares: { [other]: 'c2hhcmU=', ...(issued && { [memberId]: 'c2hhcmU=' }) } });
        const setting = () => applyIn(host, proposal({ name: 'set_member', args }));
        if (outcome instanceof RegExp) {
          assert.throws(setting, outcome);
          assert.equal(host.changes.length, 0);
        } else {
          setting();
          assert.deepEqual(host.callNames(), outcome);
        }
      });
    }
  });

  it('set_js_app replaces modules and endpoints in CCF keys, clears bytecode, flushes interpreters', () => {
    const host = freshHost();
    service(host);
    host.seedText(Tables.modules, '/old.js', 'export function old() {}');
    host.seedText(Tables.bytecode, '/old.js', 'bytecode');
    host.seedJson(Tables.endpoints, 'GET /old', { js_module: '/old.js' });
    applyIn(host, proposal({ name: 'set_js_app', args: { bundle: APP_BUNDLE } }));

    assert.deepEqual(host.map(Tables.modules).keys(), ['/math.js', '/util/fmt.js']);
    assert.equal(host.text(Tables.modules, '/math.js'), APP_BUNDLE.modules[0]!.module);
    assert.deepEqual(host.map(Tables.endpoints).keys(), ['GET /compute/{id}', 'POST /compute']);
    assert.equal(host.text(Tables.endpoints, 'POST /compute'), JSON.stringify({ ...COMPUTE_ENDPOINT, js_module: '/math.js' }));
    assert.equal(host.text(Tables.endpoints, 'GET /compute/{id}'), JSON.stringify({ ...READ_ENDPOINT, js_module: '/math.js' }));
    assert.equal(host.map(Tables.bytecode).size, 0);
    assert.equal(host.text(Tables.flush, SINGLETON), 'true');
    assert.deepEqual(host.callNames(), ['refreshAppBytecodeCache']);

    const uncached = freshHost();
    applyIn(uncached, proposal({ name: 'set_js_app', args: { bundle: APP_BUNDLE, disable_bytecode_cache: true } }));
    assert.deepEqual(uncached.callNames(), []);
    applyIn(uncached, proposal({ name: 'remove_js_app' }));
    assert.equal(uncached.map(Tables.modules).size + uncached.map(Tables.endpoints).size, 0);
  });

  it('set_constitution stores the source as a JSON string under the eight-zero-byte key', () => {
    const host = freshHost();
    const source = 'export function resolve() {\n  return "Open";\n}\n';
    applyIn(host, proposal({ name: 'set_constitution', args: { constitution: source } }));
    assert.deepEqual(host.changes.map((c) => [c.table, c.keyHex]), [[Tables.constitution, '0000000000000000']]);
    assert.equal(host.text(Tables.constitution, SINGLETON), JSON.stringify(source));
  });

  it('transition_service_to_open hands the node the next identity, and the previous one when recovering', () => {
    const host = freshHost();
    service(host);
    // The same certificate with CRLF line ends: compared as DER, not as text.
    applyIn(host, proposal({ name: 'transition_service_to_open', args: { next_service_identity: SERVICE_CERT.replace(/\n/g, '\r\n') } }));
    assert.equal(host.calls.length, 1);
    const [previous, next] = host.calls[0]!.args;
    assert.equal(previous, undefined);
    assert.equal(host.ccf.bufToStr(next), SERVICE_CERT.replace(/\n/g, '\r\n'));

    const recovering = freshHost();
    service(recovering, 'Recovering');
    const open = (args: unknown): void => applyIn(recovering, proposal({ name: 'transition_service_to_open', args }));
    assert.throws(() => open({ next_service_identity: SERVICE_CERT }), /previous_service_identity is required to open a recovering service/);
    open({ next_service_identity: SERVICE_CERT, previous_service_identity: PREVIOUS_SERVICE_CERT });
    assert.deepEqual(recovering.calls.map((call) => call.args.map((arg) => recovering.ccf.bufToStr(arg))), [[PREVIOUS_SERVICE_CERT, SERVICE_CERT]]);
  });

  it('transition_service_to_open refuses another identity, and leaves a service already open as it is (as CCF)', () => {
    const host = freshHost();
    service(host);
    assert.throws(
      () => applyIn(host, proposal({ name: 'transition_service_to_open', args: { next_service_identity: PREVIOUS_SERVICE_CERT } })),
      /args\.next_service_identity is not the current service certificate/,
    );
    for (const status of ['Open', 'WaitingForRecoveryShares']) {
      const open = freshHost();
      service(open, status);
      applyIn(open, proposal({ name: 'transition_service_to_open', args: { next_service_identity: SERVICE_CERT } }));
      assert.deepEqual(open.calls, [], `${status}: nothing asked of the node`);
    }
    assert.deepEqual(host.calls, []);
  });

  it('set_jwt_issuer stores the issuer record and hands its keys to the node', () => {
    const host = freshHost();
    service(host);
    applyIn(host, proposal({ name: 'set_jwt_issuer', args: { issuer: ISSUER, ca_cert_bundle_name: 'roots', auto_refresh: true, jwks: JWKS } }));
    const metadata = { issuer: ISSUER, ca_cert_bundle_name: 'roots', auto_refresh: true };
    assert.deepEqual(host.map(Tables.jwtIssuers).keys(), [ISSUER]);
    assert.equal(host.text(Tables.jwtIssuers, ISSUER), JSON.stringify(metadata));
    assert.deepEqual(host.calls, [{ name: 'setJwtPublicSigningKeys', args: [ISSUER, metadata, JWKS] }]);

    applyIn(host, proposal({ name: 'set_jwt_issuer', args: { issuer: 'https://other.example.com' } }));
    assert.equal(host.text(Tables.jwtIssuers, 'https://other.example.com'), '{"issuer":"https://other.example.com","auto_refresh":false}');
    // As in CCF, a bundle an issuer names can be removed (before the issuer, in one proposal).
    applyIn(host, proposal({ name: 'remove_ca_cert_bundle', args: { name: 'roots' } }, { name: 'remove_jwt_issuer', args: { issuer: ISSUER } }));
    assert.equal(host.text(Tables.caBundles, 'roots'), undefined);
    assert.equal(host.text(Tables.jwtIssuers, ISSUER), undefined);
    assert.deepEqual(host.calls.at(-1), { name: 'removeJwtPublicSigningKeys', args: [ISSUER] });
  });

  it("cleanup_legacy_jwt_records clears CCF's legacy JWT key tables, and keeps the current one", () => {
    const legacy = ['public:ccf.gov.jwt.public_signing_keys_metadata', 'public:ccf.gov.jwt.public_signing_key', 'public:ccf.gov.jwt.public_signing_keys', 'public:ccf.gov.jwt.public_signing_key_issuer'];
    const host = freshHost();
    service(host);
    for (const table of legacy) host.seedText(table, 'kid', 'x');
    assert.throws(() => applyIn(host, proposal({ name: 'cleanup_legacy_jwt_records', args: { ensure_new_records_exist: true } })), /No new JWT public signing keys records found/);
    host.seedJson(Tables.jwtKeys, 'kid', [{ public_key: 'AA==', issuer: ISSUER }]);
    applyIn(host, proposal({ name: 'cleanup_legacy_jwt_records', args: { ensure_new_records_exist: true } }));
    assert.deepEqual(legacy.map((table) => host.map(table).size), [0, 0, 0, 0]);
    assert.equal(host.map(Tables.jwtKeys).size, 1);
    for (const table of legacy) host.seedText(table, 'kid', 'x');
    applyIn(host, proposal({ name: 'cleanup_legacy_jwt_records' }));
    assert.deepEqual(legacy.map((table) => host.map(table).size), [0, 0, 0, 0]);
  });

  it('set_jwt_issuer refuses a CA bundle that does not exist', () => {
    const host = freshHost();
    service(host);
    assert.throws(
      () => applyIn(host, proposal({ name: 'set_jwt_issuer', args: { issuer: ISSUER, ca_cert_bundle_name: 'nope', auto_refresh: true } })),
      /CA certificate bundle "nope" does not exist/,
    );
  });

  it('transition_node_to_trusted trusts a Pending node and endorses its CSR from valid_from in UTC', () => {
    const host = freshHost();
    service(host);
    applyIn(host, proposal({ name: 'transition_node_to_trusted', args: { node_id: ID, valid_from: '2025-03-27T22:54:49.5+02:00', validity_period_days: 30 } }));
    assert.deepEqual(JSON.parse(host.text(Tables.nodesInfo, ID)!), { certificate_signing_request: NODE_CSR, node_data: null, status: 'Trusted', ledger_secret_seqno: LEDGER_SECRET_SEQNO });
    assert.deepEqual(host.calls.at(-1), { name: 'generateEndorsedCertificate', args: [NODE_CSR, '250327205449Z', 30] });
    assert.equal(host.text(Tables.nodesEndorsed, ID), ENDORSED_PEM);

    host.seedJson(Tables.nodesInfo, 'd'.repeat(64), { status: 'Trusted' });
    applyIn(host, proposal({ name: 'remove_node', args: { node_id: ID } }));
    assert.equal(JSON.parse(host.text(Tables.nodesInfo, ID)!).status, 'Retired');
    // As CCF's: a node that is not Pending is left as it is, a Retired one too (QA: it failed the proposal).
    const calls = host.calls.length;
    applyIn(host, proposal({ name: 'transition_node_to_trusted', args: { node_id: ID, valid_from: '250327205449Z' } }));
    assert.equal(JSON.parse(host.text(Tables.nodesInfo, ID)!).status, 'Retired');
    assert.equal(host.calls.length, calls, 'nothing endorsed');
  });

  it("runs under CCF's access rules: writes only in apply, only to public:ccf.gov tables", () => {
    const host = freshHost();
    service(host);
    const setUser = (): void => constitution.actions.get('set_user')!.apply({ cert: USER_CERT }, PROPOSAL_ID);
    assert.throws(() => host.run('read-only', setUser), /public:ccf\.gov\.users\.certs is read-only outside apply/);
    const signatures = host.map(Tables.signatures);
    assert.throws(() => host.run('apply', () => signatures.set(bufferOf(SINGLETON), bufferOf(SINGLETON))), /read-only for governance/);
    assert.equal(host.changes.length, 0);
  });
});

// ---------------------------------------------------------------------------------------------------
// Replaying CCF's own proposals

/** Tables the host writes during a proposal's transaction (lifecycle, or effects the node performs). */
const HOST_WRITTEN_TABLES = new Set([
  'public:ccf.gov.proposals', 'public:ccf.gov.proposals_info', 'public:ccf.gov.cose_history',
  'public:ccf.gov.cose_recent_proposals', 'public:ccf.gov.history', 'public:ccf.gov.service.info',
  'public:ccf.gov.nodes.endorsed_certificates',
]);

interface AcceptedProposal {
  ledger: string;
  txId: string;
  body: string;
  /** The constitution's share of the accepting transaction: table -> key hex -> value (undefined = removed). */
  expected: Map<string, Map<string, Uint8Array | undefined>>;
  /** Every public write before the accepting transaction, to seed the host with. */
  before: { table: string; key: Uint8Array; value: Uint8Array | undefined }[];
}

function acceptedProposals(ledger: string): AcceptedProposal[] {
  const found: AcceptedProposal[] = [];
  const bodies = new Map<string, string>();
  const history: AcceptedProposal['before'] = [];
  for (const chunk of realChunks(ledger)) {
    for (const entry of chunk.decoded.entries) {
      const maps = entry.publicMaps;
      for (const map of maps.filter((m) => m.name === 'public:ccf.gov.proposals')) {
        for (const write of map.writes) bodies.set(fromUtf8(write.key), fromUtf8(write.value));
      }
      const accepted = maps
        .filter((m) => m.name === 'public:ccf.gov.proposals_info')
        .flatMap((m) => m.writes)
        .filter((w) => (JSON.parse(fromUtf8(w.value)) as { state: string }).state === 'Accepted');
      for (const write of accepted) {
        const expected = new Map<string, Map<string, Uint8Array | undefined>>();
        for (const map of maps.filter((m) => m.name.startsWith('public:ccf.gov.') && !HOST_WRITTEN_TABLES.has(m.name))) {
          const changes = new Map<string, Uint8Array | undefined>();
          for (const w of map.writes) changes.set(toHex(w.key), w.value);
          for (const key of map.removes) changes.set(toHex(key), undefined);
          expected.set(map.name, changes);
        }
        found.push({ ledger, txId: formatTxId(entry.txId), body: bodies.get(fromUtf8(write.key))!, expected, before: [...history] });
      }
      for (const map of maps) {
        for (const w of map.writes) history.push({ table: map.name, key: w.key, value: w.value });
        for (const key of map.removes) history.push({ table: map.name, key, value: undefined });
      }
    }
  }
  return found;
}

describe('constitution replaying CCF proposals', () => {
  const proposals = ['genesis-14', 'expired-service'].flatMap(acceptedProposals);

  it('finds the accepted proposals of the real ledgers', () => {
    assert.deepEqual(proposals.map((p) => `${p.ledger} ${p.txId}`), [
      'genesis-14 2.6', 'genesis-14 2.8', 'genesis-14 2.10', 'genesis-14 2.13', 'expired-service 2.17',
    ]);
  });

  it('validates each and, applied on the state before it, writes the bytes CCF wrote', () => {
    for (const accepted of proposals) {
      const host = freshHost();
      for (const { table, key, value } of accepted.before) host.map(table).seed(key, value);
      const label = `${accepted.ledger} ${accepted.txId}`;
      assert.deepEqual(validateIn(host, accepted.body), { valid: true, description: 'OK' }, label);
      applyIn(host, accepted.body);
      const ours = new Map<string, Map<string, Uint8Array | undefined>>();
      for (const change of host.changes.filter((c) => !HOST_WRITTEN_TABLES.has(c.table))) {
        const table = ours.get(change.table) ?? new Map<string, Uint8Array | undefined>();
        table.set(change.keyHex, change.value);
        ours.set(change.table, table);
      }
      assert.deepEqual(ours, accepted.expected, label);
    }
  });

  it('hands the node what CCF did: an ISO valid_from as UTCTime, the identity to open with', () => {
    const calls = proposals.map((accepted) => {
      const host = freshHost();
      for (const { table, key, value } of accepted.before) host.map(table).seed(key, value);
      applyIn(host, accepted.body);
      return host.calls.map((call) => (call.name === 'generateEndorsedCertificate' ? [call.name, call.args[1], call.args[2]] : [call.name]));
    });
    assert.deepEqual(calls, [
      [['generateEndorsedCertificate', '250327205449Z', 90]],
      [],
      [],
      [['transitionServiceToOpen']],
      [['transitionServiceToOpen']],
    ]);
  });
});
