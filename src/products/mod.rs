//! Cross-domain evaluation on a product-photo catalogue in the Fashion Product Images layout
//! (`styles.csv` + `images/<id>.jpg`): map each row's `articleType` to a Fashion-MNIST class with
//! an editable label map, preprocess the photos of the mapped rows, predict, and report.
//!
//! Nothing here touches the filesystem: the CLI reads files from a directory, the page from a
//! chosen folder or a zip, and both hand the bytes to [`CatalogueRun`].

mod layout;

pub use layout::CatalogueLayout;

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::clock::now_seconds;
use crate::data::{CLASS_NAMES, DataError, Dataset, IMAGE_PIXELS, NUM_CLASSES};
use crate::format;
use crate::format::thousands;
use crate::metrics::ClassificationReport;
use crate::photo::{self, PhotoError, Preprocess};
use crate::training::Evaluation;

/// The label map shipped with the project (`data/product-label-map.csv`).
pub const BUILTIN_LABEL_MAP: &str = include_str!("../../data/product-label-map.csv");

/// How many mistakes a result keeps for the gallery (the most confident first).
pub const MAX_MISTAKES: usize = 200;

/// What is wrong with a catalogue or its label map.
#[derive(Debug, Error)]
pub enum CatalogueError {
    /// The label map (`articleType,class`) cannot be read.
    #[error("label map: {0}")]
    LabelMap(String),
    /// `styles.csv` cannot be read.
    #[error("styles.csv: {0}")]
    Styles(String),
    /// The chosen folder or zip holds no `styles.csv`.
    #[error("no styles.csv in {0}: a catalogue has styles.csv and images/<id>.jpg")]
    NoStyles(String),
    /// No catalogue directory was given or found.
    #[error("no catalogue found: pass --catalogue DIR (with styles.csv and images/)")]
    NotFound,
    /// A photo was given for a product that is not a mapped row.
    #[error("product {0} is not a mapped row")]
    UnknownProduct(String),
    /// A photo could not be used (it is recorded as skipped).
    #[error(transparent)]
    Photo(#[from] PhotoError),
    /// Not one photo of the catalogue could be used.
    #[error("no catalogue photo could be read")]
    NoPhotos,
    /// No row has an article type the label map knows.
    #[error(
        "none of the {0} rows of styles.csv has an article type the label map knows: there is \
         nothing to evaluate"
    )]
    NothingMapped(usize),
    /// The collected photos do not make a data set.
    #[error(transparent)]
    Data(#[from] DataError),
}

type Result<T, E = CatalogueError> = std::result::Result<T, E>;

fn map_error(message: String) -> CatalogueError {
    CatalogueError::LabelMap(message)
}

fn catalogue_error(message: String) -> CatalogueError {
    CatalogueError::Styles(message)
}

/// `articleType` → Fashion-MNIST class.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelMap {
    /// Article type (exactly as in `styles.csv`) → class index.
    pub classes: BTreeMap<String, u8>,
}

/// A class given by name (case-insensitive) or by index 0-9.
fn parse_class(text: &str) -> Option<u8> {
    let text = text.trim();
    if let Ok(index) = text.parse::<u8>() {
        return (usize::from(index) < NUM_CLASSES).then_some(index);
    }
    CLASS_NAMES
        .iter()
        .position(|name| name.eq_ignore_ascii_case(text))
        .map(|i| i as u8)
}

