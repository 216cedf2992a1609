// Jest (on Node 20) cannot require ES modules, and NestJS 12 ships only ESM. This transformer
// compiles those packages to CommonJS for the test runtime; the built app runs them natively
// through Node's require(esm). `import.meta` has no CommonJS meaning, so it is mapped first.
const ts = require('typescript');
const { createHash } = require('node:crypto');

const VERSION = '1';

function rewriteImportMeta(source) {
  return source
    .replace(/^const require = createRequire\(import\.meta\.url\);?$/gm, '')
    .replace(/createRequire\(import\.meta\.url\)/g, 'require')
    .replace(/import\.meta\.resolve\(/g, 'require.resolve(')
    .replace(/import\.meta\.url/g, "require('node:url').pathToFileURL(__filename).href")
    .replace(/import\.meta\.dirname/g, '__dirname')
    .replace(/import\.meta\.filename/g, '__filename');
}

module.exports = {
  getCacheKey(source, path) {
    return createHash('sha1').update(VERSION).update(path).update(source).digest('hex');
  },
  process(source, path) {
    const output = ts.transpileModule(rewriteImportMeta(source), {
      fileName: path,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, allowJs: true, esModuleInterop: true, sourceMap: false },
    });
    return { code: output.outputText };
  },
};
