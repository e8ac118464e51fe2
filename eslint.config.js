// ESLint for the widget scripts (`make lint`): the recommended rules, and what keeps
// code that runs in other people's pages careful.
import js from '@eslint/js';
import globals from 'globals';

export default [
  { ignores: ['widgets/dist/', 'node_modules/', '.venv/'] },
  js.configs.recommended,
  {
    files: ['widgets/src/**/*.js'],
    languageOptions: { ecmaVersion: 2021, sourceType: 'module', globals: globals.browser },
    rules: {
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-implicit-globals': 'error',
      'no-shadow': 'error',
      'no-var': 'error',
      'prefer-const': 'error',
      'no-eval': 'error',
      'no-implied-eval': 'error',
      'no-new-func': 'error',
      'no-restricted-properties': [
        'error',
        { property: 'innerHTML', message: 'Text goes in with textContent only.' },
        { property: 'outerHTML', message: 'Text goes in with textContent only.' },
        { property: 'insertAdjacentHTML', message: 'Text goes in with textContent only.' },
      ],
    },
  },
  {
    files: ['widgets/*.mjs', 'eslint.config.js'],
    languageOptions: { sourceType: 'module', globals: globals.node },
  },
];
