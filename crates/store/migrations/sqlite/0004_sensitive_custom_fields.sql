-- Admins mark custom fields sensitive: they are masked like email and phone for roles without pii.
ALTER TABLE custom_fields ADD COLUMN sensitive INTEGER NOT NULL DEFAULT 0;
