-- The md5 scenario's client form for nginx: POST the data to the md5 backend over a cosocket with a
-- keepalive pool of 20 (what lua-resty-http's request_uri does; it is not packaged in Debian).
-- Used by upstream.sh: content_by_lua_block { require("md5_cosocket").handle(PORT) }
local _M = {}

local function fail(sock, what, err)
  ngx.log(ngx.ERR, "md5 backend ", what, ": ", err)
  if sock then sock:close() end
  return ngx.exit(502)
end

-- the response body, by Content-Length or chunked (ngx.print without a length answers chunked)
local function read_body(sock, len, chunked)
  if len then return sock:receive(len) end
  if not chunked then return nil, "neither Content-Length nor chunked" end
  local parts = {}
  while true do
    local line, err = sock:receive("*l")
    if not line then return nil, err end
    local size = tonumber(line:match("^%x+"), 16)
    if not size then return nil, "bad chunk size" end
    if size == 0 then
      repeat line, err = sock:receive("*l") until line == "" or not line  -- trailers
      if not line then return nil, err end
      return table.concat(parts)
    end
    local data
    data, err = sock:receive(size)
    if not data then return nil, err end
    parts[#parts + 1] = data
    line, err = sock:receive(2)
    if not line then return nil, err end
  end
end

-- (the location says lua_need_request_body on, as sluice's example says needRequestBody)
function _M.handle(port)
  local args = ngx.req.get_uri_args()
  local data = args.data or ""

  local sock = ngx.socket.tcp()
  sock:settimeouts(60000, 60000, 60000)
  local ok, err = sock:connect("127.0.0.1", port)
  if not ok then return fail(nil, "connect", err) end

  ok, err = sock:send({ "POST / HTTP/1.1\r\nHost: 127.0.0.1:", port, "\r\nContent-Length: ", #data, "\r\n\r\n", data })
  if not ok then return fail(sock, "send", err) end

  local line
  line, err = sock:receive("*l")
  if not line then return fail(sock, "status line", err) end
  if not line:match("^HTTP/1%.%d 200 ") then return fail(sock, "status", line) end

  local len, chunked, close
  while true do
    line, err = sock:receive("*l")
    if not line then return fail(sock, "header", err) end
    if line == "" then break end
    local name, value = line:match("^([^:]+):%s*(.-)%s*$")
    if name then
      name = name:lower()
      if name == "content-length" then len = tonumber(value)
      elseif name == "transfer-encoding" then chunked = value:lower() == "chunked"
      elseif name == "connection" then close = value:lower() == "close"
      end
    end
  end

  local body
  body, err = read_body(sock, len, chunked)
  if not body then return fail(sock, "body", err) end
  if close then sock:close() else sock:setkeepalive(60000, 20) end

  if args.key == body then ngx.say("valid request") else ngx.say("invalid request") end
end

return _M
