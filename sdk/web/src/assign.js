// assign.js: local evaluation, the same decision upshotd makes.
//
// A pure function of an experiment (as in /v1/sdk/config or the config
// file), a visitor, a region and optional QA/promotion inputs. It follows
// the seven steps of docs/assignment.md in order; the shared vectors in
// tests/vectors/assignment.json check it against the C implementation.
// Stickiness after a weight change (reason "sticky") needs the visitor
// record in Redis, so only upshotd can answer it; locally an experiment
// whose allocation_version is above 1 is still evaluated on its current
// weights, which is what upshotd itself falls back to ("sticky_unverified").
// A bandit experiment (exp.bandit, from /v1/sdk/config) is evaluated on its
// region's bucket layout; a visitor whose bucket has moved may have been
// exposed under an earlier owner, which only upshotd can tell, so that
// result says reason "sticky_unverified" and needsServer: true
// (docs/assignment.md, "Bandit stickiness").

import { bucket, BUCKETS } from './hash.js'

const share = (x) => Math.floor(x * BUCKETS + 0.5)

/**
 * Start of each variant's bucket range, plus BUCKETS at the end: variant i
 * owns [starts[i], starts[i + 1]). Cumulative weights are summed left to
 * right in doubles, exactly as the spec and the C code do.
 */
export function ranges (weights) {
  const starts = [0]
  let c = 0
  for (let i = 0; i < weights.length - 1; i++) {
    c += weights[i]
    starts.push(share(c))
  }
  starts.push(BUCKETS)
  return starts
}

/** Index of the variant whose range holds bucket b (-1 if none). */
export function pick (weights, b) {
  const s = ranges(weights)
  for (let i = 0; i < weights.length; i++) if (b >= s[i] && b < s[i + 1]) return i
  return -1
}

// Decoded layouts by their text: a page evaluates many visitors (or many
// times) against the same few layouts. Bounded: a snapshot holds one
// layout per moved region.
const layouts = new Map()
const LAYOUTS_MAX = 64

/**
 * Parses a layout's text ("OWNERS/MOVED", docs/assignment.md): owner is an
 * array of 10,000 arm indexes, moved of 10,000 booleans. null when it does
 * not describe exactly 10,000 buckets.
 */
export function decodeLayout (text) {
  if (layouts.has(text)) return layouts.get(text)
  const parts = String(text).split('/')
  if (parts.length !== 2) return null
  const owner = new Uint8Array(BUCKETS)
  const moved = new Uint8Array(BUCKETS)
  let b = 0
  for (const run of parts[0].split(',')) {
    const m = /^(\d{1,5})\*(\d{1,5})$/.exec(run)
    if (!m) return null
    const n = Number(m[2])
    if (n === 0 || b + n > BUCKETS) return null
    owner.fill(Number(m[1]), b, b + n)
    b += n
  }
  if (b !== BUCKETS) return null
  b = 0
  let state = 0
  for (const len of parts[1].split(',')) {
    if (!/^\d{1,5}$/.test(len)) return null
    const n = Number(len)
    if (b + n > BUCKETS || (n === 0 && b > 0)) return null
    if (state) moved.fill(1, b, b + n)
    b += n
    state = 1 - state
  }
  if (b !== BUCKETS) return null
  const l = { owner, moved }
  if (layouts.size >= LAYOUTS_MAX) layouts.clear()
  layouts.set(text, l)
  return l
}

/**
 * The cells of a factorial experiment (docs/assignment.md): every level
 * combination, first factor slowest; key = level keys joined by '-',
 * payload = the levels' payloads merged in factor order, levels =
 * {factor: level}. Level weights default to equal shares.
 */
export function cells (factors) {
  let out = [{ key: '', payload: {}, levels: {} }]
  for (const f of factors) {
    const next = []
    for (const c of out) {
      for (const l of f.levels) {
        next.push({
          key: c.key ? c.key + '-' + l.key : l.key,
          payload: Object.assign({}, c.payload, l.payload || {}),
          levels: Object.assign({}, c.levels, { [f.key]: l.key })
        })
      }
    }
    out = next
  }
  return out
}

