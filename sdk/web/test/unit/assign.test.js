import { test } from 'node:test'
import assert from 'node:assert/strict'
import { evaluate, ranges, pick, decodeLayout } from '../../src/assign.js'
import { bucket } from '../../src/hash.js'
import { loadVectors, VECTORS } from './vectors.js'

const exp = (over = {}) => Object.assign({
  key: 'checkout-tiers',
  status: 'running',
  variants: [
    { key: 'control', weight: 0.5, payload: { tiers: 1 } },
    { key: 'three', weight: 0.5, payload: { tiers: 3 } }
  ]
}, over)

// A visitor whose bucket for (salt, purpose) satisfies pred.
function visitorWhere (salt, purpose, pred) {
  for (let i = 0; i < 1e6; i++) if (pred(bucket(salt, purpose, 'v' + i))) return 'v' + i
  throw new Error('no such visitor')
}

test('ranges: cumulative weights rounded half up, last ends at 10000', () => {
  assert.deepEqual(ranges([0.5, 0.5]), [0, 5000, 10000])
  assert.deepEqual(ranges([1 / 3, 1 / 3, 1 / 3]), [0, 3333, 6667, 10000])
  assert.deepEqual(ranges([0.2, 0, 0.8]), [0, 2000, 2000, 10000])
  assert.deepEqual(ranges([0.00005, 0.99995]), [0, 1, 10000])
  assert.deepEqual(ranges([0.1, 0.2, 0.3, 0.4]), [0, 1000, 3000, 6000, 10000])
})

test('pick: a zero-weight variant never wins; edges belong to the right range', () => {
  assert.equal(pick([0.2, 0, 0.8], 1999), 0)
  assert.equal(pick([0.2, 0, 0.8], 2000), 2)
  assert.equal(pick([0.2, 0, 0.8], 9999), 2)
  assert.equal(pick([1, 0], 9999), 0)
})

test('not running: control, out of the experiment', () => {
  for (const status of ['draft', 'stopped', undefined]) {
    const r = evaluate(exp({ status, qa: { visitors: { qa1: 'three' } } }), 'qa1', 'gr')
    assert.deepEqual(r, { experiment: 'checkout-tiers', variant: 'control', payload: { tiers: 1 }, inExperiment: false, reason: 'not_running' })
  }
})

test('QA: listed visitors and query overrides are forced', () => {
  const e = exp({ regions: ['pl'], qa: { visitors: { qa1: 'three' } } })
  assert.equal(evaluate(e, 'qa1', 'gr').reason, 'forced') // before region targeting
  assert.equal(evaluate(e, 'qa1', 'gr').variant, 'three')
  assert.equal(evaluate(e, 'v1', 'gr', { force: 'three' }).reason, 'region') // override not allowed
  const o = exp({ qa: { query_override: true } })
  assert.equal(evaluate(o, 'v1', 'gr', { force: 'three' }).variant, 'three')
  assert.equal(evaluate(o, 'v1', 'gr', { force: 'three' }).reason, 'forced')
  assert.notEqual(evaluate(o, 'v1', 'gr', { force: 'nope' }).reason, 'forced')
  // both: the explicit force wins
  const both = exp({ qa: { query_override: true, visitors: { qa1: 'control' } } })
  assert.equal(evaluate(both, 'qa1', 'gr', { force: 'three' }).variant, 'three')
})

test('coverage threshold is floor(traffic_percent * 100 + 0.5) buckets, as docs/assignment.md says', () => {
  // 0.015% is 1.5 buckets: rounded half up to 2. (engine/core/experiment.c
  // computes floor(traffic_percent / 100 * 10000 + 0.5), which gives 1
  // here because 0.015 / 100 * 10000 is 1.4999999999999998 in doubles.)
  const e = exp({ traffic_percent: 0.015 })
  const b1 = visitorWhere('checkout-tiers', 'coverage', (b) => b === 1)
  assert.equal(evaluate(e, b1, 'gr').inExperiment, true)
  const b2 = visitorWhere('checkout-tiers', 'coverage', (b) => b === 2)
  assert.equal(evaluate(e, b2, 'gr').reason, 'coverage')
})

