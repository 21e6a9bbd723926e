-- A page of LIST_LIMIT customers starting at a uniformly random position in 1..ID_MAX.
--   rapport: GET /api/v1/customers?limit=20&sort=id&cursor=<base64url {"s":"id","k":K,"id":K}>  (keyset: "after id K")
--   peer:    GET /customers?limit=20&offset=K  (the only paging the reference offers; as in its get_list.lua)
dofile(os.getenv("WRK_DIR") .. "/common.lua")
local prefix
function init(args)
  math.randomseed(os.time() + tid * 104729)
  if IS_RAPPORT then
    prefix = api_prefix() .. "/customers?limit=" .. LIST_LIMIT .. "&sort=id&cursor="
  else
    prefix = api_prefix() .. "/customers?limit=" .. LIST_LIMIT .. "&offset="
  end
end
function request()
  local k = math.random(0, math.max(ID_MAX - LIST_LIMIT, 0))
  if IS_RAPPORT then
    return wrk.format("GET", prefix .. b64url(string.format('{"s":"id","k":%d,"id":%d}', k, k)))
  end
  return wrk.format("GET", prefix .. k)
end
