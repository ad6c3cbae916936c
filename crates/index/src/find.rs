//! The browser's search-and-filter box: free text (full-text index, prefix
//! matching), capture-date range, camera, "has GPS", tag, optionally limited
//! to one folder's subtree. Every condition narrows the result.

use crate::{subtree_bounds, AssetId, FolderId, Index, Result};
use rusqlite::types::Value;
use serde::{Deserialize, Serialize};

/// What the user asked for; empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct AssetFilter {
    pub text: Option<String>,
    /// Inclusive dates, `YYYY-MM-DD`, compared with the local capture time
    /// (stored as `YYYY-MM-DDTHH:MM:SS`).
    pub taken_from: Option<String>,
    pub taken_to: Option<String>,
    /// Matches make or model, case-insensitively ("sony", "DJI FC300").
    pub camera: Option<String>,
    pub has_gps: bool,
    pub tag: Option<String>,
    /// Only this folder and below.
    #[serde(deserialize_with = "folder_id_option")]
    pub within: Option<FolderId>,
    /// At most this many results (default 500).
    pub limit: Option<u32>,
}

fn folder_id_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<FolderId>, D::Error> {
    Ok(Option::<i64>::deserialize(d)?.map(FolderId))
}

/// One hit: enough to draw a tile and say where it lives.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FoundAsset {
    pub id: AssetId,
    pub name: String,
    pub kind: String,
    pub size: u64,
    pub taken_at_local: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub thumb_state: String,
    pub folder: FolderId,
    pub folder_name: String,
}

/// Words → an FTS5 query where each word must appear as a prefix. Quoting
/// every word means punctuation the user types is never FTS syntax.
pub fn fts_prefix_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{w}\"*"))
        .collect();
    (!words.is_empty()).then(|| words.join(" AND "))
}

/// A valid `YYYY-MM-DD` (also accepting `/` or `:` separators), normalized to dashes.
fn iso_date(date: &str) -> Option<String> {
    let parts: Vec<&str> = date.trim().split(['-', ':', '/']).collect();
    match parts.as_slice() {
        [y, m, d]
            if y.len() == 4
                && m.len() == 2
                && d.len() == 2
                && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_digit())) =>
        {
            Some(format!("{y}-{m}-{d}"))
        }
        _ => None,
    }
}

