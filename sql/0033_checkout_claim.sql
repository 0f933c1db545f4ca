-- The checkout lane's claim on a pre-checkout query (src/fitclub/runtime/checkout.py): while
-- answering_until is ahead, one lane of one instance is answering the query, and no other
-- lane (another instance's, or a sweeper's) may take it. answering_token names the claim, so
-- the lane that took it may take it again (a statement retried) and nobody else can. A claim
-- left by a killed process lapses at answering_until. Both stay NULL for every other update.
ALTER TABLE inbox
    ADD COLUMN answering_until timestamptz,
    ADD COLUMN answering_token bigint;
