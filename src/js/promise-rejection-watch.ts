// Finds the promise rejections nothing in a request handled, so that a promise chain a handler
// started and did not return does not fail silently. QuickJS tells an embedder about them only
// through a rejection tracker, which quickjs-emscripten does not install; so the prelude watches
// from JavaScript what it can see: a `then`, `catch` or `finally` callback that throws or returns
// a promise that rejects (or a rejection such a chain passes on), which rejects the promise `then`
// made. That rejection counts as handled once the promise gets a `then` (Promise.all and the like
// call it too) or is awaited (an `await` reads the promise's `constructor`). What it cannot see: a
// promise that no `then` made and nothing handled, such as that of an async function called
// without `await` that throws, or of `Promise.reject`.

/** How many unhandled rejections of one request are reported one by one; the rest are counted. */
export const UNHANDLED_REJECTIONS_REPORTED_MAX = 8;

/**
 * A function expression `(PromiseCtor, apply, defineProperty) => watch`, evaluated by the prelude
 * before any app code: it replaces `Promise.prototype.then` and `Promise.prototype.constructor` by
 * equivalents that watch, and `watch.takeUnhandled()` returns undefined when nothing went
 * unhandled since the last take, else `[count, errors]` with the first
 * UNHANDLED_REJECTIONS_REPORTED_MAX rejection values, and starts afresh.
 */
export const PROMISE_REJECTION_WATCH_SOURCE = String.raw`(function (PromiseCtor, apply, defineProperty) {
  'use strict';
  const nativeThen = PromiseCtor.prototype.then;
  const MapCtor = Map;
  const weakAdd = WeakSet.prototype.add;
  const weakHas = WeakSet.prototype.has;
  const mapSet = Map.prototype.set;
  const mapDelete = Map.prototype.delete;
  const mapForEach = Map.prototype.forEach;
  const mapSize = Object.getOwnPropertyDescriptor(Map.prototype, 'size').get;
  /** Promises something handles: then was called on them, or they were awaited. */
  const handled = new WeakSet();
  /** Promises a callback's exception rejected and nothing has handled yet, with the rejection, oldest first. */
  let failed = new MapCtor();

  function markHandled(promise) {
    if ((typeof promise !== 'object' && typeof promise !== 'function') || promise === null) return;
    apply(weakAdd, handled, [promise]);
    apply(mapDelete, failed, [promise]);
  }

  defineProperty(PromiseCtor.prototype, 'then', {
    value: function then(onFulfilled, onRejected) {
      markHandled(this);
      let derived;
      const note = (error) => {
        if (derived !== undefined && !apply(weakHas, handled, [derived])) apply(mapSet, failed, [derived, error]);
      };
      const watched = (callback, argument) => {
        let result;
        try {
          result = callback(argument);
        } catch (error) {
          note(error);
          throw error;
        }
        // A promise the callback returns settles the derived one: a rejection it brings is noted too.
        if (result instanceof PromiseCtor) apply(nativeThen, result, [undefined, note]);
        return result;
      };
      const fulfilled = typeof onFulfilled !== 'function' ? onFulfilled : (value) => watched(onFulfilled, value);
      // Without onRejected the rejection passes on to the derived promise, which is watched in turn.
      const rejected = (reason) => {
        if (typeof onRejected === 'function') return watched(onRejected, reason);
        note(reason);
        throw reason;
      };
      derived = apply(nativeThen, this, [fulfilled, rejected]);
      return derived;
    },
    writable: true,
    enumerable: false,
    configurable: true,
  });

  // An await reads the awaited promise's constructor (PromiseResolve), which marks it handled.
  defineProperty(PromiseCtor.prototype, 'constructor', {
    get: function constructor() {
      markHandled(this);
      return PromiseCtor;
    },
    set: function constructor(value) {
      defineProperty(this, 'constructor', { value: value, writable: true, enumerable: true, configurable: true });
    },
    enumerable: false,
    configurable: true,
  });

  function takeUnhandled() {
    const count = apply(mapSize, failed, []);
    if (count === 0) return undefined;
    const errors = [];
    apply(mapForEach, failed, [(error) => {
      if (errors.length < ${UNHANDLED_REJECTIONS_REPORTED_MAX}) errors[errors.length] = error;
    }]);
    failed = new MapCtor();
    return [count, errors];
  }

  return { takeUnhandled: takeUnhandled };
})`;
