// Browser tests: Debian's Chromium (driven by playwright-core) runs the demo
// shop and the SDK against a real upshotd and a real redis-server.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { Stack, openShop, until, sleep, REPO, SDK_KEY } from './harness.js'
import { evaluate } from '../../src/assign.js'
import { murmur3 } from '../../src/hash.js'
import { T, PRICES } from '../../demo/assets/i18n.js'

// Screenshots go outside the source tree, so a test run leaves it as it
// found it: to UPSHOT_SCREENSHOT_DIR (ctest sets build/sdk/web/screenshots,
// kept for a look after the run), else to a scratch folder removed at the
// end. Only UPSHOT_UPDATE_SCREENSHOTS=1 (tools/screenshots) writes the
// ones docs/sdk.md shows.
const UPDATE = process.env.UPSHOT_UPDATE_SCREENSHOTS === '1'
const SCRATCH = !UPDATE && !process.env.UPSHOT_SCREENSHOT_DIR
const SHOTS = UPDATE
  ? join(REPO, 'docs/screenshots')
  : process.env.UPSHOT_SCREENSHOT_DIR || join(tmpdir(), `upshot-screenshots-${process.pid}`)
const stack = new Stack()

// Redis, read directly (key layout of engine/core/keys.h, docs/redis.md):
// one experiment's data is split into 12 shard groups, group g under the
// hash tag "x:EXP:g:n" with n the smallest integer whose key slot (CRC16
// of the tag) lies in g's range [round(g*16384/12), round((g+1)*16384/12)).
// A visitor's shard is the top 16 bits of murmur3_32(visitor, 0), its
// group the shard modulo 12. Counters hashes {TAG}:cnt have fields
// TYPE|VARIANT_INDEX|REGION|DAY; a visitor's record is in {TAG}:v:SHARD.
const GROUPS = 12
function crc16 (text) {
  let crc = 0
  for (const byte of new TextEncoder().encode(text)) {
    crc ^= byte << 8
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc
}
const slotLo = (g) => Math.floor((2 * g * 16384 + GROUPS) / (2 * GROUPS))
function groupTag (experiment, g) {
  for (let n = 0; ; n++) {
    const tag = `x:${experiment}:${g}:${n}`
    const slot = crc16(tag) % 16384
    if (slot >= slotLo(g) && slot < slotLo(g + 1)) return tag
  }
}

async function redisCounts (experiment, variantIndex) {
  const sum = {}
  for (let g = 0; g < GROUPS; g++) {
    // Raw output (redis-cli's default off a terminal): one element a line.
    const flat = (await stack.redisCli('HGETALL', `{${groupTag(experiment, g)}}:cnt`)).split('\n')
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const [type, idx] = flat[i].split('|')
      if (Number(idx) === variantIndex) sum[type] = (sum[type] || 0) + Number(flat[i + 1])
    }
  }
  return sum
}

async function visitorRecord (experiment, visitor) {
  const shard = murmur3(visitor, 0) >>> 16
  return (await stack.redisCli('HGET', `{${groupTag(experiment, shard % GROUPS)}}:v:${shard}`, visitor)).trim()
}

