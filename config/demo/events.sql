-- Lifecycle events the demo producer has written to its outbox: at least one
-- for each of the twelve standard notifications (keys as the comment at the
-- top of each mappings/*.xml lists them), a policy change matched by entity
-- and action, and an event that no notification listens to (id 9).
INSERT INTO herald_outbox (entity, action, name, keys, old_values, new_values) VALUES
  ('identity', 'CREATE', 'REST Person Added', '{"PersonID": 3}', NULL,
   '{"firstName": "Zoë", "lastName": "Achterberg"}'),
  ('device', 'CREATE', 'REST Device Issued', '{"DeviceID": 1, "PersonID": 1}', NULL, '{"status": "Active"}'),
  ('device', 'DISABLE', 'DisableCard', '{"DeviceID": 2, "PersonID": 2}', '{"enabled": true}', '{"enabled": false}'),
  ('device', 'ENABLE', 'EnableCard', '{"DeviceID": 1, "PersonID": 1}', '{"enabled": false}', '{"enabled": true}'),
  ('identity', 'UPDATE', 'REST Person Edited', '{"PersonID": 3}',
   '{"email": "zoe@old.example.com", "eav": {"badgeColour": "blue"}}',
   '{"email": "zoe.achterberg@example.com", "eav": {"badgeColour": "green"}}'),
  ('identity', 'DISABLE', 'REST Person Disabled', '{"PersonID": 4}', '{"enabled": true}', '{"enabled": false}'),
  ('request', 'CREATE', 'REST Request Added', '{"JobID": 1001, "PersonID": 3}', NULL, '{"status": "Awaiting Issue"}'),
  ('policy', 'UPDATE', NULL, '{"PolicyID": "door-access-7"}', '{"version": 6}',
   '{"version": 7, "policy": "Door access, building 7", "user": "admin"}'),
  ('identity', 'UPDATE', NULL, '{"PersonID": 2}', '{"phone": "1"}', '{"phone": "2"}'),
  ('device', 'CANCEL', 'REST Device Cancelled', '{"DeviceID": 4, "PersonID": 4}', '{"status": "Active"}',
   '{"status": "Cancelled"}'),
  ('device', 'UPDATE', 'REST Device Reassigned', '{"DeviceID": 3, "PreviousPersonID": 2}', '{"owner": 2}',
   '{"owner": 3}'),
  ('identity', 'DELETE', 'REST Person Deleted', '{"PersonID": 5}', '{"deleted": false}', '{"deleted": true}'),
  ('identity', 'ENABLE', 'REST Person Enabled', '{"PersonID": 1}', '{"enabled": false}', '{"enabled": true}'),
  ('request', 'UPDATE', 'REST Request Updated', '{"JobID": 1002}', '{"status": "In Progress"}',
   '{"status": "Completed"}');
