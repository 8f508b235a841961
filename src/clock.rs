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

/// Seconds since an arbitrary, fixed origin: `performance.now()`, which pages and workers both
/// have, to the microsecond where `Date.now()` gives whole milliseconds (a step's idle time is
/// a fraction of one, and the replicas' shares follow it).
#[cfg(target_family = "wasm")]
pub fn now_seconds() -> f64 {
    performance_now() / 1000.0
}

/// Lets the browser's event loop run (one message-event turn), so long work in chunks never keeps
/// a page or worker busy for seconds at a time.
#[cfg(target_family = "wasm")]
pub async fn yield_to_event_loop() {
    let _ = wasm_bindgen_futures::JsFuture::from(next_turn()).await;
}

// A MessageChannel turn rather than `setTimeout(0)`: browsers clamp nested timeouts to 4 ms,
// which cost a training step of about 14 ms a quarter of its speed.
#[cfg(target_family = "wasm")]
#[wasm_bindgen::prelude::wasm_bindgen(inline_js = r#"
const channel = new MessageChannel();
const waiting = [];
channel.port1.onmessage = () => waiting.shift()();
export function next_turn() {
  return new Promise((resolve) => {
    waiting.push(resolve);
    channel.port2.postMessage(null);
  });
}
"#)]
extern "C" {
    fn next_turn() -> js_sys::Promise;
}

#[cfg(target_family = "wasm")]
#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}
