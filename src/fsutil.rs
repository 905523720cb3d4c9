//! Files whose path or contents someone else may control.
//!
//! * Rule, config and TLS files ([`read_regular`]) must be regular files:
//!   a FIFO would block the start and `/dev/zero` never ends. They are
//!   read through a bound, so a wrong path costs an error, never the
//!   machine's memory.
//! * A private directory ([`PrivateDir`]), the syslog spool: a live sensor
//!   hands it to the unprivileged user it becomes, and opens it again as
//!   root on the next start. Everything in it is opened relative to the
//!   directory's descriptor, never through a symbolic link, and only when
//!   it is a regular file with one name, owned by a trusted user and
//!   writable by no one else.
//! * Output files ([`open_output`]): appended to, created with a mode
//!   that keeps them from other users, and never through a link in a
//!   directory anyone can write to. Files a command writes whole (stats,
//!   learned expect files, reports) are opened the same way and written
//!   with [`replace_contents`].

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::Mode;

/// Largest IOC feed or allowlist. A million indicators in CSV take 25 MB
/// bare and about 400 MB with provenance columns as long as the built-in
/// feed's; JSON formats take more per indicator.
pub const FEED_MAX_BYTES: u64 = 1 << 30;
/// Largest expect file: tens of thousands of zones fit in a few MB.
pub const EXPECT_MAX_BYTES: u64 = 64 << 20;
/// Largest config file.
pub const CONFIG_MAX_BYTES: u64 = 16 << 20;
/// Largest TLS CA, certificate or key file (a system CA bundle is
/// about 200 KB).
pub const PEM_MAX_BYTES: u64 = 16 << 20;

/// Mode of new alerts, DNS-log and weird-log files: the alerts describe
/// the organisation's DNS and its attackers, not for every local user.
pub const DEFAULT_OUTPUT_MODE: u32 = 0o640;

const PRIVATE_DIR_MODE: u32 = 0o700;
const PRIVATE_FILE_MODE: u32 = 0o600;

#[derive(Debug, thiserror::Error)]
pub enum FsError {
    #[error("not a regular file ({0})")]
    NotRegular(&'static str),
    #[error("not a directory ({0})")]
    NotDirectory(&'static str),
    #[error("larger than the {} limit", size_text(*limit))]
    TooLarge { limit: u64 },
    #[error("a symbolic link: refusing to follow it")]
    Symlink,
    #[error("a symbolic link in {dir}, a directory anyone can write to: refusing to follow it")]
    SharedSymlink { dir: String },
    #[error("owned by uid {owner}; only {}", trusted_text(*me, *handover))]
    Owner {
        owner: u32,
        me: u32,
        handover: Option<u32>,
    },
    #[error("owned by uid {owner}, not by this user (uid {me}): someone else put it there")]
    Foreign { owner: u32, me: u32 },
    #[error("writable by users other than its owner (mode {mode:04o})")]
    Writable { mode: u32 },
    #[error("has {links} names (hard links): it may be a file from elsewhere")]
    Linked { links: u64 },
    #[error("{0}")]
    Io(#[from] io::Error),
}

impl From<Errno> for FsError {
    fn from(e: Errno) -> FsError {
        FsError::Io(e.into())
    }
}

/// A problem with one file or directory, naming it.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct PathError {
    pub path: PathBuf,
    pub source: FsError,
}

impl PathError {
    fn new(path: impl Into<PathBuf>, source: impl Into<FsError>) -> PathError {
        PathError {
            path: path.into(),
            source: source.into(),
        }
    }
}

fn size_text(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes}-byte")
    }
}

fn trusted_text(me: u32, handover: Option<u32>) -> String {
    match handover {
        Some(u) if u != me => {
            format!("root, this user (uid {me}) or the user it hands over to (uid {u}) may own it")
        }
        _ => format!("root and this user (uid {me}) may own it"),
    }
}

/// What a file that is not a regular file is, for error messages.
fn kind(mode: u32) -> &'static str {
    match mode & libc::S_IFMT {
        libc::S_IFREG => "a regular file",
        libc::S_IFDIR => "a directory",
        libc::S_IFCHR => "a character device",
        libc::S_IFBLK => "a block device",
        libc::S_IFIFO => "a FIFO",
        libc::S_IFSOCK => "a socket",
        libc::S_IFLNK => "a symbolic link",
        _ => "of unknown type",
    }
}

