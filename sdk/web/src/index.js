// index.js: the Upshot browser client.
//
// What it does for a shop page:
//   - asks upshotd which offer variant the visitor sees, one experiment
//     (/v1/assign) or a whole page in one request (/v1/assignments), or
//     computes it locally from a /v1/sdk/config snapshot; every answer is
//     cached for the life of the page;
//   - never breaks the page: a timeout or an error gives the control
//     variant (reason "error") and the shop renders its default offer;
//   - queues exposures, conversions and declines, sends them in batches,
//     retries with exponential backoff re-sending the SAME event ids (so
//     upshotd counts each once), keeps unsent events in localStorage so they
//     survive a reload or an outage, and hands what is left to
//     navigator.sendBeacon when the page is hidden;
//   - keeps a visitor id in a first-party cookie and localStorage when the
//     shop does not give one.
//
// Requests carry the public key as the `key` query parameter and events go
// as text/plain: both are CORS "simple" requests, so a page load costs no
// preflight round trip and sendBeacon (which cannot set headers) works.
//
// Deliberately left out: automatic DOM changes, retries of assignments
// (the page must not wait), client clocks in events (upshotd timestamps on
// arrival), cross-tab locking (duplicates between tabs are harmless because
// upshotd deduplicates by event id).

import { evaluate } from './assign.js'
import { murmur3 } from './hash.js'

export { evaluate, ranges } from './assign.js'
export { murmur3, bucket, toBucket } from './hash.js'

const VID = 'upshot_vid'
const QUEUE = 'upshot:q'
const SEEN = 'upshot:x'
const MAX_QUEUE = 500
const ID_OK = /^[\x21-\x7e]{1,128}$/

// A random id of 32 hex digits from the platform's CSPRNG.
function randomId () {
  const b = crypto.getRandomValues(new Uint8Array(16))
  let s = ''
  for (const x of b) s += (x | 256).toString(16).slice(1)
  return s
}

// storage: a localStorage-like object, or null. Every access is guarded:
// private modes, full quotas and disabled cookies throw.
function load (st, k) {
  try { return JSON.parse(st.getItem(k)) } catch (e) { return null }
}
function save (st, k, v) {
  try { st.setItem(k, JSON.stringify(v)) } catch (e) { /* memory only */ }
}

function defaultStorage () {
  try { return globalThis.localStorage || null } catch (e) { return null }
}

/**
 * The visitor id: the given one, else the first-party cookie, else
 * localStorage, else a new random id written to both.
 */
export function visitorId (storage = defaultStorage(), doc = globalThis.document) {
  let id
  const m = doc && /(?:^|;\s*)upshot_vid=([^;]+)/.exec(doc.cookie)
  if (m) id = decodeURIComponent(m[1])
  if (!id || !ID_OK.test(id)) id = load(storage, VID)
  if (!id || !ID_OK.test(id)) id = 'v' + randomId()
  save(storage, VID, id)
  if (doc) {
    try {
      doc.cookie = VID + '=' + id + ';path=/;max-age=31536000;SameSite=Lax' +
        (globalThis.location && location.protocol === 'https:' ? ';Secure' : '')
    } catch (e) { /* sandboxed document */ }
  }
  return id
}

// An event id: prefix, experiment and a tail; too long or not printable
// ASCII (an order id can be anything) and the tail is replaced by a hash of
// it, which keeps the id stable across retries and reloads.
function eventId (prefix, exp, tail) {
  const id = prefix + ':' + exp + ':' + tail
  if (ID_OK.test(id)) return id
  return prefix + ':' + exp.slice(0, 64) + ':' + hashHex(String(tail))
}

function hashHex (s) {
  // Two seeds give 64 bits: enough to keep distinct order ids apart.
  return murmur3Hex(s, 1) + murmur3Hex(s, 2)
}
function murmur3Hex (s, seed) {
  return (murmur3(s, seed) + 0x100000000).toString(16).slice(1)
}

