-- The transaction that wrote each record: readers that must see every
-- record once, in commit order (subscriptions, the live tail), take only the
-- records of transactions older than any still running, by (tx_id, id).
ALTER TABLE audit_records ADD COLUMN tx_id xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX audit_records_tx ON audit_records (tx_id, id);

-- Records of one session, in time order.
CREATE INDEX audit_records_session ON audit_records (session_id, ts, id) WHERE session_id IS NOT NULL;

-- The append-only rule, now with tx_id among the columns no one may change.
CREATE OR REPLACE FUNCTION auditgraph_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('auditgraph.retention', true) = 'on' THEN
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.file_id IS NULL AND NEW.file_id IS NOT NULL
       AND (OLD.id, OLD.ts, OLD.minute, OLD.action, OLD.category, OLD.event_type, OLD.session_id, OLD.body, OLD.received_at, OLD.tx_id)
           IS NOT DISTINCT FROM
           (NEW.id, NEW.ts, NEW.minute, NEW.action, NEW.category, NEW.event_type, NEW.session_id, NEW.body, NEW.received_at, NEW.tx_id) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'auditgraph: audit_records is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

-- The action catalog, kept current by ingestion.
CREATE TABLE audit_actions (
    action     text NOT NULL,
    category   text NOT NULL,
    event_type text NOT NULL,
    count      bigint NOT NULL,
    first_seen timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL,
    PRIMARY KEY (action, category, event_type)
);
INSERT INTO audit_actions
    SELECT action, category, event_type, count(*), min(ts), max(ts) FROM audit_records GROUP BY 1, 2, 3;
CREATE INDEX audit_actions_category ON audit_actions (category, action);

-- Subscribers: HTTP endpoints that receive the records of chosen actions,
-- with their delivery state.
CREATE TABLE subscribers (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name              text NOT NULL UNIQUE,
    url               text NOT NULL,
    actions           text[] NOT NULL,
    secret            text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    paused            boolean NOT NULL DEFAULT false,
    failing_since     timestamptz,
    attempts          int NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz,
    last_error        text,
    last_error_at     timestamptz,
    last_delivered_at timestamptz,
    delivered_count   bigint NOT NULL DEFAULT 0,
    lease_owner       text,
    lease_until       timestamptz
);
CREATE INDEX subscribers_actions ON subscribers USING gin (actions);

-- The durable delivery queue: one row per record and subscriber, removed
-- once the subscriber has acknowledged it.
CREATE TABLE deliveries (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscriber_id bigint NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    record_id     bigint NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deliveries_queue ON deliveries (subscriber_id, id);

-- How far the dispatcher has fanned records out to the queue.
CREATE TABLE dispatch_cursor (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    tx_id     xid8 NOT NULL,
    record_id bigint NOT NULL
);
INSERT INTO dispatch_cursor (tx_id, record_id)
    SELECT COALESCE((SELECT tx_id FROM audit_records ORDER BY tx_id DESC, id DESC LIMIT 1), '0'::xid8),
           COALESCE((SELECT id FROM audit_records ORDER BY tx_id DESC, id DESC LIMIT 1), 0);