/// Reads all of `path`, which must be a regular file of at most `limit`
/// bytes. Symbolic links are followed: rule files are the operator's.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, FsError> {
    // Non-blocking: opening a FIFO would otherwise wait for a writer
    // before it could be refused. Regular files ignore the flag.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(FsError::NotRegular(kind(meta.mode())));
    }
    if meta.len() > limit {
        return Err(FsError::TooLarge { limit });
    }
    // The size is a hint (files in /proc say 0, a file may grow): the
    // bound is what is read.
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(FsError::TooLarge { limit });
    }
    Ok(bytes)
}

/// [`read_regular`], as UTF-8 text.
pub fn read_regular_text(path: &Path, limit: u64) -> Result<String, FsError> {
    String::from_utf8(read_regular(path, limit)?).map_err(|_| {
        FsError::Io(io::Error::new(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        ))
    })
}

/// Parses an output file mode: octal permission bits (`640`, `0640`,
/// `0o640`), not writable by everyone.
pub fn parse_output_mode(s: &str) -> Result<u32, String> {
    let digits = s.trim();
    let digits = digits.strip_prefix("0o").unwrap_or(digits);
    // Eight octal digits cannot overflow a u32.
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b))
    {
        return Err("not an octal mode such as 0640".into());
    }
    let mode = u32::from_str_radix(digits, 8).map_err(|e| e.to_string())?;
    if mode & !0o777 != 0 {
        return Err("only permission bits (0 to 0777) may be given".into());
    }
    if mode & 0o002 != 0 {
        return Err("writable by anyone: anyone could forge alerts".into());
    }
    Ok(mode)
}

/// Opens an output file for appending, creating it with `mode` (less the
/// umask) when it is missing: a restart (or a crash and a restart) must
/// never erase what the run before it wrote. In a directory anyone can
/// write to (`/tmp`), anyone could have put a link or a file of theirs at
/// the path first: a link is not followed, and an existing file is taken
/// only when it is this user's own, with one name.
pub fn open_output(path: &Path, mode: u32) -> Result<File, FsError> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let shared = std::fs::metadata(parent).is_ok_and(|m| m.mode() & 0o002 != 0);
    if !shared {
        return Ok(OpenOptions::new()
            .append(true)
            .create(true)
            .mode(mode)
            .open(path)?);
    }
    // Non-blocking: a FIFO someone planted must not hold the start up
    // waiting for a reader.
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| {
            // A link another user owns there can fail with EACCES rather
            // than ELOOP (it does on this project's test machine, with
            // fs.protected_symlinks off), so the path itself is asked.
            let link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
            if e.raw_os_error() == Some(libc::ELOOP) || link {
                FsError::SharedSymlink {
                    dir: parent.display().to_string(),
                }
            } else {
                FsError::Io(e)
            }
        })?;
    let meta = file.metadata()?;
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me {
        return Err(FsError::Foreign {
            owner: meta.uid(),
            me,
        });
    }
    if meta.is_file() && meta.nlink() != 1 {
        return Err(FsError::Linked {
            links: meta.nlink(),
        });
    }
    // F_SETFL sets every status flag at once: O_APPEND must stay.
    nix::fcntl::fcntl(&file, nix::fcntl::FcntlArg::F_SETFL(OFlag::O_APPEND))?;
    Ok(file)
}

/// Replaces what a file holds that a command writes whole when it ends
/// (run statistics, a learned or merged expect file, a report). Such a
/// file is opened with [`open_output`]'s checks before the command's
/// work, so a path it cannot write fails at once rather than after an
/// hour of capture, and the descriptor still writes after `--user` has
/// dropped root. It was opened to append, so after the cut every write
/// lands at the new end. Only a regular file is cut: `/dev/stdout` or a
/// FIFO is written to as it is.
pub fn replace_contents(file: &mut File, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    if file.metadata()?.is_file() {
        file.set_len(0)?;
    }
    file.write_all(bytes)?;
    file.flush()
}

