// The client SDK's examples in README.md ("Client SDK") and docs/client.md compile as an
// integrator's strict NodeNext TypeScript project compiles them, against the package's built types.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The ```ts blocks of `text`. */
function tsBlocks(text: string): string[] {
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!);
}

/** What an example takes from its surroundings when it does not make it itself (docs/client.md says which). */
function withContext(example: string): string {
  const context = [
    ...(/\bconst read\b/.test(example) ? [] : ['declare function read(name: string): string;']),
    ...(/\bconst client\b/.test(example) || !/\bclient\b/.test(example) ? [] : ["declare const client: import('coco').CocoClient;"]),
  ];
  return `${context.join('\n')}\n${example}\nexport {};\n`;
}

function diagnostics(examples: Map<string, string>): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'coco-doc-examples-'));
  try {
    const files = [...examples].map(([name, code], index) => {
      const file = join(dir, `example-${index}.mts`);
      writeFileSync(file, `// ${name}\n${withContext(code)}`);
      return file;
    });
    const program = ts.createProgram(files, {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      noUncheckedIndexedAccess: true,
      exactOptionalPropertyTypes: true,
      types: ['node'],
      typeRoots: [join(repoRoot, 'node_modules/@types')],
      skipLibCheck: true,
      noEmit: true,
      paths: { coco: [join(repoRoot, 'dist/src/client/index.d.ts')] },
    });
    return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
      const where = diagnostic.file === undefined ? '' : `${diagnostic.file.text.split('\n', 1)[0]}: `;
      return `${where}${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the client SDK examples', () => {
  it('type-check under strict, as the README and docs/client.md show them', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const clientSection = /^## Client SDK\n([\s\S]*?)^## /m.exec(readme)?.[1] ?? '';
    const examples = new Map<string, string>();
    tsBlocks(clientSection).forEach((code, index) => examples.set(`README.md Client SDK example ${index + 1}`, code));
    tsBlocks(readFileSync(join(repoRoot, 'docs/client.md'), 'utf8')).forEach((code, index) => examples.set(`docs/client.md example ${index + 1}`, code));
    assert.ok(examples.size >= 4, `found ${examples.size} examples`);
    assert.deepEqual(diagnostics(examples), []);
  });
});