export class Upshot {
  /**
   * options: see types/index.d.ts (server and region are required).
   */
  constructor (options) {
    const o = this.options = Object.assign({
      timeout: 1500,
      flushInterval: 1000,
      maxBatch: 50,
      backoff: 1000,
      maxBackoff: 60000,
      mode: 'remote',
      defaults: {}
    }, options)
    this.server = String(o.server || '').replace(/\/+$/, '')
    this.region = o.region
    this.storage = o.storage === undefined ? defaultStorage() : o.storage
    this.visitor = o.visitor && ID_OK.test(o.visitor) ? o.visitor : visitorId(this.storage)
    this._fetch = o.fetch || ((...a) => globalThis.fetch(...a))
    this._cache = new Map() // experiment -> Promise<assignment>
    this._shown = new Set() // experiments whose exposure this page queued
    this._mem = [] // the queue when there is no storage
    this._inflight = new Set() // event ids of the request in flight
    this._attempt = 0
    this._timer = null
    this._sending = false
    this._snapshot = null

    const w = globalThis.window
    if (w && w.addEventListener && o.autoFlush !== false) {
      const hide = () => this.flush(true)
      w.addEventListener('pagehide', hide)
      w.addEventListener('online', () => this.flush())
      globalThis.document && document.addEventListener('visibilitychange', () => {
        if (document.visibilityState === 'hidden') hide()
      })
    }
    // Whatever an earlier page left unsent goes out now.
    if (this._queue().length) this._schedule(0)
  }

  _url (path, q) {
    const p = new URLSearchParams(q)
    if (this.options.key) p.set('key', this.options.key)
    return this.server + path + '?' + p
  }

  // GET with a deadline; resolves to parsed JSON or rejects.
  _get (path, q) {
    return new Promise((resolve, reject) => {
      const ctl = typeof AbortController === 'function' ? new AbortController() : null
      const t = setTimeout(() => {
        ctl && ctl.abort()
        reject(new Error('timeout'))
      }, this.options.timeout)
      this._fetch(this._url(path, q), { signal: ctl && ctl.signal, credentials: 'omit' })
        .then((res) => {
          if (!res.ok) throw new Error('HTTP ' + res.status)
          return res.json()
        })
        .then(resolve, reject)
        .finally(() => clearTimeout(t))
    })
  }

  // The answer the page gets when upshotd cannot give one: control, with
  // the shop's default payload if it registered one.
  _fallback (exp, err) {
    const d = this.options.defaults[exp] || {}
    this._error(err)
    return {
      experiment: exp,
      variant: d.variant || 'control',
      payload: d.payload || {},
      inExperiment: false,
      reason: 'error'
    }
  }

  _error (err) {
    if (err && this.options.onError) {
      try { this.options.onError(err) } catch (e) { /* never throw into the shop */ }
    }
  }

  static _norm (a) {
    const r = {
      experiment: a.experiment,
      variant: a.variant,
      payload: a.payload || {},
      inExperiment: a.in_experiment === undefined ? !!a.inExperiment : !!a.in_experiment,
      reason: a.reason
    }
    // A factorial experiment's cell, as its levels: {factor: level}.
    if (a.factors) r.factors = a.factors
    return r
  }

  // The /v1/sdk/config snapshot, fetched once per page.
  _config () {
    if (!this._snapshot) {
      this._snapshot = this._get('/v1/sdk/config', {}).catch((e) => {
        this._snapshot = null
        throw e
      })
    }
    return this._snapshot
  }

  _local (exp, opts) {
    return this._config().then((cfg) => {
      const e = (cfg.experiments || []).find((x) => x.key === exp)
      if (!e) throw new Error('unknown experiment ' + exp)
      return evaluate(e, this.visitor, this.region, opts)
    })
  }

  /**
   * The variant of one experiment for this visitor; cached for the page.
   * Never rejects.
   */
  getVariant (exp, opts = {}) {
    let p = this._cache.get(exp)
    if (!p || opts.force) {
      p = (this.options.mode === 'local'
        ? this._local(exp, opts)
        : this._get('/v1/assign', Object.assign({
          experiment: exp, visitor: this.visitor, region: this.region
        }, opts.force ? { force: opts.force } : {})).then(Upshot._norm)
      ).catch((e) => this._fallback(exp, e))
      if (!opts.force) this._cache.set(exp, p)
    }
    return p
  }

  /**
   * Every experiment of a page or placement in one request:
   * getVariants({page: 'cart'}) or getVariants({placement: 'cart_page'}).
   * Resolves to {experimentKey: assignment}. Never rejects; on failure it
   * gives control for the experiments named in `expect` (and in defaults).
   */
  async getVariants (where, expect = []) {
    const out = {}
    try {
      let list
      if (this.options.mode === 'local') {
        const cfg = await this._config()
        list = (cfg.experiments || []).filter((e) => e.status === 'running' &&
          (where.page ? (e.pages || []).includes(where.page) : e.placement === where.placement))
          .map((e) => evaluate(e, this.visitor, this.region))
      } else {
        const q = Object.assign({ visitor: this.visitor, region: this.region }, where)
        list = ((await this._get('/v1/assignments', q)).assignments || []).map(Upshot._norm)
      }
      for (const a of list) {
        out[a.experiment] = a
        this._cache.set(a.experiment, Promise.resolve(a))
      }
    } catch (e) {
      for (const k of expect.concat(Object.keys(this.options.defaults))) {
        if (!out[k]) out[k] = this._fallback(k, e)
      }
    }
    return out
  }

