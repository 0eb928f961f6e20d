// Values that cross between Node and the QuickJS sandbox: JSON values plus byte strings
// (Uint8Array on this side, ArrayBuffer inside). They travel as one JSON text and a list of byte
// buffers; each buffer's place in the JSON is an object `{<marker>: index}` whose key is a random
// marker per interpreter, so no app data can be mistaken for a buffer.

import { CocoError } from '../errors.js';

export type JsValue =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | readonly JsValue[]
  | { readonly [key: string]: JsValue | undefined };

export interface EncodedJsValue {
  json: string;
  buffers: Uint8Array[];
}

export function encodeJsValue(value: JsValue, marker: string): EncodedJsValue {
  const buffers: Uint8Array[] = [];
  // A replacer takes JSON.stringify off its fast path: use one only when there are bytes to tag.
  const json = !containsBytes(value)
    ? JSON.stringify(value)
    : JSON.stringify(value, (_key, item: unknown) => {
        if (item instanceof Uint8Array) {
          buffers.push(item);
          return { [marker]: buffers.length - 1 };
        }
        return item;
      });
  if (json === undefined) throw new CocoError('InvalidArgument', 'a value passed to JavaScript must be JSON data or bytes');
  return { json, buffers };
}

function containsBytes(value: JsValue | undefined): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (value instanceof Uint8Array) return true;
  if (Array.isArray(value)) return value.some(containsBytes);
  for (const key in value) if (containsBytes((value as Record<string, JsValue | undefined>)[key])) return true;
  return false;
}

export function decodeJsValue(encoded: EncodedJsValue, marker: string): JsValue {
  const { json, buffers } = encoded;
  if (buffers.length === 0) return JSON.parse(json) as JsValue;
  return JSON.parse(json, (_key, item: unknown) => {
    if (typeof item === 'object' && item !== null && Object.hasOwn(item, marker)) {
      const buffer = buffers[(item as Record<string, number>)[marker] ?? -1];
      if (buffer === undefined) throw new CocoError('InternalError', 'a value from JavaScript refers to a byte buffer it did not pass');
      return buffer;
    }
    return item;
  }) as JsValue;
}
