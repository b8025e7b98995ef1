-- wrk: POST /leads/{id}/analyze once per lead, each request a lead not analyzed before: thread t
-- of THREADS (wrk -t, default 1) takes ids FIRST + t, FIRST + t + THREADS, ...; the key in KEY.
local key = os.getenv("KEY")
local first = tonumber(os.getenv("FIRST") or "1")
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function init(args)
  stride = tonumber(os.getenv("THREADS") or "1")
  next_id = first + tid
end
request = function()
  local id = next_id
  next_id = next_id + stride
  return wrk.format("POST", "/leads/" .. id .. "/analyze",
    {["Authorization"] = "Bearer " .. key, ["Content-Length"] = "0"})
end
done = function(summary, latency, requests)
  io.write(string.format("mean %.1f us, p50 %.2f ms, p99 %.2f ms, non-2xx %d, socket errors %d\n",
    latency.mean, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
