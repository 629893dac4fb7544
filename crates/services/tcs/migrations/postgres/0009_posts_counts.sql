-- The post list's totals (X-Total-Count of a full page) without reading each matched post
-- (issue 13's numbers; docs/benchmarks.md "TCS posts and placements"): `columnFilters` of a
-- site or a grade (with the owner every HEE user's scope adds) count the site's (grade's)
-- rows with their owner from one index. SQLite also indexes each post's owner in its search
-- structure (../sqlite/0009…); here the trigram index serves the search as before.
CREATE INDEX ix_post_view_site_owner ON post_view (primary_site_id, owner, id);
CREATE INDEX ix_post_view_grade_owner ON post_view (approved_grade_id, owner, id);
