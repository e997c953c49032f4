//! [`Chunk`]: one cursor range of a source, and the listed item that stands for it.

use collectors_core::SourceItem;

/// The rows whose cursor is after `after` (from the first row when `None`) and at most
/// `through`: chunk number `seq` of its source, in cursor order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chunk {
    pub(crate) seq: i64,
    pub(crate) after: Option<String>,
    pub(crate) through: String,
}

impl Chunk {
    /// `prefix@0000000007:(after,through]`: the number first, zero-padded, so that ids sort
    /// in cursor order; the range is there for people.
    pub(crate) fn item_id(&self, prefix: &str) -> String {
        format!(
            "{prefix}@{:010}:({},{}]",
            self.seq,
            self.after.as_deref().unwrap_or(""),
            self.through
        )
    }

    /// The listed item of this chunk.
    pub(crate) fn item(&self, source_id: &str, prefix: &str, version: &str) -> SourceItem {
        SourceItem::listed(source_id, self.item_id(prefix), version)
            .with_metadata("chunk", self.seq)
            .with_metadata("cursor_after", self.after.clone())
            .with_metadata("cursor_through", self.through.clone())
    }

    /// The chunk an item stands for, when the item is one of `prefix`'s chunks: its
    /// metadata gives the range and its id agrees with it.
    pub(crate) fn of_item(item: &SourceItem, prefix: &str) -> Option<Self> {
        let seq = item.metadata.get("chunk")?.as_i64()?;
        let after = match item.metadata.get("cursor_after")? {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s.clone()),
            _ => return None,
        };
        let through = item.metadata.get("cursor_through")?.as_str()?.to_owned();
        let chunk = Self {
            seq,
            after,
            through,
        };
        (chunk.item_id(prefix) == item.item_id).then_some(chunk)
    }
}

/// The chunks whose upper bounds are `bounds`, in order: the first starts at the first row,
/// each next one after the previous bound.
pub(crate) fn chunks(bounds: &[String]) -> Vec<Chunk> {
    bounds
        .iter()
        .enumerate()
        .map(|(i, through)| Chunk {
            seq: i as i64 + 1,
            after: i.checked_sub(1).map(|p| bounds[p].clone()),
            through: through.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_in_cursor_order_and_come_back_from_the_item() {
        let bounds: Vec<String> = ["9", "10", "100"].map(String::from).to_vec();
        let chunks = chunks(&bounds);
        let ids: Vec<String> = chunks.iter().map(|c| c.item_id("public.t")).collect();
        assert_eq!(ids[0], "public.t@0000000001:(,9]");
        assert_eq!(ids[2], "public.t@0000000003:(10,100]");
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(sorted, ids);
        let item = chunks[1].item("s", "public.t", "parquet");
        assert_eq!(Chunk::of_item(&item, "public.t"), Some(chunks[1].clone()));
        assert_eq!(Chunk::of_item(&item, "public.other"), None);
        let mut forged = item.clone();
        forged.item_id = "public.t@0000000002:(0,1000]".into();
        assert_eq!(Chunk::of_item(&forged, "public.t"), None);
    }
}
