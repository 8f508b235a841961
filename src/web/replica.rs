//! Training on every core in the page: the worker that trains holds a [`WebTrainer`] whose
//! peers are replicas in other Web Workers ([`WebReplica`]), reached through a JS
//! [`PeerGroup`] that posts each step's shares and collects their gradients (plain messages,
//! so any static host works: no cross-origin isolation, no shared memory).

use std::sync::Arc;

use js_sys::{Array, Float32Array, Object, Reflect, Uint8Array};
use tsify::Ts;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::{WebTrainer, from_ts, js_err};
use crate::training::{
    PeerResults, Peers, Replica, ShardResult, ShardWork, TrainingConfig, TrainingError,
};

#[wasm_bindgen(typescript_custom_section)]
const PEER_GROUP: &str = r#"
/** One share of a batch for a peer, with the gradient to apply first (with `applyAddsOwn`, the trainer's share of it, to which the peer adds its own last one). */
export interface ShareMessage { apply?: Float32Array; applyAddsOwn: boolean; applyRate: number; images: Uint8Array; labels: Uint8Array; batchLen: number }
/** A peer's answer: its share's gradient (empty for an empty share), loss sum, right predictions and the seconds it sat idle before this work. */
export interface ShareReply { gradient: Float32Array; lossSum: number; correct: number; idleSeconds: number }
/** The replicas in other workers, as `WebTrainer.usePeers` drives them. */
export interface PeerGroup { readonly count: number; send(work: ShareMessage[]): void; receive(): Promise<ShareReply[]> }
"#;

#[wasm_bindgen]
extern "C" {
    /// The page's replicas in other workers (see the `PeerGroup` interface).
    #[wasm_bindgen(typescript_type = "PeerGroup")]
    pub type PeerGroup;
    #[wasm_bindgen(method, getter)]
    fn count(this: &PeerGroup) -> usize;
    #[wasm_bindgen(method, catch)]
    fn send(this: &PeerGroup, work: Array) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch)]
    fn receive(this: &PeerGroup) -> Result<js_sys::Promise, JsValue>;
}

/// [`PeerGroup`] as the trainer's [`Peers`].
struct JsPeers {
    group: PeerGroup,
    count: usize,
}

fn peer_error(err: JsValue) -> TrainingError {
    let message = err
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| err.as_string())
        .unwrap_or_else(|| format!("{err:?}"));
    TrainingError::Peer(message)
}

impl Peers for JsPeers {
    fn count(&self) -> usize {
        self.count
    }

    fn send(&mut self, work: Vec<ShardWork>) -> Result<(), TrainingError> {
        let messages = Array::new();
        for share in work {
            let message = Object::new();
            let set = |key: &str, value: &JsValue| Reflect::set(&message, &key.into(), value);
            if let Some(gradient) = &share.apply {
                set("apply", &Float32Array::from(&gradient[..]).into())
            } else {
                Ok(true)
            }
            .and_then(|_| set("applyAddsOwn", &share.apply_adds_own.into()))
            .and_then(|_| set("applyRate", &share.apply_rate.into()))
            .and_then(|_| set("images", &Uint8Array::from(&share.images[..]).into()))
            .and_then(|_| set("labels", &Uint8Array::from(&share.labels[..]).into()))
            .and_then(|_| set("batchLen", &(share.batch_len as f64).into()))
            .map_err(peer_error)?;
            messages.push(&message);
        }
        self.group.send(messages).map_err(peer_error)
    }

    fn receive(&mut self) -> PeerResults<'_> {
        Box::pin(async move {
            let promise = self.group.receive().map_err(peer_error)?;
            let replies = JsFuture::from(promise).await.map_err(peer_error)?;
            let replies: Array = replies.dyn_into().map_err(|_| {
                TrainingError::Peer("the helper workers' replies are not a list".into())
            })?;
            replies.iter().map(|reply| read_reply(&reply)).collect()
        })
    }
}

