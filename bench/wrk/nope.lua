-- GET /api/v1/nope/{n}: an unknown URL (404, no auth, no database), the floor of a request's cost.
function init(args)
  math.randomseed(os.time())
end
function request()
  return wrk.format("GET", "/api/v1/nope/" .. math.random(1, 100000))
end
