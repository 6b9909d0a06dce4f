-- The catalogue's pages are read in name order (the default) or price order: indexes in those
-- orders let a page be read without sorting every product first.
CREATE INDEX products_name_id ON products (name, id);
CREATE INDEX products_price_name_id ON products (price_cents, name, id);
