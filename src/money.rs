//! Money is integer cents everywhere; it becomes text only here, at display.

pub const CURRENCY: &str = "USD";

/// `129` → `"$1.29"`.
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let dollars = abs / 100;
    let rest = abs % 100;
    // Thousands separators for the dollar part.
    let digits = dollars.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{sign}${grouped}.{rest:02}")
}

#[cfg(test)]
mod tests {
    use super::format_cents;

    #[test]
    fn formats_cents_as_dollars() {
        assert_eq!(format_cents(0), "$0.00");
        assert_eq!(format_cents(5), "$0.05");
        assert_eq!(format_cents(129), "$1.29");
        assert_eq!(format_cents(396), "$3.96");
        assert_eq!(format_cents(123_456_789), "$1,234,567.89");
        assert_eq!(format_cents(-250), "-$2.50");
    }
}