test('region targeting: a list excludes other regions; "all" admits all', () => {
  assert.equal(evaluate(exp({ regions: ['gr', 'pl'] }), 'v1', 'se').reason, 'region')
  assert.equal(evaluate(exp({ regions: ['gr', 'pl'] }), 'v1', 'se').inExperiment, false)
  assert.equal(evaluate(exp({ regions: ['gr', 'pl'] }), 'v1', 'pl').reason, 'assigned')
  assert.equal(evaluate(exp({ regions: 'all' }), 'v1', 'mena').reason, 'assigned')
})

test('layers: a visitor lands in at most one experiment of a layer', () => {
  const a = exp({ key: 'a', layer: { name: 'offers', range: [0, 5000] } })
  const b = exp({ key: 'b', layer: { name: 'offers', range: [5000, 10000] } })
  for (let i = 0; i < 2000; i++) {
    const ra = evaluate(a, 'v' + i, 'gr')
    const rb = evaluate(b, 'v' + i, 'gr')
    assert.notEqual(ra.inExperiment, rb.inExperiment)
    const lb = bucket('offers', 'layer', 'v' + i)
    assert.equal(ra.inExperiment, lb < 5000)
    if (!ra.inExperiment) assert.equal(ra.reason, 'layer')
  }
})

test('promotion: the winner outside the holdback, randomized inside it', () => {
  const promotions = { gr: { variant: 'three', holdback: 0.1 } }
  const e = exp({ variants: [{ key: 'control', weight: 1 }, { key: 'three', weight: 0 }] })
  const kept = visitorWhere('checkout-tiers', 'holdback', (b) => b < 1000)
  const promoted = visitorWhere('checkout-tiers', 'holdback', (b) => b >= 1000)
  assert.deepEqual(
    [evaluate(e, promoted, 'gr', { promotions }).variant, evaluate(e, promoted, 'gr', { promotions }).reason],
    ['three', 'promoted'])
  assert.equal(evaluate(e, promoted, 'gr', { promotions }).inExperiment, true)
  assert.equal(evaluate(e, kept, 'gr', { promotions }).reason, 'assigned')
  assert.equal(evaluate(e, kept, 'gr', { promotions }).variant, 'control')
  assert.equal(evaluate(e, promoted, 'pl', { promotions }).reason, 'assigned') // other regions keep testing
  // promotions can also come with the experiment, as /v1/sdk/config sends them
  assert.equal(evaluate(Object.assign(e, { promotions }), promoted, 'gr').reason, 'promoted')
})

test('circuit breaker: a tripped region gets the control, promotion or not', () => {
  const promotions = { gr: { variant: 'three', holdback: 0.1 } }
  const e = exp({ variants: [{ key: 'control', weight: 0.5 }, { key: 'three', weight: 0.5 }] })
  const tripped = Object.assign({}, e, { promotions, breaker_trips: { gr: { variant: 'three' } } })
  for (let i = 0; i < 200; i++) {
    const r = evaluate(tripped, 'v' + i, 'gr')
    assert.deepEqual([r.variant, r.reason, r.inExperiment], ['control', 'breaker', false])
  }
  const seen = new Set()
  for (let i = 0; i < 200; i++) seen.add(evaluate(tripped, 'v' + i, 'pl').variant)
  assert.equal(seen.size, 2) // other regions keep randomizing
})

test('coverage: raising traffic only adds visitors, never moves one', () => {
  const at = (p) => exp({ traffic_percent: p, variants: [
    { key: 'control', weight: 0.34 }, { key: 'b', weight: 0.33 }, { key: 'c', weight: 0.33 }] })
  let in20 = 0
  for (let i = 0; i < 3000; i++) {
    const r20 = evaluate(at(20), 'v' + i, 'ee')
    const r50 = evaluate(at(50), 'v' + i, 'ee')
    if (r20.inExperiment) {
      in20++
      assert.ok(r50.inExperiment)
      assert.equal(r50.variant, r20.variant)
    } else {
      assert.equal(r20.reason, 'coverage')
      assert.equal(r20.variant, 'control')
    }
    assert.equal(r20.inExperiment, bucket('checkout-tiers', 'coverage', 'v' + i) < 2000)
  }
  // 3000 visitors at 20%: sd = sqrt(3000 * 0.2 * 0.8) = 21.9; 5 sd = 110
  assert.ok(Math.abs(in20 - 600) < 110, String(in20))
  assert.equal(evaluate(at(0), 'v1', 'ee').reason, 'coverage')
})