impl LabelMap {
    /// Parses `articleType,class` rows after a header; `#` starts a comment line.
    pub fn parse(text: &str) -> Result<Self> {
        let mut reader = csv::ReaderBuilder::new()
            .comment(Some(b'#'))
            .trim(csv::Trim::All)
            .flexible(true)
            .from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| map_error(e.to_string()))?
            .clone();
        if headers.len() < 2 {
            return Err(map_error(
                "expected a header 'articleType,class' and two columns".into(),
            ));
        }
        let mut classes = BTreeMap::new();
        for record in reader.records() {
            let record = record.map_err(|e| map_error(e.to_string()))?;
            let line = record.position().map_or(0, |p| p.line());
            let (Some(article), Some(class)) = (record.get(0), record.get(1)) else {
                return Err(map_error(format!("line {line}: expected two columns")));
            };
            if article.is_empty() {
                continue;
            }
            let label = parse_class(class).ok_or_else(|| {
                map_error(format!(
                    "line {line}: unknown class '{class}' (use one of {} or 0-9)",
                    CLASS_NAMES.join(", ")
                ))
            })?;
            if let Some(previous) = classes.insert(article.to_string(), label)
                && previous != label
            {
                return Err(map_error(format!(
                    "line {line}: '{article}' is mapped twice ({} and {})",
                    CLASS_NAMES[usize::from(previous)],
                    CLASS_NAMES[usize::from(label)]
                )));
            }
        }
        if classes.is_empty() {
            return Err(map_error("no article type is mapped".into()));
        }
        Ok(Self { classes })
    }

    /// The map shipped with the project.
    pub fn builtin() -> Self {
        Self::parse(BUILTIN_LABEL_MAP).expect("the built-in label map parses")
    }

    /// The class of an article type, if it has one.
    pub fn class_of(&self, article_type: &str) -> Option<u8> {
        self.classes.get(article_type.trim()).copied()
    }
}

/// One catalogue row that maps to a class.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
pub struct CatalogueItem {
    /// The product id; its photo is `images/<id>.jpg`.
    pub id: String,
    /// The catalogue's article type.
    pub article_type: String,
    /// The Fashion-MNIST class it maps to.
    pub label: u8,
}

/// The rows of a catalogue that can be evaluated, and what was left out.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
pub struct CataloguePlan {
    /// Rows in `styles.csv`.
    pub rows: usize,
    /// Rows whose article type maps to a class, in file order.
    pub items: Vec<CatalogueItem>,
    /// Article types without a class, with their row counts, most frequent first.
    pub unmapped: Vec<(String, usize)>,
}

/// The longest product id accepted.
const MAX_ID_CHARS: usize = 64;

/// A product id names its photo (`images/<id>.jpg`), so it must be a plain name: no `/`, `..`
/// or drive letter can lead the reader out of `images/`.
fn check_id(id: &str, line: u64) -> Result<()> {
    let plain = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if id.is_empty() || id.len() > MAX_ID_CHARS || !id.chars().all(plain) {
        return Err(catalogue_error(format!(
            "line {line}: product id '{}' is not a plain name of 1 to {MAX_ID_CHARS} letters, \
             digits, '-' or '_', so it cannot name a photo in images/",
            id.chars().take(MAX_ID_CHARS).collect::<String>()
        )));
    }
    Ok(())
}

impl CataloguePlan {
    /// Reads `styles.csv` (columns found by name: `id`, `articleType`) and applies `map`.
    pub fn new(styles_csv: &[u8], map: &LabelMap) -> Result<Self> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(styles_csv);
        let headers = reader
            .headers()
            .map_err(|e| catalogue_error(e.to_string()))?
            .clone();
        let column = |name: &str| {
            headers.iter().position(|h| h == name).ok_or_else(|| {
                catalogue_error(format!(
                    "no '{name}' column (the header is: {})",
                    headers.iter().collect::<Vec<_>>().join(",")
                ))
            })
        };
        let (id_col, type_col) = (column("id")?, column("articleType")?);
        let mut plan = CataloguePlan::default();
        let mut unmapped: BTreeMap<String, usize> = BTreeMap::new();
        let mut first_line: HashMap<String, u64> = HashMap::new();
        for record in reader.records() {
            let record = record.map_err(|e| catalogue_error(e.to_string()))?;
            let (Some(id), Some(article)) = (record.get(id_col), record.get(type_col)) else {
                let line = record.position().map_or(0, |p| p.line());
                return Err(catalogue_error(format!("line {line} has too few columns")));
            };
            let line = record.position().map_or(0, |p| p.line());
            check_id(id, line)?;
            if let Some(first) = first_line.insert(id.to_string(), line) {
                return Err(catalogue_error(format!(
                    "line {line}: product id '{id}' is listed twice (first on line {first})"
                )));
            }
            plan.rows += 1;
            match map.class_of(article) {
                Some(label) => plan.items.push(CatalogueItem {
                    id: id.to_string(),
                    article_type: article.to_string(),
                    label,
                }),
                None => *unmapped.entry(article.to_string()).or_default() += 1,
            }
        }
        let mut unmapped: Vec<(String, usize)> = unmapped.into_iter().collect();
        unmapped.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        plan.unmapped = unmapped;
        Ok(plan)
    }
}

