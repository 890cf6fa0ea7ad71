-- assign.lua: wrk load for a single-experiment assign that records the
-- exposure. Every request draws a visitor id from a million and a region from
-- the five demo regions, so upshotd hashes, serves and records distinct
-- visitors the way a shop's traffic would make it.
--
-- Settings come from the environment (read when the script loads, because
-- wrk decides whether delay() exists before init() runs):
--   BENCH_EXPERIMENT  experiment key (default bench-exp)
--   BENCH_SDK_KEY     public SDK key sent as ?key= (default none)
--   BENCH_DELAY_MS    if set and > 0, each connection waits this long after
--                     every response: paced, below-saturation load
--   BENCH_SEED        random seed (default: time and thread address)
--
-- done() prints one line "BENCHJSON {...}" with requests/s, latency
-- percentiles in microseconds and error counts; bench/run parses it.
-- No response() hook: it would make wrk parse headers into Lua for every
-- response and slow the load generator for every subject alike.

local regions = { "gr", "pl", "mena", "ee", "se" }
local experiment = os.getenv("BENCH_EXPERIMENT") or "bench-exp"
local sdk_key = os.getenv("BENCH_SDK_KEY")
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0") or 0
local seed = tonumber(os.getenv("BENCH_SEED") or "")

local prefix = "/v1/assign?experiment=" .. experiment .. "&expose=1"
if sdk_key and sdk_key ~= "" then
  prefix = prefix .. "&key=" .. sdk_key
end
prefix = prefix .. "&visitor=v"

local threads_seen = 0
function init(args)
  threads_seen = threads_seen + 1
  math.randomseed(seed or (os.time() + threads_seen * 7919 + math.floor(os.clock() * 1e6)))
end

function request()
  return wrk.format("GET", prefix .. math.random(1000000) .. "&region=" .. regions[math.random(5)])
end

if delay_ms > 0 then
  function delay()
    return delay_ms
  end
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_s":%.3f,"rps":%.1f,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,"mean_us":%.1f,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
