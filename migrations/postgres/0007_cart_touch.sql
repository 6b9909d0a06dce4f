-- A change to a cart's lines records itself on the cart: the line written and the cart's
-- `updated_at` in one statement, so that an add is one statement (atomic on its own) instead of
-- a transaction of four. Only lines actually written touch the cart: an upsert whose guard
-- refuses the change writes nothing, and leaves the cart as it was.

-- Before a line is written: the cart's row exists (a guest's cart id lives in the session until
-- its first line) and is locked: every change to a cart's lines, a merge of many lines too,
-- locks the cart before the lines, so two changes to one cart cannot deadlock.
CREATE FUNCTION cart_lines_make_cart() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO carts (id, created_at, updated_at)
    VALUES (NEW.cart_id, EXTRACT(EPOCH FROM now())::BIGINT, EXTRACT(EPOCH FROM now())::BIGINT)
    ON CONFLICT (id) DO NOTHING;
    PERFORM 1 FROM carts WHERE id = NEW.cart_id FOR UPDATE;
    RETURN NEW;
END
$$;

CREATE TRIGGER cart_lines_make_cart BEFORE INSERT ON cart_lines
FOR EACH ROW EXECUTE FUNCTION cart_lines_make_cart();

CREATE FUNCTION cart_lines_touch_cart() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE carts SET updated_at = EXTRACT(EPOCH FROM now())::BIGINT WHERE id = NEW.cart_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER cart_lines_touch_cart AFTER INSERT OR UPDATE OF quantity ON cart_lines
FOR EACH ROW EXECUTE FUNCTION cart_lines_touch_cart();
