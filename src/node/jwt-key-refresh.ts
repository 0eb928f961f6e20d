// CCF's JWT key auto-refresh: every `jwt.key_refresh_interval` the primary fetches, for each issuer
// governance registered with `auto_refresh`, the issuer's OpenID configuration
// (`<issuer>/.well-known/openid-configuration`) and then its `jwks_uri`, both over HTTPS trusting only
// the CA bundle the issuer names, and stores the keys as `set_jwt_public_signing_keys` would, in one
// transaction (none when nothing changed). Failures are counted and logged; the keys stay as they were.

import { request } from 'node:https';
import { fromUtf8, utf8 } from '../crypto/bytes.js';
import { CocoError } from '../errors.js';
import { decodeJson, Tables } from '../governance/builtin-tables.js';
import { jwksPublicKeys, storeIssuerPublicKeys, type JwtSigningKey } from '../governance/gov-effects.js';
import type { Transaction } from '../kv/transaction.js';
import type { Node } from './node.js';

/** A discovery document or key set larger than this is refused (they are a few KB). */
const RESPONSE_BYTES_MAX = 1024 * 1024;
const FETCH_TIMEOUT_MS = 10_000;

export interface JwtRefreshMetrics {
  /** Issuers whose keys a refresh tried to fetch, over all refreshes. */
  attempts: number;
  successes: number;
  failures: number;
}

interface RefreshingIssuer {
  issuer: string;
  caBundlePem: string;
}

/** GETs `url` over HTTPS, trusting only `caPem`, and parses the JSON answer. */
export function fetchJson(url: string, caPem: string): Promise<unknown> {
  const target = new URL(url);
  if (target.protocol !== 'https:') return Promise.reject(new CocoError('JwtRefreshFailed', `${url} is not an https:// URL`));
  return new Promise((resolve, reject) => {
    const req = request(target, { method: 'GET', ca: caPem, headers: { accept: 'application/json' }, timeout: FETCH_TIMEOUT_MS }, (response) => {
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
      response.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new CocoError('JwtRefreshFailed', `${url} did not answer within ${FETCH_TIMEOUT_MS} ms`)));
    req.on('error', reject);
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
    else issuers.push({ issuer, caBundlePem: decodeJson<string>(bundle, Tables.caCertBundles) });
  });
  return { issuers, unusable };
}

export class JwtKeyRefresh {
  readonly metrics: JwtRefreshMetrics = { attempts: 0, successes: 0, failures: 0 };
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(
    private readonly node: Node,
    private readonly intervalMs: number,
    private readonly log: (level: 'info' | 'error', line: string) => void,
    private readonly fetch: (url: string, caPem: string) => Promise<unknown> = fetchJson,
  ) {}

  start(): void {
    this.#timer ??= setInterval(() => void this.refreshOnce(), this.intervalMs).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** One refresh of every auto_refresh issuer, if this node is the primary (a refresh still running is not doubled). */
  refreshOnce(): Promise<void> {
    if (!this.node.isPrimary || this.#running !== undefined) return this.#running ?? Promise.resolve();
    // Reading the issuers fails only if the node stopped meanwhile: logged, never an unhandled rejection.
    this.#running = this.#refreshAll()
      .catch((error: unknown) => this.log('error', `JWT key refresh did not run: ${(error as Error).message}`))
      .finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #refreshAll(): Promise<void> {
    const { issuers, unusable } = this.node.execute((tx) => ({ result: refreshingIssuers(tx), applyWrites: false })).result;
    for (const reason of unusable) {
      this.metrics.attempts += 1;
      this.metrics.failures += 1;
      this.log('error', `JWT key refresh of ${reason}`);
    }
    for (const issuer of issuers) {
      this.metrics.attempts += 1;
      try {
        await this.#refresh(issuer);
        this.metrics.successes += 1;
      } catch (error) {
        this.metrics.failures += 1;
        this.log('error', `JWT key refresh of ${issuer.issuer} failed; its keys stay as they were: ${(error as Error).message}`);
      }
    }
  }

  async #refresh({ issuer, caBundlePem }: RefreshingIssuer): Promise<void> {
    const discovery = await this.fetch(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, caBundlePem);
    const jwksUri = (discovery as { jwks_uri?: unknown } | null)?.jwks_uri;
    if (typeof jwksUri !== 'string') throw new CocoError('JwtRefreshFailed', `the OpenID configuration of ${issuer} has no jwks_uri`);
    let keys: Map<string, JwtSigningKey>;
    try {
      keys = jwksPublicKeys(await this.fetch(jwksUri, caBundlePem), issuer);
    } catch (error) {
      if (error instanceof CocoError) throw error;
      throw new CocoError('JwtRefreshFailed', `the key set at ${jwksUri} is not usable: ${(error as Error).message}`);
    }
    // The primary may have changed, or governance removed the issuer, while the keys were fetched.
    if (!this.node.isPrimary) return;
    this.node.execute((tx) => {
      // Unchanged keys are not written: then there is no transaction at all.
      if (refreshingIssuers(tx).issuers.some((i) => i.issuer === issuer)) storeIssuerPublicKeys(tx, issuer, keys);
      return { result: undefined, applyWrites: tx.hasWrites };
    });
    this.log('info', `JWT key refresh of ${issuer}: ${keys.size} key(s)`);
  }
}
