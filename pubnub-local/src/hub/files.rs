//! File Sharing: what the Files service knows about the files of each channel — id, name,
//! size, creation time, content type, expiry — for list, download and delete.
//!
//! The bytes are not here: they live in the HTTP layer's storage, the stand-in for the S3
//! bucket the service hands uploads to, under the object key [`object_key`] names. A file
//! becomes a record here once its upload succeeded. The file *message* that announces it is
//! an ordinary publish of [`EventKind::File`](super::EventKind::File).
//!
//! Files are listed in ascending id order, as the service lists them (S3 key order within a
//! channel; recordings show ids sorted and creation times not).

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::channels::{validate_plain, NameError};
use super::{Hub, Timetoken};

/// Largest file the upload form allows: its policy's `content-length-range` (5 MiB).
pub const MAX_FILE_BYTES: u64 = 5 * 1024 * 1024;

/// Default and largest page of a list-files call ("A single list-files call returns up to 100
/// files", PubNub's docs).
pub const MAX_FILES_LIMIT: usize = 100;

/// A file whose upload just succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    /// The channel it was shared on.
    pub channel: String,
    /// Its id, as the upload form issued it.
    pub id: String,
    /// Its name, as the sender gave it.
    pub name: String,
    /// Stored bytes (the ciphertext's size for an encrypted file).
    pub size: u64,
    /// The upload's `Content-Type` form field; downloads answer with it.
    pub content_type: String,
}

/// A stored file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// The channel it was shared on.
    pub channel: String,
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its object key in storage: `{sub_key}/{channel hash}/{id}/{name}`.
    pub key: String,
    /// Stored bytes.
    pub size: u64,
    /// What downloads answer as `Content-Type`.
    pub content_type: String,
    /// When the upload completed (`created` in lists).
    pub created: Timetoken,
    /// When it leaves storage ([`HubConfig::file_retention`](super::HubConfig)); `None`: when
    /// it is deleted.
    pub expires: Option<Timetoken>,
}

impl StoredFile {
    fn live(&self, now: Timetoken) -> bool {
        self.expires.is_none_or(|at| now < at)
    }
}

/// One page of a channel's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilesPage {
    /// Ascending id order.
    pub files: Vec<StoredFile>,
    /// Whether files with larger ids remain after this page.
    pub more: bool,
}

/// The channel's part of an object key: unpadded base64url of the SHA-256 of its name
/// (`files_native_sync_ch` → `f-tIAcNXJO9m81fWVV_o-fSQ-veupNrTloVAUPbeUQQ`, recordings).
pub fn channel_hash(channel: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(channel.as_bytes()))
}

/// A file's object key, as the service's upload forms name it.
pub fn object_key(sub_key: &str, channel: &str, id: &str, name: &str) -> String {
    format!("{sub_key}/{}/{id}/{name}", channel_hash(channel))
}

/// Every key's files.
#[derive(Debug, Default)]
pub(crate) struct FileStore {
    /// (sub_key, channel) → id → file.
    channels: HashMap<(String, String), BTreeMap<String, StoredFile>>,
    /// Object key → (sub_key, channel, id), for storage downloads.
    keys: HashMap<String, (String, String, String)>,
}

impl FileStore {
    /// Every file of every key, with its key, by key and channel (in no order) then id.
    pub(super) fn all(&self) -> impl Iterator<Item = (&str, &StoredFile)> {
        self.channels
            .iter()
            .flat_map(|((sub_key, _), files)| files.values().map(move |f| (sub_key.as_str(), f)))
    }

    fn remove(&mut self, sub_key: &str, channel: &str, id: &str) -> Option<StoredFile> {
        let slot = (sub_key.to_string(), channel.to_string());
        let files = self.channels.get_mut(&slot)?;
        let removed = files.remove(id)?;
        if files.is_empty() {
            self.channels.remove(&slot);
        }
        self.keys.remove(&removed.key);
        Some(removed)
    }
}

