// The app bundle `coco app deploy` and `coco sandbox --app` propose, read, checked and compiled here
// first: an endpoint that lacks a field, or a module that does not compile, would otherwise fail only
// when the proposal is voted, leaving it Open (or, for the sandbox, a workspace whose first start did
// not finish).

import { loadAppBundle, type AppBundle } from '../client/app-bundle-files.js';
import { CocoError } from '../errors.js';
import { ScriptChecker } from '../governance/script-checker.js';
import { parseAppBundle } from '../js/app-bundle.js';

/** The bundle at `path` (see loadAppBundle), checked and its modules compiled as set_js_app does; CocoError 'InvalidBundle' otherwise. */
export async function loadCheckedAppBundle(path: string): Promise<AppBundle> {
  const bundle = loadAppBundle(path);
  const checker = await ScriptChecker.create();
  try {
    parseAppBundle(bundle);
    // Under the names set_js_app gives them in the modules table.
    checker.checkAppModules(new Map(bundle.modules.map((module) => [`/${module.name}`, module.module])));
  } catch (error) {
    if (error instanceof CocoError && error.code === 'InvalidAppBundle') throw new CocoError('InvalidBundle', `${path}: ${error.message}; nothing was proposed`, { cause: error });
    throw error;
  } finally {
    checker.dispose();
  }
  return bundle;
}