describe('demo shop + SDK against real upshotd and Redis', { timeout: 300000 }, () => {
  before(async () => {
    await stack.start()
  })
  after(async () => {
    if (SCRATCH) rmSync(SHOTS, { recursive: true, force: true })
    await stack.stop()
  })

  test('a visitor sees the same variant across reloads; the id lives in a first-party cookie', async () => {
    const ctx = await stack.context()
    const page = await ctx.newPage()
    const seen = []
    for (let i = 0; i < 4; i++) {
      if (i === 0) await openShop(page, stack.shop + '/?region=pl')
      else {
        await page.reload()
        await page.waitForSelector('body[data-ready="1"]')
      }
      seen.push(await page.$eval('[data-experiment="offer-wording"]', (el) => el.dataset.variant))
    }
    const cookie = (await ctx.cookies()).find((c) => c.name === 'upshot_vid')
    assert.ok(cookie, 'upshot_vid cookie')
    assert.match(cookie.value, /^v[0-9a-f]{32}$/)
    assert.equal(cookie.sameSite, 'Lax')
    assert.ok(cookie.expires > Date.now() / 1000 + 300 * 86400, 'cookie lasts about a year')
    assert.deepEqual(seen, Array(4).fill(seen[0]))
    // The server agrees with what the page showed, and so does local evaluation.
    const a = await stack.assign('offer-wording', cookie.value, 'pl')
    assert.equal(a.variant, seen[0])
    const exp = stack.config.experiments.find((e) => e.key === 'offer-wording')
    assert.equal(evaluate(exp, cookie.value, 'pl').variant, seen[0])
    // The cart page (another page load, other experiments) keeps the visitor.
    const stored = await page.evaluate(() => window.upshot.visitor)
    assert.equal(stored, cookie.value)
    await ctx.close()
  })

  test('visitors spread across variants as weighted; server and local evaluation agree', async () => {
    const ctx = await stack.context()
    const page = await ctx.newPage()
    await openShop(page, stack.shop + '/?region=se')
    const N = 3000
    // The page's own SDK asks upshotd with explicit visitor ids, one
    // /v1/assignments call per visitor, and local mode evaluates the
    // /v1/sdk/config snapshot in the browser.
    const out = await page.evaluate(async ({ N, api, key }) => {
      const { Upshot } = await import('/sdk/index.js')
      const rows = []
      for (let i = 0; i < N; i += 100) {
        const chunk = []
        for (let j = i; j < Math.min(N, i + 100); j++) {
          const visitor = 'spread-' + j
          const remote = new Upshot({ server: api, key, region: 'se', visitor, storage: null, autoFlush: false, timeout: 10000 })
          const local = new Upshot({ server: api, key, region: 'se', visitor, storage: null, autoFlush: false, timeout: 10000, mode: 'local' })
          chunk.push(Promise.all([remote.getVariants({ page: 'spread' }), local.getVariant('spread-check')])
            .then(([r, l]) => rows.push([visitor, r['spread-check'].variant, r['spread-check'].reason, l.variant])))
        }
        await Promise.all(chunk)
      }
      return rows
    }, { N, api: stack.api, key: SDK_KEY })
    assert.equal(out.length, N)
    const count = { control: 0, b: 0, c: 0 }
    for (const [visitor, remote, reason, local] of out) {
      assert.equal(reason, 'assigned', visitor)
      assert.equal(local, remote, `local evaluation differs from upshotd for ${visitor}`)
      count[remote]++
    }
    // Binomial bound: |count - N w| < 5 sd, sd = sqrt(N w (1 - w)); a false
    // alarm has probability below 1e-6 per variant.
    for (const [k, w] of [['control', 0.1], ['b', 0.2], ['c', 0.7]]) {
      const sd = Math.sqrt(N * w * (1 - w))
      assert.ok(Math.abs(count[k] - N * w) < 5 * sd, `${k}: ${count[k]} of ${N}, expected ${N * w} +- ${(5 * sd).toFixed(0)}`)
    }
    console.log(`spread over ${N} visitors (weights 0.1/0.2/0.7): ${JSON.stringify(count)}`)
    // Different browsers (new contexts, new cookies) land in different variants.
    const variants = new Set()
    for (let i = 0; i < 12; i++) {
      const c = await stack.context()
      const p = await c.newPage()
      await openShop(p, stack.shop + '/?region=ee')
      variants.add(await p.$eval('[data-experiment="offer-wording"]', (el) => el.dataset.variant))
      await c.close()
    }
    // 3 variants of about 1/3: all 12 visitors in one variant has probability 3 * (1/3)^12 < 1e-5.
    assert.ok(variants.size >= 2, [...variants].join())
    await ctx.close()
  })

  describe('offers render as their payload says, in each region\'s language and direction', () => {
    mkdirSync(SHOTS, { recursive: true })
    // QA visitors of the demo config get fixed variants (never counted), so
    // each screenshot shows a different placement and dimension.
    const cases = [
      { region: 'gr', path: 'product', check: 'offer-wording', variant: 'benefits' },
      { region: 'pl', path: 'cart', check: 'checkout-tiers', variant: 'three-tiers' },
      { region: 'mena', path: 'cart', check: 'urgency', variant: 'low-stock' },
      { region: 'ee', path: 'checkout', check: 'offer-placement', variant: 'checkout-popup' },
      { region: 'se', path: 'thanks', check: 'offer-placement', variant: 'thank-you' }
    ]
    for (const c of cases) {
      test(`${c.region}: ${c.check} = ${c.variant} on the ${c.path} page`, async () => {
        const visitor = 'qa-' + c.region
        const L = T[c.region]
        const ctx = await stack.context(visitor)
        // A fixed clock (timers still run) so the countdown, and with it the
        // screenshot, is the same on every run: the tracked PNGs only change
        // when the shop does.
        await ctx.clock.setFixedTime(new Date('2026-03-02T09:00:00Z'))
        const page = await ctx.newPage()
        const errors = []
        page.on('pageerror', (e) => errors.push(e.message))
        await openShop(page, `${stack.shop}/?region=${c.region}`)
        assert.equal(await page.getAttribute('html', 'lang'), L.lang)
        assert.equal(await page.getAttribute('html', 'dir'), L.dir)
        if (c.region === 'mena') {
          assert.equal(await page.$eval('h1', (el) => getComputedStyle(el).direction), 'rtl')
        }
        // The wording experiment: headline, body and CTA are the payload's
        // texts for this region.
        const w = await stack.assign('offer-wording', visitor, c.region)
        const card = page.locator('[data-experiment="offer-wording"]')
        assert.equal(await card.getAttribute('data-variant'), w.variant)
        assert.equal(await card.locator('.offer-head').textContent(), w.payload.headline[c.region])
        assert.equal(await card.locator('.offer-body').textContent(), w.payload.body[c.region])
        assert.equal(await card.locator('[data-action="accept"]').textContent(), w.payload.cta[c.region])
        if (w.payload.style === 'social_proof') assert.equal(await card.locator('.stars').count(), 1)

        const placement = (await stack.assign('offer-placement', visitor, c.region)).payload.placement
        assert.equal(await page.locator('[data-experiment="offer-placement"]').count(), placement === 'product_page' ? 1 : 0)

        if (c.path !== 'product') {
          await page.click('#add-to-cart')
          await page.waitForURL('**/cart')
          await page.waitForSelector('body[data-ready="1"]')
          const tiers = await stack.assign('checkout-tiers', visitor, c.region)
          const t = page.locator('[data-experiment="checkout-tiers"]')
          assert.equal(await t.getAttribute('data-variant'), tiers.variant)
          assert.equal(await t.locator('.tier').count(), tiers.payload.layout === 'three' ? 3 : 0)
          if (tiers.payload.layout === 'three') {
            assert.equal(await t.locator('.tier.highlight').getAttribute('data-tier'), tiers.payload.highlight)
            assert.equal(await t.locator('.tier.highlight .badge').textContent(), L.popular)
            const prices = await t.locator('.tier-price').allTextContents()
            const fmt = (n) => new Intl.NumberFormat(L.locale, { style: 'currency', currency: L.currency, maximumFractionDigits: 0 }).format(n)
            assert.deepEqual(prices, tiers.payload.tiers.map((id) => fmt(PRICES[c.region][id])))
          }
          const u = await stack.assign('urgency', visitor, c.region)
          const note = page.locator('[data-experiment="urgency"] .urgency')
          assert.equal(await note.getAttribute('data-urgency'), u.payload.urgency)
          if (u.payload.urgency === 'countdown') assert.match(await note.textContent(), /\d\d:\d\d/)
          if (u.payload.urgency === 'low_stock') {
            const n = new Intl.NumberFormat(L.locale).format(u.payload.left)
            assert.equal((await note.textContent()).trim(), L.left.replace('{n}', n))
          }
          assert.equal(await page.locator('[data-experiment="offer-placement"]').count(), placement === 'cart_page' ? 1 : 0)
        }
        if (c.path === 'checkout' || c.path === 'thanks') {
          await page.click('#to-checkout')
          await page.waitForURL('**/checkout')
          await page.waitForSelector('body[data-ready="1"]')
          await page.click('#place-order')
          if (placement === 'checkout_popup') {
            await page.waitForSelector('dialog[open] [data-experiment="offer-placement"]')
            assert.equal(await page.locator('dialog h2').textContent(), L.popupTitle)
          }
        }
        if (c.path === 'thanks') {
          await page.waitForURL('**/thanks**')
          await page.waitForSelector('body[data-ready="1"]')
          assert.equal(await page.locator('.thanks h1').textContent(), L.thanksTitle)
          assert.equal(await page.locator('[data-experiment="offer-placement"] .offer-head').count(), placement === 'thank_you_page' ? 1 : 0)
          if (placement === 'thank_you_page') assert.equal(await page.locator('[data-experiment="offer-placement"] .offer-head').textContent(), L.afterHead)
        }
        const shown = await page.locator(`[data-experiment="${c.check}"]`).first().getAttribute('data-variant')
        assert.equal(shown, c.variant)
        await page.locator('.upshot-panel').evaluate((d) => { d.open = true })
        // Order ids are random: show a fixed one in the picture.
        await page.evaluate(() => { const o = document.getElementById('order-id'); if (o) o.textContent = 'BH-2Q7K9F1M3X' })
        await page.screenshot({ path: join(SHOTS, c.region + '.png'), fullPage: true, animations: 'disabled' })
        assert.deepEqual(errors, [])
        await ctx.close()
      })
    }
  })

  test('a purchase records exactly one conversion with its value, even when the beacon is sent twice', async () => {
    const visitor = 'buyer-' + Date.now()
    const region = 'gr'
    const wording = await stack.assign('offer-wording', visitor, region)
    const wIdx = stack.config.experiments.find((e) => e.key === 'offer-wording').variants.findIndex((v) => v.key === wording.variant)
    const before = await stack.counts('offer-wording', wording.variant)
    const redisBefore = await redisCounts('offer-wording', wIdx)
    const ctx = await stack.context(visitor)
    const page = await ctx.newPage()
    await openShop(page, `${stack.shop}/?region=${region}`)
    // Buy the upgrade the offer suggests, then check out.
    await page.click('[data-experiment="offer-wording"] [data-action="accept"]')
    await page.click('#add-to-cart')
    await page.waitForURL('**/cart')
    await page.waitForSelector('body[data-ready="1"]')
    await page.click('#to-checkout')
    await page.waitForURL('**/checkout')
    await page.waitForSelector('body[data-ready="1"]')
    await page.click('#place-order')
    if (await page.locator('dialog[open]').count()) await page.click('dialog [data-action="decline"]')
    await page.waitForURL('**/thanks**')
    await page.waitForSelector('body[data-ready="1"]')
    const orderId = await page.textContent('#order-id')
    const order = await page.evaluate(() => JSON.parse(localStorage.getItem('shop:order')))
    assert.equal(order.total, PRICES.gr['kettle-pro'] + PRICES.gr.kettle) // upgrade + the kettle added after it
    // The same conversion again: the SDK's beacon path twice, a hand-made
    // beacon with the same event id twice, and a reload of the thank-you
    // page (which reports the purchase again).
    const beacons = await page.evaluate(async ({ orderId, total, api, key, visitor }) => {
      window.upshot.purchase({ value: total, orderId })
      await window.upshot.flush(true)
      await window.upshot.flush(true)
      const body = JSON.stringify({ events: [{ id: 'c:offer-wording:' + orderId, type: 'conversion', experiment: 'offer-wording', visitor, value: total }] })
      return [navigator.sendBeacon(api + '/v1/events?key=' + key, body), navigator.sendBeacon(api + '/v1/events?key=' + key, body)]
    }, { orderId, total: order.total, api: stack.api, key: SDK_KEY, visitor })
    assert.deepEqual(beacons, [true, true])
    await page.reload()
    await page.waitForSelector('body[data-ready="1"]')
    await until(() => page.evaluate(() => window.upshot.pending() === 0), { what: 'the queue to drain' })
    const after = await until(async () => {
      const c = await stack.counts('offer-wording', wording.variant)
      return c.conversions > before.conversions && c
    }, { what: 'the conversion in the results' })
    await sleep(1000) // any late duplicate would land by now
    const final = await stack.counts('offer-wording', wording.variant)
    assert.deepEqual(final, after)
    assert.equal(final.conversions - before.conversions, 1)
    assert.equal(final.orders - before.orders, 1)
    assert.ok(Math.abs(final.revenue_sum - before.revenue_sum - order.total) < 1e-6, `revenue +${final.revenue_sum - before.revenue_sum}`)
    assert.equal(final.visitors - before.visitors, 1)
    // The same, read from Redis itself.
    const r = await redisCounts('offer-wording', wIdx)
    assert.equal((r.c || 0) - (redisBefore.c || 0), 1)
    assert.equal((r.o || 0) - (redisBefore.o || 0), 1)
    assert.ok(Math.abs((r.s || 0) - (redisBefore.s || 0) - order.total) < 1e-6)
    const rec = await visitorRecord('offer-wording', visitor)
    assert.match(rec, new RegExp(`^${wIdx}\\|${region}\\|`), rec)
    // Exposed with the cart value the offer was shown on (flag x, then the value).
    assert.match(rec, /^\d+\|[a-z]+\|[a-z]*x[a-z]*\|\d/, rec)
    console.log(`order ${orderId}: ${order.total} EUR; offer-wording/${wording.variant}: conversions ${before.conversions} -> ${final.conversions}, orders ${before.orders} -> ${final.orders}; visitor record ${rec}`)
    await ctx.close()
  })

  test('with upshotd down the page works and shows control; queued events arrive once it is back', async () => {
    const visitor = 'outage-' + Date.now()
    const region = 'ee'
    const ctx = await stack.context(visitor)
    const page = await ctx.newPage()
    // While upshotd is up: the visitor is exposed to the wording offer.
    await openShop(page, `${stack.shop}/?region=${region}`)
    const wording = await stack.assign('offer-wording', visitor, region)
    await until(() => page.evaluate(() => window.upshot.pending() === 0), { what: 'exposures sent' })
    const exposed = await page.evaluate(() => window.upshot.exposures())
    assert.equal(exposed['offer-wording'], wording.variant)
    // Acknowledged means journaled; it reaches Redis up to pipeline.flush_ms
    // later. The baseline must already hold this visitor's exposure.
    await until(async () => (await visitorRecord('offer-wording', visitor)) !== '', { what: 'the exposure in Redis' })
    const before = await stack.counts('offer-wording', wording.variant)

    await stack.stopUpshotd()
    try {
      const t0 = Date.now()
      await page.reload()
      await page.waitForSelector('body[data-ready="1"]', { timeout: 5000 })
      const loadMs = Date.now() - t0
      // Control everywhere, from the shop's defaults.
      const card = page.locator('[data-experiment="offer-wording"]')
      assert.equal(await card.getAttribute('data-variant'), 'features')
      assert.equal(await card.getAttribute('data-reason'), 'error')
      assert.equal(await card.locator('.offer-head').textContent(), T[region].products['kettle-pro'])
      assert.match(await page.textContent('.upshot-panel summary'), /unreachable/)
      // ... and the shop goes on: cart, checkout, order.
      await page.click('#add-to-cart')
      await page.waitForURL('**/cart')
      await page.waitForSelector('body[data-ready="1"]')
      assert.equal(await page.locator('[data-experiment="checkout-tiers"]').getAttribute('data-variant'), 'single')
      assert.equal(await page.locator('[data-experiment="urgency"] .urgency').getAttribute('data-urgency'), 'none')
      assert.equal(await page.locator('[data-experiment="offer-placement"]').getAttribute('data-variant'), 'cart')
      await page.click('#to-checkout')
      await page.waitForURL('**/checkout')
      await page.waitForSelector('body[data-ready="1"]')
      await page.click('#place-order')
      await page.waitForURL('**/thanks**')
      await page.waitForSelector('body[data-ready="1"]')
      const order = await page.evaluate(() => JSON.parse(localStorage.getItem('shop:order')))
      // The conversion waits in localStorage, and survives a reload.
      await page.reload()
      await page.waitForSelector('body[data-ready="1"]')
      const queued = await page.evaluate(() => JSON.parse(localStorage.getItem('upshot:q')))
      assert.ok(queued.some((e) => e.type === 'conversion' && e.experiment === 'offer-wording' && e.value === order.total), JSON.stringify(queued))
      console.log(`upshotd down: page ready in ${loadMs} ms with control; ${queued.length} events queued`)
      await sleep(2000)
    } finally {
      await stack.startUpshotd() // same port, same data_dir
    }
    // Without any reload, the page's own retry delivers them.
    const t1 = Date.now()
    await until(() => page.evaluate(() => window.upshot.pending() === 0), { timeout: 90000, every: 250, what: 'the queue to drain after the restart' })
    const drainMs = Date.now() - t1
    const after = await until(async () => {
      const c = await stack.counts('offer-wording', wording.variant)
      return c.conversions > before.conversions && c
    }, { what: 'the conversion in the results' })
    assert.equal(after.conversions - before.conversions, 1)
    assert.equal(after.orders - before.orders, 1)
    assert.equal(after.visitors, before.visitors) // the exposure before the outage, counted once
    const order = await page.evaluate(() => JSON.parse(localStorage.getItem('shop:order')))
    assert.ok(Math.abs(after.revenue_sum - before.revenue_sum - order.total) < 1e-6)
    console.log(`after restart the queue drained in ${drainMs} ms; conversions ${before.conversions} -> ${after.conversions}`)
    await ctx.close()
  })

  test('an origin outside cors_origins gets control, and the page still works', async () => {
    const ctx = await stack.context()
    const page = await ctx.newPage()
    // The same shop opened as localhost is an origin upshotd does not allow.
    await openShop(page, `http://localhost:${stack.shopPort}/?region=se`)
    const card = page.locator('[data-experiment="offer-wording"]')
    assert.equal(await card.getAttribute('data-reason'), 'error')
    assert.equal(await card.getAttribute('data-variant'), 'features')
    await ctx.close()
  })
})
