import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/**
 * Data flows one way: origin, upstream, session (relay), wire (protocol), connection and transfer (client),
 * engine (player), the page (app). The ISO-BMFF code (mp4) sits on the protocol, below the relay and the
 * player alike. A layer never imports one above it, and the runtime-neutral parts import
 * no runtime. Each rule lists what its folder must not reach; the per-layer tsconfigs check the types too.
 */
const NODE_ONLY = ['node:*', 'undici', 'ws', 'pino', 'prom-client'];
const layer = (files, patterns, message) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { patterns: [{ group: patterns, message }] }] },
});

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.media/', 'scratch/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { files: ['**/*.mjs', '**/*.js'], languageOptions: { globals: globals.node } },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  // One owner per job: a file or function past these sizes holds more than one.
  {
    files: ['src/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 300 }],
      'max-lines-per-function': ['error', { max: 50, skipBlankLines: true, skipComments: true }],
    },
  },
  layer(['src/protocol/**'], [...NODE_ONLY, '**/mp4/**', '**/relay/**', '**/client/**', '**/player/**', '**/app/**', '**/cli/**'],
    'the protocol depends on nothing of Ferry and no runtime'),
  layer(['src/mp4/**'], [...NODE_ONLY, '**/relay/**', '**/client/**', '**/player/**', '**/app/**', '**/cli/**', '**/ui/**'],
    'MP4 boxes are read and written for the relay and the player alike: on the protocol only, no runtime'),
  layer(['src/relay/core/**'], [...NODE_ONLY, '**/node/**', '**/client/**', '**/player/**', '**/app/**', '**/cli/**'], 'the relay core is Web standards only, and below the client'),
  layer(['src/relay/workers/**'], [...NODE_ONLY, '**/node/**', '**/client/**', '**/player/**', '**/app/**', '**/cli/**'], 'the Workers edge runs on workerd: Web standards only, beside the Node edge'),
  layer(['src/relay/node/**'], ['**/workers/**', '**/client/**', '**/player/**', '**/app/**', '**/cli/**'], 'the relay is below the client, the player and the page'),
  layer(['src/client/**'], ['**/relay/**', '**/player/**', '**/app/**', '**/cli/**'], 'the client is below the player and the page, and never reaches into the relay'),
  layer(['src/player/**'], [...NODE_ONLY, '**/relay/**', '**/app/**', '**/cli/**'], 'the player runs in the page, below it, and never reaches into the relay'),
  layer(['src/ui/**'], [...NODE_ONLY, '**/relay/**', '**/client/**', '**/player/**', '**/app/**', '**/cli/**'], 'the words and numbers people read depend on the protocol only, for the page and the terminal alike'),
  layer(['src/app/**'], [...NODE_ONLY, '**/relay/**', '**/cli/**'], 'the page runs in the browser and never reaches into the relay'),
);
