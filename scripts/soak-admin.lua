-- wrk script used by scripts/soak.sh: a paced stream of admin writes, one connection.
--
-- Cycles through FLAGS flags named soak-admin-0 .. soak-admin-(FLAGS-1), which the soak
-- creates first: for each it sends a kill-switch toggle (POST .../disable, then .../enable
-- the next time round) and a PUT that changes the flag's description (no If-Match). Every
-- write is one committed revision with its ledger entry. Any answer other than 200 counts
-- as bad (and as non2xx when it is above 399).
--
-- Arguments (after wrk's `--`): DELAY_MS [FLAGS=10]
--   DELAY_MS  the wait after each answer before the next write (the pace: about
--             1000 / (DELAY_MS + latency) writes/s on one connection)
--   FLAGS     how many flags to cycle through
--
-- done() prints one machine-readable line, `RESULT key=value ...`, with the same fields as
-- bench-ofrep.lua (latencies in µs) plus bad= and checked=.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

-- Per-thread counters, read by done() through thread:get.
bad = 0
checked = 0
last_bad = ""

local flags = 10
local n = 0
local headers = { ["Content-Type"] = "application/json", ["X-Rampart-Actor"] = "soak" }

function init(args)
   local delay_ms = tonumber(args[1] or "250")
   flags = tonumber(args[2] or "10")
   delay = function()
      return delay_ms
   end
end

function request()
   n = n + 1
   local flag = n % flags
   local round = math.floor(n / flags)
   local key = "soak-admin-" .. flag
   -- Rounds alternate: disable/enable toggles, then a description update.
   if round % 2 == 0 then
      local action = math.floor(round / 2) % 2 == 0 and "disable" or "enable"
      return wrk.format("POST", "/v1/flags/" .. key .. "/" .. action, headers, "")
   end
   local body = string.format(
      '{"key":"%s","kind":"boolean","variants":{"on":true,"off":false},'
         .. '"default_variant":"off","description":"soak update %d"}', key, n)
   return wrk.format("PUT", "/v1/flags/" .. key, headers, body)
end

function response(status, _, body)
   checked = checked + 1
   if status ~= 200 then
      bad = bad + 1
      last_bad = status .. " " .. string.sub(body or "", 1, 200)
   end
end

function done(summary, latency, _)
   local total_bad, total_checked, example = 0, 0, ""
   for _, thread in ipairs(threads) do
      total_bad = total_bad + (thread:get("bad") or 0)
      total_checked = total_checked + (thread:get("checked") or 0)
      local last = thread:get("last_bad")
      if last and last ~= "" then
         example = last
      end
   end
   local e = summary.errors
   local rps = 0
   if summary.duration > 0 then
      rps = summary.requests / (summary.duration / 1e6)
   end
   io.write(string.format(
      "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d "
         .. "mean_us=%.1f non2xx=%d connect=%d read=%d write=%d timeout=%d "
         .. "bad=%d checked=%d\n",
      summary.requests, summary.duration, rps,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      latency.mean, e.status, e.connect, e.read, e.write, e.timeout,
      total_bad, total_checked))
   if example ~= "" then
      io.write("LAST_BAD " .. (string.gsub(example, "\n", " ")) .. "\n")
   end
end