/// Who may own a private directory and what is in it besides root and
/// the running user: the user a live sensor hands it to (`--user`), who
/// owns it on every start after the first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Owners {
    pub handover: Option<u32>,
}

impl Owners {
    fn check(&self, meta: &Metadata) -> Result<(), FsError> {
        let owner = meta.uid();
        let me = nix::unistd::geteuid().as_raw();
        if owner == 0 || owner == me || self.handover == Some(owner) {
            Ok(())
        } else {
            Err(FsError::Owner {
                owner,
                me,
                handover: self.handover,
            })
        }
    }
}

/// How a file in a [`PrivateDir`] is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Read an existing file.
    Read,
    /// Read and write an existing file.
    ReadWrite,
    /// Read and write, creating the file if it is missing.
    ReadWriteCreate,
    /// Append, creating the file if it is missing.
    AppendCreate,
}

impl Access {
    fn flags(self) -> OFlag {
        match self {
            Access::Read => OFlag::O_RDONLY,
            Access::ReadWrite => OFlag::O_RDWR,
            Access::ReadWriteCreate => OFlag::O_RDWR | OFlag::O_CREAT,
            Access::AppendCreate => OFlag::O_WRONLY | OFlag::O_APPEND | OFlag::O_CREAT,
        }
    }
}

/// Never through a link, never a terminal, never inherited by a child;
/// non-blocking so that a FIFO put in a file's place cannot hold the
/// open up (regular files ignore the flag).
fn private_flags() -> OFlag {
    OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | OFlag::O_NOCTTY | OFlag::O_NONBLOCK
}

/// A directory of this process's own files (directories 0700, files
/// 0600), every operation relative to its descriptor: renaming or
/// replacing the path after it was opened changes nothing.
#[derive(Debug)]
pub struct PrivateDir {
    dir: File,
    path: PathBuf,
    owners: Owners,
}

