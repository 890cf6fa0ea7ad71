// size.mjs: prints the SDK's minified + gzipped size.
// esbuild is used here only to measure (bundle + minify); the SDK ships as
// plain ES modules with no dependencies.
import { build } from 'esbuild'
import { gzipSync, brotliCompressSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'

const entry = fileURLToPath(new URL('../src/index.js', import.meta.url))
const out = await build({
  entryPoints: [entry],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2019',
  write: false
})
const code = out.outputFiles[0].contents
const gz = gzipSync(code, { level: 9 }).length
const br = brotliCompressSync(code).length
const kb = (n) => (n / 1024).toFixed(2) + ' KiB'
console.log(`@upshot/web: ${code.length} B minified (${kb(code.length)}), ` +
  `${gz} B min+gzip (${kb(gz)}), ${br} B min+brotli`)
const limit = Number(process.env.UPSHOT_SIZE_LIMIT || 5120)
if (gz > limit) {
  console.error(`over the budget of ${limit} B min+gzip`)
  process.exit(1)
}