impl CataloguePlan {
    /// Mapped rows per class, in label order.
    pub fn class_counts(&self) -> [usize; NUM_CLASSES] {
        let mut counts = [0; NUM_CLASSES];
        for item in &self.items {
            counts[usize::from(item.label)] += 1;
        }
        counts
    }

    /// What would be evaluated, in one sentence:
    /// `6 rows in styles.csv: 4 map to a class (Trouser 2, Shirt 2); 2 left out (1 article type
    /// without a class).`
    pub fn describe(&self) -> String {
        let left: usize = self.unmapped.iter().map(|(_, n)| n).sum();
        let classes: Vec<String> = self
            .class_counts()
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| format!("{} {}", CLASS_NAMES[k], thousands(*n)))
            .collect();
        let classes = if classes.is_empty() {
            String::new()
        } else {
            format!(" ({})", classes.join(", "))
        };
        let types = self.unmapped.len();
        format!(
            "{} rows in styles.csv: {} map to a class{classes}; {} left out ({} article type{} without a class).",
            thousands(self.rows),
            thousands(self.items.len()),
            thousands(left),
            thousands(types),
            if types == 1 { "" } else { "s" }
        )
    }
}

/// A photo of the plan that could not be used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
pub struct SkippedPhoto {
    /// The product id.
    pub id: String,
    /// Why (missing file, corrupt image, ...).
    pub reason: String,
}

/// A wrong prediction, for the gallery.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
pub struct Mistake {
    /// The product id.
    pub id: String,
    /// The catalogue's article type.
    pub article_type: String,
    /// The mapped (true) class.
    pub label: u8,
    /// The predicted class.
    pub predicted: u8,
    /// The predicted class's probability.
    pub confidence: f32,
}

/// The outcome of a catalogue evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
pub struct CatalogueResult {
    /// The crop mode used.
    pub preprocess: Preprocess,
    /// Rows in `styles.csv`.
    pub rows: usize,
    /// Photos evaluated.
    pub evaluated: usize,
    /// Top-1 accuracy over the evaluated photos.
    pub accuracy: f64,
    /// Per-class scores and the confusion matrix (classes without photos marked).
    pub report: ClassificationReport,
    /// Article types without a class, with counts.
    pub unmapped: Vec<(String, usize)>,
    /// Mapped rows whose photo was missing or unreadable.
    pub skipped: Vec<SkippedPhoto>,
    /// The most confident mistakes, at most [`MAX_MISTAKES`].
    pub mistakes: Vec<Mistake>,
}

/// Preprocessed photos of a plan, collected one by one (the page reports progress between them).
#[derive(Clone, Debug)]
pub struct CatalogueRun {
    plan: CataloguePlan,
    preprocess: Preprocess,
    /// Index into `plan.items` of each collected photo.
    collected: Vec<usize>,
    inputs: Vec<u8>,
    skipped: Vec<SkippedPhoto>,
    index_of: BTreeMap<String, usize>,
    /// When collecting started ([`now_seconds`]), for the pace.
    started: f64,
}

/// How far collecting a catalogue's photos has come.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
pub struct CatalogueProgress {
    /// Photos handled: collected, missing or unreadable.
    pub done: usize,
    /// Mapped rows.
    pub total: usize,
    /// Photos handled per second so far (NaN at first).
    pub photos_per_second: f64,
    /// Estimated seconds left (NaN at first).
    pub eta_seconds: f64,
    /// `12/100 photos · 3.4 photos/s · ETA 00:26`.
    pub line: String,
}

impl CatalogueRun {
    /// Starts collecting the photos of `plan`.
    pub fn new(plan: CataloguePlan, preprocess: Preprocess) -> Self {
        let index_of = plan
            .items
            .iter()
            .enumerate()
            .map(|(i, item)| (item.id.clone(), i))
            .collect();
        Self {
            plan,
            preprocess,
            collected: Vec::new(),
            inputs: Vec::new(),
            skipped: Vec::new(),
            index_of,
            started: now_seconds(),
        }
    }

    /// The plan being evaluated.
    pub fn plan(&self) -> &CataloguePlan {
        &self.plan
    }

