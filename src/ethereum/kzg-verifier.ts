// KZG proof checks for the point evaluation precompile, done by a worker thread
// (kzg-verifier-worker.ts) that one process shares. The library and its trusted setup load there on
// the first call to 0x0a in the process's life (no node pays for them unless a contract uses it):
// on the event loop, loading held a node 0.6 to 2 s on a loaded machine, long enough for the other
// nodes to elect a new primary, and each proof held it ~21 ms more. The thread holds the process
// open only while a request waits for it; if it fails, the requests waiting fail and the next
// request starts a new one.

import { Worker } from 'node:worker_threads';
import { CocoError, invariant } from '../errors.js';
import type { KzgAnswer, KzgProofInput, KzgQuestion, KzgRequest } from './kzg-verifier-worker.js';

export type { KzgProofInput } from './kzg-verifier-worker.js';

type Waiting = { resolve: (answer: KzgAnswer) => void; reject: (error: Error) => void };

class KzgVerifierThread {
  readonly #worker: Worker;
  readonly #waiting = new Map<number, Waiting>();
  #nextId = 0;
  #failed = false;
  /** Told once when the thread fails, so that the next request starts another. */
  readonly #onFailure: (failed: KzgVerifierThread) => void;

  constructor(onFailure: (failed: KzgVerifierThread) => void) {
    this.#onFailure = onFailure;
    this.#worker = new Worker(new URL('./kzg-verifier-worker.js', import.meta.url));
    this.#worker.unref();
    this.#worker.on('message', (answer: KzgAnswer) => {
      const waiting = this.#waiting.get(answer.id);
      if (waiting === undefined) return;
      this.#waiting.delete(answer.id);
      if (this.#waiting.size === 0) this.#worker.unref();
      waiting.resolve(answer);
    });
    this.#worker.on('error', (error) => this.#fail(error.message));
    this.#worker.on('exit', (code) => this.#fail(`it exited with code ${code}`));
  }

  request(question: KzgQuestion): Promise<KzgAnswer> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#worker.ref();
      this.#worker.postMessage({ ...question, id } satisfies KzgRequest);
    });
  }

  /** Fails what waits; an error and the exit that follows it count once. */
  #fail(reason: string): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#onFailure(this);
    const error = new CocoError('InternalError', `the KZG verifier thread failed (${reason}): the next call to 0x0a starts a new one`);
    for (const waiting of this.#waiting.values()) waiting.reject(error);
    this.#waiting.clear();
  }
}

let thread: KzgVerifierThread | undefined;

function ask(question: KzgQuestion): Promise<KzgAnswer> {
  thread ??= new KzgVerifierThread((failed) => {
    if (thread === failed) thread = undefined;
  });
  return thread.request(question).then((answer) => {
    if (answer.kind === 'loadFailed') throw new CocoError('InternalError', `the KZG library did not load: ${answer.message}`);
    return answer;
  });
}

/** Settles once the verifier thread holds the library, loaded and checked against a known answer. */
export async function kzgLibraryLoaded(): Promise<void> {
  await ask({ kind: 'load' });
}

/** Whether the proof is valid, checked on the verifier thread. */
export async function verifyKzgProof(input: KzgProofInput): Promise<boolean> {
  const answer = await ask({ kind: 'verify', input });
  invariant(answer.kind === 'verified', `the KZG verifier thread answers a verification, not '${answer.kind}'`);
  return answer.valid;
}
