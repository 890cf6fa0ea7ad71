// Browser test of the factorial offer: Debian's Chromium opens the demo shop
// against a real upshotd and redis-server, once per cell of offer-strategy
// (16 cells: placement x wording x tiers x urgency), spread over the five
// regions, and checks that the starter-set slot shows the cell as its
// merged payload says, in the region's language and direction.
//
// The visitors are real ones, not forced: upshotd picks each one's cell, and
// the test keeps the first visitor it finds for every cell, sending it to
// the region that has rendered the fewest cells so far. So each region
// renders three or four cells and every cell is rendered once.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { Stack, openShop } from './harness.js'
import { T, PRICES, REGIONS } from '../../demo/assets/i18n.js'

const stack = new Stack()
const EXP = 'offer-strategy'

// The level payloads as the demo config states them, by factor and level:
// the test checks the page against these, not against what upshotd merged.
function levelPayload (factor, level) {
  const exp = stack.config.experiments.find((e) => e.key === EXP)
  const f = exp.factors.find((x) => x.key === factor)
  return f.levels.find((l) => l.key === level).payload
}

// The levels of a cell, read from its key (level keys joined by '-').
function levelsOf (cell) {
  const exp = stack.config.experiments.find((e) => e.key === EXP)
  const keys = cell.split('-')
  return Object.fromEntries(exp.factors.map((f, i) => [f.key, keys[i]]))
}

