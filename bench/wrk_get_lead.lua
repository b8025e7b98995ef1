-- wrk: GET /leads/{id} over LEADS ids (1..LEADS), with the key in KEY.
local key = os.getenv("KEY")
local leads = tonumber(os.getenv("LEADS") or "1000")
local counter = 0
request = function()
  counter = counter + 1
  local id = (counter * 7919) % leads + 1
  return wrk.format("GET", "/leads/" .. id, {["Authorization"] = "Bearer " .. key})
end
done = function(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format("p50 %.2f ms, p99 %.2f ms, non-2xx %d, socket errors %d\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, non2xx,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
