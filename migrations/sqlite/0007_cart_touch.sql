-- A change to a cart's lines records itself on the cart: the line written and the cart's
-- `updated_at` in one statement, so that an add is one statement (atomic on its own) instead of
-- a transaction of four. Only lines actually written touch the cart: an upsert whose guard
-- refuses the change writes nothing, and leaves the cart as it was.

-- The cart's row is made with its first line (a guest's cart id lives in the session until then).
CREATE TRIGGER cart_lines_make_cart BEFORE INSERT ON cart_lines
BEGIN
    INSERT INTO carts (id, created_at, updated_at) VALUES (NEW.cart_id, unixepoch(), unixepoch())
    ON CONFLICT (id) DO NOTHING;
END;

CREATE TRIGGER cart_lines_touch_on_insert AFTER INSERT ON cart_lines
BEGIN
    UPDATE carts SET updated_at = unixepoch() WHERE id = NEW.cart_id;
END;

CREATE TRIGGER cart_lines_touch_on_update AFTER UPDATE OF quantity ON cart_lines
BEGIN
    UPDATE carts SET updated_at = unixepoch() WHERE id = NEW.cart_id;
END;
