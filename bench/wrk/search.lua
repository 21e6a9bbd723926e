-- GET /api/v1/customers?q=TERM&limit=LIST_LIMIT, TERM drawn uniformly from SEARCH_TERMS
-- (comma-separated; default below: first names, last names and prefixes, a company word, phone digits).
-- Ranked full-text search; the reference Flask app has no search, so this runs against Rapport only.
dofile(os.getenv("WRK_DIR") .. "/common.lua")
local terms = {}
local paths = {}
function init(args)
  math.randomseed(os.time() + tid * 15485863)
  local raw = os.getenv("SEARCH_TERMS") or "zoe,jose,muller,garcia,nakamura,kow,ander,nordic,555 01,jose garcia"
  for t in raw:gmatch("[^,]+") do
    paths[#paths + 1] = api_prefix() .. "/customers?q=" .. urlencode(t) .. "&limit=" .. LIST_LIMIT
  end
end
function request()
  return wrk.format("GET", paths[math.random(1, #paths)])
end