describe('offer-strategy: every cell renders in the starter-set slot, in every region\'s language', { timeout: 300000 }, () => {
  const cases = []
  before(async () => {
    await stack.start()
    const exp = stack.config.experiments.find((e) => e.key === EXP)
    const ncells = exp.factors.reduce((n, f) => n * f.levels.length, 1)
    assert.equal(ncells, 16)
    const perRegion = Object.fromEntries(REGIONS.map((r) => [r, 0]))
    const seen = new Set()
    // Half of the visitors are in the layer's other experiment and each
    // cell has 1/16 of the rest: about 100 tries find all 16 (the bound
    // leaves room for a probability below 1e-9 of running out).
    for (let i = 0; i < 2000 && seen.size < ncells; i++) {
      const region = REGIONS.reduce((a, b) => (perRegion[b] < perRegion[a] ? b : a))
      const visitor = `strategy-${i}`
      const a = await stack.assign(EXP, visitor, region)
      if (!a.in_experiment) {
        assert.equal(a.reason, 'layer', JSON.stringify(a))
        continue
      }
      if (seen.has(a.variant)) continue
      seen.add(a.variant)
      perRegion[region]++
      cases.push({ visitor, region, a })
    }
    assert.equal(seen.size, ncells, `cells found: ${[...seen].join(' ')}`)
  })
  after(async () => {
    await stack.stop()
  })

  test('the assign reply names the cell\'s levels and merges their payloads', () => {
    const exp = stack.config.experiments.find((e) => e.key === EXP)
    for (const { a } of cases) {
      const keys = a.variant.split('-')
      assert.deepEqual(a.factors, levelsOf(a.variant), a.variant)
      const merged = Object.assign({}, ...exp.factors.map((f, i) => levelPayload(f.key, keys[i])))
      assert.deepEqual(a.payload, merged, a.variant)
    }
  })

  test('each cell is rendered in its region: slot, wording, tiers, urgency, direction', async () => {
    assert.equal(cases.length, 16)
    for (const { visitor, region, a } of cases) {
      const L = T[region]
      const f = levelsOf(a.variant)
      const what = `${a.variant} in ${region}`
      const ctx = await stack.context(visitor)
      // A fixed clock (timers still run): the countdown reads the same on every run.
      await ctx.clock.setFixedTime(new Date('2026-03-02T09:00:00Z'))
      const page = await ctx.newPage()
      const errors = []
      page.on('pageerror', (e) => errors.push(e.message))
      await openShop(page, `${stack.shop}/?region=${region}`)
      assert.equal(await page.getAttribute('html', 'lang'), L.lang, what)
      assert.equal(await page.getAttribute('html', 'dir'), region === 'mena' ? 'rtl' : 'ltr', what)
      await page.click('#add-to-cart')
      await page.waitForURL('**/cart')
      await page.waitForSelector('body[data-ready="1"]')

      // The slot belongs to offer-strategy: offer-placement's starter set
      // is nowhere on the page.
      const inCart = page.locator(`[data-slot="cart_page"] [data-experiment="${EXP}"]`)
      assert.equal(await page.locator('[data-experiment="offer-placement"]').count(), 0, what)
      let card
      if (f.placement === 'cart') {
        assert.equal(await inCart.count(), 1, what)
        card = inCart
      } else {
        assert.equal(await inCart.count(), 0, what)
        assert.equal(await page.locator(`[data-experiment="${EXP}"]`).count(), 0, what)
        await page.click('#to-checkout')
        await page.waitForURL('**/checkout')
        await page.waitForSelector('body[data-ready="1"]')
        assert.equal(await page.locator(`[data-experiment="${EXP}"]`).count(), 0, `${what}: no offer before the order is placed`)
        await page.click('#place-order')
        await page.waitForSelector(`dialog[open][data-slot="checkout_popup"] [data-experiment="${EXP}"]`)
        assert.equal(await page.locator('dialog h2').textContent(), L.popupTitle, what)
        card = page.locator(`dialog[open] [data-experiment="${EXP}"]`)
      }
      assert.equal(await card.getAttribute('data-variant'), a.variant, what)
      assert.ok(['assigned', 'sticky'].includes(await card.getAttribute('data-reason')), what)
      if (region === 'mena') {
        assert.equal(await card.evaluate((el) => getComputedStyle(el).direction), 'rtl', what)
      }

      // Wording: the level's copy for this region.
      const words = levelPayload('wording', f.wording)
      assert.equal(await card.getAttribute('data-wording'), f.wording, what)
      assert.equal(await card.locator('.offer-head').textContent(), words.headline[region], what)
      assert.equal(await card.locator('.offer-body').textContent(), words.body[region], what)

      // Tiers: three size cards with the middle one highlighted, or one set.
      const money = (n) => new Intl.NumberFormat(L.locale, { style: 'currency', currency: L.currency, maximumFractionDigits: Number.isInteger(n) ? 0 : 2 }).format(n)
      const deal = (id) => Math.round(PRICES[region][id] * 0.9 * 100) / 100
      const tiers = card.locator('.tier')
      if (f.tiers === 'three') {
        assert.equal(await tiers.count(), 3, what)
        assert.deepEqual(await tiers.evaluateAll((els) => els.map((el) => el.dataset.tier)), ['dripper', 'starter-set', 'brew-kit'], what)
        assert.deepEqual(await card.locator('.tier h4').allTextContents(), ['dripper', 'starter-set', 'brew-kit'].map((id) => L.kitTiers[id][0]), what)
        assert.equal(await card.locator('.tier.highlight').getAttribute('data-tier'), 'starter-set', what)
        assert.equal(await card.locator('.tier.highlight .badge').textContent(), L.popular, what)
        assert.deepEqual(await card.locator('.tier-price strong').allTextContents(), ['dripper', 'starter-set', 'brew-kit'].map((id) => money(deal(id))), what)
        assert.equal(await card.locator('[data-action="accept"]').count(), 0, what)
      } else {
        assert.equal(await tiers.count(), 0, what)
        assert.match(await card.locator('.offer-price').textContent(), new RegExp('^' + L.products['starter-set'].replace(/[+.]/g, '\\$&')), what)
        assert.equal(await card.locator('.offer-price strong').textContent(), money(deal('starter-set')), what)
        assert.equal(await card.locator('[data-action="accept"]').textContent(), f.placement === 'checkout' ? L.popupAdd : L.add, what)
      }

      // Urgency: the countdown line, or nothing.
      const note = card.locator('.urgency')
      assert.equal(await note.getAttribute('data-urgency'), f.urgency, what)
      if (f.urgency === 'timer') {
        assert.equal(await note.isVisible(), true, what)
        assert.match(await note.textContent(), new RegExp(L.endsIn + ' \\d\\d:\\d\\d'), what)
      } else {
        assert.equal((await note.textContent()).trim(), '', what)
        assert.equal(await note.isVisible(), false, what)
      }
      assert.deepEqual(errors, [], what)
      await ctx.close()
    }
    const byRegion = {}
    for (const c of cases) byRegion[c.region] = (byRegion[c.region] || []).concat(c.a.variant)
    for (const r of REGIONS) assert.ok(byRegion[r].length >= 3, `${r}: ${byRegion[r]}`)
    console.log('offer-strategy cells rendered: ' + REGIONS.map((r) => `${r} ${byRegion[r].join(' ')}`).join('; '))
  })
})