    /// Preprocesses the photo of product `id`; a bad photo is recorded as skipped and its error
    /// returned, so one broken file never stops a catalogue.
    pub fn add_photo(&mut self, id: &str, bytes: &[u8]) -> Result<()> {
        let index = self.index(id)?;
        // A blank photo is skipped like a broken one: a class for it would be noise.
        let input = photo::preprocess(bytes, self.preprocess)
            .and_then(|steps| steps.classifiable().map(<[u8]>::to_vec));
        match input {
            Ok(input) => {
                self.collected.push(index);
                self.inputs.extend_from_slice(&input);
                Ok(())
            }
            Err(err) => {
                self.skip(id, err.to_string());
                Err(err.into())
            }
        }
    }

    /// Records that product `id` has no photo.
    pub fn add_missing(&mut self, id: &str) {
        self.skip(id, format!("no photo images/{id}.jpg"));
    }

    /// Records that the photo of product `id` could not be read, and why (say, an encrypted
    /// zip entry), so the result lists it with the others.
    pub fn add_skipped(&mut self, id: &str, reason: &str) {
        self.skip(id, reason.to_string());
    }

    fn skip(&mut self, id: &str, reason: String) {
        self.skipped.push(SkippedPhoto {
            id: id.to_string(),
            reason,
        });
    }

    fn index(&self, id: &str) -> Result<usize> {
        self.index_of
            .get(id)
            .copied()
            .ok_or_else(|| CatalogueError::UnknownProduct(id.to_string()))
    }

    /// Photos collected so far.
    pub fn collected(&self) -> usize {
        self.collected.len()
    }

    /// The model input (784 bytes) of collected product `id`.
    pub fn input_of(&self, id: &str) -> Option<&[u8]> {
        let index = *self.index_of.get(id)?;
        let position = self.collected.iter().position(|&i| i == index)?;
        Some(&self.inputs[position * IMAGE_PIXELS..(position + 1) * IMAGE_PIXELS])
    }

    /// How far collecting has come: photos handled (collected or skipped) of all mapped rows,
    /// with the pace since the first one.
    pub fn progress(&self) -> CatalogueProgress {
        let done = self.collected.len() + self.skipped.len();
        let total = self.plan.items.len();
        let seconds = now_seconds() - self.started;
        // Under a fifth of a second says nothing about the pace yet.
        let photos_per_second = if seconds > 0.2 {
            done as f64 / seconds
        } else {
            f64::NAN
        };
        let eta_seconds = (total - done.min(total)) as f64 / photos_per_second;
        let rate = if photos_per_second.is_finite() {
            format!("{photos_per_second:.1}")
        } else {
            "—".to_string()
        };
        CatalogueProgress {
            done,
            total,
            photos_per_second,
            eta_seconds,
            line: format!(
                "{done}/{total} photos · {rate} photos/s · ETA {}",
                format::clock(eta_seconds)
            ),
        }
    }

    /// The collected photos as a labelled data set, in collection order; an error when not
    /// one photo could be used.
    pub fn dataset(&self) -> Result<Dataset> {
        if self.plan.items.is_empty() {
            return Err(CatalogueError::NothingMapped(self.plan.rows));
        }
        if self.collected.is_empty() {
            return Err(CatalogueError::NoPhotos);
        }
        let labels = self
            .collected
            .iter()
            .map(|&i| self.plan.items[i].label)
            .collect();
        Ok(Dataset::new(self.inputs.clone(), labels)?)
    }

    /// The result, from an evaluation (with probabilities) of [`dataset`](Self::dataset).
    pub fn finish(&self, evaluation: &Evaluation) -> CatalogueResult {
        let report = ClassificationReport::new(&evaluation.labels, &evaluation.predictions);
        let mut mistakes: Vec<Mistake> = self
            .collected
            .iter()
            .enumerate()
            .filter_map(|(k, &i)| {
                let item = &self.plan.items[i];
                let predicted = *evaluation.predictions.get(k)?;
                (predicted != item.label).then(|| Mistake {
                    id: item.id.clone(),
                    article_type: item.article_type.clone(),
                    label: item.label,
                    predicted,
                    confidence: evaluation
                        .probabilities
                        .get(k * NUM_CLASSES + usize::from(predicted))
                        .copied()
                        .unwrap_or(0.0),
                })
            })
            .collect();
        mistakes.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        mistakes.truncate(MAX_MISTAKES);
        CatalogueResult {
            preprocess: self.preprocess,
            rows: self.plan.rows,
            evaluated: evaluation.labels.len(),
            accuracy: report.accuracy,
            report,
            unmapped: self.plan.unmapped.clone(),
            skipped: self.skipped.clone(),
            mistakes,
        }
    }
}

