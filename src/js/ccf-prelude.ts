// The JavaScript half of the `ccf` global, evaluated once in every fresh QuickJS context before any
// app module: it builds `ccf.*`, `console`, `Math.random`, `Date` and `snp_attestation` over a
// private `host` object of native functions (see ccf-globals.ts), checks argument types the way CCF
// does, and defines the entry points the host calls. Nothing of `host` is reachable from app code.

/**
 * A function expression `(host, marker, globals) => api`. `marker` is the per-interpreter key that
 * tags byte buffers inside JSON (see js-value.ts); `globals` is which `ccf` to build, 'application'
 * or 'governance' (CcfGlobals, in ccf-globals.ts). `api` holds the entry points: callExport,
 * callExportWith, callExportForText, dispatch, settleAsync, endRequest, encode, decode and makeError.
 */
import { JSON_NESTING_MAX } from './json-nesting.js';
import { PROMISE_REJECTION_WATCH_SOURCE } from './promise-rejection-watch.js';

export const CCF_PRELUDE_SOURCE = String.raw`(function (host, marker, globals) {
  'use strict';
  const G = globalThis;
  const apply = Reflect.apply;
  const nativeJsonParse = JSON.parse;
  /**
   * JSON.parse, except that text nesting deeper than QuickJS's parser can take here is refused
   * (json-nesting.ts). Only text longer than the limit can nest past it, so short text costs nothing.
   */
  const jsonParse = {
    parse(text, reviver) {
      if (typeof text === 'string' && text.length > ${JSON_NESTING_MAX} && host.jsonNestingExceeds(text)) {
        throw new SyntaxError('JSON nests arrays and objects deeper than ${JSON_NESTING_MAX} levels');
      }
      return arguments.length > 1 ? apply(nativeJsonParse, JSON, [text, reviver]) : nativeJsonParse(text);
    },
  }.parse;
  Object.defineProperty(JSON, 'parse', { value: jsonParse, writable: true, enumerable: false, configurable: true });
  const jsonStringify = JSON.stringify;
  const isView = ArrayBuffer.isView;
  const byteLengthOf = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength').get;
  const sliceBuffer = ArrayBuffer.prototype.slice;
  const hasOwn = Object.prototype.hasOwnProperty;
  const NativeDate = Date;
  const PromiseCtor = Promise;

  const defineProperty = Object.defineProperty;
  const rejections = (${PROMISE_REJECTION_WATCH_SOURCE})(PromiseCtor, apply, defineProperty);

  /** Makes object[name] a plain data property holding value: what a lazy member becomes once read or set. */
  function settle(object, name, value) {
    defineProperty(object, name, { value: value, writable: true, configurable: true, enumerable: true });
    return value;
  }

  function isArrayBuffer(value) {
    if (typeof value !== 'object' || value === null) return false;
    try {
      apply(byteLengthOf, value, []);
      return true;
    } catch (e) {
      return false;
    }
  }

  /** The bytes of an ArrayBuffer, or a copy of those a typed array or DataView shows. */
  function bytesOf(value) {
    if (value instanceof ArrayBuffer) return isArrayBuffer(value) ? value : undefined;
    if (isView(value)) return apply(sliceBuffer, value.buffer, [value.byteOffset, value.byteOffset + value.byteLength]);
    return undefined;
  }

  function describe(value) {
    if (value === null) return 'null';
    if (value === undefined) return 'undefined';
    if (Array.isArray(value)) return 'an array';
    return typeof value === 'object' ? 'an object' : 'a ' + typeof value;
  }

  function needBuffer(value, what, where) {
    if (!isArrayBuffer(value)) throw new TypeError(where + ': ' + what + ' must be an ArrayBuffer, got ' + describe(value));
    return value;
  }

  /** CCF's words: its switches take a boolean, not a truthy value. */
  function needBoolean(value) {
    if (typeof value !== 'boolean') throw new TypeError('First argument must be a boolean');
    return value;
  }

  function needString(value, what, where) {
    if (typeof value !== 'string') throw new TypeError(where + ': ' + what + ' must be a string, got ' + describe(value));
    return value;
  }

  /** Strings and buffers up to this size convert here: cheaper than a call to the host. */
  const INLINE_UTF8_MAX = 256;

  function strToBuf(text) {
    // As JSON: strings cross to the host as C strings, which would end at a NUL character.
    if (text.length > INLINE_UTF8_MAX) return host.strToBuf(jsonStringify(text));
    const out = new Uint8Array(text.length * 3);
    let n = 0;
    for (let i = 0; i < text.length; i++) {
      let c = text.charCodeAt(i);
      if (c < 0x80) {
        out[n++] = c;
        continue;
      }
      if (c < 0x800) {
        out[n++] = 0xc0 | (c >> 6);
        out[n++] = 0x80 | (c & 0x3f);
        continue;
      }
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          i++;
          out[n++] = 0xf0 | (c >> 18);
          out[n++] = 0x80 | ((c >> 12) & 0x3f);
          out[n++] = 0x80 | ((c >> 6) & 0x3f);
          out[n++] = 0x80 | (c & 0x3f);
          continue;
        }
        // A lone surrogate: kept as its own code point, as QuickJS's C strings keep it (quickjs-utf8.ts).
      }
      out[n++] = 0xe0 | (c >> 12);
      out[n++] = 0x80 | ((c >> 6) & 0x3f);
      out[n++] = 0x80 | (c & 0x3f);
    }
    return apply(sliceBuffer, out.buffer, [0, n]);
  }

  /** UTF-8 decoding as the WHATWG Encoding standard does it (U+FFFD for each bad sequence), but for encoded surrogates. */
  function bufToStr(buffer) {
    const length = apply(byteLengthOf, buffer, []);
    if (length > INLINE_UTF8_MAX) return jsonParse(host.bufToStr(buffer));
    const bytes = new Uint8Array(buffer);
    let text = '';
    let i = 0;
    while (i < length) {
      const first = bytes[i];
      if (first < 0x80) {
        text += String.fromCharCode(first);
        i++;
        continue;
      }
      let needed = 0;
      let point = 0;
      let lower = 0x80;
      let upper = 0xbf;
      if (first >= 0xc2 && first <= 0xdf) {
        needed = 1;
        point = first & 0x1f;
      } else if (first >= 0xe0 && first <= 0xef) {
        needed = 2;
        point = first & 0x0f;
        // 0xED followed by 0xA0-0xBF encodes a surrogate, which reads back as one (quickjs-utf8.ts).
        if (first === 0xe0) lower = 0xa0;
      } else if (first >= 0xf0 && first <= 0xf4) {
        needed = 3;
        point = first & 0x07;
        if (first === 0xf0) lower = 0x90;
        if (first === 0xf4) upper = 0x8f;
      } else {
        text += '\ufffd';
        i++;
        continue;
      }
      let j = i + 1;
      let complete = true;
      for (let k = 0; k < needed; k++, j++) {
        const next = j < length ? bytes[j] : -1;
        if (next < lower || next > upper) {
          complete = false;
          break;
        }
        lower = 0x80;
        upper = 0xbf;
        point = (point << 6) | (next & 0x3f);
      }
      text += complete ? String.fromCodePoint(point) : '\ufffd';
      i = j;
    }
    return text;
  }

  const truncate = Math.trunc;
  const bigIntOf = BigInt;
  const asIntN = BigInt.asIntN;
  const numberOf = Number;
  const TWO_POW_63 = 2 ** 63;

  /**
   * A number as QuickJS's JS_ToInt64 makes it, as CCF reads views, seqnos, handles and expiries:
   * ToNumber first (valueOf, numeric strings; a TypeError for symbols and BigInts), then NaN and the
   * infinities are 0, fractions are truncated and the rest wraps around 64 bits.
   */
  function toInt64(value) {
    // Unary + is ToNumber, but says other words than JS_ToInt64 for a BigInt.
    if (typeof value === 'bigint') throw new TypeError('cannot convert bigint to number');
    const n = +value;
    if (n !== n || n === Infinity || n === -Infinity) return 0;
    const whole = truncate(n);
    if (whole > -TWO_POW_63 && whole < TWO_POW_63) return whole + 0; // + 0 makes -0 0
    return numberOf(asIntN(64, bigIntOf(whole)));
  }

  /** CCF's check of how many arguments its native functions were given. */
  function needArgs(count, expected) {
    if (count !== expected) throw new TypeError('Passed ' + count + ' arguments, but expected ' + expected);
  }

  /**
   * A number as QuickJS's JS_ToInt32 makes it, as CCF reads key sizes: ToNumber ("256" is 256), then
   * truncated and wrapped to 32 bits, NaN 0. BigInts and symbols are TypeErrors.
   */
  function toInt32(value) {
    if (typeof value === 'bigint') throw new TypeError('cannot convert bigint to number');
    return +value | 0;
  }

  /** As JS_ToUint32, with which CCF reads an RSA modulus size and exponent. */
  function toUint32(value) {
    if (typeof value === 'bigint') throw new TypeError('cannot convert bigint to number');
    return +value >>> 0;
  }

  // ---- values crossing the boundary: JSON text plus byte buffers tagged with the marker -------

  function decode(json) {
    const buffers = Array.prototype.slice.call(arguments, 1);
    if (buffers.length === 0) return jsonParse(json);
    return jsonParse(json, function (key, item) {
      if (typeof item === 'object' && item !== null && apply(hasOwn, item, [marker])) return buffers[item[marker]];
      return item;
    });
  }

  function encode(value) {
    const out = [undefined];
    out[0] = jsonStringify(value, function (key, item) {
      if (typeof item === 'object' && item !== null) {
        const bytes = bytesOf(item);
        if (bytes !== undefined) {
          out.push(bytes);
          return { [marker]: out.length - 2 };
        }
      }
      return item;
    });
    return out;
  }

  // ---- ccf.kv: maps by name; every operation goes to the host, which checks the access ---------

  function makeMap(source, name) {
    const map = {
      has(key) {
        return host.kvHas(source, name, needBuffer(key, 'the key', 'has'));
      },
      get(key) {
        return host.kvGet(source, name, needBuffer(key, 'the key', 'get'));
      },
      getVersionOfPreviousWrite(key) {
        return host.kvVersion(source, name, needBuffer(key, 'the key', 'getVersionOfPreviousWrite'));
      },
      set(key, value) {
        host.kvSet(source, name, needBuffer(key, 'the key', 'set'), needBuffer(value, 'the value', 'set'));
        return map;
      },
      delete(key) {
        host.kvDelete(source, name, needBuffer(key, 'the key', 'delete'));
      },
      clear() {
        host.kvClear(source, name);
      },
      forEach(callback) {
        if (typeof callback !== 'function') throw new TypeError('forEach: the callback must be a function, got ' + describe(callback));
        host.kvForEach(source, name, callback, map);
      },
      get size() {
        return host.kvSize(source, name);
      },
    };
    return map;
  }

  /** Map objects kept per name; past this many names (an app naming maps per request) start afresh. */
  const MAP_OBJECTS_MAX = 256;

  function makeKv(source) {
    const maps = new Map();
    return new Proxy(Object.create(null), {
      get(target, name) {
        if (typeof name !== 'string') return undefined;
        if (name.indexOf('\0') >= 0) throw new TypeError('map names cannot contain NUL characters');
        let map = maps.get(name);
        if (map === undefined) {
          if (maps.size >= MAP_OBJECTS_MAX) maps.clear();
          map = makeMap(source, name);
          maps.set(name, map);
        }
        return map;
      },
      has(target, name) {
        return typeof name === 'string';
      },
      set() {
        return false;
      },
      defineProperty() {
        return false;
      },
      deleteProperty() {
        return false;
      },
    });
  }

  /** Source 0 is the call's transaction; historical states have sources of their own. */
  const kv = makeKv(0);

  /**
   * A historical state, CCF's {transactionId, receipt, kv}. Its receipt and kv are made when first
   * read: a handler that asks for a range of 512 states and reads a few fields of each would
   * otherwise pay for 512 receipts crossing from the host.
   */
  function makeHistoricalState(transactionId, source) {
    const state = {
      transactionId: transactionId,
      get receipt() {
        return settle(state, 'receipt', host.historicalReceipt(source));
      },
      set receipt(value) {
        settle(state, 'receipt', value);
      },
      get kv() {
        return settle(state, 'kv', makeKv(source));
      },
      set kv(value) {
        settle(state, 'kv', value);
      },
    };
    return state;
  }

  /** The running call's historical state, made once per call; undefined outside historical endpoints. */
  let callState = { source: -1, state: undefined };
  function currentHistoricalState() {
    const found = host.historicalState();
    if (found === null) return undefined;
    if (found[0] !== callState.source) callState = { source: found[0], state: makeHistoricalState(found[1], found[0]) };
    return callState.state;
  }

  /**
   * What ccf.historicalState is while app modules load: one object whose members show the running
   * call's historical state (undefined outside historical endpoints). @microsoft/ccf-app/historical
   * keeps what it reads when its module loads, and an interpreter here serves many calls, historical
   * or not; CCF loads modules afresh for each call unless the endpoint reuses interpreters.
   */
  const liveHistoricalState = Object.freeze({
    get transactionId() {
      const state = currentHistoricalState();
      return state === undefined ? undefined : state.transactionId;
    },
    get receipt() {
      const state = currentHistoricalState();
      return state === undefined ? undefined : state.receipt;
    },
    get kv() {
      const state = currentHistoricalState();
      return state === undefined ? undefined : state.kv;
    },
  });

  // ---- ccf.crypto --------------------------------------------------------------------------------

  /** An RSA-PSS salt length as CCF reads it: JS_ToInt64, whose failure CCF ignores (0). */
  function saltLengthOf(value) {
    try {
      return toInt64(value);
    } catch (e) {
      return 0;
    }
  }

  function algorithmJson(algorithm, where) {
    if (typeof algorithm !== 'object' || algorithm === null) throw new TypeError(where + ': the algorithm must be an object like { name: "ECDSA", hash: "SHA-256" }');
    return jsonStringify({ name: String(algorithm.name), hash: algorithm.hash === undefined ? undefined : String(algorithm.hash), saltLength: saltLengthOf(algorithm.saltLength) });
  }

  /**
   * As CCF: the label is an ArrayBuffer of at least one byte, or none; anything else (a Uint8Array
   * too) is taken as no label, so that an app wraps here what it wraps there (docs/js-isolation.md).
   * aesKeySize is read only for RSA-OAEP-AES-KWP, as JS_ToInt32 reads it.
   */
  function wrapArgs(key, wrappingKey, params, where) {
    if (typeof params !== 'object' || params === null) throw new TypeError(where + ': the parameters must be an object like { name: "RSA-OAEP" }');
    const name = String(params.name);
    const label = isArrayBuffer(params.label) && apply(byteLengthOf, params.label, []) > 0 ? params.label : undefined;
    const aesKeySize = name === 'RSA-OAEP-AES-KWP' ? toInt32(params.aesKeySize) : undefined;
    return [needBuffer(key, 'the key', where), needBuffer(wrappingKey, 'the wrapping key', where), name, label, aesKeySize];
  }

  /** CCF's check for its functions that take an optional second argument. */
  function needOneOrTwoArgs(count) {
    if (count !== 1 && count !== 2) throw new TypeError('Passed ' + count + ' arguments, but expected 1 or 2');
  }

  function pemToJwk(kind, isPrivate, where) {
    return function (pem, kid) {
      needOneOrTwoArgs(arguments.length);
      return host.pemToJwk(kind, needString(pem, 'the PEM', where), isPrivate ? 1 : 0, kid === undefined ? undefined : needString(kid, 'kid', where));
    };
  }

  function jwkToPem(kind, isPrivate) {
    return function (jwk) {
      needArgs(arguments.length, 1);
      // What has no JSON form (undefined, a function) reaches the host as text that is no JWK, as in CCF.
      return host.jwkToPem(kind, String(jsonStringify(jwk)), isPrivate ? 1 : 0);
    };
  }

  // Each function checks its argument count first, with CCF's words.
  const crypto = {
    sign(algorithm, key, data) {
      needArgs(arguments.length, 3);
      return host.sign(algorithmJson(algorithm, 'sign'), jsonStringify(needString(key, 'the key', 'sign')), needBuffer(data, 'the data', 'sign'));
    },
    verifySignature(algorithm, key, signature, data) {
      needArgs(arguments.length, 4);
      const where = 'verifySignature';
      return host.verifySignature(algorithmJson(algorithm, where), needString(key, 'the key', where), needBuffer(signature, 'the signature', where), needBuffer(data, 'the data', where));
    },
    digest(algorithm, data) {
      needArgs(arguments.length, 2);
      return host.digest(needString(algorithm, 'the algorithm', 'digest'), needBuffer(data, 'the data', 'digest'));
    },
    generateAesKey(size) {
      needArgs(arguments.length, 1);
      return host.generateAesKey(toInt32(size));
    },
    generateRsaKeyPair(size, exponent) {
      needOneOrTwoArgs(arguments.length);
      // An undefined exponent is the default one (CCF would read it as 0 and fail).
      return host.generateRsaKeyPair(toUint32(size), exponent === undefined ? undefined : toUint32(exponent));
    },
    generateEcdsaKeyPair(curve) {
      needArgs(arguments.length, 1);
      return host.generateEcdsaKeyPair(needString(curve, 'the curve', 'generateEcdsaKeyPair'));
    },
    generateEddsaKeyPair(curve) {
      needArgs(arguments.length, 1);
      return host.generateEddsaKeyPair(needString(curve, 'the curve', 'generateEddsaKeyPair'));
    },
    wrapKey(key, wrappingKey, params) {
      needArgs(arguments.length, 3);
      return apply(host.wrapKey, undefined, wrapArgs(key, wrappingKey, params, 'wrapKey'));
    },
    unwrapKey(key, unwrappingKey, params) {
      needArgs(arguments.length, 3);
      return apply(host.unwrapKey, undefined, wrapArgs(key, unwrappingKey, params, 'unwrapKey'));
    },
    isValidX509CertBundle(pem) {
      needArgs(arguments.length, 1);
      return host.isValidX509CertBundle(needString(pem, 'the PEM bundle', 'isValidX509CertBundle'));
    },
    isValidX509RootCACert(pem) {
      needArgs(arguments.length, 1);
      return host.isValidX509RootCACert(needString(pem, 'the PEM certificate', 'isValidX509RootCACert'));
    },
    isValidX509CertChain(chain, trusted) {
      needArgs(arguments.length, 2);
      const where = 'isValidX509CertChain';
      return host.isValidX509CertChain(needString(chain, 'the chain', where), needString(trusted, 'the trusted certificates', where));
    },
    pubPemToJwk: pemToJwk('ec', false, 'pubPemToJwk'),
    pemToJwk: pemToJwk('ec', true, 'pemToJwk'),
    pubRsaPemToJwk: pemToJwk('rsa', false, 'pubRsaPemToJwk'),
    rsaPemToJwk: pemToJwk('rsa', true, 'rsaPemToJwk'),
    pubEddsaPemToJwk: pemToJwk('eddsa', false, 'pubEddsaPemToJwk'),
    eddsaPemToJwk: pemToJwk('eddsa', true, 'eddsaPemToJwk'),
    pubJwkToPem: jwkToPem('ec', false),
    jwkToPem: jwkToPem('ec', true),
    pubRsaJwkToPem: jwkToPem('rsa', false),
    rsaJwkToPem: jwkToPem('rsa', true),
    pubEddsaJwkToPem: jwkToPem('eddsa', false),
    eddsaJwkToPem: jwkToPem('eddsa', true),
  };

  // ---- the ccf global ----------------------------------------------------------------------------

  const ccf = {
    strToBuf(value) {
      return strToBuf(needString(value, 'the argument', 'strToBuf'));
    },
    bufToStr(value) {
      return bufToStr(needBuffer(value, 'the argument', 'bufToStr'));
    },
    jsonCompatibleToBuf(value) {
      const json = jsonStringify(value);
      if (json === undefined) throw new TypeError('jsonCompatibleToBuf: ' + describe(value) + ' has no JSON form');
      return strToBuf(json);
    },
    bufToJsonCompatible(value) {
      return jsonParse(bufToStr(needBuffer(value, 'the argument', 'bufToJsonCompatible')));
    },
    pemToId(pem) {
      return host.pemToId(needString(pem, 'the certificate', 'pemToId'));
    },
    tcbHexToPolicy(cpuid, tcbVersion) {
      return host.tcbHexToPolicy(needString(cpuid, 'the CPUID', 'tcbHexToPolicy'), needString(tcbVersion, 'the TCB version', 'tcbHexToPolicy'));
    },
    enableUntrustedDateTime(enable) {
      needArgs(arguments.length, 1);
      return host.setUntrustedTime(needBoolean(enable) ? 1 : 0);
    },
    enableMetricsLogging(enable) {
      needArgs(arguments.length, 1);
      return host.setMetricsLogging(needBoolean(enable) ? 1 : 0);
    },
    kv,
    crypto,
  };

  /**
   * What only apps get: CCF's governance scripts (the constitution and ballots) see no ccf.rpc,
   * ccf.consensus, ccf.historical, ccf.historicalState nor ccf.host, and CCF 6 keeps the top-level
   * crypto aliases for apps only.
   */
  const applicationMembers = {
    rpc: {
      setApplyWrites(force) {
        host.setApplyWrites(force ? 1 : 0);
      },
      // CCF's checks and words (its rpc extension's: no comma in the count's).
      setClaimsDigest(digest) {
        if (arguments.length !== 1) throw new TypeError('Passed ' + arguments.length + ' arguments but expected 1');
        if (!isArrayBuffer(digest)) throw new TypeError('Argument must be an ArrayBuffer');
        host.setClaimsDigest(digest);
      },
    },
    // Numbers are read as CCF reads them (toInt64), with CCF's errors for a wrong count and negatives.
    consensus: {
      getLastCommittedTxId() {
        needArgs(arguments.length, 0);
        return host.lastCommittedTxId();
      },
      getStatusForTxId(view, seqno) {
        needArgs(arguments.length, 2);
        const v = toInt64(view);
        const s = toInt64(seqno);
        if (v < 0 || s < 0) throw new RangeError('Invalid view or seqno: cannot be negative');
        return host.statusForTxId(v, s);
      },
      getViewForSeqno(seqno) {
        needArgs(arguments.length, 1);
        const s = toInt64(seqno);
        if (s < 0) throw new RangeError('Invalid seqno: cannot be negative');
        return host.viewForSeqno(s);
      },
    },
    historical: {
      getStateRange(handle, startSeqno, endSeqno, secondsUntilExpiry) {
        needArgs(arguments.length, 4);
        const h = toInt64(handle);
        const start = toInt64(startSeqno);
        const end = toInt64(endSeqno);
        const expiry = toInt64(secondsUntilExpiry);
        if (h < 0 || start < 0 || end < 0 || expiry < 0) throw new RangeError('Invalid handle or seqno or expiry: cannot be negative');
        const states = host.getStateRange(h, start, end, expiry);
        if (states === null) return null;
        const out = [];
        for (let i = 0; i < states.length; i++) out[i] = makeHistoricalState(states[i][0], states[i][1]);
        return out;
      },
      dropCachedStates(handle) {
        needArgs(arguments.length, 1);
        const h = toInt64(handle);
        if (h < 0) throw new RangeError('Invalid handle: cannot be negative');
        return host.dropCachedStates(h);
      },
    },
    host: {
      triggerSubprocess() {
        throw new Error('ccf.host.triggerSubprocess is not supported by Coco: apps cannot start host processes');
      },
    },
  };
  if (globals === 'application') {
    Object.assign(ccf, applicationMembers);
    ccf.historical.dropCachedStateRange = ccf.historical.dropCachedStates;
    // Deprecated top-level aliases that CCF keeps.
    for (const name of ['generateAesKey', 'generateRsaKeyPair', 'generateEcdsaKeyPair', 'wrapKey', 'digest', 'isValidX509CertBundle', 'isValidX509CertChain']) {
      ccf[name] = crypto[name];
    }
    // As CCF declares it: the call's state in historical endpoints, undefined elsewhere.
    Object.defineProperty(ccf, 'historicalState', { get: () => (host.loadingModules() ? liveHistoricalState : currentHistoricalState()), enumerable: true });
  }
  G.ccf = ccf;

  G.snp_attestation = {
    verifySnpAttestation(evidence, endorsements, uvmEndorsements, endorsedTcb) {
      if (arguments.length < 2 || arguments.length > 4) throw new TypeError('Passed ' + arguments.length + ' arguments, but expected between 2 and 4');
      const where = 'verifySnpAttestation';
      needBuffer(evidence, 'the evidence', where);
      needBuffer(endorsements, 'the endorsements', where);
      const uvm = uvmEndorsements === undefined ? undefined : needBuffer(uvmEndorsements, 'the UVM endorsements', where);
      return host.verifySnpAttestation(evidence, endorsements, uvm, endorsedTcb === undefined ? undefined : needString(endorsedTcb, 'the endorsed TCB', where));
    },
  };

  // ---- console, Math.random, Date ----------------------------------------------------------------

  function format(args) {
    let text = '';
    for (let i = 0; i < args.length; i++) {
      const arg = args[i];
      let part;
      if (typeof arg === 'string') part = arg;
      else if (arg instanceof Error) part = arg.stack ? arg.name + ': ' + arg.message + '\n' + arg.stack : arg.name + ': ' + arg.message;
      else if (typeof arg === 'object' && arg !== null) {
        try {
          part = jsonStringify(arg);
        } catch (e) {
          part = String(arg);
        }
        if (part === undefined) part = String(arg);
      } else part = String(arg);
      text += (i === 0 ? '' : ' ') + part;
    }
    return text;
  }
  // As CCF tags its app lines, so that an operator can filter them (and tell them from the node's).
  const logTag = globals === 'application' ? '[app] ' : '[gov] ';
  function logger(level) {
    return function () {
      host.log(level, jsonStringify(logTag + format(arguments)));
    };
  }
  G.console = { log: logger('info'), info: logger('info'), debug: logger('info'), warn: logger('warn'), error: logger('error') };

  Math.random = function random() {
    return host.random();
  };

  /** Date with the host's untrusted clock, or the epoch until the app opts in. */
  const CocoDate = function Date() {
    if (new.target === undefined) return new NativeDate(host.now()).toString();
    const args = arguments.length === 0 ? [host.now()] : Array.prototype.slice.call(arguments);
    return Reflect.construct(NativeDate, args, new.target);
  };
  CocoDate.prototype = NativeDate.prototype;
  CocoDate.now = function now() {
    return host.now();
  };
  CocoDate.parse = NativeDate.parse;
  CocoDate.UTC = NativeDate.UTC;
  Object.defineProperty(NativeDate.prototype, 'constructor', { value: CocoDate, writable: true, configurable: true });
  G.Date = CocoDate;

  // ---- entry points for the host -----------------------------------------------------------------

  /** Calls an exported function with decoded arguments; returns its result encoded. */
  function callExport(fn, json) {
    const args = apply(decode, undefined, Array.prototype.slice.call(arguments, 1));
    return encode(apply(fn, undefined, args));
  }

  /** Calls an exported function with raw argument values; returns its result encoded. */
  function callExportWith(fn) {
    return encode(apply(fn, undefined, Array.prototype.slice.call(arguments, 1)));
  }

  /** Calls an exported function with decoded arguments; returns its result as CCF reads text from JS (cString), encoded. */
  function callExportForText(fn, json) {
    const args = apply(decode, undefined, Array.prototype.slice.call(arguments, 1));
    return encode(cString(apply(fn, undefined, args)));
  }

  /**
   * A value as the C string CCF's JS_ToCString makes of it: its ToString, '' where that throws (a
   * symbol, a toString that throws), and up to its first NUL character, where a C string ends.
   */
  function cString(value) {
    if (typeof value === 'symbol') return '';
    let text;
    try {
      text = String(value);
    } catch (e) {
      return '';
    }
    const end = text.indexOf('\0');
    return end < 0 ? text : text.slice(0, end);
  }

  /**
   * The body of the request being handled, from its dispatch until the host ends the request, once
   * the promise jobs the function left ran. As CCF's, every request.body reads it, one kept from an
   * earlier request in a reused interpreter included; a small UTF-8 body comes inline as text,
   * anything else from the host.
   */
  let currentBody;
  function bodyNow() {
    if (currentBody === undefined) throw new Error('request.body can only be read while a request is handled');
    return currentBody;
  }
  function bodyText() {
    const body = bodyNow();
    return body.text === undefined ? host.requestText(body.callId) : body.text;
  }
  function makeBody() {
    return {
      text() {
        return bodyText();
      },
      json() {
        return jsonParse(bodyText());
      },
      arrayBuffer() {
        return host.requestBody(bodyNow().callId);
      },
    };
  }

  /** Kinds of response body, as dispatch reports them to the host. */
  const BODY_NONE = 0;
  const BODY_BYTES = 1;
  const BODY_TEXT = 2;
  const BODY_JSON = 3;
  const INVALID = -1;
  /** What dispatch returns for an async function, whose outcome settleAsync then reports. */
  const PENDING = -2;

  /** An invalid return value: CCF's category for it ('not an object', ...) and what exactly was wrong. */
  function invalid(category, reason) {
    return [INVALID, category, reason];
  }

  /**
   * Runs an endpoint function on a request and returns [kind, statusCode, headers JSON, payload],
   * or [INVALID, category, reason], or [PENDING] when the function is async. Body rules are CCF's:
   * undefined = no body, ArrayBuffer or view = bytes, string = text (as UTF-8 bytes), anything else
   * = JSON text. Headers and caller are parsed only if read.
   */
  function dispatch(fn, callId, inlineBody, headersJson, query, path, method, hostname, route, url, paramsJson, callerJson) {
    currentBody = { callId: callId, text: inlineBody };
    const response = fn(makeRequest(headersJson, query, path, method, hostname, route, url, paramsJson, callerJson, Array.prototype.slice.call(arguments, 12)));
    if (!(response instanceof PromiseCtor)) return respond(response);
    // An async function: its outcome, once the host has run the promise jobs, is what settleAsync() reports.
    const outcome = { settled: false };
    pendingOutcome = outcome;
    response.then(
      (value) => {
        outcome.settled = true;
        outcome.value = value;
      },
      (error) => {
        outcome.settled = true;
        outcome.failed = true;
        outcome.error = error;
      },
    );
    return [PENDING];
  }

  /** The outcome of an async endpoint function dispatch returned PENDING for, as dispatch reports it. */
  let pendingOutcome;
  function settleAsync() {
    const outcome = pendingOutcome;
    pendingOutcome = undefined;
    if (outcome === undefined || !outcome.settled) {
      return invalid('a Promise', 'the promise the endpoint function returned never settled: nothing outside the request can settle it');
    }
    if (outcome.failed) throw outcome.error;
    return respond(outcome.value);
  }

  /**
   * Ends the request dispatch began: its body is no longer readable. Returns what promise rejections
   * nothing handled since the last request ended, as the rejection watch reports them.
   */
  function endRequest() {
    currentBody = undefined;
    return rejections.takeUnhandled();
  }

  function makeRequest(headersJson, query, path, method, hostname, route, url, paramsJson, callerJson, callerBuffers) {
    // One object literal in CCF's member order: headers and caller become data properties on first
    // read (or write). Cheaper in QuickJS than parsing the request as JSON and defining accessors.
    const request = {
      get headers() {
        return settle(request, 'headers', nativeJsonParse(headersJson));
      },
      set headers(value) {
        settle(request, 'headers', value);
      },
      query: query,
      path: path,
      method: method,
      hostname: hostname,
      route: route,
      url: url,
      params: paramsJson === undefined ? {} : nativeJsonParse(paramsJson),
      body: makeBody(),
      get caller() {
        return settle(request, 'caller', apply(decode, undefined, [callerJson].concat(callerBuffers)));
      },
      set caller(value) {
        settle(request, 'caller', value);
      },
    };
    return request;
  }

  function respond(response) {
    if (typeof response !== 'object' || response === null) {
      return invalid('not an object', 'the endpoint function must return an object like { statusCode, headers, body }, got ' + describe(response));
    }
    const statusCode = response.statusCode;
    if (statusCode !== undefined && statusCode !== null && (typeof statusCode !== 'number' || !Number.isInteger(statusCode) || statusCode < 200 || statusCode > 599)) {
      return invalid('status code type', 'statusCode must be an integer from 200 to 599 (a final response), got ' + (typeof statusCode === 'number' ? String(statusCode) : describe(statusCode)));
    }
    let headers;
    if (typeof response.headers === 'object' && response.headers !== null) {
      const lowerCased = {};
      for (const name of Object.keys(response.headers)) lowerCased[name.toLowerCase()] = String(response.headers[name]);
      headers = jsonStringify(lowerCased);
    }
    const status = statusCode === null ? undefined : statusCode;
    const body = response.body;
    if (body === undefined) return [BODY_NONE, status, headers];
    const bytes = typeof body === 'object' && body !== null ? bytesOf(body) : undefined;
    if (bytes !== undefined) return [BODY_BYTES, status, headers, bytes];
    if (typeof body === 'string') return [BODY_TEXT, status, headers, strToBuf(body)];
    let json;
    try {
      json = jsonStringify(body);
    } catch (e) {
      return invalid('error during JSON conversion of body', String(e));
    }
    if (json === undefined) return invalid('error during JSON conversion of body', 'the body (' + describe(body) + ') has no JSON form');
    return [BODY_JSON, status, headers, json];
  }

  /** The error a failed host function throws, of a real Error class so that instanceof works. */
  function makeError(name, message) {
    return new (name === 'TypeError' ? TypeError : name === 'RangeError' ? RangeError : name === 'InternalError' ? InternalError : Error)(message);
  }

  return { callExport, callExportWith, callExportForText, dispatch, settleAsync, endRequest, encode, decode, makeError };
})`;
