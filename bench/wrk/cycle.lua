-- Create+destroy cycles for bench/run: each connection sends POST /v1/hogboxes, then
-- DELETE of a box its thread created, and so on; a cycle counts when the DELETE is
-- answered 204. At most one box per connection is alive, far below max_hogboxes.
local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   created = {}          -- ids answered 201, waiting for their DELETE
   cycles = 0
   failures = 0
   post_headers = {}
   for k, v in pairs(wrk.headers) do post_headers[k] = v end
   post_headers["Content-Type"] = "application/json"
end

function request()
   local id = table.remove(created)
   if id then
      return wrk.format("DELETE", "/v1/hogboxes/" .. id, wrk.headers)
   end
   return wrk.format("POST", "/v1/hogboxes", post_headers, "{}")
end

function response(status, headers, body)
   if status == 201 then
      local id = body:match('"id"%s*:%s*"([^"]+)"')
      if id then table.insert(created, id) else failures = failures + 1 end
   elseif status == 204 then
      cycles = cycles + 1
   else
      failures = failures + 1
   end
end

function done(summary, latency, requests)
   local c, f = 0, 0
   for _, t in ipairs(threads) do
      c = c + t:get("cycles")
      f = f + t:get("failures")
   end
   io.write(string.format("bench: cycles=%d failures=%d duration_us=%d\n",
                          c, f, summary.duration))
end
