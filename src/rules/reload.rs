//! Hot reload: SIGHUP, or a change on disk to any rule file, rebuilds the
//! rules from their files and swaps them in whole. A file that fails keeps
//! the previous rules and logs one error with file and line. SIGHUP is
//! also what logrotate sends after rotating the output files: the caller
//! says what else it does.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{RuleSources, Rules, SharedRules, load_rules};
use crate::error::FileError;
use crate::stats::RuleStats;

/// How long a burst of file events is gathered, so that one feed update
/// (write, rename, chmod) reloads once, after the writer is done.
const SETTLE: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("cannot handle SIGHUP: {0}")]
    Signal(std::io::Error),
    #[error("{path}: cannot watch for changes: {source}")]
    Watch { path: String, source: notify::Error },
    #[error("cannot start the {0} thread: {1}")]
    Thread(&'static str, std::io::Error),
}

/// Rebuilds the shared rules from their sources.
#[derive(Clone)]
pub struct Reloader {
    sources: RuleSources,
    rules: SharedRules,
    stats: Arc<RuleStats>,
}

impl Reloader {
    /// `stats` counts every reload (the metrics endpoint reads them).
    pub fn new(sources: RuleSources, rules: SharedRules, stats: Arc<RuleStats>) -> Reloader {
        Reloader {
            sources,
            rules,
            stats,
        }
    }

    /// Loads every file again; on success the workers take the new rules
    /// from their next batch on, on failure nothing changes.
    pub fn reload(&self, why: &str) -> Result<Arc<Rules>, FileError> {
        match load_rules(&self.sources) {
            Ok(new) => {
                tracing::info!(
                    why,
                    indicators = new.ioc.len(),
                    allowed = new.allow.len(),
                    zones = new.expected.len(),
                    "Reloaded rules"
                );
                self.stats.reloaded(new.feeds.clone());
                let new = Arc::new(new);
                self.rules.store(Arc::clone(&new));
                Ok(new)
            }
            Err(e) => {
                self.stats.reload_failed();
                tracing::error!(why, "Reload failed, keeping the previous rules: {e}");
                Err(e)
            }
        }
    }

    /// Reloads on SIGHUP and on changes to the rule files until the
    /// returned watch is dropped; on SIGHUP, `also_on_sighup` runs first.
    pub fn watch(
        self,
        also_on_sighup: impl Fn() + Send + 'static,
    ) -> Result<ReloadWatch, ReloadError> {
        let hup = self.clone().on_sighup(also_on_sighup)?;
        let watcher = self.on_change()?;
        Ok(ReloadWatch {
            hup,
            _watcher: watcher,
        })
    }

    fn on_sighup(
        self,
        also: impl Fn() + Send + 'static,
    ) -> Result<signal_hook::iterator::Handle, ReloadError> {
        let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGHUP])
            .map_err(ReloadError::Signal)?;
        let handle = signals.handle();
        std::thread::Builder::new()
            .name("reload".into())
            .spawn(move || {
                for _ in signals.forever() {
                    // Routine (logrotate sends it daily): not a warning.
                    tracing::info!("SIGHUP: reopening output files and reloading rules");
                    also();
                    let _ = self.reload("SIGHUP");
                }
            })
            .map_err(|e| ReloadError::Thread("reload", e))?;
        Ok(handle)
    }

    /// The directories are watched, not the files, so that a feed
    /// replaced by rename (how feed updaters write atomically) is seen.
    fn on_change(self) -> Result<notify::RecommendedWatcher, ReloadError> {
        use notify::{RecursiveMode, Watcher};
        let files: Vec<PathBuf> = self
            .sources
            .files()
            .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
            .collect();
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let _ = tx.send(event);
            })
            .map_err(|source| ReloadError::Watch {
                path: "-".into(),
                source,
            })?;
        let mut dirs: Vec<PathBuf> = files
            .iter()
            .filter_map(|f| f.parent().map(std::path::Path::to_path_buf))
            .collect();
        dirs.sort();
        dirs.dedup();
        for d in &dirs {
            watcher
                .watch(d, RecursiveMode::NonRecursive)
                .map_err(|source| ReloadError::Watch {
                    path: d.display().to_string(),
                    source,
                })?;
        }
        std::thread::Builder::new()
            .name("watch".into())
            .spawn(move || {
                let touches = |e: &notify::Event| {
                    !e.kind.is_access() && e.paths.iter().any(|p| files.contains(p))
                };
                while let Ok(event) = rx.recv() {
                    let Ok(event) = event else { continue };
                    if !touches(&event) {
                        continue;
                    }
                    std::thread::sleep(SETTLE);
                    while rx.try_recv().is_ok() {}
                    let _ = self.reload("file changed");
                }
            })
            .map_err(|e| ReloadError::Thread("watch", e))?;
        Ok(watcher)
    }
}

