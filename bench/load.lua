-- wrk script for bench/ingest.py: one script for the three endpoints.
--
--   wrk -t2 -c8 -d22s --timeout 5s --latency -s bench/load.lua URL -- MODE SECONDS TAG [ARGS]
--
--   MODE get   GET the URL (the bare baseline); success = 200
--   MODE api   POST JSON feedback, ARGS = API key; success = 201
--   MODE form  POST the public form, ARGS = csrftoken cookie, csrfmiddlewaretoken,
--              Referer; success = 302 to /feedback/thanks/
--   MODE survey_api   POST a survey response as JSON (bench/survey_responses.py),
--                     ARGS = API key; success = 201
--   MODE survey_form  POST the public survey form, ARGS = csrftoken cookie,
--                     csrfmiddlewaretoken, Referer; success = 302 to .../thanks/
--
-- Exact accounting. wrk stops at -d wherever its requests are, so a request cut off at
-- the end may be stored by the server without its answer being counted. To avoid that,
-- each thread sends new requests for SECONDS only (its delay() hook then parks the
-- connections), and wrk is run a little longer than SECONDS so every request already
-- sent is answered. Every thread counts its request() calls (minus wrk's one
-- verification call, which is never sent), the responses it received by status, and
-- the successes; done() sums them and prints one JSON line "BENCH_JSON {...}". With no
-- socket error and nothing cut off, the number of stored rows must equal the successes
-- exactly. (request() calls can exceed responses by a few without any loss: wrk builds
-- a new request when a write on a fresh socket could not start, and drops the old one.)
--
-- Latency comes from wrk's own histogram (only real requests are in it). The rate is
-- successes / (last response - first request) on the monotonic clock, not wrk's
-- "Requests/sec", which divides by -d including the idle tail.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } fl_bench_timespec;
int clock_gettime(int clk_id, fl_bench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("fl_bench_timespec")

local function now()
    ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
    return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
end

local function urlencode(s)
    return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- ---- main state: one per wrk process ------------------------------------------------
local threads = {}

function setup(thread)
    table.insert(threads, thread)
    thread:set("thread_id", #threads)
end

-- ---- thread states ------------------------------------------------------------------
thread_id = 0
mode = "get"
tag = "bench"
seconds = 0
sent = 0
answered = 0
ok = 0
statuses = {}
first_t = 0
last_t = 0
stop_at = nil
running = false
-- Paced runs (bench/ingest.py --hold): this thread's requests per second; 0 = as fast as
-- the server answers. Read from FL_BENCH_THREAD_RATE.
thread_rate = 0
pace_t0 = nil

local headers = {}
local api_key, csrf_cookie, csrf_token, referer

local words = {
    "great", "slow", "checkout", "love", "the", "new", "dashboard", "support", "was",
    "helpful", "but", "app", "crashes", "when", "I", "upload", "a", "photo", "pricing",
    "is", "confusing", "fast", "delivery", "terrible", "search", "works", "well", "thanks",
    "please", "add", "dark", "mode", "export", "broken", "again", "happy", "customer",
}

local function feedback_text(n)
    local parts = { tag .. "-t" .. thread_id .. "-n" .. n }
    local count = 6 + (n * 7 + thread_id) % 24
    for i = 1, count do
        parts[#parts + 1] = words[math.random(#words)]
    end
    return table.concat(parts, " ")
end

function init(args)
    mode = args[1] or "get"
    seconds = tonumber(args[2] or "10")
    tag = args[3] or "bench"
    math.randomseed(1000 + thread_id)
    thread_rate = tonumber(os.getenv("FL_BENCH_THREAD_RATE") or "0") or 0
    if mode == "api" or mode == "survey_api" then
        api_key = args[4]
        headers = {
            ["Authorization"] = "Bearer " .. api_key,
            ["Content-Type"] = "application/json",
            ["Accept"] = "application/json",
        }
    elseif mode == "form" or mode == "survey_form" then
        csrf_cookie, csrf_token, referer = args[4], args[5], args[6]
        headers = {
            ["Content-Type"] = "application/x-www-form-urlencoded",
            ["Cookie"] = "csrftoken=" .. csrf_cookie,
            ["Referer"] = referer,
        }
    elseif mode ~= "get" then
        error("unknown mode " .. tostring(mode))
    end
end

local function build(n)
    if mode == "api" then
        local body = string.format(
            '{"text": "%s", "channel": "api", "rating": %d, "rating_min": 1, "rating_max": 5}',
            feedback_text(n), n % 5 + 1)
        return wrk.format("POST", nil, headers, body)
    elseif mode == "form" then
        local body = "csrfmiddlewaretoken=" .. urlencode(csrf_token)
            .. "&text=" .. urlencode(feedback_text(n))
            .. "&rating=" .. (n % 5 + 1)
            .. "&consent=on"
        return wrk.format("POST", nil, headers, body)
    elseif mode == "survey_api" then
        -- nps 0..10; "fix" is shown (and answered) only when nps <= 6.
        local nps = n % 11
        local fix = ""
        if nps <= 6 then fix = ', "fix": "faster checkout"' end
        local body = string.format(
            '{"answers": {"nps": %d, "csat": %d, "why": "%s"%s}}',
            nps, n % 5 + 1, feedback_text(n), fix)
        return wrk.format("POST", nil, headers, body)
    elseif mode == "survey_form" then
        local nps = n % 11
        local body = "csrfmiddlewaretoken=" .. urlencode(csrf_token)
            .. "&q_nps=" .. nps
            .. "&q_csat=" .. (n % 5 + 1)
            .. "&q_why=" .. urlencode(feedback_text(n))
        if nps <= 6 then body = body .. "&q_fix=faster+checkout" end
        return wrk.format("POST", nil, headers, body)
    end
    return wrk.format("GET", nil, headers, nil)
end

-- Called before every request of every connection (also after reconnects).
function delay()
    local t = now()
    if stop_at == nil then
        stop_at = t + seconds
        running = true
    end
    if t >= stop_at then
        return 3600000 -- park the connection: no new request after SECONDS
    end
    if thread_rate > 0 then
        -- Open-loop pacing: the next request of this thread is due at t0 + sent / rate.
        if pace_t0 == nil then pace_t0 = t end
        local due = pace_t0 + sent / thread_rate
        if due > t then return math.floor((due - t) * 1000) end
    end
    return 0
end

function request()
    if not running then
        -- wrk calls request() once on the first thread to check it; that one is not sent.
        return build(0)
    end
    sent = sent + 1
    if first_t == 0 then
        first_t = now()
    end
    return build(sent)
end

function response(status, hdrs, body)
    answered = answered + 1
    statuses[status] = (statuses[status] or 0) + 1
    if mode == "get" then
        if status == 200 then ok = ok + 1 end
    elseif mode == "api" or mode == "survey_api" then
        if status == 201 then ok = ok + 1 end
    elseif mode == "survey_form" then
        local location = hdrs["Location"] or hdrs["location"] or ""
        if status == 302 and location:find("/thanks/", 1, true) then ok = ok + 1 end
    else
        local location = hdrs["Location"] or hdrs["location"] or ""
        if status == 302 and location:find("/feedback/thanks/", 1, true) then ok = ok + 1 end
    end
    last_t = now()
end

-- ---- main state again, after all threads ended -------------------------------------
local function json_value(v)
    if type(v) == "table" then
        local items = {}
        for k, val in pairs(v) do
            items[#items + 1] = string.format('"%s": %s', tostring(k), json_value(val))
        end
        return "{" .. table.concat(items, ", ") .. "}"
    elseif type(v) == "string" then
        return '"' .. v:gsub('[%c"\\]', "") .. '"'
    elseif type(v) == "number" then
        return string.format("%.6f", v)
    elseif v == nil then
        return "null"
    end
    return tostring(v)
end

function done(summary, latency, requests)
    local total = { sent = 0, answered = 0, ok = 0 }
    local by_status = {}
    local first, last = nil, nil
    local per_thread = {}
    for _, thread in ipairs(threads) do
        local t_sent, t_answered, t_ok = thread:get("sent"), thread:get("answered"), thread:get("ok")
        total.sent = total.sent + t_sent
        total.answered = total.answered + t_answered
        total.ok = total.ok + t_ok
        for code, count in pairs(thread:get("statuses")) do
            by_status[tostring(code)] = (by_status[tostring(code)] or 0) + count
        end
        local f, l = thread:get("first_t"), thread:get("last_t")
        if f > 0 and (first == nil or f < first) then first = f end
        if l > 0 and (last == nil or l > last) then last = l end
        per_thread[#per_thread + 1] = { sent = t_sent, answered = t_answered, ok = t_ok }
    end
    local window = (first and last) and (last - first) or 0
    local result = {
        sent = total.sent,
        answered = total.answered,
        ok = total.ok,
        statuses = by_status,
        window_s = window,
        ok_per_s = window > 0 and total.ok / window or 0,
        answered_per_s = window > 0 and total.answered / window or 0,
        wrk_requests = summary.requests,
        wrk_duration_s = summary.duration / 1e6,
        errors = {
            connect = summary.errors.connect,
            read = summary.errors.read,
            write = summary.errors.write,
            status = summary.errors.status,
            timeout = summary.errors.timeout,
        },
        latency_ms = {
            min = latency.min / 1000,
            mean = latency.mean / 1000,
            max = latency.max / 1000,
            p50 = latency:percentile(50) / 1000,
            p90 = latency:percentile(90) / 1000,
            p99 = latency:percentile(99) / 1000,
        },
        threads = per_thread,
    }
    io.write("BENCH_JSON ", json_value(result), "\n")
end
