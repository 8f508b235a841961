//! Formatting rules shared by the command line, the study report and the web page, so that a
//! duration, a clock or an accuracy reads the same wherever it is shown.

/// A duration for people: one decimal under a minute (`12.3 s`), whole minutes and seconds under
/// an hour (`4 min 5 s`), hours and minutes beyond (`1 h 2 min`); "—" for a non-finite value.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "—".into();
    }
    if seconds < 60.0 {
        format!("{seconds:.1} s")
    } else {
        let s = seconds.round() as u64;
        if s < 3600 {
            format!("{} min {} s", s / 60, s % 60)
        } else {
            format!("{} h {} min", s / 3600, (s % 3600) / 60)
        }
    }
}

/// A clock or ETA, `mm:ss` to the nearest second; minutes keep counting past 59 (`75:03`) so
/// long runs stay readable in one format. `--:--` for a non-finite or negative value (no
/// estimate yet).
pub fn clock(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "--:--".into();
    }
    let s = seconds.round() as u64;
    format!("{:02}:{:02}", s / 60, s % 60)
}

/// A fraction as a percentage with two decimals and a space before the sign: `0.912` →
/// `91.20 %`.
pub fn percent(fraction: f64) -> String {
    format!("{:.2} %", 100.0 * fraction)
}

/// A count with thousands separators: `61706` → `61,706`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Text from files (labels, catalogue fields, paths) made safe to print on a terminal: control
/// characters other than newline and tab, and the bidirectional overrides that reorder what is
/// shown, are written as escapes (`\u{1b}`), so a label cannot recolour, move the cursor or hide
/// text.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if unsafe_char(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_pick_their_unit() {
        assert_eq!(duration(0.0), "0.0 s");
        assert_eq!(duration(12.34), "12.3 s");
        assert_eq!(duration(59.94), "59.9 s");
        assert_eq!(duration(60.0), "1 min 0 s");
        assert_eq!(duration(75.3), "1 min 15 s");
        assert_eq!(duration(245.0), "4 min 5 s");
        // Whole seconds are rounded before they are split.
        assert_eq!(duration(3599.6), "1 h 0 min");
        assert_eq!(duration(3720.0), "1 h 2 min");
        assert_eq!(duration(90_061.0), "25 h 1 min");
        for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(duration(x), "—");
        }
    }

    #[test]
    fn clocks_count_minutes_past_the_hour() {
        assert_eq!(clock(0.0), "00:00");
        assert_eq!(clock(5.4), "00:05");
        assert_eq!(clock(59.5), "01:00");
        assert_eq!(clock(605.0), "10:05");
        assert_eq!(clock(4503.0), "75:03");
        assert_eq!(clock(-0.0), "00:00");
        for x in [-1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(clock(x), "--:--");
        }
    }

    #[test]
    fn percents_have_two_decimals_and_a_space() {
        assert_eq!(percent(0.912), "91.20 %");
        assert_eq!(percent(0.91234), "91.23 %");
        assert_eq!(percent(0.0), "0.00 %");
        assert_eq!(percent(1.0), "100.00 %");
        assert_eq!(percent(0.5), "50.00 %");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(61_706), "61,706");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn printable_escapes_terminal_controls() {
        assert_eq!(printable("T-shirt/top"), "T-shirt/top");
        assert_eq!(printable("a\nb\tc"), "a\nb\tc");
        assert_eq!(
            printable("\u{1b}[31mred\u{1b}[0m"),
            "\\u{1b}[31mred\\u{1b}[0m"
        );
        assert_eq!(printable("bell\u{7}\r"), "bell\\u{7}\\u{d}");
        assert_eq!(printable("\u{202e}gpj.exe"), "\\u{202e}gpj.exe");
        assert_eq!(printable("Ünïcödé 👕"), "Ünïcödé 👕");
    }
}