impl Hub {
    /// Records a file whose upload succeeded; a file with the same id on that channel (the
    /// same form used twice) is replaced.
    pub fn add_file(&self, sub_key: &str, file: NewFile) -> Result<StoredFile, NameError> {
        validate_plain(&file.channel)?;
        let retention = self.inner.config.file_retention;
        let mut state = self.lock();
        let created = state.clock.cursor();
        let stored = StoredFile {
            key: object_key(sub_key, &file.channel, &file.id, &file.name),
            channel: file.channel,
            id: file.id,
            name: file.name,
            size: file.size,
            content_type: file.content_type,
            created,
            expires: retention.map(|keep| created.after(keep)),
        };
        let store = &mut state.files;
        store.remove(sub_key, &stored.channel, &stored.id);
        store.keys.insert(
            stored.key.clone(),
            (
                sub_key.to_string(),
                stored.channel.clone(),
                stored.id.clone(),
            ),
        );
        store
            .channels
            .entry((sub_key.to_string(), stored.channel.clone()))
            .or_default()
            .insert(stored.id.clone(), stored.clone());
        self.touch();
        Ok(stored)
    }

    /// The live file with this id and name on the channel.
    pub fn file(&self, sub_key: &str, channel: &str, id: &str, name: &str) -> Option<StoredFile> {
        let mut state = self.lock();
        let now = state.clock.cursor();
        state
            .files
            .channels
            .get(&(sub_key.to_string(), channel.to_string()))?
            .get(id)
            .filter(|file| file.name == name && file.live(now))
            .cloned()
    }

    /// The live file stored under an object key.
    pub fn file_by_key(&self, key: &str) -> Option<StoredFile> {
        let mut state = self.lock();
        let now = state.clock.cursor();
        let store = &state.files;
        let (sub_key, channel, id) = store.keys.get(key)?;
        store
            .channels
            .get(&(sub_key.clone(), channel.clone()))?
            .get(id)
            .filter(|file| file.live(now))
            .cloned()
    }