test('the salt, not the key, drives the hash', () => {
  const a = exp({ salt: 'fresh-2' })
  for (let i = 0; i < 50; i++) {
    const b = bucket('fresh-2', 'variant', 'v' + i)
    assert.equal(evaluate(a, 'v' + i, 'gr').variant, b < 5000 ? 'control' : 'three')
  }
})

test('variants spread as weighted (binomial, within 5 sd)', () => {
  const e = exp({ variants: [{ key: 'a', weight: 0.2 }, { key: 'b', weight: 0.3 }, { key: 'c', weight: 0.5 }] })
  const n = 20000
  const count = { a: 0, b: 0, c: 0 }
  for (let i = 0; i < n; i++) count[evaluate(e, 'visitor-' + i, 'pl').variant]++
  for (const [k, w] of [['a', 0.2], ['b', 0.3], ['c', 0.5]]) {
    const sd = Math.sqrt(n * w * (1 - w))
    assert.ok(Math.abs(count[k] - n * w) < 5 * sd, `${k}: ${count[k]} vs ${n * w} +- ${5 * sd}`)
  }
})

test('the control defaults to the first variant; payload defaults to {}', () => {
  const e = exp({ variants: [{ key: 'x', weight: 1 }, { key: 'y', weight: 0 }], regions: ['gr'] })
  assert.deepEqual(evaluate(e, 'v1', 'pl'), { experiment: 'checkout-tiers', variant: 'x', payload: {}, inExperiment: false, reason: 'region' })
  assert.equal(evaluate(exp({ control: 'three', regions: ['gr'] }), 'v1', 'pl').variant, 'three')
})

const vectors = loadVectors()

test('the shared vectors file exists', () => {
  assert.ok(vectors, `${VECTORS} is missing: the C and JavaScript tests share it`)
})

test('shared vectors: full assignments', () => {
  assert.ok(vectors.assign.length > 0)
  for (const v of vectors.assign) {
    const opts = {}
    if (v.force !== undefined) opts.force = v.force
    if (v.promotions !== undefined) opts.promotions = v.promotions
    const r = evaluate(v.experiment, v.visitor, v.region, opts)
    const label = JSON.stringify({ key: v.experiment.key, visitor: v.visitor, region: v.region, force: v.force })
    assert.equal(r.variant, v.variant, label)
    assert.equal(r.reason, v.reason, label)
    assert.equal(r.inExperiment, v.in_experiment, label)
  }
})

// A bandit as /v1/sdk/config carries it: the layouts of the moved regions.
const asSnapshot = (def) => {
  const e = Object.assign({}, def)
  const regions = {}
  for (const [r, st] of Object.entries((def.bandit_state || {}).regions || {})) {
    if (st.period >= 1 && st.layout) regions[r] = { period: st.period, layout: st.layout }
  }
  delete e.bandit_state
  e.bandit = { regions }
  return e
}

test('shared vectors: bandit layouts, and a moved bucket needs the server', () => {
  assert.ok(vectors.bandit.length > 100)
  let moved = 0
  for (const v of vectors.bandit) {
    const r = evaluate(asSnapshot(v.experiment), v.visitor, v.region)
    const label = JSON.stringify({ key: v.experiment.key, visitor: v.visitor, region: v.region })
    assert.equal(r.variant, v.variant, label)
    assert.equal(r.reason, v.lookup ? 'sticky_unverified' : v.reason, label)
    assert.equal(r.needsServer === true, v.lookup, label)
    assert.equal(r.inExperiment, v.in_experiment, label)
    moved += v.lookup
  }
  assert.ok(moved > 5)
})

test('decodeLayout rejects layouts that do not cover 10,000 buckets', () => {
  assert.equal(decodeLayout('0*5000,1*4999/10000'), null)
  assert.equal(decodeLayout('0*5000,1*5000'), null)
  assert.equal(decodeLayout('0*5000,x*5000/10000'), null)
  const l = decodeLayout('0*5000,1*5000/4000,1000,5000')
  assert.equal(l.owner[4999], 0)
  assert.equal(l.owner[5000], 1)
  assert.equal(l.moved[3999], 0)
  assert.equal(l.moved[4000], 1)
  assert.equal(l.moved[5000], 0)
})
