'use strict';
/*
 * The peer in Upshot's assign benchmark: what a team would run instead of
 * upshotd. A plain Node HTTP server that, per request, evaluates one
 * experiment with the GrowthBook JavaScript SDK (@growthbook/growthbook,
 * GrowthBookClient.runInlineExperiment, the SDK's multi-user server mode)
 * and answers with JSON of the same shape as upshotd's assign response.
 *
 * The experiment is read from the same upshotd config file bench/run gives
 * upshotd, and mapped onto GrowthBook's inline-experiment fields:
 *   variants[].key / weight / payload -> variations / weights / meta
 *   regions                           -> condition {region: {$in: [...]}}
 *   traffic_percent                   -> coverage
 *   salt                              -> seed (hashAttribute "id")
 * GrowthBook hashes with FNV-1a, not murmur3, so a visitor may land in a
 * different variant than in upshotd; the work per request is what matters.
 *
 * The SDK's tracking callback is where a GrowthBook deployment would send the
 * exposure to its analytics pipeline; here it only counts, so the peer does
 * strictly less work per request than upshotd, which records the exposure
 * in Redis.
 *
 * Usage: node server.js --port N --config FILE [--experiment KEY]
 */
const http = require('node:http');
const fs = require('node:fs');
const { GrowthBookClient } = require('@growthbook/growthbook');

function parseArgs(argv) {
  const out = { host: '127.0.0.1', port: 0, config: '', experiment: 'bench-exp' };
  for (let i = 2; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '');
    if (!(k in out) || i + 1 >= argv.length) {
      process.stderr.write('usage: node server.js --port N --config FILE [--experiment KEY]\n');
      process.exit(2);
    }
    out[k] = k === 'port' ? Number(argv[i + 1]) : argv[i + 1];
  }
  if (!out.port || !out.config) {
    process.stderr.write('peer: --port and --config are required\n');
    process.exit(2);
  }
  return out;
}

const args = parseArgs(process.argv);
const config = JSON.parse(fs.readFileSync(args.config, 'utf8'));
const exp = (config.experiments || []).find((e) => e.key === args.experiment);
if (!exp) {
  process.stderr.write(`peer: experiment ${args.experiment} not in ${args.config}\n`);
  process.exit(2);
}

const gbExperiment = {
  key: exp.key,
  seed: exp.salt || exp.key,
  hashAttribute: 'id',
  hashVersion: 2,
  variations: exp.variants.map((v) => v.key),
  weights: exp.variants.map((v) => v.weight),
  coverage: (exp.traffic_percent === undefined ? 100 : exp.traffic_percent) / 100,
  condition: Array.isArray(exp.regions) && exp.regions.length
    ? { region: { $in: exp.regions } }
    : undefined,
};
const payloads = new Map(exp.variants.map((v) => [v.key, v.payload || {}]));

let tracked = 0;
const gb = new GrowthBookClient({
  trackingCallback: () => { tracked++; },
});
gb.initSync({ payload: { features: {} } });

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://peer');
  if (url.pathname === '/healthz') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok', tracked }));
    return;
  }
  const visitor = url.searchParams.get('visitor');
  if (!visitor) {
    res.writeHead(400, { 'Content-Type': 'application/json' });
    res.end('{"error":"visitor is required"}');
    return;
  }
  const region = url.searchParams.get('region') || '';
  const r = gb.runInlineExperiment(gbExperiment, { attributes: { id: visitor, region } });
  const variant = r.inExperiment ? r.value : exp.control;
  const body = JSON.stringify({
    experiment: exp.key,
    variant,
    payload: payloads.get(variant) || {},
    in_experiment: r.inExperiment,
    reason: r.inExperiment ? 'assigned' : 'region',
    exposure: 'none', // nothing is recorded here (see the top of this file)
  });
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(body);
});
server.keepAliveTimeout = 30000;
server.listen(args.port, args.host, () => {
  process.stderr.write(`peer: listening on ${args.host}:${args.port} (GrowthBook SDK)\n`);
});
function stop() { server.close(); process.exit(0); }
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
