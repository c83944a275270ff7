-- wrk script for the sandbox load benchmark (driven by bench/sandbox_load.py).
--
--   wrk -t T -c C -d D -s bench/create_load.lua URL -- BODY_FILE TOKEN TAG
--
-- BODY_FILE holds one JSON request body in which the service name is the
-- placeholder @@NAME@@. Every request gets a name of its own, made from TAG
-- (letters), the wrk thread's number and a per-thread counter, such as
-- "nfb-m2-1417": it matches the spec's name pattern, stays far below 54
-- characters and lowercases to a unique service id, so every request the
-- sandbox sees is a real create. The same request shape goes to every target.
--
-- `done` prints one line, "NFBENCH {json}", with the totals of all threads:
-- responses by status code, requests issued, wrk's socket errors and the
-- latency percentiles in microseconds.

local PLACEHOLDER = "@@NAME@@"

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
  table.insert(threads, thread)
end

-- Per-thread state (each wrk thread has a Lua state of its own).
local head, tail, headers, prefix
issued = 0
statuses = {}

function init(args)
  local body_file, token, tag = args[1], args[2], args[3]
  if body_file == nil or token == nil or tag == nil then
    error("usage: wrk ... -s create_load.lua URL -- BODY_FILE TOKEN TAG")
  end
  local handle = assert(io.open(body_file, "rb"))
  local template = handle:read("*a")
  handle:close()
  local at = string.find(template, PLACEHOLDER, 1, true)
  if at == nil then
    error(body_file .. " has no " .. PLACEHOLDER .. " placeholder")
  end
  head = string.sub(template, 1, at - 1)
  tail = string.sub(template, at + #PLACEHOLDER)
  headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }
  prefix = "nfb-" .. tag .. tostring(tid) .. "-"
end

function request()
  issued = issued + 1
  local body = head .. prefix .. tostring(issued) .. tail
  return wrk.format("POST", nil, headers, body)
end

function response(status, response_headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total_issued = 0
  local merged = {}
  for _, thread in ipairs(threads) do
    total_issued = total_issued + (thread:get("issued") or 0)
    for status, count in pairs(thread:get("statuses") or {}) do
      merged[status] = (merged[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(merged) do
    table.insert(parts, string.format('"%d":%d', status, count))
  end
  local errors = summary.errors
  io.write(string.format(
    'NFBENCH {"duration_us":%d,"responses":%d,"issued":%d,"statuses":{%s},'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
    summary.duration, summary.requests, total_issued, table.concat(parts, ","),
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean
  ))
end
