-- PostgreSQL's 0054 makes its order statistics trigger lock the person's statistics row instead
-- of an advisory lock per person. SQLite's trigger (0047) takes no lock (one writer at a time),
-- so nothing changes here; the migration exists so that both engines know the same numbers and
-- a PostgreSQL backup restores into SQLite.
SELECT 1;
