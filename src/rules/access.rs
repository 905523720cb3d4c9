//! Reloads happen after `--user` dropped privileges: a rule file that only
//! root can read loads at start and then fails every reload, leaving the
//! sensor on stale rules with nothing but a log line to say so. So before
//! privileges are dropped, every rule file is checked against the user the
//! sensor will become, and a run that could not reload refuses to start
//! (`dnsentry check` reports the same).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::unistd::User;

use super::RuleSources;
use crate::error::FileError;

const READ: u32 = 4;
const SEARCH: u32 = 1;

/// Every rule file `user` (with only its primary group, as `--user` leaves
/// it) could not read, each as an error naming the file and the fix.
/// POSIX permission bits are checked; ACLs are not.
pub fn unreadable_by(sources: &RuleSources, user: &str) -> Result<Vec<FileError>, String> {
    let account = User::from_name(user)
        .map_err(|e| format!("cannot look up user {user:?}: {e}"))?
        .ok_or_else(|| format!("no such user {user:?}"))?;
    let (uid, gid) = (account.uid.as_raw(), account.gid.as_raw());
    if uid == 0 {
        return Ok(Vec::new());
    }
    Ok(sources
        .files()
        .filter_map(|f| {
            blocked_at(f, uid, gid).map(|(at, why)| {
                FileError::new(
                    f.display().to_string(),
                    0,
                    format!(
                        "user {user} cannot read this rule file ({why} {}), so reloads after \
                         dropping privileges would fail; make it readable to {user} \
                         (uid {uid}, gid {gid}) or run without --user",
                        at.display()
                    ),
                )
            })
        })
        .collect())
}

/// Where `uid`/`gid` would be stopped opening `file` for reading: the
/// first directory on the way it cannot search, or the file itself.
fn blocked_at(file: &Path, uid: u32, gid: u32) -> Option<(PathBuf, &'static str)> {
    // The file as reloads will open it: through its symlinks.
    let Ok(real) = std::fs::canonicalize(file) else {
        // Missing now: loading already says so.
        return None;
    };
    let mut dirs: Vec<&Path> = real.ancestors().skip(1).collect();
    dirs.reverse();
    for dir in dirs {
        match std::fs::metadata(dir) {
            Ok(m) if allows(&m, uid, gid, SEARCH) => {}
            _ => return Some((dir.to_path_buf(), "no search permission on")),
        }
    }
    match std::fs::metadata(&real) {
        Ok(m) if allows(&m, uid, gid, READ) => None,
        _ => Some((real, "no read permission on")),
    }
}

/// POSIX rules: the owner's bits if the user owns it, else the group's if
/// the group matches, else the others'.
fn allows(m: &std::fs::Metadata, uid: u32, gid: u32, want: u32) -> bool {
    let mode = m.mode();
    let bits = if m.uid() == uid {
        mode >> 6
    } else if m.gid() == gid {
        mode >> 3
    } else {
        mode
    };
    bits & want == want
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(p: &Path, m: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    }

    #[test]
    fn root_only_files_and_closed_directories_are_found() {
        let dir = tempfile::tempdir().unwrap();
        mode(dir.path(), 0o755);
        let open = dir.path().join("open.txt");
        let closed = dir.path().join("closed.txt");
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let hidden = sub.join("hidden.txt");
        for f in [&open, &closed, &hidden] {
            std::fs::write(f, "192.0.2.1\n").unwrap();
            mode(f, 0o644);
        }
        mode(&closed, 0o600);
        mode(&sub, 0o700);
        let src = RuleSources {
            ioc_files: vec![open.clone(), closed.clone()],
            expect_files: vec![hidden.clone()],
            ..RuleSources::default()
        };
        // Files made by root here; nobody is neither owner nor group.
        let errors = unreadable_by(&src, "nobody").unwrap();
        let named: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            named,
            [closed.to_str().unwrap(), hidden.to_str().unwrap()],
            "{errors:?}"
        );
        assert!(
            errors[0].message.contains("no read permission"),
            "{errors:?}"
        );
        assert!(
            errors[1].message.contains("no search permission"),
            "{errors:?}"
        );
        assert!(unreadable_by(&src, "root").unwrap().is_empty());
        assert!(unreadable_by(&src, "no-such-user-here").is_err());
    }
}