const levelWeights = (f) => f.levels.some((l) => l.weight != null)
  ? f.levels.map((l) => l.weight)
  : f.levels.map(() => 1 / f.levels.length)

/**
 * Decide which variant a visitor sees.
 * opts.force: a variant key asked for in the request (honoured only when
 *   the experiment's qa.query_override is true);
 * opts.promotions: {region: {variant, holdback}}; defaults to
 *   experiment.promotions.
 * Returns {experiment, variant, payload, inExperiment, reason}, and for a
 * factorial experiment (one with `factors`) also factors: {factor: level},
 * the levels of the returned cell; its variant is the cell key and its
 * payload the merged one.
 */
export function evaluate (exp, visitor, region, opts = {}) {
  const factorial = Array.isArray(exp.factors)
  const variants = factorial ? cells(exp.factors) : (exp.variants || [])
  const salt = exp.salt || exp.key
  const control = factorial ? variants[0].key : (exp.control || (variants[0] && variants[0].key))
  const byKey = (k) => variants.find((v) => v.key === k)
  const result = (v, inExperiment, reason) => {
    const r = {
      experiment: exp.key,
      variant: v,
      payload: (byKey(v) || {}).payload || {},
      inExperiment,
      reason
    }
    if (factorial) r.factors = Object.assign({}, (byKey(v) || {}).levels)
    return r
  }
  const out = (reason) => result(control, false, reason)

  if (exp.status !== 'running') return out('not_running')

  const qa = exp.qa || {}
  const listed = qa.visitors && Object.prototype.hasOwnProperty.call(qa.visitors, visitor)
    ? qa.visitors[visitor]
    : null
  // An explicit force=VARIANT wins over the visitor's QA listing, as in
  // engine/core/assign.c (docs/assignment.md does not say which comes first).
  if (opts.force && qa.query_override && byKey(opts.force)) return result(opts.force, true, 'forced')
  if (listed && byKey(listed)) return result(listed, true, 'forced')

  const regions = exp.regions
  if (Array.isArray(regions) && !regions.includes(region)) return out('region')

  const layer = exp.layer
  if (layer && layer.name) {
    const r = layer.range || [0, BUCKETS]
    const b = bucket(layer.name, 'layer', visitor)
    if (b < r[0] || b >= r[1]) return out('layer')
  }

  // A tripped circuit breaker sends the whole region to control, promotion
  // included, and nothing is counted (docs/assignment.md, step 5).
  if ((exp.breaker_trips || {})[region]) return out('breaker')

  const promo = (opts.promotions || exp.promotions || {})[region]
  if (promo && byKey(promo.variant) &&
      bucket(salt, 'holdback', visitor) >= share(promo.holdback || 0)) {
    return result(promo.variant, true, 'promoted')
  }

  const traffic = exp.traffic_percent == null ? 100 : exp.traffic_percent
  if (bucket(salt, 'coverage', visitor) >= Math.floor(traffic * 100 + 0.5)) return out('coverage')

  if (factorial) {
    // Step 7 of a factorial: each factor's level from its own bucket.
    const key = exp.factors.map((f) => {
      const l = pick(levelWeights(f), bucket(salt, 'factor:' + f.key, visitor))
      return f.levels[l < 0 ? f.levels.length - 1 : l].key
    }).join('-')
    return result(key, true, 'assigned')
  }
  const vb = bucket(salt, 'variant', visitor)
  const bandits = (exp.bandit && exp.bandit.regions) || {}
  const here = bandits[region] ? decodeLayout(bandits[region].layout) : null
  const i = here ? here.owner[vb] : pick(variants.map((v) => v.weight), vb)
  if (i < 0 || !variants[i]) return out('coverage')
  // A bucket moved in any region's layout may have given this visitor
  // another owner at their first exposure (possibly in another region):
  // only upshotd's visitor record can tell (docs/assignment.md).
  const moved = Object.values(bandits).some((b) => {
    const l = decodeLayout(b.layout)
    return l && l.moved[vb]
  })
  if (!moved) return result(variants[i].key, true, 'assigned')
  const r = result(variants[i].key, true, 'sticky_unverified')
  r.needsServer = true
  return r
}
