// What a constitution's `apply` may ask of the node, as CCF's `ccf.node`, `ccf.network` and the
// governance effects (`ccf.setJwtPublicSigningKeys`, ...): installed into the interpreter that runs
// `apply` only, as CCF adds them to its apply context only; and `ccf.gov`, for every constitution
// call. Effects Coco does not support yet throw in JS with a clear message instead of pretending.

import { createPublicKey, X509Certificate, type JsonWebKey, type KeyObject } from 'node:crypto';
import { invariant } from '../errors.js';
import { fromBase64, fromUtf8, toBase64, utf8 } from '../crypto/bytes.js';
import { OPENSSL_CURVE_NAMES } from '../crypto/ecdsa-nonce.js';
import { issueCertificate, createSelfSignedCertificate, parseCcfValidFrom } from '../crypto/x509.js';
import type { KeyPair } from '../crypto/signing.js';
import { readAppFromKv } from '../js/app-bundle.js';
import type { CallEnv } from '../js/call-env.js';
import type { JsGlobalInstaller, JsGlobalScope } from '../js/interpreter.js';
import type { JsValue } from '../js/js-value.js';
import type { Transaction } from '../kv/transaction.js';
import { decodeJson, encodeJson, readServiceInfo, SINGLETON, Tables } from './builtin-tables.js';
import type { ScriptChecker } from './script-checker.js';
import { clearSubmittedRecoveryShares } from './submitted-shares.js';

/** The node's side of the effects. */
export interface GovernanceHost {
  serviceKeyPair: KeyPair;
  serviceCertPem: string;
  /** Close the ledger chunk at the next signature. */
  triggerLedgerChunk(): void;
  /** Snapshot the state at the next signature, whatever snapshots.tx_count says. */
  triggerSnapshot(): void;
  /** Rotate the ledger secret: `tx` sends a new one to the Trusted nodes, applicable after it. */
  triggerLedgerRekey(tx: Transaction): void;
  /** The seqno the latest ledger secret applies from. */
  latestLedgerSecretSeqno(): number;
  /**
   * In the transaction that opens a new service: recovery shares of the latest ledger secret for the
   * recovery members, and the service's endorsement of its own identity.
   */
  atServiceOpening(tx: Transaction): void;
  /** New recovery shares of the same ledger secret (threshold or recovery membership changed). */
  triggerRecoverySharesRefresh(tx: Transaction): void;
}

/** Set as `CallEnv.extension` for an `apply` call: the effects act through its host. */
export interface ApplyExtension {
  kind: 'apply';
  host: GovernanceHost;
}

function applyHost(env: CallEnv): GovernanceHost {
  const extension = env.extension as ApplyExtension | undefined;
  invariant(extension?.kind === 'apply', "apply's effects are installed only in the interpreter that runs apply");
  return extension.host;
}

function stringArg(args: (JsValue | undefined)[], index: number, name: string): string {
  const value = args[index];
  if (typeof value !== 'string') throw new Error(`${name} must be a string`);
  return value;
}

