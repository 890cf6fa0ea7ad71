// bundle.mjs: the one-file, minified SDK that upshotd serves at
// GET /v1/sdk/upshot.js (docs/sdk.md, "Loading the SDK from upshotd").
//
//   node scripts/bundle.mjs OUT.js
//
// The same settings as size.mjs measures (esbuild: bundle, minify, ES
// module, ES2019), so the budget it checks is the size pages download.
// Runs offline from node_modules; the build (engine/CMakeLists.txt) calls
// it and embeds OUT.js in upshotd. esbuild's output depends only on its
// input and version (pinned in package-lock.json), so a rebuild of the
// same sources gives the same bytes and the same ETag.
import { build } from 'esbuild'
import { mkdirSync, readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const out = process.argv[2]
if (!out) {
  console.error('usage: node scripts/bundle.mjs OUT.js')
  process.exit(2)
}
mkdirSync(dirname(resolve(out)), { recursive: true })
const pkg = fileURLToPath(new URL('../package.json', import.meta.url))
const { version } = JSON.parse(readFileSync(pkg, 'utf8'))
await build({
  entryPoints: [fileURLToPath(new URL('../src/index.js', import.meta.url))],
  outfile: out,
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2019',
  legalComments: 'none',
  banner: { js: `/* @upshot/web ${version} (MIT) */` },
  logLevel: 'warning'
})
