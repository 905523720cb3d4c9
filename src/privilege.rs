//! Least privilege: after the capture handles are open, become an ordinary
//! user. Capturing needs CAP_NET_RAW only to open the handle; reading from
//! it afterwards needs nothing.

use std::path::{Path, PathBuf};

use nix::unistd::{Uid, User, getgid, getuid, setgid, setgroups, setuid};

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

/// Changes the owner of `path` and, for a directory, of everything under
/// it. Symbolic links are not followed.
fn chown_tree(path: &Path, uid: u32, gid: u32) -> std::io::Result<()> {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))?;
    if std::fs::symlink_metadata(path)?.is_dir() {
        for entry in std::fs::read_dir(path)? {
            chown_tree(&entry?.path(), uid, gid)?;
        }
    }
    Ok(())
}
