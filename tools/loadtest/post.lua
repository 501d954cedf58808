-- wrk script: POST a ~300-byte JSON body with sdproxy's headers.
-- KEY and FIELDS come from the environment; FIELDS empty = pass-through.
wrk.method = "POST"
wrk.body = '{"userId":1,"id":1,"title":"sunt aut facere repellat provident occaecati excepturi optio","body":"quia et suscipit suscipit recusandae consequuntur expedita et cum reprehenderit molestiae ut ut quas totam nostrum rerum est autem sunt rem eveniet architecto","tags":["a","b"],"ok":true}'
wrk.headers["Content-Type"] = "application/json"
local key = os.getenv("KEY")
if key and key ~= "" then wrk.headers["X-Qanapi-Authorization"] = key end
local fields = os.getenv("FIELDS")
if fields and fields ~= "" then wrk.headers["X-Qanapi-Fields"] = fields end
