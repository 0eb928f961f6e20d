// A file a node no longer reads, but keeps for whoever looks into it, is renamed with CCF's suffix
// `.ignored`. The same name can be set aside more than once (a chunk written again after a restart
// from a snapshot, each interrupted recovery's sealed secrets), so each takes the first free name of
// `<name>.ignored`, `<name>.1.ignored`, `<name>.2.ignored`...: none overwrites an earlier one.

import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';

/** The first free name in `directory` to set `name` aside under. */
export function freeSetAsideName(directory: string, name: string): string {
  let target = `${name}.ignored`;
  for (let n = 1; existsSync(join(directory, target)); n++) target = `${name}.${n}.ignored`;
  return target;
}

/** Renames `name` in `directory` to its free set-aside name, which it returns. */
export function setAsideFile(directory: string, name: string): string {
  const target = freeSetAsideName(directory, name);
  renameSync(join(directory, name), join(directory, target));
  return target;
}
