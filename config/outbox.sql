-- The Herald outbox: created and written by the producer, only ever read by
-- Herald. One row per lifecycle event; rows are append-only.
CREATE TABLE IF NOT EXISTS herald_outbox (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  entity      TEXT NOT NULL,              -- identity, device, request, policy, ...
  action      TEXT NOT NULL,              -- CREATE, UPDATE, DELETE, ENABLE, DISABLE, ...
  name        TEXT NULL,                  -- lifecycle event name, e.g. 'REST Person Added'
  keys        TEXT NOT NULL DEFAULT '{}', -- JSON object: {"PersonID": "...", "DeviceID": "..."}
  old_values  TEXT NULL,                  -- JSON object or NULL; extended attributes under "eav"
  new_values  TEXT NULL,                  -- JSON object or NULL; extended attributes under "eav"
  occurred_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))  -- ISO-8601
);
