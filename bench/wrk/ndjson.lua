-- bench/wrk/ndjson.lua: NDJSON batches, LINES events per request (default
-- 100: ~19 KB, under mcpu_max_body_size, so a batch and not a stream).
--   TOKEN=<HS256 JWT> LINES=100 wrk -t1 -c64 -d5s --latency -s bench/wrk/ndjson.lua http://HOST:PORT/event
-- The same event as bench/wrk/event.lua, with seq 0..LINES-1; the time is
-- taken once, at start (mcpu_event_max_age is 30d).  Duplicates across
-- requests are fine for a throughput measurement.
local now = os.time() * 1000
local n = tonumber(os.getenv("LINES") or "") or 100
local lines = {}
for i = 0, n - 1 do
    lines[#lines + 1] = '{"type":"CpuMeasurement","time":' .. now .. ',"seq":' .. i
        .. ',"process":3.5,"usage":{"0":12.5,"1":80,"2":33.25,"3":4,"4":57.5,"5":9,'
        .. '"6":71,"7":18.5},"attributes":{"host":"bench-host-' .. (i % 10) .. '","batch":true}}'
end
wrk.method = "POST"
wrk.body = table.concat(lines, "\n") .. "\n"
wrk.headers["Content-Type"] = "application/x-ndjson"
wrk.headers["Client-Id"] = "bench-client"
wrk.headers["Client-Version"] = "6.04"
wrk.headers["Client-Os"] = "Linux"
local token = os.getenv("TOKEN")
if token and token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
end
