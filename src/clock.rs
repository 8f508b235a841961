//! Wall-clock seconds on every target (`std::time::Instant` panics in the browser), and yielding
//! to the browser between chunks of work.

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

/// Lets the browser's event loop run (a `setTimeout(0)` turn), so long work in chunks never keeps
/// a page or worker busy for seconds at a time.
#[cfg(target_family = "wasm")]
pub async fn yield_to_event_loop() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let global = js_sys::global();
        if let Ok(set_timeout) = js_sys::Reflect::get(&global, &"setTimeout".into()) {
            let set_timeout: js_sys::Function = set_timeout.into();
            let _ = set_timeout.call2(&global, &resolve, &0.into());
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
