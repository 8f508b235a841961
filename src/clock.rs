//! Wall-clock seconds on every target (`std::time::Instant` panics in the browser).

/// Seconds since an arbitrary, fixed origin.
#[cfg(not(target_family = "wasm"))]
pub fn now_seconds() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_secs_f64()
}

/// Seconds since an arbitrary, fixed origin.
#[cfg(target_family = "wasm")]
pub fn now_seconds() -> f64 {
    js_sys::Date::now() / 1000.0
}
