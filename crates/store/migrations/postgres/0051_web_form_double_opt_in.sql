-- Issue 12 §4: whether a sign-up on the web form must confirm by mail before its consent is
-- recorded (double opt-in, the default and what the GDPR's proof of consent favours) or is
-- recorded at once (single opt-in, where the law allows it).
ALTER TABLE web_form_settings ADD COLUMN double_opt_in BIGINT NOT NULL DEFAULT 1;
