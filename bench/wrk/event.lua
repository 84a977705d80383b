-- bench/wrk/event.lua: one event per request, as a client sends it.
--   TOKEN=<HS256 JWT> wrk -t1 -c64 -d5s --latency -s bench/wrk/event.lua http://HOST:PORT/event
-- The same request goes to every single-request location of make bench
-- (the `return 204;` ceiling, mcpu with HS256, mcpu with mcpu_jwt off): only
-- the location differs.  The event time is taken once, at start: events
-- older than mcpu_event_max_age (30d) are refused, so any run is in time.
local now = os.time() * 1000
wrk.method = "POST"
wrk.body = '{"type":"CpuMeasurement","time":' .. now .. ',"seq":1,"process":3.5,'
    .. '"usage":{"0":12.5,"1":80,"2":33.25,"3":4,"4":57.5,"5":9,"6":71,"7":18.5}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Client-Id"] = "bench-client"
wrk.headers["Client-Version"] = "6.04"
wrk.headers["Client-Os"] = "Linux"
local token = os.getenv("TOKEN")
if token and token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
end
