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
ALTER TABLE tickets ADD COLUMN reopened INTEGER NOT NULL DEFAULT 0;
UPDATE tickets SET reopened = 1 WHERE id IN (SELECT ticket_id FROM ticket_status_changes WHERE to_status = 'reopened');

CREATE TABLE service_daily (
    kind TEXT NOT NULL, -- created (at created_at), resolved (at resolved_at), answered (a survey, at answered_at)
    day TEXT NOT NULL, -- YYYY-MM-DD (UTC)
    week TEXT NOT NULL, -- the day's Monday
    team_id INTEGER NOT NULL,
    owner_id INTEGER NOT NULL,
    agent_id INTEGER NOT NULL, -- answered: the credited agent; else 0
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
SELECT 'created', substr(created_at, 1, 10), date(substr(created_at, 1, 10), '-6 days', 'weekday 1'), COALESCE(team_id, 0), COALESCE(owner_id, 0), 0,
    priority, COALESCE(category, ''), COUNT(*), 0, SUM(CASE WHEN first_response_secs >= 0 THEN 1 ELSE 0 END),
    SUM(CASE WHEN resolution_secs >= 0 THEN 1 ELSE 0 END), 0, 0, 0, 0, 0, 0, 0, 0, 0
FROM tickets WHERE deleted_at IS NULL
GROUP BY substr(created_at, 1, 10), COALESCE(team_id, 0), COALESCE(owner_id, 0), priority, COALESCE(category, '');
INSERT INTO service_daily (kind, day, week, team_id, owner_id, agent_id, priority, category, n, reopened, fr_n, res_n, csat_total, c1, c2, c3, c4, c5, promoters, passives, detractors)
SELECT 'resolved', substr(resolved_at, 1, 10), date(substr(resolved_at, 1, 10), '-6 days', 'weekday 1'), COALESCE(team_id, 0), COALESCE(owner_id, 0), 0,
    priority, COALESCE(category, ''), COUNT(*), SUM(reopened), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
FROM tickets WHERE deleted_at IS NULL AND resolved_at IS NOT NULL
GROUP BY substr(resolved_at, 1, 10), COALESCE(team_id, 0), COALESCE(owner_id, 0), priority, COALESCE(category, '');
INSERT INTO service_daily (kind, day, week, team_id, owner_id, agent_id, priority, category, n, reopened, fr_n, res_n, csat_total, c1, c2, c3, c4, c5, promoters, passives, detractors)
SELECT 'answered', substr(v.answered_at, 1, 10), date(substr(v.answered_at, 1, 10), '-6 days', 'weekday 1'), COALESCE(x.team_id, 0), COALESCE(x.owner_id, 0),
    COALESCE(v.agent_id, 0), x.priority, COALESCE(x.category, ''), COUNT(*), 0, 0, 0, COALESCE(SUM(v.csat), 0),
    SUM(CASE WHEN v.csat = 1 THEN 1 ELSE 0 END), SUM(CASE WHEN v.csat = 2 THEN 1 ELSE 0 END), SUM(CASE WHEN v.csat = 3 THEN 1 ELSE 0 END),
    SUM(CASE WHEN v.csat = 4 THEN 1 ELSE 0 END), SUM(CASE WHEN v.csat = 5 THEN 1 ELSE 0 END),
    SUM(CASE WHEN v.nps >= 9 THEN 1 ELSE 0 END), SUM(CASE WHEN v.nps >= 7 AND v.nps < 9 THEN 1 ELSE 0 END), SUM(CASE WHEN v.nps < 7 THEN 1 ELSE 0 END)
FROM ticket_surveys v JOIN tickets x ON x.id = v.ticket_id
WHERE v.answered_at IS NOT NULL AND x.deleted_at IS NULL
GROUP BY substr(v.answered_at, 1, 10), COALESCE(x.team_id, 0), COALESCE(x.owner_id, 0), COALESCE(v.agent_id, 0), x.priority, COALESCE(x.category, '');

-- Each write moves its row's old contribution out and its new one in.
CREATE TRIGGER tickets_service_daily_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO service_daily (kind, day, week, team_id, owner_id, agent_id, priority, category, n, reopened, fr_n, res_n, csat_total, c1, c2, c3, c4, c5, promoters, passives, detractors)
    SELECT * FROM (
        SELECT 'created', substr(NEW.created_at, 1, 10), date(substr(NEW.created_at, 1, 10), '-6 days', 'weekday 1'), COALESCE(NEW.team_id, 0), COALESCE(NEW.owner_id, 0), 0, NEW.priority, COALESCE(NEW.category, ''), 1, 0, CASE WHEN NEW.first_response_secs >= 0 THEN 1 ELSE 0 END, CASE WHEN NEW.resolution_secs >= 0 THEN 1 ELSE 0 END, 0, 0, 0, 0, 0, 0, 0, 0, 0
        WHERE NEW.deleted_at IS NULL
        UNION ALL
        SELECT 'resolved', substr(NEW.resolved_at, 1, 10), date(substr(NEW.resolved_at, 1, 10), '-6 days', 'weekday 1'), COALESCE(NEW.team_id, 0), COALESCE(NEW.owner_id, 0), 0, NEW.priority, COALESCE(NEW.category, ''), 1, 1 * NEW.reopened, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        WHERE NEW.deleted_at IS NULL AND NEW.resolved_at IS NOT NULL
        UNION ALL
        SELECT 'answered', substr(v.answered_at, 1, 10), date(substr(v.answered_at, 1, 10), '-6 days', 'weekday 1'), COALESCE(NEW.team_id, 0), COALESCE(NEW.owner_id, 0), COALESCE(v.agent_id, 0), NEW.priority, COALESCE(NEW.category, ''), 1, 0, 0, 0, 1 * COALESCE(v.csat, 0), CASE WHEN v.csat = 1 THEN 1 ELSE 0 END, CASE WHEN v.csat = 2 THEN 1 ELSE 0 END, CASE WHEN v.csat = 3 THEN 1 ELSE 0 END, CASE WHEN v.csat = 4 THEN 1 ELSE 0 END, CASE WHEN v.csat = 5 THEN 1 ELSE 0 END, CASE WHEN v.nps >= 9 THEN 1 ELSE 0 END, CASE WHEN v.nps >= 7 AND v.nps < 9 THEN 1 ELSE 0 END, CASE WHEN v.nps < 7 THEN 1 ELSE 0 END
        FROM ticket_surveys v WHERE v.ticket_id = NEW.id AND v.answered_at IS NOT NULL AND NEW.deleted_at IS NULL
    ) WHERE true
    ON CONFLICT (kind, day, team_id, owner_id, agent_id, priority, category) DO UPDATE SET n = n + excluded.n, reopened = reopened + excluded.reopened, fr_n = fr_n + excluded.fr_n, res_n = res_n + excluded.res_n, csat_total = csat_total + excluded.csat_total, c1 = c1 + excluded.c1, c2 = c2 + excluded.c2, c3 = c3 + excluded.c3, c4 = c4 + excluded.c4, c5 = c5 + excluded.c5, promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
END;
CREATE TRIGGER tickets_service_daily_update AFTER UPDATE OF created_at, resolved_at, team_id, owner_id, priority, category, deleted_at, reopened, first_response_secs, resolution_secs ON tickets
WHEN OLD.created_at IS NOT NEW.created_at OR OLD.resolved_at IS NOT NEW.resolved_at OR OLD.team_id IS NOT NEW.team_id OR OLD.owner_id IS NOT NEW.owner_id OR OLD.priority IS NOT NEW.priority OR OLD.category IS NOT NEW.category OR OLD.deleted_at IS NOT NEW.deleted_at OR OLD.reopened IS NOT NEW.reopened OR OLD.first_response_secs IS NOT NEW.first_response_secs OR OLD.resolution_secs IS NOT NEW.resolution_secs BEGIN
    INSERT INTO service_daily (kind, day, week, team_id, owner_id, agent_id, priority, category, n, reopened, fr_n, res_n, csat_total, c1, c2, c3, c4, c5, promoters, passives, detractors)
    SELECT * FROM (
        SELECT 'created', substr(OLD.created_at, 1, 10), date(substr(OLD.created_at, 1, 10), '-6 days', 'weekday 1'), COALESCE(OLD.team_id, 0), COALESCE(OLD.owner_id, 0), 0, OLD.priority, COALESCE(OLD.category, ''), -1, 0, CASE WHEN OLD.first_response_secs >= 0 THEN -1 ELSE 0 END, CASE WHEN OLD.resolution_secs >= 0 THEN -1 ELSE 0 END, 0, 0, 0, 0, 0, 0, 0, 0, 0
        WHERE OLD.deleted_at IS NULL
        UNION ALL
        SELECT 'resolved', substr(OLD.resolved_at, 1, 10), date(substr(OLD.resolved_at, 1, 10), '-6 days', 'weekday 1'), COALESCE(OLD.team_id, 0), COALESCE(OLD.owner_id, 0), 0, OLD.priority, COALESCE(OLD.category, ''), -1, -1 * OLD.reopened, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        WHERE OLD.deleted_at IS NULL AND OLD.resolved_at IS NOT NULL
        UNION ALL
        SELECT 'answered', substr(v.answered_at, 1, 10), date(substr(v.answered_at, 1, 10), '-6 days', 'weekday 1'), COALESCE(OLD.team_id, 0), COALESCE(OLD.owner_id, 0), COALESCE(v.agent_id, 0), OLD.priority, COALESCE(OLD.category, ''), -1, 0, 0, 0, -1 * COALESCE(v.csat, 0), CASE WHEN v.csat = 1 THEN -1 ELSE 0 END, CASE WHEN v.csat = 2 THEN -1 ELSE 0 END, CASE WHEN v.csat = 3 THEN -1 ELSE 0 END, CASE WHEN v.csat = 4 THEN -1 ELSE 0 END, CASE WHEN v.csat = 5 THEN -1 ELSE 0 END, CASE WHEN v.nps >= 9 THEN -1 ELSE 0 END, CASE WHEN v.nps >= 7 AND v.nps < 9 THEN -1 ELSE 0 END, CASE WHEN v.nps < 7 THEN -1 ELSE 0 END
        FROM ticket_surveys v WHERE v.ticket_id = OLD.id AND v.answered_at IS NOT NULL AND OLD.deleted_at IS NULL
    ) WHERE true
    ON CONFLICT (kind, day, team_id, owner_id, agent_id, priority, category) DO UPDATE SET n = n + excluded.n, reopened = reopened + excluded.reopened, fr_n = fr_n + excluded.fr_n, res_n = res_n + excluded.res_n, csat_total = csat_total + excluded.csat_total, c1 = c1 + excluded.c1, c2 = c2 + excluded.c2, c3 = c3 + excluded.c3, c4 = c4 + excluded.c4, c5 = c5 + excluded.c5, promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
    INSERT INTO service_daily (kind, day, week, team_id, owner_id, agent_id, priority, category, n, reopened, fr_n, res_n, csat_total, c1, c2, c3, c4, c5, promoters, passives, detractors)
    SELECT * FROM (
        SELECT 'created', substr(NEW.created_at, 1, 10), date(substr(NEW.created_at, 1, 10), '-6 days', 'weekday 1'), COALESCE(NEW.team_id, 0), COALESCE(NEW.owner_id, 0), 0, NEW.priority, COALESCE(NEW.category, ''), 1, 0, CASE WHEN NEW.first_response_secs >= 0 THEN 1 ELSE 0 END, CASE WHEN NEW.resolution_secs >= 0 THEN 1 ELSE 0 END, 0, 0, 0, 0, 0, 0, 0, 0, 0
        WHERE NEW.deleted_at IS NULL
        UNION ALL
        SELECT 'resolved', substr(NEW.resolved_at, 1, 10), date(substr(NEW.resolved_at, 1, 10), '-6 days', 'weekday 1'), COALESCE(NEW.team_id, 0), COALESCE(NEW.owner_id, 0), 0, NEW.priority, COALESCE(NEW.category, ''), 1, 1 * NEW.reopened, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        WHERE NEW.deleted_at IS NULL AND NEW.resolved_at IS NOT NULL
        UNION ALL
        SELECT 'answered', substr(v.answered_at, 1, 10), date(substr(v.answered_at, 1, 10), '-6 days', 'weekday 1'), COALESCE(NEW.team_id, 0), COALESCE(NEW.owner_id, 0), COALESCE(v.agent_id, 0), NEW.priority, COALESCE(NEW.category, ''), 1, 0, 0, 0, 1 * COALESCE(v.csat, 0), CASE WHEN v.csat = 1 THEN 1 ELSE 0 END, CASE WHEN v.csat = 2 THEN 1 ELSE 0 END, CASE WHEN v.csat = 3 THEN 1 ELSE 0 END, CASE WHEN v.csat = 4 THEN 1 ELSE 0 END, CASE WHEN v.csat = 5 THEN 1 ELSE 0 END, CASE WHEN v.nps >= 9 THEN 1 ELSE 0 END, CASE WHEN v.nps >= 7 AND v.nps < 9 THEN 1 ELSE 0 END, CASE WHEN v.nps < 7 THEN 1 ELSE 0 END
        FROM ticket_surveys v WHERE v.ticket_id = NEW.id AND v.answered_at IS NOT NULL AND NEW.deleted_at IS NULL
    ) WHERE true
    ON CONFLICT (kind, day, team_id, owner_id, agent_id, priority, category) DO UPDATE SET n = n + excluded.n, reopened = reopened + excluded.reopened, fr_n = fr_n + excluded.fr_n, res_n = res_n + excluded.res_n, csat_total = csat_total + excluded.csat_total, c1 = c1 + excluded.c1, c2 = c2 + excluded.c2, c3 = c3 + excluded.c3, c4 = c4 + excluded.c4, c5 = c5 + excluded.c5, promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
END;
CREATE TRIGGER tickets_service_daily_delete AFTER DELETE ON tickets BEGIN
    INSERT INTO service_daily (kind, day, week, team_id, owner_id, agent_id, priority, category, n, reopened, fr_n, res_n, csat_total, c1, c2, c3, c4, c5, promoters, passives, detractors)
    SELECT * FROM (
        SELECT 'created', substr(OLD.created_at, 1, 10), date(substr(OLD.created_at, 1, 10), '-6 days', 'weekday 1'), COALESCE(OLD.team_id, 0), COALESCE(OLD.owner_id, 0), 0, OLD.priority, COALESCE(OLD.category, ''), -1, 0, CASE WHEN OLD.first_response_secs >= 0 THEN -1 ELSE 0 END, CASE WHEN OLD.resolution_secs >= 0 THEN -1 ELSE 0 END, 0, 0, 0, 0, 0, 0, 0, 0, 0
        WHERE OLD.deleted_at IS NULL
        UNION ALL
        SELECT 'resolved', substr(OLD.resolved_at, 1, 10), date(substr(OLD.resolved_at, 1, 10), '-6 days', 'weekday 1'), COALESCE(OLD.team_id, 0), COALESCE(OLD.owner_id, 0), 0, OLD.priority, COALESCE(OLD.category, ''), -1, -1 * OLD.reopened, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        WHERE OLD.deleted_at IS NULL AND OLD.resolved_at IS NOT NULL
        UNION ALL
        SELECT 'answered', substr(v.answered_at, 1, 10), date(substr(v.answered_at, 1, 10), '-6 days', 'weekday 1'), COALESCE(OLD.team_id, 0), COALESCE(OLD.owner_id, 0), COALESCE(v.agent_id, 0), OLD.priority, COALESCE(OLD.category, ''), -1, 0, 0, 0, -1 * COALESCE(v.csat, 0), CASE WHEN v.csat = 1 THEN -1 ELSE 0 END, CASE WHEN v.csat = 2 THEN -1 ELSE 0 END, CASE WHEN v.csat = 3 THEN -1 ELSE 0 END, CASE WHEN v.csat = 4 THEN -1 ELSE 0 END, CASE WHEN v.csat = 5 THEN -1 ELSE 0 END, CASE WHEN v.nps >= 9 THEN -1 ELSE 0 END, CASE WHEN v.nps >= 7 AND v.nps < 9 THEN -1 ELSE 0 END, CASE WHEN v.nps < 7 THEN -1 ELSE 0 END
        FROM ticket_surveys v WHERE v.ticket_id = OLD.id AND v.answered_at IS NOT NULL AND OLD.deleted_at IS NULL
    ) WHERE true
    ON CONFLICT (kind, day, team_id, owner_id, agent_id, priority, category) DO UPDATE SET n = n + excluded.n, reopened = reopened + excluded.reopened, fr_n = fr_n + excluded.fr_n, res_n = res_n + excluded.res_n, csat_total = csat_total + excluded.csat_total, c1 = c1 + excluded.c1, c2 = c2 + excluded.c2, c3 = c3 + excluded.c3, c4 = c4 + excluded.c4, c5 = c5 + excluded.c5, promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
END;
CREATE TRIGGER ticket_surveys_service_daily_insert AFTER INSERT ON ticket_surveys BEGIN
    INSERT INTO service_daily (kind, day, week, team_id, owner_id, agent_id, priority, category, n, reopened, fr_n, res_n, csat_total, c1, c2, c3, c4, c5, promoters, passives, detractors)
    SELECT * FROM (
        SELECT 'answered', substr(NEW.answered_at, 1, 10), date(substr(NEW.answered_at, 1, 10), '-6 days', 'weekday 1'), COALESCE(x.team_id, 0), COALESCE(x.owner_id, 0), COALESCE(NEW.agent_id, 0), x.priority, COALESCE(x.category, ''), 1, 0, 0, 0, 1 * COALESCE(NEW.csat, 0), CASE WHEN NEW.csat = 1 THEN 1 ELSE 0 END, CASE WHEN NEW.csat = 2 THEN 1 ELSE 0 END, CASE WHEN NEW.csat = 3 THEN 1 ELSE 0 END, CASE WHEN NEW.csat = 4 THEN 1 ELSE 0 END, CASE WHEN NEW.csat = 5 THEN 1 ELSE 0 END, CASE WHEN NEW.nps >= 9 THEN 1 ELSE 0 END, CASE WHEN NEW.nps >= 7 AND NEW.nps < 9 THEN 1 ELSE 0 END, CASE WHEN NEW.nps < 7 THEN 1 ELSE 0 END
        FROM tickets x WHERE x.id = NEW.ticket_id AND x.deleted_at IS NULL AND NEW.answered_at IS NOT NULL
    ) WHERE true
    ON CONFLICT (kind, day, team_id, owner_id, agent_id, priority, category) DO UPDATE SET n = n + excluded.n, reopened = reopened + excluded.reopened, fr_n = fr_n + excluded.fr_n, res_n = res_n + excluded.res_n, csat_total = csat_total + excluded.csat_total, c1 = c1 + excluded.c1, c2 = c2 + excluded.c2, c3 = c3 + excluded.c3, c4 = c4 + excluded.c4, c5 = c5 + excluded.c5, promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
END;
CREATE TRIGGER ticket_surveys_service_daily_update AFTER UPDATE OF ticket_id, answered_at, csat, nps, agent_id ON ticket_surveys
WHEN OLD.ticket_id IS NOT NEW.ticket_id OR OLD.answered_at IS NOT NEW.answered_at OR OLD.csat IS NOT NEW.csat OR OLD.nps IS NOT NEW.nps OR OLD.agent_id IS NOT NEW.agent_id BEGIN
    INSERT INTO service_daily (kind, day, week, team_id, owner_id, agent_id, priority, category, n, reopened, fr_n, res_n, csat_total, c1, c2, c3, c4, c5, promoters, passives, detractors)
    SELECT * FROM (
        SELECT 'answered', substr(OLD.answered_at, 1, 10), date(substr(OLD.answered_at, 1, 10), '-6 days', 'weekday 1'), COALESCE(x.team_id, 0), COALESCE(x.owner_id, 0), COALESCE(OLD.agent_id, 0), x.priority, COALESCE(x.category, ''), -1, 0, 0, 0, -1 * COALESCE(OLD.csat, 0), CASE WHEN OLD.csat = 1 THEN -1 ELSE 0 END, CASE WHEN OLD.csat = 2 THEN -1 ELSE 0 END, CASE WHEN OLD.csat = 3 THEN -1 ELSE 0 END, CASE WHEN OLD.csat = 4 THEN -1 ELSE 0 END, CASE WHEN OLD.csat = 5 THEN -1 ELSE 0 END, CASE WHEN OLD.nps >= 9 THEN -1 ELSE 0 END, CASE WHEN OLD.nps >= 7 AND OLD.nps < 9 THEN -1 ELSE 0 END, CASE WHEN OLD.nps < 7 THEN -1 ELSE 0 END
        FROM tickets x WHERE x.id = OLD.ticket_id AND x.deleted_at IS NULL AND OLD.answered_at IS NOT NULL
    ) WHERE true
    ON CONFLICT (kind, day, team_id, owner_id, agent_id, priority, category) DO UPDATE SET n = n + excluded.n, reopened = reopened + excluded.reopened, fr_n = fr_n + excluded.fr_n, res_n = res_n + excluded.res_n, csat_total = csat_total + excluded.csat_total, c1 = c1 + excluded.c1, c2 = c2 + excluded.c2, c3 = c3 + excluded.c3, c4 = c4 + excluded.c4, c5 = c5 + excluded.c5, promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
    INSERT INTO service_daily (kind, day, week, team_id, owner_id, agent_id, priority, category, n, reopened, fr_n, res_n, csat_total, c1, c2, c3, c4, c5, promoters, passives, detractors)
    SELECT * FROM (
        SELECT 'answered', substr(NEW.answered_at, 1, 10), date(substr(NEW.answered_at, 1, 10), '-6 days', 'weekday 1'), COALESCE(x.team_id, 0), COALESCE(x.owner_id, 0), COALESCE(NEW.agent_id, 0), x.priority, COALESCE(x.category, ''), 1, 0, 0, 0, 1 * COALESCE(NEW.csat, 0), CASE WHEN NEW.csat = 1 THEN 1 ELSE 0 END, CASE WHEN NEW.csat = 2 THEN 1 ELSE 0 END, CASE WHEN NEW.csat = 3 THEN 1 ELSE 0 END, CASE WHEN NEW.csat = 4 THEN 1 ELSE 0 END, CASE WHEN NEW.csat = 5 THEN 1 ELSE 0 END, CASE WHEN NEW.nps >= 9 THEN 1 ELSE 0 END, CASE WHEN NEW.nps >= 7 AND NEW.nps < 9 THEN 1 ELSE 0 END, CASE WHEN NEW.nps < 7 THEN 1 ELSE 0 END
        FROM tickets x WHERE x.id = NEW.ticket_id AND x.deleted_at IS NULL AND NEW.answered_at IS NOT NULL
    ) WHERE true
    ON CONFLICT (kind, day, team_id, owner_id, agent_id, priority, category) DO UPDATE SET n = n + excluded.n, reopened = reopened + excluded.reopened, fr_n = fr_n + excluded.fr_n, res_n = res_n + excluded.res_n, csat_total = csat_total + excluded.csat_total, c1 = c1 + excluded.c1, c2 = c2 + excluded.c2, c3 = c3 + excluded.c3, c4 = c4 + excluded.c4, c5 = c5 + excluded.c5, promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
END;
CREATE TRIGGER ticket_surveys_service_daily_delete AFTER DELETE ON ticket_surveys BEGIN
    INSERT INTO service_daily (kind, day, week, team_id, owner_id, agent_id, priority, category, n, reopened, fr_n, res_n, csat_total, c1, c2, c3, c4, c5, promoters, passives, detractors)
    SELECT * FROM (
        SELECT 'answered', substr(OLD.answered_at, 1, 10), date(substr(OLD.answered_at, 1, 10), '-6 days', 'weekday 1'), COALESCE(x.team_id, 0), COALESCE(x.owner_id, 0), COALESCE(OLD.agent_id, 0), x.priority, COALESCE(x.category, ''), -1, 0, 0, 0, -1 * COALESCE(OLD.csat, 0), CASE WHEN OLD.csat = 1 THEN -1 ELSE 0 END, CASE WHEN OLD.csat = 2 THEN -1 ELSE 0 END, CASE WHEN OLD.csat = 3 THEN -1 ELSE 0 END, CASE WHEN OLD.csat = 4 THEN -1 ELSE 0 END, CASE WHEN OLD.csat = 5 THEN -1 ELSE 0 END, CASE WHEN OLD.nps >= 9 THEN -1 ELSE 0 END, CASE WHEN OLD.nps >= 7 AND OLD.nps < 9 THEN -1 ELSE 0 END, CASE WHEN OLD.nps < 7 THEN -1 ELSE 0 END
        FROM tickets x WHERE x.id = OLD.ticket_id AND x.deleted_at IS NULL AND OLD.answered_at IS NOT NULL
    ) WHERE true
    ON CONFLICT (kind, day, team_id, owner_id, agent_id, priority, category) DO UPDATE SET n = n + excluded.n, reopened = reopened + excluded.reopened, fr_n = fr_n + excluded.fr_n, res_n = res_n + excluded.res_n, csat_total = csat_total + excluded.csat_total, c1 = c1 + excluded.c1, c2 = c2 + excluded.c2, c3 = c3 + excluded.c3, c4 = c4 + excluded.c4, c5 = c5 + excluded.c5, promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
END;
-- The reopened flag follows the history: a reopening recorded, moved by a merge, or removed.
CREATE TRIGGER ticket_status_changes_reopened_insert AFTER INSERT ON ticket_status_changes WHEN NEW.to_status = 'reopened' BEGIN
    UPDATE tickets SET reopened = 1 WHERE id = NEW.ticket_id AND reopened = 0;
END;
CREATE TRIGGER ticket_status_changes_reopened_update AFTER UPDATE OF ticket_id, to_status ON ticket_status_changes
WHEN OLD.to_status = 'reopened' OR NEW.to_status = 'reopened' BEGIN
    UPDATE tickets SET reopened = (EXISTS (SELECT 1 FROM ticket_status_changes c WHERE c.ticket_id = tickets.id AND c.to_status = 'reopened')) WHERE id IN (OLD.ticket_id, NEW.ticket_id);
END;
CREATE TRIGGER ticket_status_changes_reopened_delete AFTER DELETE ON ticket_status_changes WHEN OLD.to_status = 'reopened' BEGIN
    UPDATE tickets SET reopened = (EXISTS (SELECT 1 FROM ticket_status_changes c WHERE c.ticket_id = tickets.id AND c.to_status = 'reopened')) WHERE id = OLD.ticket_id;
END;
ANALYZE service_daily;
