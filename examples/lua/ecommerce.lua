-- The e-commerce worker's changes, cleaned up before any sink sees them:
--   pgcdc --lua examples/lua/ecommerce.lua --sink file:orders.jsonl --sink kafka://HOST:9092 ...
-- Each function is optional; docs/LUA.md describes the event table and the results.

-- The audit table's changes are of no use downstream: drop them.
function filter(e)
    return e.table ~= "audit_log"
end

-- A row of orders as consumers may see it (nil: a row the event does not have).
local function clean(row)
    if row == nil then
        return
    end
    -- Mask: keep the domain of an e-mail address only.
    if type(row.email) == "string" then
        row.email = "***" .. (row.email:match("@.*$") or "")
    end
    -- Remove: the card token never leaves the database.
    row.card_token = nil
    -- Change: statuses in capitals.
    if type(row.status) == "string" then
        row.status = row.status:upper()
    end
    -- Add: the amount in cents (numeric values come as exact strings).
    if type(row.amount) == "string" then
        row.amount_cents = math.floor(tonumber(row.amount) * 100 + 0.5)
    end
end

function transform(e)
    if e.table == "orders" then
        clean(e.new)
        clean(e.old)
    end
    return e
end

-- Orders to the first sink; everything else to the second, on a topic of its own.
function route(e)
    if e.table == "orders" then
        return 1
    end
    return {sink = 2, topic = "stock.${table}"}
end
