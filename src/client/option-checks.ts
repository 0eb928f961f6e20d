// Checks of the numeric options callers pass to the client SDK (timeouts, intervals, limits), so a
// typo fails at once with the option's name instead of as a hang or a silent default.

import { CocoError } from '../errors.js';

export function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new CocoError('InvalidArgument', `${name} must be a positive whole number, got ${value}`);
  return value;
}

export function nonNegativeInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new CocoError('InvalidArgument', `${name} must be a whole number ≥ 0, got ${value}`);
  return value;
}
