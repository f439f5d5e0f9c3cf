-- The transactional outbox (Decommission.Outbox), in every service's own schema. Idempotent: applied at each start-up.
-- inbox_state: a consumed message, by message id and consumer; delivered once its outbox rows have reached the broker.
CREATE TABLE IF NOT EXISTS inbox_state (
    message_id   TEXT   NOT NULL,
    consumer_id  TEXT   NOT NULL,
    consumed_ms  BIGINT NOT NULL,
    delivered_ms BIGINT,
    PRIMARY KEY (message_id, consumer_id)
);
CREATE INDEX IF NOT EXISTS inbox_state_undelivered ON inbox_state (consumed_ms) WHERE delivered_ms IS NULL;
CREATE INDEX IF NOT EXISTS inbox_state_delivered ON inbox_state (delivered_ms) WHERE delivered_ms IS NOT NULL;

-- outbox_message: what consuming that message sends, serialised as MassTransit would put it on the wire.
CREATE TABLE IF NOT EXISTS outbox_message (
    sequence_number     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    inbox_message_id    TEXT   NOT NULL,
    inbox_consumer_id   TEXT   NOT NULL,
    message_id          TEXT   NOT NULL,
    conversation_id     TEXT,
    correlation_id      TEXT,
    initiator_id        TEXT,
    request_id          TEXT,
    source_address      TEXT,
    destination_address TEXT   NOT NULL,
    response_address    TEXT,
    fault_address       TEXT,
    sent_ms             BIGINT NOT NULL,
    expiration_ms       BIGINT,
    content_type        TEXT   NOT NULL,
    message_type        TEXT   NOT NULL,
    headers             TEXT,
    properties          TEXT,
    body                TEXT   NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_message_inbox ON outbox_message (inbox_message_id, inbox_consumer_id, sequence_number);
