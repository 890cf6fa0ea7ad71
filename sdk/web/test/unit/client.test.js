import { test, mock, beforeEach, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import { Upshot, createUpshot, visitorId, evaluate, retryAfterMs } from '../../src/index.js'

// A localStorage stand-in.
class MemoryStorage {
  constructor () { this.m = new Map() }
  getItem (k) { return this.m.has(k) ? this.m.get(k) : null }
  setItem (k, v) { this.m.set(k, String(v)) }
  removeItem (k) { this.m.delete(k) }
}

// A scripted fetch: routes(url, init) returns {status, body} or throws;
// every call is recorded.
function fakeFetch (routes) {
  const calls = []
  const f = async (url, init = {}) => {
    const u = new URL(url)
    const call = { url: u, init, body: init.body ? JSON.parse(init.body) : null }
    calls.push(call)
    const r = await routes(u, call)
    return {
      status: r.status,
      ok: r.status >= 200 && r.status < 300,
      headers: new Map(Object.entries(r.headers || {})),
      json: async () => r.body
    }
  }
  f.calls = calls
  return f
}

const settle = () => new Promise((resolve) => setImmediate(resolve))
// Advance the fake clock by ms, then let promises settle and run the
// zero-delay timers they schedule (without advancing the clock further).
async function tick (ms) {
  mock.timers.tick(ms)
  for (let i = 0; i < 10; i++) {
    await settle()
    mock.timers.tick(0)
  }
}
// navigator is a global of browsers (and of newer Node versions only).
function withNavigator (nav) {
  const had = Object.getOwnPropertyDescriptor(globalThis, 'navigator')
  Object.defineProperty(globalThis, 'navigator', { value: nav, configurable: true, writable: true })
  return () => had ? Object.defineProperty(globalThis, 'navigator', had) : delete globalThis.navigator
}

const accepted = (call) => ({ status: 202, body: { accepted: call.body.events.length, duplicates: 0, rejected: [] } })
const assignment = (u) => ({
  status: 200,
  body: {
    experiment: u.searchParams.get('experiment'),
    variant: 'benefit',
    payload: { headline: 'x' },
    in_experiment: true,
    reason: 'assigned',
    exposure: 'none'
  }
})

let storage
beforeEach(() => {
  storage = new MemoryStorage()
  mock.timers.enable({ apis: ['setTimeout'] })
  mock.method(Math, 'random', () => 1) // backoff jitter at its maximum: exact delays
})
afterEach(() => {
  mock.timers.reset()
  mock.restoreAll()
})

const client = (fetch, over = {}) => new Upshot(Object.assign({
  server: 'http://upshot.test:8080/', key: 'pk_test', region: 'gr', visitor: 'v-1', storage, fetch
}, over))

test('getVariant asks /v1/assign once per page and caches the answer', async () => {
  const fetch = fakeFetch(assignment)
  const up = client(fetch)
  const [a, b] = await Promise.all([up.getVariant('offer-wording'), up.getVariant('offer-wording')])
  assert.deepEqual(a, { experiment: 'offer-wording', variant: 'benefit', payload: { headline: 'x' }, inExperiment: true, reason: 'assigned' })
  assert.equal(a, b)
  await up.getVariant('offer-wording')
  assert.equal(fetch.calls.length, 1)
  const u = fetch.calls[0].url
  assert.equal(u.origin + u.pathname, 'http://upshot.test:8080/v1/assign')
  assert.deepEqual(Object.fromEntries(u.searchParams), { experiment: 'offer-wording', visitor: 'v-1', region: 'gr', key: 'pk_test' })
  assert.equal(fetch.calls[0].init.credentials, 'omit')
  assert.equal(fetch.calls[0].init.headers, undefined) // no custom header: no CORS preflight
})

test('getVariants loads a page in one request and fills the cache', async () => {
  const fetch = fakeFetch((u) => ({
    status: 200,
    body: {
      visitor: 'v-1',
      region: 'gr',
      assignments: [
        { experiment: 'a', variant: 'x', payload: {}, in_experiment: true, reason: 'assigned' },
        { experiment: 'b', variant: 'control', payload: { p: 1 }, in_experiment: false, reason: 'coverage' }
      ]
    }
  }))
  const up = client(fetch)
  const all = await up.getVariants({ page: 'cart' })
  assert.deepEqual(Object.keys(all), ['a', 'b'])
  assert.equal(all.b.inExperiment, false)
  assert.equal(fetch.calls[0].url.pathname, '/v1/assignments')
  assert.equal(fetch.calls[0].url.searchParams.get('page'), 'cart')
  assert.equal(await up.getVariant('a'), all.a)
  assert.equal(fetch.calls.length, 1)
})

test('a timeout gives control and the page goes on', async () => {
  const errors = []
  const fetch = fakeFetch(() => new Promise(() => {})) // never answers
  const up = client(fetch, {
    timeout: 800,
    onError: (e) => errors.push(e.message),
    defaults: { 'offer-wording': { variant: 'plain', payload: { headline: 'default' } } }
  })
  const p = up.getVariant('offer-wording')
  await tick(799)
  let done = false
  p.then(() => { done = true })
  await settle()
  assert.equal(done, false)
  await tick(1)
  assert.deepEqual(await p, { experiment: 'offer-wording', variant: 'plain', payload: { headline: 'default' }, inExperiment: false, reason: 'error' })
  assert.deepEqual(errors, ['timeout'])
  assert.equal(fetch.calls[0].init.signal.aborted, true)
})

test('HTTP errors and network errors give control; getVariants names the expected experiments', async () => {
  const up = client(fakeFetch(() => ({ status: 503, body: {} })))
  const r = await up.getVariant('x')
  assert.deepEqual([r.variant, r.inExperiment, r.reason], ['control', false, 'error'])
  const down = client(fakeFetch(() => { throw new TypeError('Failed to fetch') }))
  const all = await down.getVariants({ page: 'cart' }, ['urgency', 'tiers'])
  assert.deepEqual(Object.keys(all).sort(), ['tiers', 'urgency'])
  assert.equal(all.urgency.reason, 'error')
  assert.equal(await down.expose(all.urgency), false) // a fallback is never counted
})

test('local mode: one /v1/sdk/config snapshot, evaluated with the shared hash', async () => {
  const e = {
    key: 'tiers', status: 'running', pages: ['checkout'], placement: 'checkout_popup', regions: 'all',
    variants: [{ key: 'control', weight: 0.5, payload: { n: 1 } }, { key: 'three', weight: 0.5, payload: { n: 3 } }]
  }
  const fetch = fakeFetch(() => ({ status: 200, body: { experiments: [e, Object.assign({}, e, { key: 'off', status: 'stopped' })] } }))
  for (let i = 0; i < 20; i++) {
    const up = client(fetch, { mode: 'local', visitor: 'visitor-' + i })
    const r = await up.getVariant('tiers')
    assert.deepEqual(r, evaluate(e, 'visitor-' + i, 'gr'))
    const page = await up.getVariants({ page: 'checkout' })
    assert.deepEqual(Object.keys(page), ['tiers'])
    assert.deepEqual(Object.keys(await up.getVariants({ placement: 'checkout_popup' })), ['tiers'])
  }
  assert.equal(fetch.calls.length, 20)
  assert.equal(fetch.calls[0].url.pathname, '/v1/sdk/config')
  assert.equal((await client(fetch, { mode: 'local' }).getVariant('nope')).reason, 'error')
})

test('exposures: once per visitor and variant, batched into one POST', async () => {
  const fetch = fakeFetch((u, call) => u.pathname === '/v1/events' ? accepted(call) : assignment(u))
  const up = client(fetch, { flushInterval: 1000 })
  const a = await up.getVariant('offer-wording')
  const b = await up.getVariant('offer-tiers')
  assert.equal(await up.expose(a), true)
  assert.equal(await up.expose(a), false)
  assert.equal(await up.expose('offer-tiers'), true)
  assert.equal(await up.expose({ experiment: 'q', variant: 'v', inExperiment: true, reason: 'forced' }), false)
  assert.equal(await up.expose({ experiment: 'q', variant: 'control', inExperiment: false, reason: 'coverage' }), false)
  assert.equal(up.pending(), 2)
  await tick(999)
  assert.equal(fetch.calls.length, 2)
  await tick(1)
  const post = fetch.calls[2]
  assert.equal(post.url.pathname, '/v1/events')
  assert.equal(post.url.searchParams.get('key'), 'pk_test')
  assert.equal(post.init.method, 'POST')
  assert.equal(post.init.headers['Content-Type'], 'text/plain')
  assert.equal(post.init.keepalive, true)
  assert.deepEqual(post.body.events.map((e) => [e.type, e.experiment, e.variant, e.region, e.visitor]), [
    ['exposure', 'offer-wording', 'benefit', 'gr', 'v-1'],
    ['exposure', 'offer-tiers', 'benefit', 'gr', 'v-1']
  ])
  assert.equal(up.pending(), 0)
  // A later page of the same visitor does not expose again.
  const next = client(fetch)
  assert.equal(await next.expose(b), false)
  assert.deepEqual(next.exposures(), { 'offer-wording': 'benefit', 'offer-tiers': 'benefit' })
})

test('a full batch goes at once; the rest follows in the next request', async () => {
  const fetch = fakeFetch((u, call) => accepted(call))
  const up = client(fetch, { maxBatch: 3 })
  for (let i = 0; i < 7; i++) up.decline('exp-' + i)
  await tick(0)
  assert.deepEqual(fetch.calls.map((c) => c.body.events.length), [3, 3, 1])
  assert.equal(up.pending(), 0)
})

test('retry with exponential backoff re-sends the same event ids', async () => {
  let fail = 3
  const fetch = fakeFetch((u, call) => {
    if (fail-- > 0) throw new TypeError('Failed to fetch')
    return accepted(call)
  })
  const up = client(fetch, { backoff: 1000 })
  up.convert('offer-tiers', { value: 59.9, orderId: 'o-981' })
  await tick(0)
  assert.equal(fetch.calls.length, 1)
  await tick(999) // first retry after 1 s
  assert.equal(fetch.calls.length, 1)
  await tick(1)
  assert.equal(fetch.calls.length, 2)
  await tick(1999) // then 2 s
  assert.equal(fetch.calls.length, 2)
  await tick(1)
  assert.equal(fetch.calls.length, 3)
  await tick(4000) // then 4 s: succeeds
  assert.equal(fetch.calls.length, 4)
  const ids = fetch.calls.map((c) => c.body.events.map((e) => e.id).join())
  assert.deepEqual(ids, Array(4).fill('c:offer-tiers:o-981'))
  assert.deepEqual(fetch.calls[3].body.events[0], { id: 'c:offer-tiers:o-981', type: 'conversion', experiment: 'offer-tiers', visitor: 'v-1', value: 59.9 })
  assert.equal(up.pending(), 0)
  up.decline('offer-tiers') // the backoff was reset by the success
  await tick(0)
  assert.equal(fetch.calls.length, 5)
})

test('backoff is capped and jittered; 5xx and 429 retry, other 4xx drop', async () => {
  mock.method(Math, 'random', () => 0) // jitter at its minimum: half the delay
  const statuses = [500, 429, 503]
  const fetch = fakeFetch((u, call) => statuses.length ? { status: statuses.shift(), body: {} } : accepted(call))
  const up = client(fetch, { backoff: 1000, maxBackoff: 1500 })
  up.decline('a')
  await tick(0)
  await tick(500) // 1000 * 0.5
  await tick(750) // min(2000, 1500) * 0.5
  await tick(750)
  assert.equal(fetch.calls.length, 4)
  assert.equal(up.pending(), 0)

  const errors = []
  const bad = client(fakeFetch(() => ({ status: 422, body: { accepted: 0, rejected: [] } })), { onError: (e) => errors.push(e.message) })
  bad.decline('b')
  await tick(0)
  assert.equal(bad.pending(), 0)
  assert.deepEqual(errors, ['events: HTTP 422'])
})

test('a 503 with Retry-After waits at least that long, within maxBackoff', async () => {
  const replies = [
    { status: 503, headers: { 'Retry-After': '5' }, body: { error: 'backlog_full' } },
    { status: 503, headers: { 'Retry-After': '120' }, body: { error: 'backlog_full' } }
  ]
  const fetch = fakeFetch((u, call) => replies.length ? replies.shift() : accepted(call))
  const up = client(fetch, { backoff: 1000, maxBackoff: 30000 })
  up.decline('a')
  await tick(0)
  assert.equal(fetch.calls.length, 1)
  await tick(4999) // the backoff alone would have retried after 1 s
  assert.equal(fetch.calls.length, 1)
  await tick(1)
  assert.equal(fetch.calls.length, 2)
  await tick(29999) // 120 s asked for, 30 s allowed
  assert.equal(fetch.calls.length, 2)
  await tick(1)
  assert.equal(fetch.calls.length, 3)
  assert.equal(up.pending(), 0)
})

test('retryAfterMs reads seconds and HTTP dates, and ignores the rest', () => {
  const h = (v) => new Map([['Retry-After', v]])
  const now = Date.parse('2026-12-01T12:00:00Z')
  assert.equal(retryAfterMs(h('7'), now), 7000)
  assert.equal(retryAfterMs(h('Tue, 01 Dec 2026 12:00:30 GMT'), now), 30000)
  assert.equal(retryAfterMs(h('Tue, 01 Dec 2026 11:00:00 GMT'), now), 0)
  assert.equal(retryAfterMs(h('soon'), now), 0)
  assert.equal(retryAfterMs(h('-3'), now), 0)
  assert.equal(retryAfterMs(new Map(), now), 0)
  assert.equal(retryAfterMs(undefined, now), 0)
})

test('unsent events survive a reload and go out when the next page starts', async () => {
  const down = fakeFetch(() => { throw new TypeError('Failed to fetch') })
  const first = client(down)
  first.convert('offer-tiers', { value: 20, orderId: 'A-1' })
  first.decline('urgency')
  await tick(0)
  assert.equal(first.pending(), 2)
  mock.timers.reset() // the page is gone, with its timers
  mock.timers.enable({ apis: ['setTimeout'] })
  const up = fakeFetch((u, call) => accepted(call))
  const second = client(up)
  await tick(0)
  assert.equal(up.calls.length, 1)
  assert.deepEqual(up.calls[0].body.events.map((e) => e.id), ['c:offer-tiers:A-1', 'd:urgency:v-1'])
  assert.equal(second.pending(), 0)
})

test('events added while a batch is in flight are kept and sent next', async () => {
  let release
  const fetch = fakeFetch((u, call) => call.body.events[0].id === 'd:a:v-1'
    ? new Promise((resolve) => { release = () => resolve(accepted(call)) })
    : accepted(call))
  const up = client(fetch)
  up.decline('a')
  await tick(0)
  up.decline('b')
  await tick(0)
  assert.equal(fetch.calls.length, 1)
  release()
  await tick(0)
  assert.deepEqual(fetch.calls.map((c) => c.body.events.map((e) => e.id)), [['d:a:v-1'], ['d:b:v-1']])
  assert.equal(up.pending(), 0)
})

test('conversion ids come from the order id: a reported order counts once', async () => {
  const fetch = fakeFetch((u, call) => accepted(call))
  const up = client(fetch)
  await up.expose({ experiment: 'a', variant: 'x', inExperiment: true, reason: 'assigned' })
  await up.expose({ experiment: 'b', variant: 'y', inExperiment: true, reason: 'promoted' })
  assert.deepEqual(up.purchase({ value: '84.50', orderId: 'ORD-7' }), ['a', 'b'])
  up.purchase({ value: 84.5, orderId: 'ORD-7' }) // thank-you page reloaded
  await tick(0)
  const events = fetch.calls.flatMap((c) => c.body.events).filter((e) => e.type === 'conversion')
  assert.deepEqual([...new Set(events.map((e) => e.id))], ['c:a:ORD-7', 'c:b:ORD-7'])
  assert.ok(events.every((e) => e.value === 84.5))
  // Order ids that are long or not printable ASCII become a stable hash.
  const long = 'Zamówienie nr 17 / ' + 'x'.repeat(200)
  up.convert('a', { value: 1, orderId: long })
  up.convert('a', { value: 1, orderId: long })
  assert.equal(up.convert('a', { value: -1 }), false)
  assert.equal(up.convert('a', { value: NaN }), false)
  await tick(0)
  const hashed = fetch.calls.flatMap((c) => c.body.events).filter((e) => e.value === 1)
  assert.equal(hashed.length, 1)
  assert.match(hashed[0].id, /^c:a:[0-9a-f]{16}$/)
})

test('declines are idempotent per visitor and experiment', async () => {
  const fetch = fakeFetch((u, call) => accepted(call))
  const up = client(fetch)
  up.decline('offer-wording')
  up.decline('offer-wording')
  await tick(0)
  assert.deepEqual(fetch.calls.flatMap((c) => c.body.events), [
    { id: 'd:offer-wording:v-1', type: 'decline', experiment: 'offer-wording', visitor: 'v-1' }])
})

test('flush(true) hands every queued event to sendBeacon and keeps them queued', async () => {
  const beacons = []
  const restore = withNavigator({ sendBeacon: (url, body) => { beacons.push([url, JSON.parse(body)]); return true } })
  const fetch = fakeFetch(() => { throw new TypeError('Failed to fetch') })
  const up = client(fetch, { maxBatch: 2 })
  up.decline('a')
  up.decline('b')
  up.decline('c')
  await up.flush(true)
  assert.equal(beacons.length, 2)
  assert.equal(beacons[0][0], 'http://upshot.test:8080/v1/events?key=pk_test')
  assert.deepEqual(beacons.flatMap((b) => b[1].events.map((e) => e.id)), ['d:a:v-1', 'd:b:v-1', 'd:c:v-1'])
  assert.equal(up.pending(), 3) // the next page confirms them by fetch, same ids
  restore()
})

test('without sendBeacon, flush(true) uses fetch keepalive', async () => {
  const restore = withNavigator({})
  const fetch = fakeFetch((u, call) => accepted(call))
  const up = client(fetch)
  up.decline('a')
  await up.flush(true)
  assert.equal(fetch.calls.length, 1)
  assert.equal(fetch.calls[0].init.keepalive, true)
  restore()
})

test('the queue is bounded', async () => {
  const up = client(fakeFetch(() => { throw new Error('down') }), { flushInterval: 1e9, maxBatch: 1e9 })
  for (let i = 0; i < 600; i++) up.decline('e' + i)
  assert.equal(up.pending(), 500)
})

test('works with no storage at all (private mode)', async () => {
  const fetch = fakeFetch((u, call) => u.pathname === '/v1/events' ? accepted(call) : assignment(u))
  const up = client(fetch, { storage: null })
  const a = await up.getVariant('w')
  assert.equal(await up.expose(a), true)
  assert.equal(await up.expose(a), false)
  assert.deepEqual(up.exposures(), { w: 'benefit' })
  await tick(1000)
  assert.equal(fetch.calls.at(-1).body.events.length, 1)
  assert.equal(up.pending(), 0)
})

test('visitor id: cookie first, then localStorage, else a new one kept in both', () => {
  const doc = { cookie: '' }
  const st = new MemoryStorage()
  const id = visitorId(st, doc)
  assert.match(id, /^v[0-9a-f]{32}$/)
  assert.match(doc.cookie, new RegExp('^upshot_vid=' + id + ';path=/;max-age=31536000;SameSite=Lax'))
  assert.equal(JSON.parse(st.getItem('upshot_vid')), id)
  assert.equal(visitorId(st, { cookie: '' }), id) // cookie cleared: localStorage remembers
  assert.equal(visitorId(new MemoryStorage(), { cookie: 'a=1; upshot_vid=shop-42; b=2' }), 'shop-42')
  assert.notEqual(visitorId(null, { cookie: 'upshot_vid=bad%20id' }), 'bad id') // not printable ASCII
  assert.notEqual(visitorId(null, null), visitorId(null, null))
})

test('an id given by the shop wins; an invalid one is replaced', () => {
  assert.equal(client(fakeFetch(() => ({})), { visitor: 'customer-1001' }).visitor, 'customer-1001')
  const c = client(fakeFetch(() => ({})), { visitor: 'has space' })
  assert.match(c.visitor, /^v[0-9a-f]{32}$/)
  assert.ok(createUpshot({ server: 'x', region: 'gr', storage: null }) instanceof Upshot)
})

test('a forced variant is asked for explicitly and never cached or exposed', async () => {
  const fetch = fakeFetch((u) => ({
    status: 200,
    body: { experiment: 'w', variant: u.searchParams.get('force') || 'plain', payload: {}, in_experiment: true, reason: u.searchParams.get('force') ? 'forced' : 'assigned' }
  }))
  const up = client(fetch)
  const f = await up.getVariant('w', { force: 'social' })
  assert.equal(fetch.calls[0].url.searchParams.get('force'), 'social')
  assert.equal(f.variant, 'social')
  assert.equal(await up.expose(f), false)
  assert.equal((await up.getVariant('w')).variant, 'plain')
})

test('pagehide and visibilitychange hand the queue to sendBeacon; online retries at once', async () => {
  const handlers = {}
  const on = (name, f) => { handlers[name] = f }
  const beacons = []
  const restoreNav = withNavigator({ sendBeacon: (url, body) => { beacons.push(JSON.parse(body)); return true } })
  globalThis.window = { addEventListener: on }
  globalThis.document = { addEventListener: on, visibilityState: 'visible', cookie: '' }
  try {
    const fetch = fakeFetch(() => { throw new TypeError('Failed to fetch') })
    const up = client(fetch)
    up.decline('a')
    handlers.visibilitychange()
    assert.equal(beacons.length, 0) // still visible
    document.visibilityState = 'hidden'
    handlers.visibilitychange()
    handlers.pagehide()
    assert.equal(beacons.length, 2)
    assert.deepEqual(beacons[1].events.map((e) => e.id), ['d:a:v-1'])
    await tick(0)
    const n = fetch.calls.length
    handlers.online()
    await tick(0)
    assert.equal(fetch.calls.length, n + 1)
  } finally {
    delete globalThis.window
    delete globalThis.document
    restoreNav()
  }
})

test('exposeOnView waits until half the offer is on screen', async () => {
  let observer
  globalThis.IntersectionObserver = class {
    constructor (cb, opts) { this.cb = cb; this.opts = opts; observer = this }
    observe (el) { this.el = el }
    disconnect () { this.off = true }
  }
  try {
    const up = client(fakeFetch((u, call) => accepted(call)))
    const a = { experiment: 'w', variant: 'benefits', inExperiment: true, reason: 'assigned' }
    up.exposeOnView({ tag: 'section' }, a)
    assert.equal(observer.opts.threshold, 0.5)
    observer.cb([{ isIntersecting: false }])
    assert.equal(up.pending(), 0)
    observer.cb([{ isIntersecting: true }])
    await settle()
    assert.equal(up.pending(), 1)
    assert.equal(observer.off, true)
  } finally {
    delete globalThis.IntersectionObserver
  }
  // Without IntersectionObserver: at once.
  const up = client(fakeFetch((u, call) => accepted(call)), { storage: new MemoryStorage() })
  up.exposeOnView({}, { experiment: 'z', variant: 'x', inExperiment: true, reason: 'assigned' })
  await settle()
  assert.equal(up.pending(), 1)
})

test('an exposure carries the cart value it was shown on; a refund names its order', async () => {
  const fetch = fakeFetch((u, call) => u.pathname === '/v1/events' ? accepted(call) : assignment(u))
  const up = client(fetch, { flushInterval: 1000 })
  const a = await up.getVariant('offer-wording')
  const b = await up.getVariant('offer-tiers')
  assert.equal(await up.expose(a, { cartValue: 35.499 }), true)
  assert.equal(await up.expose(b, { cartValue: -1 }), true) // not a cart value: left out
  assert.equal(up.refund('offer-wording', { value: 0, orderId: 'A1', refundId: 'r1' }), false)
  assert.equal(up.refund('offer-wording', { value: 5, orderId: 'A1' }), false)
  assert.equal(up.refund('offer-wording', { value: 12.5, orderId: 'A1', refundId: 'r1' }), true)
  await tick(0)
  const sent = fetch.calls.filter((c) => c.url.pathname === '/v1/events').flatMap((c) => c.body.events)
  const [x1, x2, rf] = sent
  assert.equal(x1.cart_value, 35.5)
  assert.equal('cart_value' in x2, false)
  assert.deepEqual([rf.type, rf.value, rf.order, rf.id], ['refund', -12.5, 'c:offer-wording:A1', 'r:offer-wording:r1'])
})
