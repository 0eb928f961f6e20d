// CCF's JWT key auto-refresh: every `jwt.key_refresh_interval` the primary fetches, for each issuer
// governance registered with `auto_refresh`, the issuer's OpenID configuration
// (`<issuer>/.well-known/openid-configuration`) and then its `jwks_uri`, both over HTTPS trusting only
// the CA bundle the issuer names, and stores the keys as `set_jwt_public_signing_keys` would, in one
// transaction (none when nothing changed). Issuers are refreshed independently, each request within a
// deadline, so one slow issuer delays no other and stopping aborts what is in flight. Failures are
// counted and logged; the keys stay as they were. As CCF refreshes at once when governance writes an
// issuer, the primary also looks every second for issuers governance wrote since it last fetched them
// (a new auto_refresh issuer, one set again, its CA bundle) and fetches their keys then, not a round
// later; an issuer whose fetch failed is tried again after 5 s, then 10, 20... up to the interval.

import { request } from 'node:https';
import { fromUtf8, utf8 } from '../crypto/bytes.js';
import { CocoError } from '../errors.js';
import { decodeJson, Tables } from '../governance/builtin-tables.js';
import { jwksPublicKeys, storeIssuerPublicKeys, type JwtSigningKey } from '../governance/gov-effects.js';
import type { Transaction } from '../kv/transaction.js';
import type { Node } from './node.js';

/** A discovery document or key set larger than this is refused (they are a few KB). */
const RESPONSE_BYTES_MAX = 1024 * 1024;
/** One request, from connecting to the answer's last byte: an issuer that answers slowly, or drips, is cut off. */
const FETCH_DEADLINE_MS = 10_000;
/** How often the primary looks for issuers governance added or changed since it last fetched them. */
const CHANGE_CHECK_MS_DEFAULT = 1_000;
/** After a failed fetch an issuer is tried again this long after, then twice as long each time, up to the interval (as CCF retries). */
const RETRY_FIRST_MS = 5_000;

export interface JwtRefreshMetrics {
  /** Issuers whose keys a refresh tried to fetch, over all refreshes. */
  attempts: number;
  successes: number;
  failures: number;
}

interface RefreshingIssuer {
  issuer: string;
  /** The versions of the issuer's record and of its CA bundle: governance wrote either since, if they differ. */
  written: string;
  caBundlePem: string;
}

/** How the refresh GETs a JSON document: `signal` aborts it (the node stops). */
export type FetchJson = (url: string, caPem: string, signal: AbortSignal) => Promise<unknown>;

/**
 * GETs `url` over HTTPS, trusting only `caPem`, and parses the JSON answer. The request is destroyed
 * when `signal` aborts or when it has no complete answer within `deadlineMs`; every failure is a
 * JwtRefreshFailed error that says which.
 */
export function fetchJson(url: string, caPem: string, signal?: AbortSignal, deadlineMs = FETCH_DEADLINE_MS): Promise<unknown> {
  const target = new URL(url);
  if (target.protocol !== 'https:') return Promise.reject(new CocoError('JwtRefreshFailed', `${url} is not an https:// URL`));
  const deadline = AbortSignal.timeout(deadlineMs);
  return new Promise((resolve, reject) => {
    let answering = false;
    const failed = (error: Error) => {
      if (error instanceof CocoError) return reject(error);
      let reason = error.message;
      if (deadline.aborted) reason = `no complete answer within ${deadlineMs / 1000} s`;
      else if (signal?.aborted === true) reason = 'the node is stopping';
      else if (answering) reason = `the connection closed before the answer was complete (${error.message})`;
      reject(new CocoError('JwtRefreshFailed', `GET ${url} failed: ${reason}`, { cause: error }));
    };
    const options = { method: 'GET', ca: caPem, headers: { accept: 'application/json' }, signal: signal === undefined ? deadline : AbortSignal.any([signal, deadline]) };
    const req = request(target, options, (response) => {
      answering = true;
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > RESPONSE_BYTES_MAX) req.destroy(new CocoError('JwtRefreshFailed', `${url} answered more than ${RESPONSE_BYTES_MAX} bytes`));
        else chunks.push(chunk);
      });
      response.on('end', () => {
        if (response.statusCode !== 200) return reject(new CocoError('JwtRefreshFailed', `${url} answered ${response.statusCode}`));
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          reject(new CocoError('JwtRefreshFailed', `${url} did not answer JSON`));
        }
      });
      response.on('error', failed);
    });
    req.on('error', failed);
    req.end();
  });
}

