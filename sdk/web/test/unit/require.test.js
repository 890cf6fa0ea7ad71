// A CommonJS consumer gets a clear error from require(), and import()
// still loads the package through the same name (the "exports" map).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

for (const name of ['@upshot/web', '@upshot/web/hash', '@upshot/web/assign']) {
  test(`require('${name}') throws an error that says to use import`, () => {
    assert.throws(() => require(name), (e) => {
      assert.equal(e.code, 'UPSHOT_ESM_ONLY')
      assert.match(e.message, /is an ES module and cannot be loaded with require\(\)/)
      assert.match(e.message, /import \{ createUpshot \} from '@upshot\/web'/)
      return true
    })
  })
}

test('import() of the same names loads the ES modules', async () => {
  const sdk = await import('@upshot/web')
  assert.equal(typeof sdk.createUpshot, 'function')
  const hash = await import('@upshot/web/hash')
  assert.equal(typeof hash.murmur3, 'function')
  const assign = await import('@upshot/web/assign')
  assert.equal(typeof assign.evaluate, 'function')
})
