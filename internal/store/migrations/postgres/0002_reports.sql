-- 0002_reports (PostgreSQL): the covering indexes of ../0002_reports.sql, word for word
-- (see there for why each exists).

CREATE INDEX auth_events_day_result ON auth_events ((time / 86400), result, time);
-- The user and mode indexes also hold the result code: the denial reasons of one user or mode
-- (report usage --user/--mode, whose table ends with them) then come from them alone, and
-- SQLite, which has no statistics to tell that a UPN is rarer than a result, prefers them to
-- the result-code index because they match both equality conditions.
CREATE INDEX auth_events_upn_result ON auth_events (upn, result, result_code, time);
CREATE INDEX auth_events_mode_result ON auth_events (mode, result, result_code, time);
-- Denial reasons: the denied events by result code, and --by result.
CREATE INDEX auth_events_result_code ON auth_events (result, result_code, time);

-- Token inventory per manufacturer, model and status, with the owner for the unassigned count,
-- read from the index instead of the token rows (which carry the encrypted secrets).
CREATE INDEX tokens_inventory ON tokens (manufacturer, model, status, user_id);
