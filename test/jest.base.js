// Shared jest settings: TypeScript through ts-jest (transpile only; `npm run typecheck` checks types)
// and the @app/* aliases from tsconfig.json.
const path = require('node:path');
const { compilerOptions } = require('../tsconfig.json');

/** ESM-only packages the tests load; see test/esm-to-cjs.transformer.js. */
const ESM_PACKAGES = ['@nestjs', '@platformatic', '@standard-schema', 'file-type', 'strtok3', 'token-types', '@tokenizer', 'uint8array-extras'];

const moduleNameMapper = {};
for (const [alias, [target]] of Object.entries(compilerOptions.paths)) {
  moduleNameMapper[`^${alias}$`] = path.join('<rootDir>', target);
}

module.exports = {
  rootDir: path.resolve(__dirname, '..'),
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/test/tsconfig.jest.json', diagnostics: false }],
    [`/node_modules/(${ESM_PACKAGES.join('|')})/.+\\.js$`]: '<rootDir>/test/esm-to-cjs.transformer.js',
  },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_PACKAGES.join('|')})/)`],
  moduleNameMapper,
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/test/heroku-cli/'],
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/test/heroku-cli/'],
};
