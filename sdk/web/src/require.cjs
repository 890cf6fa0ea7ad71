// require.cjs: what `require('@upshot/web')` gets. The SDK is published as
// ES modules only (it runs in browsers, where there is no require), so a
// CommonJS caller is told how to load it instead of failing on an
// ERR_REQUIRE_ESM or a SyntaxError deep inside the package.
'use strict'
const err = new Error(
  '@upshot/web is an ES module and cannot be loaded with require(). ' +
  'Use `import { createUpshot } from \'@upshot/web\'` (in CommonJS: ' +
  '`const { createUpshot } = await import(\'@upshot/web\')`), or let a bundler ' +
  '(esbuild, webpack, Vite) resolve its "import" condition.')
err.code = 'UPSHOT_ESM_ONLY'
throw err
