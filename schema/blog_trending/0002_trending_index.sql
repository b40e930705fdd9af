-- The migration of claim document 003 ("BlogPostView trending index"): Django's
-- models.Index(fields=['-viewed_at', 'post']) on BlogPostView. The trending query's range on
-- viewed_at becomes an index range scan that also carries post_id.
CREATE INDEX blog_view_trending_idx ON blog_blogpostview (viewed_at DESC, post_id);
