-- get_job.lua: wrk script hammering GET /v1/<customer-path>/jobs/{id} of one existing job.
-- The emulator's cheapest authenticated read: measures TLS + HTTP + token check + JSON.
-- Environment: BYTENITE_TOKEN (access token), JOB_ID (an existing job),
--              CUSTOMER_PATH (default "customer").
-- Example: BYTENITE_TOKEN=... JOB_ID=... wrk -t2 -c64 -d10s --latency \
--            -s bench/wrk/get_job.lua https://127.0.0.1:PORT

local token = os.getenv("BYTENITE_TOKEN")
local job_id = os.getenv("JOB_ID")
local customer = os.getenv("CUSTOMER_PATH") or "customer"

if not token or not job_id then
  io.stderr:write("get_job.lua: set BYTENITE_TOKEN and JOB_ID\n")
  os.exit(2)
end

wrk.method = "GET"
wrk.path = "/v1/" .. customer .. "/jobs/" .. job_id
wrk.headers["Authorization"] = token