impl PrivateDir {
    /// Opens the directory `path`, creating it (0700) when absent. Missing
    /// parents are created as any directory is (the user a sensor hands
    /// the directory to must be able to pass through them). The directory
    /// itself must not be a symbolic link.
    pub fn open(path: &Path, owners: Owners) -> Result<PrivateDir, PathError> {
        // Why `e` happened at `path`: a link or another kind of file there
        // says more than the errno.
        let why = |e: io::Error| {
            let why = match std::fs::symlink_metadata(path) {
                Ok(m) if m.file_type().is_symlink() => FsError::Symlink,
                Ok(m) if !m.is_dir() => FsError::NotDirectory(kind(m.mode())),
                _ => FsError::Io(e),
            };
            PathError::new(path, why)
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| PathError::new(parent, e))?;
        }
        match std::fs::DirBuilder::new()
            .mode(PRIVATE_DIR_MODE)
            .create(path)
        {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(why(e)),
        }
        let dir = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
            .open(path)
            .map_err(why)?;
        PrivateDir::checked(dir, path.to_path_buf(), owners)
    }

    fn checked(dir: File, path: PathBuf, owners: Owners) -> Result<PrivateDir, PathError> {
        let check = || -> Result<(), FsError> {
            let meta = dir.metadata()?;
            if !meta.is_dir() {
                return Err(FsError::NotDirectory(kind(meta.mode())));
            }
            owners.check(&meta)?;
            check_mode(&dir, &meta, PRIVATE_DIR_MODE)
        };
        check().map_err(|e| PathError::new(&path, e))?;
        Ok(PrivateDir { dir, path, owners })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn child(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The subdirectory `name`, created 0700 when absent.
    pub fn subdir(&self, name: &str) -> Result<PrivateDir, PathError> {
        let path = self.child(name);
        match nix::sys::stat::mkdirat(&self.dir, name, Mode::from_bits_truncate(PRIVATE_DIR_MODE)) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(PathError::new(path, e)),
        }
        let fd = nix::fcntl::openat(
            &self.dir,
            name,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | private_flags(),
            Mode::empty(),
        )
        .map_err(|e| PathError::new(&path, self.why_not(name, e, true)))?;
        PrivateDir::checked(File::from(fd), path, self.owners)
    }

    /// Why opening `name` failed: a link or the wrong kind of file, said
    /// so, rather than the bare errno.
    fn why_not(&self, name: &str, e: Errno, want_dir: bool) -> FsError {
        match nix::sys::stat::fstatat(&self.dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFLNK => FsError::Symlink,
            Ok(st) if want_dir && st.st_mode & libc::S_IFMT != libc::S_IFDIR => {
                FsError::NotDirectory(kind(st.st_mode))
            }
            Ok(st) if !want_dir && st.st_mode & libc::S_IFMT != libc::S_IFREG => {
                FsError::NotRegular(kind(st.st_mode))
            }
            _ => e.into(),
        }
    }

    /// Opens the regular file `name`; a file created is 0600.
    pub fn open_file(&self, name: &str, access: Access) -> Result<File, PathError> {
        let path = self.child(name);
        // Refused before it is opened when it is plainly no regular file:
        // opening a device can have effects of its own.
        match nix::sys::stat::fstatat(&self.dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFLNK => {
                return Err(PathError::new(path, FsError::Symlink));
            }
            Ok(st) if st.st_mode & libc::S_IFMT != libc::S_IFREG => {
                return Err(PathError::new(path, FsError::NotRegular(kind(st.st_mode))));
            }
            Ok(_) | Err(Errno::ENOENT) => {}
            Err(e) => return Err(PathError::new(path, e)),
        }
        let fd = nix::fcntl::openat(
            &self.dir,
            name,
            access.flags() | private_flags(),
            Mode::from_bits_truncate(PRIVATE_FILE_MODE),
        )
        .map_err(|e| PathError::new(&path, self.why_not(name, e, false)))?;
        // Checked again on what was opened: the name may have been
        // replaced between the look and the open.
        let file = File::from(fd);
        self.check_file(&file)
            .map_err(|e| PathError::new(path, e))?;
        Ok(file)
    }

    /// Creates `name` afresh for writing, replacing whatever had that
    /// name (a leftover, or a link someone planted) rather than writing
    /// through it.
    pub fn create_new(&self, name: &str) -> Result<File, PathError> {
        let path = self.child(name);
        match nix::unistd::unlinkat(&self.dir, name, nix::unistd::UnlinkatFlags::NoRemoveDir) {
            Ok(()) | Err(Errno::ENOENT) => {}
            Err(e) => return Err(PathError::new(path, e)),
        }
        let fd = nix::fcntl::openat(
            &self.dir,
            name,
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | private_flags(),
            Mode::from_bits_truncate(PRIVATE_FILE_MODE),
        )
        .map_err(|e| PathError::new(&path, e))?;
        let file = File::from(fd);
        self.check_file(&file)
            .map_err(|e| PathError::new(path, e))?;
        Ok(file)
    }

    /// Renames `from` to `to` inside the directory, atomically; a link
    /// at `to` is replaced, not followed.
    pub fn rename(&self, from: &str, to: &str) -> Result<(), PathError> {
        nix::fcntl::renameat(&self.dir, from, &self.dir, to)
            .map_err(|e| PathError::new(self.child(to), e))
    }

    /// Removes the file (or link) `name`.
    pub fn remove(&self, name: &str) -> Result<(), PathError> {
        nix::unistd::unlinkat(&self.dir, name, nix::unistd::UnlinkatFlags::NoRemoveDir)
            .map_err(|e| PathError::new(self.child(name), e))
    }

    /// The names in the directory (not `.` and `..`; names that are not
    /// UTF-8 are left out: the spool names none so).
    pub fn names(&self) -> Result<Vec<String>, PathError> {
        let err = |e: Errno| PathError::new(&self.path, e);
        let mut dir = nix::dir::Dir::openat(
            &self.dir,
            ".",
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(err)?;
        let mut names = Vec::new();
        for entry in dir.iter() {
            let entry = entry.map_err(err)?;
            if let Ok(name) = entry.file_name().to_str()
                && name != "."
                && name != ".."
            {
                names.push(name.to_string());
            }
        }
        Ok(names)
    }

    fn check_file(&self, file: &File) -> Result<(), FsError> {
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(FsError::NotRegular(kind(meta.mode())));
        }
        self.owners.check(&meta)?;
        if meta.nlink() != 1 {
            return Err(FsError::Linked {
                links: meta.nlink(),
            });
        }
        check_mode(file, &meta, PRIVATE_FILE_MODE)
    }
}