function numberArg(args: (JsValue | undefined)[], index: number, name: string): number {
  const value = args[index];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive whole number of days`);
  return value;
}

function unsupported(name: string): () => never {
  return () => {
    throw new Error(`${name} is not supported by Coco yet`);
  };
}

/** A PEM the constitution passed as bytes (CCF's JS passes them NUL-terminated). */
function pemArg(value: JsValue | undefined): string | undefined {
  return value instanceof Uint8Array ? fromUtf8(value).replace(/\0+$/, '') : undefined;
}

/**
 * CCF's transition_service_to_open. A new service opens. A recovered one (Recovering) waits for
 * its members' recovery shares instead, once the proposal names the previous service's identity,
 * as its recovery recorded it, and its own: the node opens it when the shares restore the ledger
 * secrets. Returns whether the service opened.
 */
function openService(tx: Transaction, args: (JsValue | undefined)[]): boolean {
  const info = readServiceInfo(tx);
  if (info === undefined) throw new Error('the service has no identity');
  // As CCF: once opening, or open, proposing it again does nothing.
  if (info.status === 'WaitingForRecoveryShares' || info.status === 'Open') return false;
  const [previous, next] = [pemArg(args[0]), pemArg(args[1])];
  if (info.status === 'Recovering') {
    const recorded = tx.map(Tables.previousServiceIdentity).get(SINGLETON);
    if (recorded === undefined || previous === undefined) {
      throw new Error('Recovery with service certificates requires both, a previous service identity written to the KV during recovery genesis and a transition_service_to_open proposal that contains previous and next service certificates');
    }
    const actual = decodeJson<string>(recorded, Tables.previousServiceIdentity);
    if (actual !== previous) throw new Error(`Previous service identity does not match.\nActual:\n${actual}\nIn proposal:\n${previous}`);
  }
  if (next !== undefined && next !== info.cert) {
    throw new Error('Service identity mismatch: the next service identity in the transition_service_to_open proposal does not match the current service identity');
  }
  if (info.status === 'Recovering') {
    const version = tx.map(Tables.serviceInfo).getVersionOfPreviousWrite(SINGLETON);
    clearSubmittedRecoveryShares(tx);
    tx.map(Tables.serviceInfo).set(SINGLETON, encodeJson({ ...info, status: 'WaitingForRecoveryShares', ...(version !== undefined && { previous_service_identity_version: Number(version) }) }));
    tx.map(Tables.lastRecoveryType).set(SINGLETON, encodeJson('RECOVERY_SHARES'));
    return false;
  }
  tx.map(Tables.serviceInfo).set(SINGLETON, encodeJson({ ...info, status: 'Open' }));
  return true;
}

interface JwkKey {
  kid?: unknown;
  kty?: unknown;
  x5c?: unknown;
  issuer?: unknown;
  [field: string]: unknown;
}

/**
 * What a JWT signing key must be, wherever it comes from (a proposal's `jwks` or an issuer's key set
 * fetched by auto-refresh): the default constitution's `jsonWebKey` tells proposers the same rules.
 */
const JWT_RSA_KEY_BITS_MIN = 2048;
/** The EC curves allowed: Coco's ECDSA curves, by their JWK `crv` names (node:crypto's names as values). */
const JWT_EC_CURVES = OPENSSL_CURVE_NAMES;
const JWK_KEY_TYPES: Record<string, string> = { RSA: 'rsa', EC: 'ec' };

function parsedKey(kid: string, source: string, parse: () => KeyObject): KeyObject {
  try {
    return parse();
  } catch (error) {
    throw new Error(`JWK ${kid}'s ${source}: ${(error as Error).message}`);
  }
}

/** The public key a JWK gives: its own members (n/e, crv/x/y) or, as CCF takes one only without them, x5c[0]'s. */
function jwkPublicKey(kid: string, jwk: JwkKey): KeyObject {
  if (jwk.kty === 'RSA' && jwk.n !== undefined) {
    return parsedKey(kid, 'n and e are not an RSA public key', () => createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e } as JsonWebKey, format: 'jwk' }));
  }
  if (jwk.kty === 'EC' && jwk.x !== undefined) {
    if (typeof jwk.crv !== 'string' || !Object.hasOwn(JWT_EC_CURVES, jwk.crv)) {
      throw new Error(`JWK ${kid}'s crv ${JSON.stringify(jwk.crv)} is not one of ${Object.keys(JWT_EC_CURVES).join(', ')}`);
    }
    return parsedKey(kid, 'crv, x and y are not an EC public key', () => createPublicKey({ key: { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y } as JsonWebKey, format: 'jwk' }));
  }
  if ((jwk.kty === 'RSA' || jwk.kty === 'EC') && Array.isArray(jwk.x5c) && jwk.x5c.length > 0) {
    const certificateBase64: unknown = jwk.x5c[0];
    const certificate = typeof certificateBase64 === 'string' ? Buffer.from(certificateBase64, 'base64') : Buffer.alloc(0);
    return parsedKey(kid, 'x5c[0] is not a base64 DER certificate', () => new X509Certificate(certificate).publicKey);
  }
  // CCF's words for this case: the JWK "has neither RSA/EC public key or x5c".
  throw new Error(`JWK ${kid} (kty ${JSON.stringify(jwk.kty ?? null)}) has neither an RSA or EC public key nor an x5c certificate of one`);
}

/**
 * The SPKI DER of a JWK's key (`jwkPublicKey`): of its kty, RSA of at least JWT_RSA_KEY_BITS_MIN
 * bits or EC on a JWT_EC_CURVES curve. Anything else (OKP keys such as Ed25519, `oct`, no key at
 * all, a certificate of another kind of key) throws, naming the kid.
 */
