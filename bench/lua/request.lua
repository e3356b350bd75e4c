-- One request shape for wrk, read from the file named by BENCH_SPEC (written by bench/wrk.py):
--   line 1: method, line 2: path, then "H Name: value" header lines and "B body" lines.
-- With several bodies, thread i of n sends bodies i, i+n, i+2n, ... in turn, so no two
-- threads ever share a body (a device code polled by two connections at once would answer
-- slow_down). With BENCH_COUNT set, answers are counted by status and OAuth error code.
-- done() prints one line: "BENCH_JSON {...}" with latency percentiles in microseconds.

local threads = {}
local counter = 0

function setup(thread)
   thread:set("thread_id", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

local function read_spec()
   local f = assert(io.open(os.getenv("BENCH_SPEC"), "r"))
   local method = f:read("*l")
   local path = f:read("*l")
   local headers, bodies = {}, {}
   for line in f:lines() do
      local kind, rest = line:sub(1, 1), line:sub(3)
      if kind == "H" then
         local name, value = rest:match("^([^:]+):%s*(.*)$")
         headers[name] = value
      elseif kind == "B" then
         table.insert(bodies, rest)
      end
   end
   f:close()
   return method, path, headers, bodies
end

local requests = {}
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
local next_index = 1

function init(args)
   local method, path, headers, bodies = read_spec()
   if #bodies == 0 then
      requests[1] = wrk.format(method, path, headers, nil)
   else
      local i = (thread_id or 0) + 1
      while i <= #bodies do
         table.insert(requests, wrk.format(method, path, headers, bodies[i]))
         i = i + nthreads
      end
      if #requests == 0 then
         requests[1] = wrk.format(method, path, headers, bodies[1])
      end
   end
   counts = {}
end

function request()
   local r = requests[next_index]
   next_index = next_index + 1
   if next_index > #requests then
      next_index = 1
   end
   return r
end

if os.getenv("BENCH_COUNT") then
   function response(status, headers, body)
      local key = tostring(status)
      local err = body and body:match('"error"%s*:%s*"([%w_]+)"')
      if err then
         key = key .. ":" .. err
      end
      counts[key] = (counts[key] or 0) + 1
   end
end

function done(summary, latency, requests)
   local merged = {}
   for _, t in ipairs(threads) do
      local c = t:get("counts")
      if type(c) == "table" then
         for k, v in pairs(c) do
            merged[k] = (merged[k] or 0) + v
         end
      end
   end
   local parts = {}
   for k, v in pairs(merged) do
      table.insert(parts, string.format('"%s": %d', k, v))
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
      '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
      '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "p999": %d, "mean": %.1f, "max": %d}, ' ..
      '"counts": {%s}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9), latency.mean, latency.max,
      table.concat(parts, ", ")))
end