/// Refuses what others may write; narrows what others may read to
/// `private` (files of older versions were 0644, directories 0755).
fn check_mode(file: &File, meta: &Metadata, private: u32) -> Result<(), FsError> {
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(FsError::Writable { mode });
    }
    if mode & 0o077 != 0 {
        // Only the owner (or root) may narrow it; a root file read by the
        // user the sensor became stays as it is, as it was before.
        let _ = file.set_permissions(std::fs::Permissions::from_mode(private));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::unix::fs::symlink;

    use super::*;

    #[test]
    fn reads_are_bounded_and_only_of_regular_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"0123456789").unwrap();
        assert_eq!(read_regular(&p, 10).unwrap(), b"0123456789");
        assert!(matches!(
            read_regular(&p, 9),
            Err(FsError::TooLarge { limit: 9 })
        ));
        assert_eq!(
            read_regular(Path::new("/dev/zero"), 1 << 20)
                .unwrap_err()
                .to_string(),
            "not a regular file (a character device)"
        );
        assert!(matches!(
            read_regular(dir.path(), 10),
            Err(FsError::NotRegular("a directory"))
        ));
        // A FIFO without a writer is refused at once, not waited on.
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, Mode::from_bits_truncate(0o600)).unwrap();
        assert!(matches!(
            read_regular(&fifo, 10),
            Err(FsError::NotRegular("a FIFO"))
        ));
        // A file whose size the kernel does not know is still bounded.
        assert!(read_regular(Path::new("/proc/self/status"), 16).is_err());
        assert!(
            !read_regular(Path::new("/proc/self/status"), 1 << 20)
                .unwrap()
                .is_empty()
        );
        std::fs::write(&p, [0xff, 0xfe]).unwrap();
        assert!(read_regular_text(&p, 10).is_err());
    }

    #[test]
    fn output_modes_are_octal_permission_bits_never_world_writable() {
        assert_eq!(parse_output_mode("0640"), Ok(0o640));
        assert_eq!(parse_output_mode("600"), Ok(0o600));
        assert_eq!(parse_output_mode("0o644"), Ok(0o644));
        assert!(parse_output_mode("0666").unwrap_err().contains("anyone"));
        assert!(
            parse_output_mode("01640")
                .unwrap_err()
                .contains("permission bits")
        );
        assert_eq!(parse_output_mode("00640"), Ok(0o640));
        for bad in ["", "0o", "rw-r-----", "0648", "-640", "0777777777"] {
            assert!(parse_output_mode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn outputs_in_shared_directories_are_never_others_or_links() {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("tmp");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let outside = dir.path().join("outside");
        std::fs::write(&outside, "keep\n").unwrap();
        let link = shared.join("link.json");
        symlink(&outside, &link).unwrap();
        assert!(matches!(
            open_output(&link, 0o640),
            Err(FsError::SharedSymlink { .. })
        ));
        let linked = shared.join("linked.json");
        std::fs::hard_link(&outside, &linked).unwrap();
        assert!(matches!(
            open_output(&linked, 0o640),
            Err(FsError::Linked { links: 2 })
        ));
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep\n");

        // One's own file there is appended to, never erased.
        let own = shared.join("own.json");
        std::fs::write(&own, "old\n").unwrap();
        let mut f = open_output(&own, 0o640).unwrap();
        f.write_all(b"new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&own).unwrap(), "old\nnew\n");

        // Elsewhere a link is the operator's, and followed.
        let elsewhere = dir.path().join("alerts.json");
        symlink(&own, &elsewhere).unwrap();
        open_output(&elsewhere, 0o640)
            .unwrap()
            .write_all(b"more\n")
            .unwrap();
        assert_eq!(std::fs::read_to_string(&own).unwrap(), "old\nnew\nmore\n");
    }

    #[test]
    fn private_directories_refuse_links_and_other_kinds_of_file() {
        let dir = tempfile::tempdir().unwrap();
        let private = PrivateDir::open(&dir.path().join("a/b"), Owners::default()).unwrap();
        assert_eq!(
            std::fs::metadata(dir.path().join("a/b")).unwrap().mode() & 0o7777,
            0o700
        );
        // A parent created on the way stays passable.
        assert_eq!(
            std::fs::metadata(dir.path().join("a")).unwrap().mode() & 0o111,
            0o111
        );
        let sub = private.subdir("sub").unwrap();
        let f = sub.open_file("data", Access::ReadWriteCreate).unwrap();
        assert_eq!(f.metadata().unwrap().mode() & 0o7777, 0o600);
        assert!(matches!(
            sub.open_file("missing", Access::Read),
            Err(PathError { source: FsError::Io(ref e), .. }) if e.kind() == io::ErrorKind::NotFound
        ));

        let outside = dir.path().join("outside");
        symlink(&outside, sub.path().join("link")).unwrap();
        for access in [Access::Read, Access::ReadWriteCreate, Access::AppendCreate] {
            let e = sub.open_file("link", access).unwrap_err();
            assert!(matches!(e.source, FsError::Symlink), "{e}");
        }
        assert!(!outside.exists());
        nix::unistd::mkfifo(&sub.path().join("fifo"), Mode::from_bits_truncate(0o600)).unwrap();
        assert!(matches!(
            sub.open_file("fifo", Access::Read).unwrap_err().source,
            FsError::NotRegular("a FIFO")
        ));
        symlink(dir.path(), private.path().join("linkdir")).unwrap();
        assert!(matches!(
            private.subdir("linkdir").unwrap_err().source,
            FsError::Symlink
        ));
        // A planted link at a name created afresh is replaced, not
        // written through.
        let mut tmp = sub.create_new("link").unwrap();
        tmp.write_all(b"x").unwrap();
        assert!(!outside.exists());
        sub.rename("link", "data").unwrap();
        let mut names = sub.names().unwrap();
        names.sort();
        assert_eq!(names, ["data", "fifo"]);
        sub.remove("fifo").unwrap();

        // Writable by others: refused; readable by others: narrowed.
        let p = sub.path().join("data");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(matches!(
            sub.open_file("data", Access::Read).unwrap_err().source,
            FsError::Writable { mode: 0o666 }
        ));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        sub.open_file("data", Access::Read).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().mode() & 0o7777, 0o600);
        // The directory itself as a link.
        let link = dir.path().join("dirlink");
        symlink(sub.path(), &link).unwrap();
        assert!(matches!(
            PrivateDir::open(&link, Owners::default())
                .unwrap_err()
                .source,
            FsError::Symlink
        ));
        let dangling = dir.path().join("dangling");
        symlink(dir.path().join("nowhere"), &dangling).unwrap();
        assert!(matches!(
            PrivateDir::open(&dangling, Owners::default())
                .unwrap_err()
                .source,
            FsError::Symlink
        ));
        assert!(!dir.path().join("nowhere").exists());
    }

    #[test]
    fn private_directories_trust_root_this_user_and_the_handover_user_only() {
        assert!(nix::unistd::geteuid().is_root(), "chown needs root");
        let dir = tempfile::tempdir().unwrap();
        let theirs = dir.path().join("theirs");
        std::fs::create_dir(&theirs).unwrap();
        std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
        let e = PrivateDir::open(&theirs, Owners::default()).unwrap_err();
        assert!(matches!(e.source, FsError::Owner { owner: 65534, .. }));
        assert!(e.to_string().contains("owned by uid 65534"), "{e}");
        let handed = Owners {
            handover: Some(65534),
        };
        let d = PrivateDir::open(&theirs, handed).unwrap();
        let f = d.open_file("seg", Access::AppendCreate).unwrap();
        std::os::unix::fs::fchown(&f, Some(1234), None).unwrap();
        assert!(matches!(
            d.open_file("seg", Access::Read).unwrap_err().source,
            FsError::Owner { owner: 1234, .. }
        ));
        // A hard link to a root file: root owns it, but it is another
        // file's second name.
        let outside = dir.path().join("outside");
        std::fs::write(&outside, "secret\n").unwrap();
        std::fs::hard_link(&outside, theirs.join("linked")).unwrap();
        assert!(matches!(
            d.open_file("linked", Access::ReadWrite).unwrap_err().source,
            FsError::Linked { links: 2 }
        ));
    }
}
