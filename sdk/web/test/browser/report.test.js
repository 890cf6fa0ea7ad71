// The page of `upshot report` in Debian's Chromium: the CLI writes it from
// a real upshotd (fed traffic through the public API) and Chromium opens
// the file. It must render (every chart has a size), log no console
// error and make no network request at all: the page is self-contained.
//
// The screenshot goes to UPSHOT_SCREENSHOT_DIR (ctest: the build folder)
// or a scratch folder; UPSHOT_UPDATE_SCREENSHOTS=1 writes the copy that
// docs/cli.md shows, docs/screenshots/report.png.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { Stack, until, REPO, SDK_KEY, ADMIN_TOKEN } from './harness.js'

const run = promisify(execFile)
const CLI = process.env.UPSHOT_CLI || join(REPO, 'build/sdk/cli/upshot')
const SHOTS = process.env.UPSHOT_UPDATE_SCREENSHOTS === '1'
  ? join(REPO, 'docs/screenshots')
  : process.env.UPSHOT_SCREENSHOT_DIR || join(tmpdir(), `upshot-screenshots-${process.pid}`)
const EXP = 'checkout-tiers'
const stack = new Stack()
const scratch = mkdtempSync(join(tmpdir(), 'upshot-report-'))

// Deterministic traffic: visitor i of a variant converts when i % 100 is
// below the variant's rate in percent; every 12th declines.
const RATES = { gr: { single: 6, 'three-tiers': 11 }, pl: { single: 8, 'three-tiers': 8 } }

async function feed (region, n) {
  const seen = {}
  const events = []
  for (let i = 0; i < n; i++) {
    const visitor = `rep-${region}-${i}`
    const q = new URLSearchParams({ experiment: EXP, visitor, region, expose: '1', key: SDK_KEY })
    const res = await fetch(`${stack.api}/v1/assign?${q}`)
    assert.equal(res.status, 200)
    const { variant } = await res.json()
    const k = seen[variant] = (seen[variant] || 0) + 1
    if (k % 100 < RATES[region][variant]) {
      events.push({ id: `o-${visitor}`, type: 'conversion', experiment: EXP, visitor, value: 30 + (k % 5) * 10 })
    }
    if (k % 12 === 0) events.push({ id: `d-${visitor}`, type: 'decline', experiment: EXP, visitor })
  }
  for (let i = 0; i < events.length; i += 500) {
    const res = await fetch(`${stack.api}/v1/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Upshot-Key': SDK_KEY },
      body: JSON.stringify({ events: events.slice(i, i + 500) })
    })
    assert.equal(res.status, 202)
  }
}

describe('upshot report in Chromium', () => {
  before(async () => {
    await stack.start()
    await feed('gr', 600)
    await feed('pl', 400)
    await until(async () => (await stack.counts(EXP, 'single')).visitors > 0, { what: 'counts applied' })
  })
  after(async () => {
    await stack.stop()
    rmSync(scratch, { recursive: true, force: true })
  })

  test('the page renders with every chart, no console error and no request', async () => {
    const file = join(scratch, 'report.html')
    const env = { ...process.env, UPSHOT_URL: stack.api, UPSHOT_TOKEN: ADMIN_TOKEN, UPSHOT_CONFIG: '/dev/null' }
    const { stdout } = await run(CLI, ['report', EXP, '--html', file, '--metric', 'conversion', '--json'], { env })
    assert.equal(JSON.parse(stdout).html, file)
    assert.ok(existsSync(file))

    const ctx = await stack.browser.newContext({ viewport: { width: 1000, height: 900 }, deviceScaleFactor: 1 })
    const page = await ctx.newPage()
    const problems = []
    const requests = []
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text()) })
    page.on('pageerror', (e) => problems.push(e.message))
    page.on('request', (r) => requests.push(r.url()))
    const url = pathToFileURL(file).href
    await page.goto(url, { waitUntil: 'load' })

    assert.deepEqual(problems, [])
    assert.deepEqual(requests, [url], 'the file itself is the only request')
    const charts = await page.$$eval('svg', (svgs) => svgs.map((s) => {
      const r = s.getBoundingClientRect()
      return { w: r.width, h: r.height, title: s.querySelector('title')?.textContent || '', marks: s.querySelectorAll('rect, polyline, polygon, circle, line').length }
    }))
    // all regions, gr, pl; the forest plot; the exposure split
    assert.equal(charts.length, 5)
    for (const c of charts) {
      assert.ok(c.w > 300 && c.h > 60, `a chart without size: ${JSON.stringify(c)}`)
      assert.ok(c.title.length > 0 && c.marks > 0, JSON.stringify(c))
    }
    const h1 = await page.textContent('h1')
    assert.match(h1, /checkout-tiers/)
    // the page is no wider than the window: nothing overflows sideways
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    assert.ok(overflow <= 0, `page overflows by ${overflow}px`)
    // and it prints: a PDF of the page comes out
    const pdf = await page.pdf({ format: 'A4' })
    assert.ok(pdf.length > 10000)

    mkdirSync(SHOTS, { recursive: true })
    await page.screenshot({ path: join(SHOTS, 'report.png'), fullPage: false, animations: 'disabled' })
    await ctx.close()
  })
})