  /**
   * Record that the visitor actually saw the offer. Takes an assignment (or
   * an experiment key already fetched). Once per experiment and visitor:
   * out-of-experiment, forced and fallback answers are never counted.
   * cartValue, the cart's value as the offer is shown (before the offer
   * can change it), lets upshotd adjust revenue for it (CUPED); left out
   * when not a finite number >= 0.
   */
  async expose (a, { cartValue } = {}) {
    if (typeof a === 'string') a = await this.getVariant(a)
    if (!a || !a.inExperiment || a.reason === 'forced' || this._shown.has(a.experiment)) return false
    this._shown.add(a.experiment)
    const seen = this._seen()
    if (seen[a.experiment] === a.variant) return false
    seen[a.experiment] = a.variant
    save(this.storage, SEEN, { v: this.visitor, e: seen })
    const ev = {
      id: 'x:' + randomId(),
      type: 'exposure',
      experiment: a.experiment,
      visitor: this.visitor,
      region: this.region,
      variant: a.variant
    }
    const cart = Number(cartValue)
    if (cartValue != null && cart >= 0 && isFinite(cart)) ev.cart_value = Math.round(cart * 100) / 100
    this._push(ev)
    return true
  }

  /**
   * Expose when at least half of element has been on screen (an offer
   * below the fold is not "shown" until the visitor scrolls to it).
   * Without IntersectionObserver it exposes at once. Returns a stop function.
   */
  exposeOnView (element, a, options) {
    const IO = globalThis.IntersectionObserver
    if (!IO || !element) {
      this.expose(a, options)
      return () => {}
    }
    const io = new IO((entries) => {
      if (entries.some((e) => e.isIntersecting)) {
        io.disconnect()
        this.expose(a, options)
      }
    }, { threshold: 0.5 })
    io.observe(element)
    return () => io.disconnect()
  }

  // Experiments this visitor has been exposed to: {experiment: variant}.
  _seen () {
    const s = this.storage ? load(this.storage, SEEN) : this._seenMem
    const e = s && s.v === this.visitor ? s.e : {}
    if (!this.storage) this._seenMem = { v: this.visitor, e }
    return e
  }

  /** Experiments this visitor has been exposed to, as {experiment: variant}. */
  exposures () {
    return Object.assign({}, this._seen())
  }

  /**
   * A conversion with its order value. orderId makes it idempotent: the
   * same order reported again (a reloaded thank-you page, a retry) is
   * counted once. Sent right away.
   */
  convert (exp, { value, orderId } = {}) {
    value = Number(value)
    if (!exp || !(value >= 0) || !isFinite(value)) return false
    this._push({
      id: eventId('c', exp, orderId == null ? randomId() : orderId),
      type: 'conversion',
      experiment: exp,
      visitor: this.visitor,
      value: Math.round(value * 100) / 100
    }, true)
    return true
  }

  /**
   * A purchase: one conversion for every experiment the visitor has been
   * exposed to, all with the same order value and order id.
   */
  purchase ({ value, orderId } = {}) {
    orderId = orderId == null ? randomId() : orderId
    return Object.keys(this._seen()).filter((exp) => this.convert(exp, { value, orderId }))
  }

  /**
   * A refund of (part of) an order reported with convert() or purchase():
   * value is the amount refunded (positive here; sent negative), orderId
   * the order's id, refundId makes it idempotent (several refunds of one
   * order need different ids). upshotd lowers the visitor's revenue total
   * and refuses a refund beyond what is left of the order. Refunds are
   * usually known to the shop's backend, which can post the same event to
   * /v1/events; this is for shops that learn of them in the page.
   */
  refund (exp, { value, orderId, refundId } = {}) {
    value = Number(value)
    if (!exp || orderId == null || refundId == null || !(value > 0) || !isFinite(value)) return false
    this._push({
      id: eventId('r', exp, refundId),
      type: 'refund',
      experiment: exp,
      visitor: this.visitor,
      value: -Math.round(value * 100) / 100,
      order: eventId('c', exp, orderId)
    }, true)
    return true
  }

  /** "No thanks": counted once per visitor and experiment. */
  decline (exp) {
    if (!exp) return false
    this._push({
      id: eventId('d', exp, this.visitor),
      type: 'decline',
      experiment: exp,
      visitor: this.visitor
    }, true)
    return true
  }

