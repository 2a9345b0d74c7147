-- wrk script used by scripts/bench-events.sh.
--
-- For PATH /v1/events it POSTs pre-built batches of 500 health events for the boolean flag
-- `checkout` (half `on`, half `off`, 1% errors, latencies 2-42 ms with a 1% tail of
-- 250-450 ms, no `ts` so the server stamps receipt time), rotating through 8 different
-- batches so per-request Lua work is a table lookup. Every answer is checked: an HTTP status
-- other than 200, or a body without `"accepted":500` and an empty `rejected`, counts as bad;
-- an answer whose `judged` is not 500 (no rollout is comparing the events) counts as
-- unjudged. For any other PATH (e.g. /healthz) it sends plain GETs and checks nothing beyond
-- wrk's own status count, so the peer measures bare HTTP.
--
-- Arguments (after wrk's `--`): PATH [POOL_SIZE=1024] [STOP_AFTER=0] [DELAY_MS=0]
--   POOL_SIZE   ignored (bench_wrk passes it for bench-ofrep.lua); the batch pool is 8
--   STOP_AFTER  when > 0, each wrk thread stops after that many responses
--   DELAY_MS    when > 0, each connection waits that many ms after a response before its
--               next request: a paced load of about CONNECTIONS x 1000 / (DELAY_MS +
--               latency) req/s instead of as fast as possible (scripts/soak.sh)
--
-- done() prints one machine-readable line, `RESULT key=value ...`, with the same fields as
-- bench-ofrep.lua (latencies in µs) plus bad=, unjudged= and checked=.

local EVENTS_PER_BATCH = 500
local POOL = 8

local threads = {}
local next_thread_id = 0

function setup(thread)
   thread:set("thread_id", next_thread_id)
   next_thread_id = next_thread_id + 1
   table.insert(threads, thread)
end

-- Per-thread counters, read by done() through thread:get.
bad = 0
unjudged = 0
checked = 0

local requests = {}
local index = 0

local function batch(seed)
   local events = {}
   for i = 1, EVENTS_PER_BATCH do
      local n = seed * EVENTS_PER_BATCH + i
      local variant = (n % 2 == 0) and "on" or "off"
      local outcome = (n % 100 == 37) and "error" or "success"
      local latency = 2 + (n * 37 % 400) / 10
      if n % 100 == 71 then
         latency = 250 + (n % 200)
      end
      events[i] = string.format(
         '{"flag":"checkout","variant":"%s","outcome":"%s","latency_ms":%.1f}',
         variant, outcome, latency)
   end
   return "[" .. table.concat(events, ",") .. "]"
end

function init(args)
   local path = args[1] or "/v1/events"
   local stop_after = tonumber(args[3] or "0")
   local delay_ms = tonumber(args[4] or "0")
   if delay_ms > 0 then
      delay = function()
         return delay_ms
      end
   end
   local checking = path == "/v1/events"
   if checking then
      local headers = { ["Content-Type"] = "application/json" }
      for i = 1, POOL do
         requests[i] = wrk.format("POST", path, headers, batch(i))
      end
   else
      requests[1] = wrk.format("GET", path)
   end
   index = ((thread_id or 0) * 3) % #requests

   if checking or stop_after > 0 then
      local seen = 0
      response = function(status, _, body)
         if checking then
            checked = checked + 1
            if status ~= 200
               or not string.find(body, '"accepted":500,', 1, true)
               or not string.find(body, '"rejected":[]', 1, true) then
               bad = bad + 1
            elseif not string.find(body, '"judged":500,', 1, true) then
               unjudged = unjudged + 1
            end
         end
         seen = seen + 1
         if seen == stop_after then
            wrk.thread:stop()
         end
      end
   end
end

function request()
   index = index + 1
   if index > #requests then
      index = 1
   end
   return requests[index]
end

function done(summary, latency, _)
   local total_bad, total_unjudged, total_checked = 0, 0, 0
   for _, thread in ipairs(threads) do
      total_bad = total_bad + (thread:get("bad") or 0)
      total_unjudged = total_unjudged + (thread:get("unjudged") or 0)
      total_checked = total_checked + (thread:get("checked") or 0)
   end
   local e = summary.errors
   local rps = 0
   if summary.duration > 0 then
      rps = summary.requests / (summary.duration / 1e6)
   end
   io.write(string.format(
      "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d "
         .. "mean_us=%.1f non2xx=%d connect=%d read=%d write=%d timeout=%d "
         .. "bad=%d unjudged=%d checked=%d\n",
      summary.requests, summary.duration, rps,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      latency.mean, e.status, e.connect, e.read, e.write, e.timeout,
      total_bad, total_unjudged, total_checked))
end
