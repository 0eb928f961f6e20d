// Moves values between Node and one QuickJS context: bytes both ways (always copied, since views
// into WebAssembly memory go stale when it grows), any JsValue into the sandbox, and encoded results
// (`[json, ...buffers]` from the prelude's `encode`) out of it. Every handle it creates is handed to
// the caller, who disposes it; every handle it reads stays the caller's.

import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten-core';
import { isWholeBuffer } from '../crypto/bytes.js';
import { CocoError } from '../errors.js';
import { decodeJsValue, encodeJsValue, type JsValue } from './js-value.js';

/** A Node exception thrown by a host function that should reach JS code as a JS error of `jsName`. */
export class GuestError extends Error {
  readonly jsName: 'Error' | 'TypeError' | 'RangeError' | 'InternalError';

  constructor(jsName: GuestError['jsName'], message: string) {
    super(message);
    this.jsName = jsName;
  }
}

export class QuickJsBridge {
  readonly vm: QuickJSContext;
  /** Tags byte buffers inside JSON (see js-value.ts). */
  readonly marker: string;
  #decode: QuickJSHandle | undefined;
  #encode: QuickJSHandle | undefined;
  #makeError: QuickJSHandle | undefined;

  constructor(vm: QuickJSContext, marker: string) {
    this.vm = vm;
    this.marker = marker;
  }

  /** Connects the prelude's helpers (borrowed: their owner disposes them). */
  connect(helpers: { decode: QuickJSHandle; encode: QuickJSHandle; makeError: QuickJSHandle }): void {
    this.#decode = helpers.decode;
    this.#encode = helpers.encode;
    this.#makeError = helpers.makeError;
  }

  /** A JS error to throw for `error`: a GuestError's class, TypeError or RangeError for some CocoErrors. */
  newError(error: unknown): QuickJSHandle {
    let name: GuestError['jsName'] = 'Error';
    if (error instanceof GuestError) name = error.jsName;
    else if (error instanceof CocoError && error.code === 'InvalidArgument') name = 'TypeError';
    else if (error instanceof CocoError && error.code === 'UnsupportedAlgorithm') name = 'RangeError';
    const message = error instanceof Error ? error.message : String(error);
    if (this.#makeError === undefined) return this.vm.newError({ name, message });
    const args = [this.vm.newString(name), this.newString(message)];
    try {
      return this.#unwrapOwn(this.vm.callFunction(this.#makeError, this.vm.undefined, args));
    } finally {
      for (const arg of args) arg.dispose();
    }
  }

  newBytes(bytes: Uint8Array): QuickJSHandle {
    return this.vm.newArrayBuffer((isWholeBuffer(bytes) ? bytes : bytes.slice()).buffer as ArrayBuffer);
  }

  /** The bytes of an ArrayBuffer handle (the caller has checked that it is one). */
  readBytes(handle: QuickJSHandle): Uint8Array {
    const view = this.vm.getArrayBuffer(handle);
    try {
      return view.value.slice();
    } finally {
      view.dispose();
    }
  }

  /** A JS string; NUL characters survive (QuickJS takes plain strings as C strings). */
  newString(text: string): QuickJSHandle {
    if (!text.includes('\0')) return this.vm.newString(text);
    const json = this.vm.newString(JSON.stringify(text));
    try {
      return this.#unwrapOwn(this.vm.callFunction(this.#connected(this.#decode), this.vm.undefined, json));
    } finally {
      json.dispose();
    }
  }

  newValue(value: JsValue | undefined): QuickJSHandle {
    const vm = this.vm;
    if (value === undefined) return vm.undefined;
    if (value === null) return vm.null;
    switch (typeof value) {
      case 'boolean':
        return value ? vm.true : vm.false;
      case 'number':
        return vm.newNumber(value);
      case 'string':
        return this.newString(value);
    }
    if (value instanceof Uint8Array) return this.newBytes(value);
    const { json, buffers } = encodeJsValue(value, this.marker);
    const args = [vm.newString(json), ...buffers.map((buffer) => this.newBytes(buffer))];
    try {
      return this.#unwrapOwn(vm.callFunction(this.#connected(this.#decode), vm.undefined, args));
    } finally {
      for (const arg of args) arg.dispose();
    }
  }

  /** Reads the prelude's encoding `[json, ...buffers]` of a value; `json` undefined = undefined. */
  readEncoded(handle: QuickJSHandle): JsValue | undefined {
    const vm = this.vm;
    const length = vm.getLength(handle) ?? 0;
    const jsonHandle = vm.getProp(handle, 0);
    let json: string | undefined;
    try {
      json = vm.typeof(jsonHandle) === 'string' ? vm.getString(jsonHandle) : undefined;
    } finally {
      jsonHandle.dispose();
    }
    if (json === undefined) return undefined;
    const buffers: Uint8Array[] = [];
    for (let i = 1; i < length; i++) {
      const buffer = vm.getProp(handle, i);
      try {
        buffers.push(this.readBytes(buffer));
      } finally {
        buffer.dispose();
      }
    }
    return decodeJsValue({ json, buffers }, this.marker);
  }

  /**
   * Any JS value as a JsValue: numbers and booleans directly, strings and objects through the
   * prelude's `encode` (as JSON, so that NUL characters and lone surrogates survive).
   */
  readValue(handle: QuickJSHandle): JsValue | undefined {
    const vm = this.vm;
    switch (vm.typeof(handle)) {
      case 'undefined':
        return undefined;
      case 'number':
        return vm.getNumber(handle);
      case 'boolean':
        return vm.sameValue(handle, vm.true);
      case 'string':
      case 'object': {
        if (vm.sameValue(handle, vm.null)) return null;
        const encoded = this.#unwrapOwn(vm.callFunction(this.#connected(this.#encode), vm.undefined, handle));
        try {
          return this.readEncoded(encoded);
        } finally {
          encoded.dispose();
        }
      }
      default:
        throw new GuestError('TypeError', `a ${vm.typeof(handle)} cannot be passed to the host; pass JSON data or an ArrayBuffer`);
    }
  }

  #connected(handle: QuickJSHandle | undefined): QuickJSHandle {
    if (handle === undefined) throw new CocoError('InternalError', 'the QuickJS bridge is used before the prelude connected it');
    return handle;
  }

  /** A result of the prelude's own helpers: an error there is a JS error to pass on as it is. */
  #unwrapOwn(result: ReturnType<QuickJSContext['callFunction']>): QuickJSHandle {
    if (result.error !== undefined) {
      const details: unknown = this.vm.dump(result.error);
      result.error.dispose();
      const message = typeof details === 'object' && details !== null && 'message' in details ? String(details.message) : String(details);
      throw new GuestError('TypeError', message);
    }
    return result.value;
  }
}