impl Index {
    /// Photos and files matching every condition of `filter`, in capture order.
    pub fn find_assets(&self, filter: &AssetFilter) -> Result<Vec<FoundAsset>> {
        let mut conditions = vec!["1".to_string()];
        let mut values: Vec<Value> = Vec::new();
        let bind = |value: Value, values: &mut Vec<Value>| {
            values.push(value);
            format!("?{}", values.len())
        };
        if let Some(query) = filter.text.as_deref().and_then(fts_prefix_query) {
            let p = bind(Value::Text(query), &mut values);
            conditions.push(format!(
                "a.id IN (SELECT rowid FROM assets_fts WHERE assets_fts MATCH {p})"
            ));
        }
        if let Some(from) = filter.taken_from.as_deref().and_then(iso_date) {
            let p = bind(Value::Text(from), &mut values);
            conditions.push(format!("a.taken_at_local >= {p}"));
        }
        if let Some(to) = filter.taken_to.as_deref().and_then(iso_date) {
            // Everything that day: '2025-01-31T23:59:59' < '2025-01-31~'.
            let p = bind(Value::Text(format!("{to}~")), &mut values);
            conditions.push(format!("a.taken_at_local < {p}"));
        }
        if let Some(camera) = filter
            .camera
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            let p = bind(Value::Text(format!("%{camera}%")), &mut values);
            conditions.push(format!(
                "(coalesce(a.make, '') || ' ' || coalesce(a.model, '')) LIKE {p}"
            ));
        }
        if filter.has_gps {
            conditions.push("a.latitude IS NOT NULL".into());
        }
        if let Some(tag) = filter
            .tag
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            let p = bind(Value::Text(tag.to_string()), &mut values);
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM asset_tags at JOIN tags t ON t.id = at.tag_id WHERE at.asset_id = a.id AND t.name = {p})"
            ));
        }
        if let Some(within) = filter.within {
            let info = self.folder(within)?;
            let library = bind(Value::Integer(info.library.0), &mut values);
            match subtree_bounds(&info.rel_path) {
                None => conditions.push(format!("f.library_id = {library}")),
                Some((low, high)) => {
                    let id = bind(Value::Integer(within.0), &mut values);
                    let low = bind(Value::Blob(low), &mut values);
                    let high = bind(Value::Blob(high), &mut values);
                    conditions.push(format!(
                        "f.library_id = {library} AND (f.id = {id} OR (f.rel_path >= {low} AND f.rel_path < {high}))"
                    ));
                }
            }
        }
        let limit = bind(
            Value::Integer(filter.limit.unwrap_or(500).min(10_000) as i64),
            &mut values,
        );
        let sql = format!(
            "SELECT a.id, a.name, a.kind, a.size, a.taken_at_local, a.width, a.height, a.thumb_state, f.id, f.name
             FROM assets a JOIN folders f ON f.id = a.folder_id
             WHERE {}
             ORDER BY a.taken_at_local IS NULL, a.taken_at_local, a.name LIMIT {limit}",
            conditions.join(" AND ")
        );
        let mut statement = self.conn().prepare(&sql)?;
        let rows = statement.query_map(rusqlite::params_from_iter(values), |r| {
            Ok(FoundAsset {
                id: r.get(0)?,
                name: r.get(1)?,
                kind: r.get(2)?,
                size: r.get::<_, i64>(3)? as u64,
                taken_at_local: r.get(4)?,
                width: r.get(5)?,
                height: r.get(6)?,
                thumb_state: r.get(7)?,
                folder: r.get(8)?,
                folder_name: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AssetRecord, MediaFields, ThumbState};

    fn add(
        index: &mut Index,
        library: crate::LibraryId,
        rel: &str,
        name: &str,
        media: MediaFields,
    ) -> AssetId {
        let folder = index.ensure_folder(library, rel.as_bytes()).unwrap();
        let record = AssetRecord {
            folder,
            name_raw: name.as_bytes().to_vec(),
            kind: "jpeg".into(),
            size: 10,
            mtime_ns: 1,
            device: None,
            inode: None,
            content_hash: None,
            sync_excluded: false,
            media,
            thumb_state: ThumbState::Ready,
            media_error: None,
            read_error: None,
        };
        index.write_batch(|b| b.upsert_asset(&record, rel)).unwrap()
    }

    #[test]
    fn prefix_query_quotes_words_and_drops_syntax() {
        assert_eq!(
            fts_prefix_query("kitch smith"),
            Some("\"kitch\"* AND \"smith\"*".into())
        );
        assert_eq!(
            fts_prefix_query("\"OR\" -NEAR(*"),
            Some("\"OR\"* AND \"NEAR\"*".into())
        );
        assert_eq!(fts_prefix_query("  -- "), None);
    }

    #[test]
    fn every_condition_narrows_and_combines() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = Index::open(&dir.path().join("i.db")).unwrap();
        let library = index.add_library(dir.path()).unwrap();
        let taken = |t: &str| Some(t.to_string());
        let kitchen = add(
            &mut index,
            library,
            "Smith",
            "kitchen.jpg",
            MediaFields {
                taken_at_local: taken("2025-01-31T18:00:00"),
                make: Some("SONY".into()),
                model: Some("ILCE-7RM4".into()),
                latitude: Some(45.0),
                longitude: Some(7.0),
                keywords: vec!["Twilight".into()],
                ..Default::default()
            },
        );
        let aerial = add(
            &mut index,
            library,
            "Smith/Drone",
            "aerial.jpg",
            MediaFields {
                taken_at_local: taken("2025-02-01T09:00:00"),
                make: Some("DJI".into()),
                model: Some("FC300S".into()),
                ..Default::default()
            },
        );
        let other = add(
            &mut index,
            library,
            "Jones",
            "kitchen2.jpg",
            MediaFields {
                taken_at_local: taken("2024-06-01T09:00:00"),
                ..Default::default()
            },
        );
        let ids = |filter: AssetFilter| -> Vec<AssetId> {
            index
                .find_assets(&filter)
                .unwrap()
                .into_iter()
                .map(|f| f.id)
                .collect()
        };

        assert_eq!(ids(AssetFilter::default()), [other, kitchen, aerial]);
        assert_eq!(
            ids(AssetFilter {
                text: Some("kitch".into()),
                ..Default::default()
            }),
            [other, kitchen]
        );
        assert_eq!(
            ids(AssetFilter {
                text: Some("kitch smith".into()),
                ..Default::default()
            }),
            [kitchen]
        );
        assert_eq!(
            ids(AssetFilter {
                taken_from: Some("2025-01-01".into()),
                taken_to: Some("2025-01-31".into()),
                ..Default::default()
            }),
            [kitchen]
        );
        assert_eq!(
            ids(AssetFilter {
                camera: Some("dji fc300".into()),
                ..Default::default()
            }),
            [aerial]
        );
        assert_eq!(
            ids(AssetFilter {
                has_gps: true,
                ..Default::default()
            }),
            [kitchen]
        );
        assert_eq!(
            ids(AssetFilter {
                tag: Some("twilight".into()),
                ..Default::default()
            }),
            [kitchen]
        );
        let smith = index.folder_id(library, b"Smith").unwrap().unwrap();
        assert_eq!(
            ids(AssetFilter {
                within: Some(smith),
                ..Default::default()
            }),
            [kitchen, aerial]
        );
        assert_eq!(
            ids(AssetFilter {
                within: Some(smith),
                limit: Some(1),
                ..Default::default()
            }),
            [kitchen]
        );
        let found = index
            .find_assets(&AssetFilter {
                camera: Some("DJI".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(found[0].folder_name, "Drone");
    }
}
