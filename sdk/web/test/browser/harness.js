// harness.js: a real redis-server, a real upshotd, the demo shop server and
// Debian's Chromium, all on free loopback ports, for the browser tests.
//
// Env: UPSHOTD (default: this checkout's build/engine/upshotd, else
// /work/main/build/engine/upshotd), REDIS_SERVER (default redis-server on PATH),
// REDIS_CLI (default redis-cli), CHROMIUM (default /usr/bin/chromium).
import { spawn, execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync, openSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { chromium } from 'playwright-core'
import { startDemoServer } from '../../demo/serve.mjs'

const run = promisify(execFile)
export const REPO = fileURLToPath(new URL('../../../../', import.meta.url))
export const DEMO_CONFIG = join(REPO, 'sdk/web/demo/upshotd.demo.json')
export const ADMIN_TOKEN = 'browser-test-admin-token'
export const SDK_KEY = 'pk_browser_test'

function defaultUpshotd () {
  for (const p of [join(REPO, 'build/engine/upshotd'), '/work/main/build/engine/upshotd']) if (existsSync(p)) return p
  return '/work/main/build/engine/upshotd'
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

export function freePort () {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

// Polls fn until it returns a truthy value; throws with the last error.
export async function until (fn, { timeout = 10000, every = 100, what = 'condition' } = {}) {
  const end = Date.now() + timeout
  let last
  while (Date.now() < end) {
    try {
      const v = await fn()
      if (v) return v
    } catch (e) { last = e }
    await sleep(every)
  }
  throw new Error(`timed out waiting for ${what}${last ? ': ' + last.message : ''}`)
}

function exited (child) {
  return child.exitCode !== null || child.signalCode !== null
}

async function stopChild (child, signal = 'SIGTERM') {
  if (!child || exited(child)) return
  const gone = new Promise((resolve) => child.once('exit', resolve))
  child.kill(signal)
  const t = setTimeout(() => child.kill('SIGKILL'), 5000)
  await gone
  clearTimeout(t)
}

/**
 * Everything the tests need. stack.start() brings it up; stack.stop()
 * takes it down (call it from an after hook: it tolerates partial starts).
 */
export class Stack {
  constructor () {
    this.dir = mkdtempSync(join(tmpdir(), 'upshot-browser-'))
    this.upshotdBin = process.env.UPSHOTD || defaultUpshotd()
    this.redisBin = process.env.REDIS_SERVER || 'redis-server'
    this.redisCliBin = process.env.REDIS_CLI || 'redis-cli'
    this.chromiumBin = process.env.CHROMIUM || '/usr/bin/chromium'
    this.restarts = 0
  }

  async start () {
    if (!existsSync(this.upshotdBin)) throw new Error(`upshotd not found at ${this.upshotdBin} (set UPSHOTD)`)
    this.redisPort = await freePort()
    this.apiPort = await freePort()
    this.shopPort = await freePort()
    this.api = `http://127.0.0.1:${this.apiPort}`
    this.shop = `http://127.0.0.1:${this.shopPort}`

    this.redis = spawn(this.redisBin, ['--port', String(this.redisPort), '--bind', '127.0.0.1',
      '--dir', this.dir, '--appendonly', 'yes', '--save', ''], { stdio: 'ignore' })
    await until(async () => (await this.redisCli('PING')).trim() === 'PONG', { what: 'redis-server' })

    this.config = this.makeConfig()
    this.configFile = join(this.dir, 'upshotd.json')
    writeFileSync(this.configFile, JSON.stringify(this.config, null, 2))
    await this.startUpshotd()

    this.demo = await startDemoServer({ port: this.shopPort, api: this.api, key: SDK_KEY })
    this.browser = await chromium.launch({
      executablePath: this.chromiumBin,
      headless: true,
      // launch() runs Chromium on a fresh temporary --user-data-dir of its own.
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync']
    })
    return this
  }

  // The demo config, pointed at this run's ports and temp dir, plus one
  // experiment with uneven weights for the spread test.
  makeConfig () {
    const c = JSON.parse(readFileSync(DEMO_CONFIG, 'utf8'))
    c.listen = { host: '127.0.0.1', port: this.apiPort }
    c.redis = { host: '127.0.0.1', port: this.redisPort }
    c.data_dir = join(this.dir, 'upshotd')
    c.admin_token = ADMIN_TOKEN
    c.sdk_keys = [SDK_KEY]
    // Only 127.0.0.1: the same shop opened as http://localhost:PORT is a
    // foreign origin, for the CORS test.
    c.cors_origins = [this.shop]
    c.experiments.push({
      key: 'spread-check',
      name: 'Uneven weights, for the spread test',
      status: 'running',
      placement: 'test_slot',
      pages: ['spread'],
      regions: 'all',
      variants: [
        { key: 'control', weight: 0.1, payload: { n: 0 } },
        { key: 'b', weight: 0.2, payload: { n: 1 } },
        { key: 'c', weight: 0.7, payload: { n: 2 } }
      ]
    })
    return c
  }

  async startUpshotd () {
    const log = openSync(join(this.dir, `upshotd-${this.restarts++}.log`), 'w')
    this.upshotd = spawn(this.upshotdBin, ['--config', this.configFile], { stdio: ['ignore', log, log] })
    await until(async () => {
      if (exited(this.upshotd)) throw new Error('upshotd exited: ' + this.upshotdLog())
      const res = await fetch(this.api + '/healthz')
      return res.ok && (await res.json()).status === 'ok'
    }, { timeout: 15000, what: 'upshotd /healthz' })
  }

  async stopUpshotd () {
    await stopChild(this.upshotd)
  }

  upshotdLog () {
    try {
      return readFileSync(join(this.dir, `upshotd-${this.restarts - 1}.log`), 'utf8').slice(-4000)
    } catch (e) { return '' }
  }

  async redisCli (...args) {
    const { stdout } = await run(this.redisCliBin, ['-p', String(this.redisPort), ...args])
    return stdout
  }

  async admin (path) {
    const res = await fetch(this.api + path, { headers: { Authorization: 'Bearer ' + ADMIN_TOKEN } })
    if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status} ${await res.text()}`)
    return res.json()
  }

  // Totals of one variant of an experiment (all regions, randomized traffic).
  async counts (experiment, variant, region) {
    const r = await this.admin(`/v1/experiments/${experiment}/results` + (region ? '?region=' + region : ''))
    const slice = region ? (r.regions || []).find((x) => x.region === region) : r.total
    const c = ((slice && slice.variants) || []).find((v) => v.variant === variant) || {}
    return { visitors: 0, conversions: 0, revenue_sum: 0, orders: 0, decliners: 0, ...c }
  }

  async assign (experiment, visitor, region) {
    const q = new URLSearchParams({ experiment, visitor, region, key: SDK_KEY })
    const res = await fetch(`${this.api}/v1/assign?${q}`)
    if (!res.ok) throw new Error(`assign: HTTP ${res.status} ${await res.text()}`)
    return res.json()
  }

  // A new browser context: a new visitor unless visitor is given (then its
  // id is set in the SDK's first-party cookie).
  async context (visitor) {
    const ctx = await this.browser.newContext({ viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1 })
    if (visitor) await ctx.addCookies([{ name: 'upshot_vid', value: visitor, url: this.shop }])
    return ctx
  }

  async stop () {
    if (this.browser) await this.browser.close().catch(() => {})
    if (this.demo) await new Promise((resolve) => this.demo.close(resolve))
    await stopChild(this.upshotd)
    await stopChild(this.redis)
    if (!process.env.UPSHOT_KEEP_TMP) rmSync(this.dir, { recursive: true, force: true })
  }
}

// Opens a shop page and waits until the shop has rendered its offers.
export async function openShop (page, url) {
  await page.goto(url)
  await page.waitForSelector('body[data-ready="1"]', { timeout: 15000 })
}
