// EthereumJS analyses a contract's code each time a call frame runs it: where its JUMPDESTs are, the
// opcode at each byte, and each PUSH's value as a bigint (built through a hex string). For the ERC-20
// sample's 1.5 KB that is 60-150 µs, about a tenth of a transfer, spent again on every call. The
// analysis depends only on the code and the fork's opcodes and EthereumJS only reads it, so it is kept
// per code (geth keeps its JUMPDEST bitmaps per code hash for the same reason). Init code, which runs
// once, is analysed as before.

import { CocoError } from '../errors.js';

/** What EthereumJS's `Interpreter._getValidJumpDestinations` returns; opaque here. */
type Analysis = object;

/** The part of EthereumJS's Interpreter this cache relies on. */
interface InterpreterInternals {
  _getValidJumpDestinations(code: Uint8Array): Analysis;
  _env: { isCreate: boolean };
  _evm: { _opcodeMap: object };
  common: { isActivatedEIP(eip: number): boolean };
}

/**
 * What the cache may hold, in bytes of code plus ENTRY_OVERHEAD_BYTES per analysis: each analysis
 * takes about ten times its code's size (an opcode entry per byte, the pushes' values), and one of
 * even the smallest code its own objects.
 */
export const ANALYSED_CODE_BYTES_MAX = 1024 * 1024;
export const ENTRY_OVERHEAD_BYTES = 512;
/** EIP-8024 changes which bytes are immediates, so an analysis under it is not one without it. */
const EIP_IMMEDIATES = 8024;

/** Analyses of contract code by its bytes, per opcode table; past a total size, the code kept longest is dropped. */
export class CodeAnalysisCache {
  /** A number per opcode table (a fork's), for the keys. */
  readonly #tableIds = new WeakMap<object, number>();
  #tablesSeen = 0;
  /** By table number, EIP-8024 or not, and the code's bytes as a latin1 string; the oldest first. */
  readonly #analyses = new Map<string, Analysis>();
  /**
   * The key of the code an array holds, by the array: the state gives the EVM the same array for a
   * contract's code each call, so its key (whose hash V8 keeps with it) is found without reading the code.
   */
  readonly #keysByArray = new WeakMap<Uint8Array, { table: object; immediates: boolean; key: string }>();
  #bytes = 0;

  constructor(readonly maxBytes = ANALYSED_CODE_BYTES_MAX) {}

  /**
   * The analysis of `code` under `table` (and with the immediates of EIP-8024 or without), made by
   * `analyse` when not kept, and then kept if it fits.
   */
  get(table: object, immediates: boolean, code: Uint8Array, analyse: () => Analysis): Analysis {
    const known = this.#keysByArray.get(code);
    if (known !== undefined && known.table === table && known.immediates === immediates) {
      const kept = this.#analyses.get(known.key);
      if (kept !== undefined) return kept;
    }
    let tableId = this.#tableIds.get(table);
    if (tableId === undefined) this.#tableIds.set(table, (tableId = this.#tablesSeen++));
    const key = `${tableId}${immediates ? '+' : '-'}${Buffer.from(code.buffer, code.byteOffset, code.byteLength).toString('latin1')}`;
    this.#keysByArray.set(code, { table, immediates, key });
    const kept = this.#analyses.get(key);
    if (kept !== undefined) return kept;
    const analysis = analyse();
    const cost = key.length + ENTRY_OVERHEAD_BYTES;
    if (cost > this.maxBytes) return analysis;
    this.#analyses.set(key, analysis);
    this.#bytes += cost;
    for (const oldest of this.#analyses.keys()) {
      if (this.#bytes <= this.maxBytes) break;
      this.#analyses.delete(oldest);
      this.#bytes -= oldest.length + ENTRY_OVERHEAD_BYTES;
    }
    return analysis;
  }

  /** What the analyses kept count for against maxBytes. */
  get bytes(): number {
    return this.#bytes;
  }
}

let installed: CodeAnalysisCache | undefined;

/**
 * Makes every EthereumJS interpreter in this process take its analyses of contract code from one
 * cache (once; later calls return the same cache). EthereumJS does not export its Interpreter, so its
 * module is reached beside the package's entry point.
 */
export async function installCodeAnalysisCache(): Promise<CodeAnalysisCache> {
  if (installed !== undefined) return installed;
  const module = (await import(new URL('./interpreter.js', import.meta.resolve('@ethereumjs/evm')).href)) as { Interpreter?: { prototype: InterpreterInternals } };
  const prototype = module.Interpreter?.prototype;
  const analyse = prototype?._getValidJumpDestinations;
  if (prototype === undefined || typeof analyse !== 'function') {
    throw new CocoError('InternalError', "@ethereumjs/evm's interpreter has no _getValidJumpDestinations: this Coco was built against @ethereumjs/evm 10.1; reinstall with its package-lock.json");
  }
  const cache = new CodeAnalysisCache();
  prototype._getValidJumpDestinations = function (this: InterpreterInternals, code: Uint8Array): Analysis {
    if (this._env.isCreate) return analyse.call(this, code);
    return cache.get(this._evm._opcodeMap, this.common.isActivatedEIP(EIP_IMMEDIATES), code, () => analyse.call(this, code));
  };
  installed = cache;
  return cache;
}
