-- Batch exec for bench/run: the same trivial command over and over, in the box the
-- URL names; wrk counts every answer that is not 2xx.
wrk.method = "POST"
wrk.body = '{"argv":["true"]}'
wrk.headers["Content-Type"] = "application/json"
