-- A refresh of a session's tokens under way: until this time (Unix seconds) one request, of
-- any instance, is redeeming the session's single-use refresh token; the others wait for the
-- tokens it stores instead of redeeming the same token again (which the identity provider
-- treats as token theft and answers by revoking the session). NULL: none under way.
ALTER TABLE web_session ADD COLUMN refreshing_until BIGINT;
