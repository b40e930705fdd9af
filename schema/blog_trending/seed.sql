-- Deterministic seed: querygate calls setseed() before this script. Variables: :scale (page
-- views, spread over the year before 2025-11-03 with traffic growing towards the end, as a
-- growing blog's is), :posts.

INSERT INTO blog_blogpost (id, title, slug, author_id, status, published_at)
SELECT g, 'Post ' || g, 'post-' || g, 1 + g % 25,
       CASE WHEN g % 10 = 0 THEN 'draft' ELSE 'published' END,
       timestamptz '2024-11-03' + (g::float8 / :posts) * interval '365 days'
FROM generate_series(1, :posts) AS g;
SELECT setval('blog_blogpost_id_seq', :posts);

-- Views: a few posts draw most of the traffic (power law); sqrt(random()) skews the time
-- towards the recent end, so the last 7 days hold about 4% of all views.
INSERT INTO blog_blogpostview (post_id, user_id, ip_address, viewed_at)
SELECT 1 + floor(:posts * power(random(), 3))::bigint,
       CASE WHEN random() < 0.3 THEN 1 + floor(random() * 50000)::bigint END,
       ('10.' || floor(random() * 256)::int || '.' || floor(random() * 256)::int || '.' || floor(random() * 256)::int)::inet,
       timestamptz '2025-11-03' - (1 - sqrt(random())) * interval '365 days'
FROM generate_series(1, :scale);
