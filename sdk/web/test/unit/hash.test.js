import { test } from 'node:test'
import assert from 'node:assert/strict'
import { murmur3, toBucket, bucket, BUCKETS } from '../../src/hash.js'
import { loadVectors, VECTORS } from './vectors.js'

test('murmur3 matches the known values of docs/assignment.md', () => {
  assert.equal(murmur3('', 0), 0)
  assert.equal(murmur3('', 1), 0x514e28b7)
  assert.equal(murmur3('hello', 0), 0x248bfa47)
})

test('the public Optimizely vector lands in bucket 5254', () => {
  assert.equal(toBucket(murmur3('ppid1' + '1886780721', 1)), 5254)
})

test('strings are hashed as their UTF-8 bytes', () => {
  for (const s of ['ä', 'Καλάθι', 'koszyk-ż', 'سلة', '☕️ extra', '𝔘']) {
    assert.equal(murmur3(s, 7), murmur3(new TextEncoder().encode(s), 7), s)
  }
  // Every tail length (0-3 bytes after the 4-byte blocks) takes its path.
  const seen = new Set()
  for (const s of ['abcd', 'abcde', 'abcdef', 'abcdefg']) seen.add(murmur3(s, 0))
  assert.equal(seen.size, 4)
})

test('results are unsigned 32-bit integers', () => {
  for (let i = 0; i < 1000; i++) {
    const h = murmur3('visitor-' + i, i)
    assert.ok(Number.isInteger(h) && h >= 0 && h <= 0xffffffff)
  }
})

test('toBucket maps the 32-bit range onto [0, 10000)', () => {
  assert.equal(toBucket(0), 0)
  assert.equal(toBucket(0xffffffff), BUCKETS - 1)
  assert.equal(toBucket(2 ** 31), 5000)
  assert.equal(toBucket(429497), 1) // first hash of bucket 1 is ceil(2^32 / 10000)
  assert.equal(toBucket(429496), 0)
})

test('bucket hashes salt|purpose|visitor with seed 0', () => {
  assert.equal(bucket('exp', 'variant', 'v1'), toBucket(murmur3('exp|variant|v1', 0)))
  assert.notEqual(bucket('exp', 'variant', 'v1'), bucket('exp', 'coverage', 'v1'))
})

const vectors = loadVectors()

test('the shared vectors file exists', () => {
  assert.ok(vectors, `${VECTORS} is missing: the C and JavaScript tests share it`)
})

test('shared vectors: murmur3', () => {
  assert.ok(vectors.murmur3.length > 0)
  for (const v of vectors.murmur3) {
    assert.equal(murmur3(v.input, v.seed), v.hash, JSON.stringify(v))
  }
})

test('shared vectors: bucket', () => {
  assert.ok(vectors.bucket.length > 0)
  for (const v of vectors.bucket) {
    assert.equal(bucket(v.salt, v.purpose, v.visitor), v.bucket, JSON.stringify(v))
  }
})
