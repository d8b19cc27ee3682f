// typescript-eslint with type information: the rules that catch what tsc cannot (unawaited
// promises, switches that miss a case) over every TypeScript file the tsconfig covers.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'test-results/',
      'playwright-report/',
      'bench-results/',
      '.vitest-attachments/',
      '.gpu/',
      '.gl/',
      '.cache/',
      'public/',
      '**/*.mjs',
      '*.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: false }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // The GPU and IndexedDB are touched only when asked to (consent first; workers and tests import modules freely).
      'no-restricted-syntax': [
        'error',
        {
          selector: 'MemberExpression[property.name=/^(gpu|indexedDB)$/]:not(:function MemberExpression)',
          message: 'No top-level access to navigator.gpu or indexedDB: reach them inside a function, when asked to.',
        },
      ],
    },
  },
  {
    // Code the pages bundle must not reach Node-only modules (SQLite, worker threads, the store factory, files read from disk).
    files: ['src/**/*.ts'],
    ignores: [
      'src/host/recompute-thread*.ts',
      'src/host/store/sqlite-*.ts',
      'src/host/store/pg-*.ts',
      'src/host/store/open-host-store.ts',
      'src/data/load-node.ts',
      'src/host/ingest/ingest-node.ts',
      'src/host/node-host.ts',
      'src/host/export/export-job.ts',
      'src/net/node-webrtc.ts',
      'src/sdk/grid.ts',
      'src/host/turn-credentials.ts',
      'src/gpu/dawn*.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^node:', message: 'Node-only: keep it in one of the Node-only files eslint.config.js lists.' },
            { regex: '^better-sqlite3$', message: 'Node-only: SQLite lives in src/host/store/sqlite-*.ts.' },
            { regex: '^pg$', message: 'Node-only: PostgreSQL lives in src/host/store/pg-*.ts.' },
            { regex: '^webgpu$', message: 'Node-only: Dawn (the webgpu package) is loaded by src/gpu/dawn.ts.' },
            {
              regex:
                '(open-host-store|sqlite-store|sqlite-key|sqlite-group-commit|pg-store|pg-key|recompute-thread|load-node|ingest-node|node-host|node-webrtc|export-job|/sdk/grid|turn-credentials|/gpu/dawn[a-z-]*)$',
              message: 'Node-only module: the pages bundle cannot load it.',
            },
          ],
        },
      ],
    },
  },
);
