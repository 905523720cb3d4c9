//! Least privilege: after the capture handles are open, become an ordinary
//! user. Capturing needs CAP_NET_RAW only to open the handle; reading from
//! it afterwards needs nothing.

use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::Mode;
use nix::unistd::{Gid, Uid, User, fchownat, getgid, getuid, setgid, setgroups, setuid};

/// Deeper than the spool ever is (its destinations' directories are one
/// level down): what lies deeper was not made by dnsentry.
const HAND_OVER_DEPTH: u32 = 4;

/// The uid of user `name`, if there is one (the error is for
/// [`drop_to`] to report).
pub fn uid_of(name: &str) -> Option<u32> {
    User::from_name(name).ok().flatten().map(|u| u.uid.as_raw())
}

/// Switches the whole process to `name` and its primary group: the
/// supplementary groups first (while still allowed), then the group, then
/// the user, in that order, as setuid(2) would otherwise forbid the
/// others. Changing the real, effective and saved ids from root clears every
/// capability. Then checks that root cannot be regained.
///
/// `hand_over` (the syslog spool) is given to the user first, with
/// everything in it: the sensor keeps writing there after the switch.
pub fn drop_to(name: &str, hand_over: &[PathBuf]) -> Result<(), String> {
    let user = User::from_name(name)
        .map_err(|e| format!("cannot look up user {name:?}: {e}"))?
        .ok_or_else(|| format!("no such user {name:?}"))?;
    let (uid, gid) = (user.uid, user.gid);
    if getuid() == uid && getgid() == gid {
        return Ok(());
    }
    for p in hand_over {
        chown_tree(p, uid.as_raw(), gid.as_raw())
            .map_err(|e| format!("cannot hand {} over to {name:?}: {e}", p.display()))?;
    }
    setgroups(&[gid]).map_err(|e| format!("setgroups: {e}"))?;
    setgid(gid).map_err(|e| format!("setgid({gid}): {e}"))?;
    setuid(uid).map_err(|e| format!("setuid({uid}): {e}"))?;
    if !uid.is_root() && setuid(Uid::from_raw(0)).is_ok() {
        return Err("root could be regained after dropping privileges".into());
    }
    tracing::info!(
        user = name,
        uid = uid.as_raw(),
        gid = gid.as_raw(),
        "Dropped privileges"
    );
    Ok(())
}

/// Changes the owner of the directory `path` and of the directories and
/// regular files under it. The user it goes to may have owned the tree
/// before (an earlier start) and put things in it, so it is walked through
/// directory descriptors, never through a symbolic link, and each file is
/// checked on the descriptor that is then changed. Links, second names of
/// other files (hard links) and special files are left as they are; the
/// spool refuses them when it opens.
fn chown_tree(path: &Path, uid: u32, gid: u32) -> std::io::Result<()> {
    let dir = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(path)?;
    chown_dir(&dir, path, (Uid::from_raw(uid), Gid::from_raw(gid)), 0)
}

fn chown_dir(dir: &File, path: &Path, owner: (Uid, Gid), depth: u32) -> std::io::Result<()> {
    std::os::unix::fs::fchown(dir, Some(owner.0.as_raw()), Some(owner.1.as_raw()))?;
    if depth >= HAND_OVER_DEPTH {
        tracing::warn!(dir = %path.display(), "Not handing over what lies this deep");
        return Ok(());
    }
    let mut listing = nix::dir::Dir::openat(
        dir,
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    for entry in listing.iter() {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_bytes() == b"." || name.to_bytes() == b".." {
            continue;
        }
        let child = path.join(std::ffi::OsStr::from_bytes(name.to_bytes()));
        // O_PATH: a handle on the name itself, opening nothing (a device
        // opened can act), and with O_NOFOLLOW a link stays the link.
        let fd = match nix::fcntl::openat(
            dir,
            name,
            OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => File::from(fd),
            // Gone since it was listed.
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(e.into()),
        };
        let meta = fd.metadata()?;
        if meta.is_dir() {
            let sub = nix::fcntl::openat(
                dir,
                name,
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )?;
            let sub = File::from(sub);
            // Replaced between the two opens: leave it.
            if sub.metadata()?.ino() == meta.ino() {
                chown_dir(&sub, &child, owner, depth + 1)?;
            }
        } else if meta.is_file() && meta.nlink() == 1 {
            fchownat(
                &fd,
                "",
                Some(owner.0),
                Some(owner.1),
                AtFlags::AT_EMPTY_PATH,
            )?;
        } else {
            tracing::warn!(
                file = %child.display(),
                "Not handing over a link, a file with several names or a special file"
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    use super::*;

    /// The user the spool is handed to may have left, in it, a link to a
    /// root file (a symbolic link, or a hard link where the kernel allows
    /// those to others' files). Handing over changes no file outside.
    #[test]
    fn handing_over_changes_no_file_linked_from_outside() {
        assert!(getuid().is_root(), "chown needs root");
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "root-only\n").unwrap();
        std::fs::set_permissions(&victim, PermissionsExt::from_mode(0o600)).unwrap();
        let tree = dir.path().join("spool");
        let sub = tree.join("tcp_127.0.0.1_9");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join("head"), "0 0\n").unwrap();
        std::fs::hard_link(&victim, sub.join("00000000000000000000.seg")).unwrap();
        std::os::unix::fs::symlink(&victim, sub.join("lock")).unwrap();
        std::os::unix::fs::symlink(dir.path(), sub.join("up")).unwrap();

        chown_tree(&tree, 65534, 65534).unwrap();

        let owner = |p: &Path| std::fs::symlink_metadata(p).unwrap().uid();
        assert_eq!(owner(&victim), 0, "a file outside the spool changed owner");
        assert_eq!(owner(dir.path()), 0);
        for p in [&tree, &sub, &sub.join("head")] {
            assert_eq!(owner(p), 65534, "{}", p.display());
        }
    }
}
