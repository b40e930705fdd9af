-- Blog app (claim document 003): posts and their page views, as the Django models
-- BlogPost and BlogPostView create them before the "trending index" migration. Django adds
-- an index for every foreign key (post_id); nothing serves a range on viewed_at yet.

CREATE TABLE blog_blogpost (
    id           bigserial PRIMARY KEY,
    title        text NOT NULL,
    slug         text NOT NULL UNIQUE,
    author_id    bigint NOT NULL,
    status       text NOT NULL CHECK (status IN ('draft', 'published')),
    published_at timestamptz
);

CREATE TABLE blog_blogpostview (
    id         bigserial PRIMARY KEY,
    post_id    bigint NOT NULL REFERENCES blog_blogpost (id) ON DELETE CASCADE,
    user_id    bigint,
    ip_address inet NOT NULL,
    viewed_at  timestamptz NOT NULL
);

CREATE INDEX blog_blogpostview_post_id_idx ON blog_blogpostview (post_id);
