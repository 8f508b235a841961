//! A product catalogue: the label map (`LabelMap::parse`), `styles.csv` (`CataloguePlan::new`)
//! and where the files are among a folder's or a zip's paths (`CatalogueLayout::find`), as
//! `evaluate-products` and the page's "Product catalogue" read them.
//!
//! Input: the label map, a NUL byte, `styles.csv`, a NUL byte, then the paths one a line. A
//! label map that is not UTF-8 (the CLI refuses such a file) or does not parse is replaced by
//! the built-in one, so `styles.csv` is always read.
#![no_main]

use fashion_trainer::data::NUM_CLASSES;
use fashion_trainer::products::{CatalogueLayout, CataloguePlan, LabelMap};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == 0);
    let map_text = parts.next().unwrap_or_default();
    let styles = parts.next().unwrap_or_default();
    let paths = parts.next().unwrap_or_default();

    let map = match std::str::from_utf8(map_text).map(LabelMap::parse) {
        Ok(Ok(map)) => {
            assert!(!map.classes.is_empty());
            assert!(map.classes.values().all(|&c| usize::from(c) < NUM_CLASSES));
            map
        }
        _ => LabelMap::builtin(),
    };

    if let Ok(plan) = CataloguePlan::new(styles, &map) {
        let left: usize = plan.unmapped.iter().map(|(_, n)| n).sum();
        assert_eq!(plan.items.len() + left, plan.rows);
        assert_eq!(plan.class_counts().iter().sum::<usize>(), plan.items.len());
        assert!(
            plan.items
                .iter()
                .all(|i| map.class_of(&i.article_type) == Some(i.label))
        );
        let _ = plan.describe();
    }

    let paths: Vec<String> = String::from_utf8_lossy(paths)
        .lines()
        .map(str::to_string)
        .collect();
    if let Ok(layout) = CatalogueLayout::find(&paths, "fuzz") {
        assert_eq!(paths[layout.styles], layout.styles_path);
        assert!(layout.image_count() <= paths.len());
        for path in &paths {
            let name = path.rsplit('/').next().unwrap_or(path);
            if let Some(id) = name.strip_suffix(".jpg")
                && let Some(index) = layout.image_of(id)
            {
                assert!(index < paths.len());
            }
        }
    }
});
