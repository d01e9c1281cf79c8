-- Tollgate forward auth for HAProxy 2.6+ (Debian's haproxy is built with Lua): an `http-request` action
-- that asks Tollgate about the request with HAProxy's own HTTP client, then lets it through with the
-- key's headers, or answers the client with Tollgate's status, body and headers.
--
-- Environment: TOLLGATE (host:port), TOLLGATE_GATEWAY_KEY (an admin key with keys:verify).
-- Usage:   http-request lua.tollgate-authorize "scopes=orders:read&cost=1"
-- See haproxy.cfg and docs/gateways.md.

local tollgate = os.getenv("TOLLGATE")
local gateway_key = os.getenv("TOLLGATE_GATEWAY_KEY")

-- The client's headers that carry its key, sent to Tollgate as the client sent them.
local KEY_HEADERS = { "x-api-key", "authorization", "origin" }
local KEY_ANSWER = { "x-tollgate-key-id", "x-tollgate-consumer-id", "x-tollgate-environment", "x-tollgate-scopes" }
local LIMIT_HEADERS = { "ratelimit", "ratelimit-policy", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset" }
local REFUSAL_HEADERS = { "x-request-id", "retry-after", "content-type",
  "ratelimit", "ratelimit-policy", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset" }

local function first(headers, name)
  local values = headers[name]
  if values == nil then return nil end
  if type(values) == "table" then return values[0] or values[1] end
  return values
end

core.register_action("tollgate-authorize", { "http-req" }, function(txn, query)
  local request = txn.http:req_get_headers()
  local headers = {
    ["x-tollgate-gateway-key"] = { gateway_key },
    ["x-original-method"] = { txn.sf:method() },
    ["x-original-uri"] = { txn.sf:pathq() },
    ["x-forwarded-for"] = { txn.sf:src() },
  }
  for _, name in ipairs(KEY_HEADERS) do
    local value = first(request, name)
    if value ~= nil then headers[name] = { value } end
  end

  local client = core.httpclient()
  local answer = client:get({
    url = "http://" .. tollgate .. "/v1/keys/authorize?" .. (query or ""),
    headers = headers,
    timeout = 5000,
  })

  if answer == nil or answer.status == nil or answer.status == 0 then
    -- Tollgate unreachable: fail closed.
    local reply = txn:reply({ status = 503, headers = { ["content-type"] = { "application/json; charset=utf-8" } },
      body = '{"error":"SERVICE_UNAVAILABLE","message":"The service is temporarily unavailable, please retry","statusCode":503}' })
    txn:done(reply)
    return
  end

  if answer.status == 200 then
    -- Who is calling, for the upstream; set here, so a client cannot send its own. The key stays here.
    for _, name in ipairs(KEY_ANSWER) do txn.http:req_set_header(name, first(answer.headers, name) or "") end
    txn.http:req_del_header("x-api-key")
    txn.http:req_del_header("authorization")
    -- The client's limits, added to the upstream's answer (haproxy.cfg's http-response lines).
    for _, name in ipairs(LIMIT_HEADERS) do
      local value = first(answer.headers, name)
      if value ~= nil then txn:set_var("txn.tollgate_" .. name:gsub("-", "_"), value) end
    end
    return
  end

  -- Refused: Tollgate's status, body and headers, as a direct call would get them.
  local out = {}
  for _, name in ipairs(REFUSAL_HEADERS) do
    local value = first(answer.headers, name)
    if value ~= nil then out[name] = { value } end
  end
  txn:done(txn:reply({ status = answer.status, headers = out, body = answer.body }))
end, 1)
