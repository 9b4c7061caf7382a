-- 0002_reports: covering indexes for `mfactl report` (internal/store/reports.go).
--
-- The grouped usage report counts auth events per (group, result) with GROUP BY. Each index
-- below starts with the group key, then the result, then the time: SQLite reads the groups in
-- index order (no sort of millions of rows), counts them without touching the table (the
-- index covers the query) and checks --since/--until inside the index. On ten million events
-- that is the difference between about a minute and a few seconds (see
-- internal/report/bench.md). The 0001 indexes stay: the time index serves listings in time
-- order and (upn, time) the per-user lookups of verification.
--
-- The day index is on the expression time / 86400 (UTC day); reports.go repeats it word for
-- word so that SQLite matches it. PostgreSQL accepts the same statement (an expression in
-- parentheses) and the same queries.

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
