// One lint config for every package: type-checked rules, type-only imports, no default
// exports and exhaustive switches (STYLE.md §12).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/build/**', '**/node_modules/**', '**/*.mjs', '**/*.cjs', '**/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unnecessary-condition': 'off',
      'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' }],
      // The native boundary (STYLE.md): koffi and @iso/core/native only in src/sys.ts.
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'koffi', message: 'Only src/sys.ts may import koffi.' },
            { name: '@iso/core/native', message: 'Only src/sys.ts may reach the native layer; call a function of this package\'s sys.ts.' },
          ],
        },
      ],
    },
  },
  {
    // Tests may use native oracles (libseccomp, libcap) and raw calls to set up cases.
    files: ['**/src/sys.ts', '**/test/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['**/test/**', '**/vitest.config.ts', '**/tsup.config.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      // vitest's asymmetric matchers (expect.objectContaining...) are typed any.
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      'no-restricted-syntax': 'off',
    },
  },
);