  // The persistent queue. localStorage is the source of truth so that
  // events written by another tab or an earlier page are not overwritten.
  _queue () {
    return (this.storage ? load(this.storage, QUEUE) : this._mem) || []
  }

  _store (q) {
    if (q.length > MAX_QUEUE) q = q.slice(q.length - MAX_QUEUE)
    if (this.storage) save(this.storage, QUEUE, q)
    else this._mem = q
  }

  _push (ev, now) {
    const q = this._queue()
    if (!q.some((e) => e.id === ev.id)) q.push(ev)
    this._store(q)
    if (now || q.length >= this.options.maxBatch) this._schedule(0)
    else this._schedule(this.options.flushInterval)
  }

  _schedule (ms) {
    if (this._timer) {
      if (ms > 0) return
      clearTimeout(this._timer)
    }
    this._timer = setTimeout(() => {
      this._timer = null
      this.flush()
    }, ms)
  }

  /** Events not yet acknowledged by upshotd. */
  pending () {
    return this._queue().length
  }

  /**
   * Send queued events. With beacon=true (the page is going away) every
   * queued event is handed to navigator.sendBeacon, or fetch keepalive,
   * and stays queued: the next page re-sends any that did not arrive, with
   * the same ids. Otherwise one batch goes by fetch; resolves when done.
   */
  async flush (beacon) {
    const events = this._queue()
    const url = this._url('/v1/events', {})
    const n = this.options.maxBatch
    if (beacon) {
      const nav = globalThis.navigator
      for (let i = 0; i < events.length; i += n) {
        const body = JSON.stringify({ events: events.slice(i, i + n) })
        let sent = false
        try { sent = nav && nav.sendBeacon && nav.sendBeacon(url, body) } catch (e) { /* fall back */ }
        if (!sent) this._post(url, body, true).catch(() => {})
      }
      return
    }
    if (this._sending) return
    const batch = events.filter((e) => !this._inflight.has(e.id)).slice(0, n)
    if (!batch.length) return
    this._sending = true
    batch.forEach((e) => this._inflight.add(e.id))
    let retry = false
    let notBefore = 0 // ms the server asked us to wait (Retry-After)
    try {
      const res = await this._post(url, JSON.stringify({ events: batch }), false)
      // 202: accepted, duplicates and rejected are all settled. Other 4xx
      // (malformed, too large, every event rejected, bad key or origin)
      // would fail the same way forever: dropped, and reported.
      retry = res.status >= 500 || res.status === 408 || res.status === 429
      if (retry) notBefore = retryAfterMs(res.headers)
      if (!res.ok) this._error(new Error('events: HTTP ' + res.status))
    } catch (e) {
      retry = true
      this._error(e)
    }
    batch.forEach((e) => this._inflight.delete(e.id))
    this._sending = false
    if (retry) {
      const base = Math.min(this.options.maxBackoff, this.options.backoff * 2 ** this._attempt++)
      const jittered = Math.round(base * (0.5 + Math.random() / 2))
      // A server that is shedding load says when to come back: never
      // sooner than that, but never longer than maxBackoff either, so a
      // wrong header cannot hold events back for hours.
      this._schedule(Math.max(jittered, Math.min(notBefore, this.options.maxBackoff)))
      return
    }
    this._attempt = 0
    const done = new Set(batch.map((e) => e.id))
    const left = this._queue().filter((e) => !done.has(e.id))
    this._store(left)
    if (left.length) this._schedule(0)
  }

  _post (url, body, keepalive) {
    const ctl = typeof AbortController === 'function' ? new AbortController() : null
    const t = setTimeout(() => ctl && ctl.abort(), Math.max(this.options.timeout, 5000))
    return this._fetch(url, {
      method: 'POST',
      body,
      headers: { 'Content-Type': 'text/plain' },
      keepalive: keepalive || body.length < 60000,
      credentials: 'omit',
      signal: ctl && ctl.signal
    }).finally(() => clearTimeout(t))
  }
}

/**
 * Retry-After of a response, in ms: delta-seconds or an HTTP date; 0 when
 * absent, unreadable or in the past. (A cross-origin page sees the header
 * because upshotd lists it in Access-Control-Expose-Headers.)
 */
export function retryAfterMs (headers, now = Date.now()) {
  const v = headers && typeof headers.get === 'function' ? headers.get('Retry-After') : null
  if (v == null) return 0
  const s = String(v).trim()
  if (/^\d+$/.test(s)) return Number(s) * 1000
  const at = Date.parse(s)
  return Number.isFinite(at) && at > now ? at - now : 0
}

/** Shorthand for new Upshot(options). */
export function createUpshot (options) {
  return new Upshot(options)
}
