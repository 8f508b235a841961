//! A product catalogue in the browser: where its files are in a chosen folder or zip, and its
//! photos collected one by one (the worker reads the files; everything else happens here).

use serde::Serialize;
use tsify::{Ts, Tsify};
use wasm_bindgen::prelude::*;

use super::{from_ts, js_err, to_ts};
use crate::data::{IMAGE_SIDE, NUM_CLASSES};
use crate::photo::Preprocess;
use crate::products::{CatalogueLayout, CataloguePlan, CatalogueProgress, CatalogueRun, LabelMap};

use super::RgbaImage;

/// Where `styles.csv` and the photos are among a folder's or a zip's paths.
#[wasm_bindgen]
pub struct WebCatalogueLayout {
    layout: CatalogueLayout,
}

#[wasm_bindgen]
impl WebCatalogueLayout {
    /// Finds the catalogue in `paths` (`/`-separated, relative to the folder or zip called
    /// `source`); no `styles.csv` is an error saying what a catalogue holds.
    #[wasm_bindgen(constructor)]
    pub fn new(paths: Vec<String>, source: &str) -> Result<WebCatalogueLayout, JsError> {
        Ok(Self {
            layout: CatalogueLayout::find(&paths, source).map_err(js_err)?,
        })
    }

    /// Index of `styles.csv` in the paths.
    #[wasm_bindgen(getter)]
    pub fn styles(&self) -> usize {
        self.layout.styles
    }

    /// The path of `styles.csv`.
    #[wasm_bindgen(getter, js_name = stylesPath)]
    pub fn styles_path(&self) -> String {
        self.layout.styles_path.clone()
    }

    /// Index of the photo of product `id`, or `undefined` when there is none.
    #[wasm_bindgen(js_name = imageOf)]
    pub fn image_of(&self, id: &str) -> Option<usize> {
        self.layout.image_of(id)
    }

    /// Photos in `images/`.
    #[wasm_bindgen(getter, js_name = imageCount)]
    pub fn image_count(&self) -> usize {
        self.layout.image_count()
    }
}

/// What a catalogue would evaluate, before any photo is read.
#[derive(Serialize, Tsify)]
pub struct PlanView {
    /// Rows in `styles.csv`.
    pub rows: usize,
    /// Rows that map to a class.
    pub mapped: usize,
    /// Mapped rows per class.
    pub class_counts: [usize; NUM_CLASSES],
    /// Article types without a class, with their row counts.
    pub unmapped: Vec<(String, usize)>,
    /// All of it in one sentence.
    pub description: String,
}

/// A label map and `styles.csv` checked: what would be evaluated, or which of the two is at
/// fault and why.
#[derive(Serialize, Tsify)]
pub struct CatalogueCheck {
    /// What would be evaluated, when both can be read.
    pub plan: Option<PlanView>,
    /// What is wrong with the label map.
    pub label_map_error: Option<String>,
    /// What is wrong with `styles.csv`.
    pub styles_error: Option<String>,
}

/// Checks a label map (CSV text) and, when one is chosen, a catalogue's `styles.csv`.
#[wasm_bindgen(js_name = checkCatalogue)]
pub fn check_catalogue(
    styles_csv: Option<Vec<u8>>,
    label_map_csv: &str,
) -> Result<Ts<CatalogueCheck>, JsError> {
    let check = match LabelMap::parse(label_map_csv) {
        Err(err) => CatalogueCheck {
            plan: None,
            label_map_error: Some(err.to_string()),
            styles_error: None,
        },
        Ok(map) => {
            match CataloguePlan::new(styles_csv.as_deref().unwrap_or(b"id,articleType\n"), &map) {
                Ok(plan) => CatalogueCheck {
                    plan: Some(PlanView::of(&plan)),
                    label_map_error: None,
                    styles_error: None,
                },
                Err(err) => CatalogueCheck {
                    plan: None,
                    label_map_error: None,
                    styles_error: Some(err.to_string()),
                },
            }
        }
    };
    to_ts(&check)
}

impl PlanView {
    fn of(plan: &CataloguePlan) -> Self {
        PlanView {
            rows: plan.rows,
            mapped: plan.items.len(),
            class_counts: plan.class_counts(),
            unmapped: plan.unmapped.clone(),
            description: plan.describe(),
        }
    }
}

/// A product catalogue being collected for evaluation (Fashion Product Images layout).
#[wasm_bindgen]
pub struct WebCatalogue {
    pub(super) run: CatalogueRun,
}

#[wasm_bindgen]
impl WebCatalogue {
    /// Reads `styles.csv` and applies the label map (CSV text). Errors name the bad line or the
    /// missing column, and say whether the label map or `styles.csv` is at fault.
    #[wasm_bindgen(constructor)]
    pub fn new(
        styles_csv: &[u8],
        label_map_csv: &str,
        preprocess: Ts<Preprocess>,
    ) -> Result<WebCatalogue, JsError> {
        let map = LabelMap::parse(label_map_csv).map_err(js_err)?;
        let preprocess = from_ts(preprocess, "preprocessing mode")?;
        let plan = CataloguePlan::new(styles_csv, &map).map_err(js_err)?;
        Ok(WebCatalogue {
            run: CatalogueRun::new(plan, preprocess),
        })
    }

    /// The ids of the mapped rows, whose photos `images/<id>.jpg` are wanted.
    pub fn ids(&self) -> Vec<String> {
        self.run.plan().items.iter().map(|i| i.id.clone()).collect()
    }

    /// Preprocesses the photo of product `id`. A bad photo throws (with the reason) and is
    /// recorded as skipped; the catalogue stays usable.
    #[wasm_bindgen(js_name = addPhoto)]
    pub fn add_photo(&mut self, id: &str, bytes: &[u8]) -> Result<(), JsError> {
        self.run.add_photo(id, bytes).map_err(js_err)
    }

    /// Records that product `id` has no photo.
    #[wasm_bindgen(js_name = addMissing)]
    pub fn add_missing(&mut self, id: &str) {
        self.run.add_missing(id);
    }

    /// Records that the photo of product `id` could not be read, and why.
    #[wasm_bindgen(js_name = addSkipped)]
    pub fn add_skipped(&mut self, id: &str, reason: &str) {
        self.run.add_skipped(id, reason);
    }

    /// Photos preprocessed so far.
    #[wasm_bindgen(getter)]
    pub fn collected(&self) -> usize {
        self.run.collected()
    }

    /// How far collecting has come, with its pace and ETA.
    pub fn progress(&self) -> Result<Ts<CatalogueProgress>, JsError> {
        to_ts(&self.run.progress())
    }

    /// The 28x28 model input of collected product `id`, for a canvas.
    #[wasm_bindgen(js_name = inputImage)]
    pub fn input_image(&self, id: &str) -> Result<Ts<RgbaImage>, JsError> {
        let input = self
            .run
            .input_of(id)
            .ok_or_else(|| js_err(format!("product {id} was not preprocessed")))?;
        to_ts(&RgbaImage::gray(IMAGE_SIDE as u32, input))
    }
}