impl CatalogueResult {
    /// A plain-text summary: accuracy, the classification report and the left-out rows.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{} of {} catalogue rows evaluated ({} preprocessing): top-1 accuracy {:.2}%\n\n",
            self.evaluated,
            self.rows,
            self.preprocess,
            100.0 * self.accuracy
        );
        out.push_str(&self.report.to_text(4));
        out.push_str("\nConfusion matrix (rows: true class, columns: predicted class)\n");
        out.push_str(&self.report.confusion.to_text());
        if !self.skipped.is_empty() {
            out.push_str(&format!("\n{} mapped rows skipped:\n", self.skipped.len()));
            for s in self.skipped.iter().take(20) {
                out.push_str(&format!("  {}: {}\n", s.id, s.reason));
            }
        }
        let left_out: usize = self.unmapped.iter().map(|(_, n)| n).sum();
        out.push_str(&format!(
            "\nUnmapped article types ({left_out} rows): {}\n",
            self.unmapped
                .iter()
                .map(|(t, n)| format!("{t} ({n})"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STYLES: &str = "id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage\n\
        15970,Men,Apparel,Topwear,Shirts,Navy Blue,Fall,2011,Casual\n\
        39386,Men,Apparel,Bottomwear,Jeans,Blue,Summer,2012,Casual\n\
        59263,Women,Accessories,Watches,Watches,Silver,Winter,2016,Casual\n\
        21379,Men,Apparel,Bottomwear,Track Pants,Black,Fall,2011,Casual\n\
        53759,Men,Apparel,Topwear,Tshirts,Grey,Summer,2012,Casual\n\
        1855,Men,Accessories,Watches,Watches,Grey,Summer,2012,\n";

    #[test]
    fn builtin_map_parses_and_maps_the_obvious_types() {
        let map = LabelMap::builtin();
        assert_eq!(map.class_of("Tshirts"), Some(0));
        assert_eq!(map.class_of("Jeans"), Some(1));
        assert_eq!(map.class_of("Handbags"), Some(8));
        assert_eq!(map.class_of("Watches"), None);
    }

    #[test]
    fn map_accepts_names_and_indices_and_rejects_junk() {
        let map = LabelMap::parse("articleType,class\nBoots,ankle boot\nSkirts,3\n").unwrap();
        assert_eq!(map.class_of("Boots"), Some(9));
        assert_eq!(map.class_of("Skirts"), Some(3));
        let err = LabelMap::parse("articleType,class\nBoots,Hat\n").unwrap_err();
        assert!(
            err.to_string().contains("line 2: unknown class 'Hat'"),
            "{err}"
        );
        let err = LabelMap::parse("articleType,class\nBoots,9\nBoots,5\n").unwrap_err();
        assert!(err.to_string().contains("mapped twice"), "{err}");
        assert!(LabelMap::parse("articleType,class\n").is_err());
    }

    #[test]
    fn plan_keeps_mapped_rows_and_counts_the_rest() {
        let plan = CataloguePlan::new(STYLES.as_bytes(), &LabelMap::builtin()).unwrap();
        assert_eq!(plan.rows, 6);
        let ids: Vec<&str> = plan.items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["15970", "39386", "21379", "53759"]);
        assert_eq!(plan.items[0].label, 6);
        assert_eq!(plan.unmapped, vec![("Watches".to_string(), 2)]);
        assert_eq!(
            plan.describe(),
            "6 rows in styles.csv: 4 map to a class (T-shirt/top 1, Trouser 2, Shirt 1); \
             2 left out (1 article type without a class)."
        );
    }

    #[test]
    fn ids_that_are_not_plain_names_or_repeat_are_refused_by_line() {
        let header = "id,articleType\n";
        for (row, expect) in [
            (
                "../../etc/passwd,Tshirts",
                "line 2: product id '../../etc/passwd' is not a plain name",
            ),
            ("/etc/passwd,Tshirts", "line 2: product id '/etc/passwd'"),
            ("C:\\x,Tshirts", "not a plain name"),
            ("a.b,Watches", "not a plain name"),
            ("\"\",Tshirts", "product id ''"),
            (
                "1,Tshirts\n2,Tshirts\n1,Watches",
                "line 4: product id '1' is listed twice (first on line 2)",
            ),
        ] {
            let csv = format!("{header}{row}\n");
            let err = CataloguePlan::new(csv.as_bytes(), &LabelMap::builtin())
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("styles.csv: "), "{err}");
            assert!(err.contains(expect), "{expect}: {err}");
        }
        let long = "9".repeat(MAX_ID_CHARS + 1);
        let csv = format!("{header}{long},Tshirts\n");
        assert!(CataloguePlan::new(csv.as_bytes(), &LabelMap::builtin()).is_err());
        let csv = format!("{header}ab-12_C,Tshirts\n");
        assert!(CataloguePlan::new(csv.as_bytes(), &LabelMap::builtin()).is_ok());
    }

    #[test]
    fn plan_names_a_missing_column() {
        let err = CataloguePlan::new(b"id,name\n1,x\n", &LabelMap::builtin()).unwrap_err();
        assert!(err.to_string().contains("no 'articleType' column"), "{err}");
    }

    #[test]
    fn a_catalogue_without_photos_is_an_error() {
        let plan = CataloguePlan::new(STYLES.as_bytes(), &LabelMap::builtin()).unwrap();
        let mut run = CatalogueRun::new(plan, Preprocess::Auto);
        run.add_missing("15970");
        assert!(matches!(run.dataset(), Err(CatalogueError::NoPhotos)));
    }

    #[test]
    fn run_collects_photos_and_reports_mistakes() {
        let plan = CataloguePlan::new(STYLES.as_bytes(), &LabelMap::builtin()).unwrap();
        let mut run = CatalogueRun::new(plan, Preprocess::Center);
        let png_of = |photo: image::RgbImage| {
            let mut png = Vec::new();
            image::DynamicImage::ImageRgb8(photo)
                .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
                .unwrap();
            png
        };
        let png = png_of(image::RgbImage::from_fn(30, 30, |x, _| {
            image::Rgb(if x < 15 { [9, 9, 9] } else { [240, 240, 240] })
        }));
        run.add_photo("15970", &png).unwrap();
        run.add_photo("39386", &png).unwrap();
        assert!(run.add_photo("21379", b"not an image").is_err());
        // A blank photo is skipped with the reason, not given a class.
        let blank = png_of(image::RgbImage::from_pixel(30, 30, image::Rgb([9, 9, 9])));
        let err = run.add_photo("53759", &blank).unwrap_err().to_string();
        assert!(err.starts_with("no object found"), "{err}");
        assert!(
            run.add_photo("59263", &png).is_err(),
            "unmapped ids are refused"
        );
        assert_eq!(run.collected(), 2);
        let progress = run.progress();
        assert_eq!((progress.done, progress.total), (4, 4));
        assert!(progress.line.starts_with("4/4 photos · "), "{progress:?}");
        assert_eq!(run.input_of("39386").unwrap().len(), IMAGE_PIXELS);
        let set = run.dataset().unwrap();
        assert_eq!(set.labels(), &[6, 1]);
        // Pretend the model said "Shirt" for both: one right, one wrong.
        let mut probabilities = vec![0.0f32; 20];
        probabilities[6] = 0.9;
        probabilities[16] = 0.7;
        let evaluation = Evaluation {
            loss: 0.0,
            predictions: vec![6, 6],
            labels: vec![6, 1],
            probabilities,
            logits: Vec::new(),
        };
        let result = run.finish(&evaluation);
        assert_eq!(result.evaluated, 2);
        assert!((result.accuracy - 0.5).abs() < 1e-12);
        assert_eq!(result.skipped.len(), 2);
        assert!(
            result.skipped[1].reason.contains("blank"),
            "{:?}",
            result.skipped
        );
        assert_eq!(result.mistakes.len(), 1);
        assert_eq!(result.mistakes[0].id, "39386");
        assert!((result.mistakes[0].confidence - 0.7).abs() < 1e-6);
        let text = result.to_text();
        assert!(text.contains("(no support)"), "{text}");
        assert!(text.contains("Watches (2)"), "{text}");
    }
}