fn read_reply(reply: &JsValue) -> Result<ShardResult, TrainingError> {
    let get = |key: &str| Reflect::get(reply, &key.into()).unwrap_or(JsValue::UNDEFINED);
    let gradient: Float32Array = get("gradient")
        .dyn_into()
        .map_err(|_| TrainingError::Peer("a helper worker's reply has no gradient".into()))?;
    let (loss_sum, correct) = (get("lossSum").as_f64(), get("correct").as_f64());
    match (loss_sum, correct) {
        (Some(loss_sum), Some(correct)) if correct >= 0.0 => Ok(ShardResult {
            gradient: Arc::new(gradient.to_vec()),
            loss_sum,
            correct: correct as u64,
            // Only the split of later batches depends on it: a reply without it counts as busy.
            idle_seconds: get("idleSeconds").as_f64().unwrap_or(0.0),
        }),
        _ => Err(TrainingError::Peer(
            "a helper worker's reply has no loss or count".into(),
        )),
    }
}

#[wasm_bindgen]
impl WebTrainer {
    /// The current weights (`.ftw` bytes), for replicas in other workers.
    #[wasm_bindgen(js_name = replicaWeights)]
    pub async fn replica_weights(&self) -> Result<Vec<u8>, JsError> {
        self.trainer.replica_weights().await.map_err(js_err)
    }

    /// Shares each training batch with the replicas of `group`, made from
    /// [`replicaWeights`](Self::replica_weights) since the last step.
    #[wasm_bindgen(js_name = usePeers)]
    pub fn use_peers(&mut self, group: PeerGroup) {
        let count = group.count();
        if count > 0 {
            self.trainer.set_peers(Box::new(JsPeers { group, count }));
            self.selected = self.selected.clone().with_replicas(1 + count, "worker");
        }
    }

    /// Workers training each batch (1 plus the peers).
    #[wasm_bindgen(getter)]
    pub fn replicas(&self) -> usize {
        self.trainer.replicas()
    }
}

/// A replica of a run's model in a helper worker: it applies the trainer's summed gradient and
/// computes its share's, on the CPU.
#[wasm_bindgen]
pub struct WebReplica {
    replica: Replica,
}

/// A share's gradient, loss sum and right predictions.
#[wasm_bindgen]
pub struct WebShareResult {
    result: ShardResult,
}

#[wasm_bindgen]
impl WebShareResult {
    /// The gradient, flat (empty for an empty share), taken out: a second call gets an empty
    /// one (it is sent on at once).
    #[wasm_bindgen(js_name = takeGradient)]
    pub fn take_gradient(&mut self) -> Float32Array {
        Float32Array::from(&std::mem::take(&mut self.result.gradient)[..])
    }

    /// The share's summed cross-entropy.
    #[wasm_bindgen(getter, js_name = lossSum)]
    pub fn loss_sum(&self) -> f64 {
        self.result.loss_sum
    }

    /// Right predictions in the share.
    #[wasm_bindgen(getter)]
    pub fn correct(&self) -> f64 {
        self.result.correct as f64
    }

    /// Seconds the replica sat idle before this work.
    #[wasm_bindgen(getter, js_name = idleSeconds)]
    pub fn idle_seconds(&self) -> f64 {
        self.result.idle_seconds
    }
}

#[wasm_bindgen]
impl WebReplica {
    /// A replica of `weights` (from `WebTrainer.replicaWeights`) under `config`; `seed` seeds its
    /// dropout.
    pub fn create(
        config: Ts<TrainingConfig>,
        weights: Vec<u8>,
        seed: u32,
    ) -> Result<WebReplica, JsError> {
        let config = from_ts(config, "training config")?;
        let device = burn::tensor::Device::flex();
        let replica = Replica::new(config, &device, &weights, seed as u64).map_err(js_err)?;
        Ok(WebReplica { replica })
    }

    /// Applies `apply` (the trainer's last summed gradient, or with `apply_adds_own` its share,
    /// to which this replica adds its own last one) with learning rate `apply_rate`, then
    /// computes the gradient of the share (`images`: 784 bytes each, `labels`) of a batch of
    /// `batch_len`.
    pub async fn work(
        &mut self,
        apply: Option<Vec<f32>>,
        apply_adds_own: bool,
        apply_rate: f64,
        images: Vec<u8>,
        labels: Vec<u8>,
        batch_len: usize,
    ) -> Result<WebShareResult, JsError> {
        let work = ShardWork {
            apply: apply.map(Arc::new),
            apply_adds_own,
            apply_rate,
            images,
            labels,
            batch_len,
        };
        let result = self.replica.work(work).await.map_err(js_err)?;
        Ok(WebShareResult { result })
    }
}
