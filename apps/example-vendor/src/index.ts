export { ExampleVendorServer } from './example-vendor.server';
export type { ExampleVendorOptions, NotebookResource } from './example-vendor.server';
export { exampleVendorManifest } from './example-vendor.manifest';
export type { ExampleVendorManifest, ExampleVendorManifestOptions, ExampleVendorPlan } from './example-vendor.manifest';
