-- The console's state store (SQLite, in WAL mode): sessions, sign-in attempts, and the assurers' decisions,
-- written by many servers and commands at once. Opened only by bcf.national.state; parameters are $named.

-- query: schema
CREATE TABLE IF NOT EXISTS meta (              -- the store's own settings: its secret, what has been migrated into it
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (          -- one row per signed-in browser; the cookie holds the id, this its hash
    id_hash TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    stamp TEXT NOT NULL,                       -- the account as it was at sign-in: a removed or changed account ends it
    csrf TEXT NOT NULL,                        -- the token every form of the session carries
    started REAL NOT NULL,
    seen REAL NOT NULL,
    flash TEXT                                 -- a message for the next page
);
CREATE INDEX IF NOT EXISTS sessions_by_account ON sessions (account);
CREATE TABLE IF NOT EXISTS attempts (          -- sign-in attempts, by account and by client address
    key TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_by_key ON attempts (key, at);
CREATE TABLE IF NOT EXISTS decisions (         -- assurers' decisions on explanations: appended, never changed
    decision_id INTEGER PRIMARY KEY,
    round TEXT NOT NULL,
    plan_code TEXT NOT NULL,
    submission_id INTEGER NOT NULL,            -- the submission the decision was made on
    rule_id TEXT NOT NULL,
    location TEXT NOT NULL,
    fingerprint TEXT NOT NULL,                 -- the finding it was made on (rule, place, found, expected)
    decision TEXT NOT NULL CHECK (decision IN ('accepted', 'rejected')),
    reason TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    prev_hash TEXT NOT NULL UNIQUE,            -- the hash of the decision before it: the log is a chain
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS current_plans (     -- each plan's current submission, as the national store last had it:
    round TEXT NOT NULL,                       -- written by whatever stores a file there (bcf batch), so that a
    plan_code TEXT NOT NULL,                   -- decision made on a page shown before a resubmission is refused
    submission_id INTEGER NOT NULL,            -- in the transaction that would record it
    PRIMARY KEY (round, plan_code)
);

-- query: meta
SELECT value FROM meta WHERE key = $key;

-- query: meta_set
INSERT INTO meta (key, value) VALUES ($key, $value) ON CONFLICT (key) DO UPDATE SET value = excluded.value;

-- query: meta_first
INSERT INTO meta (key, value) VALUES ($key, $value) ON CONFLICT (key) DO NOTHING;

-- query: session
SELECT account, stamp, csrf, started, seen, flash FROM sessions WHERE id_hash = $id_hash;

-- query: session_start
INSERT INTO sessions (id_hash, account, stamp, csrf, started, seen) VALUES ($id_hash, $account, $stamp, $csrf, $now, $now);

-- query: session_seen
UPDATE sessions SET seen = $now WHERE id_hash = $id_hash;

-- query: session_flash
UPDATE sessions SET flash = $flash WHERE id_hash = $id_hash;

-- query: session_end
DELETE FROM sessions WHERE id_hash = $id_hash;

-- query: sessions_end_account
DELETE FROM sessions WHERE account = $account;

-- query: sessions_expire
DELETE FROM sessions WHERE seen < $idle_since OR started < $started_since;

-- query: attempts_forget
DELETE FROM attempts WHERE at < $since;

-- query: attempts
SELECT count(*) FROM attempts WHERE key = $key;

-- query: attempt
INSERT INTO attempts (key, at) VALUES ($key, $at);

-- query: attempt_refund
DELETE FROM attempts WHERE rowid = (SELECT rowid FROM attempts WHERE key = $key AND at = $at LIMIT 1);

-- query: decision_last
SELECT decision_id, hash FROM decisions ORDER BY decision_id DESC LIMIT 1;

-- query: decision_add
INSERT INTO decisions (decision_id, round, plan_code, submission_id, rule_id, location, fingerprint, decision, reason,
                       decided_by, decided_at, prev_hash, hash)
VALUES ($decision_id, $round, $plan_code, $submission_id, $rule_id, $location, $fingerprint, $decision, $reason,
        $decided_by, $decided_at, $prev_hash, $hash);

-- query: decisions
SELECT decision_id, round, plan_code, submission_id, rule_id, location, fingerprint, decision, reason, decided_by,
       decided_at, prev_hash, hash
FROM decisions ORDER BY decision_id;

-- query: decision_latest
-- the decision in force on one finding's place (as the national store's latest_decisions orders them), if any
SELECT decision_id, decision, decided_by, decided_at FROM decisions
WHERE round = $round AND plan_code = $plan_code AND rule_id = $rule_id AND location = $location
ORDER BY decided_at DESC, decision_id DESC LIMIT 1;

-- query: current_plan
SELECT submission_id FROM current_plans WHERE round = $round AND plan_code = $plan_code;

-- query: current_plan_set
INSERT INTO current_plans (round, plan_code, submission_id) VALUES ($round, $plan_code, $submission_id)
ON CONFLICT (round, plan_code) DO UPDATE SET submission_id = excluded.submission_id;

-- query: current_plans_any
SELECT 1 FROM current_plans LIMIT 1;
