-- wrk: one request per call over lead ids 1..LEADS, with the key in KEY.
-- ROUTE=get: GET /leads/{id};  ROUTE=analyze: POST /leads/{id}/analyze.
local key = os.getenv("KEY")
local leads = tonumber(os.getenv("LEADS") or "1000")
local analyze = os.getenv("ROUTE") == "analyze"
local counter = 0
request = function()
  counter = counter + 1
  local id = (counter * 7919) % leads + 1
  local headers = {["Authorization"] = "Bearer " .. key}
  if analyze then
    headers["Content-Length"] = "0"
    return wrk.format("POST", "/leads/" .. id .. "/analyze", headers)
  end
  return wrk.format("GET", "/leads/" .. id, headers)
end
done = function(summary, latency, requests)
  io.write(string.format("p50 %.2f ms, p99 %.2f ms, non-2xx %d, socket errors %d\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
