//! Where a catalogue's files are among the paths of a chosen folder or zip: the shallowest
//! `styles.csv`, and `images/<id>.jpg` (the ones next to that `styles.csv` win over same-named
//! photos elsewhere; names match whatever their case, as `123.JPG` is `123.jpg` to a user).

use std::collections::BTreeMap;

use super::CatalogueError;

/// The files of a catalogue, as indices into the list of paths it was found in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogueLayout {
    /// The path of `styles.csv`.
    pub styles_path: String,
    /// Index of `styles.csv` in the paths.
    pub styles: usize,
    /// Lower-case file name (`123.jpg`) → index of the photo in the paths.
    images: BTreeMap<String, usize>,
}

impl CatalogueLayout {
    /// Finds `styles.csv` and the photos in `paths` (`/`-separated, relative to the folder or
    /// zip called `source`, which only names it in the error).
    pub fn find(paths: &[String], source: &str) -> Result<Self, CatalogueError> {
        let depth = |p: &str| p.split('/').count();
        let (styles, styles_path) = paths
            .iter()
            .enumerate()
            .filter(|(_, p)| file_name(p).eq_ignore_ascii_case("styles.csv"))
            .min_by_key(|(_, p)| depth(p))
            .ok_or_else(|| CatalogueError::NoStyles(source.to_string()))?;
        let own_images = format!(
            "{}images/",
            &styles_path[..styles_path.len() - "styles.csv".len()]
        )
        .to_lowercase();
        let mut images = BTreeMap::new();
        for (index, path) in paths.iter().enumerate() {
            let lower = path.to_lowercase();
            let Some(dir) = lower.strip_suffix(file_name(&lower)) else {
                continue;
            };
            if !(dir == "images/" || dir.ends_with("/images/")) || file_name(&lower).is_empty() {
                continue;
            }
            let own = lower.starts_with(&own_images);
            let key = file_name(&lower).to_string();
            if own || !images.contains_key(&key) {
                images.insert(key, index);
            }
        }
        Ok(Self {
            styles_path: styles_path.clone(),
            styles,
            images,
        })
    }

    /// Index of the photo of product `id` (`images/<id>.jpg`), if the catalogue has one.
    pub fn image_of(&self, id: &str) -> Option<usize> {
        self.images
            .get(&format!("{id}.jpg").to_lowercase())
            .copied()
    }

    /// Photos found in `images/`.
    pub fn image_count(&self) -> usize {
        self.images.len()
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(list: &[&str]) -> Vec<String> {
        list.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn the_shallowest_styles_and_its_own_images_win() {
        let list = paths(&[
            "shop/old/styles.csv",
            "shop/styles.csv",
            "shop/old/images/1.jpg",
            "shop/images/1.JPG",
            "shop/images/2.jpg",
            "shop/notes/3.jpg",
            "shop/images/",
        ]);
        let layout = CatalogueLayout::find(&list, "shop").unwrap();
        assert_eq!(
            (layout.styles, layout.styles_path.as_str()),
            (1, "shop/styles.csv")
        );
        assert_eq!(layout.image_of("1"), Some(3));
        assert_eq!(layout.image_of("2"), Some(4));
        assert_eq!(layout.image_of("3"), None);
        assert_eq!(layout.image_count(), 2);
    }

    #[test]
    fn photos_elsewhere_count_when_the_own_folder_lacks_them() {
        let list = paths(&["styles.csv", "other/images/7.jpg"]);
        let layout = CatalogueLayout::find(&list, "c.zip").unwrap();
        assert_eq!(layout.image_of("7"), Some(1));
    }

    #[test]
    fn no_styles_is_a_clear_error() {
        let err = CatalogueLayout::find(&paths(&["images/1.jpg"]), "photos.zip").unwrap_err();
        assert_eq!(
            err.to_string(),
            "no styles.csv in photos.zip: a catalogue has styles.csv and images/<id>.jpg"
        );
    }
}
