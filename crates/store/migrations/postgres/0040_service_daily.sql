-- Issue 11, the service reports at 500,000 tickets (bench/service.sh): the trend grouped every
-- ticket by a computed week, CSAT and NPS joined every survey to its ticket, the reopen rate
-- probed each resolved ticket's history, and the times report counted its durations over the
-- whole index before each percentile. They now read a daily summary instead, kept by the
-- triggers below in the writing transaction (so every write path, bulk imports and the demo
-- included, keeps it exact at each commit): per day and kind (tickets created, tickets
-- resolved, surveys answered), team, owner, credited agent, priority and category, the counts
-- the reports add up. A ticket's company is not a key (thousands of companies): a company
-- filter reads the tickets through their company index instead. Unowned and unteamed rows key
-- as 0, no category as '' (a unique key has no NULLs). Deleted tickets count nowhere.

-- Whether the ticket was ever reopened (a history row entering `reopened`, moved in by a merge
-- included), kept by the triggers on the history below.
ALTER TABLE tickets ADD COLUMN reopened BIGINT NOT NULL DEFAULT 0;
UPDATE tickets SET reopened = 1 WHERE id IN (SELECT ticket_id FROM ticket_status_changes WHERE to_status = 'reopened');

-- The Monday of a YYYY-MM-DD day.
CREATE FUNCTION service_week(day TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(CAST(day AS date) - (CAST(EXTRACT(ISODOW FROM CAST(day AS date)) AS INTEGER) - 1), 'YYYY-MM-DD')
$$;

CREATE TABLE service_daily (
    kind TEXT NOT NULL, -- created (at created_at), resolved (at resolved_at), answered (a survey, at answered_at)
    day TEXT NOT NULL, -- YYYY-MM-DD (UTC)
    week TEXT NOT NULL, -- the day's Monday
    team_id BIGINT NOT NULL,
    owner_id BIGINT NOT NULL,
    agent_id BIGINT NOT NULL, -- answered: the credited agent; else 0
    priority TEXT NOT NULL,
    category TEXT NOT NULL,
    n BIGINT NOT NULL,
    reopened BIGINT NOT NULL, -- resolved: of them, ever reopened
    fr_n BIGINT NOT NULL, -- created: with a first-response time
    res_n BIGINT NOT NULL, -- created: with a resolution time
    csat_total BIGINT NOT NULL, -- answered: the sum of the ratings
    c1 BIGINT NOT NULL, c2 BIGINT NOT NULL, c3 BIGINT NOT NULL, c4 BIGINT NOT NULL, c5 BIGINT NOT NULL,
    promoters BIGINT NOT NULL, passives BIGINT NOT NULL, detractors BIGINT NOT NULL,
    PRIMARY KEY (kind, day, team_id, owner_id, agent_id, priority, category)
);

INSERT INTO service_daily (kind, day, week, team_id, owner_id, agent_id, priority, category, n, reopened, fr_n, res_n, csat_total, c1, c2, c3, c4, c5, promoters, passives, detractors)
SELECT 'created', substr(created_at, 1, 10), service_week(substr(created_at, 1, 10)), COALESCE(team_id, 0), COALESCE(owner_id, 0), 0,
    priority, COALESCE(category, ''), COUNT(*), 0, SUM(CASE WHEN first_response_secs >= 0 THEN 1 ELSE 0 END),
    SUM(CASE WHEN resolution_secs >= 0 THEN 1 ELSE 0 END), 0, 0, 0, 0, 0, 0, 0, 0, 0
FROM tickets WHERE deleted_at IS NULL
GROUP BY substr(created_at, 1, 10), COALESCE(team_id, 0), COALESCE(owner_id, 0), priority, COALESCE(category, '');
INSERT INTO service_daily (kind, day, week, team_id, owner_id, agent_id, priority, category, n, reopened, fr_n, res_n, csat_total, c1, c2, c3, c4, c5, promoters, passives, detractors)
SELECT 'resolved', substr(resolved_at, 1, 10), service_week(substr(resolved_at, 1, 10)), COALESCE(team_id, 0), COALESCE(owner_id, 0), 0,
    priority, COALESCE(category, ''), COUNT(*), CAST(SUM(reopened) AS BIGINT), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
FROM tickets WHERE deleted_at IS NULL AND resolved_at IS NOT NULL
GROUP BY substr(resolved_at, 1, 10), COALESCE(team_id, 0), COALESCE(owner_id, 0), priority, COALESCE(category, '');
INSERT INTO service_daily (kind, day, week, team_id, owner_id, agent_id, priority, category, n, reopened, fr_n, res_n, csat_total, c1, c2, c3, c4, c5, promoters, passives, detractors)
SELECT 'answered', substr(v.answered_at, 1, 10), service_week(substr(v.answered_at, 1, 10)), COALESCE(x.team_id, 0), COALESCE(x.owner_id, 0),
    COALESCE(v.agent_id, 0), x.priority, COALESCE(x.category, ''), COUNT(*), 0, 0, 0, COALESCE(SUM(v.csat), 0),
    SUM(CASE WHEN v.csat = 1 THEN 1 ELSE 0 END), SUM(CASE WHEN v.csat = 2 THEN 1 ELSE 0 END), SUM(CASE WHEN v.csat = 3 THEN 1 ELSE 0 END),
    SUM(CASE WHEN v.csat = 4 THEN 1 ELSE 0 END), SUM(CASE WHEN v.csat = 5 THEN 1 ELSE 0 END),
    SUM(CASE WHEN v.nps >= 9 THEN 1 ELSE 0 END), SUM(CASE WHEN v.nps >= 7 AND v.nps < 9 THEN 1 ELSE 0 END), SUM(CASE WHEN v.nps < 7 THEN 1 ELSE 0 END)
FROM ticket_surveys v JOIN tickets x ON x.id = v.ticket_id
WHERE v.answered_at IS NOT NULL AND x.deleted_at IS NULL
GROUP BY substr(v.answered_at, 1, 10), COALESCE(x.team_id, 0), COALESCE(x.owner_id, 0), COALESCE(v.agent_id, 0), x.priority, COALESCE(x.category, '');


-- Adds `s` times ticket `t`'s contribution (its creation, its resolution, its survey answer).
CREATE FUNCTION service_daily_ticket(t tickets, s BIGINT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF t.deleted_at IS NOT NULL THEN
        RETURN;
    END IF;
    INSERT INTO service_daily (kind, day, week, team_id, owner_id, agent_id, priority, category, n, reopened, fr_n, res_n, csat_total, c1, c2, c3, c4, c5, promoters, passives, detractors)
    VALUES ('created', substr(t.created_at, 1, 10), service_week(substr(t.created_at, 1, 10)), COALESCE(t.team_id, 0), COALESCE(t.owner_id, 0), 0,
        t.priority, COALESCE(t.category, ''), s, 0, CASE WHEN t.first_response_secs >= 0 THEN s ELSE 0 END, CASE WHEN t.resolution_secs >= 0 THEN s ELSE 0 END, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    ON CONFLICT (kind, day, team_id, owner_id, agent_id, priority, category) DO UPDATE SET n = service_daily.n + excluded.n, reopened = service_daily.reopened + excluded.reopened, fr_n = service_daily.fr_n + excluded.fr_n, res_n = service_daily.res_n + excluded.res_n, csat_total = service_daily.csat_total + excluded.csat_total, c1 = service_daily.c1 + excluded.c1, c2 = service_daily.c2 + excluded.c2, c3 = service_daily.c3 + excluded.c3, c4 = service_daily.c4 + excluded.c4, c5 = service_daily.c5 + excluded.c5, promoters = service_daily.promoters + excluded.promoters, passives = service_daily.passives + excluded.passives, detractors = service_daily.detractors + excluded.detractors;
    IF t.resolved_at IS NOT NULL THEN
        INSERT INTO service_daily (kind, day, week, team_id, owner_id, agent_id, priority, category, n, reopened, fr_n, res_n, csat_total, c1, c2, c3, c4, c5, promoters, passives, detractors)
        VALUES ('resolved', substr(t.resolved_at, 1, 10), service_week(substr(t.resolved_at, 1, 10)), COALESCE(t.team_id, 0), COALESCE(t.owner_id, 0), 0,
            t.priority, COALESCE(t.category, ''), s, s * t.reopened, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        ON CONFLICT (kind, day, team_id, owner_id, agent_id, priority, category) DO UPDATE SET n = service_daily.n + excluded.n, reopened = service_daily.reopened + excluded.reopened, fr_n = service_daily.fr_n + excluded.fr_n, res_n = service_daily.res_n + excluded.res_n, csat_total = service_daily.csat_total + excluded.csat_total, c1 = service_daily.c1 + excluded.c1, c2 = service_daily.c2 + excluded.c2, c3 = service_daily.c3 + excluded.c3, c4 = service_daily.c4 + excluded.c4, c5 = service_daily.c5 + excluded.c5, promoters = service_daily.promoters + excluded.promoters, passives = service_daily.passives + excluded.passives, detractors = service_daily.detractors + excluded.detractors;
    END IF;
    INSERT INTO service_daily (kind, day, week, team_id, owner_id, agent_id, priority, category, n, reopened, fr_n, res_n, csat_total, c1, c2, c3, c4, c5, promoters, passives, detractors)
    SELECT 'answered', substr(v.answered_at, 1, 10), service_week(substr(v.answered_at, 1, 10)), COALESCE(t.team_id, 0), COALESCE(t.owner_id, 0), COALESCE(v.agent_id, 0), t.priority, COALESCE(t.category, ''), s, 0, 0, 0, s * COALESCE(v.csat, 0), CASE WHEN v.csat = 1 THEN s ELSE 0 END, CASE WHEN v.csat = 2 THEN s ELSE 0 END, CASE WHEN v.csat = 3 THEN s ELSE 0 END, CASE WHEN v.csat = 4 THEN s ELSE 0 END, CASE WHEN v.csat = 5 THEN s ELSE 0 END, CASE WHEN v.nps >= 9 THEN s ELSE 0 END, CASE WHEN v.nps >= 7 AND v.nps < 9 THEN s ELSE 0 END, CASE WHEN v.nps < 7 THEN s ELSE 0 END
    FROM ticket_surveys v WHERE v.ticket_id = t.id AND v.answered_at IS NOT NULL
    ON CONFLICT (kind, day, team_id, owner_id, agent_id, priority, category) DO UPDATE SET n = service_daily.n + excluded.n, reopened = service_daily.reopened + excluded.reopened, fr_n = service_daily.fr_n + excluded.fr_n, res_n = service_daily.res_n + excluded.res_n, csat_total = service_daily.csat_total + excluded.csat_total, c1 = service_daily.c1 + excluded.c1, c2 = service_daily.c2 + excluded.c2, c3 = service_daily.c3 + excluded.c3, c4 = service_daily.c4 + excluded.c4, c5 = service_daily.c5 + excluded.c5, promoters = service_daily.promoters + excluded.promoters, passives = service_daily.passives + excluded.passives, detractors = service_daily.detractors + excluded.detractors;
END
$$;

-- Adds `s` times survey `v`'s answer, keyed by its ticket's team, owner, priority and category.
CREATE FUNCTION service_daily_survey(v ticket_surveys, s BIGINT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF v.answered_at IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO service_daily (kind, day, week, team_id, owner_id, agent_id, priority, category, n, reopened, fr_n, res_n, csat_total, c1, c2, c3, c4, c5, promoters, passives, detractors)
    SELECT 'answered', substr(v.answered_at, 1, 10), service_week(substr(v.answered_at, 1, 10)), COALESCE(x.team_id, 0), COALESCE(x.owner_id, 0), COALESCE(v.agent_id, 0), x.priority, COALESCE(x.category, ''), s, 0, 0, 0, s * COALESCE(v.csat, 0), CASE WHEN v.csat = 1 THEN s ELSE 0 END, CASE WHEN v.csat = 2 THEN s ELSE 0 END, CASE WHEN v.csat = 3 THEN s ELSE 0 END, CASE WHEN v.csat = 4 THEN s ELSE 0 END, CASE WHEN v.csat = 5 THEN s ELSE 0 END, CASE WHEN v.nps >= 9 THEN s ELSE 0 END, CASE WHEN v.nps >= 7 AND v.nps < 9 THEN s ELSE 0 END, CASE WHEN v.nps < 7 THEN s ELSE 0 END
    FROM tickets x WHERE x.id = v.ticket_id AND x.deleted_at IS NULL
    ON CONFLICT (kind, day, team_id, owner_id, agent_id, priority, category) DO UPDATE SET n = service_daily.n + excluded.n, reopened = service_daily.reopened + excluded.reopened, fr_n = service_daily.fr_n + excluded.fr_n, res_n = service_daily.res_n + excluded.res_n, csat_total = service_daily.csat_total + excluded.csat_total, c1 = service_daily.c1 + excluded.c1, c2 = service_daily.c2 + excluded.c2, c3 = service_daily.c3 + excluded.c3, c4 = service_daily.c4 + excluded.c4, c5 = service_daily.c5 + excluded.c5, promoters = service_daily.promoters + excluded.promoters, passives = service_daily.passives + excluded.passives, detractors = service_daily.detractors + excluded.detractors;
END
$$;

-- Each write moves its row's old contribution out and its new one in.
CREATE FUNCTION service_daily_tickets() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM service_daily_ticket(OLD, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM service_daily_ticket(NEW, 1);
    END IF;
    RETURN NULL;
END
$$;
CREATE FUNCTION service_daily_surveys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM service_daily_survey(OLD, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM service_daily_survey(NEW, 1);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER tickets_service_daily_insert AFTER INSERT OR DELETE ON tickets FOR EACH ROW EXECUTE FUNCTION service_daily_tickets();
CREATE TRIGGER tickets_service_daily_update AFTER UPDATE ON tickets FOR EACH ROW
    WHEN (OLD.created_at IS DISTINCT FROM NEW.created_at OR OLD.resolved_at IS DISTINCT FROM NEW.resolved_at OR OLD.team_id IS DISTINCT FROM NEW.team_id OR OLD.owner_id IS DISTINCT FROM NEW.owner_id OR OLD.priority IS DISTINCT FROM NEW.priority OR OLD.category IS DISTINCT FROM NEW.category OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at OR OLD.reopened IS DISTINCT FROM NEW.reopened OR OLD.first_response_secs IS DISTINCT FROM NEW.first_response_secs OR OLD.resolution_secs IS DISTINCT FROM NEW.resolution_secs)
    EXECUTE FUNCTION service_daily_tickets();
CREATE TRIGGER ticket_surveys_service_daily_insert AFTER INSERT OR DELETE ON ticket_surveys FOR EACH ROW EXECUTE FUNCTION service_daily_surveys();
CREATE TRIGGER ticket_surveys_service_daily_update AFTER UPDATE ON ticket_surveys FOR EACH ROW
    WHEN (OLD.ticket_id IS DISTINCT FROM NEW.ticket_id OR OLD.answered_at IS DISTINCT FROM NEW.answered_at OR OLD.csat IS DISTINCT FROM NEW.csat OR OLD.nps IS DISTINCT FROM NEW.nps OR OLD.agent_id IS DISTINCT FROM NEW.agent_id)
    EXECUTE FUNCTION service_daily_surveys();

-- The reopened flag follows the history: a reopening recorded, moved by a merge, or removed.
CREATE FUNCTION ticket_reopened_flag() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tickets SET reopened = CASE WHEN EXISTS (SELECT 1 FROM ticket_status_changes c WHERE c.ticket_id = tickets.id AND c.to_status = 'reopened') THEN 1 ELSE 0 END
    WHERE id IN (CASE WHEN TG_OP <> 'INSERT' THEN OLD.ticket_id END, CASE WHEN TG_OP <> 'DELETE' THEN NEW.ticket_id END);
    RETURN NULL;
END
$$;
CREATE TRIGGER ticket_status_changes_reopened_insert AFTER INSERT ON ticket_status_changes FOR EACH ROW
    WHEN (NEW.to_status = 'reopened') EXECUTE FUNCTION ticket_reopened_flag();
CREATE TRIGGER ticket_status_changes_reopened_update AFTER UPDATE ON ticket_status_changes FOR EACH ROW
    WHEN ((OLD.to_status = 'reopened' OR NEW.to_status = 'reopened') AND (OLD.ticket_id IS DISTINCT FROM NEW.ticket_id OR OLD.to_status IS DISTINCT FROM NEW.to_status))
    EXECUTE FUNCTION ticket_reopened_flag();
CREATE TRIGGER ticket_status_changes_reopened_delete AFTER DELETE ON ticket_status_changes FOR EACH ROW
    WHEN (OLD.to_status = 'reopened') EXECUTE FUNCTION ticket_reopened_flag();
ANALYZE service_daily;
