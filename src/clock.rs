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
        set_timeout(&resolve, 0);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

// The global `setTimeout` (of a window or a worker) bound directly: looking it up through
// `js_sys::global()` and `Reflect` on every call measured about 8 ms per yield.
#[cfg(target_family = "wasm")]
#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &js_sys::Function, milliseconds: i32) -> wasm_bindgen::JsValue;
}
