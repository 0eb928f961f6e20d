// The memory allocator the node processes this CLI starts run with. Node runs TLS with OpenSSL's
// SSL_MODE_RELEASE_BUFFERS, so every record read or written allocates and frees a ~16 KB buffer,
// and glibc's malloc consolidates its fast bins on each: about a tenth of a busy node's main
// thread. Under jemalloc a node takes ~8 % less CPU per write (docs/benchmarks.md). jemalloc is
// used when Debian's libjemalloc2 is installed; COCO_ALLOCATOR=system keeps glibc's malloc, and an
// LD_PRELOAD the operator set is left as it is.

import { existsSync } from 'node:fs';
import { CocoError } from '../errors.js';

/** Where Debian-like systems install libjemalloc2, per architecture. */
export const JEMALLOC_LIBRARIES = [
  '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2',
  '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2',
  '/usr/lib64/libjemalloc.so.2',
  '/usr/lib/libjemalloc.so.2',
];

export type Allocator =
  | { kind: 'jemalloc'; library: string }
  | { kind: 'system' }
  /** The operator's own LD_PRELOAD, passed on unchanged. */
  | { kind: 'preloaded'; preload: string };

export interface AllocatorHost {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  exists: (path: string) => boolean;
}

const THIS_HOST: AllocatorHost = { platform: process.platform, env: process.env, exists: existsSync };

/** The allocator node processes get on `host`. Throws CocoError when COCO_ALLOCATOR asks for one that cannot be had. */
export function nodeAllocator(host: AllocatorHost = THIS_HOST): Allocator {
  const wanted = host.env.COCO_ALLOCATOR ?? 'auto';
  if (wanted !== 'auto' && wanted !== 'jemalloc' && wanted !== 'system') {
    throw new CocoError('InvalidArgument', `COCO_ALLOCATOR must be auto, jemalloc or system, got "${wanted}"`);
  }
  const preload = host.env.LD_PRELOAD;
  if (preload !== undefined && preload.trim() !== '') return { kind: 'preloaded', preload };
  if (wanted === 'system') return { kind: 'system' };
  const library = host.platform === 'linux' ? JEMALLOC_LIBRARIES.find((path) => host.exists(path)) : undefined;
  if (library !== undefined) return { kind: 'jemalloc', library };
  if (wanted === 'jemalloc') {
    throw new CocoError(
      'AllocatorMissing',
      host.platform === 'linux'
        ? `COCO_ALLOCATOR=jemalloc but libjemalloc.so.2 is not installed (looked in ${JEMALLOC_LIBRARIES.join(', ')}); install it with "apt-get install libjemalloc2", or unset COCO_ALLOCATOR`
        : `COCO_ALLOCATOR=jemalloc is supported on Linux only (this is ${host.platform}); unset COCO_ALLOCATOR`,
    );
  }
  return { kind: 'system' };
}

/** The environment a node process starts with under `allocator` (this machine's): `env` itself, plus jemalloc's LD_PRELOAD. */
export function allocatorEnv(env: NodeJS.ProcessEnv = process.env, allocator: Allocator = nodeAllocator()): NodeJS.ProcessEnv {
  return allocator.kind === 'jemalloc' ? { ...env, LD_PRELOAD: allocator.library } : env;
}

/** One line for people: which allocator the nodes run with. */
export function describeAllocator(allocator: Allocator): string {
  if (allocator.kind === 'jemalloc') return `jemalloc (${allocator.library})`;
  if (allocator.kind === 'preloaded') return `as LD_PRELOAD sets (${allocator.preload})`;
  return "the system's malloc (with jemalloc, Debian's libjemalloc2, a node takes ~8 % less CPU per write)";
}
