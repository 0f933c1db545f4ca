-- A member may withdraw their own open request for a plan: the request closes as 'withdrawn'
-- (told apart from an admin's 'dismissed', which the member sees as declined). Nothing else
-- changes; open requests stay open.
ALTER TABLE plan_requests DROP CONSTRAINT plan_requests_status_check;
ALTER TABLE plan_requests ADD CONSTRAINT plan_requests_status_check
    CHECK (status IN ('open', 'granted', 'dismissed', 'withdrawn'));
