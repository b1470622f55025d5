-- wrk script for every scenario of the benchmark; the runner passes the mode after `--`.
--   cycle PREFIX FIRST COUNT   GET /user/PREFIX<n>, n going round FIRST..FIRST+COUNT-1 (a hot set)
--   sequence PREFIX FIRST      GET /user/PREFIX<n>, n = FIRST, FIRST+1, ... (never repeats)
--   register PREFIX TOKEN      POST /register with a new name each request, as a bearer of TOKEN
-- done() prints one JSON line the runner parses; `issued` is how many names a thread used.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local mode, prefix, first, count
issued = 0

function init(args)
  mode, prefix = args[1], args[2]
  first, count = tonumber(args[3] or "0"), tonumber(args[4] or "1")
  if args[5] and args[5] ~= "" then registerHeaders["Authorization"] = "Bearer " .. args[5] end
end

registerHeaders = { ["Content-Type"] = "application/json" }

function request()
  local n = issued
  issued = issued + 1
  if mode == "cycle" then
    return wrk.format("GET", "/user/" .. prefix .. (first + n % count))
  elseif mode == "sequence" then
    return wrk.format("GET", "/user/" .. prefix .. (first + n))
  else
    local body = '{"name":"' .. prefix .. n .. '","info":"registered by the benchmark"}'
    return wrk.format("POST", "/register", registerHeaders, body)
  end
end

function done(summary, latency, requests)
  local used = 0
  for _, thread in ipairs(threads) do
    used = used + (thread:get("issued") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"maxUs":%d,"non2xx":%d,"socketErrors":%d,"issued":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout, used))
end
