-- Payments (issue 18): members buy and renew a plan in the chat with Telegram Payments.
--
-- An order is what an invoice asks to be paid: the member's, for one plan, priced from the
-- plan when it was opened, in the club's currency. Its payload (the invoice's `payload`,
-- "o<id>.<nonce>.<hmac>") is signed with a key derived from CARD_SECRET, so it cannot be forged,
-- and is unique. An order is open, prechecked (Telegram's pre-checkout said ok), paid, refunded
-- or expired (ORDER_TTL_HOURS after it was opened, by the order_expiry job).
--
-- A payment is what Telegram said was paid (successful_payment), recorded once per
-- telegram_payment_charge_id whatever became of it: granted (the membership was granted or
-- extended), needs_refund (it could not be honoured: `problem` says why) or refunded (an admin
-- marked it refunded at the provider). Orders and payments keep only the internal member id and
-- figures: no name, phone or Telegram id, so an erasure leaves them as they are (the club's
-- books), and retention never deletes them.

CREATE TABLE orders (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id     bigint NOT NULL REFERENCES members ON DELETE RESTRICT,
    -- NULL once the plan was deleted (a plan never sold may be): a payment for it then needs
    -- a refund.
    plan_id       bigint REFERENCES membership_plans ON DELETE SET NULL,
    kind          text NOT NULL,
    amount_minor  bigint NOT NULL,
    currency      text NOT NULL,
    payload       text NOT NULL CONSTRAINT orders_payload_key UNIQUE,
    status        text NOT NULL DEFAULT 'open',
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    prechecked_at timestamptz,
    paid_at       timestamptz,
    closed_at     timestamptz,
    CONSTRAINT orders_kind_check CHECK (kind IN ('buy', 'renew')),
    CONSTRAINT orders_amount_minor_check CHECK (amount_minor > 0),
    CONSTRAINT orders_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT orders_payload_check CHECK (octet_length(payload) BETWEEN 1 AND 128),
    CONSTRAINT orders_status_check
        CHECK (status IN ('open', 'prechecked', 'paid', 'refunded', 'expired')),
    CONSTRAINT orders_expires_check CHECK (expires_at > created_at)
);

-- A member's orders by state (the open one for a plan is reused).
CREATE INDEX orders_member_status_idx ON orders (member_id, status);
-- Open orders by when they expire (the expiry job).
CREATE INDEX orders_open_expires_idx ON orders (expires_at)
    WHERE status IN ('open', 'prechecked');
-- Plans an order points at (a plan is deleted only when nothing points at it).
CREATE INDEX orders_plan_idx ON orders (plan_id);

CREATE TABLE payments (
    id                          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id                    bigint REFERENCES orders ON DELETE RESTRICT,
    member_id                   bigint REFERENCES members ON DELETE RESTRICT,
    plan_id                     bigint REFERENCES membership_plans ON DELETE SET NULL,
    amount_minor                bigint NOT NULL,
    currency                    text NOT NULL,
    telegram_payment_charge_id  text NOT NULL
        CONSTRAINT payments_telegram_payment_charge_id_key UNIQUE,
    provider_payment_charge_id  text,
    paid_at                     timestamptz NOT NULL,
    membership_id               bigint REFERENCES memberships ON DELETE SET NULL,
    status                      text NOT NULL,
    problem                     text,
    -- What the payment did to membership_id: a new one (granted) or days and visits added to
    -- a current one (extended), with what it had before; a refund undoes exactly that.
    effect                      text,
    days_added                  integer,
    visits_added                integer,
    ends_on_before              date,
    visits_before               integer,
    refunded_at                 timestamptz,
    refunded_by                 bigint REFERENCES members ON DELETE SET NULL,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT payments_amount_minor_check CHECK (amount_minor >= 0),
    CONSTRAINT payments_status_check CHECK (status IN ('granted', 'needs_refund', 'refunded')),
    CONSTRAINT payments_problem_check CHECK (problem IN (
        'plan_gone', 'member_gone', 'order_expired', 'order_paid', 'amount_mismatch',
        'unknown_order')),
    CONSTRAINT payments_granted_check CHECK (status <> 'granted' OR problem IS NULL),
    CONSTRAINT payments_needs_refund_check CHECK (status <> 'needs_refund' OR problem IS NOT NULL),
    CONSTRAINT payments_effect_check CHECK (effect IN ('granted', 'extended')),
    CONSTRAINT payments_refunded_check CHECK ((status = 'refunded') = (refunded_at IS NOT NULL))
);

CREATE INDEX payments_paid_at_idx ON payments (paid_at);
CREATE INDEX payments_member_idx ON payments (member_id, paid_at);
CREATE INDEX payments_order_idx ON payments (order_id);
CREATE INDEX payments_needs_refund_idx ON payments (paid_at) WHERE status = 'needs_refund';
CREATE INDEX payments_membership_idx ON payments (membership_id);
CREATE INDEX payments_plan_idx ON payments (plan_id);
