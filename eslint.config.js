// Type-aware linting for src/, test/ and bench/ (typescript-eslint's recommended type-checked rules).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test-results/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Stores and channels implement async interfaces (so a PostgreSQL store can stand behind the
      // same contract); an implementation that happens to be synchronous is still correct.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // One way to run a process and to open a connection: src/adapters/ (exec.ts: timeout, abort, env
    // allow-list, redaction, DrydockError; postgres.ts and redis.ts: secrets, timeouts, the 'error'
    // listener). Nothing else in src/ imports these modules' values (a type import is fine).
    files: ['src/**/*.ts', 'src/**/*.tsx'],
    ignores: ['src/adapters/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...['node:child_process', 'child_process'].map((name) => ({
              name,
              allowTypeImports: true,
              message: 'run programs through src/adapters/exec.ts (exec / spawnProcess)',
            })),
            ...['pg', '@redis/client', 'redis'].map((name) => ({
              name,
              allowTypeImports: true,
              message: 'open connections through src/adapters/postgres.ts or src/adapters/redis.ts',
            })),
          ],
        },
      ],
    },
  },
  {
    // Tests read JSON documents (manifests, API bodies) and assert on their fields directly.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
