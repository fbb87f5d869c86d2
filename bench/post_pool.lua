-- wrk script: POST hook requests taken in turn from a pool of bodies ($BODY_DIR/0.json ...
-- $BODY_DIR/<BODY_COUNT-1>.json), so that no two consecutive requests carry the same notes and the
-- service's text cache cannot hide the cost of reading.
local dir = os.getenv("BODY_DIR")
local count = tonumber(os.getenv("BODY_COUNT"))
local bodies = {}
for i = 0, count - 1 do
  local file = assert(io.open(dir .. "/" .. i .. ".json", "rb"))
  bodies[i + 1] = file:read("*a")
  file:close()
end
local n = math.random(count)
request = function()
  n = n % count + 1
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, bodies[n])
end
