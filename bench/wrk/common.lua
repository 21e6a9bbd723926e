-- Shared by the wrk scripts in this folder (loaded with dofile from each scenario script).
-- Env: TARGET (rapport, rapport_pg or any rapport_* | peer: which URL shapes and bodies to use; printed
--      as the RESULT's target), TOKEN (bearer token, Rapport),
--      SCENARIO (name printed in the RESULT line), ID_MAX (ids 1..ID_MAX exist), LIST_LIMIT.
-- Prints one machine-readable line at the end, like the peer's load scripts, plus p95:
--   RESULT {"target":..,"scenario":..,"rps":..,"lat_ms":{"p50","p90","p95","p99",...},"errors":{..}}
TARGET = os.getenv("TARGET") or "rapport"
-- Every Rapport run (rapport = SQLite, rapport_pg = PostgreSQL) has Rapport's URL shapes.
IS_RAPPORT = TARGET:sub(1, 7) == "rapport"
ID_MAX = tonumber(os.getenv("ID_MAX") or "100000")
LIST_LIMIT = tonumber(os.getenv("LIST_LIMIT") or "20")

local token = os.getenv("TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

-- Rapport's API lives under /api/v1; the reference Flask app serves /customers at the root.
function api_prefix()
  local base = wrk.path:gsub("/$", "")
  if IS_RAPPORT then return base .. "/api/v1" end
  return base
end

local b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
-- base64url without padding (the encoding of Rapport's list cursors)
function b64url(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local function ch(v) return b64:sub(v + 1, v + 1) end
    out[#out + 1] = ch(math.floor(n / 262144) % 64) .. ch(math.floor(n / 4096) % 64)
    if b then out[#out + 1] = ch(math.floor(n / 64) % 64) end
    if c then out[#out + 1] = ch(n % 64) end
  end
  return table.concat(out)
end

function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

local threads = {}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  local ms = function(p) return latency:percentile(p) / 1000.0 end -- wrk latency is in microseconds
  io.write(string.format(
    'RESULT {"target":"%s","scenario":"%s","requests":%d,"duration_s":%.2f,"rps":%.1f,' ..
    '"lat_ms":{"mean":%.3f,"p50":%.3f,"p90":%.3f,"p95":%.3f,"p99":%.3f,"p99.9":%.3f,"max":%.3f},' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"non_2xx_3xx":%d}}\n',
    TARGET, os.getenv("SCENARIO") or "?", summary.requests, secs, summary.requests / secs,
    latency.mean / 1000.0, ms(50), ms(90), ms(95), ms(99), ms(99.9), latency.max / 1000.0,
    e.connect, e.read, e.write, e.timeout, e.status))
end
