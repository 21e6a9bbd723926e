-- GET {prefix}/customers/{id}, id uniform in 1..ID_MAX (same shape as the peer's get_id.lua).
dofile(os.getenv("WRK_DIR") .. "/common.lua")
local prefix
function init(args)
  math.randomseed(os.time() + tid * 7919)
  prefix = api_prefix() .. "/customers/"
end
function request()
  return wrk.format("GET", prefix .. math.random(1, ID_MAX))
end
