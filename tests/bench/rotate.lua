-- wrk script: POST GraphQL bodies read from the file in $BODIES (one JSON body a line),
-- each connection walking the list from its own start, with the bearer token in $TOKEN.
-- Counts answers that are not HTTP 200 or carry "errors"/"userErrors":[{ and prints them.
local bodies = {}
local threads = {}
local next_body = 0
bad = 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(os.getenv("BODIES")) do
    bodies[#bodies + 1] = line
  end
  next_body = math.random(#bodies)
end

function request()
  next_body = next_body % #bodies + 1
  return wrk.format("POST", "/graphql", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("TOKEN"),
  }, bodies[next_body])
end

function response(status, headers, body)
  if status ~= 200 or body:find('"errors"', 1, true) or body:find('"userErrors":[{', 1, true) then
    bad = bad + 1
    if bad == 1 then
      io.stderr:write("first bad answer: " .. status .. " " .. body:sub(1, 300) .. "\n")
    end
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do
    total = total + t:get("bad")
  end
  io.write(string.format("BENCH requests=%d bad=%d errors_connect=%d errors_read=%d errors_status=%d errors_timeout=%d p50_us=%d p99_us=%d max_us=%d duration_us=%d\n",
    summary.requests, total, summary.errors.connect, summary.errors.read, summary.errors.status,
    summary.errors.timeout, latency:percentile(50), latency:percentile(99), latency.max, summary.duration))
end