/// Keeps reloading while alive.
pub struct ReloadWatch {
    hup: signal_hook::iterator::Handle,
    _watcher: notify::RecommendedWatcher,
}

impl Drop for ReloadWatch {
    fn drop(&mut self) {
        self.hup.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::shared;

    fn sources(feed: &std::path::Path) -> RuleSources {
        RuleSources {
            builtin_feed: false,
            ioc_files: vec![feed.to_path_buf()],
            ..RuleSources::default()
        }
    }

    #[test]
    fn a_good_reload_swaps_the_rules_and_a_bad_one_keeps_them() {
        let dir = tempfile::tempdir().unwrap();
        let feed = dir.path().join("feed.txt");
        std::fs::write(&feed, "192.0.2.1\n").unwrap();
        let src = sources(&feed);
        let rules = shared(load_rules(&src).unwrap());
        let stats = Arc::new(RuleStats::default());
        let reloader = Reloader::new(src, Arc::clone(&rules), Arc::clone(&stats));
        let addr = |s: &str| s.parse().unwrap();

        std::fs::write(&feed, "192.0.2.1\n198.51.100.7\n").unwrap();
        reloader.reload("test").unwrap();
        assert_eq!(rules.load().ioc.len(), 2);
        assert!(rules.load().ioc.match_addr(addr("198.51.100.7")).is_some());
        let counted = stats.snapshot();
        assert_eq!((counted.reloads_ok, counted.reloads_failed), (1, 0));
        assert_eq!(counted.feeds[0].indicators, 2);

        std::fs::write(&feed, "192.0.2.1\nnot an indicator at all!\n").unwrap();
        let e = reloader.reload("test").unwrap_err();
        assert_eq!((e.line, e.path.as_str()), (2, feed.to_str().unwrap()));
        assert_eq!(rules.load().ioc.len(), 2, "a bad file keeps the old rules");
        let counted = stats.snapshot();
        assert_eq!((counted.reloads_ok, counted.reloads_failed), (1, 1));
        assert_eq!(counted.feeds[0].indicators, 2, "the feeds in use stay");
    }

    #[test]
    fn a_changed_file_reloads_by_itself() {
        let dir = tempfile::tempdir().unwrap();
        let feed = dir.path().join("feed.txt");
        std::fs::write(&feed, "192.0.2.1\n").unwrap();
        let src = sources(&feed);
        let rules = shared(load_rules(&src).unwrap());
        let watch = Reloader::new(src, Arc::clone(&rules), Arc::default())
            .watch(|| {})
            .unwrap();
        // Written elsewhere and renamed over the feed, as feed updaters do.
        let tmp = dir.path().join("feed.txt.new");
        std::fs::write(&tmp, "192.0.2.1\n192.0.2.2\n192.0.2.3\n").unwrap();
        std::fs::rename(&tmp, &feed).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while rules.load().ioc.len() != 3 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(rules.load().ioc.len(), 3);
        drop(watch);
    }
}
