-- wrk script used by scripts/bench-ofrep.sh and scripts/bench-rss.sh.
--
-- POSTs OFREP evaluation requests to one path, rotating through a fixed pool of
-- pre-formatted requests (different targetingKeys and attributes, so bucketing and rule
-- matching vary) so that per-request Lua work is a table lookup, not string building.
--
-- Arguments (after wrk's `--`): PATH [POOL_SIZE=1024] [STOP_AFTER=0] [DELAY_MS=0]
--   PATH        e.g. /ofrep/v1/evaluate/flags/bench-0000 or /ofrep/v1/evaluate/flags
--   POOL_SIZE   number of distinct request bodies
--   STOP_AFTER  when > 0, each wrk thread stops after that many responses (bounded runs;
--               wrk still waits for -d to elapse before printing results)
--   DELAY_MS    when > 0, each connection waits that many ms after a response before its
--               next request: a paced load of about CONNECTIONS x 1000 / (DELAY_MS +
--               latency) req/s instead of as fast as possible (scripts/soak.sh)
--
-- done() prints one machine-readable line: `RESULT key=value ...` (latencies in µs;
-- non2xx counts HTTP statuses above 399, as wrk's "Non-2xx or 3xx responses" line does).

local next_thread_id = 0

function setup(thread)
   thread:set("thread_id", next_thread_id)
   next_thread_id = next_thread_id + 1
end

local requests = {}
local pool = 0
local index = 0

local plans = { "free", "free", "free", "pro", "team", "enterprise" }
local countries = { "DE", "US", "NL", "BR", "IN", "FR", "JP", "SE" }

-- Mostly anonymous-looking consumers that fall through to the split; a few staff, partner,
-- beta and paying users so that every rule matches some of the time.
local function body(i)
   local domain = "mail.example"
   if i % 64 == 0 then
      domain = "rampart.example"
   elseif i % 32 == 16 then
      domain = "partner-a.example"
   end
   return string.format(
      '{"context":{"targetingKey":"user-%d","email":"u%d@%s","plan":"%s",'
         .. '"app_version":"4.%d.%d","country":"%s","beta":%s}}',
      i, i, domain, plans[i % #plans + 1], i % 5, i % 3,
      countries[i % #countries + 1], tostring(i % 10 == 0))
end

function init(args)
   local path = args[1] or "/ofrep/v1/evaluate/flags"
   pool = tonumber(args[2] or "1024")
   local stop_after = tonumber(args[3] or "0")
   local delay_ms = tonumber(args[4] or "0")
   if delay_ms > 0 then
      delay = function()
         return delay_ms
      end
   end
   local headers = { ["Content-Type"] = "application/json" }
   for i = 1, pool do
      requests[i] = wrk.format("POST", path, headers, body(i))
   end
   -- Threads start at different places in the pool.
   index = ((thread_id or 0) * 389) % pool

   if stop_after > 0 then
      local seen = 0
      response = function(status, headers, body)
         seen = seen + 1
         if seen == stop_after then
            wrk.thread:stop()
         end
      end
   end
end

function request()
   index = index + 1
   if index > pool then
      index = 1
   end
   return requests[index]
end

function done(summary, latency, _)
   local e = summary.errors
   local rps = 0
   if summary.duration > 0 then
      rps = summary.requests / (summary.duration / 1e6)
   end
   io.write(string.format(
      "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d "
         .. "mean_us=%.1f non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
      summary.requests, summary.duration, rps,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      latency.mean, e.status, e.connect, e.read, e.write, e.timeout))
end
