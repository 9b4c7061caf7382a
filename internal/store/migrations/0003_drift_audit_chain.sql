-- 0003_drift_audit_chain: the drift history of hardware tokens and the audit chain.
--
-- drift_history keeps one row each time a hardware token's learned drift changes (and one at
-- activation), written in the transaction of the verification or activation that learned it
-- (internal/store/auth.go), so `mfactl report drift` can tell a token whose clock runs away
-- before it stops working. Rows go with their token.
CREATE TABLE drift_history (
    id       INTEGER PRIMARY KEY,
    token_id INTEGER NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    time     INTEGER NOT NULL,                         -- unix seconds UTC
    step     INTEGER NOT NULL,                         -- the time step of the code accepted
    drift    INTEGER NOT NULL                          -- the learned drift, in time steps
);
CREATE INDEX drift_history_token ON drift_history (token_id, id);

-- mac seals each audit row to the one before it: HMAC-SHA256 under the audit-chain subkey of
-- the master key over the row's content and the previous row's mac (internal/store/auditchain.go).
-- NULL: not chained yet (rows from before this migration, or written without the key); the
-- next writable open with the key chains them in id order.
ALTER TABLE audit_events ADD COLUMN mac BLOB;