function jwtSigningKeyDer(kid: string, jwk: JwkKey): Uint8Array {
  const key = jwkPublicKey(kid, jwk);
  const expectedType = JWK_KEY_TYPES[jwk.kty as string];
  if (key.asymmetricKeyType !== expectedType) {
    throw new Error(`JWK ${kid} has kty ${JSON.stringify(jwk.kty)} but its x5c[0] certificate holds no ${String(jwk.kty)} key (its key is ${String(key.asymmetricKeyType)})`);
  }
  const { modulusLength, namedCurve } = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa' && (modulusLength === undefined || modulusLength < JWT_RSA_KEY_BITS_MIN)) {
    throw new Error(`JWK ${kid} is a ${String(modulusLength)}-bit RSA key: at least ${JWT_RSA_KEY_BITS_MIN} bits are required`);
  }
  if (key.asymmetricKeyType === 'ec' && (namedCurve === undefined || !Object.values(JWT_EC_CURVES).includes(namedCurve))) {
    throw new Error(`JWK ${kid}'s x5c[0] certificate holds an EC key on ${String(namedCurve)}, not one of ${Object.keys(JWT_EC_CURVES).join(', ')}`);
  }
  return new Uint8Array(key.export({ type: 'spki', format: 'der' }));
}

/**
 * A JWT signing key as CCF stores it for an issuer: base64 SPKI DER and, when the JWK names an
 * `issuer` (Microsoft Entra's multi-tenant keys do), that as the constraint tokens' `iss` must meet.
 */
export interface JwtSigningKey {
  public_key: string;
  constraint?: string;
}

/** An entry of `jwt.public_signing_keys_metadata`: a key and the issuer that set it. */
export type JwtKeyMetadata = JwtSigningKey & { issuer: string };

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return '';
  }
}

/** CCF's rule: a key's issuer constraint must be on the issuer's domain, or the issuer on a subdomain of it. */
function constraintFits(issuer: string, constraint: string): boolean {
  const constraintHost = hostOf(constraint);
  const issuerHost = hostOf(issuer);
  return constraintHost !== '' && (issuerHost === constraintHost || issuerHost.endsWith(`.${constraintHost}`));
}

/**
 * The keys of `issuer`'s JWKS (`{"keys": [...]}`, each with a kid, a key `jwtSigningKeyDer` accepts
 * and optionally an issuer constraint) by kid; a malformed or empty set, or one key that is not
 * accepted, throws naming the key: proposals and auto-refresh store a key set whole or not at all.
 * A key without a constraint of its own takes `defaultConstraint` (as CCF's auto-refresh gives each
 * such key the `issuer` of the OpenID configuration it came from).
 */
export function jwksPublicKeys(jwks: unknown, issuer: string, defaultConstraint?: string): Map<string, JwtSigningKey> {
  const keys = (jwks as { keys?: JwkKey[] } | undefined)?.keys;
  if (!Array.isArray(keys)) throw new Error('jwks must be {"keys": [...]}');
  // As CCF: an empty set would remove every key of the issuer; it is refused and the keys stay.
  if (keys.length === 0) throw new Error('JWKS has no keys');
  const found = new Map<string, JwtSigningKey>();
  for (const key of keys) {
    if (typeof key?.kid !== 'string') throw new Error('every JWK needs a kid');
    if (found.has(key.kid)) throw new Error(`kid "${key.kid}" appears twice`);
    const der = jwtSigningKeyDer(key.kid, key);
    const constraint = key.issuer ?? defaultConstraint;
    if (constraint !== undefined && (typeof constraint !== 'string' || !constraintFits(issuer, constraint))) {
      throw new Error(`JWK ${key.kid}'s issuer constraint ${JSON.stringify(constraint)} is not on the domain of issuer ${issuer}`);
    }
    found.set(key.kid, { public_key: toBase64(der), ...(typeof constraint === 'string' && { constraint }) });
  }
  return found;
}

/** A legacy entry: CCF's holds the key's certificate, the one Coco wrote the key itself. */
type LegacyJwtKeyMetadata = { issuer: string; constraint?: string } & ({ cert: string } | { public_key: string });

