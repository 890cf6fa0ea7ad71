#!/usr/bin/env node
// serve.mjs: the demo shop's static server, with no dependencies.
//
//   node sdk/web/demo/serve.mjs --port 8081 --api http://127.0.0.1:8080 --key pk_demo
//
// Serves the shop pages (/, /cart, /checkout, /thanks: one HTML shell with
// the upshotd URL and public key filled in), its assets, and the SDK's ES
// modules under /sdk/. The pages call upshotd on its own origin, so the
// browser does real cross-origin requests (CORS).
import { createServer } from 'node:http'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { join, normalize, extname, sep } from 'node:path'

const here = fileURLToPath(new URL('.', import.meta.url))
const ROOTS = {
  '/assets/': join(here, 'assets'),
  '/sdk/': join(here, '..', 'src')
}
const PAGES = { '/': 'product', '/product': 'product', '/cart': 'cart', '/checkout': 'checkout', '/thanks': 'thanks' }
const TYPES = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json'
}

const escapeAttr = (s) => String(s).replace(/[&"<>]/g, (c) => ({ '&': '&amp;', '"': '&quot;', '<': '&lt;', '>': '&gt;' }[c]))

/** Starts the server; resolves to the node:http server once it listens. */
export async function startDemoServer ({ port = 8081, host = '127.0.0.1', api = 'http://127.0.0.1:8080', key = 'pk_demo', log = false } = {}) {
  const shell = await readFile(join(here, 'shop.html'), 'utf8')
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x')
    const send = (status, type, body) => {
      res.writeHead(status, {
        'Content-Type': type,
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff'
      })
      res.end(body)
    }
    if (log) console.log(req.method, req.url)
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n')
    const page = PAGES[url.pathname]
    if (page) {
      return send(200, TYPES['.html'], shell
        .replace('{{API}}', escapeAttr(api))
        .replace('{{KEY}}', escapeAttr(key))
        .replace('{{PAGE}}', page))
    }
    const prefix = Object.keys(ROOTS).find((p) => url.pathname.startsWith(p))
    if (prefix) {
      const root = ROOTS[prefix]
      const file = normalize(join(root, decodeURIComponent(url.pathname.slice(prefix.length))))
      if (!file.startsWith(root + sep)) return send(403, 'text/plain', 'forbidden\n')
      try {
        return send(200, TYPES[extname(file)] || 'application/octet-stream', await readFile(file))
      } catch (e) {
        return send(404, 'text/plain', 'not found\n')
      }
    }
    send(404, 'text/plain', 'not found\n')
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, resolve)
  })
  return server
}

function args (argv) {
  const o = {}
  for (let i = 0; i < argv.length; i++) {
    const m = /^--(port|host|api|key)(?:=(.*))?$/.exec(argv[i])
    if (!m) {
      console.error(`unknown argument ${argv[i]}\nusage: serve.mjs [--port N] [--host H] [--api URL] [--key KEY]`)
      process.exit(2)
    }
    o[m[1]] = m[2] !== undefined ? m[2] : argv[++i]
  }
  if (o.port !== undefined) o.port = Number(o.port)
  return o
}

if (process.argv[1] && fileURLToPath(import.meta.url) === normalize(process.argv[1])) {
  const o = args(process.argv.slice(2))
  const server = await startDemoServer(o)
  const { address, port } = server.address()
  console.log(`Brewhaus demo shop on http://${address}:${port}/ (upshotd ${o.api || 'http://127.0.0.1:8080'})`)
  const stop = () => server.close(() => process.exit(0))
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}
