-- wrk script of bench/unsubscribe.sh: every request goes to /u/TOKEN with
-- a token of its own, read from a file (one a line), each wrk thread
-- taking every THREADS-th token from its own offset (THREADS = wrk's
-- -t); METHOD is POST (the RFC 8058 one-click unsubscribe, a database
-- write) or GET (the confirmation page: the same route, signature check
-- and page rendering, no database). At the end it prints one line for the script:
-- RESULT requests=… seconds=… p50_ms=… p95_ms=… non2xx=… errors=… wrapped=…
--
--   wrk -t2 -c32 -d5s -s bench/unsubscribe.lua URL -- TOKENS_FILE POST 2

local threads = {}

function setup(thread)
    thread:set("id", #threads)
    table.insert(threads, thread)
end

function init(args)
    tokens = {}
    for line in io.lines(args[1]) do
        tokens[#tokens + 1] = line
    end
    method = args[2]
    step = 0
    nthreads = tonumber(args[3])
    if method == "POST" then
        headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
        body = "List-Unsubscribe=One-Click"
    end
end

function request()
    local i = id + step * nthreads
    step = step + 1
    if i >= #tokens then
        wrapped = 1
    end
    return wrk.format(method, "/u/" .. tokens[i % #tokens + 1], headers, body)
end

function done(summary, latency, requests)
    local wrapped = 0
    for _, t in ipairs(threads) do
        wrapped = math.max(wrapped, t:get("wrapped") or 0)
    end
    local e = summary.errors
    io.write(string.format(
        "RESULT requests=%d seconds=%.3f p50_ms=%.2f p95_ms=%.2f non2xx=%d errors=%d wrapped=%d\n",
        summary.requests, summary.duration / 1e6,
        latency:percentile(50) / 1000, latency:percentile(95) / 1000,
        e.status, e.connect + e.read + e.write + e.timeout, wrapped))
end
