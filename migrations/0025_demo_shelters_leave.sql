-- Demo shelters leave when real ones arrive: a database that imported an official file before the importer did
-- this itself still serves the demo set beside real shelters (a "[데모]" heat-wave shelter as the second answer).
-- From now on every official import does the same in its own transaction (api/evacuation/service.py).

UPDATE shelters SET active = false, updated_at = now()
WHERE source = 'demo' AND active
  AND EXISTS (SELECT 1 FROM shelters o WHERE o.source <> 'demo' AND o.active);
