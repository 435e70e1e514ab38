-- submit_cycle.lua: wrk script running the daemon's submit sequence against the emulator:
--   POST /jobs (fresh UUID jobId) -> PATCH datasource -> PATCH params -> POST run
-- Each job's next step is sent only after the previous step's answer came back (as the
-- daemon does), so no step races ahead of its job. A free connection with no follow-up
-- step ready starts a new job. wrk gives no per-connection hook, so the job a response
-- belongs to is read from the answer body ("id" is the first field of the job object).
--
-- Environment: BYTENITE_TOKEN (access token) or BYTENITE_API_KEY (default demo-key: the
-- script then exchanges it first), CUSTOMER_PATH (default "customer").
-- Example: BYTENITE_TOKEN=... wrk -t2 -c64 -d10s --latency -s bench/wrk/submit_cycle.lua \
--            https://127.0.0.1:PORT

local customer = os.getenv("CUSTOMER_PATH") or "customer"
local base = "/v1/" .. customer .. "/jobs"
local api_key = os.getenv("BYTENITE_API_KEY") or "demo-key"

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
  table.insert(threads, thread)
end

-- Per-thread state (each wrk thread has its own Lua state).
local token
local next_step = {}      -- job id -> step to send once its last answer is back
local ready = {}          -- queue of {id, step} whose previous answer arrived
local ready_head, ready_tail = 1, 0
local counter = 0
local nonce
local token_asked = false

creates, datasources, params, runs, errors, completed = 0, 0, 0, 0, 0, 0

function init(args)
  token = os.getenv("BYTENITE_TOKEN")
  math.randomseed(os.time() * 1000 + tid)
  nonce = math.random(0, 0xffffff)
end

local function new_uuid()
  counter = counter + 1
  -- Unique per run, thread and job; version 4 / RFC 4122 variant bits set.
  return string.format("%08x-%04x-4%03x-8%03x-%06x%06x", counter, tid,
                       math.random(0, 0xfff), math.random(0, 0xfff),
                       nonce, math.random(0, 0xffffff))
end

local json_headers = { ["Content-Type"] = "application/json" }

local function with_auth()
  json_headers["Authorization"] = token
  return json_headers
end

local bodies = {
  datasource = '{"dataSource":{"dataSourceDescriptor":"url","params":{'
    .. '"@type":"type.googleapis.com/bytenite.data_source.HttpDataSource",'
    .. '"url":"https://storage.example.com/in.txt"}},'
    .. '"dataDestination":{"dataSourceDescriptor":"bucket"}}',
  params = '{"partitioner":{"numImages":20},"app":{"prompt":"A sunset"},'
    .. '"assembler":{"outExtension":"jpeg"}}',
  run = '{"taskTimeout":3600,"jobTimeout":86400,"isTestJob":true}',
}

function request()
  if not token then
    token_asked = true
    return wrk.format("POST", "/v1/auth/access_token", json_headers,
                      '{"apiKey":"' .. api_key .. '"}')
  end
  if ready_head <= ready_tail then
    local item = ready[ready_head]
    ready[ready_head] = nil
    ready_head = ready_head + 1
    local id, step = item[1], item[2]
    if step == 2 then
      next_step[id] = 3
      datasources = datasources + 1
      return wrk.format("PATCH", base .. "/" .. id .. "/datasource", with_auth(), bodies.datasource)
    elseif step == 3 then
      next_step[id] = 4
      params = params + 1
      return wrk.format("PATCH", base .. "/" .. id .. "/params", with_auth(), bodies.params)
    else
      next_step[id] = nil
      runs = runs + 1
      return wrk.format("POST", base .. "/" .. id .. "/run", with_auth(), bodies.run)
    end
  end
  local id = new_uuid()
  next_step[id] = 2
  creates = creates + 1
  return wrk.format("POST", base, with_auth(),
                    '{"templateId":"img-gen-diffusers","name":"bench","jobId":"' .. id .. '"}')
end

function response(status, headers, body)
  if status ~= 200 then
    errors = errors + 1
    return
  end
  if not token then
    local t = body:match('"token":"([^"]+)"')
    if t then token = t end
    return
  end
  local id = body:match('^{"job":{"id":"([0-9a-f-]+)"')
  if id then
    local step = next_step[id]
    if step then
      ready_tail = ready_tail + 1
      ready[ready_tail] = { id, step }
    end
  elseif body:sub(1, 10) == '{"ok":true' then
    completed = completed + 1 -- a run was acknowledged: one full cycle done
  end
end

function done(summary, latency, requests)
  local c, d, p, r, e, k = 0, 0, 0, 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("creates"); d = d + t:get("datasources"); p = p + t:get("params")
    r = r + t:get("runs"); e = e + t:get("errors"); k = k + t:get("completed")
  end
  local secs = summary.duration / 1e6
  io.write(string.format("cycle requests sent: create %d, datasource %d, params %d, run %d\n",
                         c, d, p, r))
  io.write(string.format("runs acknowledged: %d (%.0f jobs/s), non-200 answers: %d\n",
                         k, k / secs, e))
end
