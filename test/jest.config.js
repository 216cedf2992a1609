// `npm test`: unit, integration and end-to-end suites in one run, sharing one global setup
// (test database template, compiled output for child processes, the Heroku CLI).
const base = require('./jest.base');

const project = (displayName, testRegex, extra = {}) => ({ ...base, displayName, testRegex, ...extra });

module.exports = {
  rootDir: base.rootDir,
  globalSetup: '<rootDir>/test/global-setup.ts',
  // Per-test ceiling; integration and end-to-end tests talk to real services.
  testTimeout: 120_000,
  projects: [
    project('unit', '(apps|libs)/.*\\.spec\\.ts$'),
    project('integration', '(apps|libs|test)/.*\\.int-spec\\.ts$'),
    project('e2e', '(apps|test)/.*\\.e2e-spec\\.ts$'),
  ],
};
