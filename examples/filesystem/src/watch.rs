//! Changes on disk, announced: files that appear or go change the resource list
//! (`list_changed`), a file whose contents change is `resources/updated` to its subscribers.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

use crate::{uri_of, Fs};

/// How many events wait at most; past it they are dropped and the whole tree rescanned.
const QUEUE: usize = 1024;

/// How long events are gathered before they are acted on, so a burst is one rescan.
const SETTLE: Duration = Duration::from_millis(50);

/// Watches the root until the returned watcher is dropped.
pub fn start(fs: Arc<Fs>) -> notify::Result<RecommendedWatcher> {
    let (tx, mut rx) = mpsc::channel::<notify::Event>(QUEUE);
    let overflowed = Arc::new(AtomicBool::new(false));
    let flag = overflowed.clone();
    let mut watcher =
        notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
            Ok(event) => {
                if tx.try_send(event).is_err() {
                    flag.store(true, Ordering::Relaxed);
                }
            }
            Err(e) => {
                tracing::warn!("watching the root: {e}");
                flag.store(true, Ordering::Relaxed);
            }
        })?;
    watcher.watch(fs.root.real(), RecursiveMode::Recursive)?;
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut events = vec![first];
            tokio::time::sleep(SETTLE).await;
            while let Ok(event) = rx.try_recv() {
                events.push(event);
            }
            let mut rescan = overflowed.swap(false, Ordering::Relaxed);
            let mut changed = BTreeSet::new();
            for event in &events {
                rescan |= event.need_rescan() || structural(&event.kind);
                if touches_contents(&event.kind) {
                    changed.extend(event.paths.iter().filter_map(|p| fs.root.relative(p)));
                }
            }
            if rescan {
                let fs = fs.clone();
                let _ = tokio::task::spawn_blocking(move || fs.sync_resources()).await;
            }
            let listed = fs.listed.lock().unwrap_or_else(|e| e.into_inner()).clone();
            for relative in changed.intersection(&listed) {
                fs.handle.notify_resource_updated(&uri_of(relative));
            }
        }
    });
    Ok(watcher)
}

/// Whether an event may add or remove files.
fn structural(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Create(_)
            | EventKind::Remove(_)
            | EventKind::Modify(ModifyKind::Name(_) | ModifyKind::Any)
            | EventKind::Any
            | EventKind::Other
    )
}

/// Whether an event may change a file's contents.
fn touches_contents(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Create(_)
            | EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Any)
            | EventKind::Access(AccessKind::Close(AccessMode::Write))
            | EventKind::Any
    )
}
