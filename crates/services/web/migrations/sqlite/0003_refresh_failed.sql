-- When the last refresh of the session's tokens found the identity provider unavailable (Unix
-- milliseconds; NULL once tokens are stored). A request of any instance that waited for that
-- refresh takes its outcome and goes on with the tokens it has, rather than calling the
-- provider again.
ALTER TABLE web_session ADD COLUMN refresh_failed_at_ms BIGINT;
