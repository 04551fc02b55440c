-- wrk script, KohakuHub's shape: each client (X-Forwarded-For, trusted by realip from
-- 127.0.0.1) downloads a session of 8 files (snapshot_download of a small repo) from
-- {prefix}/datasets/demo/tiny-data/resolve/main/file-{1..8}, then the next client comes.
-- Arguments: first identity number (successive runs never reuse one), path prefix
-- ("" for the counted location, "/kohaku-plain" for the uncounted one).
local next_tid = 0
function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
end

local n = 0
local prefix = ""
function init(args)
  n = tonumber(args[1] or "0") or 0
  prefix = args[2] or ""
end

function request()
  local client = math.floor(n / 8)
  local file = n % 8 + 1
  n = n + 1
  local ip = string.format("10.%d.%d.%d", math.floor(client / 65536) % 256,
                           math.floor(client / 256) % 256, client % 256)
  return wrk.format("GET", prefix .. "/datasets/demo/tiny-data/resolve/main/file-" .. file, {
    ["X-Forwarded-For"] = ip,
    ["User-Agent"] = "huggingface_hub/0.26 wrk-" .. tostring(tid),
  })
end
