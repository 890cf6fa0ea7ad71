// Browser test of the bandit's offer: Debian's Chromium opens the demo shop's
// checkout page against a real upshotd and redis-server, once per wording of
// checkout-wording (six), spread over the five regions (mena, right to left,
// among them), and checks that the descaler add-on shows the wording the
// visitor was assigned, in the region's language, and that accepting it puts
// it into the order summary.
//
// The visitors are real ones, not forced: upshotd picks each one's wording
// (from the starting weights: no update has run), and the test keeps the
// first visitor it finds for every wording in the region it wants.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { Stack, openShop } from './harness.js'
import { T, PRICES, REGIONS } from '../../demo/assets/i18n.js'

const stack = new Stack()
const EXP = 'checkout-wording'

describe('checkout-wording: every wording renders at checkout in its region\'s language', { timeout: 300000 }, () => {
  const cases = []
  let exp
  before(async () => {
    await stack.start()
    exp = stack.config.experiments.find((e) => e.key === EXP)
    assert.equal(exp.allocation.mode, 'bandit')
    assert.equal(exp.variants.length, 6)
    // Wording i goes to region i mod 5, so every region renders one and gr
    // two. Each wording has about 1/6 of the visitors: 600 tries leave a
    // chance far below 1e-9 of missing one.
    for (const [i, v] of exp.variants.entries()) {
      const region = REGIONS[i % REGIONS.length]
      for (let n = 0; n < 600; n++) {
        const visitor = `bandit-${region}-${n}`
        const a = await stack.assign(EXP, visitor, region)
        assert.equal(a.in_experiment, true, JSON.stringify(a))
        if (a.variant === v.key) {
          cases.push({ visitor, region, a })
          break
        }
      }
    }
    assert.equal(cases.length, 6, cases.map((c) => c.a.variant).join(' '))
  })
  after(async () => {
    await stack.stop()
  })

  test('the add-on shows the assigned wording, and accepting it adds it to the order', async () => {
    for (const { visitor, region, a } of cases) {
      const L = T[region]
      const what = `${a.variant} in ${region}`
      const payload = exp.variants.find((v) => v.key === a.variant).payload
      const ctx = await stack.context(visitor)
      const page = await ctx.newPage()
      const errors = []
      page.on('pageerror', (e) => errors.push(e.message))
      await openShop(page, `${stack.shop}/?region=${region}`)
      assert.equal(await page.getAttribute('html', 'dir'), region === 'mena' ? 'rtl' : 'ltr', what)
      await page.click('#add-to-cart')
      await page.waitForURL('**/cart')
      await page.waitForSelector('body[data-ready="1"]')
      assert.equal(await page.locator(`[data-experiment="${EXP}"]`).count(), 0, `${what}: only at checkout`)
      await page.click('#to-checkout')
      await page.waitForURL('**/checkout')
      await page.waitForSelector('body[data-ready="1"]')

      const card = page.locator(`#checkout [data-experiment="${EXP}"]`)
      assert.equal(await card.count(), 1, what)
      assert.equal(await card.getAttribute('data-variant'), a.variant, what)
      assert.ok(['assigned', 'sticky'].includes(await card.getAttribute('data-reason')), what)
      assert.equal(await card.locator('.offer-head').textContent(), payload.headline[region], what)
      assert.equal(await card.locator('.offer-body').textContent(), payload.body[region], what)
      if (region === 'mena') {
        assert.equal(await card.evaluate((el) => getComputedStyle(el).direction), 'rtl', what)
      }
      const money = (n) => new Intl.NumberFormat(L.locale, { style: 'currency', currency: L.currency, maximumFractionDigits: Number.isInteger(n) ? 0 : 2 }).format(n)
      assert.equal(await card.locator('.offer-price strong').textContent(), money(PRICES[region].descaler), what)
      // The card sits above the button that places the order.
      assert.equal(await page.locator('#checkout [data-experiment] ~ #place-order').count(), 1, what)

      await card.locator('[data-action="accept"]').click()
      await page.waitForSelector('.summary [data-item="descaler"]')
      assert.match(await page.locator('.summary [data-item="descaler"] .line-name').textContent(),
        new RegExp('^' + L.products.descaler.replace(/[().+]/g, '\\$&')), what)
      assert.deepEqual(errors, [], what)
      await ctx.close()
    }
    console.log('checkout-wording rendered: ' + cases.map((c) => `${c.region} ${c.a.variant}`).join('; '))
  })
})
