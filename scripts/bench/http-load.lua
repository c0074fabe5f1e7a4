-- wrk script for the HTTP announce load (performance-anchors.md §6 "H-plain"), driven by http.ts:
--   wrk ... -s http-load.lua URL -- HASHFILE KEEPALIVE(on|off) SEEDER_P [INTERVAL_MS]
-- HASHFILE holds one percent-encoded 20-byte info hash per line (the seeded torrent set, written by http.ts).
-- Each request: a torrent chosen by trunc(((min(Gamma(0.2, 100), 101) - 1) / 100) * (T - 1)), clamped at 0
-- (so about 43% go to torrent 0, as in the reference), a fresh random peer_id and port, left 0 + completed with
-- probability SEEDER_P else left 50 + started, compact=1 and no numwant (the tracker's default applies).
-- Replies are checked: non-200 statuses and bencoded "failure reason"s are counted, and the compact peers
-- string's length gives peers per reply. done() prints one line "BENCH-JSON {...}" for the wrapper.
-- INTERVAL_MS (optional, > 0): each connection waits a random 0..2x INTERVAL_MS (whole ms, as wrk's delay()
-- takes) before each request, so C connections offer about C * 1000 / INTERVAL_MS requests/s whatever the
-- tracker's speed (cpu-cost's fixed load); the real rate is what is reported. delay() is defined only in the
-- wrapper http.ts writes for paced runs: with any delay() wrk puts every request through a timer.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

local hashes, nhashes = {}, 0
local headers = {}
local seeder_p = 0.25
interval_ms = 0 -- read by the delay() that http.ts adds in a wrapper script for paced runs
non200, failures, announces, peers = 0, 0, 0, 0

function init(args)
  for line in io.lines(args[1]) do
    nhashes = nhashes + 1
    hashes[nhashes] = line
  end
  if args[2] == "off" then headers["Connection"] = "close" end
  seeder_p = tonumber(args[3]) or 0.25
  interval_ms = tonumber(args[4]) or 0
  math.randomseed(os.time() * 1000 + (id or 0) * 7919)
end

local function normal()
  return math.sqrt(-2 * math.log(1 - math.random())) * math.cos(2 * math.pi * math.random())
end

-- Marsaglia and Tsang; for shape < 1, Gamma(a) = Gamma(a + 1) * U^(1/a).
local function gamma(shape, scale)
  local boost = 1
  if shape < 1 then
    boost = (1 - math.random()) ^ (1 / shape)
    shape = shape + 1
  end
  local d = shape - 1 / 3
  local c = 1 / math.sqrt(9 * d)
  while true do
    local x = normal()
    local v = (1 + c * x) ^ 3
    if v > 0 then
      local u = 1 - math.random()
      if math.log(u) < 0.5 * x * x + d - d * v + d * math.log(v) then return d * v * scale * boost end
    end
  end
end

function request()
  local i = math.floor(((math.min(gamma(0.2, 100), 101) - 1) / 100) * (nhashes - 1))
  if i < 0 then i = 0 end
  local tail
  if math.random() < seeder_p then tail = "&left=0&event=completed&compact=1" else tail = "&left=50&event=started&compact=1" end
  local path = "/announce?info_hash=" .. hashes[i + 1] .. "&peer_id=-BT0001-" .. string.format("%012d", math.random(0, 999999999999))
    .. "&port=" .. math.random(1, 65535) .. "&uploaded=0&downloaded=0" .. tail
  return wrk.format("GET", path, headers)
end

function response(status, _, body)
  if status ~= 200 then
    non200 = non200 + 1
  elseif body:find("failure reason", 1, true) then
    failures = failures + 1
  else
    announces = announces + 1
    local len = body:match("5:peers(%d+):")
    if len then peers = peers + tonumber(len) / 6 end
  end
end

function done(summary, latency, _)
  local t = { non200 = 0, failures = 0, announces = 0, peers = 0 }
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + (thread:get(k) or 0) end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH-JSON {"requests":%d,"duration_us":%d,"non200":%d,"failures":%d,"announces":%d,"peers":%d,' ..
    '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, t.non200, t.failures, t.announces, t.peers,
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
