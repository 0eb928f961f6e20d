// Lint rules: typescript-eslint's recommended set over the TypeScript sources; the compiler's
// strict mode (tsc --noEmit, in `npm run lint`) does the type checking.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // my-app/ and notary/: the apps the README's and docs/apps.md's walkthroughs create in a clone.
  { ignores: ['dist/', 'node_modules/', 'workspace/', 'my-app/', 'notary/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-control-regex': 'off',
    },
  },
  { files: ['bin/*.js'], languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } } },
);