/** The issuers to refresh, each with the CA bundle that authenticates it. */
function refreshingIssuers(tx: Transaction): { issuers: RefreshingIssuer[]; unusable: string[] } {
  const issuers: RefreshingIssuer[] = [];
  const unusable: string[] = [];
  tx.map(Tables.jwtIssuers).forEach((value, key) => {
    const issuer = fromUtf8(key);
    const info = decodeJson<{ auto_refresh?: boolean; ca_cert_bundle_name?: string }>(value, Tables.jwtIssuers);
    if (info.auto_refresh !== true) return;
    const bundle = info.ca_cert_bundle_name === undefined ? undefined : tx.map(Tables.caCertBundles).get(utf8(info.ca_cert_bundle_name));
    if (bundle === undefined) unusable.push(`${issuer}: its CA bundle ${JSON.stringify(info.ca_cert_bundle_name ?? null)} does not exist`);
    else {
      const written = `${tx.map(Tables.jwtIssuers).getVersionOfPreviousWrite(key)}:${tx.map(Tables.caCertBundles).getVersionOfPreviousWrite(utf8(info.ca_cert_bundle_name!))}`;
      issuers.push({ issuer, written, caBundlePem: decodeJson<string>(bundle, Tables.caCertBundles) });
    }
  });
  return { issuers, unusable };
}

export class JwtKeyRefresh {
  readonly metrics: JwtRefreshMetrics = { attempts: 0, successes: 0, failures: 0 };
  #timers: NodeJS.Timeout[] = [];
  /** When governance had last written each issuer's record and CA bundle as this primary fetched it, by issuer. */
  readonly #fetchedWith = new Map<string, string>();
  /** Issuers whose last fetch failed: how many times in a row, and when to try again (`nowMs`). */
  readonly #retries = new Map<string, { failures: number; atMs: number }>();
  /** Each issuer's refresh still running, by issuer: a round does not start it again, and stop() awaits it. */
  readonly #running = new Map<string, Promise<void>>();
  /** Aborted by stop(): every fetch still running gives up at once. */
  readonly #stopping = new AbortController();

