import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '.reelbus/**', 'contracts/schemas/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read the environment only in a service config.ts (STYLE.md).',
        },
      ],
    },
  },
  {
    // Test helpers, tools and config modules may read the environment; libraries may not.
    files: [
      '**/config.ts',
      'tools/**',
      '**/*.test.ts',
      '**/testing/**',
      '**/test-support.ts',
      '**/fixtures/**',
    ],
    rules: { 'no-restricted-properties': 'off' },
  },
);
