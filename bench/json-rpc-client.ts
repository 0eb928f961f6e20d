// A small Ethereum JSON-RPC 2.0 client for the benchmarks: keep-alive HTTP (Hardhat) or HTTPS with a
// client certificate (Coco), single calls and batches, raw over node:http(s) so that the load
// generator stays cheap next to the servers it measures. An error answer is a CocoError whose
// message is the server's, so a benchmark can show it as the server said it.

import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { CocoError } from '../src/errors.js';

/** Generous: a request that takes this long means the server is stuck, not slow. */
const REQUEST_TIMEOUT_MS = 30_000;

export interface JsonRpcEndpoint {
  /** `http://` or `https://` URL that takes JSON-RPC POSTs. */
  url: string;
  /** For `https://`: the certificate to trust and the client identity to present. */
  tls?: { caPem: string; certPem: string; keyPem: string };
}

export interface JsonRpcCall {
  method: string;
  params: unknown[];
}

/** One answer of a batch, in the order of the calls. */
export type JsonRpcAnswer = { result: unknown } | { error: { code: number; message: string } };

interface Envelope {
  id?: unknown;
  result?: unknown;
  error?: { code: number; message: string };
}

export class JsonRpcClient {
  readonly #url: URL;
  readonly #agent: HttpAgent | HttpsAgent;
  readonly #send: typeof httpRequest;
  #nextId = 1;

  /** `connections`: how many requests may be in flight at once, each on its own kept-alive socket. */
  constructor(endpoint: JsonRpcEndpoint, connections: number) {
    this.#url = new URL(endpoint.url);
    if (this.#url.protocol === 'https:') {
      if (endpoint.tls === undefined) throw new CocoError('InvalidArgument', `${endpoint.url} is https: give the CA and client identity to use`);
      const { caPem, certPem, keyPem } = endpoint.tls;
      this.#agent = new HttpsAgent({ keepAlive: true, maxSockets: connections, ca: caPem, cert: certPem, key: keyPem });
      this.#send = httpsRequest as typeof httpRequest;
    } else if (this.#url.protocol === 'http:') {
      this.#agent = new HttpAgent({ keepAlive: true, maxSockets: connections });
      this.#send = httpRequest;
    } else {
      throw new CocoError('InvalidArgument', `a JSON-RPC endpoint is http:// or https://, not ${endpoint.url}`);
    }
  }

  /** Calls `method`; throws CocoError JsonRpcError with the server's message when it answers an error. */
  async call(method: string, params: unknown[]): Promise<unknown> {
    const envelope = (await this.#post(JSON.stringify({ jsonrpc: '2.0', id: this.#nextId++, method, params }))) as Envelope;
    if (envelope.error !== undefined) throw new CocoError('JsonRpcError', envelope.error.message);
    return envelope.result;
  }

  /** Calls each of `calls` in one request; answers in the order of the calls. */
  async batch(calls: readonly JsonRpcCall[]): Promise<JsonRpcAnswer[]> {
    if (calls.length === 0) return [];
    const firstId = this.#nextId;
    this.#nextId += calls.length;
    const body = JSON.stringify(calls.map((call, i) => ({ jsonrpc: '2.0', id: firstId + i, method: call.method, params: call.params })));
    const envelopes = await this.#post(body);
    if (!Array.isArray(envelopes)) throw new CocoError('JsonRpcError', `a batch of ${calls.length} calls was answered with ${JSON.stringify(envelopes).slice(0, 200)}`);
    // A server may answer a batch in any order: the ids say which call each answer is for.
    const byId = new Map((envelopes as Envelope[]).map((envelope) => [envelope.id, envelope]));
    return calls.map((call, i) => {
      const envelope = byId.get(firstId + i);
      if (envelope === undefined) return { error: { code: 0, message: `no answer to ${call.method} in the batch` } };
      return envelope.error !== undefined ? { error: envelope.error } : { result: envelope.result };
    });
  }

  close(): void {
    this.#agent.destroy();
  }

  #post(body: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
      const req = this.#send(this.#url, { method: 'POST', agent: this.#agent, headers }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) {
            reject(new CocoError('JsonRpcError', `HTTP ${res.statusCode}: ${text.slice(0, 300)}`));
            return;
          }
          try {
            resolve(JSON.parse(text));
          } catch {
            reject(new CocoError('JsonRpcError', `the answer is not JSON: ${text.slice(0, 300)}`));
          }
        });
      });
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new CocoError('JsonRpcError', `no answer from ${this.#url.href} within ${REQUEST_TIMEOUT_MS / 1000} s`)));
      req.on('error', reject);
      req.end(body);
    });
  }
}
