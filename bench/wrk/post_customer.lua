-- POST {prefix}/customers with a unique email per request: load-<nonce>-<thread>-<n>@example.com
--   rapport: {"name","email","phone","address":{"street"}}   peer: the peer's own body (address as a string)
dofile(os.getenv("WRK_DIR") .. "/common.lua")
local nonce = os.getenv("LOAD_NONCE") or tostring(os.time())
local n = 0
local path
function init(args)
  path = api_prefix() .. "/customers"
  wrk.headers["Content-Type"] = "application/json"
end
function request()
  n = n + 1
  local body
  if IS_RAPPORT then
    body = string.format(
      '{"name":"Load %d-%d","email":"load-%s-%d-%d@example.com","phone":"+1-415-555-%04d","address":{"street":"%d Bench Rd"}}',
      tid, n, nonce, tid, n, n % 10000, n)
  else
    body = string.format(
      '{"name":"Load %d-%d","email":"load-%s-%d-%d@example.com","phone":"+1-415-555-%04d","address":"%d Bench Rd"}',
      tid, n, nonce, tid, n, n % 10000, n)
  end
  return wrk.format("POST", path, nil, body)
end