    /// Up to `limit` live files of the channel with an id greater than `after`, ascending.
    pub fn list_files(
        &self,
        sub_key: &str,
        channel: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<FilesPage, NameError> {
        validate_plain(channel)?;
        let mut state = self.lock();
        let now = state.clock.cursor();
        let Some(files) = state
            .files
            .channels
            .get(&(sub_key.to_string(), channel.to_string()))
        else {
            return Ok(FilesPage {
                files: Vec::new(),
                more: false,
            });
        };
        let lower = match after {
            Some(id) => Bound::Excluded(id),
            None => Bound::Unbounded,
        };
        let mut live = files
            .range::<str, _>((lower, Bound::Unbounded))
            .map(|(_, file)| file)
            .filter(|file| file.live(now));
        let page: Vec<StoredFile> = live.by_ref().take(limit).cloned().collect();
        let more = live.next().is_some();
        Ok(FilesPage { files: page, more })
    }

    /// Deletes the file with this id and name; the record deleted, if there was one.
    pub fn delete_file(
        &self,
        sub_key: &str,
        channel: &str,
        id: &str,
        name: &str,
    ) -> Result<Option<StoredFile>, NameError> {
        validate_plain(channel)?;
        let mut state = self.lock();
        let matches = state
            .files
            .channels
            .get(&(sub_key.to_string(), channel.to_string()))
            .and_then(|files| files.get(id))
            .is_some_and(|file| file.name == name);
        if !matches {
            return Ok(None);
        }
        let removed = state.files.remove(sub_key, channel, id);
        self.touch();
        Ok(removed)
    }

    /// Forgets every file past its expiry and returns them, so that storage drops their bytes.
    pub fn expire_files(&self) -> Vec<StoredFile> {
        let mut state = self.lock();
        let now = state.clock.cursor();
        let expired: Vec<(String, String, String)> = state
            .files
            .channels
            .iter()
            .flat_map(|((sub_key, channel), files)| {
                files
                    .values()
                    .filter(|file| !file.live(now))
                    .map(move |file| (sub_key.clone(), channel.clone(), file.id.clone()))
            })
            .collect();
        let removed: Vec<StoredFile> = expired
            .into_iter()
            .filter_map(|(sub_key, channel, id)| state.files.remove(&sub_key, &channel, &id))
            .collect();
        if !removed.is_empty() {
            self.touch();
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::hub::HubConfig;

    const KEY: &str = "sub";

    fn new(channel: &str, id: &str) -> NewFile {
        NewFile {
            channel: channel.into(),
            id: id.into(),
            name: "king_arthur.txt".into(),
            size: 19,
            content_type: "text/plain; charset=utf-8".into(),
        }
    }

    fn ids(page: &FilesPage) -> Vec<&str> {
        page.files.iter().map(|f| f.id.as_str()).collect()
    }

    #[test]
    fn keys_are_the_services() {
        // Recorded keys (PROTOCOL research, `file_upload` cassettes).
        assert_eq!(
            channel_hash("files_native_sync_ch"),
            "f-tIAcNXJO9m81fWVV_o-fSQ-veupNrTloVAUPbeUQQ"
        );
        assert_eq!(
            channel_hash("files_asyncio_ch"),
            "0MR1-z2w0nSJYxwEy74p5QjV85TmgNBKPrV71t55NT0"
        );
        assert_eq!(
            object_key("s", "files_native_threads_ch", "id-1", "a b.txt"),
            "s/jaDgk-9c_B8i5c_vBjUOQQfLTonvLy7MImT7mZ_coCQ/id-1/a b.txt"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn files_are_listed_by_id_and_paged() {
        let hub = Hub::default();
        for id in ["c", "a", "d", "b"] {
            hub.add_file(KEY, new("ch", id)).unwrap();
        }
        hub.add_file(KEY, new("other", "0")).unwrap();
        let first = hub.list_files(KEY, "ch", None, 3).unwrap();
        assert_eq!(ids(&first), vec!["a", "b", "c"]);
        assert!(first.more);
        let second = hub.list_files(KEY, "ch", Some("c"), 3).unwrap();
        assert_eq!(ids(&second), vec!["d"]);
        assert!(!second.more);
        // Exactly a full page: nothing more.
        assert!(!hub.list_files(KEY, "ch", None, 4).unwrap().more);
        assert!(hub
            .list_files("other-key", "ch", None, 3)
            .unwrap()
            .files
            .is_empty());
        assert_eq!(
            hub.list_files(KEY, "a,b", None, 3),
            Err(NameError::ReservedCharacter(','))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn lookups_deletes_and_replacements() {
        let hub = Hub::default();
        let stored = hub.add_file(KEY, new("ch", "id-1")).unwrap();
        assert_eq!(stored.key, object_key(KEY, "ch", "id-1", "king_arthur.txt"));
        assert_eq!(
            hub.file(KEY, "ch", "id-1", "king_arthur.txt"),
            Some(stored.clone())
        );
        assert_eq!(hub.file(KEY, "ch", "id-1", "other.txt"), None);
        assert_eq!(hub.file_by_key(&stored.key), Some(stored.clone()));
        // The same form used again replaces the record.
        let again = hub
            .add_file(
                KEY,
                NewFile {
                    size: 7,
                    ..new("ch", "id-1")
                },
            )
            .unwrap();
        assert_eq!(
            hub.list_files(KEY, "ch", None, 10).unwrap().files,
            vec![again]
        );
        // Another name deletes nothing.
        assert_eq!(hub.delete_file(KEY, "ch", "id-1", "x"), Ok(None));
        let deleted = hub
            .delete_file(KEY, "ch", "id-1", "king_arthur.txt")
            .unwrap();
        assert_eq!(deleted.map(|f| f.size), Some(7));
        assert_eq!(hub.file_by_key(&stored.key), None);
        assert_eq!(
            hub.delete_file(KEY, "ch", "id-1", "king_arthur.txt"),
            Ok(None)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retention_follows_the_hub_clock() {
        let hub = Hub::new(HubConfig {
            file_retention: Some(Duration::from_secs(3600)),
            ..HubConfig::default()
        });
        let early = hub.add_file(KEY, new("ch", "a")).unwrap();
        assert_eq!(
            early.expires,
            Some(early.created.after(Duration::from_secs(3600)))
        );
        tokio::time::advance(Duration::from_secs(1800)).await;
        hub.add_file(KEY, new("ch", "b")).unwrap();
        assert!(hub.expire_files().is_empty());
        tokio::time::advance(Duration::from_secs(1800)).await;
        // Gone from reads before anyone sweeps.
        assert_eq!(
            ids(&hub.list_files(KEY, "ch", None, 10).unwrap()),
            vec!["b"]
        );
        assert_eq!(hub.file_by_key(&early.key), None);
        let expired = hub.expire_files();
        assert_eq!(expired, vec![early]);
        assert!(hub.expire_files().is_empty());
        // Without a retention, files stay.
        let hub = Hub::default();
        assert_eq!(hub.add_file(KEY, new("ch", "a")).unwrap().expires, None);
    }
}
