-- Issue 12 §9: attribution starts from the members who touched a campaign (clicked, responded
-- or converted), a small part of all members, and reads each one's paid orders by customer;
-- orders linked to a campaign are read by campaign. The first index holds the touching members
-- only; the orders' customer and campaign indexes gain the status and payment time, so that a
-- period is searched within one customer's or one campaign's orders (rather than a walk of the
-- period's orders for each).
CREATE INDEX campaign_members_touch_idx ON campaign_members (person_id, campaign_id)
    WHERE COALESCE(clicked_at, responded_at, converted_at) IS NOT NULL;
DROP INDEX orders_customer_idx;
CREATE INDEX orders_customer_idx ON orders (customer_id, status, paid_at);
DROP INDEX orders_campaign_idx;
CREATE INDEX orders_campaign_idx ON orders (campaign_id, status, paid_at);