function spkiOfCertificate(der: Uint8Array): string {
  return toBase64(new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' }));
}

/**
 * The keys registered under `kid`, or undefined: from the current table and, for a kid it does not
 * hold, from CCF's legacy tables (ledgers written before `_v2`), as CCF's JWT policy reads them.
 */
export function jwtKeysOfKid(tx: Transaction, kid: string): JwtKeyMetadata[] | undefined {
  const key = utf8(kid);
  const current = tx.map(Tables.jwtPublicSigningKeysMetadata).get(key);
  if (current !== undefined) return decodeJson<JwtKeyMetadata[]>(current, Tables.jwtPublicSigningKeysMetadata);
  const legacy = tx.map(Tables.jwtLegacyPublicSigningKeysMetadata).get(key);
  if (legacy !== undefined) {
    return decodeJson<LegacyJwtKeyMetadata[]>(legacy, Tables.jwtLegacyPublicSigningKeysMetadata).map((entry) => ({
      public_key: 'cert' in entry ? spkiOfCertificate(fromBase64(entry.cert)) : entry.public_key,
      issuer: entry.issuer,
      ...(entry.constraint != null && { constraint: entry.constraint }),
    }));
  }
  const cert = tx.map(Tables.jwtLegacyPublicSigningKey).get(key);
  const issuer = tx.map(Tables.jwtLegacyPublicSigningKeyIssuer).get(key);
  return cert === undefined || issuer === undefined ? undefined : [{ public_key: spkiOfCertificate(cert), issuer: fromUtf8(issuer) }];
}

/** Every kid with a key, in the current table or a legacy one. */
export function jwtKeyIds(tx: Transaction): Set<string> {
  const kids = new Set<string>();
  for (const table of [Tables.jwtPublicSigningKeysMetadata, Tables.jwtLegacyPublicSigningKeysMetadata, Tables.jwtLegacyPublicSigningKey]) {
    tx.map(table).forEach((_value, key) => void kids.add(fromUtf8(key)));
  }
  return kids;
}

/** An entry as CCF serializes it: its fields in name order, no constraint field when there is none. */
function keyEntry(issuer: string, key: JwtSigningKey): JwtKeyMetadata {
  return { ...(key.constraint !== undefined && { constraint: key.constraint }), issuer, public_key: key.public_key };
}

/**
 * Replaces the keys of `issuer` with `keys`, as `ccf.setJwtPublicSigningKeys` does: a kid whose
 * entry for the issuer is unchanged is not written again, a changed entry keeps its place among
 * other issuers' entries for the kid, and the issuer's kids not in `keys` lose its entry.
 */
export function storeIssuerPublicKeys(tx: Transaction, issuer: string, keys: ReadonlyMap<string, JwtSigningKey>): void {
  const table = tx.map(Tables.jwtPublicSigningKeysMetadata);
  for (const [kid, key] of keys) {
    const existing = table.get(utf8(kid));
    const list = existing === undefined ? [] : decodeJson<JwtKeyMetadata[]>(existing, Tables.jwtPublicSigningKeysMetadata);
    const at = list.findIndex((entry) => entry.issuer === issuer);
    const entry = keyEntry(issuer, key);
    if (at >= 0 && list[at]!.public_key === entry.public_key && list[at]!.constraint === entry.constraint) continue;
    if (at >= 0) list[at] = entry;
    else list.push(entry);
    table.set(utf8(kid), encodeJson(list));
  }
  removeJwtKeys(tx, issuer, (kid) => !keys.has(kid));
}

function setJwtKeys(tx: Transaction, args: (JsValue | undefined)[]): void {
  const issuer = stringArg(args, 0, 'issuer');
  storeIssuerPublicKeys(tx, issuer, jwksPublicKeys(args[2], issuer));
}

/**
 * Removes the entries of `issuer`, under the kids `removed` picks (all by default), from the current
 * table and from CCF's legacy ones: a key a ledger holds there (written before `_v2`) is read for a
 * kid the current table lacks (jwtKeysOfKid), so one left there would outlive its rotation or its
 * issuer's removal. As older CCF removed keys from both table revisions.
 */
function removeJwtKeys(tx: Transaction, issuer: string, removed: (kid: string) => boolean = () => true): void {
  for (const name of [Tables.jwtPublicSigningKeysMetadata, Tables.jwtLegacyPublicSigningKeysMetadata]) {
    const table = tx.map(name);
    const updates: [Uint8Array, unknown[]][] = [];
    table.forEach((value, key) => {
      if (!removed(fromUtf8(key))) return;
      const list = decodeJson<{ issuer: string }[]>(value, name);
      const kept = list.filter((entry) => entry.issuer !== issuer);
      if (kept.length !== list.length) updates.push([key, kept]);
    });
    for (const [key, kept] of updates) {
      if (kept.length === 0) table.delete(key);
      else table.set(key, encodeJson(kept));
    }
  }
  // The oldest layout: one key per kid, its issuer in a table beside it.
  const issuers = tx.map(Tables.jwtLegacyPublicSigningKeyIssuer);
  const kids: Uint8Array[] = [];
  issuers.forEach((value, key) => {
    if (fromUtf8(value) === issuer && removed(fromUtf8(key))) kids.push(key);
  });
  for (const key of kids) {
    issuers.delete(key);
    tx.map(Tables.jwtLegacyPublicSigningKey).delete(key);
  }
}

/** `ccf.gov`, in every call of the constitution (not in ballots); `checker` checks the constitution it is given. */
export const constitutionGlobals = (checker: ScriptChecker): JsGlobalInstaller => (scope: JsGlobalScope) => {
  const { vm, ccf } = scope;
  const gov = vm.newObject();
  try {
    // Any call may use it: CCF's set_constitution calls it in its validate.
    scope.defineFunction(gov, 'validateConstitution', (env, args) => {
      checker.checkConstitution(stringArg(args, 0, 'constitution'), env);
      return undefined;
    });
    vm.setProp(ccf, 'gov', gov);
  } finally {
    gov.dispose();
  }
};

/**
 * The effects of `apply`, as CCF installs them in its apply context only: `ccf.node`, `ccf.network`
 * and the governance effects. `checker` checks the apps `apply` installs.
 */
export const applyEffects = (checker: ScriptChecker): JsGlobalInstaller => (scope: JsGlobalScope) => {
  const { vm, ccf } = scope;
  const node = vm.newObject();
  const network = vm.newObject();
  try {
    scope.defineFunction(node, 'transitionServiceToOpen', (env, args) => {
      const host = applyHost(env);
      if (openService(env.tx, args)) host.atServiceOpening(env.tx);
      return undefined;
    });
    scope.defineFunction(node, 'triggerLedgerChunk', (env) => {
      applyHost(env).triggerLedgerChunk();
      return undefined;
    });
    scope.defineFunction(node, 'triggerSnapshot', (env) => {
      applyHost(env).triggerSnapshot();
      return undefined;
    });
    scope.defineFunction(node, 'triggerLedgerRekey', (env) => {
      applyHost(env).triggerLedgerRekey(env.tx);
      return undefined;
    });
    scope.defineFunction(node, 'triggerRecoverySharesRefresh', (env) => {
      applyHost(env).triggerRecoverySharesRefresh(env.tx);
      return undefined;
    });
    for (const name of ['triggerACMERefresh', 'shuffleSealedShares']) {
      scope.defineFunction(node, name, unsupported(`ccf.node.${name}`));
    }
    scope.defineFunction(network, 'getLatestLedgerSecretSeqno', (env) => applyHost(env).latestLedgerSecretSeqno());
    scope.defineFunction(network, 'generateEndorsedCertificate', (env, args) => {
      const host = applyHost(env);
      return issueCertificate({
        csrPem: stringArg(args, 0, 'csr'),
        issuerCertPem: host.serviceCertPem,
        issuerKeyPair: host.serviceKeyPair,
        validFrom: parseCcfValidFrom(stringArg(args, 1, 'valid_from')),
        validityDays: numberArg(args, 2, 'validity_period_days'),
        isCa: false,
      });
    });
    scope.defineFunction(network, 'generateNetworkCertificate', (env, args) => {
      const host = applyHost(env);
      return createSelfSignedCertificate({
        subjectCn: 'CCF Service',
        keyPair: host.serviceKeyPair,
        validFrom: parseCcfValidFrom(stringArg(args, 0, 'valid_from')),
        validityDays: numberArg(args, 1, 'validity_period_days'),
        isCa: true,
      });
    });
    vm.setProp(ccf, 'node', node);
    vm.setProp(ccf, 'network', network);
    scope.defineFunction(ccf, 'setJwtPublicSigningKeys', (env, args) => {
      applyHost(env);
      setJwtKeys(env.tx, args);
      return undefined;
    });
    scope.defineFunction(ccf, 'removeJwtPublicSigningKeys', (env, args) => {
      applyHost(env);
      removeJwtKeys(env.tx, stringArg(args, 0, 'issuer'));
      return undefined;
    });
    // Coco keeps no bytecode cache (modules compile when an interpreter loads them), but as in CCF
    // an app that does not compile fails the proposal instead of replacing the working one.
    scope.defineFunction(ccf, 'refreshAppBytecodeCache', (env) => {
      applyHost(env);
      checker.checkAppModules(readAppFromKv(env.tx).modules);
      return undefined;
    });
  } finally {
    node.dispose();
    network.dispose();
  }
};