  constructor(
    private readonly node: Node,
    private readonly intervalMs: number,
    private readonly log: (level: 'info' | 'error', line: string) => void,
    private readonly fetch: FetchJson = fetchJson,
    private readonly changeCheckMs = CHANGE_CHECK_MS_DEFAULT,
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  start(): void {
    if (this.#stopping.signal.aborted || this.#timers.length > 0) return;
    this.#timers = [setInterval(() => void this.refreshOnce(), this.intervalMs).unref(), setInterval(() => void this.refreshChanged(), this.changeCheckMs).unref()];
  }

  /** Stops the rounds and aborts the fetches still running; resolves once their refreshes have ended. */
  async stop(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    this.#stopping.abort();
    await Promise.all(this.#running.values());
  }

  /**
   * One round, if this node is the primary: each auto_refresh issuer is refreshed on its own, as CCF
   * sends each issuer's requests separately, so a slow issuer delays no other; an issuer whose
   * refresh still runs is not started twice. Resolves once every issuer of the round is done.
   */
  refreshOnce(): Promise<void> {
    const found = this.#issuers();
    if (found === undefined) return Promise.resolve();
    for (const reason of found.unusable) {
      this.metrics.attempts += 1;
      this.metrics.failures += 1;
      this.log('error', `JWT key refresh of ${reason}`);
    }
    return Promise.all(found.issuers.map((issuer) => this.#running.get(issuer.issuer) ?? this.#startRefresh(issuer))).then(() => undefined);
  }

  /**
   * Refreshes, if this node is the primary, the issuers it has not fetched since governance wrote
   * them (added, or set again, as a remove and a set in one proposal do) or their CA bundle (all of
   * them on a node that just became the primary).
   * Unusable issuers wait for the round, which logs them. Resolves once those refreshes are done.
   */
  refreshChanged(): Promise<void> {
    if (!this.node.isPrimary) {
      this.#fetchedWith.clear();
      this.#retries.clear();
    }
    const found = this.#issuers();
    if (found === undefined) return Promise.resolve();
    const current = new Set(found.issuers.map((i) => i.issuer));
    for (const seen of [this.#fetchedWith, this.#retries]) for (const issuer of seen.keys()) if (!current.has(issuer)) seen.delete(issuer);
    const now = this.nowMs();
    const due = (issuer: string) => (this.#retries.get(issuer)?.atMs ?? Infinity) <= now;
    const changed = found.issuers.filter((i) => (this.#fetchedWith.get(i.issuer) !== i.written || due(i.issuer)) && !this.#running.has(i.issuer));
    return Promise.all(changed.map((issuer) => this.#startRefresh(issuer))).then(() => undefined);
  }

  /** The auto-refresh issuers, if this node is the primary and not stopping. */
  #issuers(): ReturnType<typeof refreshingIssuers> | undefined {
    if (!this.node.isPrimary || this.#stopping.signal.aborted) return undefined;
    try {
      return this.node.execute((tx) => ({ result: refreshingIssuers(tx), applyWrites: false })).result;
    } catch (error) {
      // Reading the issuers fails only if the node stopped meanwhile: logged, never an unhandled rejection.
      this.log('error', `JWT key refresh did not run: ${(error as Error).message}`);
      return undefined;
    }
  }

  #startRefresh({ issuer, written, caBundlePem }: RefreshingIssuer): Promise<void> {
    this.#fetchedWith.set(issuer, written);
    this.metrics.attempts += 1;
    // The issuer leaves #running before its outcome is logged: a round that follows the log starts it again.
    const refresh = this.#refresh(issuer, caBundlePem).then(
      (storedKeys) => {
        this.#running.delete(issuer);
        this.#retries.delete(issuer);
        this.metrics.successes += 1;
        if (storedKeys !== undefined) this.log('info', `JWT key refresh of ${issuer}: ${storedKeys} key(s)`);
      },
      (error: unknown) => {
        this.#running.delete(issuer);
        this.metrics.failures += 1;
        let retry = '';
        if (!this.#stopping.signal.aborted) {
          const failures = (this.#retries.get(issuer)?.failures ?? 0) + 1;
          const waitMs = Math.min(RETRY_FIRST_MS * 2 ** (failures - 1), this.intervalMs);
          this.#retries.set(issuer, { failures, atMs: this.nowMs() + waitMs });
          retry = `, and it is tried again in ${waitMs / 1000} s`;
        }
        this.log('error', `JWT key refresh of ${issuer} failed; its keys stay as they were${retry}: ${(error as Error).message}`);
      },
    );
    this.#running.set(issuer, refresh);
    return refresh;
  }

  /** Fetches and stores `issuer`'s keys: how many, or undefined if this node is no longer the primary. */
  async #refresh(issuer: string, caBundlePem: string): Promise<number | undefined> {
    const { signal } = this.#stopping;
    const discovery = await this.fetch(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, caBundlePem, signal);
    const { jwks_uri: jwksUri, issuer: configuredIssuer } = (discovery ?? {}) as { jwks_uri?: unknown; issuer?: unknown };
    if (typeof jwksUri !== 'string') throw new CocoError('JwtRefreshFailed', `the OpenID configuration of ${issuer} has no jwks_uri`);
    const jwks = await this.fetch(jwksUri, caBundlePem, signal);
    let keys: Map<string, JwtSigningKey>;
    try {
      // As CCF: the configuration's issuer constrains each key that names none, so that keys an
      // endpoint shares between tenants (Entra's common endpoint) admit only this tenant's tokens.
      keys = jwksPublicKeys(jwks, issuer, typeof configuredIssuer === 'string' ? configuredIssuer : undefined);
    } catch (error) {
      throw new CocoError('JwtRefreshFailed', `the key set at ${jwksUri} is not usable: ${(error as Error).message}`);
    }
    // The primary may have changed, or governance removed the issuer, while the keys were fetched.
    if (!this.node.isPrimary) return undefined;
    this.node.execute((tx) => {
      // Unchanged keys are not written: then there is no transaction at all.
      if (refreshingIssuers(tx).issuers.some((i) => i.issuer === issuer)) storeIssuerPublicKeys(tx, issuer, keys);
      return { result: undefined, applyWrites: tx.hasWrites };
    });
    return keys.size;
  }
}
