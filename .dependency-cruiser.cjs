// The dependency rules of STYLE.md: apps → libs, never back; apps never import each other;
// the domain imports only `common`; adapter libs do not import each other; no cycles.
const ADAPTERS = 'libs/(persistence|queues|provisioners|auth)/';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    { name: 'libs-not-to-apps', severity: 'error', from: { path: '^libs/' }, to: { path: '^apps/' } },
    {
      name: 'apps-not-to-other-apps',
      severity: 'error',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/([^/]+)/', pathNot: '^apps/$1/' },
    },
    {
      name: 'domain-only-common',
      comment: 'The domain depends on common and Nest decorators only, never on frameworks for storage, queues or HTTP.',
      severity: 'error',
      from: { path: '^libs/domain/', pathNot: '\\.spec\\.ts$' },
      to: {
        pathNot: ['^libs/(domain|common)/', '^node_modules/@nestjs/common/', '^node_modules/@types/node/'],
        dependencyTypesNot: ['core'],
      },
    },
    { name: 'common-is-a-leaf', severity: 'error', from: { path: '^libs/common/' }, to: { path: '^libs/(?!common/)' } },
    {
      name: 'adapters-independent',
      severity: 'error',
      from: { path: `^${ADAPTERS}` },
      to: { path: `^${ADAPTERS}`, pathNot: '^libs/$1/' },
    },
    { name: 'production-not-to-testing', severity: 'error', from: { path: '^(apps|libs)/', pathNot: '\\.(spec|int-spec|e2e-spec)\\.ts$|^libs/testing/' }, to: { path: '^libs/testing/' } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^dist/|^test/heroku-cli/)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
