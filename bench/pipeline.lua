-- wrk script: HTTP/1.1 pipelining, DEPTH requests per write (default 16).
--   wrk -t1 -c64 -d5s -s bench/pipeline.lua URL -- 16
-- wrk parses the string that request() returns, finds DEPTH requests in it and
-- waits for DEPTH responses before writing the next batch; every response is
-- counted, so "Requests/sec" is responses per second, as without the script.
local depth = 16

init = function(args)
   depth = tonumber(args[1] or os.getenv("PIPELINE_DEPTH") or "16")
   local r = {}
   for i = 1, depth do
      r[i] = wrk.format(nil)   -- method, path, headers and body from the command line
   end
   batch = table.concat(r)
end

request = function()
   return batch
end
