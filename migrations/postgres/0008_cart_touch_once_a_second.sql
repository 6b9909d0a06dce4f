-- A line written touches its cart only when the cart's `updated_at` (whole seconds) would
-- change: the value is the same as before, but a second add to a cart within the same second
-- no longer writes a new version of the cart's row (the cart is still locked first, by the
-- BEFORE INSERT trigger of 0007).
CREATE OR REPLACE FUNCTION cart_lines_touch_cart() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE carts SET updated_at = EXTRACT(EPOCH FROM now())::BIGINT
    WHERE id = NEW.cart_id AND updated_at IS DISTINCT FROM EXTRACT(EPOCH FROM now())::BIGINT;
    RETURN NULL;
END
$$;
