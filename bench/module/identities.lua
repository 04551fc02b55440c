-- wrk script: every request comes from a new client (X-Forwarded-For, trusted by
-- realip from 127.0.0.1), so with hubstats on each one is a new download session.
local next_tid = 0
function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
end

-- Optional first script argument: where to start numbering, so that successive wrk
-- runs do not reuse identities (wrk ... -s identities.lua URL -- 2000000).
local n = 0
function init(args)
  n = tonumber(args[1] or "0") or 0
end

function request()
  n = n + 1
  -- wrk runs LuaJIT (Lua 5.1): no bit operators.
  local ip = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256,
                           math.floor(n / 256) % 256, n % 256)
  return wrk.format("GET", nil, {
    ["X-Forwarded-For"] = ip,
    ["User-Agent"] = "wrk-bench-" .. tostring(tid),
  })
end
