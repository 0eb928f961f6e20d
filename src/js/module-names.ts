// Module names inside an app bundle: absolute paths like "/endpoints/all.js". An import specifier
// starting with "./" or "../" is resolved against the importing module's folder; any other
// specifier is a path from the bundle root (CCF prefixes "/" to it). No node_modules lookup exists:
// dependencies must be bundled into the app.

/** The absolute module name `specifier` denotes when imported from module `importer`. */
export function resolveModuleName(importer: string, specifier: string): string {
  const relative = specifier === '.' || specifier === '..' || specifier.startsWith('./') || specifier.startsWith('../');
  const base = relative ? importer.slice(0, importer.lastIndexOf('/') + 1) : '/';
  const segments: string[] = [];
  for (const segment of `${base}${specifier}`.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join('/')}`;
}

/** True for specifiers that name a package rather than a file of the bundle, e.g. "@microsoft/ccf-app". */
export function isPackageSpecifier(specifier: string): boolean {
  return !specifier.startsWith('/') && !specifier.startsWith('.');
}
